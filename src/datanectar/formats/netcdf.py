"""NetCDF-4 through xarray and h5netcdf."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

from ..stores import Location
from .xarray_base import XarrayFormat

_ENGINE = "h5netcdf"
_SAVE_OPTIONS = frozenset({"encoding", "unlimited_dims", "format", "invalid_netcdf", "compute"})
_LOAD_OPTIONS = frozenset(
    {
        "chunks",
        "decode_times",
        "decode_cf",
        "mask_and_scale",
        "drop_variables",
        "use_cftime",
        "decode_timedelta",
        "cache",
        "group",
    }
)


class NetcdfFormat(XarrayFormat):
    name = "netcdf"
    suffix = ".nc"
    engine_module = _ENGINE

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        dataset = self.as_dataset(value)
        if location.store.is_local:
            dataset.to_netcdf(location.path, engine=_ENGINE, **options)
            return
        # HDF5 needs a seekable local file; write one, then upload it whole.
        with tempfile.TemporaryDirectory() as scratch:
            local = os.path.join(scratch, location.name)
            dataset.to_netcdf(local, engine=_ENGINE, **options)
            location.fs.put_file(local, location.path)

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        source = location.path if location.store.is_local else location.open("rb")
        dataset = self._xr.open_dataset(source, engine=_ENGINE, **options)
        return self.from_dataset(dataset, as_type)

    def load_option_names(self) -> frozenset[str]:
        return _LOAD_OPTIONS

    def save_option_names(self) -> frozenset[str]:
        return _SAVE_OPTIONS
