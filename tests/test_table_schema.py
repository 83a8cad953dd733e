"""Table Schema validation, with frictionless as the oracle.

Every comparison writes a table (CSV under tmp_path, or a typed DataFrame through parquet),
runs `frictionless` on it and `validate_table` on the same data, and requires the same
verdict and the same errors, in the same order, by type, row number, field and message.
Tables are small and deterministic: seeded valid values with the cells under test placed at
seeded positions.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frictionless as fl
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datanectar.checks import (
    CheckResult,
    ForeignTable,
    TableSchemaError,
    load_schema,
    read_csv_as_text,
    validate_table,
)
from datanectar.checks.tableschema.cells import column
from datanectar.checks.tableschema.constraints import _pattern_matches
from datanectar.checks.tableschema.field_types import read_column
from oracle import Error, frictionless_csv, frictionless_errors

# The oracle ------------------------------------------------------------------------------------


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def frictionless_frame(frame: pd.DataFrame, schema: Mapping[str, Any]) -> tuple[bool, list[Error]]:
    resource = fl.Resource(frame, schema=fl.Schema.from_descriptor(dict(schema)))
    return frictionless_errors(resource.validate(limit_errors=10**6))


def ours(result: CheckResult) -> tuple[bool, list[Error]]:
    assert result.error_count == len(result.failures)  # report="full" keeps them all
    assert result.error_count == sum(result.errors_by_type.values())
    return result.passed, [(f.type, f.row_number, f.field_name, f.message) for f in result.failures]


def ours_csv(path: Path, schema: Mapping[str, Any], **options: Any) -> tuple[bool, list[Error]]:
    frame, header = read_csv_as_text(path)
    return ours(validate_table(frame, schema, header=header, report="full", **options))


def assert_same(expected: tuple[bool, list[Error]], actual: tuple[bool, list[Error]]) -> None:
    assert actual[0] == expected[0], "verdicts differ"
    assert actual[1] == expected[1]


# Generated tables -----------------------------------------------------------------------------


def valid_cell(kind: str, rng: np.random.Generator) -> str:
    day = dt.date(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 9000)))
    clock = f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:{rng.integers(0, 60):02d}"
    return {
        "integer": lambda: str(rng.integers(-1000, 1000)),
        "number": lambda: f"{rng.uniform(-100, 100):.3f}",
        "string": lambda: "".join(rng.choice(list("abcxyz"), size=5)),
        "any": lambda: "".join(rng.choice(list("abcxyz"), size=3)),
        "boolean": lambda: str(rng.choice(["true", "false"])),
        "date": lambda: day.isoformat(),
        "datetime": lambda: f"{day.isoformat()}T{clock}",
        "time": lambda: clock,
        "year": lambda: str(rng.integers(1000, 2100)),
    }[kind]()


@dataclass
class Case:
    """One field, a column of its valid values, and the cells under test among them."""

    id: str
    field: dict[str, Any]
    cells: list[str]
    rows: int = 30
    fill: str | None = None
    """A valid value to pad with, when the field's format is not the default one."""
    schema: dict[str, Any] = field(default_factory=dict)

    def table(self, seed: int = 0) -> tuple[list[str], list[list[str]]]:
        rng = np.random.default_rng(seed)
        kind = self.field.get("type", "string")
        column_ = [self.fill or valid_cell(kind, rng) for _ in range(self.rows)]
        positions = rng.choice(self.rows + len(self.cells), size=len(self.cells), replace=False)
        for position, cell in sorted(zip(positions.tolist(), self.cells, strict=True)):
            column_.insert(position, cell)
        rows = [[str(number), cell] for number, cell in enumerate(column_, start=1)]
        return ["n", self.field["name"]], rows

    def descriptor(self) -> dict[str, Any]:
        return {"fields": [{"name": "n", "type": "integer"}, self.field], **self.schema}


def f(type_: str, **options: Any) -> dict[str, Any]:
    constraints = options.pop("constraints", None)
    return {
        "name": "value",
        "type": type_,
        **options,
        **({"constraints": constraints} if constraints else {}),
    }


