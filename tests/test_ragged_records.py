"""CSV files whose records differ in length: frictionless's extra-cell and missing-cell errors,
in its order among a row's other errors, through the csv format's text reader."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import datanectar
from datanectar.checks import validate_table
from datanectar.formats.csv import CsvFormat
from oracle import Error, frictionless_csv

INTEGERS = {"fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "integer"}]}
REQUIRED = {
    "fields": [
        {"name": "a", "type": "integer", "constraints": {"required": True}},
        {"name": "b", "type": "integer", "constraints": {"required": True, "maximum": 5}},
    ]
}
UNIQUE = {
    "fields": [
        {"name": "a", "type": "integer", "constraints": {"unique": True}},
        {"name": "b", "type": "string"},
    ]
}
KEYED = {
    "fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "integer"}],
    "primaryKey": ["a", "b"],
}
THREE = {"fields": [{"name": n, "type": "integer"} for n in "abc"]}
B_THEN_A = {
    "fields": [{"name": "b", "type": "integer"}, {"name": "a", "type": "integer"}],
    "fieldsMatch": "exact",
}

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "trailing delimiter on every row": ("a,b\n1,2,\n3,4,\n", INTEGERS),
    "a short record": ("a,b\n1\n3,4\n", INTEGERS),
    "a short record, required fields": ("a,b\n1\n3,9\n", REQUIRED),
    "long records": ("a,b\n5,6,7,8\n1,2\n9,9,x\n", INTEGERS),
    "type errors and extra cells": ("a,b\nx,y,z\n1,2\n", INTEGERS),
    "blank cells with an extra one": ("a,b\n,,x\n1,2\n", INTEGERS),
    "an empty record": ("a,b\n1,2\n\n3\n", INTEGERS),
    "a record of one blank cell": ("a,b\n1,2\n,\n3,4,5\n", REQUIRED),
    "unique with extra cells": ("a,b\n1,x,3\n1,y\n2\n2,z,w\n", UNIQUE),
    "primary key with short records": ("a,b\n1\n1\n1,2,3\n1,2\n", KEYED),
    "an extra label": ("a,b,c\n1,2,3\n4,5\n6,7,8,9\n", INTEGERS),
    "a missing label": ("a,b\n1,2\n3,4,5\n6\n", THREE),
    "labels by position": ("a,b\n1,2\n3,4,5\n6\n", B_THEN_A),
    "a quoted newline": ('a,b\n"1\n2",3,4\n5,6\n', {"fields": [{"name": "a"}, {"name": "b"}]}),
    # no cells at all: a blank row even where an empty cell is not a missing value
    "a blank line, empty cells not missing": (
        "a,b\n1,2\n\n,\n3,4\n",
        {**INTEGERS, "missingValues": ["NA"]},
    ),
}


class _File:
    """A location on a local file, as the csv format opens it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self, mode: str = "rb") -> Any:
        return self.path.open(mode)


def ours(path: Path, schema: dict[str, Any]) -> tuple[bool, list[Error]]:
    text = CsvFormat().read_text(_File(path), options={})
    result = validate_table(
        text.frame, schema, header=text.header, ragged=text.ragged, report="full"
    )
    failures = [(f.type, f.row_number, f.field_name, f.message) for f in result.failures]
    assert result.error_count == len(failures)
    return result.passed, failures


@pytest.mark.parametrize("name", list(CASES))
def test_ragged_records_get_frictionless_errors(name: str, tmp_path: Path) -> None:
    text, schema = CASES[name]
    path = tmp_path / "t.csv"
    path.write_text(text)

    expected = frictionless_csv(path, schema)

    assert any(error[0] in ("extra-cell", "missing-cell", "blank-row") for error in expected[1])
    assert expected[1]  # and not valid
    assert ours(path, schema) == expected


def test_the_error_lists_the_records_own_cells(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1\n2,3,4\n")
    text = CsvFormat().read_text(_File(path), options={})

    result = validate_table(text.frame, INTEGERS, header=text.header, ragged=text.ragged)

    kinds = [(f.type, f.row_number, f.field_number, f.cell) for f in result.failures]
    assert kinds == [("missing-cell", 2, 2, ""), ("extra-cell", 3, 3, "4")]
    assert text.ragged is not None and text.ragged.counts.tolist() == [1, 3]
    assert text.frame.astype(object).where(text.frame.notna(), None).values.tolist() == [
        ["1", None],
        ["2", "3"],
    ]


def test_a_long_ragged_file_is_read_and_judged_as_frictionless_does(tmp_path: Path) -> None:
    """Long enough for the columns to be read on threads; a few records short or long."""
    lines = ["id,amount"] + [f"{i},{i % 97}.5" for i in range(60_000)]
    lines[10] = "9"  # line 10 holds the record of id 9, row 11
    lines[30_000] = "29999,1.5,extra,cells"
    lines[59_999] = "59998,x,"
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    schema = {
        "fields": [
            {"name": "id", "type": "integer", "constraints": {"unique": True}},
            {"name": "amount", "type": "number"},
        ]
    }

    expected = frictionless_csv(path, schema)

    assert [e[:3] for e in expected[1]] == [
        ("missing-cell", 11, "amount"),
        ("extra-cell", 30001, ""),
        ("extra-cell", 30001, ""),
        ("type-error", 60000, "amount"),
        ("extra-cell", 60000, ""),
    ]
    assert ours(path, schema) == expected


def test_a_catalog_check_of_a_ragged_source_fails_as_frictionless_does(make_project, instance):
    """Through Dagster: the source's check reads the file as text and names the cells."""
    project = make_project(
        "stations:\n  format: csv\n  path: stations.csv\n  schema: schema.json\n"
    )
    (project / "schema.json").write_text(json.dumps(INTEGERS))
    (project / "data").mkdir()
    (project / "data" / "stations.csv").write_text("a,b\n1,2,\n3\n")
    defs = datanectar.definitions(project)

    result = defs.resolve_job_def("source_checks").execute_in_process(
        instance=instance, raise_on_error=False
    )

    [evaluation] = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert not evaluation.passed
    by_type = evaluation.metadata["errors_by_type"]
    by_type = by_type.value if isinstance(by_type, dg.JsonMetadataValue) else by_type
    assert by_type == {"extra-cell": 1, "missing-cell": 1}


def test_a_file_pyarrow_cannot_split_is_read_record_by_record(tmp_path: Path) -> None:
    """A cell longer than pyarrow's block makes it refuse the file: Python's csv module reads
    it instead, and a longer record is still an extra-cell error, not a parser failure."""
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "x" * (3 << 20) + ",1\n2,3,4\n")
    schema = {"fields": [{"name": "a"}, {"name": "b", "type": "integer"}]}

    expected = frictionless_csv(path, schema)
    # frictionless has lifted the csv module's field size limit for the whole process by
    # now; the reader must not depend on that having happened
    lifted = csv.field_size_limit(131_072)  # Python's default
    try:
        found = ours(path, schema)
    finally:
        csv.field_size_limit(lifted)

    assert [error[:3] for error in expected[1]] == [("extra-cell", 3, "")]
    assert found == expected
