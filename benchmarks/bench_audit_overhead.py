"""Audit overhead: materializing a table with its Table Schema check, against without it.

The table is bench_table_schema.py's shape, typed and valid: N rows x 6 columns (integer id,
unique; number with minimum/maximum; string with a pattern; date; string with an enum;
integer), checked against the same descriptor. One throwaway project holds four entries, each
produced by an `@datanectar.asset(entry=...)` function returning that pre-built DataFrame:

* audited: `format: parquet` (or `delta`, or `csv`) with `schema: schemas/table.json`, so the step
  audits the value (write-audit-publish: `validate_table` inside the step, then the write);
* plain: the same format and data, no `schema:`, so the step only writes;
* floor: the same with one custom check that passes at once (`always_passes`): what any
  Dagster asset check costs (its planned and evaluation events, the check-execution rows and
  the latest-materialization lookup on the instance's sqlite storage), with no validation.

Each run is a whole `dg.materialize` of one entry, with the definitions of
`datanectar.definitions(project, functions=...)`, on a temporary sqlite Dagster instance.
Runs are interleaved (the side going first alternates) after one untimed warm-up of each;
every audited run must report the `table_schema` check as passed and both sides must
materialize. The table shows medians, the ratio audited / plain and the overhead (target:
ratio <= 1.15), the ratio audited / floor (what the validation adds beyond Dagster's own
cost of having a check), and for information the time of `audit()` inside the step and of
`validate_table` alone on the DataFrame. Nothing asserts on time.

    python benchmarks/bench_audit_overhead.py            # 1M rows, 21 runs per side
    python benchmarks/bench_audit_overhead.py --quick    # 100k rows, 7 runs per side
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

import dagster as dg
import numpy as np
import pandas as pd

import datanectar
import datanectar.publishing as publishing
from bench_table_schema import CATEGORIES, DESCRIPTOR
from datanectar.checks import load_schema, validate_table
from throwaway import make_project

TARGET_RATIO = 1.15
FORMATS = {"parquet": "bench/{name}.parquet", "delta": "bench/{name}", "csv": "bench/{name}.csv"}
DEFAULT_FORMATS = "parquet,delta"  # csv on request: its writes take seconds at 1M rows
SIDES = ("plain", "floor", "audited")
# Dagster's console logger prints every event at DEBUG; the events are still stored.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """bench_table_schema.py's table, typed and without violations: it passes DESCRIPTOR."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 9000, rows), unit="D")
    return pd.DataFrame(
        {
            "id": rng.permutation(rows) + 1,
            "amount": np.round(rng.uniform(0, 1000, rows), 2),
            "code": np.char.add(
                np.array(["AB-", "CD-", "EF-"])[rng.integers(0, 3, rows)],
                np.char.zfill(rng.integers(0, 10000, rows).astype(str), 4),
            ),
            "day": days.as_unit("us"),
            "colour": np.array(CATEGORIES)[rng.integers(0, 3, rows)],
            "count": rng.integers(-1000, 1000, rows),
        }
    )


def catalog_yaml(formats: list[str]) -> str:
    lines = []
    for format_name in formats:
        for side in SIDES:
            name = f"{side}_{format_name}"
            lines += [f"{name}:", f"  format: {format_name}"]
            lines.append(f"  path: {FORMATS[format_name].format(name=name)}")
            if side == "audited":
                lines.append("  schema: schemas/table.json")
            if side == "floor":
                lines.append("  checks:\n    - custom: bench_audit_overhead:always_passes")
    return "\n".join(lines) + "\n"


def always_passes(value: Any) -> bool:
    """The floor side's check: Dagster records it like any other, nothing is validated."""
    return True


def producer(entry: str, frame: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    @datanectar.asset(entry=entry)
    def produce() -> pd.DataFrame:
        return frame

    produce.__name__ = produce.__qualname__ = entry
    return produce


class AuditTimer:
    """Wraps the `audit` that datanectar/publishing.py calls, to time it inside the step."""

    def __init__(self) -> None:
        self.original = publishing.audit
        self.seconds: list[float] = []

    def __call__(self, entry: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        verdicts = self.original(entry, *args, **kwargs)
        if entry.name.startswith("audited_"):
            self.seconds.append(time.perf_counter() - start)
        return verdicts


@dataclass
class Case:
    format: str
    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SIDES})
    audit: list[float] = field(default_factory=list)

    def median_ms(self, side: str) -> float:
        return statistics.median(self.times[side]) * 1000

    def best_ms(self, side: str) -> float:
        return min(self.times[side]) * 1000

    def paired_ratio(self, side: str, to: str = "plain") -> float:
        """Median over rounds of side / `to` within the same round: each round runs every side
        back to back, so a slow stretch of the machine weighs on both."""
        return statistics.median(
            a / b for a, b in zip(self.times[side], self.times[to], strict=True)
        )


def materialize(defs: dg.Definitions, instance: dg.DagsterInstance, name: str) -> tuple:
    assets = [*defs.assets, *(defs.asset_checks or [])]
    os.sync()
    gc.collect()
    start = time.perf_counter()
    result = dg.materialize(
        assets, resources=defs.resources, instance=instance, selection=[name], run_config=QUIET
    )
    return time.perf_counter() - start, result


