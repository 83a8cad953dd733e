"""Partition cost: one partition of a table holding N partitions, against one holding a single one.

Delta and sql keep every namespace of an entry in one table and replace only the partition
written (README, "Namespaces are partitions"), so writing or reading one partition should cost
the same whatever the number of other partitions. Two entries of one throwaway project, both
with static namespaces `k000 ... k199`, are measured side by side:

* wide: a table pre-filled with all 200 partitions (20k rows x 4 columns each);
* narrow: a table holding only the partition measured (`k100`).

The timed operations are `catalog.save(name, frame, namespace="k100")`, which replaces that
existing partition, and `catalog.load(name, namespace="k100")`. Runs are interleaved (the side
going first alternates) after one untimed warm-up of each; the table shows medians and the
ratio wide / narrow (target <= 1.3 for delta). The same is measured with the sql format (sqlite
under the local store), for information. A zarr section writes one daily partition as a time
region of a store holding 200 days against one holding 1 day; it runs only when the zarr
format writes a daily entry without a `{date}` placeholder in place.

    python benchmarks/bench_partitions.py            # 200 x 20k rows, 15 runs per side
    python benchmarks/bench_partitions.py --quick    # 200 x 1k rows, a smoke run
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import deltalake
import numpy as np
import pandas as pd
import pyarrow as pa

import datanectar
from datanectar.catalog.namespaces import parse_namespaces
from datanectar.formats import get_format
from datanectar.partitions import keeps_in_place
from throwaway import make_project

TARGET_RATIO = 1.3
SIDES = ("narrow", "wide")
ZARR_START = "2024-01-01"


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


def make_day(day: str, shape: tuple[int, int, int], seed: int) -> Any:
    import xarray as xr

    hours, ny, nx = shape
    data = np.random.default_rng(seed).standard_normal(shape, dtype="float32")
    return xr.Dataset(
        {"t2m": (("time", "y", "x"), data)},
        coords={
            "time": pd.date_range(day, periods=hours, freq="h"),
            "y": np.arange(ny, dtype="int32"),
            "x": np.arange(nx, dtype="int32"),
        },
    )


def catalog_yaml(keys: list[str], zarr: bool) -> str:
    static = "[" + ", ".join(keys) + "]"
    paths = {"delta": "bench/delta_{side}", "sql": "sql_{side}"}  # sql: the table name
    text = "".join(
        f"{fmt}_{side}:\n  format: {fmt}\n  path: {path.format(side=side)}\n"
        f"  namespaces: {static}\n"
        for fmt, path in paths.items()
        for side in (*SIDES, "probe")
    )
    if zarr:
        text += "".join(
            f"zarr_{side}:\n  format: zarr\n  path: bench/zarr_{side}.zarr\n"
            f'  namespaces: {{daily: {{start: "{ZARR_START}"}}}}\n'
            for side in SIDES
        )
    return text


@dataclass
class Case:
    format: str
    unit: str
    """What one partition is, for the table."""
    key: dict[str, str]
    """The partition timed on each side."""
    save: Callable[[str], Any]
    load: Callable[[str], Any]
    check: Callable[[Any], None]
    target: float | None
    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def median_ms(self, operation: str, side: str) -> float:
        return statistics.median(self.times[(operation, side)]) * 1000

    def best_ms(self, operation: str, side: str) -> float:
        return min(self.times[(operation, side)]) * 1000


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    os.sync()  # earlier runs' dirty pages are flushed now, not during this run
    gc.collect()
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def bench(case: Case, repeats: int) -> None:
    for side in SIDES:  # warm-up: page cache, imports, engines; checks the round trip
        case.save(side)
        case.check(case.load(side))
    for operation in ("save", "load"):
        for side in SIDES:
            case.times[(operation, side)] = []
    for repeat in range(repeats):
        order = SIDES if repeat % 2 == 0 else SIDES[::-1]
        for operation, run in (("save", case.save), ("load", case.load)):
            for side in order:
                seconds, value = timed(lambda side=side, run=run: run(side))
                del value
                case.times[(operation, side)].append(seconds)
    for side in SIDES:
        case.check(case.load(side))


def same_frame(expected: pd.DataFrame, where: str) -> Callable[[Any], None]:
    """A sanity check (not a timing assertion): what is read back is what was written."""

    def check(value: Any) -> None:
        if value.shape != expected.shape or not np.array_equal(
            np.sort(value["value"].to_numpy()), np.sort(expected["value"].to_numpy())
        ):
            raise RuntimeError(f"{where}: the partition read back differs from what was written")

    return check


def files_under(root: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(path.relative_to(root)): (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        for path in root.rglob("*")
        if path.is_file()
        for stat in [path.stat()]
    }


def touched(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Files a write added, and files it rewrote or removed."""
    added = sorted(set(after) - set(before))
    changed = sorted(name for name in before if after.get(name) != before[name])
    return added, changed


