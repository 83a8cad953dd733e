"""A `dg` project holding a datanectar catalog, written as `dg scaffold project` lays one out
(pyproject.toml with [tool.dg], src/<package>/definitions.py, src/<package>/defs/), and the
CLIs run on it in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import datanectar

BIN = Path(sys.executable).parent
CLI_TIMEOUT = 600  # seconds; a hung CLI fails the test instead of hanging the suite
# The datanectar under test (a worktree's, or the installed one): the CLIs import it too.
DATANECTAR_SRC = Path(datanectar.__file__).resolve().parents[1]


@dataclass(frozen=True)
class Project:
    root: Path  # the CLI's working directory
    home: Path  # its DAGSTER_HOME
    python_path: tuple[Path, ...] = ()

    def env(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATANECTAR_PROJECT", "DATANECTAR_ENV")
        }
        env["DAGSTER_HOME"] = str(self.home)
        # What `uv pip install -e .` would give: the project's package and datanectar importable.
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (DATANECTAR_SRC, *self.python_path))
        return env

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`tool ARGS` (a command of the venv) in the project; the caller checks the exit code."""
        return subprocess.run(
            [str(BIN / tool), *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )

    def ok(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(tool, *args)
        assert result.returncode == 0, describe(result)
        return result


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"`{' '.join(result.args[-8:])}` exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}"
    )


def home(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return folder.resolve()


CATALOG = """\
readings:
  format: csv
  path: readings.csv
  checks:
    - row_count: {min: %(min_rows)d}
zone_readings:
  format: parquet
  path: "zones/{namespace}.parquet"
  namespaces: [north, south]
means:
  format: parquet
  path: means.parquet
"""

PIPELINES = """\
import pandas as pd

import datanectar


@datanectar.asset
def readings() -> pd.DataFrame:
    return pd.DataFrame({"zone": ["north", "north", "south"], "value": [1.0, 3.0, 10.0]})


@datanectar.asset
def zone_readings(readings: pd.DataFrame, namespace: str) -> pd.DataFrame:
    return readings[readings["zone"] == namespace].reset_index(drop=True)


@datanectar.asset
def means(readings: pd.DataFrame) -> pd.DataFrame:
    return readings.groupby("zone", as_index=False)["value"].mean()
"""


def dg_project(folder: Path, *, min_rows: int = 1, package: str = "weather") -> Project:
    """A dg project `package` whose defs/catalog/defs.yaml is the datanectar component; its
    three readings pass `row_count: {min: min_rows}` when min_rows <= 3."""
    root = folder / "project"
    source = root / "src" / package
    (source / "defs" / "catalog").mkdir(parents=True)
    (source / "catalog").mkdir()
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
            [project]
            name = "{package}"
            version = "0.1.0"

            [tool.dg]
            directory_type = "project"

            [tool.dg.project]
            root_module = "{package}"

            [tool.datanectar]
            catalog = "src/{package}/catalog"
            modules = ["{package}.pipelines"]
            """)
    )
    (source / "__init__.py").write_text("")
    (source / "definitions.py").write_text(
        textwrap.dedent("""\
            from pathlib import Path

            import dagster as dg


            @dg.definitions
            def defs() -> dg.Definitions:
                return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
            """)
    )
    (source / "catalog" / "main.yaml").write_text(CATALOG % {"min_rows": min_rows})
    (source / "pipelines.py").write_text(PIPELINES)
    (source / "defs" / "catalog" / "defs.yaml").write_text(
        "type: datanectar.components.CatalogComponent\n"
    )
    return Project(
        root=root.resolve(),
        home=home(folder / "dagster_home"),
        python_path=(root.resolve() / "src",),
    )
