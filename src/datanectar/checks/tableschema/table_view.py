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
        if len(labels) != data.shape[1]:
            raise TableSchemaError(
                source="<table>",
                problem=f"the header has {len(labels)} labels but the table {data.shape[1]} "
                "columns.",
                fix="pass the header row of the same file the table was read from.",
            )
        if ragged is not None and len(ragged.counts) != len(data):
            raise TableSchemaError(
                source="<table>",
                problem=f"the record lengths cover {len(ragged.counts)} records but the "
                f"table has {len(data)} rows.",
                fix="pass the record lengths read with the same table.",
            )
        columns = [column(data.iloc[:, index]) for index in range(data.shape[1])]
        return cls(frame=data, labels=labels, columns=columns, ragged=ragged)

    def row_cells(self, row: int) -> list[str]:
        """A row's cells as frictionless lists them in an error (None as ""): the record's
        own cells, as many as it holds."""
        cells = [col.python_cell(row) for col in self.columns]
        texts = ["" if cell is None else str(cell) for cell in cells]
        if self.ragged is None:
            return texts
        count = int(self.ragged.counts[row])
        return texts[:count] + list(self.ragged.extra.get(row, []))

    def cell(self, row: int, position: int) -> Any:
        return self.columns[position].python_cell(row)


def match_header(labels: list[str], schema: Schema) -> Header:
    declared = schema.fields_match if schema.has_defined("fields_match") else None
    return Header(
        labels,
        fields=schema.fields,
        row_numbers=[1],
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
