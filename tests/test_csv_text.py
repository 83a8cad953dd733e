"""A csv entry's cells as text, as a Table Schema check reads them: every record one row of
strings, the header row verbatim, whichever of the two readers (pyarrow's, or pandas' careful
one for files pyarrow's cannot keep record by record) reads the file."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

import datanectar
from datanectar.checks.tableschema import csv_text
from datanectar.checks.tableschema.csv_records import records_table
from datanectar.formats import csv as csv_format
from datanectar.formats.csv_dialect import CsvReading
from datanectar.targets import Target

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
    """What frictionless reads: Python's csv module, a blank line a row of no cells (None)."""
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    return header, [row or [None] * len(header) for row in body]


@pytest.mark.parametrize("name", list(CASES))
def test_stored_text_is_every_record_as_strings(make_project, name):
    text = CASES[name]
    delimiter = ";" if name == "semicolons" else ","
    options = "  load_options: {sep: ';'}\n" if delimiter == ";" else ""
    project = make_project(f"table:\n  format: csv\n  path: t.csv\n{options}")
    (project / "data").mkdir()
    (project / "data" / "t.csv").write_bytes(text.encode())
    catalog = datanectar.catalog(project)

    frame, header, _ = catalog.storage.stored_text(Target.of(catalog.entry("table")))

    expected_header, expected_rows = records(text, delimiter)
    assert header == expected_header
    assert frame.shape == (len(expected_rows), len(expected_header))
    assert frame.astype(object).where(frame.notna(), None).values.tolist() == expected_rows


@pytest.mark.parametrize("name", [n for n in CASES if n != "semicolons"])
def test_both_readers_agree(name):
    """pyarrow's reader, or Python's csv module for the files it hands on (a blank line, a
    row of empty cells), and pandas' agree on the files of even records."""
    text = CASES[name]
    fast = csv_text._arrow_text_table(io.BytesIO(text.encode()), CsvReading())
    careful = csv_text._text_table(io.StringIO(text, newline=""), CsvReading())
    handed_on = fast is csv_text._BY_RECORD
    assert handed_on == (name in ("blank line", "empty cells"))
    if handed_on:
        fast = records_table(io.StringIO(text, newline=""), CsvReading())
    assert isinstance(fast, csv_text.TextTable)
    assert fast.header == careful.header  # the header row; the frames' own labels do not count
    fast_cells = fast.frame.astype(object).where(fast.frame.notna(), "").values.tolist()
    assert fast_cells == careful.frame.astype(object).values.tolist()


def test_written_text_is_what_the_file_will_hold(make_project, tmp_path):
    frame = pd.DataFrame({"i": [1, 2], "f": [1.0, 2.5], "s": ["007", None]})
    project = make_project("table:\n  format: csv\n  save_options: {sep: '|'}\n")
    catalog = datanectar.catalog(project)

    text_frame, header, _ = catalog.storage.written_text(Target.of(catalog.entry("table")), frame)

    catalog.save("table", frame)
    written = (project / "data" / "table.csv").read_text()
    expected_header, expected_rows = records(written, "|")
    assert header == expected_header == ["i", "f", "s"]
    assert text_frame.astype(object).values.tolist() == expected_rows
    assert expected_rows == [["1", "1.0", "007"], ["2", "2.5", ""]]


