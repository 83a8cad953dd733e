"""Zarr through xarray: dask-backed values are written chunk by chunk and read back lazily."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..stores import Location
from .base import Absent, Refused, Unfinished
from .object_locks import one_writer
from .xarray_base import XarrayFormat
from .zarr_batches import StagedPeriod, commit_periods, stage_period
from .zarr_periods import RECORD, TIME, Axis, in_utc, utc_window

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
    one_object = False
    engine_module = "zarr"
    reports_absence = True

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        dataset = _uniform_chunks(self.as_dataset(value))
        dataset.to_zarr(
            location.uri,
            mode="w",
            storage_options=location.storage_options or None,
            **{**_DEFAULT_SAVE, **options},
        )

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        if not location.exists():
            raise Absent(location.uri)
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
        """Write one period into its region of the shared store (see `zarr_periods`): the
        axis is extended first when the region lies past its end (metadata and the time
        coordinate only), then only that region's chunks are written; the period is marked
        as being written before and complete after."""
        with one_writer(location):
            self._write_period(value, location, part, options=options)

    def _write_period(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> None:
        dataset, times = self.period_dataset(value, part)
        if not location.exists():
            axis = Axis.for_first(times, part)
            region = axis.region(part)
            axis.check_fits(times, region, part)
            begun = axis.begun(part)
            self._create(dataset, location, axis, region, part, options=options)
        else:
            stored = self._open_lazily(location)
            _check_representable(times, stored[TIME].encoding.get("units"), part.keys)
            axis = Axis.from_attrs(stored.attrs)
            if axis is None:
                raise Refused(
                    f"namespace {dict(part.keys)}: the store holds no record of its periods "
                    f"(attribute '{RECORD}': it was written by another tool, or by an earlier "
                    "datanectar that appended periods in order), so no period can be placed in "
                    "it safely. Fix: remove the store and materialize its periods again."
                )
            region = axis.region(part)
            axis.check_fits(times, region, part)
            check_same_variables(dataset, stored, part)
            begun = axis.begun(part)
            self._record(location, begun, options)
            if region.stop > stored.sizes[TIME]:
                slots = range(stored.sizes[TIME], region.stop)
                self._extend(dataset, location, axis, slots, part, attrs=stored.attrs)
        self._write_region(dataset, location, region, with_times=axis.layout == "period")
        self._record(location, begun.finished(part), options)

    def period_dataset(self, value: Any, part: Slice) -> tuple[Any, Any]:
        """A period's value as the Dataset its region gets, and its times (UTC)."""
        dataset = _uniform_chunks(self.as_dataset(value))
        if TIME not in dataset.dims:
            raise ValueError(f"a time partition of a zarr store needs a '{TIME}' dimension")
        dataset = in_utc(dataset, part)
        times = dataset.indexes[TIME].values.astype("datetime64[us]")
        return dataset.assign_coords({TIME: times}), times

    def check_period(self, dataset: Any, times: Any, location: Location, part: Slice) -> None:
        """What `write_partition` would refuse of a period, found before anything is written:
        times off its region of the store's grid, variables other than the store's."""
        if not location.exists():
            return
        stored = self._open_lazily(location)
        axis = Axis.from_attrs(stored.attrs)
        if axis is not None:
            axis.check_fits(times, axis.region(part), part)
        check_same_variables(dataset, stored, part)

    commits_together = False
    """Its periods are written region by region (see `zarr_batches`)."""

    def stage_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> StagedPeriod:
        return stage_period(self, value, location, part, options=options)

    def commit_partitions(self, location: Location, pending: Sequence[Any]) -> None:
        commit_periods(self, location, pending)

    def _create(
        self,
        dataset: Any,
        location: Location,
        axis: Axis,
        region: slice,
        part: Slice,
        *,
        options: Mapping[str, Any],
    ) -> None:
        """A new store whose axis runs from the dimension's first period to this one's end:
        its metadata and coordinates only (no data chunk is written for other periods)."""
        # The time index in large chunks: periods would otherwise leave one tiny chunk each,
        # and every open would read all of them to build the index. Its units are fixed to
        # microseconds: xarray would pick them from the first period's times (days for a
        # single hour), and then write a later period's times in other units into the array.
        given = dict(options.get("encoding", {}))
        encoding = {TIME: {**_TIME_ENCODING, **given.pop(TIME, {})}, **given}
        chunk = _time_chunk(dataset)
        template = _template(dataset, axis.times(range(0, region.stop), part), chunk)
        template.attrs = {**dataset.attrs, **axis.begun(part).attrs()}
        template.to_zarr(  # the data is written region by region, never from the template
            location.uri,
            mode="w",
            storage_options=location.storage_options or None,
            **{**_DEFAULT_SAVE, **options, "encoding": encoding, "compute": False},
        )

    def _extend(
        self,
        dataset: Any,
        location: Location,
        axis: Axis,
        slots: range,
        part: Slice,
        *,
        attrs: Mapping[str, Any],
    ) -> None:
        """Lengthen the time axis to the period's end: the arrays' shapes and the new times
        are written; the new slots' data chunks stay unwritten (they read as fill values)."""
        template = _template(
            dataset.drop_vars(_outside(dataset)), axis.times(slots, part), _time_chunk(dataset)
        )
        template.attrs = {**attrs, **axis.begun(part).attrs()}  # an append replaces them
        for variable in template.variables.values():
            variable.encoding = {}
        template.to_zarr(
            location.uri,
            append_dim=TIME,
            compute=False,
            safe_chunks=False,  # never computed: its chunks are not written
            storage_options=location.storage_options or None,
        )

    def _write_region(
        self, dataset: Any, location: Location, region: slice, *, with_times: bool
    ) -> None:
        """The period's variables into its region (an explicit one: xarray need not read the
        time index to find it); `with_times`: its times too (xarray leaves an index out of a
        region write, so they go as a coordinate without one), where the grid does not fix
        them already."""
        lazy = any(variable.chunks is not None for variable in dataset.variables.values())
        period = dataset.drop_vars(_outside(dataset))
        if with_times:
            times = self._xr.Variable(TIME, dataset[TIME].values)
            period = period.drop_vars(TIME).assign_coords(
                self._xr.Coordinates({TIME: times}, indexes={})
            )
        period.to_zarr(
            location.uri,
            region={TIME: region},
            mode="r+",
            align_chunks=lazy,  # dask chunks cut where the store's chunks are
            storage_options=location.storage_options or None,
        )

    @staticmethod
    def _record(location: Location, axis: Axis, options: Mapping[str, Any]) -> None:
        """Replace the store's record of its periods (its attributes, then the consolidated
        metadata readers open: each one object written whole)."""
        import zarr

        group = zarr.open_group(
            location.uri, mode="r+", storage_options=location.storage_options or None
        )
        group.attrs.update(axis.attrs())
        if options.get("consolidated", _DEFAULT_SAVE["consolidated"]):
            zarr.consolidate_metadata(group.store)

    def read_partition(
        self, location: Location, part: Slice, *, options: Mapping[str, Any], as_type: Any
    ) -> Any:
        if not location.exists():
            raise Absent(location.uri)
        dataset = self._open_lazily(location, **options)
        axis = Axis.from_attrs(dataset.attrs)
        if axis is None:  # a store of another tool: the times in the window
            return self.from_dataset(_in_window(dataset, part), as_type)
        state = axis.state(part)
        if state == "writing":
            raise Unfinished(
                f"the write of namespace {dict(part.keys)} began and did not finish (its "
                "process was killed, or the write failed), so its region may hold part of it"
            )
        if state == "missing":
            raise Absent(f"{location.uri} {dict(part.keys)}")
        period = dataset.isel({TIME: axis.region(part)})
        period.attrs = {name: v for name, v in period.attrs.items() if name != RECORD}
        return self.from_dataset(period, as_type)

    def remove_partition(self, location: Location, part: Slice) -> None:
        """Drop the period from the store's record: it reads as missing from then on (its
        chunks stay until the period is written again)."""
        if not self.exists(location):
            return
        with one_writer(location):
            self._remove_period(location, part)

    def _remove_period(self, location: Location, part: Slice) -> None:
        axis = Axis.from_attrs(self._open_lazily(location).attrs)
        if axis is None:
            if self.partition_exists(location, part):
                raise ValueError(
                    f"namespace {dict(part.keys)} is a period of a zarr store that holds no "
                    f"record of its periods (attribute '{RECORD}') and cannot be removed on its "
                    "own; remove the whole entry"
                )
            return
        self._record(location, axis.removed(part), {})

    def partition_fingerprint(self, location: Location, part: Slice) -> str | None:
        # A period's chunks carry no cheap token of their own: the store's stands for all.
        return self.fingerprint(location) if self.exists(location) else None

    def partition_exists(self, location: Location, part: Slice) -> bool:
        dataset = self._open_lazily(location)
        axis = Axis.from_attrs(dataset.attrs)
        if axis is None:
            return TIME in dataset.dims and _in_window(dataset, part).sizes[TIME] > 0
        return axis.state(part) == "complete"

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


