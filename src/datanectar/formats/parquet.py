"""Parquet through pyarrow; loads as pandas, or as a pyarrow.Table when asked for one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..stores import Location
from .base import Absent, Format, parameter_names, wants


class ParquetFormat(Format):
    name = "parquet"
    data_kind = "table"
    suffix = ".parquet"
    writes = ("pandas.DataFrame", "pyarrow.Table")
    reports_absence = True

    def accepts(self, value: Any) -> bool:
        return isinstance(value, pd.DataFrame | pa.Table)

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        table = value if isinstance(value, pa.Table) else pa.Table.from_pandas(value)
        pq.write_table(
            table, location.path, filesystem=location.store.arrow_filesystem(), **options
        )

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        try:
            table = pq.read_table(
                location.path, filesystem=location.store.arrow_filesystem(), **options
            )
        except FileNotFoundError:
            # Looked for only now, when the read failed: a server answering 401 through
            # fsspec's HTTP reader also says "not found", and the store's look tells them apart.
            if not self.exists(location):
                raise Absent(location.uri) from None
            raise
        return table if wants(as_type, "pyarrow.Table") else table.to_pandas()

    def load_option_names(self) -> frozenset[str]:
        return parameter_names(pq.read_table, exclude={"source", "filesystem"})

    def save_option_names(self) -> frozenset[str]:
        return parameter_names(pq.write_table, exclude={"table", "where", "filesystem"})
