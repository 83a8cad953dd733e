"""IO-manager overhead: datanectar's IO managers against the storage libraries called directly.

For each format the same value is written and read back, in the same process, two ways:

* io manager: `FormatIOManager.handle_output` then `load_input`, driven with Dagster's
  `build_output_context` / `build_input_context` on a throwaway project;
* direct: the library call a user would write by hand (deltalake, pyarrow.parquet, xarray).

Both sides overwrite their previous value on every repetition and materialize what they read
(a lazy zarr dataset is `.load()`ed). Runs are interleaved (A, B, A, B, ...) after one untimed
warm-up of each; the table shows medians and the ratio io manager / direct (target <= 1.10).

    python benchmarks/bench_io_overhead.py            # 1M-row frames, ~200 MB grid
    python benchmarks/bench_io_overhead.py --quick    # small data, a smoke run
    python benchmarks/bench_io_overhead.py --any-asset  # DeltaIOManager(root=...) & co. on
                                                        # an asset no catalog declares
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import deltalake
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xarray as xr

import datanectar
from datanectar.assets import FormatIOManager
from datanectar.assets.metadata import definition_metadata
from throwaway import make_project

TARGET_RATIO = 1.10

CATALOG = """\
frame_delta:
  format: delta
  path: bench/frame_delta
frame_parquet:
  format: parquet
  path: bench/frame.parquet
grid_zarr:
  format: zarr
  path: bench/grid.zarr
