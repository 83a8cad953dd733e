"""CSV through pandas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..stores import Location
from .base import Format, parameter_names


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

    def load_option_names(self) -> frozenset[str]:
        return parameter_names(pd.read_csv, exclude={"filepath_or_buffer"})

    def save_option_names(self) -> frozenset[str]:
        return parameter_names(pd.DataFrame.to_csv, exclude={"path_or_buf"})
