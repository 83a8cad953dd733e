"""Zarr through xarray: dask-backed values are written chunk by chunk and read back lazily."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..stores import Location
from .xarray_base import XarrayFormat

# Written as zarr v2 with consolidated metadata: every zarr reader (zarr-python 2 and 3,
# xarray, other languages) opens it, and a remote open is one request, not one per array.
_DEFAULT_SAVE = {"zarr_format": 2, "consolidated": True}
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


class ZarrFormat(XarrayFormat):
    name = "zarr"
    suffix = ".zarr"
    engine_module = "zarr"

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        dataset = _uniform_chunks(self.as_dataset(value))
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
        return self.from_dataset(dataset, as_type)

    def load_option_names(self) -> frozenset[str]:
        return _LOAD_OPTIONS

    def save_option_names(self) -> frozenset[str]:
        return _SAVE_OPTIONS


def _uniform_chunks(dataset: Any) -> Any:
    """Zarr chunks are one size per dimension (the last may be smaller); dask chunks from
    rolling, resampling or concatenation often are not. Rechunk those dimensions lazily to their
    largest chunk, so the write stays chunk by chunk instead of failing."""
    irregular: dict[str, int] = {}
    for variable in dataset.variables.values():
        if variable.chunks is None:  # in memory: zarr picks its own chunks
            continue
        for dim, sizes in zip(variable.dims, variable.chunks, strict=True):
            if len(sizes) > 1 and (len(set(sizes[:-1])) > 1 or sizes[-1] > sizes[0]):
                irregular[dim] = max(irregular.get(dim, 0), max(sizes))
    return dataset.chunk(irregular) if irregular else dataset
