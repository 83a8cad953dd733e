"""Table Schema validation: datanectar's vectorized validator against `frictionless validate`.

One CSV of N rows x 6 columns (integer id, unique; number with minimum/maximum; string with a
pattern; date; string with an enum; integer), with a few violations of each kind injected at
seeded rows, is validated twice with the same schema:

* frictionless: `frictionless.validate(csv, schema=...)`, row by row, timed once;
* datanectar: the cells read as text as a catalog check of a csv entry reads them (the csv
  format's `read_text`: pyarrow's parser, every cell a string), then `validate_table`, timed
  with the read (what a check on a CSV file costs) and without it, median of repeats.

Both must give the same verdict and the same errors (type, row, field, as a multiset); the
script prints the check, the times, rows/s and the ratio (target >= 100x). Nothing asserts on
time.

    python benchmarks/bench_table_schema.py            # 1M rows: frictionless takes minutes
    python benchmarks/bench_table_schema.py --quick    # 100k rows
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import frictionless
import numpy as np
import pandas as pd
from frictionless.formats import CsvControl

import datanectar
from datanectar.checks import load_schema, validate_table
from datanectar.checks.tableschema.text_table import TextTable
from datanectar.targets import Target
from throwaway import make_project

TARGET_RATIO = 100.0
CATEGORIES = ["red", "green", "blue"]
DESCRIPTOR = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
        {"name": "amount", "type": "number", "constraints": {"minimum": 0, "maximum": 1000}},
        {"name": "code", "type": "string", "constraints": {"pattern": "[A-Z]{2}-[0-9]{4}"}},
        {"name": "day", "type": "date"},
        {"name": "colour", "type": "string", "constraints": {"enum": CATEGORIES}},
        {"name": "count", "type": "integer"},
    ]
}
# (column, bad cell) pairs; each is written into a few seeded rows
VIOLATIONS = [
    ("id", None),  # a duplicate of another row's id: unique-error
    ("id", "x1"),  # type-error
    ("amount", "1000.5"),  # maximum
    ("amount", "-3"),  # minimum
    ("amount", "12,5"),  # type-error
    ("code", "AB-12345"),  # pattern
    ("code", "ab-1234"),  # pattern
    ("day", "2021-02-29"),  # type-error (not a leap year)
    ("day", "2021/03/01"),  # type-error
    ("colour", "purple"),  # enum
    ("count", "7.5"),  # type-error
]
PER_VIOLATION = 3


def make_csv(path: Path, rows: int, seed: int) -> int:
    """Write the table; returns how many cells were broken on purpose."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 9000, rows), unit="D")
    frame = pd.DataFrame(
        {
            "id": rng.permutation(rows) + 1,
            "amount": np.char.mod("%.2f", rng.uniform(0, 1000, rows)),
            "code": np.char.add(
                np.array(["AB-", "CD-", "EF-"])[rng.integers(0, 3, rows)],
                np.char.zfill(rng.integers(0, 10000, rows).astype(str), 4),
            ),
            "day": days.strftime("%Y-%m-%d"),
            "colour": np.array(CATEGORIES)[rng.integers(0, 3, rows)],
            "count": rng.integers(-1000, 1000, rows),
        }
    ).astype(str)
    broken = rng.choice(rows, size=len(VIOLATIONS) * PER_VIOLATION, replace=False)
    for index, (column, cell) in enumerate(VIOLATIONS):
        for row in broken[index * PER_VIOLATION : (index + 1) * PER_VIOLATION]:
            frame.iat[row, frame.columns.get_loc(column)] = (
                frame.iat[(row + 1) % rows, 0] if cell is None else cell
            )
    frame.to_csv(path, index=False)
    return len(broken)


def frictionless_run(path: Path) -> tuple[float, bool, Counter]:
    resource = frictionless.Resource(
        path=path.name,
        basepath=str(path.parent),
        schema=frictionless.Schema.from_descriptor(DESCRIPTOR),
        encoding="utf-8",
        dialect=frictionless.Dialect(controls=[CsvControl(delimiter=",")]),
    )
    start = time.perf_counter()
    report = resource.validate(limit_errors=10**7)
    elapsed = time.perf_counter() - start
    errors = report.tasks[0].errors
    return elapsed, report.valid, Counter(_key(e.type, e.row_number, e.field_name) for e in errors)