def _in_window(dataset: Any, part: Slice) -> Any:
    import numpy as np

    start, end = utc_window(part)
    times = dataset[TIME].values
    return dataset.isel({TIME: np.flatnonzero((times >= start) & (times < end))})


def _outside(dataset: Any) -> list[str]:
    """The variables without a time dimension: written with the store, not with a period."""
    return [name for name, variable in dataset.variables.items() if TIME not in variable.dims]


def _time_chunk(dataset: Any) -> int:
    """A period's chunk along time: its dask chunk, else the whole period."""
    for variable in dataset.variables.values():
        if variable.chunks is not None and TIME in variable.dims:
            return int(variable.chunks[variable.dims.index(TIME)][0])
    return int(dataset.sizes[TIME])


def _template(dataset: Any, times: Any, chunk: int) -> Any:
    """`dataset` on the slots `times`: the time coordinate in memory (written), every other
    variable along time lazy and never computed (written as metadata only); the variables
    without time as they are (in memory, so that the store's creation writes them)."""
    import dask.array as da
    import xarray as xr

    variables = {}
    for name, variable in dataset.variables.items():
        if name == TIME:
            continue
        if TIME not in variable.dims:
            variables[name] = variable.load()
            continue
        shape = tuple(
            len(times) if dim == TIME else size
            for dim, size in zip(variable.dims, variable.shape, strict=True)
        )
        chunks = tuple(
            chunk if dim == TIME else (variable.chunks[axis][0] if variable.chunks else size)
            for axis, (dim, size) in enumerate(zip(variable.dims, variable.shape, strict=True))
        )
        lazy = da.zeros(shape, dtype=variable.dtype, chunks=chunks)
        variables[name] = xr.Variable(
            variable.dims, lazy, attrs=variable.attrs, encoding=variable.encoding
        )
    coords = [name for name in dataset.coords if name != TIME]
    template = xr.Dataset(variables).set_coords([name for name in coords if name in variables])
    return template.assign_coords({TIME: (TIME, times, dataset[TIME].attrs)})