INTEGER_CELLS = [
    "1", "-5", "+7", "007", " 12 ", "\t3", "-0", "1.0", "1e3", "abc", "", "--1", "0x10", "0X1F", "-0x10",
    "9223372036854775808", "123456789012345678901234", "1_000", "١٢٣", "12\n",
]  # fmt: skip
NUMBER_CELLS = [
    "1.5", "-0.0", ".5", "5.", "+1e3", "1E-2", "1e400", "nan", "NaN", "inf", "-Infinity",
    "1_000.5", "0.1", "0.30000000000000004", "12345678901234567890.5", "1.5.5", "", "1,5",
    " 2.5 ", "٣.٥", "100", "100.0", "1e2", "-100.000000000000000001",  # noqa: RUF001
]  # fmt: skip
DATE_CELLS = [
    "2020-01-31", "2020-02-29", "2019-02-29", "2020-13-01", "2020-1-5", "20200105",
    " 2020-01-05", "2020-01-05T00:00:00", "0001-01-01", "9999-12-31", "0000-01-01", "abc", "",
    "2020-04-31", "1900-02-29", "2000-02-29",
]  # fmt: skip
DATETIME_CELLS = [
    "2020-01-05T10:00:00", "2020-01-05 10:00:00", "2020-01-05T10:00:00.123",
    "2020-01-05T24:00:00", "2020-01-05T10:00", "2020-01-05", "2020-01-05T10:00:00.1234567",
    "2020-02-30T10:00:00", "2020-01-05t10:00:00", "2020-01-05T10:60:00", "2020-01-05X10:00:00",
    "20200105T100000", "",
]  # fmt: skip
AWARE_DATETIME_CELLS = [
    "2020-01-05T10:00:00Z", "2020-01-05T10:00:00+02:00", "2020-01-05T08:00:00Z",
    "2020-01-05T10:00:00-00:00", "2020-01-05T10:00:00+0200", "2020-01-05T10:00:00+24:00",
    "2020-01-05T10:00:00.5+01:30", "2020-01-05T10:00:00z",
]  # fmt: skip
TIME_CELLS = [
    "10:00:00", "23:59:59", "00:00:00", "24:00:00", "10:00", "10:00:00.5", "1:00:00",
    "25:00:00", "10:61:00", "abc", "", "10:00:00.1234567", "100000",
]  # fmt: skip
YEAR_CELLS = ["2020", "0000", "9999", "-200", "+123", " 123", "12345", "20.0", "1_23", "abc"]
BOOLEAN_CELLS = ["true", "False", "TRUE", "1", "0", "yes", "", "t", " true", "True "]
STRING_CELLS = [
    "abc", "é", "naïve", "ß", "🙂", "", "a b", "a,b", "line\nbreak", "abc\n", "ABC", "a|b",
    "٣", "x" * 12,
]  # fmt: skip

