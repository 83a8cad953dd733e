"""Peak resident memory of writing a large dask-backed dataset to zarr, datanectar vs direct.

The dataset is random data generated lazily by dask (a float64 and a float32 variable on a
time x lat x lon grid, 64 MiB chunks), so a streaming write needs a few chunks in memory at a
time, never the whole dataset. Each write runs in its own child process, once through
`datanectar.catalog(project).save(name, ds)` (a zarr entry of a throwaway project) and once as
`ds.to_zarr(path, mode="w", zarr_format=2, consolidated=True)`. Peak RSS is the child's own
high-water mark (getrusage ru_maxrss), cross-checked by polling the child's RSS (with any
children of its own) with psutil. Both children import the same modules, so their baselines
match. The written data are deleted after each run.

    python benchmarks/bench_zarr_memory.py            # 4 GiB dataset (target: < 1 GB peak)
    python benchmarks/bench_zarr_memory.py --quick    # 400 MiB, a smoke run
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from throwaway import make_project

TARGET_PEAK_BYTES = 1_000_000_000
LAT, LON = 512, 1024
CHUNK_STEPS = 16  # 16 x 512 x 1024 float64 = 64 MiB per chunk (32 MiB for the float32 one)
BYTES_PER_STEP = LAT * LON * (8 + 4)
POLL_SECONDS = 0.02
MiB = 2**20

CATALOG = """\
grid:
  format: zarr
  path: grid.zarr
"""


def time_steps(size_bytes: int) -> int:
    """Time steps, a whole number of chunks, for about `size_bytes` of data."""
    return max(1, round(size_bytes / BYTES_PER_STEP / CHUNK_STEPS)) * CHUNK_STEPS


def lazy_dataset(steps: int):
    import dask.array as da
    import numpy as np
    import pandas as pd
    import xarray as xr

    rng = da.random.default_rng(42)
    shape, chunks = (steps, LAT, LON), (CHUNK_STEPS, LAT, LON)
    dims = ("time", "lat", "lon")
    return xr.Dataset(
        {
            "temperature": (
                dims,
                rng.random(shape, chunks=chunks, dtype="float64"),
                {"units": "K"},
            ),
            "humidity": (dims, rng.random(shape, chunks=chunks, dtype="float32"), {"units": "1"}),
        },
        coords={
            "time": pd.date_range("2020-01-01", periods=steps, freq="h"),
            "lat": np.linspace(-90, 90, LAT),
            "lon": np.linspace(-180, 180, LON, endpoint=False),
        },
    )


# -- the child: one write, then its own peak RSS as JSON on stdout ---------------------------


def child(side: str, project: Path, steps: int) -> None:
    # The same imports on both sides, so that the baselines are comparable.
    import dask  # noqa: F401
    import xarray  # noqa: F401
    import zarr  # noqa: F401

    import datanectar

    catalog = datanectar.catalog(project)
    dataset = lazy_dataset(steps)
    baseline = psutil.Process().memory_info().rss
    start = time.perf_counter()
    if side == "datanectar":
        catalog.save("grid", dataset)
    else:
        path = project / "data" / "direct" / "grid.zarr"
        path.parent.mkdir(parents=True, exist_ok=True)
        dataset.to_zarr(str(path), mode="w", zarr_format=2, consolidated=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"baseline": baseline, "peak": peak, "seconds": seconds}))


# -- the parent: runs the children side by side and polls their RSS ---------------------------


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def measure(side: str, project: Path, steps: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", side, "--project", str(project)]
    command += ["--steps", str(steps)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        watched = psutil.Process(proc.pid)
        polled = 0
        while proc.poll() is None:
            try:
                polled = max(polled, tree_rss(watched))
            except psutil.NoSuchProcess:
                break
            time.sleep(POLL_SECONDS)
        output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"the {side} write failed (exit {proc.returncode})")
    result = json.loads(output.strip().splitlines()[-1])
    result["polled"] = polled
    written = project / "data"
    result["written"] = sum(f.stat().st_size for f in written.rglob("*") if f.is_file())
    shutil.rmtree(written, ignore_errors=True)  # disk is limited: drop each write at once
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 MiB instead of 4 GiB")
    parser.add_argument("--child", choices=("direct", "datanectar"), help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.project, args.steps)
        return

    steps = time_steps((400 if args.quick else 4096) * MiB)
    size = steps * BYTES_PER_STEP
    print(
        f"dataset: time {steps} x lat {LAT} x lon {LON}, float64 + float32, "
        f"{size / 2**30:.2f} GiB in {CHUNK_STEPS * LAT * LON * 8 / MiB:.0f} MiB dask chunks",
        flush=True,
    )
    root = Path(tempfile.mkdtemp(prefix="datanectar-bench-zarr-"))
    results = {}
    try:
        project = make_project(root, CATALOG)
        for side in ("direct", "datanectar"):
            print(f"writing with {side} ...", flush=True)
            results[side] = measure(side, project, steps)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    header = (
        f"{'write':<11} {'seconds':>8} {'written MiB':>12} {'baseline MiB':>13} "
        f"{'peak RSS MiB':>13} {'polled MiB':>11} {'peak - baseline MiB':>20}"
    )
    print()
    print(header)
    print("-" * len(header))
    for side, r in results.items():
        print(
            f"{side:<11} {r['seconds']:>8.1f} {r['written'] / MiB:>12.0f} {r['baseline'] / MiB:>13.0f} "
            f"{r['peak'] / MiB:>13.0f} {r['polled'] / MiB:>11.0f} "
            f"{(r['peak'] - r['baseline']) / MiB:>20.0f}"
        )
    direct, ours = results["direct"], results["datanectar"]
    print(
        f"ratio datanectar / direct: peak RSS {ours['peak'] / direct['peak']:.2f}, "
        f"peak - baseline {(ours['peak'] - ours['baseline']) / (direct['peak'] - direct['baseline']):.2f}"
    )
    verdict = "met" if ours["peak"] < TARGET_PEAK_BYTES else "NOT met"
    print(
        f"target: datanectar peak RSS < {TARGET_PEAK_BYTES / 1e9:.0f} GB "
        f"({TARGET_PEAK_BYTES / MiB:.0f} MiB): {verdict}"
    )


if __name__ == "__main__":
    main()
