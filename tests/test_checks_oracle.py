"""The `table_schema` asset check against frictionless, through real Dagster runs.

For csv, parquet and delta entries, every case is a catalog entry with a Table Schema and
`report: full`, in two tables (one that violates the schema, one that conforms) and two
ways: produced by an `@datanectar.asset` function (audited before it is written: a rejected
value is read back from its quarantine, an accepted one from where it was published), and
external (written to the store first with the storage library, then checked by the
standalone check). The check's `passed`, `error_count`, `errors_by_type` and `failures` table
must be what frictionless gives on the data as stored, read back with the storage library:
frictionless on the CSV file itself, or on the frame pyarrow / deltalake read back.

csv tables hold text; parquet and delta tables hold typed columns, so their violations are
the ones a typed column can hold (text in an integer field, a float in an integer field, an
int in a string field...). Nulls in typed columns are one of table_schema's documented
differences (a null is a missing cell there, a number or a type error in frictionless): the
cases with nulls compare with frictionless on the stored frame with its nulls made None.
One Dagster run per format holds every entry (produced and external), to stay fast.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import frictionless as fl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from frictionless.formats import CsvControl

import datanectar
from oracle import Error, frictionless_errors

FORMATS = ("csv", "parquet", "delta")
ROWS = 12
Columns = dict[str, list[Any]]


def spread(fill: Any, values: Sequence[Any], rows: int = ROWS) -> list[Any]:
    """`rows` cells of `fill` with `values` placed evenly among them (the first at row 2)."""
    cells = [fill] * rows
    for index, value in enumerate(values):
        cells[1 + index * (rows - 1) // max(len(values), 1)] = value
    return cells


def numbered(start: int = 10, rows: int = ROWS, *, text: bool) -> list[Any]:
    return [str(start + i) if text else start + i for i in range(rows)]


def replaced(cells: list[Any], at: dict[int, Any]) -> list[Any]:
    cells = list(cells)
    for index, value in at.items():
        cells[index] = value
    return cells


# The cases ------------------------------------------------------------------------------------

ID = {"name": "id", "type": "integer"}
LABEL = {"name": "label", "type": "string"}


@dataclass(frozen=True)
class Case:
    """A schema, and for csv (text) and for parquet/delta (typed): a bad and a good table.

    Every table starts with `id` and `label` columns: a typed frame then always holds a
    string column (frictionless's iterrows turns the ints of an all-numeric frame to floats,
    a documented difference). `None` for a table: that violation is not representable.
    """

    id: str
    error: str
    """The one error type frictionless finds in the bad table: what the case exercises."""
    fields: list[dict[str, Any]]
    text_bad: Columns | None
    text_good: Columns
    typed_bad: Columns | None
    typed_good: Columns
    schema: dict[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = FORMATS
    nulls: bool = False
    """The typed tables hold nulls: frictionless is given them as None (documented)."""
    blank_rows: tuple[int, ...] = ()
    """Rows (0-based) of the bad table made wholly blank, `id` and `label` included."""

    def descriptor(self) -> dict[str, Any]:
        return {"fields": [ID, LABEL, *self.fields], **self.schema}

    def columns(self, fmt: str, variant: str) -> Columns | None:
        kind = "text" if fmt == "csv" else "typed"
        return getattr(self, f"{kind}_{variant}")

    def frame(self, fmt: str, variant: str) -> pd.DataFrame:
        columns = self.columns(fmt, variant)
        assert columns is not None
        rows = len(next(iter(columns.values())))
        text = fmt == "csv"
        frame = pd.DataFrame(
            {
                "id": [str(i) if text else i for i in range(1, rows + 1)],
                "label": [f"r{i}" for i in range(1, rows + 1)],
                **columns,
            }
        )
        if variant == "bad" and self.blank_rows:
            dtypes = {
                name: "Int64" if pd.api.types.is_integer_dtype(dtype) else dtype
                for name, dtype in frame.dtypes.items()
            }
            frame = frame.astype(object)
            frame.loc[list(self.blank_rows)] = "" if text else None
            frame = frame.astype(dtypes)  # typed again: ints with nulls are Int64
        return frame


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


CASES = [
    Case(
        "integer",
        "type-error",
        [{"name": "v", "type": "integer"}, {"name": "w", "type": "integer"}],
        text_bad={
            "v": spread("5", ["x", "2.5", "1e3", "", "1.0", "-0", "+7", "007"]),
            "w": spread("1", ["1.5", "y"]),
        },
        text_good={"v": spread("5", ["-5", "+7", "007", "", "123456"]), "w": spread("1", ["2"])},
        typed_bad={"v": spread("5", ["x", "2.5", "1e3", "abc"]), "w": spread(1.0, [2.5, -0.5])},
        typed_good={"v": spread("5", ["-5", "+7", "007"]), "w": spread(1.0, [2.0, -3.0])},
    ),
    Case(
        "number",
        "type-error",
        [{"name": "v", "type": "number"}, {"name": "w", "type": "number"}],
        text_bad={
            "v": spread("1.5", ["abc", "1,5", "1.5.5", "--1"]),
            "w": spread("2", ["true", "x"]),
        },
        text_good={"v": spread("1.5", [".5", "5.", "-1e3", "inf"]), "w": spread("2", ["-4"])},
        typed_bad={"v": spread("1.5", ["abc", "1,5"]), "w": spread(True, [False])},
        typed_good={"v": spread("1.5", [".5", "-1e3"]), "w": spread(2, [3, -4])},
    ),
    Case(
        "string",
        "type-error",
        [{"name": "v", "type": "string"}],
        text_bad=None,  # every text cell is a string
        text_good={"v": spread("abc", ["", "é", "a,b", "line\nbreak", "007"])},
        typed_bad={"v": spread(1, [2])},
        typed_good={"v": spread("abc", ["é", "a,b", "007"])},
    ),
    Case(
        "boolean",
        "type-error",
        [{"name": "v", "type": "boolean"}, {"name": "w", "type": "boolean"}],
        text_bad={
            "v": spread("true", ["yes", "2", "t", " TRUE", "no"]),
            "w": spread("false", ["0", "1", "False", "x"]),
        },
        text_good={
            "v": spread("true", ["false", "True", "FALSE", "1", "0"]),
            "w": spread("false", ["true"]),
        },
        typed_bad={"v": spread("true", ["yes", "t"]), "w": spread(0, [1, 2])},
        typed_good={"v": spread("true", ["false", "1"]), "w": spread(False, [True])},
    ),
    Case(
        "date",
        "type-error",
        [{"name": "v", "type": "date"}, {"name": "w", "type": "date"}],
        text_bad={
            "v": spread("2020-01-31", ["2019-02-29", "2020-13-01", "20200105", "2020-1-5", "abc"]),
            "w": spread("2021-06-01", ["2021-06-01T00:00:00", "x"]),
        },
        text_good={
            "v": spread("2020-01-31", ["2020-02-29", "0001-01-01", "9999-12-31"]),
            "w": spread("2021-06-01", ["2000-02-29"]),
        },
        typed_bad={
            "v": spread("2020-01-31", ["2019-02-29", "abc"]),
            "w": spread(ts("2021-06-01"), [ts("2021-06-01 10:30")]),
        },
        typed_good={
            "v": spread("2020-01-31", ["2020-02-29"]),
            "w": spread(dt.date(2021, 6, 1), [dt.date(2000, 2, 29)]),
        },
    ),
    Case(
        "datetime",
        "type-error",
        [{"name": "v", "type": "datetime"}, {"name": "w", "type": "datetime"}],
        text_bad={
            "v": spread(
                "2020-01-05T10:00:00",
                ["2020-01-05T25:00:00", "2020-02-30T10:00:00", "2020-01-05", "abc"],
            ),
            "w": spread("2020-01-05T10:00:00Z", ["2020-01-05T10:00:00+24:00", "x"]),
        },
        text_good={
            "v": spread("2020-01-05T10:00:00", ["2020-01-05T23:59:59", "2020-01-05T10:00:00.123"]),
            "w": spread("2020-01-05T10:00:00Z", ["2020-01-05T10:00:00+02:00"]),
        },
        typed_bad={
            "v": spread("2020-01-05T10:00:00", ["2020-01-05T25:00:00", "abc"]),
            "w": spread(dt.date(2020, 1, 5), [dt.date(2021, 1, 5)]),
        },
        typed_good={
            "v": spread(ts("2020-01-05 10:00"), [ts("2020-01-05 23:59:59")]),
            "w": spread(ts("2020-01-05 10:00Z"), [ts("2020-01-06 10:00Z")]),
        },
    ),
    Case(
        "time",
        "type-error",
        [{"name": "v", "type": "time"}],
        text_bad={"v": spread("10:00:00", ["25:00:00", "10:61:00", "abc", "24:00:00", "1000"])},
        text_good={"v": spread("10:00:00", ["23:59:59", "00:00:00", "10:00:00.5"])},
        # delta has no time type: text in a time field
        typed_bad={"v": spread("10:00:00", ["25:00:00", "abc"])},
        typed_good={"v": spread("10:00:00", ["23:59:59", "00:00:00"])},
    ),
    Case(
        "time_objects",
        "type-error",
        [{"name": "v", "type": "time"}],
        text_bad=None,
        text_good={"v": spread("10:00:00", [])},
        typed_bad={"v": spread(ts("2020-01-05 10:00"), [ts("2020-01-05 11:00")])},
        typed_good={"v": spread(dt.time(10), [dt.time(23, 59, 59)])},
        formats=("parquet",),
    ),
    Case(
        "year",
        "type-error",
        [{"name": "v", "type": "year"}, {"name": "w", "type": "year"}],
        text_bad={
            "v": spread("2020", ["20.0", "12345", "-200", "abc", "+123"]),
            "w": spread("1999", ["199", "x"]),
        },
        text_good={"v": spread("2020", ["0000", "9999", "1000"]), "w": spread("1999", ["2001"])},
        typed_bad={"v": spread("2020", ["20.0", "abc"]), "w": spread(1999, [12345, -5])},
        typed_good={"v": spread("2020", ["0000", "9999"]), "w": spread(1999, [2001, 1])},
    ),
    Case(
        "any",
        "constraint-error",
        [{"name": "v", "type": "any", "constraints": {"enum": ["a", "b"]}}],
        text_bad={"v": spread("a", ["c", "b", "", "A"])},
        text_good={"v": spread("a", ["b", ""])},
        typed_bad={"v": spread("a", ["c", "b", "A"])},
        typed_good={"v": spread("a", ["b"])},
    ),
    Case(
        "required",
        "constraint-error",
        [
            {"name": "v", "type": "integer", "constraints": {"required": True}},
            {"name": "w", "type": "string", "constraints": {"required": True}},
            {"name": "x", "type": "date", "constraints": {"required": True}},
            {"name": "n", "type": "number", "constraints": {"required": True, "minimum": 1}},
        ],
        text_bad={
            "v": spread("1", ["", "2"]),
            "w": spread("a", ["", "b", ""]),
            "x": spread("2020-01-01", [""]),
            "n": spread("1.5", ["0.5", ""]),
        },
        text_good={
            "v": spread("1", ["2"]),
            "w": spread("a", ["b"]),
            "x": spread("2020-01-01", []),
            "n": spread("1.5", ["1"]),
        },
        # parquet keeps Int64 (pandas metadata); delta reads it back as float64 with NaN
        typed_bad={
            "v": pd.array(spread(1, [None, 2]), dtype="Int64"),
            "w": spread("a", [None, "b", None]),
            "x": spread(dt.date(2020, 1, 1), [None]),
            "n": spread(1.5, [0.5, math.nan]),
        },
        typed_good={
            "v": spread(1, [2]),
            "w": spread("a", ["b"]),
            "x": spread(dt.date(2020, 1, 1), []),
            "n": spread(1.5, [1.0]),
        },
        nulls=True,
    ),
    Case(
        "unique",
        "unique-error",
        [
            {"name": "v", "type": "integer", "constraints": {"unique": True}},
            {"name": "w", "type": "string", "constraints": {"unique": True}},
        ],
        text_bad={
            "v": replaced(numbered(text=True), {4: "10", 8: "010", 9: "11"}),
            "w": replaced([f"s{i}" for i in range(ROWS)], {6: "s1", 7: "s1"}),
        },
        text_good={"v": numbered(text=True), "w": [f"s{i}" for i in range(ROWS)]},
        typed_bad={
            "v": replaced(numbered(text=False), {4: 10, 9: 11}),
            "w": replaced([f"s{i}" for i in range(ROWS)], {6: "s1", 7: "s1"}),
        },
        typed_good={"v": numbered(text=False), "w": [f"s{i}" for i in range(ROWS)]},
    ),
    Case(
        "bounds",
        "constraint-error",
        [
            {"name": "i", "type": "integer", "constraints": {"minimum": 0, "maximum": 10}},
            {"name": "n", "type": "number", "constraints": {"minimum": 0.5, "maximum": 1.5}},
            {
                "name": "d",
                "type": "date",
                "constraints": {"minimum": "2020-01-01", "maximum": "2020-12-31"},
            },
            {"name": "t", "type": "datetime", "constraints": {"minimum": "2020-01-01T00:00:00"}},
            {"name": "h", "type": "time", "constraints": {"maximum": "18:00:00"}},
            {"name": "y", "type": "year", "constraints": {"minimum": 2000}},
        ],
        text_bad={
            "i": spread("5", ["-1", "11", "0", "10"]),
            "n": spread("1", ["0.4", "1.6", "0.5", "1.5"]),
            "d": spread("2020-06-01", ["2019-12-31", "2021-01-01"]),
            "t": spread("2020-06-01T00:00:00", ["2019-12-31T23:59:59"]),
            "h": spread("12:00:00", ["18:00:01", "23:00:00"]),
            "y": spread("2020", ["1999", "2000"]),
        },
        text_good={
            "i": spread("5", ["0", "10"]),
            "n": spread("1", ["0.5", "1.5"]),
            "d": spread("2020-06-01", ["2020-01-01", "2020-12-31"]),
            "t": spread("2020-06-01T00:00:00", ["2020-01-01T00:00:00"]),
            "h": spread("12:00:00", ["18:00:00", "00:00:00"]),
            "y": spread("2020", ["2000"]),
        },
        typed_bad={
            "i": spread(5, [-1, 11, 0, 10]),
            "n": spread(1.0, [0.4, 1.6, 0.5, 1.5]),
            "d": spread(dt.date(2020, 6, 1), [dt.date(2019, 12, 31), dt.date(2021, 1, 1)]),
            "t": spread(ts("2020-06-01"), [ts("2019-12-31 23:59:59")]),
            "h": spread("12:00:00", ["18:00:01", "23:00:00"]),
            "y": spread(2020, [1999, 2000]),
        },
        typed_good={
            "i": spread(5, [0, 10]),
            "n": spread(1.0, [0.5, 1.5]),
            "d": spread(dt.date(2020, 6, 1), [dt.date(2020, 1, 1), dt.date(2020, 12, 31)]),
            "t": spread(ts("2020-06-01"), [ts("2020-01-01")]),
            "h": spread("12:00:00", ["18:00:00"]),
            "y": spread(2020, [2000]),
        },
    ),
    Case(
        "lengths",
        "constraint-error",
        [{"name": "v", "type": "string", "constraints": {"minLength": 2, "maxLength": 4}}],
        text_bad={"v": spread("abc", ["a", "abcde", "é", "éééé", "🙂🙂🙂🙂🙂", ""])},
        text_good={"v": spread("abc", ["ab", "abcd", "éé", "🙂🙂", ""])},
        typed_bad={"v": spread("abc", ["a", "abcde", "é", "🙂🙂🙂🙂🙂"])},
        typed_good={"v": spread("abc", ["ab", "abcd", "🙂🙂"])},
    ),
    Case(
        "pattern",
        "constraint-error",
        [{"name": "v", "type": "string", "constraints": {"pattern": "[A-Z]{2}[0-9]"}}],
        text_bad={"v": spread("AB1", ["ab1", "AB12", "A1", "AB1\n", " AB1"])},
        text_good={"v": spread("AB1", ["XY9", ""])},
        typed_bad={"v": spread("AB1", ["ab1", "AB12", "AB1\n"])},
        typed_good={"v": spread("AB1", ["XY9"])},
    ),
    Case(
        "enum",
        "constraint-error",
        [
            {"name": "v", "type": "string", "constraints": {"enum": ["red", "green"]}},
            {"name": "w", "type": "integer", "constraints": {"enum": [1, 2, 3]}},
        ],
        text_bad={"v": spread("red", ["Red", "blue", "green "]), "w": spread("1", ["4", "0"])},
        text_good={"v": spread("red", ["green", ""]), "w": spread("1", ["2", "3", "03"])},
        typed_bad={"v": spread("red", ["Red", "blue"]), "w": spread(1, [4, 0])},
        typed_good={"v": spread("red", ["green"]), "w": spread(1, [2, 3])},
    ),
    Case(
        "blank_row",
        "blank-row",
        [{"name": "v", "type": "integer"}, {"name": "w", "type": "string"}],
        text_bad={"v": spread("1", ["", "2"]), "w": spread("a", ["", "b"])},
        text_good={"v": spread("1", ["", "2"]), "w": spread("a", ["b", ""])},
        typed_bad={"v": spread(1, [2]), "w": spread("a", ["b"])},
        typed_good={"v": spread(1, [2]), "w": spread("a", ["b"])},
        blank_rows=(1, 7),
        nulls=True,
    ),
    Case(
        "missing_label",
        "missing-label",
        [{"name": "v", "type": "integer"}, {"name": "gone", "type": "string"}],
        text_bad={"v": spread("1", ["2"])},
        text_good={"v": spread("1", ["2"]), "gone": spread("a", [])},
        typed_bad={"v": spread(1, [2])},
        typed_good={"v": spread(1, [2]), "gone": spread("a", [])},
    ),
    Case(
        "extra_label",
        "extra-label",
        [{"name": "v", "type": "integer"}],
        text_bad={"v": spread("1", ["2"]), "surplus": spread("x", [])},
        text_good={"v": spread("1", ["2"])},
        typed_bad={"v": spread(1, [2]), "surplus": spread("x", [])},
        typed_good={"v": spread(1, [2])},
    ),
    Case(
        "primary_key",
        "primary-key",
        [{"name": "k", "type": "integer"}],
        text_bad={"k": replaced(numbered(text=True), {3: "10", 5: "", 7: "12", 8: "12"})},
        text_good={"k": numbered(text=True)},
        typed_bad={"k": replaced(numbered(text=False), {3: 10, 7: 12, 8: 12})},
        typed_good={"k": numbered(text=False)},
        schema={"primaryKey": ["k"]},
    ),
    Case(
        "primary_key_composite",
        "primary-key",
        [{"name": "k", "type": "integer"}, {"name": "s", "type": "string"}],
        text_bad={
            "k": replaced(numbered(text=True), {3: "10", 5: "10", 9: "11"}),
            "s": replaced(spread("a", []), {5: "b"}),
        },
        text_good={
            "k": replaced(numbered(text=True), {5: "10"}),
            "s": replaced(spread("a", []), {5: "b"}),
        },
        typed_bad={
            "k": replaced(numbered(text=False), {3: 10, 5: 10, 9: 11}),
            "s": replaced(spread("a", []), {5: "b"}),
        },
        typed_good={
            "k": replaced(numbered(text=False), {5: 10}),
            "s": replaced(spread("a", []), {5: "b"}),
        },
        schema={"primaryKey": ["k", "s"]},
    ),
    Case(
        "foreign_key",
        "foreign-key",
        [{"name": "g", "type": "integer"}],
        text_bad={"g": spread("1", ["5", "2", "", "0"])},
        text_good={"g": spread("1", ["2", "4", ""])},
        typed_bad={"g": spread(1, [5, 2, 0])},
        typed_good={"g": spread(1, [2, 4])},
        schema={
            "foreignKeys": [{"fields": "g", "reference": {"resource": "groups", "fields": "code"}}]
        },
    ),
    Case(
        "foreign_key_composite",
        "foreign-key",
        [{"name": "g", "type": "integer"}, {"name": "n", "type": "string"}],
        text_bad={"g": spread("1", ["2", "1", "3"]), "n": spread("a", ["b", "b", "a"])},
        text_good={"g": spread("1", ["2", "3"]), "n": spread("a", ["b", "c"])},
        typed_bad={"g": spread(1, [2, 1, 3]), "n": spread("a", ["b", "b", "a"])},
        typed_good={"g": spread(1, [2, 3]), "n": spread("a", ["b", "c"])},
        schema={
            "foreignKeys": [
                {
                    "fields": ["g", "n"],
                    "reference": {"resource": "groups", "fields": ["code", "name"]},
                }
            ]
        },
    ),
]
CASES_BY_ID = {case.id: case for case in CASES}

# The entry every foreign key points to: another catalog entry, external, in the same format.
GROUPS = pd.DataFrame({"code": [1, 2, 3, 4], "name": ["a", "b", "c", "d"]})
GROUPS_SCHEMA = {"fields": [{"name": "code", "type": "integer"}, {"name": "name"}]}


# Storage, with the storage libraries themselves -----------------------------------------------

SUFFIX = {"csv": ".csv", "parquet": ".parquet", "delta": ""}
TEXT_LOAD = {"dtype": "str", "keep_default_na": False}
"""csv load_options that read every cell as the text it is, as frictionless does."""


def write_stored(fmt: str, frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    else:
        write_deltalake(str(path), frame, mode="overwrite")


def read_stored(fmt: str, path: Path) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if fmt == "parquet":
        return pq.read_table(path).to_pandas()
    return DeltaTable(str(path)).to_pandas()


# The oracle -----------------------------------------------------------------------------------


def with_nulls_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


def frictionless_on_stored(
    fmt: str, path: Path, schema: dict[str, Any], groups: Path, *, nulls: bool = False
) -> tuple[bool, list[Error]]:
    """frictionless on the stored data: the CSV file itself, or the frame read back (with its
    nulls as None when `nulls`: the documented difference)."""
    descriptor = fl.Schema.from_descriptor(json.loads(json.dumps(schema)))
    groups_schema = fl.Schema.from_descriptor(GROUPS_SCHEMA)
    if fmt == "csv":
        options = {
            "encoding": "utf-8",
            # the sniffer may take a character inside a cell for the delimiter: tell it
            "dialect": fl.Dialect(controls=[CsvControl(delimiter=",")]),
        }
        main = fl.Resource(path=path.name, basepath=str(path.parent), schema=descriptor, **options)
        other = fl.Resource(
            path=groups.name, basepath=str(groups.parent), schema=groups_schema, **options
        )
    else:
        frame = read_stored(fmt, path)
        main = fl.Resource(with_nulls_as_none(frame) if nulls else frame, schema=descriptor)
        other = fl.Resource(read_stored(fmt, groups), schema=groups_schema)
    main.name, other.name = "main", groups.name.removesuffix(SUFFIX[fmt])
    if schema.get("foreignKeys"):
        fl.Package(resources=[main, other])  # where reference.resource finds the entry
    return frictionless_errors(main.validate(limit_errors=10**6))


def reported(evaluation: dg.AssetCheckEvaluation) -> tuple[bool, list[Error]]:
    """The check's verdict and failures, as Dagster recorded them, with their counts checked
    against each other."""
    metadata = evaluation.metadata
    records = metadata["failures"].value.records if "failures" in metadata else []
    failures = [
        (
            record.data["error_type"],
            record.data["row_number"],
            record.data["field_name"],
            record.data["message"],
        )
        for record in records
    ]
    assert metadata["error_count"].value == len(failures)  # report: full keeps them all
    assert metadata["errors_by_type"].value == dict(Counter(error[0] for error in failures))
    return evaluation.passed, failures


def without_messages(errors: list[Error]) -> list[tuple[str, int | None, str | None]]:
    return [error[:3] for error in errors]


# Projects and runs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One catalog entry of a run: its table, schema, and whether a function produces it."""

    name: str
    fmt: str
    frame: pd.DataFrame
    schema: dict[str, Any]
    produced: bool
    load_options: dict[str, Any] | None = None