CELL_CASES = [
    Case("integer-plain", f("integer"), INTEGER_CELLS),
    Case(
        "integer-bounds",
        f("integer", constraints={"minimum": -100, "maximum": "100", "required": True}),
        ["-100", "-101", "100", "101", "", "x", "99999999999999999999"],
    ),
    Case(
        "integer-exclusive-bounds",
        f("integer", constraints={"exclusiveMinimum": -100, "exclusiveMaximum": 100}),
        ["-100", "-99", "100", "99"],
        schema={"$schema": "https://datapackage.org/profiles/2.0/tableschema.json"},
    ),
    Case("integer-enum", f("integer", constraints={"enum": [1, "2", 3.0]}), ["1", "2", "3", "4"]),
    Case(
        "integer-not-bare",
        f("integer", bareNumber=False),
        ["$100", "100 USD", "1,000", "-5%", "abc", "€7", " 12 "],
    ),
    Case("number-plain", f("number"), NUMBER_CELLS),
    Case(
        "number-bounds",
        f("number", constraints={"minimum": 0.1, "maximum": "100"}),
        [
            *["0.1", "0.09999999999999999", "0.10000000000000000001", "100"],
            *["100.0000000000000001", "1e400", "nan", "-inf", "inf", "0.1000"],
        ],
    ),
    Case(
        "number-enum",
        f("number", constraints={"enum": [0.1, "1.50", 2, "0.30000000000000004"]}),
        ["0.1", "0.10", "1.5", "2.0", "2", "0.3", "0.30000000000000004", "0.1000000000000000001"],
    ),
    Case(
        "number-group-decimal",
        f("number", groupChar=".", decimalChar=","),
        ["1.000,5", "1,5", "1.5", "1.000.000", "1 000,5", "abc", "-2,25"],
        fill="3,5",
    ),
    Case(
        "number-not-bare",
        f("number", bareNumber=False, groupChar=","),
        ["$1,000.50", "1,000", "12%", "EUR 5", "abc", "-3.5 units"],
    ),
    Case("number-float", f("number", floatNumber=True), NUMBER_CELLS),
    # Every cell here is one arrow's cast takes (so the table is read by the cast path), yet
    # some are not plain decimals: words, payloads, under- and overflows.
    Case(
        "number-arrow-literals",
        f("number", constraints={"minimum": -1e300, "maximum": 1e300, "unique": True}),
        [
            *["1e400", "inf", "nan", "nan(1)", "1e-400", "0.0", "-0", "+1", "1e-320"],
            *["Infinity", "1E5", "100000", "0", "1e-400", ".5", "5.", "00.5", "1e0400"],
        ],
    ),
    Case(
        "integer-arrow-literals",
        f("integer", constraints={"unique": True, "minimum": -(2**63)}),
        ["007", "7", "-0", "0", "9223372036854775807", "-9223372036854775808"],
    ),
    Case("boolean-plain", f("boolean", constraints={"required": True}), BOOLEAN_CELLS),
    Case(
        "boolean-custom",
        f("boolean", trueValues=["yes", "y"], falseValues=["no", "n", "y"]),
        ["yes", "y", "no", "n", "true", "Yes"],
        fill="no",
    ),
    Case("boolean-enum", f("boolean", constraints={"enum": [True]}), ["true", "false", "1"]),
    Case("string-plain", f("string", constraints={"required": True}), STRING_CELLS),
    Case(
        "string-lengths",
        f("string", constraints={"minLength": 2, "maxLength": 5}),
        ["a", "ab", "abcde", "abcdef", "éé", "🙂", "🙂🙂", "", "ß" * 6],
    ),
    Case(
        "string-pattern",
        f("string", constraints={"pattern": "[a-z]+"}),
        ["abc", "ABC", "abc\n", "ab c", "é", "", "abc1", "abc\n\n"],
    ),
    Case(
        "string-pattern-alternation",
        f("string", constraints={"pattern": "a|b"}),
        ["a", "b", "ab", "ba", "xb", "ax", "b\n"],
    ),
    Case(
        "string-pattern-unicode-classes",
        f("string", constraints={"pattern": r"\w+\d"}),
        ["ab1", "é٣", "__9", "a\u00a01", "ab", "ab\u0663"],
    ),
    Case(
        "string-pattern-python-only",
        f("string", constraints={"pattern": r"(?=a)\w{,3}"}),
        ["a", "abc", "abcd", "bcd", "a{,3}"],
    ),
    Case(
        "string-enum",
        f("string", constraints={"enum": ["red", "green", "é"]}),
        ["red", "Red", "green ", "é", "e\u0301", ""],
    ),
    Case(
        "string-email",
        f("string", format="email"),
        ["a@example.com", "not-an-email", "a@b", "a.b@example.org"],
        fill="x@example.com",
    ),
    Case(
        "string-uri",
        f("string", format="uri"),
        ["https://example.com/x", "example.com", "mailto:a@b.c", "::"],
        fill="https://example.com",
    ),
    Case(
        "string-uuid",
        f("string", format="uuid"),
        ["1b4e28ba-2fa1-11d2-883f-0016d3cca427", "not-a-uuid", "1B4E28BA2FA111D2883F0016D3CCA427"],
        fill="00000000-0000-4000-8000-000000000000",
    ),
    Case("date-default", f("date"), DATE_CELLS),
    Case(
        "date-bounds-enum",
        f("date", constraints={"minimum": "2001-01-01", "enum": ["2001-01-01", "2010-05-05"]}),
        ["2000-12-31", "2001-01-01", "2010-05-05", "2010-5-05"],
    ),
    Case(
        "date-custom",
        f("date", format="%d/%m/%Y", constraints={"maximum": "31/12/2020"}),
        ["31/01/2020", "1/2/2020", "31/02/2020", "2020-01-31", "01/01/2021", " 1/01/2020"],
        fill="15/06/2015",
    ),
    Case(
        "date-custom-unsupported-directive",
        f("date", format="%b %d %Y"),
        ["Jan 05 2020", "jan 5 2020", "Foo 05 2020"],
        fill="Feb 01 2001",
    ),
    Case("date-any", f("date", format="any"), ["Jan 5 2020", "2020-01-05", "5/1/2020", "xyz"]),
    Case("datetime-default", f("datetime"), DATETIME_CELLS),
    Case(
        "datetime-bounds",
        f(
            "datetime",
            constraints={"minimum": "2005-01-01T00:00:00", "maximum": "2020-01-01T00:00:00"},
        ),
        [
            "2004-12-31T23:59:59",
            "2005-01-01T00:00:00",
            "2020-01-01T00:00:00",
            "2020-01-01 00:00:01",
        ],
    ),
    Case(
        "datetime-aware",
        f("datetime", constraints={"minimum": "2020-01-05T09:00:00Z"}),
        AWARE_DATETIME_CELLS,
        fill="2020-06-01T00:00:00+00:00",
    ),
    Case(
        "datetime-aware-unique",
        f("datetime", constraints={"unique": True}),
        [*AWARE_DATETIME_CELLS, "2020-01-05T12:00:00+04:00", "2020-01-05T10:00:00Z"],
        rows=0,
    ),
    Case(
        "datetime-custom",
        f("datetime", format="%Y-%m-%d %H:%M", constraints={"enum": ["2020-01-05 10:00"]}),
        ["2020-01-05 10:00", "2020-01-05 10:00:00", "2020-01-05  10:00", "2020-01-05 9:00"],
        fill="2020-01-05 10:00",
    ),
    Case("time-default", f("time"), TIME_CELLS),
    Case(
        "time-bounds",
        f("time", constraints={"minimum": "08:00:00", "exclusiveMaximum": "18:00:00"}),
        ["07:59:59", "08:00:00", "17:59:59.999", "18:00:00", "12:00"],
        schema={"$schema": "https://datapackage.org/profiles/2.0/tableschema.json"},
    ),
    Case("time-custom", f("time", format="%H%M"), ["1000", "2400", "0959", "10:00"], fill="1200"),
    Case("year-plain", f("year", constraints={"minimum": 1000, "maximum": 2050}), YEAR_CELLS),
    Case("year-enum", f("year", constraints={"enum": [2020, "2021"]}), ["2020", "2021", "2022"]),
    Case("any", f("any", constraints={"required": True, "enum": ["a", "b"]}), ["a", "b", "c", ""]),
    Case(
        "missing-values",
        f("integer", missingValues=["", "NA", "-"], constraints={"required": True}),
        ["NA", "-", "", "n/a", "5"],
    ),
    Case(
        "schema-missing-values",
        f("number", constraints={"required": True}),
        ["NA", "", "1"],
        schema={"missingValues": ["NA"]},
    ),
]


@pytest.mark.parametrize("case", CELL_CASES, ids=lambda case: case.id)
@pytest.mark.parametrize("seed", [0, 1])
def test_cells_and_constraints_match_frictionless(case: Case, seed: int, tmp_path: Path) -> None:
    header, rows = case.table(seed)
    path = write_csv(tmp_path / "table.csv", header, rows)
    expected = frictionless_csv(path, case.descriptor())
    assert not expected[0], "every case holds invalid cells: an empty comparison proves little"
    assert_same(expected, ours_csv(path, case.descriptor()))


