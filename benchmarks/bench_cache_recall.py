"""Recall overhead: a stored cached result recalled by a plain call, against reading it directly.

A 1M-row DataFrame (id int64, value float64, category str, timestamp) is the result of two
cached functions on a local store, one with `format="parquet"` and one with `format="delta"`.
After the first call stored it, two sides are timed in the same process:

* recall: `f()`, which finds the stored result (local cache level, then root store), reads its
  record, checks that it is fresh, and loads it;
* direct: reading the same stored object with the library, as datanectar's formats do:
  `pq.read_table(path).to_pandas()` and `deltalake.DeltaTable(path).to_pyarrow_table().to_pandas()`.

Runs are interleaved (the side going first alternates) after one untimed warm-up of each; the
table shows medians, the ratio recall / direct and the absolute overhead (target: recall <=
1.05 x direct + 5 ms). It also times `datanectar.cache.keys.cache_key` for a call with 20 scalar
cache arguments (target < 1 ms) and the fixed cost of recalling a tiny result.

    python benchmarks/bench_cache_recall.py            # 1M rows, 25 runs per side
    python benchmarks/bench_cache_recall.py --quick    # 20k rows, a smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import shutil
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import deltalake
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import datanectar
from datanectar.cache.keys import cache_key
from throwaway import make_project

TARGET_RATIO = 1.05
TARGET_EXTRA_MS = 5.0
TARGET_KEY_US = 1000.0


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


@dataclass
class Case:
    format: str
    function: Any
    """The cached function (no arguments) whose stored result is recalled."""
    direct: Callable[[], pd.DataFrame]
    """Reads the same stored object with the storage library."""
    times: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "recall": []})

    def median_ms(self, side: str) -> float:
        return statistics.median(self.times[side]) * 1000

    def best_ms(self, side: str) -> float:
        return min(self.times[side]) * 1000


def timed(read: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = read()
    return time.perf_counter() - start, value


def check_same(value: pd.DataFrame, expected: pd.DataFrame, side: str) -> None:
    """A sanity check (not a timing assertion): both sides must read back the stored data."""
    if value.shape != expected.shape or not np.array_equal(
        value["value"].to_numpy(), expected["value"].to_numpy()
    ):
        raise RuntimeError(f"{side}: the data read back differs from what was stored")


def bench(case: Case, frame: pd.DataFrame, calls: list[str], repeats: int) -> None:
    case.function()  # computes and stores (untimed)
    if calls != [case.format]:
        raise RuntimeError(f"{case.format}: expected one computation, got {calls}")
    sides = {"direct": case.direct, "recall": case.function}
    for side, read in sides.items():  # warm-up: page cache, imports, first-use setup
        check_same(read(), frame, side)
    for repeat in range(repeats):
        order = ("direct", "recall") if repeat % 2 == 0 else ("recall", "direct")
        for side in order:
            seconds, value = timed(sides[side])
            del value
            case.times[side].append(seconds)
    if calls != [case.format]:
        raise RuntimeError(f"{case.format}: a recall ran the function body: {calls}")


def twenty_arguments() -> dict[str, Any]:
    return {
        **{f"int_{i}": i * 7 for i in range(5)},
        **{f"float_{i}": i / 3 for i in range(5)},
        **{f"str_{i}": f"value-{i}" for i in range(4)},
        "flag": True,
        "nothing": None,
        "day": dt.date(2024, 1, 31),
        "numpy_int": np.int64(12),
        "numpy_float": np.float32(0.25),
        "integral_float": 3.0,
    }


def time_cache_key() -> tuple[float, float]:
    """Microseconds per `cache_key` call for 20 scalar arguments: median and best of 7."""
    arguments = twenty_arguments()
    assert len(arguments) == 20
    number = 2000
    runs = timeit.repeat(
        lambda: cache_key("pipelines.rolling_means", arguments, None), number=number, repeat=7
    )
    per_call = [run / number * 1e6 for run in runs]
    return statistics.median(per_call), min(per_call)


def time_tiny_recall(tiny: Any) -> tuple[float, float]:
    """Milliseconds per recall of a tiny pickled result: the fixed cost of a recall."""
    tiny()  # stores
    number = 200
    runs = timeit.repeat(tiny, number=number, repeat=5)
    per_call = [run / number * 1000 for run in runs]
    return statistics.median(per_call), min(per_call)


def report(
    cases: list[Case],
    rows: int,
    repeats: int,
    key_us: tuple[float, float],
    tiny_ms: tuple[float, float],
) -> None:
    print()
    print(f"Recall overhead: {rows:,}-row DataFrame, median of {repeats} interleaved runs per side")
    header = (
        f"{'format':<8} {'direct ms':>10} {'recall ms':>10} {'ratio':>6} {'overhead ms':>12} "
        f"{'best ratio':>10} {'target':>7}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        direct, recall = case.median_ms("direct"), case.median_ms("recall")
        within = recall <= TARGET_RATIO * direct + TARGET_EXTRA_MS
        print(
            f"{case.format:<8} {direct:>10.1f} {recall:>10.1f} {recall / direct:>6.3f} "
            f"{recall - direct:>12.1f} {case.best_ms('recall') / case.best_ms('direct'):>10.3f} "
            f"{'met' if within else 'MISSED':>7}"
        )
    print(f"target: recall <= {TARGET_RATIO:.2f} x direct + {TARGET_EXTRA_MS:.0f} ms")
    print()
    print(
        f"cache_key, 20 scalar cache args: {key_us[0]:.1f} us per call (median; best "
        f"{key_us[1]:.1f} us); target < {TARGET_KEY_US:.0f} us: "
        f"{'met' if key_us[0] < TARGET_KEY_US else 'MISSED'}"
    )
    print(
        f"fixed cost of a recall (tiny pickled result): {tiny_ms[0]:.2f} ms per call (median; "
        f"best {tiny_ms[1]:.2f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per side")
    parser.add_argument("--formats", default="parquet,delta", help="comma-separated subset")
    args = parser.parse_args()
    rows, repeats = (20_000, 5) if args.quick else (1_000_000, 25)
    repeats = args.repeats or repeats

    # A plain call reports to a Dagster instance when DAGSTER_HOME is set; settings come from
    # the project alone.
    for variable in [name for name in os.environ if name.startswith("DATANECTAR_")]:
        del os.environ[variable]
    os.environ.pop("DAGSTER_HOME", None)

    root = Path(tempfile.mkdtemp(prefix="datanectar-bench-recall-"))
    try:
        project = make_project(root / "project")
        frame = make_frame(rows)
        calls: list[str] = []

        @datanectar.cache(version="1", format="parquet")
        def frame_parquet() -> pd.DataFrame:
            calls.append("parquet")
            return frame

        @datanectar.cache(version="1", format="delta")
        def frame_delta() -> pd.DataFrame:
            calls.append("delta")
            return frame

        @datanectar.cache(version="1", format="pickle")
        def tiny() -> dict:
            return {"answer": 42}

        parquet_path = str(project / "data" / "frame_parquet.parquet")
        delta_path = str(project / "data" / "frame_delta")
        cases = [
            Case("parquet", frame_parquet, lambda: pq.read_table(parquet_path).to_pandas()),
            Case(
                "delta",
                frame_delta,
                lambda: deltalake.DeltaTable(delta_path).to_pyarrow_table().to_pandas(),
            ),
        ]
        cases = [case for case in cases if case.format in args.formats.split(",")]
        catalog = datanectar.catalog(project, functions=[frame_parquet, frame_delta, tiny])
        with catalog.activate():
            for case in cases:
                print(f"{case.format}: {rows:,} rows, {repeats} runs per side ...", flush=True)
                calls.clear()
                bench(case, frame, calls, repeats)
            tiny_ms = time_tiny_recall(tiny)
        report(cases, rows, repeats, time_cache_key(), tiny_ms)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
