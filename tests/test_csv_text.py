"""A csv entry's cells as text, as a Table Schema check reads them: every record one row of
strings, the header row verbatim, whichever of the two readers (pyarrow's, or pandas' careful
one for files pyarrow's cannot keep record by record) reads the file."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

import datanectar
from datanectar.formats import csv as csv_format

CASES = {
    "plain": "a,b\n1,2\n3,4\n",
    "no final newline": "a,b\n1,2\n3,4",
    "blank line": "a,b\n1,2\n\n3,4\n",
    "quoted newline": 'a,b\n"x\ny",2\n3,4\n',
    "repeated label": "a,a\n1,2\n",
    "empty cells": "a,b\n,\n1,\n",
    "crlf": "a,b\r\n1,2\r\n",
    "header only": "a,b\n",
    "quoted empty and quotes": 'a,b\n"",2\n"say ""hi""",3\n',
    "spaces kept": "a,b\n 1 , 2\n",
    "NA is text": "a,b\nNA,null\n",
    "semicolons": "a;b\n1;2\n",
}


def records(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """What frictionless reads: Python's csv module, a blank line a row of blank cells."""
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    return header, [row or [""] * len(header) for row in body]


@pytest.mark.parametrize("name", list(CASES))
def test_stored_text_is_every_record_as_strings(make_project, name):
    text = CASES[name]
    delimiter = ";" if name == "semicolons" else ","
    options = "  load_options: {sep: ';'}\n" if delimiter == ";" else ""
    project = make_project(f"table:\n  format: csv\n  path: t.csv\n{options}")
    (project / "data").mkdir()
    (project / "data" / "t.csv").write_bytes(text.encode())
    catalog = datanectar.catalog(project)

    frame, header = catalog.storage.stored_text(catalog.entry("table"))

    expected_header, expected_rows = records(text, delimiter)
    assert header == expected_header
    assert frame.shape == (len(expected_rows), len(expected_header))
    assert frame.astype(object).values.tolist() == expected_rows


@pytest.mark.parametrize("name", [n for n in CASES if n != "semicolons"])
def test_both_readers_agree(name):
    text = CASES[name]
    fast = csv_format._arrow_text_table(io.BytesIO(text.encode()), {}, "utf-8")
    careful = csv_format._text_table(io.StringIO(text, newline=""), {})
    assert fast is not None  # pyarrow's reader keeps these record by record
    assert fast[1] == careful[1]  # the header row; the frames' own labels do not count
    assert fast[0].astype(object).values.tolist() == careful[0].astype(object).values.tolist()


def test_written_text_is_what_the_file_will_hold(make_project, tmp_path):
    frame = pd.DataFrame({"i": [1, 2], "f": [1.0, 2.5], "s": ["007", None]})
    project = make_project("table:\n  format: csv\n  save_options: {sep: '|'}\n")
    catalog = datanectar.catalog(project)

    text_frame, header = catalog.storage.written_text(catalog.entry("table"), frame)

    catalog.save("table", frame)
    written = (project / "data" / "table.csv").read_text()
    expected_header, expected_rows = records(written, "|")
    assert header == expected_header == ["i", "f", "s"]
    assert text_frame.astype(object).values.tolist() == expected_rows
    assert expected_rows == [["1", "1.0", "007"], ["2", "2.5", ""]]


@pytest.mark.parametrize("quoted_newline", [False, True])
def test_a_long_file_is_read_record_by_record(make_project, quoted_newline):
    """Long enough for pyarrow to parse in many blocks: a quoted value holding a newline
    (here deep inside the file) must stay one cell, whichever way the file is split."""
    rows = [[str(i), f"name {i}"] for i in range(200_000)]
    if quoted_newline:
        rows[150_000][1] = "two\nlines"
    project = make_project("table:\n  format: csv\n  path: t.csv\n")
    (project / "data").mkdir()
    with (project / "data" / "t.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows(rows)
    catalog = datanectar.catalog(project)

    frame, header = catalog.storage.stored_text(catalog.entry("table"))

    assert header == ["id", "name"]
    assert frame.shape == (200_000, 2)
    assert frame.iloc[150_000].tolist() == rows[150_000]
    assert frame.iloc[-1].tolist() == rows[-1]


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz", "zip"])
def test_a_compressed_csv_is_read_as_its_text(make_project, compression):
    frame = pd.DataFrame({"id": ["007", "8"], "name": ["a", ""]})
    project = make_project(
        f"table:\n  format: csv\n  path: t.csv\n  save_options: {{compression: {compression}}}\n"
        f"  load_options: {{compression: {compression}, dtype: str}}\n"
    )
    catalog = datanectar.catalog(project)
    catalog.save("table", frame)
    entry = catalog.entry("table")

    stored, header = catalog.storage.stored_text(entry)
    written, written_header = catalog.storage.written_text(entry, frame)

    expected = [["007", "8"], ["a", ""]]
    assert header == written_header == ["id", "name"]
    assert stored.astype(object).T.values.tolist() == expected
    assert written.astype(object).T.values.tolist() == expected
    # the file on disk is compressed, as the entry asked
    assert (project / "data" / "t.csv").read_bytes()[:2] != b"id"