# -- delta ---------------------------------------------------------------------------------


def build_delta(catalog: Any, name: str, frames: dict[str, pd.DataFrame]) -> None:
    """All partitions in one commit, laid out as `catalog.save(..., namespace=key)` lays them
    out (checked against a probe entry written by datanectar)."""
    tables = [
        pa.Table.from_pandas(frame, preserve_index=False).append_column(
            "namespace", pa.array([key] * len(frame), type=pa.string())
        )
        for key, frame in frames.items()
    ]
    deltalake.write_deltalake(
        catalog.location(name).uri,
        pa.concat_tables(tables),
        mode="overwrite",
        partition_by=["namespace"],
    )


def delta_layout(catalog: Any, name: str) -> tuple[Any, ...]:
    table = deltalake.DeltaTable(catalog.location(name).uri)
    return (
        str(table.schema().to_arrow()),
        table.metadata().partition_columns,
        table.protocol(),
    )


def delta_commits(catalog: Any, name: str) -> int:
    return deltalake.DeltaTable(catalog.location(name).uri).version() + 1


def last_commit_paths(catalog: Any, name: str) -> list[str]:
    location = catalog.location(name)
    version = deltalake.DeltaTable(location.uri).version()
    commit = Path(location.path) / "_delta_log" / f"{version:020d}.json"
    actions = [json.loads(line) for line in commit.read_text().splitlines() if line.strip()]
    return [
        action[kind]["path"] for action in actions for kind in ("add", "remove") if kind in action
    ]


def delta_case(catalog: Any, keys: list[str], key: str, rows: int) -> Case:
    frames = {k: make_frame(rows, seed) for seed, k in enumerate(keys)}
    build_delta(catalog, "delta_wide", frames)
    build_delta(catalog, "delta_narrow", {key: frames[key]})
    catalog.save("delta_probe", frames[key], namespace=key)
    if delta_layout(catalog, "delta_probe") != delta_layout(catalog, "delta_wide"):
        raise RuntimeError("delta: the pre-filled table is not laid out as datanectar writes")
    for k in {keys[0], key, keys[-1]}:
        same_frame(frames[k], f"delta_wide[{k}]")(catalog.load("delta_wide", namespace=k))
    new = make_frame(rows, seed=len(keys))
    return Case(
        format="delta",
        unit=f"{rows:,} rows x 4 columns",
        key={"narrow": key, "wide": key},
        save=lambda side: catalog.save(f"delta_{side}", new, namespace=key),
        load=lambda side: catalog.load(f"delta_{side}", namespace=key),
        check=same_frame(new, f"delta[{key}]"),
        target=TARGET_RATIO,
    )


def delta_isolation(case: Case, catalog: Any, keys: list[str]) -> None:
    """What one save touches in the wide table, and whether other partitions are read."""
    key = case.key["wide"]
    root = Path(catalog.location("delta_wide").path)
    before = files_under(root)
    case.save("wide")
    added, changed = touched(before, files_under(root))
    data_added = [name for name in added if not name.startswith("_delta_log/")]
    outside = [name for name in data_added + changed if not name.startswith(f"namespace={key}/")]
    outside_log = [
        path
        for path in last_commit_paths(catalog, "delta_wide")
        if not path.startswith(f"namespace={key}/")
    ]
    case.notes.append(
        f"delta: one save of {key} in the wide table added {len(data_added)} data file(s) and "
        f"{len(added) - len(data_added)} log file(s), rewrote or removed {len(changed)} file(s); "
        f"files outside namespace={key}/: {len(outside)} on disk, {len(outside_log)} in its commit"
    )
    # Overwrite every other partition's data files with garbage: if a save or a load of `key`
    # opened any of them (to rewrite or scan it), it would fail.
    spoiled = 0
    for name in before:
        if not name.startswith(("_delta_log/", f"namespace={key}/")):
            (root / name).write_bytes(b"not parquet")
            spoiled += 1
    try:
        case.save("wide")
        case.check(case.load("wide"))
        verdict = "succeed: no other partition is opened"
    except Exception as exc:  # reported, not raised
        verdict = f"FAIL ({type(exc).__name__}: {str(exc)[:200]})"
    case.notes.append(
        f"delta: with the {spoiled} data files of the other {len(keys) - 1} partitions "
        f"overwritten with garbage, a save and a load of {key} {verdict}"
    )


