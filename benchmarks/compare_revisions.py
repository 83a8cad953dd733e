"""Before/after: one benchmark script run on two revisions of datanectar, alternately.

A refactoring that should change no behaviour must not change the figures either. This runs the
same benchmark (each revision's own copy of the script, against its own `src/`) from a git
worktree of `--before` and from this checkout, alternating the two for `--rounds` rounds so that
both see the same machine load, and prints each run's output, every line labelled with the
round and the revision that printed it. The benchmarks' figures are ratios to the storage
libraries called directly, so they compare across revisions where absolute times would not.

    python benchmarks/compare_revisions.py --before 877b459 bench_io_overhead.py -- --repeats 9
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(checkout: Path, script: str, arguments: list[str]) -> list[str]:
    environment = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    result = subprocess.run(
        [sys.executable, str(checkout / "benchmarks" / script), *arguments],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{script} failed in {checkout}:\n{result.stderr[-3000:]}")
    return [line for line in result.stdout.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each revision")
    parser.add_argument("script", help="a script of benchmarks/, e.g. bench_io_overhead.py")
    parser.add_argument("arguments", nargs="*", help="passed to the script (after --)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="datanectar-before-") as folder:
        before = Path(folder) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), options.before],
            check=True,
            capture_output=True,
        )
        try:
            for round_number in range(1, options.rounds + 1):
                # The revision going first alternates, so that neither always runs on a
                # machine warmed (or loaded) by the other.
                order = [("before", before), ("after", ROOT)]
                for label, checkout in order if round_number % 2 else order[::-1]:
                    for line in run(checkout, options.script, options.arguments):
                        print(f"round {round_number} {label:>6} | {line}", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