def test_blank_lines_are_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,x\n\n2,y\n,\n3,\n", encoding="utf-8")
    schema = {"fields": [{"name": "a", "type": "integer"}, {"name": "b"}]}
    expected = frictionless_csv(path, schema)
    assert [error[:2] for error in expected[1]] == [("blank-row", 3), ("blank-row", 5)]
    assert_same(expected, ours_csv(path, schema))


# Rows, unique, primary and foreign keys ------------------------------------------------------


def generated_rows(rng: np.random.Generator, count: int) -> list[list[str]]:
    return [
        [
            str(number),
            str(rng.integers(0, 5)),
            f"{rng.integers(0, 3)}.{rng.integers(0, 2)}",
            str(rng.choice(["a", "b", "c"])),
            valid_cell("date", rng),
        ]
        for number in range(1, count + 1)
    ]


KEYS_FIELDS = [
    {"name": "id", "type": "integer"},
    {"name": "group", "type": "integer"},
    {"name": "score", "type": "number"},
    {"name": "label", "type": "string"},
    {"name": "day", "type": "date"},
]
HEADER = [field_["name"] for field_ in KEYS_FIELDS]


def keys_schema(**schema: Any) -> dict[str, Any]:
    fields = [dict(field_) for field_ in KEYS_FIELDS]
    for field_ in fields:
        constraints = schema.pop(f"{field_['name']}_constraints", None)
        if constraints:
            field_["constraints"] = constraints
    return {"fields": fields, **schema}


ROW_CASES = {
    "unique-integer": keys_schema(group_constraints={"unique": True}),
    "unique-number": keys_schema(score_constraints={"unique": True}),
    "unique-string-and-date": keys_schema(
        label_constraints={"unique": True}, day_constraints={"unique": True}
    ),
    "primary-key-single": keys_schema(primaryKey=["group"]),
    "primary-key-composite": keys_schema(primaryKey=["group", "label"]),
    "primary-key-with-types": keys_schema(primaryKey=["score", "day"]),
    "required-and-unique": keys_schema(label_constraints={"required": True, "unique": True}),
    "self-foreign-key": keys_schema(
        foreignKeys=[{"fields": "group", "reference": {"resource": "", "fields": "id"}}]
    ),
}


def with_row_edge_cases(rows: list[list[str]]) -> list[list[str]]:
    rows = [list(row) for row in rows]
    rows[3] = ["", "", "", "", ""]  # blank row
    rows[5][1] = ""  # one key cell None
    rows[7][1], rows[7][3] = "", ""  # both
    rows[9][2] = "1.00"  # equal to 1.0 as a number
    rows[11][1] = "x"  # a type error in a key cell
    rows[12][1], rows[12][3] = "x", ""  # all key cells None, one by a type error
    return rows


@pytest.mark.parametrize("case", list(ROW_CASES), ids=str)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_checks_match_frictionless(case: str, seed: int, tmp_path: Path) -> None:
    rows = with_row_edge_cases(generated_rows(np.random.default_rng(seed), 40))
    path = write_csv(tmp_path / "table.csv", HEADER, rows)
    expected = frictionless_csv(path, ROW_CASES[case])
    assert not expected[0]
    assert_same(expected, ours_csv(path, ROW_CASES[case]))


FOREIGN_CASES = {
    "single": ({"fields": "group", "reference": {"resource": "groups", "fields": "code"}}, 0),
    "composite": (
        {
            "fields": ["group", "label"],
            "reference": {"resource": "groups", "fields": ["code", "name"]},
        },
        0,
    ),
    "number-to-integer": (
        {"fields": "score", "reference": {"resource": "groups", "fields": "code"}},
        0,
    ),
    "string-to-integer": (
        {"fields": "label", "reference": {"resource": "groups", "fields": "code"}},
        0,
    ),
    "missing-reference-field": (
        {"fields": "group", "reference": {"resource": "groups", "fields": "nothing"}},
        0,
    ),
}
GROUPS_SCHEMA = {
    "fields": [
        {"name": "code", "type": "integer"},
        {"name": "name", "type": "string"},
        {"name": "nothing", "type": "integer"},
    ]
}


@pytest.mark.parametrize("case", list(FOREIGN_CASES), ids=str)
def test_foreign_keys_match_frictionless(case: str, tmp_path: Path) -> None:
    foreign_key, _ = FOREIGN_CASES[case]
    rows = with_row_edge_cases(generated_rows(np.random.default_rng(3), 40))
    path = write_csv(tmp_path / "table.csv", HEADER, rows)
    groups = [["0", "a", "1"], ["1", "b", ""], ["2", "c", "1"], ["", "a", ""], ["x", "b", ""]]
    groups_path = write_csv(tmp_path / "groups.csv", ["code", "name"], [g[:2] for g in groups])
    schema = keys_schema(foreignKeys=[foreign_key])
    expected = frictionless_csv(path, schema, others={"groups": (groups_path, GROUPS_SCHEMA)})
    assert not expected[0]
    groups_frame, groups_header = read_csv_as_text(groups_path)
    foreign = ForeignTable(groups_frame, schema=GROUPS_SCHEMA, header=groups_header)
    assert_same(expected, ours_csv(path, schema, foreign_tables={"groups": foreign}))


