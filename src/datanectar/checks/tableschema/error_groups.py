"""The errors of a table, one `ErrorGroup` per kind: which rows, and how to word each one.

Cell errors (type, each constraint) and blank rows come from the parsed columns; unique,
primary-key and foreign-key errors from `integrity`. `RowOrder` says in which order
frictionless lists one row's errors. Each group builds frictionless's own error object, hence
its message, for the few rows a report keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import frictionless
import numpy as np
from frictionless import Schema, errors

from .constraints import constraint_note, constraint_order
from .field_types import ParsedColumn, absent_column, read_column
from .integrity import Duplicates, foreign_key_failures, primary_key_errors
from .report import ErrorGroup
from .schema_error import TableSchemaError
from .table_view import ForeignTable, TableView, expected_fields, match_header


@dataclass(frozen=True)
class ColumnVerdict:
    """What one column's own checks found: its cells, its constraints, its unique repeats."""

    parsed: ParsedColumn
    constraints: list[tuple[str, np.ndarray]]
    """(constraint name, failing rows mask), in frictionless's order"""
    duplicates: Duplicates | None = None


def cell_groups(
    table: TableView, verdicts: list[ColumnVerdict]
) -> tuple[list[ErrorGroup], np.ndarray]:
    """The type and constraint errors of every cell, and the blank rows (which replace them)."""
    groups = []
    for position, verdict in enumerate(verdicts):
        parsed = verdict.parsed
        key = ("cell", position, 0)
        groups.append(_cell_group(table, parsed, position, "type-error", key, parsed.type_error))
        order = constraint_order(parsed.field)
        for name, failing in verdict.constraints:
            key = ("cell", position, 1 + order.index(name))
            groups.append(_cell_group(table, parsed, position, "constraint-error", key, failing))
    missing = [verdict.parsed.missing for verdict in verdicts]
    blank = np.logical_and.reduce(missing) if missing else np.zeros(table.rows, bool)
    rows = np.flatnonzero(blank)

    def blank_row(row: int) -> frictionless.Error:
        return errors.BlankRowError(
            note="", cells=table.row_cells(row), row_number=table.row_number(row)
        )

    groups.append(ErrorGroup("blank-row", ("blank",), rows, blank_row))
    return groups, blank


def record_groups(table: TableView, verdicts: list[ColumnVerdict]) -> list[ErrorGroup]:
    """For a CSV whose records differ in length: an `extra-cell` error for each cell past the
    header's, and a `missing-cell` error for each of the header's cells a record lacks."""
    ragged = table.ragged
    if ragged is None or ragged.counts is None:
        return []
    counts = ragged.counts
    width = len(verdicts)
    groups = []
    longer = np.flatnonzero(counts > width)
    for number in range(width + 1, int(counts.max(initial=0)) + 1):
        rows = longer[counts[longer] >= number]

        def extra_cell(row: int, number: int = number) -> frictionless.Error:
            return errors.ExtraCellError(
                note="",
                cells=table.row_cells(row),
                row_number=table.row_number(row),
                cell=str(ragged.extra[row][number - width - 1]),
                field_name="",
                field_number=number,
            )

        groups.append(ErrorGroup("extra-cell", ("extra-cell", number), rows, extra_cell))
    shorter = np.flatnonzero(counts < width)
    for position, verdict in enumerate(verdicts):
        number, name = position + 1, verdict.parsed.field.name

        def missing_cell(row: int, number: int = number, name: str = name) -> frictionless.Error:
            return errors.MissingCellError(
                note="",
                cells=table.row_cells(row),
                row_number=table.row_number(row),
                cell="",
                field_name=name,
                field_number=number,
            )

        rows = shorter[counts[shorter] < number]
        groups.append(ErrorGroup("missing-cell", ("missing-cell", number), rows, missing_cell))
    return groups


def _cell_group(
    table: TableView, parsed: ParsedColumn, position: int, kind: str, key: tuple, mask: Any
) -> ErrorGroup:
    field = parsed.field
    error_class = errors.TypeError if kind == "type-error" else errors.ConstraintError

    def build(row: int) -> frictionless.Error:
        if kind == "type-error":
            note = _read_type_note(parsed, row) or f'type is "{field.type}/{field.format}"'
        else:
            note = constraint_note(field, constraint_order(field)[key[2] - 1])
        return error_class(
            note=note,
            cells=table.row_cells(row),
            row_number=table.row_number(row),
            cell=str(table.cell(row, position)),
            field_name=field.name,
            field_number=position + 1,
        )

    return ErrorGroup(kind, key, np.flatnonzero(mask), build)


