"""Several periods of one zarr store written by one run (a single-run backfill), together.

Zarr has no transaction: a period is written in place, into its region. So that one run's
periods are published together or not at all as far as the store allows, every period is
checked first (its times on the store's grid, its variables the store's, and the same as the
run's other periods) before any region is written; and when the run created the store and a
write still fails, the store goes (nothing was there before it). A write failing after the
checks, into a store that was there, leaves its period recorded as unfinished (it reads as
missing, naming it), the run's earlier periods written.
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
    """One period's value, checked, waiting for `commit_periods`."""

    value: Any
    part: Slice
    options: Mapping[str, Any]
    dataset: Any
    bytes_written = None

    def commit(self) -> None:
        raise NotImplementedError("committed by ZarrFormat.commit_partitions")

    def discard(self) -> None:
        self.value = self.dataset = None


def stage_period(
    fmt: ZarrFormat, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
) -> StagedPeriod:
    dataset, times = fmt.period_dataset(value, part)
    fmt.check_period(dataset, times, location, part)
    return StagedPeriod(value, part, options, dataset)


def commit_periods(fmt: ZarrFormat, location: Location, pending: Sequence[Any]) -> None:
    from .zarr import check_same_variables

    staged = list(pending)
    for period in staged[1:]:  # the run's periods alike, whether or not a store is there
        check_same_variables(period.dataset, staged[0].dataset, period.part)
    existed = location.exists()
    try:
        for period in staged:
            fmt.write_partition(period.value, location, period.part, options=period.options)
    except BaseException:
        if not existed and location.exists():
            fmt.remove(location)
        raise
