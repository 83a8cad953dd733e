"""CSV through pandas. Its cells as text, which a Table Schema judges as frictionless judges
the file, are read by the validator (`checks.tableschema.csv_text`).

An entry's Table Dialect (`dialect:`, `csv_dialect`) is honoured by every read and write;
what it leaves unpinned in a file nothing produces is detected as frictionless detects it
(`csv_detect`), by the pandas read and the text read alike.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..checks.tableschema.csv_text import stored_csv_text, written_csv_text
from ..checks.tableschema.text_table import TextTable
from ..stores import Location
from .base import Format, parameter_names
from .csv_dialect import CsvDialect
from .csv_pandas import read_frame


class CsvFormat(Format):
    name = "csv"
    data_kind = "table"
    drops_index = True
    suffix = ".csv"
    writes = ("pandas.DataFrame",)

    def __init__(
        self,
        *,
        dialect: CsvDialect | None = None,
        detect: bool = False,
        field_names: Sequence[str] | None = None,
    ) -> None:
        self.dialect = dialect
        """The properties the entry pins."""
        self.detect = detect
        """Whether the others are detected in the stored file (a file nothing produces)."""
        self.field_names = field_names
        """The Table Schema's field names: a headerless file's columns, as frictionless names
        them."""

    def with_dialect(
        self,
        dialect: CsvDialect | None,
        *,
        detect: bool,
        field_names: Sequence[str] | None = None,
    ) -> CsvFormat:
        """This format for one entry: its dialect, whether to detect the rest, and its
        schema's field names."""
        if dialect is None and not detect:
            return self
        return type(self)(dialect=dialect, detect=detect, field_names=field_names)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, pd.DataFrame)

    def write(self, value: pd.DataFrame, location: Location, *, options: Mapping[str, Any]) -> None:
        with location.open("wb") as handle:
            value.to_csv(handle, **self._to_csv_options(options))

    def _to_csv_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """How `write` calls to_csv: no index, the entry's dialect, then its save options."""
        written = self.dialect.to_csv_options() if self.dialect else {}
        return {"index": False, **written, **options}

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        with location.open("rb") as handle:
            return read_frame(
                handle,
                options=options,
                dialect=self.dialect,
                detect=self.detect,
                field_names=self.field_names,
            )

    def written_text(self, value: Any, *, options: Mapping[str, Any]) -> TextTable:
        return written_csv_text(value, save_options=options, dialect=self.dialect)

    def read_text(self, location: Location, *, options: Mapping[str, Any]) -> TextTable:
        with location.open("rb") as stored:
            return stored_csv_text(
                stored, load_options=options, dialect=self.dialect, detect=self.detect
            )

    def written_value(
        self, value: Any, *, save_options: Mapping[str, Any], load_options: Mapping[str, Any]
    ) -> Any:
        buffer = io.BytesIO()
        value.to_csv(buffer, **self._to_csv_options(save_options))
        buffer.seek(0)
        return read_frame(
            buffer,
            options=load_options,
            dialect=self.dialect,
            detect=False,
            field_names=self.field_names,
        )

    def load_option_names(self) -> frozenset[str]:
        return parameter_names(pd.read_csv, exclude={"filepath_or_buffer"})

    def save_option_names(self) -> frozenset[str]:
        return parameter_names(pd.DataFrame.to_csv, exclude={"path_or_buf"})