def check_same_variables(dataset: Any, stored: Any, part: Slice) -> None:
    """Refuse a period whose variables, their dimensions and types, or the coordinates of its
    other dimensions differ from the store's: its region would mix them with other runs'."""
    import numpy as np

    new, old = set(dataset.data_vars), set(stored.data_vars)
    problems = []
    if new != old:
        if old - new:
            problems.append(f"it lacks {', '.join(sorted(old - new))}")
        if new - old:
            problems.append(f"the store has no {', '.join(sorted(new - old))}")
    for name in sorted(new & old):
        ours, theirs = dataset[name], stored[name]
        if ours.dims != theirs.dims:
            problems.append(f"{name} is along {ours.dims}, the store's along {theirs.dims}")
        elif not np.can_cast(ours.dtype, theirs.dtype, casting="safe"):
            problems.append(f"{name} is {ours.dtype}, the store's {theirs.dtype}")
    for dim in sorted(set(dataset.dims) - {TIME}):
        if dim in stored.indexes and dim in dataset.indexes:
            if not stored.indexes[dim].equals(dataset.indexes[dim]):
                problems.append(f"its '{dim}' coordinate differs from the store's")
        elif dataset.sizes[dim] != stored.sizes.get(dim):
            problems.append(
                f"its '{dim}' has {dataset.sizes[dim]} values, the store's "
                f"{stored.sizes.get(dim, 'none')}"
            )
    if problems:
        raise Refused(
            f"namespace {dict(part.keys)}: its variables differ from the zarr store's "
            f"({'; '.join(problems)}); every period of one store holds the same variables "
            f"(store: {', '.join(sorted(old)) or 'none'}; value: {', '.join(sorted(new)) or 'none'}). "
            "Fix: give the value the store's variables, or remove the store to write "
            "new ones (every period is then written again), or put the dimension in the path "
            "(`grid/{date}.zarr`) to keep each period as a store of its own."
        )
