"""A sql rule on a stored parquet source, against the same query in DuckDB on the same file.

One parquet file of N rows x 4 columns (station, temp, category, id) is a catalog entry that
nothing produces, with one rule:

    - sql: {query: "select count(*) from {table} where temp > 60", expect: {max: 0}}

and is checked twice:

* datanectar: the rule as its `source_checks` job evaluates it, minus Dagster's own events:
  `audit(entry, None, sql_tables=CatalogTables(..., produced=False))`, which opens the file as
  a `pyarrow.dataset` through the store's filesystem, registers it in a new in-memory DuckDB
  and runs the query with the placeholder substituted;
* direct: `duckdb.connect()` then the same query over `read_parquet('<file>')`, DuckDB's own
  parquet reader, one connection per run as datanectar opens one per check.

Both must find the same count (the file has a few rows above 60, so the check fails on
purpose, as the count is what is compared). Runs are interleaved (the side going first
alternates) after one untimed warm-up of each; the script prints medians, the ratio
datanectar / direct (target <= 1.2) and the ratio of the fastest runs. Nothing asserts on time.

    python benchmarks/bench_sql_rule.py            # 1M rows, 25 runs per side
    python benchmarks/bench_sql_rule.py --quick    # 100k rows, 7 runs per side
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import datanectar
from datanectar.checks.audit import audit
from datanectar.sql_tables import CatalogTables
from datanectar.targets import Target
from throwaway import make_project

TARGET_RATIO = 1.2
QUERY = "select count(*) from {table} where temp > 60"
CATALOG = f"""\
observations:
  format: parquet
  checks:
    - sql: {{query: "{QUERY}", expect: {{max: 0}}}}
"""


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(0)
    temp = rng.uniform(-20, 45, rows)
    temp[rng.choice(rows, size=17, replace=False)] = 75.0
    return pa.table(
        {
            "id": np.arange(rows, dtype="int64"),
            "station": rng.integers(0, 500, rows),
            "temp": temp,
            "category": rng.choice(np.array(["rain", "snow", "sun", "fog"]), rows),
        }
    )


def datanectar_side(project: Path) -> Callable[[], int]:
    catalog = datanectar.catalog(project)
    entry = catalog.entry("observations")
    target = Target.of(entry)

    def run() -> int:
        [verdict] = audit(
            entry,
            None,
            project_root=catalog.config.root,
            load_entry=catalog.load,
            secrets=catalog.secrets(),
            sql_tables=CatalogTables(catalog.storage, catalog.entries, target, produced=False),
        )
        return int(verdict.result.metadata["value"])

    return run


def direct_side(path: Path) -> Callable[[], int]:
    sql = QUERY.replace("{table}", f"read_parquet('{path}')")

    def run() -> int:
        connection = duckdb.connect(":memory:")
        try:
            return int(connection.execute(sql).fetchone()[0])
        finally:
            connection.close()

    return run


def timed(run: Callable[[], int]) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per side")
    args = parser.parse_args()
    rows, repeats = (100_000, 7) if args.quick else (1_000_000, 25)
    repeats = args.repeats or repeats

    root = Path(tempfile.mkdtemp(prefix="datanectar-bench-sql-rule-"))
    try:
        project = make_project(root / "project", CATALOG)
        table = make_table(rows)
        path = project / "data" / "observations.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(table, path)
        expected = int(np.count_nonzero(table["temp"].to_numpy() > 60))
        sides = {"datanectar": datanectar_side(project), "direct": direct_side(path)}
        times: dict[str, list[float]] = {side: [] for side in sides}
        for side, run in sides.items():  # warm-up: imports, page cache, first-use setup
            if run() != expected:
                raise RuntimeError(f"{side}: counted {run()}, expected {expected}")
        for repeat in range(repeats):
            order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
            for side in order:
                seconds, value = timed(sides[side])
                if value != expected:
                    raise RuntimeError(f"{side}: counted {value}, expected {expected}")
                times[side].append(seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    median = {side: statistics.median(values) * 1000 for side, values in times.items()}
    best = {side: min(values) * 1000 for side, values in times.items()}
    ratio = median["datanectar"] / median["direct"]
    print()
    print(
        f"SQL rule on a stored parquet source: {rows:,} rows x 4 columns, "
        f"median of {repeats} interleaved runs per side"
    )
    header = (
        f"{'direct ms':>10} {'datanectar ms':>14} {'ratio':>6} {'best ratio':>10} {'target':>7}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{median['direct']:>10.1f} {median['datanectar']:>14.1f} {ratio:>6.3f} "
        f"{best['datanectar'] / best['direct']:>10.3f} "
        f"{'met' if ratio <= TARGET_RATIO else 'MISSED':>7}"
    )
    print(f"target: datanectar <= {TARGET_RATIO:.2f} x direct")


if __name__ == "__main__":
    main()
