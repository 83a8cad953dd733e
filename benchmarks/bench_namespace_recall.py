"""Namespace recall: one namespace of a Delta cached function whose table grew commit by commit.

A `@datanectar.cache(namespaces=keys, format="delta", version="1")` function returns a small
DataFrame (1,000 rows x 4 columns, deterministic per namespace). Its table is built as daily
partitions arrive in practice: one plain call `fn(namespace=key)` per namespace, in order, so
the table holds N partitions written by N commits. Two such functions of one throwaway project,
declaring the same namespaces `k000 ... k199`, are measured side by side:

* wide: called once for every namespace (N = 200 partitions, 200 commits);
* narrow: called once, for the namespace measured (`k100`): 1 partition, 1 commit.

Timed, in the same process:

1. recall: `fn(namespace="k100")`, whose body must not run (target: wide / narrow <= 1.2);
2. rewrite: `fn(namespace="k100", recompute=True, cache_mode="overwrite")`, which runs the body
   and replaces the partition with a predicate overwrite (target: wide / narrow <= 1.2);
3. direct: the same partition read with deltalake, as `formats/delta.py` reads it (open the
   table, select the partition's files, `to_pandas`, drop the partition column); target for
   the wide table: recall <= 1.05 x direct + 5 ms.

Runs are interleaved after one untimed warm-up of each side (which checks that every side reads
the same data), the side going first rotating; the tables show medians. The reads are timed
first, on the tables as built; each rewrite then adds one commit to its table. After the timing,
one extra untimed call of each kind counts how often it opens the Delta table (`DeltaTable(...)`)
and asks whether it exists (`DeltaTable.is_deltatable`).

deltalake writes a checkpoint every 100 commits, and opening a table reads the latest checkpoint
and then every commit file after it: at N = 200 the wide table has just been checkpointed
(version 199) when the recalls read it, while `--partitions 199` leaves 99 commit files after
the checkpoint of version 99. The output says which.

    python benchmarks/bench_namespace_recall.py            # 200 namespaces, 25 runs per side
    python benchmarks/bench_namespace_recall.py --quick    # 50 namespaces x 100 rows, a smoke run
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import deltalake
import numpy as np
import pandas as pd
import pyarrow as pa

import datanectar
from throwaway import make_project

TARGET_WIDE = 1.2
TARGET_RATIO = 1.05
TARGET_EXTRA_MS = 5.0
SIDES = ("narrow", "wide")
READS = ("recall narrow", "recall wide", "direct narrow", "direct wide")


def keys_for(partitions: int) -> list[str]:
    width = max(3, len(str(partitions - 1)))
    return [f"k{index:0{width}d}" for index in range(partitions)]


def make_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64") + seed * rows,
            "value": rng.standard_normal(rows),
            "category": rng.choice(np.array(["alpha", "beta", "gamma", "delta"]), rows),
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="s", unit="us"),
        }
    )


def direct_read(uri: str, key: str) -> pd.DataFrame:
    """The partition read with deltalake alone, as `DeltaFormat.read_partition` reads it."""
    table = deltalake.DeltaTable(uri)
    dataset = table.to_pyarrow_dataset(file_pruning_predicate=[("namespace", "=", key)])
    return dataset.to_table().drop_columns(["namespace"]).to_pandas()


@dataclass
class Side:
    name: str
    function: Any
    """The cached function (one `namespace` parameter)."""
    uri: str
    built: list[str]
    """The namespaces it was called for while its table was built, in order."""
    build_seconds: list[float] = field(default_factory=list)
    built_state: dict[str, Any] = field(default_factory=dict)
    """The table after the build, as the recalls find it."""


@dataclass
class Timings:
    times: dict[str, list[float]] = field(default_factory=dict)

    def add(self, side: str, seconds: float) -> None:
        self.times.setdefault(side, []).append(seconds)

    def median_ms(self, side: str) -> float:
        return statistics.median(self.times[side]) * 1000

    def best_ms(self, side: str) -> float:
        return min(self.times[side]) * 1000


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    os.sync()  # earlier runs' dirty pages are flushed now, not during this run
    gc.collect()
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def check_same(value: pd.DataFrame, expected: pd.DataFrame, where: str) -> None:
    """A sanity check (not a timing assertion): every side reads back the partition's data."""
    if (
        list(value.columns) != list(expected.columns)
        or value.shape != expected.shape
        or not np.array_equal(np.sort(value["id"].to_numpy()), np.sort(expected["id"].to_numpy()))
        or not np.array_equal(
            np.sort(value["value"].to_numpy()), np.sort(expected["value"].to_numpy())
        )
    ):
        raise RuntimeError(f"{where}: the partition read back differs from what was stored")