def text_reader(path: Path, read: str) -> Callable[[], TextTable]:
    """How the cells are read as text: as a catalog check of a csv entry reads them
    (`check`: the csv format's `read_text`, through the entry's store), or with pandas."""
    if read != "check":
        return lambda: TextTable(
            pd.read_csv(path, dtype=str, keep_default_na=False, engine=read), None
        )
    project = make_project(
        path.parent / "project", f"table:\n  format: csv\n  store: here\n  path: {path.name}\n"
    )
    with (project / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.datanectar.stores.here]\ntype = "local"\nroot = "{path.parent}"\n')
    catalog = datanectar.catalog(project)
    # A source: its dialect and encoding are detected (sniffed on a bounded sample).
    target = Target.of(catalog.entry("table"))
    return lambda: catalog.storage.stored_text(target)


def datanectar_run(path: Path, read: str, repeats: int) -> tuple[list, list, bool, Counter]:
    schema = load_schema(DESCRIPTOR)
    # untimed warm-up on a few rows: first-use imports inside pandas, pyarrow and frictionless
    validate_table(pd.read_csv(path, dtype=str, keep_default_na=False, nrows=1000), schema)
    reader = text_reader(path, read)
    with_read, without_read = [], []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        text = reader()
        read_end = time.perf_counter()
        result = validate_table(
            text.frame, schema, header=text.header, ragged=text.ragged, report="full"
        )
        end = time.perf_counter()
        with_read.append(end - start)
        without_read.append(end - read_end)
        del text
    assert result is not None
    errors = Counter(_key(f.type, f.row_number, f.field_name) for f in result.failures)
    return with_read, without_read, result.passed, errors


def _key(kind: str, row: int | None, field: str | None) -> tuple:
    return kind, row, field or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100k rows, one round")
    parser.add_argument("--repeats", type=int, default=8, help="datanectar runs per round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds, each one frictionless run (default 3)"
    )
    parser.add_argument(
        "--read",
        default="check",
        choices=["check", "pyarrow", "c"],
        help="how the CSV is read as text: as a catalog check does (default), or pd.read_csv "
        "with that engine",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = 100_000 if args.quick else args.rows
    rounds = 1 if args.quick else args.rounds

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-table-schema-") as folder:
        path = Path(folder) / "table.csv"
        broken = make_csv(path, rows, args.seed)
        size = path.stat().st_size / 1e6
        print(f"table: {rows:,} rows x 6 columns, {size:.0f} MB CSV, {broken} cells broken")
        for number in range(rounds):
            # datanectar's runs bracket frictionless's: half before, half after, so that a
            # slow or fast stretch of the shared machine weighs on both sides of the ratio
            print(f"round {number + 1}/{rounds}: datanectar, frictionless, datanectar", flush=True)
            before = datanectar_run(path, args.read, max(args.repeats // 2, 1))
            reference = frictionless_run(path)
            after = datanectar_run(path, args.read, max(args.repeats - args.repeats // 2, 1))
            results.append((before, reference, after))

    agree = True
    for before, (_, valid, theirs), after in results:
        for _, _, passed, ours in (before, after):
            agree &= passed == valid and ours == theirs
    _, (_, valid, theirs), _ = results[0]
    print()
    print(f"same verdict and errors (type, row, field) in every round: {agree} (valid={valid})")
    print(f"{sum(theirs.values())} errors:")
    for kind, count in sorted(Counter(key[0] for key in theirs.elements()).items()):
        print(f"  {kind:18s} {count}")

    print()
    header = f"{'round':>5s} {'frictionless s':>15s} {'read+validate s':>16s} {'validate s':>11s}"
    print(f"{header} {'ratio':>7s} {'validate-only ratio':>20s} {'rows/s':>12s}")
    ratios, only_ratios = [], []
    for number, (before, (reference, _, _), after) in enumerate(results, start=1):
        with_read = statistics.median(before[0] + after[0])
        without = statistics.median(before[1] + after[1])
        ratios.append(reference / with_read)
        only_ratios.append(reference / without)
        print(
            f"{number:>5d} {reference:>15.2f} {with_read:>16.3f} {without:>11.3f} "
            f"{ratios[-1]:>6.0f}x {only_ratios[-1]:>19.0f}x {rows / with_read:>12,.0f}"
        )
    ratio = statistics.median(ratios)
    print(
        f"\nmedian over rounds: {ratio:.0f}x including the read (range {min(ratios):.0f}-"
        f"{max(ratios):.0f}x), {statistics.median(only_ratios):.0f}x validation alone "
        f"(range {min(only_ratios):.0f}-{max(only_ratios):.0f}x); read as: {args.read}"
    )
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"target >= {TARGET_RATIO:.0f}x including the CSV read: {verdict}")
    if not agree:
        raise SystemExit("datanectar and frictionless disagree")


if __name__ == "__main__":
    main()