def _read_type_note(parsed: ParsedColumn, row: int) -> str | None:
    """frictionless's own note on a cell it read itself (an array's item of the wrong type
    says so), for the failures kept only."""
    if parsed.field.type != "array":
        return None
    at = np.searchsorted(parsed.slow_rows, row)
    if at < len(parsed.slow_rows) and parsed.slow_rows[at] == row:
        return (parsed.slow_notes[at] or {}).get("type")
    return None


def without_rows(group: ErrorGroup, rows: np.ndarray) -> ErrorGroup:
    kept = group.rows[~rows[group.rows]] if len(group.rows) else group.rows
    return ErrorGroup(group.type, group.key, kept, group.build)


@dataclass(frozen=True)
class RowOrder:
    """frictionless's order of one row's errors, which follows the order it reads cells in.

    Each unique check, then the primary key, then each foreign key reads its fields' cells
    first (their type and constraint errors come first); the first of them to find an error
    makes frictionless read the whole row (every other cell's errors, then the record's extra
    and missing cells, or `blank-row` in place of them all) before appending its own error.
    """

    fields: int
    reads: list[tuple[tuple, list[int]]]
    """(the integrity error's key, positions of the fields it reads), in check order."""

    def __call__(self, keys: set) -> list:
        cell_keys = sorted(key for key in keys if key[0] == "cell")
        # found once the whole row is read: the cells past the header's, then those it lacks
        record_keys = sorted(key for key in keys if key[0] == "extra-cell")
        record_keys += sorted(key for key in keys if key[0] == "missing-cell")
        out: list = []
        read: set[int] = set()
        whole = False

        def read_cell(position: int) -> None:
            if not whole and position not in read:
                read.add(position)
                out.extend(key for key in cell_keys if key[1] == position)

        def read_row() -> None:
            nonlocal whole, out
            for position in range(self.fields):
                read_cell(position)
            if not whole:
                out.extend(record_keys)
                if ("blank",) in keys:
                    out = [("blank",)]
            whole = True

        for key, positions in self.reads:
            for position in positions:
                read_cell(position)
            if key in keys:
                read_row()
                out.append(key)
        read_row()
        return out


def integrity_groups(
    table: TableView,
    schema: Schema,
    verdicts: list[ColumnVerdict],
    foreign_tables: Mapping[str, ForeignTable],
) -> tuple[list[ErrorGroup], list[tuple[tuple, list[int]]]]:
    """The unique, primary-key and foreign-key errors, and which fields each check reads."""
    parsed = [verdict.parsed for verdict in verdicts]
    by_name = {column_.field.name: column_ for column_ in parsed}
    position_of = {column_.field.name: position for position, column_ in enumerate(parsed)}
    groups, reads = [], []
    for position, verdict in enumerate(verdicts):
        if verdict.duplicates is not None:
            groups.append(_unique_group(table, verdict.parsed, position, verdict.duplicates))
            reads.append((groups[-1].key, [position]))
    if schema.primary_key and set(schema.primary_key) <= set(by_name):
        groups.append(_primary_key_group(table, [by_name[name] for name in schema.primary_key]))
        reads.append((groups[-1].key, [position_of[name] for name in schema.primary_key]))
    for number, foreign_key in enumerate(schema.foreign_keys):
        if set(foreign_key["fields"]) <= set(by_name):
            groups.append(_foreign_key_group(table, by_name, foreign_key, number, foreign_tables))
            reads.append((groups[-1].key, [position_of[name] for name in foreign_key["fields"]]))
    return groups, reads


