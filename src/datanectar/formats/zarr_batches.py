"""Several periods of one zarr store written by one run (a single-run backfill), together.

Zarr has no transaction: a period is written in place, into its region. So that one run's
periods are published together or not at all as far as the store allows, every period is
checked (its times on the store's grid, its variables the store's, and the same as the run's
other periods) and written to a staged store of its own, beside the store, before any region
is written: computing a dask-backed value, where most failures happen, touches nothing. Only
then are the regions written, from the staged copies; when the run created the store and that
still fails, the store goes (nothing was there before it). A region write failing into a store
that was there (the disk, say) leaves its period recorded as unfinished (it reads as missing,
naming it), the run's earlier periods written: the error says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..stores import Location
    from ..targets import Slice
    from .zarr import ZarrFormat


@dataclass
class StagedPeriod:
    """One period, checked and written to a staged store, waiting for `commit_periods`."""

    staged: Location
    part: Slice
    options: Mapping[str, Any]
    dataset: Any
    """The staged copy, opened lazily."""
    bytes_written = None

    def commit(self) -> None:
        raise NotImplementedError("committed by ZarrFormat.commit_partitions")

    def discard(self) -> None:
        self.dataset = None
        self.staged.store.remove(self.staged)


def stage_period(
    fmt: ZarrFormat, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
) -> StagedPeriod:
    import xarray as xr

    dataset, times = fmt.period_dataset(value, part)
    fmt.check_period(dataset, times, location, part)
    staged = location.staging()
    location.store.prepare(staged)
    try:
        for variable in dataset.variables.values():
            variable.encoding = {}
        where = {"storage_options": staged.storage_options or None, "consolidated": False}
        dataset.to_zarr(staged.uri, mode="w", **where)
        copy = xr.open_zarr(staged.uri, **where)
        for variable in copy.variables.values():  # the store's encoding applies, not the copy's
            variable.encoding = {}
    except BaseException:
        staged.store.remove(staged)
        raise
    return StagedPeriod(staged, part, options, copy)


def commit_periods(fmt: ZarrFormat, location: Location, pending: Sequence[Any]) -> None:
    from .zarr import check_same_variables

    staged = list(pending)
    for period in staged[1:]:  # the run's periods alike, whether or not a store is there
        check_same_variables(period.dataset, staged[0].dataset, period.part)
    existed = location.exists()
    try:
        for period in staged:
            fmt.write_partition(period.dataset, location, period.part, options=period.options)
    except BaseException:
        if not existed and location.exists():
            fmt.remove(location)
        raise
    finally:
        for period in staged:
            period.discard()
