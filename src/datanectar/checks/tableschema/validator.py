"""Table Schema validation with frictionless's verdict, evaluated column by column.

`validate_table(frame, schema)` gives the errors `frictionless validate` gives on the same data
with the same schema, by type, row and field, with frictionless's messages: frictionless parses
and validates the descriptor and judges the header (its own `Header` class); the cells, the
constraints, unique, primaryKey and foreignKeys are evaluated here on whole columns (pandas,
pyarrow, numpy), handing frictionless only the cells whose reading is not a plain one.

Cells only frictionless can judge are read by frictionless itself, once per distinct value:
same verdict, not vectorized. Those are the string formats (email, uri, uuid, binary, wkt),
the `any` date/time format, custom date formats with directives other than %Y %m %d %H %M %S,
the field types other than integer, number, string, boolean, date, datetime, time, year and
any, columns of mixed Python objects, and odd spellings (`1_000`, ` 2020-01-05`, `24:00:00`).

Where the result can differ from frictionless, on purpose:

- A DataFrame is rectangular: the `extra-cell` / `missing-cell` errors of a CSV whose
  records differ in length come from `ragged`, which the csv format's `read_text` gives
  (Python's csv module reads such files, as frictionless does). `read_csv_as_text` (pandas)
  is for files of even records: it keeps every record one row and row numbers
  frictionless's, where pandas' default drops blank lines.
- Nulls of typed columns (NaN, NaT, pd.NA, None) are missing cells. frictionless reads a
  float NaN as the number NaN (so `required` passes and bounds fail), pd.NA as a type error
  and NaT as a crash; here all of them are blank cells, as an empty CSV cell is.
- frictionless reads a DataFrame row with `iterrows`, which turns every int of an all-numeric
  frame into a float (a `year` field then fails); here each column keeps its own type.
- A naive and an aware datetime (or time) cannot be ordered; frictionless raises, here the
  cell fails the bound. A schema whose pattern does not compile or whose bound is not a value
  of the field's type is rejected by `load_schema` (frictionless fails mid-validation).
- The frame is the source: the caller chooses what it holds. Catalog checks give a csv
  entry's cells as text with its header row (`Format.read_text` / `written_text`), so the
  verdict is frictionless's on the file; other formats give their typed columns. The csv
  reader applies the entry's Table Dialect (header rows, comment rows, delimiter...) and
  detects what it leaves unpinned as frictionless does (`formats.csv_detect`); `ragged`
  carries the row numbers frictionless gives when they do not follow from the position.
  `headerCase` is not modelled.
- A list cell of a parquet or delta column (pandas hands it over as a numpy array) is read as
  the list it is, for `array`, `yearmonth` and `geopoint` fields: frictionless reading the
  parquet file through pandas reports a type error for every such cell, and none for the same
  lists in the DataFrame that was written. One value gets one verdict, the one of the lists.
- A foreign table given without a schema has its key columns read with the referencing
  fields' definitions; frictionless would infer the types of a schema-less resource.
- frictionless stops at 1000 errors by default (`limit_errors`); `error_count` counts all.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import frictionless
import pandas as pd
import pyarrow as pa
from frictionless import FrictionlessException, Schema, errors

from ...errors import DatanectarError
from ..results import DEFAULT_FAILURE_LIMIT, CheckResult, ReportMode, failure_cap
from .constraints import constraint_failures
from .error_groups import (
    ColumnVerdict,
    RowOrder,
    cell_groups,
    integrity_groups,
    record_groups,
    without_rows,
)
from .field_types import compile_pattern, read_column
from .integrity import unique_duplicates
from .report import collect, to_failure
from .schema_error import TableSchemaError
from .table_view import ForeignTable, TableView, expected_fields, fitted, match_header
from .text_table import RaggedRecords

__all__ = ["ForeignTable", "TableSchemaError", "load_schema", "validate_table"]

CHECK_NAME = "table_schema"
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_ROW_ERRORS = ("cell", "extra-cell", "missing-cell")  # a blank row reports none of these
_PARALLEL_ROWS = 50_000
"""Tables at least this long have their columns read on threads (pyarrow and numpy release
the GIL); shorter ones are not worth starting threads for."""


# Loading a schema -----------------------------------------------------------------------------


def load_schema(
    descriptor_or_path: Schema | Mapping[str, Any] | str | Path,
    *,
    basepath: str | Path | None = None,
) -> Schema:
    """A frictionless Schema from a descriptor or a JSON/YAML file, validated.

    A relative path is read from `basepath` and may not leave it (catalog paths are user input).
    """
    source = "<schema descriptor>"
    descriptor: Any = descriptor_or_path
    if isinstance(descriptor_or_path, Schema):
        descriptor = descriptor_or_path.to_descriptor()
    elif isinstance(descriptor_or_path, str | Path):
        path = _schema_path(descriptor_or_path, basepath)
        stat = path.stat()
        # A catalog load, the definitions and every audit read the same file: parsed once
        # while it is unchanged (frictionless takes about 1.5 ms a descriptor).
        return _schema_file(str(path), stat.st_mtime_ns, stat.st_size)
    elif not isinstance(descriptor_or_path, Mapping):
        raise TableSchemaError(
            source=source,
            problem=f"expected a descriptor (mapping) or a path, got {type(descriptor).__name__}.",
        )
    return _parsed(descriptor, source)


@functools.lru_cache(maxsize=256)
def _schema_file(path: str, _mtime_ns: int, _size: int) -> Schema:
    # Read here, not by frictionless: a YAML schema goes through the catalog's bounded parser
    # (its aliases could otherwise expand it to gigabytes).
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        from ...catalog.render import parse_yaml

        try:
            descriptor = parse_yaml(text, display=path)
        except DatanectarError as exc:
            raise TableSchemaError(source=path, problem=str(exc)) from None
    else:
        try:
            descriptor = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TableSchemaError(
                source=path, problem=f"invalid JSON: {exc}.", fix="correct the file."
            ) from None
    if not isinstance(descriptor, Mapping):
        raise TableSchemaError(
            source=path, problem=f"a Table Schema is a mapping, got {type(descriptor).__name__}."
        )
    return _parsed(dict(descriptor), path)


def _parsed(descriptor: Any, source: str) -> Schema:
    try:
        schema = Schema.from_descriptor(descriptor)
    except FrictionlessException as exc:
        reasons = [reason.message for reason in exc.reasons] or [exc.error.message]
        raise TableSchemaError(
            source=source,
            problem="invalid Table Schema: " + "; ".join(reasons),
            fix="correct the descriptor (see https://datapackage.org/standard/table-schema/).",
        ) from exc
    _check_constraint_values(schema, source)
    return schema


def _schema_path(path: str | Path, basepath: str | Path | None) -> Path:
    base = Path(basepath).resolve() if basepath is not None else Path.cwd()
    resolved = (base / path).resolve()
    if basepath is not None and not resolved.is_relative_to(base):
        raise TableSchemaError(
            source=str(path),
            problem=f"the schema path leaves the folder it is read from, {base}.",
            fix="give a path inside that folder (the project folder, for catalog entries).",
        )
    if not resolved.is_file():
        raise TableSchemaError(
            source=str(path),
            problem=f"no schema file at {resolved}.",
            fix=f"check the path (it is read relative to {base}) or create the file.",
        )
    return resolved


def _check_constraint_values(schema: Schema, source: str) -> None:
    """Reject what frictionless accepts in a descriptor but fails on mid-validation."""
    for field in schema.fields:
        where = f"field '{field.name}'"
        pattern = field.constraints.get("pattern")
        if pattern is not None:
            try:
                compile_pattern(pattern)
            except Exception as exc:
                raise TableSchemaError(
                    source=source,
                    problem=f"{where}: pattern {pattern!r} is not a valid regex ({exc}).",
                    fix="write a Python regular expression; it must match the whole cell.",
                ) from exc
        reader = field.create_value_reader()
        for name in _BOUNDS:
            bound = field.constraints.get(name)
            if bound is None:
                continue
            value = reader(bound)
            if value is None or value != value:
                raise TableSchemaError(
                    source=source,
                    problem=f"{where}: constraint {name} = {bound!r} is not a valid "
                    f"{field.type} value (format {field.format!r}).",
                    fix=f"write the bound as a {field.type} in the field's format.",
                )


# Validating a table ---------------------------------------------------------------------------


def validate_table(
    data: pd.DataFrame | pa.Table,
    schema: Schema | Mapping[str, Any],
    *,
    header: Sequence[str] | None = None,
    ragged: RaggedRecords | None = None,
    foreign_tables: Mapping[str, pd.DataFrame | pa.Table | ForeignTable] | None = None,
    report: ReportMode = "partial",
    limit: int = DEFAULT_FAILURE_LIMIT,
    name: str = CHECK_NAME,
    threads: int | None = None,
) -> CheckResult:
    """Validate `data` against a Table Schema as `frictionless validate` would.

    `header` is the header row as read from the file (duplicates and all), when the frame's
    column names are not it; `ragged` says how many cells each record of a CSV held, when
    they differ from the header's (the csv format's `read_text` gives both). `foreign_tables` maps a foreign key's `reference.resource` to the
    table it points to. `report` keeps no failures (`count`), the first `limit` (`partial`) or
    all (`full`). Long tables have their columns read on `threads` threads (default: one per
    core); one when something else is meant to use the other cores meanwhile.
    """
    cap = failure_cap(report, limit)
    schema = schema if isinstance(schema, Schema) else load_schema(schema)
    foreign = {key: _foreign_table(given) for key, given in (foreign_tables or {}).items()}
    if header is not None and not list(header) and len(data.columns):
        data, ragged = fitted(_frame(data), ragged, len(schema.fields))
    table = TableView.build(data, header, ragged)
    header_row = match_header(table.labels, schema, table.header_rows)
    if not table.labels and table.rows == 0:
        # frictionless stops there: no header, no rows to judge
        return unreadable_result(
            "source-error", "the source is empty", name=name, report=report, limit=limit
        )
    table_errors: list[frictionless.Error] = list(header_row.errors)
    verdicts = _read_columns(expected_fields(header_row), table, threads)

    groups, blank = cell_groups(table, verdicts)
    groups += record_groups(table, verdicts)
    integrity, reads = integrity_groups(table, schema, verdicts, foreign)
    groups = [
        without_rows(group, blank) if group.key[0] in _ROW_ERRORS else group for group in groups
    ]
    count, by_type, failures = collect(
        table_errors, groups + integrity, cap=cap, row_order=RowOrder(len(verdicts), reads)
    )
    return CheckResult(
        name=name,
        passed=count == 0,
        error_count=count,
        errors_by_type=by_type,
        failures=failures,
        metadata={"rows": table.rows, "fields": len(schema.fields), "report": report},
    )


def unreadable_result(
    error_type: str,
    note: str,
    *,
    name: str = CHECK_NAME,
    report: ReportMode = "partial",
    limit: int = DEFAULT_FAILURE_LIMIT,
) -> CheckResult:
    """The verdict on a table frictionless cannot read at all: its one table-level error
    (`source-error`, `encoding-error`), with frictionless's message."""
    error_class = {"source-error": errors.SourceError, "encoding-error": errors.EncodingError}
    failure = to_failure(error_class[error_type](note=note))
    return CheckResult(
        name=name,
        passed=False,
        error_count=1,
        errors_by_type={error_type: 1},
        failures=[failure][: failure_cap(report, limit)],
        metadata={"rows": 0, "report": report},
    )


def _read_columns(
    fields: list[frictionless.Field], table: TableView, threads: int | None
) -> list[ColumnVerdict]:
    """Each column read with its field, its constraints and unique evaluated: the bulk of the
    work, column-parallel on long tables."""

    def verdict(position: int) -> ColumnVerdict:
        parsed = read_column(fields[position], table.columns[position])
        unique = parsed.field.constraints.get("unique")
        return ColumnVerdict(
            parsed=parsed,
            constraints=constraint_failures(parsed),
            duplicates=unique_duplicates(parsed) if unique else None,
        )

    positions = range(len(fields))
    workers = min(len(fields), threads or os.cpu_count() or 1)
    if table.rows < _PARALLEL_ROWS or workers < 2:
        return [verdict(position) for position in positions]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="table-schema") as pool:
        return list(pool.map(verdict, positions))


def _frame(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return data.to_pandas() if isinstance(data, pa.Table) else data


def _foreign_table(given: pd.DataFrame | pa.Table | ForeignTable) -> ForeignTable:
    if not isinstance(given, ForeignTable):
        return ForeignTable(data=given)
    if given.schema is None or isinstance(given.schema, Schema):
        return given
    return replace(given, schema=load_schema(given.schema))