def check_calls(calls: Counter[str], expected: Counter[str], what: str) -> None:
    if calls != expected:
        raise RuntimeError(
            f"{what}: the function bodies ran {dict(calls)} times, expected {dict(expected)}"
        )


# -- the tables ----------------------------------------------------------------------------


def build(side: Side) -> None:
    """One plain call per namespace, in order: one commit each, as daily partitions arrive."""
    for key in side.built:
        seconds, _ = timed(lambda key=key: side.function(namespace=key))
        side.build_seconds.append(seconds)


def table_state(uri: str) -> dict[str, Any]:
    """Version, partitions, and the log an open replays: the latest checkpoint (deltalake
    writes one every 100 commits by default), then each commit file after it."""
    table = deltalake.DeltaTable(uri)
    log = Path(uri) / "_delta_log"
    last = log / "_last_checkpoint"
    checkpoint = json.loads(last.read_text())["version"] if last.exists() else None
    version = table.version()
    return {
        "commits": version + 1,
        "partitions": len(table.partitions()),
        "version": version,
        "log": (
            f"last checkpoint at version {checkpoint}, {version - checkpoint} commit file(s) after it"
            if checkpoint is not None
            else f"no checkpoint, {version + 1} commit file(s)"
        ),
    }


def check_built(side: Side) -> None:
    state = side.built_state = table_state(side.uri)
    wanted = len(side.built)
    if state["commits"] < wanted or state["partitions"] != wanted:
        raise RuntimeError(
            f"{side.name}: built by {wanted} calls, the table has {state['commits']} commits "
            f"and {state['partitions']} partitions (expected >= {wanted} and {wanted})"
        )


def last_commit_partitions(uri: str) -> list[tuple[str, dict[str, str]]]:
    """(path, partition values) of every file the latest commit added or removed."""
    version = deltalake.DeltaTable(uri).version()
    commit = Path(uri) / "_delta_log" / f"{version:020d}.json"
    actions = [json.loads(line) for line in commit.read_text().splitlines() if line.strip()]
    return [
        (action[kind]["path"], action[kind].get("partitionValues") or {})
        for action in actions
        for kind in ("add", "remove")
        if kind in action
    ]


# -- counting table opens ------------------------------------------------------------------


def call_site() -> str:
    """The innermost datanectar frames of the current stack, outermost first."""
    frames = [
        frame
        for frame in traceback.extract_stack()[:-2]
        if f"{os.sep}datanectar{os.sep}" in frame.filename
    ]
    return " > ".join(f"{Path(frame.filename).stem}.{frame.name}" for frame in frames[-4:])


@contextmanager
def counting_opens() -> Iterator[Counter[tuple[str, str]]]:
    """Count `DeltaTable(...)` and `DeltaTable.is_deltatable(...)` calls, by call site."""
    counts: Counter[tuple[str, str]] = Counter()
    cls = deltalake.DeltaTable
    original_init = cls.__init__
    original_is = cls.__dict__["is_deltatable"]

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        counts[("DeltaTable()", call_site())] += 1
        original_init(self, *args, **kwargs)

    @functools.wraps(original_is.__func__)
    def is_deltatable(*args: Any, **kwargs: Any) -> bool:
        counts[("is_deltatable()", call_site())] += 1
        return original_is.__func__(*args, **kwargs)

    cls.__init__ = init  # type: ignore[method-assign]
    cls.is_deltatable = staticmethod(is_deltatable)  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        cls.__init__ = original_init  # type: ignore[method-assign]
        cls.is_deltatable = original_is  # type: ignore[method-assign]


