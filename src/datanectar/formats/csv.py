"""CSV through pandas."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..stores import Location
from .base import Format, TextTable, parameter_names

# read_csv options that describe the file's dialect; the others (dtype, na_values, ...) are
# how pandas types the cells, which a text view leaves out.
_DIALECT_OPTIONS = ("sep", "delimiter", "quotechar", "escapechar", "doublequote", "encoding")
_AS_TEXT = {"dtype": str, "keep_default_na": False, "skip_blank_lines": False}


class CsvFormat(Format):
    name = "csv"
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
        settings = {"index": False, **options}
        buffer = io.StringIO()
        value.to_csv(buffer, **{key: v for key, v in settings.items() if key != "encoding"})
        dialect = {
            "sep": settings.get("sep", ","),
            "quotechar": settings.get("quotechar", '"'),
            "escapechar": settings.get("escapechar"),
            "doublequote": settings.get("doublequote", True),
        }
        return _text_table(io.StringIO(buffer.getvalue()), dialect)

    def read_text(self, location: Location, *, options: Mapping[str, Any]) -> TextTable:
        dialect = {key: options[key] for key in _DIALECT_OPTIONS if key in options}
        encoding = dialect.pop("encoding", "utf-8")
        with location.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            return _text_table(text, dialect)

    def load_option_names(self) -> frozenset[str]:
        return parameter_names(pd.read_csv, exclude={"filepath_or_buffer"})

    def save_option_names(self) -> frozenset[str]:
        return parameter_names(pd.DataFrame.to_csv, exclude={"path_or_buf"})


def _text_table(handle: Any, dialect: Mapping[str, Any]) -> TextTable:
    """Every record one row of str cells, and the header row verbatim (pandas renames
    repeated labels)."""
    delimiter = dialect.get("delimiter") or dialect.get("sep") or ","
    header = next(
        csv.reader(
            handle,
            delimiter=delimiter,
            quotechar=dialect.get("quotechar") or '"',
            escapechar=dialect.get("escapechar"),
            doublequote=dialect.get("doublequote", True),
        ),
        [],
    )
    if not header:
        return pd.DataFrame(), []  # an empty file: frictionless's "source is empty"
    handle.seek(0)
    frame = pd.read_csv(handle, **{**dialect, **_AS_TEXT})
    return frame, header