# -- sql -----------------------------------------------------------------------------------


def build_sql(catalog: Any, name: str, frames: dict[str, pd.DataFrame]) -> None:
    """All partitions in one `to_sql`, the table datanectar's `write_partition` creates
    (the frame with a `namespace` column appended), checked against a probe entry."""
    import sqlalchemy as sa

    engine = sa.create_engine(catalog.location(name).store.sql_url())
    try:
        with engine.begin() as connection:
            pd.concat(
                [frame.assign(namespace=key) for key, frame in frames.items()], ignore_index=True
            ).to_sql(
                catalog.location(name).relative,
                connection,
                if_exists="replace",
                index=False,
                chunksize=50_000,
            )
    finally:
        engine.dispose()


def sql_columns(catalog: Any, name: str) -> list[tuple[str, str]]:
    import sqlalchemy as sa

    engine = sa.create_engine(catalog.location(name).store.sql_url())
    try:
        return [
            (column["name"], str(column["type"]))
            for column in sa.inspect(engine).get_columns(catalog.location(name).relative)
        ]
    finally:
        engine.dispose()


def sql_case(catalog: Any, keys: list[str], key: str, rows: int) -> Case:
    frames = {k: make_frame(rows, seed) for seed, k in enumerate(keys)}
    build_sql(catalog, "sql_wide", frames)
    build_sql(catalog, "sql_narrow", {key: frames[key]})
    catalog.save("sql_probe", frames[key], namespace=key)
    if sql_columns(catalog, "sql_probe") != sql_columns(catalog, "sql_wide"):
        raise RuntimeError("sql: the pre-filled table is not the table datanectar creates")
    for k in {keys[0], key, keys[-1]}:
        same_frame(frames[k], f"sql_wide[{k}]")(catalog.load("sql_wide", namespace=k))
    new = make_frame(rows, seed=len(keys))
    return Case(
        format="sql",
        unit=f"{rows:,} rows x 4 columns",
        key={"narrow": key, "wide": key},
        save=lambda side: catalog.save(f"sql_{side}", new, namespace=key),
        load=lambda side: catalog.load(f"sql_{side}", namespace=key),
        check=same_frame(new, f"sql[{key}]"),
        target=None,
    )


# -- zarr ----------------------------------------------------------------------------------