def count_opens(run: Callable[[], Any]) -> Counter[tuple[str, str]]:
    with counting_opens() as counts:
        run()
    return counts


# -- the benchmark -------------------------------------------------------------------------


def bench_reads(
    sides: dict[str, Side], key: str, expected: pd.DataFrame, repeats: int, timings: Timings
) -> None:
    runs: dict[str, Callable[[], Any]] = {
        "recall narrow": lambda: sides["narrow"].function(namespace=key),
        "recall wide": lambda: sides["wide"].function(namespace=key),
        "direct narrow": lambda: direct_read(sides["narrow"].uri, key),
        "direct wide": lambda: direct_read(sides["wide"].uri, key),
    }
    for name, run in runs.items():  # warm-up: page cache, imports; checks every side's data
        check_same(run(), expected, name)
    for repeat in range(repeats):
        shift = repeat % len(READS)
        for name in READS[shift:] + READS[:shift]:
            seconds, value = timed(runs[name])
            del value
            timings.add(name, seconds)


def bench_rewrites(
    sides: dict[str, Side], key: str, repeats: int, timings: Timings, rows: int
) -> None:
    """The plain-call rewrite, and (for information) deltalake alone replacing the same
    partition of the same table: a predicate overwrite, what the library's own cost is."""
    data = pa.Table.from_pandas(make_frame(rows, 7), preserve_index=False)
    data = data.append_column("namespace", pa.array([key] * rows, type=pa.string()))

    def rewrite(side: str) -> Any:
        return sides[side].function(namespace=key, recompute=True, cache_mode="overwrite")

    def direct_rewrite(side: str) -> None:
        deltalake.write_deltalake(
            sides[side].uri,
            data,
            mode="overwrite",
            predicate=f"namespace = '{key}'",
            partition_by=["namespace"],
        )

    for side in SIDES:  # warm-up
        rewrite(side)
    for repeat in range(repeats):
        for side in SIDES if repeat % 2 == 0 else SIDES[::-1]:
            seconds, value = timed(lambda side=side: rewrite(side))
            del value
            timings.add(f"rewrite {side}", seconds)
    # Then the library alone, apart (another writer's commits would cost the plain calls a
    # catch-up read each), and one more plain rewrite, untimed, so that the table holds what
    # the function computed again (the checks after this read it back).
    for side in SIDES:
        direct_rewrite(side)
    for repeat in range(repeats):
        for side in SIDES if repeat % 2 == 0 else SIDES[::-1]:
            seconds, _ = timed(lambda side=side: direct_rewrite(side))
            timings.add(f"direct rewrite {side}", seconds)
    for side in SIDES:
        rewrite(side)