def producer(name: str, frame: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    @datanectar.asset(entry=name)
    def produce() -> pd.DataFrame:
        return frame

    return produce


@dataclass
class Run:
    project: Path
    specs: dict[str, Spec]
    result: dg.ExecuteInProcessResult
    evaluations: dict[str, dg.AssetCheckEvaluation]

    def published(self, name: str) -> Path:
        spec = self.specs[name]
        return self.project / "data" / f"{name}{SUFFIX[spec.fmt]}"

    def stored(self, name: str) -> Path:
        """Where the checked value is: its quarantine when rejected, else where it is
        published (a produced value) or was written (an external one)."""
        metadata = self.evaluations[name].metadata
        if "quarantine" in metadata:
            return Path(metadata["quarantine"].value)
        return self.published(name)

    def groups(self, fmt: str) -> Path:
        return self.project / "data" / f"groups_{fmt}{SUFFIX[fmt]}"

    def step_keys(self, event_type: str) -> set[str]:
        return {
            event.step_key
            for event in self.result.all_events
            if event.event_type_value == event_type
        }


def run_project(root: Path, instance: dg.DagsterInstance, specs: list[Spec]) -> Run:
    """A project holding `specs` (and a `groups_<fmt>` table per format for foreign keys),
    external tables written with the storage library, every entry checked in one run."""
    for folder in ("schemas", "catalog", "configuration"):
        (root / folder).mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'oracle'\nversion = '0'\n\n[tool.datanectar]\n"
        'catalog = "catalog"\nconfiguration = "configuration"\nmodules = []\n\n'
        '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
    )
    catalog = []
    for fmt in sorted({spec.fmt for spec in specs}):
        path = f"groups_{fmt}{SUFFIX[fmt]}"
        catalog.append(f"groups_{fmt}:\n  format: {fmt}\n  path: {path}\n")
        write_stored(fmt, GROUPS, root / "data" / path)
    functions, produced, external = [], [], []
    for spec in specs:
        (root / "schemas" / f"{spec.name}.json").write_text(json.dumps(spec.schema))
        catalog.append(
            f"{spec.name}:\n  format: {spec.fmt}\n  path: {spec.name}{SUFFIX[spec.fmt]}\n"
            f"  schema: schemas/{spec.name}.json\n  report: full\n"
            + (f"  load_options: {json.dumps(spec.load_options)}\n" if spec.load_options else "")
        )
        if spec.produced:
            functions.append(producer(spec.name, spec.frame))
            produced.append(spec.name)
        else:
            write_stored(spec.fmt, spec.frame, root / "data" / f"{spec.name}{SUFFIX[spec.fmt]}")
            external.append(spec.name)
    (root / "catalog" / "main.yaml").write_text("".join(catalog))

    defs = datanectar.definitions(root, functions=functions)
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=instance,
        selection=dg.AssetSelection.assets(*produced)
        | dg.AssetSelection.checks_for_assets(*external),
        raise_on_error=False,
    )
    evaluations = {
        event.asset_check_evaluation_data.asset_key.path[-1]: event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    return Run(root, {spec.name: spec for spec in specs}, result, evaluations)


def with_foreign_entry(schema: dict[str, Any], fmt: str) -> dict[str, Any]:
    """The schema with its foreign keys pointing at this format's `groups_<fmt>` entry."""
    keys = [
        {**key, "reference": {**key["reference"], "resource": f"groups_{fmt}"}}
        for key in schema.get("foreignKeys", [])
    ]
    return {**schema, **({"foreignKeys": keys} if keys else {})}


def entry_name(fmt: str, case: Case, variant: str, mode: str) -> str:
    return f"{fmt}__{case.id}__{variant}__{mode}"


def cases_for(fmt: str) -> list[tuple[Case, str]]:
    return [
        (case, variant)
        for case in CASES
        if fmt in case.formats
        for variant in ("bad", "good")
        if case.columns(fmt, variant) is not None
    ]


def format_specs(fmt: str) -> list[Spec]:
    return [
        Spec(
            name=entry_name(fmt, case, variant, mode),
            fmt=fmt,
            frame=case.frame(fmt, variant),
            schema=with_foreign_entry(case.descriptor(), fmt),
            produced=mode == "produced",
        )
        for case, variant in cases_for(fmt)
        for mode in ("produced", "external")
    ]


@pytest.fixture(scope="module")
def dagster_instance():
    """A real Dagster instance with in-memory storage: the runs here hold hundreds of steps,
    and the sqlite event log would triple their time."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture(scope="module")
def format_run(tmp_path_factory: pytest.TempPathFactory, dagster_instance):
    """`format_run(fmt)`: the one run of that format's entries, made when first asked for."""
    runs: dict[str, Run] = {}

    def get(fmt: str) -> Run:
        if fmt not in runs:
            root = tmp_path_factory.mktemp(f"project_{fmt}")
            runs[fmt] = run_project(root, dagster_instance, format_specs(fmt))
        return runs[fmt]

    return get


# Every case, every format, produced and external, bad and good --------------------------------

# The one place a message differs: a blank cell of a csv read with pandas' defaults is a NaN,
# which the message names "None" where frictionless, reading the file, names it "" (see
# test_a_blank_csv_cell_is_named_as_in_the_file).
MESSAGES_DIFFER = {("csv", "required", "bad", "external")}


def params() -> list[Any]:
    return [
        pytest.param(fmt, case.id, variant, mode, id=f"{fmt}-{case.id}-{variant}-{mode}")
        for fmt in FORMATS
        for case, variant in cases_for(fmt)
        for mode in ("produced", "external")
    ]


@pytest.mark.parametrize(("fmt", "case_id", "variant", "mode"), params())
def test_table_schema_check_equals_frictionless_on_the_stored_data(
    format_run, fmt: str, case_id: str, variant: str, mode: str
) -> None:
    run = format_run(fmt)
    case = CASES_BY_ID[case_id]
    name = entry_name(fmt, case, variant, mode)
    evaluation = run.evaluations[name]
    metadata = evaluation.metadata
    assert evaluation.check_name == "table_schema"
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR

    stored = run.stored(name)
    if mode == "produced" and variant == "bad":
        # rejected before publishing: nothing at the entry's path, the value in quarantine
        assert stored.is_relative_to(run.project / "data" / ".datanectar" / "quarantine" / name)
        assert not datanectar.catalog(run.project).exists(name)
        published = run.published(name)
        # (a rejected first delta write may leave the table's folder behind, empty)
        assert not published.exists() or not any(p.is_file() for p in published.rglob("*"))
    else:
        assert "quarantine" not in metadata
        assert stored == run.published(name)

    # the stored data, read back with the storage library, is the table the case made
    pd.testing.assert_frame_equal(
        read_stored(fmt, stored), case.frame(fmt, variant), check_dtype=False
    )

    expected = frictionless_on_stored(
        fmt, stored, run.specs[name].schema, run.groups(fmt), nulls=case.nulls
    )
    assert expected[0] == (variant == "good"), "the case's table is not what it claims to be"
    if variant == "bad":
        assert {error[0] for error in expected[1]} == {case.error}
    actual = reported(evaluation)
    assert actual[0] == expected[0]
    assert without_messages(actual[1]) == without_messages(expected[1])
    if (fmt, case_id, variant, mode) not in MESSAGES_DIFFER:
        assert actual[1] == expected[1]
    if variant == "good":
        assert metadata["error_count"].value == 0
        assert metadata["errors_by_type"].value == {}
        assert "failures" not in metadata
    else:
        # report: full also stores every failure as JSON
        stored_report = json.loads(Path(metadata["report"].value).read_text())
        assert [
            (e["error_type"], e["row_number"], e["field_name"], e["message"])
            for e in stored_report["errors"]
        ] == actual[1]


def test_a_blank_csv_cell_is_named_as_in_the_file(format_run) -> None:
    run = format_run("csv")
    case = CASES_BY_ID["required"]
    name = entry_name("csv", case, "bad", "external")
    expected = frictionless_on_stored(
        "csv", run.stored(name), run.specs[name].schema, run.groups("csv")
    )
    assert reported(run.evaluations[name])[1] == expected[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_blocking_failures_fail_exactly_the_bad_entries_steps(format_run, fmt: str) -> None:
    run = format_run(fmt)
    bad = [case for case, variant in cases_for(fmt) if variant == "bad"]
    good = [case for case, variant in cases_for(fmt) if variant == "good"]
    assert run.step_keys("STEP_FAILURE") == {
        entry_name(fmt, case, "bad", "produced") for case in bad
    } | {f"{entry_name(fmt, case, 'bad', 'external')}_checks" for case in bad}
    materialized = {
        event.asset_key.path[-1]
        for event in run.result.all_events
        if event.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert materialized == {entry_name(fmt, case, "good", "produced") for case in good}


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_typed_nulls_are_missing_cells_as_documented(format_run, fmt: str) -> None:
    """table_schema's documented difference: a null of a typed column is a missing cell (as an
    empty CSV cell is), where frictionless reads a float NaN as a number (so `required`
    passes, or an integer field fails on its type) and None as missing."""
    run = format_run(fmt)
    case = CASES_BY_ID["required"]
    name = entry_name(fmt, case, "bad", "produced")
    stored, schema = run.stored(name), run.specs[name].schema
    actual = reported(run.evaluations[name])[1]
    as_none = frictionless_on_stored(fmt, stored, schema, run.groups(fmt), nulls=True)[1]
    raw = {
        error[:3]: error[3]
        for error in frictionless_on_stored(fmt, stored, schema, run.groups(fmt))[1]
    }
    assert actual == as_none
    ours = {error[:3]: error[3] for error in actual}
    # the NaN of the number column `n` (row 8): a missing cell here, the number NaN there
    assert ours[("constraint-error", 8, "n")].endswith('constraint "required" is "True"')
    assert raw[("constraint-error", 8, "n")].endswith('constraint "minimum" is "1"')
    if fmt == "delta":  # which reads the Int64 column back as float64, its null a NaN
        assert read_stored(fmt, stored)["v"].dtype == "float64"
        assert ("constraint-error", 3, "v") in ours
        assert ("constraint-error", 3, "v") not in raw
        assert raw[("type-error", 3, "v")].startswith('Type error in the cell "nan"')


# csv text and pandas' types -------------------------------------------------------------------


def labelled(**columns: list[Any]) -> pd.DataFrame:
    rows = len(next(iter(columns.values())))
    return pd.DataFrame({"label": [f"r{i}" for i in range(1, rows + 1)], **columns})


def one_field(**field_: Any) -> dict[str, Any]:
    return {"fields": [LABEL, {"name": "v", **field_}]}


# Text files whose cells pandas' default read_csv turns into something else.
INFERRED = {
    "digits_in_a_string_field": (one_field(type="string"), spread("007", ["123", "0"])),
    "one_and_zero_booleans": (one_field(type="boolean"), spread("1", ["0"])),
    "year_with_a_blank": (one_field(type="year"), spread("2020", ["", "1999"])),
    "na_text_required": (
        one_field(type="string", constraints={"required": True}),
        spread("NA", ["x", "n/a"]),
    ),
    "decimal_spelled_integers": (one_field(type="integer"), spread("2", ["1.0", "1e3"])),
}
# Typed frames produced into a csv entry: the audit judges the frame, the file holds its text.
FAITHFUL_SCHEMA = {
    "fields": [
        LABEL,
        {"name": "i", "type": "integer", "constraints": {"maximum": 5}},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date", "constraints": {"minimum": "2020-01-02"}},
        {"name": "t", "type": "datetime"},
        {"name": "y", "type": "year"},
        {"name": "n", "type": "number", "constraints": {"minimum": 0}},
    ]
}


def faithful(i: list[int], d: list[dt.date], n: list[float]) -> pd.DataFrame:
    return labelled(
        i=spread(1, i),
        b=spread(True, [False]),
        d=spread(dt.date(2020, 1, 5), d),
        t=spread(ts("2020-01-05 10:00"), [ts("2020-01-06 00:00")]),
        y=spread(2020, [1999]),
        n=spread(1.5, n),
    )


TYPED_TO_CSV = {
    # ints, bools, dates, datetimes and non-whole floats are written as text frictionless
    # reads back to the same values
    "faithful_types_bad": (FAITHFUL_SCHEMA, faithful([6, 2], [dt.date(2020, 1, 1)], [-0.25])),
    "faithful_types_good": (FAITHFUL_SCHEMA, faithful([5, 2], [dt.date(2020, 1, 2)], [0.0])),
    "whole_floats_in_an_integer_field": (
        one_field(type="integer"),
        labelled(v=spread(1.0, [2.0, 3.0])),
    ),
    "ints_in_a_string_field": (one_field(type="string"), labelled(v=spread(1, [2]))),
}


def csv_specs() -> list[Spec]:
    specs = []
    for case, (schema, cells) in INFERRED.items():
        for load, options in (("defaults", None), ("text", TEXT_LOAD)):
            specs.append(
                Spec(f"csv_{case}__{load}", "csv", labelled(v=cells), schema, False, options)
            )
    for case, (schema, frame) in TYPED_TO_CSV.items():
        specs.append(Spec(f"csv_{case}__typed", "csv", frame, schema, True))
    return specs


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory: pytest.TempPathFactory, dagster_instance) -> Run:
    return run_project(tmp_path_factory.mktemp("project_csv_types"), dagster_instance, csv_specs())


def compare_csv_entry(run: Run, name: str) -> tuple[bool, list[Error]]:
    stored = run.stored(name)
    expected = frictionless_on_stored("csv", stored, run.specs[name].schema, run.groups("csv"))
    assert reported(run.evaluations[name]) == expected
    return expected


@pytest.mark.parametrize("case", list(INFERRED))
def test_external_csv_read_as_text_equals_frictionless(csv_run: Run, case: str) -> None:
    """With load_options that read cells as text, an external csv entry's check is
    frictionless's on the file, whatever pandas would have inferred."""
    valid, _ = compare_csv_entry(csv_run, f"csv_{case}__text")
    assert valid == (case != "decimal_spelled_integers")  # '1.0' is no integer to frictionless


@pytest.mark.parametrize("case", list(INFERRED))
def test_external_csv_read_with_pandas_defaults_equals_frictionless(
    csv_run: Run, case: str
) -> None:
    compare_csv_entry(csv_run, f"csv_{case}__defaults")


@pytest.mark.parametrize("case", TYPED_TO_CSV)
def test_csv_produced_from_a_typed_frame_equals_frictionless_on_the_file(
    csv_run: Run, case: str
) -> None:
    valid, errors = compare_csv_entry(csv_run, f"csv_{case}__typed")
    if case.startswith("faithful_types"):
        assert valid == case.endswith("_good")
        assert valid or {error[2] for error in errors} == {"i", "d", "n"}
    else:
        # judged on the text written, as frictionless reads the file: '1.0' is no integer,
        # '1' is a string
        assert valid == (case == "ints_in_a_string_field")
