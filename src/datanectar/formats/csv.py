"""CSV through pandas. Its cells as text, which a Table Schema judges as frictionless judges
the file, are read by the validator (`checks.tableschema.csv_text`)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..checks.tableschema.csv_text import stored_csv_text, written_csv_text
from ..checks.tableschema.text_table import TextTable
from ..stores import Location
from .base import Format, parameter_names


class CsvFormat(Format):
    name = "csv"
    data_kind = "table"
    drops_index = True
    suffix = ".csv"
    writes = ("pandas.DataFrame",)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, pd.DataFrame)

    def write(self, value: pd.DataFrame, location: Location, *, options: Mapping[str, Any]) -> None:
        with location.open("wb") as handle:
            value.to_csv(handle, **{"index": False, **options})

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        with location.open("rb") as handle:
            return pd.read_csv(handle, **options)

    def written_text(self, value: Any, *, options: Mapping[str, Any]) -> TextTable:
        return written_csv_text(value, save_options=options)

    def read_text(self, location: Location, *, options: Mapping[str, Any]) -> TextTable:
        with location.open("rb") as stored:
            return stored_csv_text(stored, load_options=options)

    def written_value(
        self, value: Any, *, save_options: Mapping[str, Any], load_options: Mapping[str, Any]
    ) -> Any:
        buffer = io.BytesIO()
        value.to_csv(buffer, **{"index": False, **save_options})
        buffer.seek(0)
        return pd.read_csv(buffer, **load_options)

    def load_option_names(self) -> frozenset[str]:
        return parameter_names(pd.read_csv, exclude={"filepath_or_buffer"})

    def save_option_names(self) -> frozenset[str]:
        return parameter_names(pd.DataFrame.to_csv, exclude={"path_or_buf"})