def _unique_group(
    table: TableView, parsed: ParsedColumn, position: int, duplicates: Duplicates
) -> ErrorGroup:
    previous = dict(zip(duplicates.rows.tolist(), duplicates.previous.tolist(), strict=True))

    def build(row: int) -> frictionless.Error:
        value = parsed.frictionless_values(np.array([row]))[0]
        return errors.UniqueError(
            note=f"the same as in the row at position {table.row_number(previous[row])}",
            cells=table.row_cells(row),
            row_number=table.row_number(row),
            cell=str(value),
            field_name=parsed.field.name,
            field_number=position + 1,
        )

    return ErrorGroup("unique-error", ("unique", position), duplicates.rows, build)


def _primary_key_group(table: TableView, parsed: list[ParsedColumn]) -> ErrorGroup:
    all_none, duplicates = primary_key_errors(parsed)
    previous = dict(zip(duplicates.rows.tolist(), duplicates.previous.tolist(), strict=True))
    rows = np.union1d(all_none, duplicates.rows)

    def build(row: int) -> frictionless.Error:
        if row in previous:
            note = f"the same as in the row at position {table.row_number(previous[row])}"
        else:
            note = 'cells composing the primary keys are all "None"'
        return errors.PrimaryKeyError(
            note=note, cells=table.row_cells(row), row_number=table.row_number(row)
        )

    return ErrorGroup("primary-key", ("primary-key",), rows, build)


def _foreign_key_group(
    table: TableView,
    by_name: dict[str, ParsedColumn],
    foreign_key: dict[str, Any],
    number: int,
    foreign_tables: Mapping[str, ForeignTable],
) -> ErrorGroup:
    target_names = list(foreign_key["fields"])
    reference = foreign_key["reference"]
    source_name, source_names = reference["resource"], list(reference["fields"])
    targets = [by_name[name] for name in target_names]
    if not source_name:  # a reference to the table itself
        sources = [by_name.get(name) for name in source_names]
        sources = [
            found or absent_column(target.field, table.rows)
            for found, target in zip(sources, targets, strict=True)
        ]
    else:
        sources = _foreign_columns(source_name, source_names, targets, foreign_tables)
    rows = foreign_key_failures(targets, sources)

    def build(row: int) -> frictionless.Error:
        values = [column_.frictionless_values(np.array([row]))[0] for column_ in targets]
        note = 'for "{}": values "{}" not found in the lookup table "{}" as "{}"'.format(
            ", ".join(target_names),
            ", ".join(str(value) for value in values),
            source_name,
            ", ".join(source_names),
        )
        return errors.ForeignKeyError(
            note=note,
            cells=table.row_cells(row),
            row_number=table.row_number(row),
            field_names=target_names,
            field_cells=["" if value is None else str(value) for value in values],
            reference_name=source_name,
            reference_field_names=source_names,
        )

    return ErrorGroup("foreign-key", ("foreign-key", number), rows, build)


def _foreign_columns(
    source_name: str,
    source_names: list[str],
    targets: list[ParsedColumn],
    foreign_tables: Mapping[str, ForeignTable],
) -> list[ParsedColumn]:
    """The referenced columns, read as frictionless reads the referenced table's rows; a
    field that table lacks reads as None in every row."""
    if source_name not in foreign_tables:
        raise TableSchemaError(
            source="<table>",
            problem=f"a foreign key refers to table {source_name!r}, which was not given "
            f"(given: {sorted(foreign_tables) or 'none'}).",
            fix=f"pass foreign_tables={{{source_name!r}: <its DataFrame>}}.",
        )
    given = foreign_tables[source_name]
    table = TableView.build(given.data, given.header)
    if given.schema is None:
        # read the referenced columns with the referencing fields' types
        descriptors = [
            {**target.field.to_descriptor(), "name": name}
            for target, name in zip(targets, source_names, strict=True)
        ]
        fields = {f.name: f for f in Schema.from_descriptor({"fields": descriptors}).fields}
        positions = {label: i for i, label in enumerate(table.labels)}
    else:
        schema = cast(Schema, given.schema)  # validate_table loaded it
        expected = expected_fields(match_header(table.labels, schema))
        fields = {field.name: field for field in expected}
        positions = {field.name: i for i, field in enumerate(expected)}
    out: list[ParsedColumn] = []
    for name, target in zip(source_names, targets, strict=True):
        if name in fields and name in positions:
            out.append(read_column(fields[name], table.columns[positions[name]]))
        else:
            out.append(absent_column(target.field, table.rows))
    return out