"""


def make_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "value": rng.standard_normal(rows),
            "category": rng.choice(np.array(["alpha", "beta", "gamma", "delta", "epsilon"]), rows),
            "timestamp": pd.date_range("2020-01-01", periods=rows, freq="s", unit="us"),
        }
    )


def make_grid(time_steps: int, lat: int, lon: int) -> xr.Dataset:
    """Two numpy-backed float64 variables on a time x lat x lon grid."""
    rng = np.random.default_rng(1)
    shape = (time_steps, lat, lon)
    dims = ("time", "lat", "lon")
    return xr.Dataset(
        {
            "temperature": (dims, rng.standard_normal(shape), {"units": "K"}),
            "precipitation": (dims, rng.random(shape), {"units": "mm"}),
        },
        coords={
            "time": pd.date_range("2020-01-01", periods=time_steps, freq="h"),
            "lat": np.linspace(-90, 90, lat),
            "lon": np.linspace(-180, 180, lon, endpoint=False),
        },
    )


# -- the direct library calls ---------------------------------------------------------------


def delta_direct(value: pd.DataFrame, path: str) -> Callable[[], Any]:
    deltalake.write_deltalake(path, value, mode="overwrite")
    return lambda: deltalake.DeltaTable(path).to_pyarrow_table().to_pandas()


def parquet_direct(value: pd.DataFrame, path: str) -> Callable[[], Any]:
    pq.write_table(pa.Table.from_pandas(value), path)
    return lambda: pq.read_table(path).to_pandas()


def zarr_direct(value: xr.Dataset, path: str) -> Callable[[], Any]:
    value.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
    return lambda: xr.open_zarr(path).load()


def materialize(value: Any) -> Any:
    """Force a lazily read value into memory (a zarr dataset is dask-backed until loaded)."""
    return value.load() if isinstance(value, xr.Dataset | xr.DataArray) else value


# -- timing ---------------------------------------------------------------------------------


@dataclass
class Case:
    entry: str
    format: str
    value: Any
    direct: Callable[[Any, str], Callable[[], Any]]
    """Writes the value directly and returns the matching read."""
    direct_path: Path
    writes: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "io": []})
    reads: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "io": []})
    logged_metadata: list[str] = field(default_factory=list)

    def totals(self, how: str) -> list[float]:
        return [w + r for w, r in zip(self.writes[how], self.reads[how], strict=True)]

    @property
    def nbytes(self) -> int:
        if isinstance(self.value, pd.DataFrame):
            return int(self.value.memory_usage(index=False, deep=True).sum())
        return int(self.value.nbytes)

    @property
    def size_label(self) -> str:
        if isinstance(self.value, pd.DataFrame):
            return f"{len(self.value):,} rows, {self.nbytes / 1e6:.0f} MB"
        dims = " x ".join(str(n) for n in self.value.sizes.values())
        return f"{dims} x{len(self.value.data_vars)}, {self.nbytes / 1e6:.0f} MB"


def timed(write: Callable[[], Callable[[], Any]]) -> tuple[float, float, Any]:
    """Seconds to write, seconds to read back and materialize, and the value read."""
    os.sync()  # earlier runs' dirty pages are flushed now, not during this run
    gc.collect()
    start = time.perf_counter()
    read = write()
    written = time.perf_counter()
    loaded = materialize(read())
    done = time.perf_counter()
    return written - start, done - written, loaded


def run_direct(case: Case) -> tuple[float, float, Any]:
    return timed(lambda: case.direct(case.value, str(case.direct_path)))


def run_io_manager(
    case: Case, manager: FormatIOManager, metadata: dict, instance: dg.DagsterInstance
) -> tuple[float, float, Any]:
    # Contexts as a run gives them: with the definition metadata of datanectar's assets and a
    # Dagster instance (built outside the timed region).
    output_context = dg.build_output_context(
        asset_key=case.entry, definition_metadata=metadata, instance=instance
    )
    input_context = dg.build_input_context(
        asset_key=case.entry, upstream_output=output_context, instance=instance
    )

    def write() -> Callable[[], Any]:
        manager.handle_output(output_context, case.value)
        return lambda: manager.load_input(input_context)

    result = timed(write)
    # What Dagster would record on the materialization (add_output_metadata in handle_output).
    case.logged_metadata = sorted(output_context.get_logged_metadata())
    return result


def check_same(case: Case, loaded: Any, how: str) -> None:
    """A sanity check (not a timing assertion): both sides must round-trip the same data."""
    if isinstance(case.value, pd.DataFrame):
        same = loaded.shape == case.value.shape and np.array_equal(
            loaded["value"].to_numpy(), case.value["value"].to_numpy()
        )
    else:
        same = all(
            np.array_equal(loaded[name].values, case.value[name].values)
            for name in case.value.data_vars
        )
    if not same:
        raise RuntimeError(
            f"{case.entry} ({how}): the data read back differs from what was written"
        )


def bench(
    case: Case, project: Path, repeats: int, instance: dg.DagsterInstance, *, any_asset: bool
) -> None:
    if any_asset:  # a Dagster asset no catalog declares, under the IO manager's root
        metadata: dict = {}
        manager = FormatIOManager(format=case.format, root=str(project / "data" / "assets"))
    else:
        catalog = datanectar.catalog(project)
        metadata = definition_metadata(catalog.entry(case.entry))
        manager = FormatIOManager(format=case.format, project_dir=str(project))
    case.direct_path.parent.mkdir(parents=True, exist_ok=True)
    sides = {
        "direct": lambda: run_direct(case),
        "io": lambda: run_io_manager(case, manager, metadata, instance),
    }
    # Warm-up (untimed): imports, the IO manager's store setup, and a first value on disk, so
    # that every timed write is an overwrite on both sides.
    for how, run in sides.items():
        check_same(case, run()[2], how)
    print(f"  io manager output metadata: {', '.join(case.logged_metadata)}", flush=True)

    # Interleaved, and the side that goes first alternates (A B, B A, A B, ...), so neither
    # side always runs right after the other's write.
    for repeat in range(repeats):
        order = ("direct", "io") if repeat % 2 == 0 else ("io", "direct")
        for how in order:
            write_s, read_s, loaded = sides[how]()
            del loaded
            case.writes[how].append(write_s)
            case.reads[how].append(read_s)


def report(cases: list[Case], repeats: int) -> None:
    median = statistics.median
    print()
    print(f"IO-manager overhead: write then read back, median of {repeats} interleaved runs")
    header = (
        f"{'format':<8} {'size':<30} {'direct median s':>15} {'io manager median s':>19} "
        f"{'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        total = {how: median(case.totals(how)) for how in ("direct", "io")}
        print(
            f"{case.format:<8} {case.size_label:<30} {total['direct']:>15.3f} "
            f"{total['io']:>19.3f} {total['io'] / total['direct']:>6.2f}"
        )
    print(f"target: ratio <= {TARGET_RATIO:.2f}")

    print()
    print("Breakdown (medians, s; ratio = io manager / direct; best = ratio of the fastest runs)")
    header = (
        f"{'format':<8} {'write direct':>12} {'write io':>9} {'ratio':>6}   "
        f"{'read direct':>11} {'read io':>8} {'ratio':>6}   {'best':>5}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        write = {how: median(case.writes[how]) for how in ("direct", "io")}
        read = {how: median(case.reads[how]) for how in ("direct", "io")}
        best = min(case.totals("io")) / min(case.totals("direct"))
        print(
            f"{case.format:<8} {write['direct']:>12.3f} {write['io']:>9.3f} "
            f"{write['io'] / write['direct']:>6.2f}   {read['direct']:>11.3f} {read['io']:>8.3f} "
            f"{read['io'] / read['direct']:>6.2f}   {best:>5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per side")
    parser.add_argument(
        "--formats", default="delta,parquet,zarr", help="comma-separated subset to run"
    )
    parser.add_argument(
        "--any-asset",
        action="store_true",
        help="the IO managers on an asset no catalog declares (root=...), not catalog entries",
    )
    args = parser.parse_args()

    rows, grid, repeats = (
        (20_000, (24, 45, 90), 3) if args.quick else (1_000_000, (180, 180, 360), 25)
    )
    repeats = args.repeats or repeats

    root = Path(tempfile.mkdtemp(prefix="datanectar-bench-io-"))
    try:
        project = make_project(root, CATALOG)
        direct = project / "data" / "direct"
        frame = make_frame(rows)
        cases = [
            Case("frame_delta", "delta", frame, delta_direct, direct / "frame_delta"),
            Case("frame_parquet", "parquet", frame, parquet_direct, direct / "frame.parquet"),
            Case("grid_zarr", "zarr", make_grid(*grid), zarr_direct, direct / "grid.zarr"),
        ]
        cases = [case for case in cases if case.format in args.formats.split(",")]
        with dg.DagsterInstance.ephemeral() as instance:
            for case in cases:
                print(f"{case.format}: {case.size_label}, {repeats} runs per side ...", flush=True)
                bench(case, project, repeats, instance, any_asset=args.any_asset)
        report(cases, repeats)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