def test_foreign_table_without_schema_is_read_with_the_referencing_fields(tmp_path: Path):
    rows = [["1", "1", "1.0", "a", "2020-01-01"], ["2", "7", "1.0", "a", "2020-01-01"]]
    path = write_csv(tmp_path / "table.csv", HEADER, rows)
    schema = keys_schema(
        foreignKeys=[{"fields": "group", "reference": {"resource": "groups", "fields": "code"}}]
    )
    groups = pd.DataFrame({"code": ["01", "2"]})  # "01" read as the integer 1
    frame, header = read_csv_as_text(path)
    result = validate_table(frame, schema, header=header, foreign_tables={"groups": groups})
    assert [(x.type, x.row_number) for x in result.failures] == [("foreign-key", 3)]


def test_a_foreign_table_not_given_is_an_error(tmp_path: Path) -> None:
    schema = keys_schema(
        foreignKeys=[{"fields": "group", "reference": {"resource": "groups", "fields": "code"}}]
    )
    frame = pd.DataFrame([["1", "1", "1", "a", "2020-01-01"]], columns=HEADER)
    with pytest.raises(TableSchemaError, match=r"'groups'.*foreign_tables="):
        validate_table(frame, schema)


# Header ---------------------------------------------------------------------------------------

LABEL_CASES = {
    "missing-column": (["id", "group", "score", "label"], {}),
    "extra-column": ([*HEADER, "extra"], {}),
    "renamed-column": (["id", "grp", "score", "label", "day"], {}),
    "swapped-columns": (["id", "score", "group", "label", "day"], {}),
    "duplicate-label": (["id", "group", "group", "label", "day"], {}),
    "blank-label": (["id", "", "score", "label", "day"], {}),
    "subset": (["day", "id", "extra", "label"], {"fieldsMatch": "subset"}),
    "superset": (["label", "id"], {"fieldsMatch": "superset"}),
    "superset-required": (["label", "id"], {"fieldsMatch": "superset", "primaryKey": ["group"]}),
    "partial-no-match": (["x", "y"], {"fieldsMatch": "partial"}),
    "equal": (["score", "id", "group", "day", "label"], {"fieldsMatch": "equal"}),
    "equal-missing": (["score", "id", "day", "label", "x"], {"fieldsMatch": "equal"}),
}


@pytest.mark.parametrize("case", list(LABEL_CASES), ids=str)
def test_labels_match_frictionless(case: str, tmp_path: Path) -> None:
    header, schema_options = LABEL_CASES[case]
    rng = np.random.default_rng(4)
    rows = [[valid_cell("integer", rng) for _ in header] for _ in range(10)]
    rows[2][-1] = "2020-01-01"
    schema = keys_schema(**schema_options)
    schema["fields"][1]["constraints"] = {"required": True}
    path = write_csv(tmp_path / "table.csv", header, rows)
    expected = frictionless_csv(path, schema)
    assert not expected[0]
    assert_same(expected, ours_csv(path, schema))


def test_duplicate_labels_matched_by_name_are_an_error() -> None:
    frame = pd.DataFrame([["1", "2"]], columns=["a", "b"])
    schema = {"fields": [{"name": "a"}], "fieldsMatch": "subset"}
    with pytest.raises(TableSchemaError, match="unique labels"):
        validate_table(frame, schema, header=["a", "a"])


def test_header_length_must_match_the_table() -> None:
    frame = pd.DataFrame([["1", "2"]], columns=["a", "b"])
    with pytest.raises(TableSchemaError, match="3 labels but the table 2 columns"):
        validate_table(frame, {"fields": [{"name": "a"}]}, header=["a", "b", "c"])


# Typed frames (parquet, delta) ----------------------------------------------------------------


def typed_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = 40
    frame = pd.DataFrame(
        {
            "ints": rng.integers(-50, 3000, size),
            "floats": np.round(rng.uniform(-10, 10, size), 2),
            "whole_floats": rng.integers(0, 4, size).astype(float),
            "flags": rng.integers(0, 2, size).astype(bool),
            "moments": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 5, size) * 43_200, unit="s"),
            "aware": pd.Timestamp("2020-01-01", tz="Europe/Paris")
            + pd.to_timedelta(rng.integers(0, 3, size) * 3600, unit="s"),
            "names": [str(x) for x in rng.choice(["a", "b", "7", "2020", "2020-01-01"], size)],
        }
    )
    frame.loc[3, "floats"] = np.inf
    frame.loc[4, "whole_floats"] = 2.5
    return frame


def parquet_round_trip(frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "t.parquet")
    return pq.read_table(tmp_path / "t.parquet").to_pandas()


