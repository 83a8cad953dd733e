"""`datanectar init DIR`: the project it writes works as generated, with Dagster's own CLI.

The project is scaffolded and materialized once (module fixture) by the commands its README
gives, in subprocesses of the venv's console scripts; results are read back with pyarrow,
xarray and json, and the run's records with the Dagster instance in its dagster_home/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

from datanectar.cli import main
from datanectar.project import Catalog
from datanectar.scaffold import Names, names_for, output_path, templates

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLI_TIMEOUT = 600  # seconds; a hung CLI fails the test instead of hanging the suite
ENTRIES = {
    "readings": "csv",
    "station_means": "parquet",
    "temperature_grid": "zarr",
    "summary": "json",
}
PRODUCED = {"station_means", "temperature_grid", "summary"}
MATERIALIZE = (
    "DAGSTER_HOME=$PWD/dagster_home dagster asset materialize -f definitions.py --select '*'"
)
UI = "DAGSTER_HOME=$PWD/dagster_home dagster dev"


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"


def environment(tmp: Path) -> dict[str, str]:
    """The venv's commands first on PATH, this worktree's datanectar, a local cache of its own."""
    env = dict(os.environ)
    env.pop("DATANECTAR_PROJECT", None)
    env.pop("DAGSTER_HOME", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO / "src")
    env["DATANECTAR_LOCAL_CACHE"] = str(tmp / "local-cache")
    return env


def run(command: list[str] | str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A command (a shell line when a string) in `cwd`; it must exit 0."""
    result = subprocess.run(  # checked below, with its output in the message
        command,
        shell=isinstance(command, str),
        executable="/bin/bash" if isinstance(command, str) else None,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, (
        f"`{command}` exited {result.returncode}\n--- stdout ---\n{result.stdout[-20000:]}\n"
        f"--- stderr ---\n{result.stderr[-20000:]}"
    )
    return result


def _names(project: str) -> Names:
    return names_for(Path(project))


def readme_commands(project: Project) -> list[str]:
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """`datanectar init my-project`, then the README's materialize command, in the project."""
    tmp = tmp_path_factory.mktemp("init")
    run([str(BIN / "datanectar"), "init", "my-project"], cwd=tmp, env=environment(tmp))
    project = Project(root=tmp / "my-project")
    commands = readme_commands(project)
    assert commands == [MATERIALIZE, UI]
    run(commands[0], cwd=project.root, env=environment(tmp))
    return project


# -- the generated project, materialized ---------------------------------------------------


def test_materialize_writes_every_produced_entry(materialized: Project) -> None:
    readings = pd.read_csv(materialized.root / "inputs" / "readings.csv")
    means = pq.read_table(materialized.root / "data/tables/station_means.parquet").to_pandas()
    expected = readings.groupby("station")["temperature_c"].mean()
    assert sorted(means["station"]) == sorted(expected.index)
    assert means.set_index("station")["mean_c"].to_dict() == pytest.approx(expected.to_dict())
    assert (means["coldest_c"] <= means["warmest_c"]).all()

    with xr.open_zarr(materialized.root / "data/grids/temperature.zarr") as grid:
        assert dict(grid.sizes) == {"day": readings["day"].nunique(), "lat": 5, "lon": 6}
        field = grid["temperature"]
        assert field.dtype == "float32"
        assert field.attrs["units"] == "degC"
        # Inverse-distance weights average the stations: the field stays within their range.
        low, high = readings["temperature_c"].min(), readings["temperature_c"].max()
        assert low - 1e-4 <= float(field.min()) <= float(field.max()) <= high + 1e-4
        grid_mean = float(field.mean())

    summary = json.loads((materialized.root / "data/reports/summary.json").read_text())
    assert summary == {
        "stations": readings["station"].nunique(),
        "days": readings["day"].nunique(),
        "warmest_station": str(expected.idxmax()),
        "grid_mean_c": pytest.approx(round(grid_mean, 2)),
    }


def test_the_instance_records_the_run_and_its_checks(
    materialized: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(materialized.home))
    with dg.DagsterInstance.from_config(str(materialized.home)) as instance:
        for name in PRODUCED:
            assert instance.get_latest_materialization_event(dg.AssetKey(name)) is not None, name
        check_key = dg.AssetCheckKey(dg.AssetKey("temperature_grid"), "custom")
        evaluations = instance.event_log_storage.get_asset_check_execution_history(
            check_key, limit=1
        )
    assert len(evaluations) == 1
    evaluation = evaluations[0].event.dagster_event.event_specific_data
    assert evaluation.passed
    assert "largest_step_c" in evaluation.metadata


def test_definitions_validate(materialized: Project, tmp_path: Path) -> None:
    run(
        [str(BIN / "dagster"), "definitions", "validate", "-f", "definitions.py"],
        cwd=materialized.root,
        env=environment(tmp_path),
    )


def test_git_keeps_the_sources_and_ignores_results_and_locals(materialized: Project) -> None:
    clone = materialized.root.parent / "as-committed"
    shutil.copytree(materialized.root, clone)
    run(["git", "init", "-q"], cwd=clone, env=dict(os.environ))
    listed = run(["git", "add", "--dry-run", "."], cwd=clone, env=dict(os.environ)).stdout
    added = {line.removeprefix("add '").removesuffix("'") for line in listed.splitlines()}
    generated = {str(output_path(relative, _names("my-project"))) for relative in templates()}
    assert added == generated - {"configuration/locals.yaml"}


# -- the catalog it writes --------------------------------------------------------------------


def test_the_catalog_parses_with_an_entry_of_each_family(tmp_path: Path) -> None:
    # A package name of its own: this process imports it, and must not meet another test's.
    assert main(["init", str(tmp_path / "parsed_catalog_project")]) == 0
    catalog = Catalog.open(tmp_path / "parsed_catalog_project")
    assert {name: catalog.entry(name).format for name in catalog} == ENTRIES
    assert set(catalog.producers) == PRODUCED
    assert [rule.check_name for rule in catalog.entry("temperature_grid").checks] == [
        "dims",
        "variables",
        "range",
        "custom",
    ]


def test_the_generated_code_is_lint_clean(tmp_path: Path) -> None:
    """What a user starts from passes ruff's default rules, with datanectar a third party."""
    assert main(["init", str(tmp_path / "linted")]) == 0
    ruff = [str(BIN / "ruff"), "--isolated"]
    lint = ["check", "--select", "E,F,W,I,B,UP,RUF", "--line-length", "100", "."]
    run([*ruff, *lint], cwd=tmp_path / "linted", env=dict(os.environ))
    run(
        [*ruff, "format", "--check", "--line-length", "100", "."],
        tmp_path / "linted",
        dict(os.environ),
    )


# -- refusals ---------------------------------------------------------------------------------


def test_a_non_empty_folder_is_refused_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    assert main(["init", str(target)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [path.name for path in target.iterdir()] == ["notes.txt"]


def test_force_adds_beside_other_files_but_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "forced_project"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    (target / "README.md").write_text("my readme\n")
    (target / "catalog").mkdir()
    (target / "catalog" / "tables.yaml").write_text("{}\n")
    assert main(["init", "--force", str(target)]) == 2
    error = capsys.readouterr().err
    assert str(target / "README.md") in error
    assert str(target / "catalog" / "tables.yaml") in error
    assert "Nothing was written" in error
    assert sorted(path.name for path in target.iterdir()) == ["README.md", "catalog", "notes.txt"]
    assert (target / "README.md").read_text() == "my readme\n"

    (target / "README.md").unlink()
    (target / "catalog" / "tables.yaml").unlink()
    assert main(["init", "--force", str(target)]) == 0
    assert (target / "notes.txt").read_text() == "mine\n"
    assert (target / "pyproject.toml").is_file()


def test_the_cli_refuses_with_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "data.csv").write_text("a\n1\n")
    result = subprocess.run(
        [str(BIN / "datanectar"), "init", "taken"],
        cwd=tmp_path,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("datanectar: taken is not empty.")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("-bad-", "not a valid project name"),
        ("2fast", "no Python package name"),
        ("pandas", "hide"),
    ],
)
def test_names_that_cannot_make_a_package_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, problem: str
) -> None:
    assert main(["init", f"--name={name}", str(tmp_path / "project")]) == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "project").exists()


# -- packaging ----------------------------------------------------------------------------------


def test_a_wheel_ships_the_templates_and_scaffolds_from_them(tmp_path: Path) -> None:
    """Built as `pip install datanectar` would get it, and run from the zipped wheel itself."""
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy2(REPO / "pyproject.toml", source)
    shutil.copy2(REPO / "README.md", source)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    build = "from setuptools import build_meta; print(build_meta.build_wheel('dist'))"
    wheel = (
        source
        / "dist"
        / run([sys.executable, "-c", build], source, dict(os.environ)).stdout.split()[-1]
    )
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert {f"datanectar/scaffold/project/{template}.tmpl" for template in templates()} <= shipped

    env = {**environment(tmp_path), "PYTHONPATH": str(wheel)}
    scaffold = "import sys; from datanectar.cli import main; sys.exit(main(sys.argv[1:]))"
    run([sys.executable, "-c", scaffold, "init", "from_wheel"], tmp_path, env)
    written = {
        path.relative_to(tmp_path / "from_wheel").as_posix()
        for path in (tmp_path / "from_wheel").rglob("*")
        if path.is_file()
    }
    assert written == {str(output_path(relative, _names("from_wheel"))) for relative in templates()}
