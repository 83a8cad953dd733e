"""One public IO manager per built-in format, for any Dagster asset.

```python
defs = dg.Definitions(
    assets=[observations, grid],
    resources={
        "delta": datanectar.DeltaIOManager(root="data/lake"),
        "zarr": datanectar.ZarrIOManager(root="data/grids", save_options={"zarr_format": 3}),
    },
)
```

Each is `FormatIOManager` with its format fixed; `FormatIOManager(format=NAME, ...)` serves a
plug-in's format the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..stores import Store
from .io_manager import FormatIOManager


class CsvIOManager(FormatIOManager):
    """pandas DataFrames as csv files (`to_csv` / `read_csv`); an index that holds data is
    refused unless the save option `index` says what to do with it."""

    format: Literal["csv"] = Field(default="csv", description="Fixed: csv.")


class ParquetIOManager(FormatIOManager):
    """pandas DataFrames and Arrow tables as parquet files, through pyarrow."""

    format: Literal["parquet"] = Field(default="parquet", description="Fixed: parquet.")


class DeltaIOManager(FormatIOManager):
    """DataFrames and Arrow tables as Delta tables, through deltalake; a partitioned asset's
    partitions are one table, the key in the column its `partition_expr` metadata names, one
    partition replaced per run."""

    format: Literal["delta"] = Field(default="delta", description="Fixed: delta.")


class ZarrIOManager(FormatIOManager):
    """xarray Datasets and DataArrays as zarr stores (dask-backed values written chunk by
    chunk); a partitioned asset's partitions are one store each."""

    format: Literal["zarr"] = Field(default="zarr", description="Fixed: zarr.")


class NetcdfIOManager(FormatIOManager):
    """xarray Datasets and DataArrays as netCDF files."""

    format: Literal["netcdf"] = Field(default="netcdf", description="Fixed: netcdf.")


class PickleIOManager(FormatIOManager):
    """Any picklable Python object."""

    format: Literal["pickle"] = Field(default="pickle", description="Fixed: pickle.")


class JsonIOManager(FormatIOManager):
    """JSON documents: dicts, lists and scalars."""

    format: Literal["json"] = Field(default="json", description="Fixed: json.")


class SqlIOManager(FormatIOManager):
    """DataFrames as tables of a SQL database, each write one transaction. With `root`, the
    database is `datanectar.sqlite` in that folder; with `store`, the store's database (a
    `type = "sql"` store names its URL by an environment variable, so no secret stands in
    code). The table is the asset key joined by `__`, or the `datanectar/path` metadata
    (`schema.table`)."""

    format: Literal["sql"] = Field(default="sql", description="Fixed: sql.")
    url_env: str | None = Field(
        default=None,
        description="An environment variable holding the SQLAlchemy URL of the database "
        "(instead of root or store), as a sql store's url_env: the URL, which may hold a "
        "password, never stands in code or in logs.",
    )

    def _own_store(self) -> Store | None:
        if self.url_env is None:
            return super()._own_store()
        if self.root is not None:
            raise self._config_error(
                "both root and url_env are given", "give one: root (a folder) or url_env"
            )
        from ..stores.sql import SqlStore, SqlStoreConfig

        return SqlStore("database", SqlStoreConfig(url_env=self.url_env), project_root=Path.cwd())


FORMAT_IO_MANAGERS: dict[str, type[FormatIOManager]] = {
    "csv": CsvIOManager,
    "parquet": ParquetIOManager,
    "delta": DeltaIOManager,
    "zarr": ZarrIOManager,
    "netcdf": NetcdfIOManager,
    "pickle": PickleIOManager,
    "json": JsonIOManager,
    "sql": SqlIOManager,
}


def io_manager_for(format_name: str, **config: object) -> FormatIOManager:
    """The IO manager of a format: its own class for a built-in one, FormatIOManager for a
    plug-in's."""
    cls = FORMAT_IO_MANAGERS.get(format_name)
    if cls is not None:
        return cls(**config)  # type: ignore[arg-type]
    return FormatIOManager(format=format_name, **config)  # type: ignore[arg-type]
