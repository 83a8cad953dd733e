"""Zarr through xarray: dask-backed values are written chunk by chunk and read back lazily."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..stores import Location
from .xarray_base import XarrayFormat

if TYPE_CHECKING:
    from ..targets import Slice

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


TIME = "time"
"""The dimension time partitions are regions of."""
_TIME_INDEX_CHUNK = 1 << 16
_TIME_ENCODING = {
    "chunks": (_TIME_INDEX_CHUNK,),
    "units": "microseconds since 1970-01-01",
    "dtype": "int64",
}
_CF_STEPS = {
    "days": "D",
    "hours": "h",
    "minutes": "min",
    "seconds": "s",
    "milliseconds": "ms",
    "microseconds": "us",
    "nanoseconds": "ns",
}


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

    def keeps_partitions_in_place(self, dimensions: Sequence[Any], path: str) -> bool:
        # One time dimension and no `{date}` in the path: every period is a region of one store.
        return len(dimensions) == 1 and dimensions[0].is_time and "{" not in path

    def write_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> None:
        """Write one period into the shared store: append it after the stored times, or rewrite
        its region in place when those times are stored already. Only that region's chunks are
        written; the rest of the store is neither read nor rewritten."""
        partition = part.keys
        dataset = _uniform_chunks(self.as_dataset(value))
        if TIME not in dataset.dims:
            raise ValueError(f"a time partition of a zarr store needs a '{TIME}' dimension")
        if not location.exists():
            # The time index in large chunks: appended periods would otherwise leave one tiny
            # chunk each, and every open would read all of them to build the index. Its units
            # are fixed to microseconds: xarray picks them from the first period's times (days
            # for a single hour), and then writes a later period's times in other units into
            # the same array, shifting them.
            given = dict(options.get("encoding", {}))
            time_encoding = {**_TIME_ENCODING, **given.pop(TIME, {})}
            encoding = {TIME: time_encoding, **given}
            self.write(dataset, location, options={**options, "encoding": encoding})
            return
        import numpy as np

        stored = self._open_lazily(location)
        stored_times = stored[TIME].values
        new_times = dataset[TIME].values
        _check_representable(new_times, stored[TIME].encoding.get("units"), partition)
        start = int(np.searchsorted(stored_times, new_times[0]))
        region = slice(start, start + len(new_times))
        if np.array_equal(stored_times[region], new_times):
            # An explicit region: xarray need not open the store again to find it.
            outside = [
                name for name, variable in dataset.variables.items() if TIME not in variable.dims
            ]
            dataset.drop_vars(outside).to_zarr(
                location.uri,
                region={TIME: region},
                mode="r+",
                storage_options=location.storage_options or None,
            )
        elif new_times.min() > stored_times.max():
            dataset.to_zarr(
                location.uri,
                append_dim=TIME,
                consolidated=True,
                storage_options=location.storage_options or None,
            )
        else:
            raise ValueError(
                f"namespace {dict(partition)}: its times overlap or precede the stored ones "
                f"({stored_times.min()} .. {stored_times.max()}) without matching them; time "
                "partitions of one zarr store are appended in order or rewritten whole"
            )

    def read_partition(
        self, location: Location, part: Slice, *, options: Mapping[str, Any], as_type: Any
    ) -> Any:
        window = part.window
        return self.from_dataset(
            _in_window(self._open_lazily(location, **options), window), as_type
        )

    def remove_partition(self, location: Location, part: Slice) -> None:
        if self.exists(location) and self.partition_exists(location, part):
            # A region of a zarr array cannot be taken out without rewriting every later one.
            raise ValueError(
                f"namespace {dict(part.keys)} is a period of one zarr store and cannot be "
                "removed on its own; remove the whole entry, or put the dimension in its path as "
                "a placeholder so that each period is a store of its own"
            )

    def partition_fingerprint(self, location: Location, part: Slice) -> str | None:
        # A period's chunks carry no cheap token of their own: the store's stands for all.
        return self.fingerprint(location) if self.exists(location) else None

    def partition_exists(self, location: Location, part: Slice) -> bool:
        window = part.window
        dataset = self._open_lazily(location)
        return TIME in dataset.dims and _in_window(dataset, window).sizes[TIME] > 0

    def _open_lazily(self, location: Location, **options: Any) -> Any:
        """Open without dask: a graph over every chunk costs in proportion to the whole store,
        while indexing one period reads only that period's chunks."""
        return self._xr.open_zarr(
            location.uri,
            storage_options=location.storage_options or None,
            **{"chunks": None, **options},
        )

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


def _check_representable(times: Any, units: str | None, partition: Mapping[str, str]) -> None:
    """Refuse a period whose times the store's time units cannot hold exactly: xarray would
    write them in other units into the same array, and they would read back shifted."""
    import pandas as pd

    step_name, _, reference = (units or "").partition(" since ")
    step = _CF_STEPS.get(step_name.strip())
    if step is None or not reference or not len(times):
        return
    offsets = pd.DatetimeIndex(times) - pd.Timestamp(reference.strip())
    if (offsets % pd.Timedelta(1, unit=step) != pd.Timedelta(0)).any():
        raise ValueError(
            f"namespace {dict(partition)}: its times are not whole {step_name} since "
            f"{reference}, the units the store's time coordinate was written in. Fix: remove "
            "the store and write it again (new stores keep times in microseconds), or give "
            "times the store can hold."
        )


def _in_window(dataset: Any, window: tuple[str, str] | None) -> Any:
    import numpy as np

    if window is None:
        raise ValueError("a time partition needs its time window")
    start, end = (np.datetime64(bound) for bound in window)
    times = dataset[TIME].values
    return dataset.isel({TIME: np.flatnonzero((times >= start) & (times < end))})