TYPED_SCHEMAS = {
    "as-declared": {
        "ints": {"type": "integer", "constraints": {"minimum": 0, "unique": True}},
        "floats": {"type": "number", "constraints": {"maximum": 5, "enum": [1.5, -2.25, "inf"]}},
        "whole_floats": {"type": "integer", "constraints": {"enum": [0, 1]}},
        "flags": {"type": "boolean", "constraints": {"enum": [True]}},
        "moments": {"type": "datetime", "constraints": {"minimum": "2020-01-02T00:00:00"}},
        "aware": {"type": "datetime", "constraints": {"unique": True}},
        "names": {"type": "string", "constraints": {"pattern": "[a-z]"}},
    },
    "other-types": {
        "ints": {"type": "year"},
        "floats": {"type": "integer"},
        "whole_floats": {"type": "number", "constraints": {"minimum": 1}},
        "flags": {"type": "year"},
        "moments": {"type": "date", "constraints": {"maximum": "2020-01-02"}},
        "aware": {"type": "date"},
        "names": {"type": "integer"},
    },
    "wrong-types": {
        "ints": {"type": "string"},
        "floats": {"type": "boolean"},
        "whole_floats": {"type": "date"},
        "flags": {"type": "integer"},
        "moments": {"type": "time"},
        "aware": {"type": "string"},
        "names": {"type": "date"},
    },
    "any-and-primary-key": {
        "ints": {"type": "any"},
        "floats": {"type": "any"},
        "whole_floats": {"type": "number"},
        "flags": {"type": "any"},
        "moments": {"type": "any"},
        "aware": {"type": "any"},
        "names": {"type": "year"},
        "primaryKey": ["whole_floats", "flags"],
    },
}


def typed_schema(name: str) -> dict[str, Any]:
    spec = dict(TYPED_SCHEMAS[name])
    primary_key = spec.pop("primaryKey", None)
    schema = {"fields": [{"name": key, **value} for key, value in spec.items()]}
    return {**schema, **({"primaryKey": primary_key} if primary_key else {})}


@pytest.mark.parametrize("name", list(TYPED_SCHEMAS), ids=str)
@pytest.mark.parametrize("seed", [0, 1])
def test_typed_frames_match_frictionless(name: str, seed: int, tmp_path: Path) -> None:
    frame = parquet_round_trip(typed_frame(seed), tmp_path)
    schema = typed_schema(name)
    expected = frictionless_frame(frame, schema)
    assert not expected[0]
    assert_same(expected, ours(validate_table(frame, schema, report="full")))


def test_a_pyarrow_table_is_validated_as_its_pandas_frame(tmp_path: Path) -> None:
    frame = parquet_round_trip(typed_frame(2), tmp_path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = typed_schema("as-declared")
    expected = frictionless_frame(table.to_pandas(), schema)
    assert_same(expected, ours(validate_table(table, schema, report="full")))


def test_a_named_index_is_read_as_the_first_fields(tmp_path: Path) -> None:
    frame = parquet_round_trip(typed_frame(0), tmp_path).set_index("ints")
    schema = typed_schema("as-declared")
    assert_same(
        frictionless_frame(frame, schema), ours(validate_table(frame, schema, report="full"))
    )


def test_nulls_in_typed_columns_are_blank_cells_as_in_csv(tmp_path: Path) -> None:
    """A deliberate difference: frictionless reads a float NaN as a number, pd.NA as a type
    error; here a null is a missing cell, which is what the same data gives as CSV."""
    frame = pd.DataFrame(
        {
            "ints": pd.array([1, None, 3, 3], dtype="Int64"),
            "floats": [1.5, np.nan, np.nan, 2.0],
            "names": ["a", None, "c", "c"],
            "moments": pd.to_datetime(["2020-01-01", None, "2020-01-03", "2020-01-03"]),
        }
    )
    schema = {
        "fields": [
            {"name": "ints", "type": "integer", "constraints": {"required": True}},
            {"name": "floats", "type": "number", "constraints": {"minimum": 0}},
            {"name": "names", "type": "string", "constraints": {"unique": True}},
            {"name": "moments", "type": "datetime", "constraints": {"required": True}},
        ]
    }
    path = tmp_path / "same.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    assert_same(frictionless_csv(path, schema), ours(validate_table(frame, schema, report="full")))


# Reports and errors ---------------------------------------------------------------------------


@pytest.fixture
def many_errors() -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = pd.DataFrame({"a": [str(i) if i % 3 else "x" for i in range(1, 301)]})
    return frame, {"fields": [{"name": "a", "type": "integer", "constraints": {"maximum": 200}}]}


def test_report_modes_cap_the_failures_not_the_counts(many_errors) -> None:
    frame, schema = many_errors
    over = sum(1 for i in range(201, 301) if i % 3)
    counts = {"type-error": 100, "constraint-error": over}
    full = validate_table(frame, schema, report="full")
    partial = validate_table(frame, schema)
    count = validate_table(frame, schema, report="count")
    small = validate_table(frame, schema, report="partial", limit=5)
    for result in (full, partial, count, small):
        assert (result.passed, result.error_count, result.errors_by_type) == (
            False,
            100 + over,
            counts,
        )
    assert len(full.failures) == 100 + over and not full.truncated
    assert partial.failures == full.failures[:100] and partial.truncated
    assert count.failures == []
    assert small.failures == full.failures[:5]
    assert [f.row_number for f in small.failures] == [4, 7, 10, 13, 16]
    assert small.failures[0].cell == "x" and small.failures[0].field_number == 1


@pytest.mark.parametrize("report, limit", [("some", 10), ("partial", -1), ("full", 1.5)])
def test_report_options_are_checked(many_errors, report: str, limit: Any) -> None:
    frame, schema = many_errors
    with pytest.raises(ValueError, match=r"report must be|limit must be"):
        validate_table(frame, schema, report=report, limit=limit)


def test_a_valid_table_passes() -> None:
    frame = pd.DataFrame({"a": ["1", "2"], "b": ["x", ""]})
    result = validate_table(frame, {"fields": [{"name": "a", "type": "integer"}, {"name": "b"}]})
    assert (result.passed, result.error_count, result.failures) == (True, 0, [])
    assert result.metadata["rows"] == 2


@pytest.mark.parametrize(
    "descriptor, message",
    [
        ({"fields": [{"name": "a", "type": "colour"}]}, 'field type "colour" is not supported'),
        ({"fields": "a"}, "'a' is not of type 'array'"),
        ({"fields": [{"name": "a"}], "primaryKey": ["b"]}, "primary key \"\\['b'\\]\""),
        (
            {"fields": [{"name": "a", "type": "integer", "constraints": {"pattern": "1"}}]},
            'constraint "pattern" is not supported by type "integer"',
        ),
        (
            {"fields": [{"name": "a", "constraints": {"pattern": "[a-"}}]},
            "pattern '\\[a-' is not a valid regex",
        ),
        (
            {"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": "low"}}]},
            "constraint minimum = 'low' is not a valid integer value",
        ),
        (
            {"fields": [{"name": "a", "type": "date", "constraints": {"maximum": "01/02/2020"}}]},
            "constraint maximum = '01/02/2020' is not a valid date value",
        ),
    ],
)
def test_an_invalid_descriptor_names_the_problem(descriptor: dict, message: str) -> None:
    with pytest.raises(TableSchemaError, match=message) as raised:
        load_schema(descriptor)
    assert "<schema descriptor>" in str(raised.value)


