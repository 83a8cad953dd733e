"""A table as frictionless sees it: the header row (labels) and the columns under it.

The header is judged by frictionless's own `Header` class (missing, extra, incorrect,
duplicate and blank labels, every `fieldsMatch` mode), which also says which field each
column is read with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import frictionless
import pandas as pd
import pyarrow as pa
from frictionless import FrictionlessException, Schema
from frictionless.table import Header
from frictionless.table import fields_match as fields_match_module

from .cells import Column, column
from .report import FIRST_DATA_ROW
from .schema_error import TableSchemaError
from .text_table import RaggedRecords


@dataclass(frozen=True)
class ForeignTable:
    """A table a foreign key points to, with its own schema (and header) when it has one.

    Without a schema, its key columns are read with the referencing fields' definitions.
    """

    data: pd.DataFrame | pa.Table
    schema: Schema | Mapping[str, Any] | None = None
    header: Sequence[str] | None = None


@dataclass(frozen=True)
class TableView:
    """A DataFrame as the rows frictionless reads: its labels and its columns."""

    frame: pd.DataFrame
    labels: list[str]
    columns: list[Column]
    ragged: RaggedRecords | None = None
    """For a CSV whose records differ in length: what each record holds beyond the frame."""

    @property
    def rows(self) -> int:
        return len(self.frame)

    @classmethod
    def build(
        cls,
        data: pd.DataFrame | pa.Table,
        header: Sequence[str] | None,
        ragged: RaggedRecords | None = None,
    ) -> TableView:
        if isinstance(data, pa.Table):
            data = data.to_pandas()
        if not isinstance(data, pd.DataFrame):
            raise TableSchemaError(
                source="<table>",
                problem=f"expected a pandas DataFrame or a pyarrow Table, got "
                f"{type(data).__module__}.{type(data).__qualname__}.",
            )
        if any(level is not None for level in data.index.names):
            data = data.reset_index()  # frictionless reads named index levels as fields first
        labels = [str(label) for label in (data.columns if header is None else header)]
        if header is not None and not labels and data.shape[1]:
            pass  # a file without header: its columns match the fields by position
        elif len(labels) != data.shape[1]:
            raise TableSchemaError(
                source="<table>",
                problem=f"the header has {len(labels)} labels but the table {data.shape[1]} "
                "columns.",
                fix="pass the header row of the same file the table was read from.",
            )
        covered = None if ragged is None else _covered(ragged)
        if covered is not None and covered != len(data):
            raise TableSchemaError(
                source="<table>",
                problem=f"the record lengths cover {covered} records but the "
                f"table has {len(data)} rows.",
                fix="pass the record lengths read with the same table.",
            )
        columns = [column(data.iloc[:, index]) for index in range(data.shape[1])]
        return cls(frame=data, labels=labels, columns=columns, ragged=ragged)

    def row_number(self, row: int) -> int:
        """The row's number as frictionless counts it (the header is row 1, usually)."""
        numbers = None if self.ragged is None else self.ragged.row_numbers
        return row + FIRST_DATA_ROW if numbers is None else int(numbers[row])

    @property
    def header_rows(self) -> list[int]:
        return [1] if self.ragged is None else list(self.ragged.header_rows)

    def row_cells(self, row: int) -> list[str]:
        """A row's cells as frictionless lists them in an error (None as ""): the record's
        own cells, as many as it holds."""
        cells = [col.python_cell(row) for col in self.columns]
        texts = ["" if cell is None else str(cell) for cell in cells]
        if self.ragged is None or self.ragged.counts is None:
            return texts
        count = int(self.ragged.counts[row])
        return texts[:count] + list(self.ragged.extra.get(row, []))

    def cell(self, row: int, position: int) -> Any:
        return self.columns[position].python_cell(row)


def _covered(ragged: RaggedRecords) -> int | None:
    for given in (ragged.counts, ragged.row_numbers):
        if given is not None:
            return len(given)
    return None


def fitted(
    frame: pd.DataFrame, ragged: RaggedRecords | None, width: int
) -> tuple[pd.DataFrame, RaggedRecords | None]:
    """A table read without header, as frictionless judges it against `width` fields by
    position: cells past the fields are extra cells, fields past a record's cells missing."""
    import numpy as np

    columns = frame.shape[1]
    if columns == width:
        return frame, ragged
    counts = ragged.counts if ragged is not None and ragged.counts is not None else None
    if counts is None:
        counts = np.full(len(frame), columns, dtype=np.int64)
    extra: dict[int, list[str]] = {}
    if columns > width or (ragged is not None and ragged.extra):
        for row in np.flatnonzero(counts > width):
            own = [frame.iat[row, i] for i in range(width, min(columns, int(counts[row])))]
            extra[int(row)] = [*own, *(ragged.extra.get(int(row), []) if ragged else [])]
    kept = frame.iloc[:, :width].copy()
    for position in range(columns, width):
        kept[str(position + 1)] = pd.array([None] * len(frame), dtype="str")
    numbers = None if ragged is None else ragged.row_numbers
    header_rows = () if ragged is None else ragged.header_rows
    return kept, RaggedRecords(counts, extra, row_numbers=numbers, header_rows=header_rows)


def match_header(labels: list[str], schema: Schema, row_numbers: list[int] | None = None) -> Header:
    declared = schema.fields_match if schema.has_defined("fields_match") else None
    return Header(
        labels,
        fields=schema.fields,
        row_numbers=row_numbers or [1],
        fields_match=fields_match_module.resolve(declared, schema_sync=False),
    )


def expected_fields(header: Header) -> list[frictionless.Field]:
    try:
        return header.get_expected_fields()
    except FrictionlessException as exc:
        raise TableSchemaError(
            source="<table>",
            problem=f"the header cannot be matched with the schema: {exc.error.message}",
            fix="make the header labels unique, or match fields by position (fieldsMatch).",
        ) from exc