def report(
    sides: dict[str, Side],
    key: str,
    rows: int,
    repeats: int,
    timings: Timings,
    opens: dict[str, Counter[tuple[str, str]]],
    notes: list[str],
) -> None:
    wide, narrow = sides["wide"], sides["narrow"]
    n = len(wide.built)
    print()
    print(
        f"Namespace recall: namespace {key} ({rows:,} rows x 4 columns) of a Delta-backed cached "
        f"function; wide: {n} namespaces written one commit each, narrow: 1"
    )
    print(f"median of {repeats} interleaved runs per side")
    print()
    print("build (for information): one plain call per namespace, in order")
    for side in (wide, narrow):
        seconds = side.build_seconds
        print(
            f"  {side.name:<7} {len(seconds):>4} calls in {sum(seconds):7.2f} s: "
            f"median {statistics.median(seconds) * 1000:6.1f} ms per call, first "
            f"{seconds[0] * 1000:6.1f} ms, last {seconds[-1] * 1000:6.1f} ms"
        )
        state = side.built_state
        print(
            f"  {'':<7} table then: version {state['version']}, {state['partitions']} "
            f"partition(s); {state['log']} (as the recalls read it)"
        )
    print(
        "  (deltalake writes a checkpoint every 100 commits; opening the table reads the latest "
        "checkpoint, then each commit file after it)"
    )
    print()
    header = (
        f"{'operation':<9} {'narrow ms':>10} {'wide ms':>10} {'wide/narrow':>12} "
        f"{'best ratio':>10} {'target':>16}"
    )
    print(header)
    print("-" * len(header))
    figures: list[tuple[str, str, bool | None]] = []
    for operation, names in (
        ("recall", ("recall narrow", "recall wide")),
        ("rewrite", ("rewrite narrow", "rewrite wide")),
        ("direct", ("direct narrow", "direct wide")),
        ("d.rewrite", ("direct rewrite narrow", "direct rewrite wide")),
    ):
        low, high = (timings.median_ms(name) for name in names)
        best = timings.best_ms(names[1]) / timings.best_ms(names[0])
        ratio = high / low
        if operation in ("direct", "d.rewrite"):
            verdict, met = "(information)", None
        else:
            met = ratio <= TARGET_WIDE
            verdict = f"<= {TARGET_WIDE}: {'met' if met else 'MISSED'}"
            figures.append((f"{operation} wide / narrow", f"{ratio:.2f} (best {best:.2f}), ", met))
        print(
            f"{operation:<9} {low:>10.1f} {high:>10.1f} {ratio:>12.2f} {best:>10.2f} {verdict:>16}"
        )
    print("direct: deltalake alone, DeltaTable(uri).to_pyarrow_dataset(file_pruning_predicate=")
    print("        [('namespace', '=', key)]).to_table().drop_columns(['namespace']).to_pandas()")
    print("d.rewrite: deltalake alone, write_deltalake(uri, data, mode='overwrite',")
    print("        predicate=\"namespace = 'key'\", partition_by=['namespace'])")
    print()

    recall, direct = timings.median_ms("recall wide"), timings.median_ms("direct wide")
    allowed = TARGET_RATIO * direct + TARGET_EXTRA_MS
    met = recall <= allowed
    best = timings.best_ms("recall wide") / timings.best_ms("direct wide")
    print(
        f"recall vs direct, wide table: recall {recall:.1f} ms, direct {direct:.1f} ms, ratio "
        f"{recall / direct:.2f} (best {best:.2f}), overhead {recall - direct:+.1f} ms; "
        f"allowed {allowed:.1f} ms"
    )
    figures.append(
        (
            "recall / direct (wide)",
            f"{recall / direct:.2f} (best {best:.2f}), overhead {recall - direct:+.1f} ms, ",
            met,
        )
    )
    print()

    print(
        "Delta table opens per call (one extra untimed call each; DeltaTable.__init__ and "
        "DeltaTable.is_deltatable wrapped):"
    )
    for what, counts in opens.items():
        inits = sum(count for (kind, _), count in counts.items() if kind == "DeltaTable()")
        checks = sum(count for (kind, _), count in counts.items() if kind == "is_deltatable()")
        print(f"  {what:<14} DeltaTable() x {inits}, is_deltatable() x {checks}")
        for (kind, site), count in sorted(counts.items()):
            print(f"      {count} x {kind:<16} {site or '(outside datanectar)'}")
    print()

    print("tables at the end:")
    for side in (wide, narrow):
        state = table_state(side.uri)
        print(
            f"  {side.name:<7} version {state['version']} ({state['commits']} commits: "
            f"{len(side.built)} to build, then 1 per rewrite), {state['partitions']} "
            f"partition(s); {state['log']}"
        )
    for note in notes:
        print(note)
    print()

    print("figures")
    targets = {
        "recall wide / narrow": f"target <= {TARGET_WIDE}",
        "rewrite wide / narrow": f"target <= {TARGET_WIDE}",
        "recall / direct (wide)": (
            f"target recall <= {TARGET_RATIO:.2f} x direct + {TARGET_EXTRA_MS:.0f} ms "
            f"(= {allowed:.1f} ms)"
        ),
    }
    for name, value, passed in figures:
        print(f"  {name:<23} {value}{targets[name]}: {'PASS' if passed else 'MISS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 namespaces x 100 rows, 5 runs")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per side")
    parser.add_argument("--partitions", type=int, default=None, help="namespaces of the wide side")
    args = parser.parse_args()
    partitions, rows, repeats = (50, 100, 5) if args.quick else (200, 1_000, 25)
    partitions = args.partitions or partitions
    repeats = args.repeats or repeats
    if partitions < 2:
        parser.error("--partitions must be at least 2")

    # A plain call reports to a Dagster instance when DAGSTER_HOME is set; settings come from
    # the project alone.
    for variable in [name for name in os.environ if name.startswith("DATANECTAR_")]:
        del os.environ[variable]
    os.environ.pop("DAGSTER_HOME", None)

    keys = keys_for(partitions)
    key = keys[len(keys) // 2]
    seeds = {k: seed for seed, k in enumerate(keys)}
    expected = make_frame(rows, seeds[key])
    calls: Counter[str] = Counter()

    @datanectar.cache(namespaces=keys, format="delta", version="1")
    def table_wide(namespace: str) -> pd.DataFrame:
        calls[f"wide {namespace}"] += 1
        return make_frame(rows, seeds[namespace])

    @datanectar.cache(namespaces=keys, format="delta", version="1")
    def table_narrow(namespace: str) -> pd.DataFrame:
        calls[f"narrow {namespace}"] += 1
        return make_frame(rows, seeds[namespace])

    root = Path(tempfile.mkdtemp(prefix="datanectar-bench-namespace-recall-"))
    try:
        project = make_project(root / "project")
        catalog = datanectar.catalog(project, functions=[table_wide, table_narrow])
        sides = {
            "wide": Side("wide", table_wide, catalog.location("table_wide").uri, keys),
            "narrow": Side("narrow", table_narrow, catalog.location("table_narrow").uri, [key]),
        }
        timings = Timings()
        notes: list[str] = []
        with catalog.activate():
            for side in sides.values():
                print(
                    f"{side.name}: building, {len(side.built)} plain call(s) of {rows:,} rows ...",
                    flush=True,
                )
                build(side)
                check_built(side)
            built = Counter(f"{side.name} {k}" for side in sides.values() for k in side.built)
            check_calls(calls, built, "build")

            print(f"recall and direct read: {repeats} runs per side ...", flush=True)
            bench_reads(sides, key, expected, repeats, timings)
            check_calls(calls, built, "recall (a recall computed)")

            print(f"rewrite: {repeats} runs per side ...", flush=True)
            bench_rewrites(sides, key, repeats, timings, rows)
            rewritten = built + Counter({f"{side} {key}": repeats + 2 for side in SIDES})
            check_calls(calls, rewritten, "rewrite")
            for side in sides.values():
                outside = [
                    path
                    for path, values in last_commit_partitions(side.uri)
                    if values != {"namespace": key}
                ]
                state = table_state(side.uri)
                if outside or state["partitions"] != len(side.built):
                    raise RuntimeError(
                        f"{side.name}: a rewrite of {key} touched {outside} or changed the "
                        f"partitions ({state['partitions']})"
                    )
                check_same(side.function(namespace=key), expected, f"{side.name} after rewrites")
            notes.append(
                f"each rewrite's commit adds and removes files of partition namespace={key} only "
                "(checked on the last one of each side)"
            )

            opens = {
                "recall wide": count_opens(lambda: table_wide(namespace=key)),
                "recall narrow": count_opens(lambda: table_narrow(namespace=key)),
                "direct wide": count_opens(lambda: direct_read(sides["wide"].uri, key)),
                "rewrite wide": count_opens(
                    lambda: table_wide(namespace=key, recompute=True, cache_mode="overwrite")
                ),
                "rewrite narrow": count_opens(
                    lambda: table_narrow(namespace=key, recompute=True, cache_mode="overwrite")
                ),
            }
            check_calls(calls, rewritten + Counter([f"wide {key}", f"narrow {key}"]), "counting")
        report(sides, key, rows, repeats, timings, opens, notes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