@pytest.mark.parametrize("quoting", ["none", "quoted commas", "quoted newline"])
def test_a_long_file_is_read_record_by_record(make_project, quoting):
    """Long enough for pyarrow to parse in many blocks: a quoted value holding a newline
    (here deep inside the file, after many quoted commas) must stay one cell, whichever way
    the file is split."""
    rows = [[str(i), f"name {i}"] for i in range(200_000)]
    if quoting != "none":
        for row in rows[::1000]:
            row[1] = f"{row[1]}, quoted"
    if quoting == "quoted newline":
        rows[150_000][1] = "two\nlines"
    project = make_project("table:\n  format: csv\n  path: t.csv\n")
    (project / "data").mkdir()
    with (project / "data" / "t.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows(rows)
    catalog = datanectar.catalog(project)

    frame, header, _ = catalog.storage.stored_text(Target.of(catalog.entry("table")))

    assert header == ["id", "name"]
    assert frame.shape == (200_000, 2)
    assert frame.astype(object).values.tolist() == rows
    with (project / "data" / "t.csv").open("rb") as raw:
        split_anywhere = not csv_text._may_hold_quoted_newlines(raw, CsvReading())
    assert split_anywhere == (quoting != "quoted newline")


QUOTINGS = {  # file text: whether a quoted field may hold a newline
    "a,b\n1,2\n": False,
    'a,b\n"x,y",2\n': False,
    '"a","b"\n1,"2"': False,
    'a,b\n"",2\n': False,
    'a,b\n"say ""hi""",3\n': False,
    'a,b\r\n"x,y",2\r\n': False,
    'a,b\n"x\ny",2\n': True,
    'a,b\n"x\r\ny",2\r\n': True,
    'a,b\n"a""\nb",2\n': True,
    'a,b\nx"y,2\n': True,  # a quote inside an unquoted field
    'a,b\n"x"y,2\n': True,  # the field goes on after its closing quote
    'a,b\n"x,2\n': True,  # never closed
    '\ufeff"a",b\n1,2\n': False,  # right after a byte-order mark: the first field's start
    'a\ufeff"b",c\n1,2\n': True,  # after that character elsewhere: inside a field
}


@pytest.mark.parametrize("text", list(QUOTINGS))
def test_quoted_newlines_are_found_before_choosing_how_to_split(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    with path.open("rb") as raw:
        encoding = csv_text._without_byte_order_mark(raw, "utf-8")  # as read_text does
        assert (
            csv_text._may_hold_quoted_newlines(raw, CsvReading(encoding=encoding)) == QUOTINGS[text]
        )
    if text.count('"') % 2:
        return  # never closed: no reader makes records of it
    # and whichever way pyarrow splits the file, the records are Python csv's (as
    # frictionless reads them: a UTF-8 byte-order mark left out)
    with path.open("rb") as raw:
        read = csv_format.CsvFormat().read_text(_Opened(raw), options={})
    expected = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert read[1] == expected[0]
    assert read[0].astype(object).values.tolist() == expected[1:]


class _Opened:
    """A location whose `open` gives an already open file."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def open(self, mode: str = "rb"):
        return _Kept(self.handle)


class _Kept:
    def __init__(self, handle) -> None:
        self.handle = handle

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc) -> None:
        return None


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz", "zip"])
def test_a_compressed_csv_is_read_as_its_text(make_project, compression):
    frame = pd.DataFrame({"id": ["007", "8"], "name": ["a", ""]})
    project = make_project(
        f"table:\n  format: csv\n  path: t.csv\n  save_options: {{compression: {compression}}}\n"
        f"  load_options: {{compression: {compression}, dtype: str}}\n"
    )
    catalog = datanectar.catalog(project)
    catalog.save("table", frame)
    entry = Target.of(catalog.entry("table"))

    stored, header, _ = catalog.storage.stored_text(entry)
    written, written_header, _ = catalog.storage.written_text(entry, frame)

    expected = [["007", "8"], ["a", ""]]
    assert header == written_header == ["id", "name"]
    assert stored.astype(object).T.values.tolist() == expected
    assert written.astype(object).T.values.tolist() == expected
    # the file on disk is compressed, as the entry asked
    assert (project / "data" / "t.csv").read_bytes()[:2] != b"id"


def test_a_byte_order_mark_is_left_out_as_frictionless_leaves_it(make_project):
    """A UTF-8 file saved with a BOM (Excel does): the first label is the name itself, and the
    verdict is frictionless's on the same file."""
    from datanectar.checks import validate_table
    from oracle import frictionless_csv

    project = make_project("table:\n  format: csv\n  path: t.csv\n")
    (project / "data").mkdir()
    path = project / "data" / "t.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,code\n1,007\nx,8\n" + b"".join(b"%d,9\n" % i for i in range(9))
    )
    catalog = datanectar.catalog(project)
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "code", "type": "string"}]}

    frame, header, _ = catalog.storage.stored_text(Target.of(catalog.entry("table")))
    result = validate_table(frame, schema, header=header, report="full")

    assert header == ["id", "code"]
    assert frame["code"].tolist()[:2] == ["007", "8"]
    valid, expected = frictionless_csv(path, schema)
    assert not valid and [e[:3] for e in expected] == [("type-error", 3, "id")]
    assert [(f.type, f.row_number, f.field_name, f.message) for f in result.failures] == expected


def test_a_file_of_many_quoted_fields_is_split_with_care(tmp_path):
    """Past a few thousand quoted fields, walking them costs more than it saves: pyarrow is
    told that values may hold newlines, and the records are still Python csv's."""
    text = "a,b\n" + "".join(f'{i},"name, {i}"\n' for i in range(5000))
    path = tmp_path / "t.csv"
    path.write_text(text)
    with path.open("rb") as raw:
        assert csv_text._may_hold_quoted_newlines(raw, CsvReading())
    with path.open("rb") as raw:
        frame, header, _ = csv_format.CsvFormat().read_text(_Opened(raw), options={})
    expected = list(csv.reader(io.StringIO(text, newline="")))
    assert header == expected[0]
    assert frame.astype(object).values.tolist() == expected[1:]