def test_load_schema_reads_a_file_inside_its_base(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "s.yaml").write_text("fields:\n  - name: a\n    type: integer\n")
    schema = load_schema("schemas/s.yaml", basepath=tmp_path)
    assert schema.field_names == ["a"]
    with pytest.raises(TableSchemaError, match="leaves the folder it is read from"):
        load_schema("../s.yaml", basepath=tmp_path / "schemas")
    with pytest.raises(TableSchemaError, match="no schema file"):
        load_schema("schemas/missing.json", basepath=tmp_path)
    (tmp_path / "bad.json").write_text('{"fields": [{"name": "a", "type": "nope"}]}')
    with pytest.raises(TableSchemaError, match=r"bad\.json: invalid Table Schema"):
        load_schema("bad.json", basepath=tmp_path)


# The fast readers and the pattern engine, cell by cell ----------------------------------------


READER_BATTERY = {
    "integer": INTEGER_CELLS,
    "number": NUMBER_CELLS,
    "year": YEAR_CELLS,
    "date": DATE_CELLS,
    "datetime": DATETIME_CELLS + AWARE_DATETIME_CELLS,
    "time": TIME_CELLS,
}


@pytest.mark.parametrize("kind", list(READER_BATTERY), ids=str)
def test_fast_reads_equal_frictionless_reads(kind: str) -> None:
    cells = READER_BATTERY[kind] + [valid_cell(kind, np.random.default_rng(i)) for i in range(50)]
    field_ = fl.Schema.from_descriptor({"fields": [{"name": "x", "type": kind}]}).fields[0]
    parsed = read_column(field_, column(pd.Series(cells, dtype="str")))
    reader = field_.create_value_reader()
    assert parsed.fast.sum() > 40  # the valid spellings are read fast
    for cell, fast, value in zip(cells, parsed.fast, np.asarray(parsed.values), strict=True):
        if not fast:
            continue
        expected = reader(cell)
        assert expected is not None, cell
        if kind == "number":
            assert value == float(expected), cell
        elif kind == "date":
            assert value == (expected - dt.date(1970, 1, 1)).days, cell
        elif kind == "datetime":
            epoch = dt.datetime(1970, 1, 1, tzinfo=expected.tzinfo and dt.UTC)
            assert value == (expected - epoch) // dt.timedelta(microseconds=1), cell
        elif kind == "time":
            assert (
                value
                == (expected.hour * 3600 + expected.minute * 60 + expected.second) * 10**6
                + expected.microsecond
            ), cell
        else:
            assert value == expected, cell


@pytest.mark.parametrize("kind", list(READER_BATTERY), ids=str)
def test_each_cell_read_alone_equals_frictionless(kind: str) -> None:
    """A column whose every cell arrow casts is read by arrow (dates): cell by cell, each
    spelling meets that path on its own, and arrow must read what frictionless reads."""
    field_ = fl.Schema.from_descriptor({"fields": [{"name": "x", "type": kind}]}).fields[0]
    reader = field_.create_value_reader()
    for cell in READER_BATTERY[kind]:
        parsed = read_column(field_, column(pd.Series([cell, cell], dtype="str")))
        expected = reader(cell)
        if parsed.fast[0]:
            assert expected is not None, cell
            if kind == "date":
                assert np.asarray(parsed.values)[0] == (expected - dt.date(1970, 1, 1)).days
        elif parsed.type_error[0]:
            assert expected is None, cell


