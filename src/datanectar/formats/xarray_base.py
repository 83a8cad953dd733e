"""What the xarray formats (zarr, netcdf) share: the types they write, and how a DataArray is
stored as a one-variable Dataset and given back as a DataArray."""

from __future__ import annotations

from typing import Any

from .base import Format, require, wants

DATAARRAY_NAME = "__xarray_dataarray_variable__"
_DATAARRAY_ATTR = "datanectar_dataarray"
# Chunk and codec encodings copied from a dataset that was itself read from a file would pin
# the old layout onto the new one and can contradict the dask chunks; let them be chosen anew.
_LAYOUT_ENCODINGS = ("chunks", "preferred_chunks", "compressor", "compressors", "filters", "shards")


class XarrayFormat(Format):
    data_kind = "grid"
    writes = ("xarray.Dataset", "xarray.DataArray")
    extra = "xarray"
    engine_module: str

    def __init__(self) -> None:
        self._xr = require("xarray", extra=self.extra, purpose=f"The {self.name} format")
        require(self.engine_module, extra=self.extra, purpose=f"The {self.name} format")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self._xr.Dataset | self._xr.DataArray)

    def as_dataset(self, value: Any) -> Any:
        """The Dataset to write: a DataArray becomes one variable, remembered in an attribute."""
        xr = self._xr
        is_array = isinstance(value, xr.DataArray)
        dataset = value.to_dataset(name=value.name or DATAARRAY_NAME) if is_array else value
        dataset = dataset.copy(deep=False)
        for variable in dataset.variables.values():
            variable.encoding = {
                key: setting
                for key, setting in variable.encoding.items()
                if key not in _LAYOUT_ENCODINGS
            }
        if is_array:
            dataset.attrs = {**dataset.attrs, _DATAARRAY_ATTR: value.name or DATAARRAY_NAME}
        return dataset

    @staticmethod
    def from_dataset(dataset: Any, as_type: Any) -> Any:
        """Give back a DataArray when one was written, or when the caller asks for one."""
        name = dataset.attrs.get(_DATAARRAY_ATTR)
        if name is None and wants(as_type, "xarray.DataArray") and len(dataset.data_vars) == 1:
            name = next(iter(dataset.data_vars))
        if name is None or wants(as_type, "xarray.Dataset"):
            return dataset
        array = dataset[name]
        array.attrs = {k: v for k, v in array.attrs.items() if k != _DATAARRAY_ATTR}
        return array.rename(None) if name == DATAARRAY_NAME else array