def zarr_case(catalog: Any, days: int, shape: tuple[int, int, int]) -> Case:
    """A store holding `days` days and one holding 1 day, written day by day with
    `catalog.save`; the timed save rewrites one existing day (the middle one of the wide
    store, the only one of the narrow store)."""
    import xarray as xr

    dates = [str(day.date()) for day in pd.date_range(ZARR_START, periods=days, freq="D")]
    for seed, day in enumerate(dates):
        catalog.save("zarr_wide", make_day(day, shape, seed), namespace=day)
    catalog.save("zarr_narrow", make_day(dates[0], shape, 0), namespace=dates[0])
    key = {"narrow": dates[0], "wide": dates[len(dates) // 2]}
    new = {side: make_day(day, shape, seed=days + 1) for side, day in key.items()}

    def check(value: Any) -> None:
        values = value["t2m"].values
        if values.shape != shape or not np.array_equal(values, new["wide"]["t2m"].values):
            raise RuntimeError("zarr: the day read back differs from what was written")

    def load(side: str) -> Any:
        value = catalog.load(f"zarr_{side}", namespace=key[side])
        return value.load() if isinstance(value, xr.Dataset | xr.DataArray) else value

    return Case(
        format="zarr",
        unit=f"1 day, {shape[0]} x {shape[1]} x {shape[2]} float32",
        key=key,
        save=lambda side: catalog.save(f"zarr_{side}", new[side], namespace=key[side]),
        load=load,
        check=check,
        target=TARGET_RATIO,
    )


def zarr_isolation(case: Case, catalog: Any) -> None:
    root = Path(catalog.location("zarr_wide").path)
    before = files_under(root)
    case.save("wide")
    added, changed = touched(before, files_under(root))
    case.notes.append(
        f"zarr: one save of {case.key['wide']} in the wide store ({len(before)} files) added "
        f"{len(added)} and rewrote or removed {len(changed)} file(s): "
        + ", ".join((added + changed)[:8])
        + (" ..." if len(added) + len(changed) > 8 else "")
    )


# -- report --------------------------------------------------------------------------------


def report(cases: list[Case], partitions: int, repeats: int, skipped: list[str]) -> None:
    print()
    print(
        f"One partition of an entry holding {partitions} partitions (wide) against one holding "
        f"1 (narrow): median of {repeats} interleaved runs per side"
    )
    header = (
        f"{'format':<6} {'partition':<28} {'op':<5} {'narrow ms':>10} {'wide ms':>10} "
        f"{'ratio':>6} {'best ratio':>10} {'target':>13}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        for operation in ("save", "load"):
            narrow = case.median_ms(operation, "narrow")
            wide = case.median_ms(operation, "wide")
            ratio = wide / narrow
            best = case.best_ms(operation, "wide") / case.best_ms(operation, "narrow")
            if case.target is None:
                verdict = "(information)"
            else:
                verdict = f"<= {case.target}: {'met' if ratio <= case.target else 'MISSED'}"
            print(
                f"{case.format:<6} {case.unit:<28} {operation:<5} {narrow:>10.1f} {wide:>10.1f} "
                f"{ratio:>6.2f} {best:>10.2f} {verdict:>13}"
            )
    print()
    for case in cases:
        for note in case.notes:
            print(note)
    for message in skipped:
        print(message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per side")
    parser.add_argument("--partitions", type=int, default=200, help="partitions of the wide side")
    parser.add_argument("--formats", default="delta,sql,zarr", help="comma-separated subset")
    args = parser.parse_args()
    rows, shape, repeats = (1_000, (24, 10, 10), 5) if args.quick else (20_000, (24, 100, 100), 15)
    repeats = args.repeats or repeats
    formats = args.formats.split(",")

    for variable in [name for name in os.environ if name.startswith("DATANECTAR_")]:
        del os.environ[variable]
    os.environ.pop("DAGSTER_HOME", None)

    keys = keys_for(args.partitions)
    key = keys[len(keys) // 2]
    # A daily zarr entry whose path has no {date} placeholder keeps its days as time regions of
    # one store.
    daily = parse_namespaces({"daily": {"start": "2024-01-01"}})
    zarr_in_place = keeps_in_place(get_format("zarr"), daily, "zarr_wide.zarr")
    skipped: list[str] = []
    if "zarr" in formats and not zarr_in_place:
        skipped.append(
            "zarr: skipped. A daily zarr entry is not written in place: each daily "
            "partition is its own store (<path>/<date>.zarr), not a time region of one store, "
            "so there is no region write to measure yet."
        )

    root = Path(tempfile.mkdtemp(prefix="datanectar-bench-partitions-"))
    try:
        project = make_project(root / "project", catalog_yaml(keys, zarr=zarr_in_place))
        catalog = datanectar.catalog(project)
        cases: list[Case] = []
        if "delta" in formats:
            print(f"delta: building {len(keys)} x {rows:,} rows ...", flush=True)
            case = delta_case(catalog, keys, key, rows)
            print(f"delta: {repeats} runs per side ...", flush=True)
            bench(case, repeats)
            commits = {side: delta_commits(catalog, f"delta_{side}") for side in SIDES}
            case.notes.append(
                f"delta log: {commits['wide']} commits on the wide table, {commits['narrow']} on "
                "the narrow one (1 to build, then 1 per save: warm-up and timed runs; no "
                "checkpoint, compaction or vacuum)"
            )
            delta_isolation(case, catalog, keys)
            cases.append(case)
        if "sql" in formats:
            print(f"sql: building {len(keys)} x {rows:,} rows in sqlite ...", flush=True)
            case = sql_case(catalog, keys, key, rows)
            print(f"sql: {repeats} runs per side ...", flush=True)
            bench(case, repeats)
            cases.append(case)
        if "zarr" in formats and zarr_in_place:
            print(f"zarr: writing {len(keys)} days ...", flush=True)
            try:
                case = zarr_case(catalog, len(keys), shape)
                print(f"zarr: {repeats} runs per side ...", flush=True)
                bench(case, repeats)
                zarr_isolation(case, catalog)
                cases.append(case)
            except Exception as exc:  # the other formats' figures still print
                skipped.append(f"zarr: FAILED: {type(exc).__name__}: {exc}")
        report(cases, len(keys), repeats, skipped)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