def test_a_long_pattern_column_is_matched_by_its_distinct_values() -> None:
    """Long columns with few distinct values are matched once per value: same verdict."""
    import re

    rng = np.random.default_rng(3)
    domain = np.array([f"{a}{b}-{n:04d}" for a in "ABC" for b in "XY" for n in range(500)])
    cells = domain[rng.integers(0, len(domain), 300_000)].astype(object)
    bad = rng.choice(len(cells), 40, replace=False)
    cells[bad[:20]] = "ab-1234"
    cells[bad[20:30]] = "AB-12345"
    cells[bad[30:]] = "AB-12\n34"  # not printable: Python's re decides
    pattern = "[A-Z]{2}-[0-9]{4}"
    field_ = fl.Schema.from_descriptor(
        {"fields": [{"name": "x", "constraints": {"pattern": pattern}}]}
    ).fields[0]
    parsed = read_column(field_, column(pd.Series(cells, dtype="str")))
    expected = np.array([re.match(f"^{pattern}$", cell) is not None for cell in cells])
    assert np.flatnonzero(~_pattern_matches(parsed, pattern)).tolist() == sorted(bad.tolist())
    assert (_pattern_matches(parsed, pattern) == expected).all()


PATTERNS = [r"[a-z]+", r"a|b", r"\d{2,3}", r"\w+", r"[^,]*,[^,]*", r"(ab)*c?", r"\s*x", r".{3}"]
PATTERN_CELLS = ["abc", "ab", "a", "b", "12", "123", "1234", "a,b", ",", "ababc", " x", "\tx"]
PATTERN_CELLS += ["x\n", "abc\n", "é", "٣٣", "a\u00a0", "ab\x0bx", "...", "a b"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_matching_equals_python_re(pattern: str) -> None:
    import re

    field_ = fl.Schema.from_descriptor(
        {"fields": [{"name": "x", "constraints": {"pattern": pattern}}]}
    ).fields[0]
    parsed = read_column(field_, column(pd.Series(PATTERN_CELLS, dtype="str")))
    expected = [re.match(f"^{pattern}$", cell) is not None for cell in PATTERN_CELLS]
    assert _pattern_matches(parsed, pattern).tolist() == expected


def test_a_long_table_read_column_parallel_matches_frictionless(tmp_path: Path) -> None:
    """Past 50k rows the columns are read on threads; the verdict must not change."""
    rng = np.random.default_rng(7)
    size = 60_000
    frame = pd.DataFrame(
        {
            "id": (rng.permutation(size) + 1).astype(str),
            "amount": np.char.mod("%.2f", rng.uniform(0, 100, size)),
            "day": (
                pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 9000, size), unit="D")
            ).strftime("%Y-%m-%d"),
            "colour": np.array(["red", "green", "blue"])[rng.integers(0, 3, size)],
        }
    )
    # "7": a repeat; "x7": a type error, so that some chunks of ids are cast at once and
    # others read carefully
    broken = [
        ("id", "7"),
        ("id", "x7"),
        ("amount", "100.5"),
        ("day", "2001-02-29"),
        ("colour", "x"),
    ]
    for column_, bad in broken:
        frame.loc[rng.choice(size, 3, replace=False), column_] = bad
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    schema = {
        "fields": [
            {"name": "id", "type": "integer", "constraints": {"unique": True}},
            {"name": "amount", "type": "number", "constraints": {"maximum": 100}},
            {"name": "day", "type": "date"},
            {"name": "colour", "constraints": {"enum": ["red", "green", "blue"]}},
        ]
    }
    expected = frictionless_csv(path, schema)
    assert not expected[0]
    assert_same(expected, ours_csv(path, schema))


@pytest.mark.parametrize(
    "shape",
    ["few-repeats", "many-repeats", "zero-beside-blanks", "wide-range", "negative", "all-blank"],
)
def test_unique_integers_are_counted_as_frictionless_finds_them(shape: str, tmp_path: Path):
    """Each way integers are counted (from 0, from their lowest, past a bucket for blank and
    wrong cells, by hashing when they spread wide) gives frictionless's unique-errors."""
    rng = np.random.default_rng(11)
    size = 3000
    cells = (rng.permutation(size) + 1).astype(str).astype(object)
    if shape == "few-repeats":
        cells[rng.choice(size, 3, replace=False)] = cells[:3]
    elif shape == "many-repeats":
        cells[rng.choice(size, 40, replace=False)] = cells[rng.choice(size, 40)]
    elif shape == "zero-beside-blanks":  # blank and wrong cells are never repeats, 0 is one
        cells[rng.choice(size, 30, replace=False)] = ""
        cells[rng.choice(size, 5, replace=False)] = "x"
        cells[[7, 900]] = "0"
    elif shape == "wide-range":
        cells = rng.integers(-(2**62), 2**62, size).astype(str).astype(object)
        cells[[5, 2000, 2999]] = cells[100]
    elif shape == "negative":
        cells = (rng.permutation(size) - 10_000).astype(str).astype(object)
        cells[rng.choice(size, 20, replace=False)] = cells[rng.choice(size, 20)]
    else:
        cells[:] = ""
    path = write_csv(tmp_path / "ids.csv", ["id"], [[cell] for cell in cells])
    schema = {"fields": [{"name": "id", "type": "integer", "constraints": {"unique": True}}]}
    expected = frictionless_csv(path, schema)
    assert_same(expected, ours_csv(path, schema))
    if shape != "all-blank":
        assert any(error[0] == "unique-error" for error in expected[1])


def test_a_changed_schema_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"fields": [{"name": "a"}]}')
    assert load_schema("s.json", basepath=tmp_path).field_names == ["a"]
    path.write_text('{"fields": [{"name": "a"}, {"name": "bb"}]}')
    assert load_schema("s.json", basepath=tmp_path).field_names == ["a", "bb"]
