"""Zarr through xarray: dask-backed values are written chunk by chunk and read back lazily."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..stores import Location
from .base import Format, require, wants

# Written as zarr v2 with consolidated metadata: every zarr reader (zarr-python 2 and 3,
# xarray, other languages) opens it, and a remote open is one request, not one per array.
_DEFAULT_SAVE = {"zarr_format": 2, "consolidated": True}
_DATAARRAY_NAME = "__xarray_dataarray_variable__"
# Chunk and codec encodings copied from a dataset that was itself read from zarr would pin
# the old layout onto the new store and can contradict the dask chunks; let them be chosen anew.
_LAYOUT_ENCODINGS = ("chunks", "preferred_chunks", "compressor", "compressors", "filters", "shards")
_SAVE_OPTIONS = frozenset(
    {
        "zarr_format",
        "consolidated",
        "encoding",
        "compute",
        "safe_chunks",
        "write_empty_chunks",
        "align_chunks",
        "zarr_version",
    }
)
_LOAD_OPTIONS = frozenset(
    {
        "chunks",
        "consolidated",
        "decode_times",
        "decode_cf",
        "mask_and_scale",
        "drop_variables",
        "use_cftime",
        "decode_timedelta",
        "zarr_format",
    }
)


class ZarrFormat(Format):
    name = "zarr"
    suffix = ".zarr"
    writes = ("xarray.Dataset", "xarray.DataArray")
    extra = "xarray"

    def __init__(self) -> None:
        self._xr = require("xarray", extra=self.extra, purpose="The zarr format")
        require("zarr", extra=self.extra, purpose="The zarr format")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self._xr.Dataset | self._xr.DataArray)

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        dataset = _as_dataset(self._xr, value)
        dataset.to_zarr(
            location.uri,
            mode="w",
            storage_options=location.storage_options or None,
            **{**_DEFAULT_SAVE, **options},
        )

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        dataset = self._xr.open_zarr(
            location.uri, storage_options=location.storage_options or None, **options
        )
        return _from_dataset(dataset, as_type)

    def load_option_names(self) -> frozenset[str]:
        return _LOAD_OPTIONS

    def save_option_names(self) -> frozenset[str]:
        return _SAVE_OPTIONS


def _as_dataset(xr: Any, value: Any) -> Any:
    dataset = (
        value.to_dataset(name=value.name or _DATAARRAY_NAME)
        if isinstance(value, xr.DataArray)
        else value
    )
    dataset = dataset.copy(deep=False)
    for variable in dataset.variables.values():
        variable.encoding = {
            key: setting
            for key, setting in variable.encoding.items()
            if key not in _LAYOUT_ENCODINGS
        }
    if isinstance(value, xr.DataArray):
        dataset.attrs = {**dataset.attrs, "datanectar_dataarray": value.name or _DATAARRAY_NAME}
    return _uniform_chunks(dataset)


def _uniform_chunks(dataset: Any) -> Any:
    """Zarr chunks are one size per dimension (the last may be smaller); dask chunks from
    rolling, resampling or concatenation often are not. Rechunk those dimensions lazily to their
    largest chunk, so the write stays chunk by chunk instead of failing."""
    irregular = {}
    for variable in dataset.variables.values():
        if variable.chunks is None:  # in memory: zarr picks its own chunks
            continue
        for dim, sizes in zip(variable.dims, variable.chunks, strict=True):
            if len(sizes) > 1 and (len(set(sizes[:-1])) > 1 or sizes[-1] > sizes[0]):
                irregular[dim] = max(irregular.get(dim, 0), max(sizes))
    return dataset.chunk(irregular) if irregular else dataset


def _from_dataset(dataset: Any, as_type: Any) -> Any:
    """Give back a DataArray when one was written, or when the caller asks for one."""
    name = dataset.attrs.get("datanectar_dataarray")
    if name is None and wants(as_type, "xarray.DataArray") and len(dataset.data_vars) == 1:
        name = next(iter(dataset.data_vars))
    if name is None or wants(as_type, "xarray.Dataset"):
        return dataset
    array = dataset[name]
    array.attrs = {k: v for k, v in array.attrs.items() if k != "datanectar_dataarray"}
    return array.rename(None) if name == _DATAARRAY_NAME else array
