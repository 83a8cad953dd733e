"""Chain recall: a fresh recall at the end of a 10-deep chain of cached functions, against the
same recall of a function with no upstream.

A recall judges staleness through the whole chain below it (README, "Staleness"): it reads the
record of every cached result below, never their data. So each level should cost a record read
or two, well under a millisecond. Two cached functions of one throwaway project on the local
store, both returning the same small DataFrame stored as parquet:

* chain: `f9(f8)`, `f8(f7)`, ... `f1(f0)`, `f0()`: ten levels;
* single: `g()`, no upstream.

Each is computed once (untimed); then `f9()` and `g()` are recalled in interleaved runs (the
side going first alternates), with a check that no body ran. The figure is
(median chain - median single) / 9, the cost of one level, against the target <= 1 ms.

    python benchmarks/bench_chain_recall.py            # 200 runs per side
    python benchmarks/bench_chain_recall.py --quick    # 30 runs per side
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from throwaway import make_project

DEPTH = 10
TARGET_MS_PER_LEVEL = 1.0
MODULE = """
import pandas as pd
import datanectar

calls = []
FRAME = pd.DataFrame({"x": range(100), "y": [0.5] * 100})

@datanectar.cache(version="1", format="parquet")
def f0() -> pd.DataFrame:
    calls.append("f0")
    return FRAME
"""
LEVEL = """
@datanectar.cache(version="1", format="parquet")
def f{n}(f{p}: pd.DataFrame) -> pd.DataFrame:
    calls.append("f{n}")
    return f{p}
"""
SINGLE = """
@datanectar.cache(version="1", format="parquet")
def g() -> pd.DataFrame:
    calls.append("g")
    return FRAME
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 runs per side")
    parser.add_argument("--repeats", type=int, default=200)
    options = parser.parse_args()
    repeats = 30 if options.quick else options.repeats
    os.environ.pop("DAGSTER_HOME", None)

    with tempfile.TemporaryDirectory() as folder:
        root = make_project(Path(folder) / "project")
        source = MODULE + "".join(LEVEL.format(n=n, p=n - 1) for n in range(1, DEPTH)) + SINGLE
        (root / "chain_bench.py").write_text(textwrap.dedent(source))
        sys.path.insert(0, str(root))
        import chain_bench

        import datanectar

        catalog = datanectar.Catalog.open(root, modules=["chain_bench"])
        top = getattr(chain_bench, f"f{DEPTH - 1}")
        with catalog.activate():
            top(), chain_bench.g()  # computed once, untimed
            computed = list(chain_bench.calls)
            assert sorted(computed) == sorted([*(f"f{n}" for n in range(DEPTH)), "g"]), computed
            timings: dict[str, list[float]] = {"chain": [], "single": []}
            sides = {"chain": top, "single": chain_bench.g}
            for side in sides.values():
                side()  # warm-up (recalled)
            for index in range(repeats):
                order = ("chain", "single") if index % 2 == 0 else ("single", "chain")
                for name in order:
                    started = time.perf_counter()
                    sides[name]()
                    timings[name].append(time.perf_counter() - started)
            if chain_bench.calls != computed:
                raise RuntimeError(f"a recall computed: {chain_bench.calls[len(computed) :]}")

    chain_ms = statistics.median(timings["chain"]) * 1000
    single_ms = statistics.median(timings["single"]) * 1000
    per_level = (chain_ms - single_ms) / (DEPTH - 1)
    best = (min(timings["chain"]) - min(timings["single"])) * 1000 / (DEPTH - 1)
    print(f"Chain recall: f{DEPTH - 1}() at the end of {DEPTH} cached functions vs g() alone")
    print(f"median of {repeats} interleaved runs per side\n")
    print(f"  single (no upstream)  {single_ms:8.2f} ms")
    print(f"  chain ({DEPTH} levels)     {chain_ms:8.2f} ms   ratio {chain_ms / single_ms:.2f}")
    print(f"  per level             {per_level:8.2f} ms   (fastest runs: {best:.2f} ms)")
    verdict = "PASS" if per_level <= TARGET_MS_PER_LEVEL else "MISS"
    print(
        f"\nfigures\n  per level {per_level:.2f} ms, target <= {TARGET_MS_PER_LEVEL} ms: {verdict}"
    )


if __name__ == "__main__":
    main()