def check_result(result: dg.ExecuteInProcessResult, name: str, side: str) -> None:
    """Not a timing assertion: the value was published, and checked as its side says."""
    materialized = [
        event.asset_key.path[-1]
        for event in result.all_events
        if event.event_type_value == "ASSET_MATERIALIZATION"
    ]
    if not result.success or materialized != [name]:
        raise RuntimeError(f"{name}: not materialized ({materialized})")
    checks = {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    if side == "plain":
        if checks:
            raise RuntimeError(f"{name}: unexpected checks {sorted(checks)}")
        return
    if side == "floor":
        if len(checks) != 1 or not all(check.passed for check in checks.values()):
            raise RuntimeError(f"{name}: expected one passing no-op check, got {sorted(checks)}")
        return
    if set(checks) != {"table_schema"} or not checks["table_schema"].passed:
        details = {n: (c.passed, c.metadata.get("errors_by_type")) for n, c in checks.items()}
        raise RuntimeError(f"{name}: the table_schema check did not pass: {details}")


def bench(
    case: Case, defs: dg.Definitions, instance: dg.DagsterInstance, timer: AuditTimer, repeats: int
) -> None:
    names = {side: f"{side}_{case.format}" for side in SIDES}
    for side in SIDES:  # warm-up: imports, first-use setup, the first write of each entry
        _, result = materialize(defs, instance, names[side])
        check_result(result, names[side], side)
    timer.seconds.clear()
    for repeat in range(repeats):
        turn = repeat % len(SIDES)  # each side goes first, second and last in turn
        for side in SIDES[turn:] + SIDES[:turn]:
            seconds, result = materialize(defs, instance, names[side])
            check_result(result, names[side], side)
            case.times[side].append(seconds)
            del result
    case.audit = list(timer.seconds)
    if len(case.audit) != repeats:
        raise RuntimeError(f"{case.format}: {len(case.audit)} audits for {repeats} runs")


def time_validate(frame: pd.DataFrame, repeats: int) -> tuple[float, float]:
    """Seconds of `validate_table` alone on the DataFrame (schema loaded once): median, best."""
    schema = load_schema(DESCRIPTOR)
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = validate_table(frame, schema)
        times.append(time.perf_counter() - start)
        if not result.passed:
            raise RuntimeError(f"the table does not pass its schema: {result.errors_by_type}")
    return statistics.median(times), min(times)


def report(cases: list[Case], rows: int, repeats: int, validate: tuple[float, float]) -> None:
    print()
    print(
        f"Audit overhead: {rows:,} rows x 6 columns, whole dg.materialize, median of "
        f"{repeats} interleaved runs per side"
    )
    header = (
        f"{'format':<8} {'plain ms':>9} {'floor ms':>9} {'audited ms':>11} {'ratio':>6} "
        f"{'paired':>7} {'overhead':>9} {'vs floor':>9} {'audit() ms':>11} {'best ratio':>10} "
        f"{'target':>7}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        plain, floor = case.median_ms("plain"), case.median_ms("floor")
        audited = case.median_ms("audited")
        ratio = audited / plain
        paired = case.paired_ratio("audited")
        print(
            f"{case.format:<8} {plain:>9.1f} {floor:>9.1f} {audited:>11.1f} {ratio:>6.3f} "
            f"{paired:>7.3f} {(paired - 1) * 100:>8.1f}% "
            f"{(case.paired_ratio('audited', 'floor') - 1) * 100:>8.1f}% "
            f"{statistics.median(case.audit) * 1000:>11.1f} "
            f"{case.best_ms('audited') / case.best_ms('plain'):>10.3f} "
            f"{'met' if paired <= TARGET_RATIO else 'MISSED':>7}"
        )
    print(
        f"target: audited / plain <= {TARGET_RATIO:.2f} (overhead <= {TARGET_RATIO - 1:.0%}); "
        "ratio: of the medians; paired (judged, and the overhead columns): median of the "
        "per-round ratios"
    )
    print(
        "floor: one no-op check (Dagster's own cost of a check); vs floor: what the validation "
        "adds on top of it"
    )
    print()
    print(
        f"for information: validate_table alone on the DataFrame: {validate[0] * 1000:.1f} ms "
        f"(median; best {validate[1] * 1000:.1f} ms), {rows / validate[0]:,.0f} rows/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100k rows")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per side (>= 7)")
    parser.add_argument(
        "--formats", default=DEFAULT_FORMATS, help=f"comma-separated, of {', '.join(FORMATS)}"
    )
    args = parser.parse_args()
    rows, repeats = (100_000, 7) if args.quick else (args.rows, 21)
    repeats = args.repeats or repeats
    formats = [name for name in FORMATS if name in args.formats.split(",")]

    # Settings come from the project alone; the runs go to a temporary instance.
    for variable in [name for name in os.environ if name.startswith("DATANECTAR_")]:
        del os.environ[variable]
    os.environ.pop("DAGSTER_HOME", None)

    root = Path(tempfile.mkdtemp(prefix="datanectar-bench-audit-"))
    timer = AuditTimer()
    publishing.audit = timer
    try:
        project = make_project(root / "project", catalog_yaml(formats))
        (project / "schemas").mkdir()
        (project / "schemas" / "table.json").write_text(json.dumps(DESCRIPTOR))
        frame = make_frame(rows)
        functions = [producer(f"{side}_{name}", frame) for name in formats for side in SIDES]
        defs = datanectar.definitions(project, functions=functions)
        validate = time_validate(frame, repeats)
        cases = [Case(name) for name in formats]
        (root / "dagster_home").mkdir()
        (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        with dg.DagsterInstance.local_temp(str(root / "dagster_home")) as instance:
            for case in cases:
                print(f"{case.format}: {rows:,} rows, {repeats} runs per side ...", flush=True)
                bench(case, defs, instance, timer, repeats)
        report(cases, rows, repeats, validate)
    finally:
        publishing.audit = timer.original
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
