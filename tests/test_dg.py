"""`dg` (Dagster's successor CLI) on a dg project holding the catalog component, and on the
demo, in subprocesses with a DAGSTER_HOME in a tmp dir. Results are read back with pandas,
pyarrow and deltalake, runs from the Dagster instance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import deltalake
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dg_project import Project, dg_project, home

REPO = Path(__file__).resolve().parents[1]


def instance(project: Project, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    monkeypatch.setenv("DAGSTER_HOME", str(project.home))
    return dg.DagsterInstance.from_config(str(project.home))


def test_check_and_list_defs(tmp_path):
    project = dg_project(tmp_path)
    result = project.ok("dg", "check", "defs")
    assert "All definitions loaded successfully" in result.stdout
    listed = json.loads(project.ok("dg", "list", "defs", "--json").stdout)
    keys = {asset["asset_key"] for asset in listed["assets"]}
    assert keys == {"readings", "zone_readings", "means"}
    assert [check["key"] for check in listed["asset_checks"]] == ["readings:row_count"]
    # dg points each definition at the defs.yaml that made it
    assert {asset["source"] for asset in listed["assets"]} == {
        "src/weather/defs/catalog/defs.yaml:1"
    }


def test_defs_yaml_names_a_project_elsewhere(tmp_path):
    """`project:` is relative to the defs.yaml; `modules:` replaces [tool.datanectar] modules."""
    project = dg_project(tmp_path / "dg")
    catalog = tmp_path / "elsewhere"
    (catalog / "catalog").mkdir(parents=True)
    (catalog / "pyproject.toml").write_text('[tool.datanectar]\ncatalog = "catalog"\n')
    (catalog / "catalog" / "main.yaml").write_text("totals:\n  format: json\n  path: t.json\n")
    (catalog / "nightly.py").write_text(
        "import datanectar\n\n@datanectar.asset\ndef totals() -> dict:\n    return {'n': 7}\n"
    )
    defs_yaml = project.root / "src" / "weather" / "defs" / "catalog" / "defs.yaml"
    relative = Path("../../../../../..") / "elsewhere"
    defs_yaml.write_text(
        "type: datanectar.components.CatalogComponent\n"
        f"attributes:\n  project: {relative}\n  modules: [nightly]\n"
    )
    project = Project(project.root, project.home, (*project.python_path, catalog))
    listed = json.loads(project.ok("dg", "list", "defs", "--json").stdout)
    assert {asset["asset_key"] for asset in listed["assets"]} == {"totals"}
    project.ok("dg", "launch", "--assets", "totals")
    assert json.loads((catalog / "data" / "t.json").read_text()) == {"n": 7}


def test_launch_unpartitioned_and_partitioned(tmp_path, monkeypatch):
    project = dg_project(tmp_path)
    project.ok("dg", "launch", "--assets", "readings,means")
    means = pq.read_table(project.root / "data" / "means.parquet").to_pandas()
    assert dict(zip(means["zone"], means["value"], strict=True)) == {"north": 2.0, "south": 10.0}

    project.ok("dg", "launch", "--assets", "zone_readings", "--partition", "south")
    south = pd.read_parquet(project.root / "data" / "zones" / "south.parquet")
    assert south["value"].tolist() == [10.0]
    assert not (project.root / "data" / "zones" / "north.parquet").exists()

    runs = instance(project, monkeypatch).get_runs()
    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
    assert runs[0].tags["dagster/partition"] == "south"
    event = instance(project, monkeypatch).get_latest_materialization_event(
        dg.AssetKey("zone_readings")
    )
    assert event is not None and event.asset_materialization.partition == "south"


# -- the demo -------------------------------------------------------------------------------


def copy_demo(target: Path) -> Project:
    root = target / "project"
    root.mkdir(parents=True)
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copy2(REPO / "definitions.py", root / "definitions.py")
    shutil.copytree(
        REPO / "demo", root / "demo", ignore=shutil.ignore_patterns("__pycache__", "locals.yaml")
    )
    return Project(root=root.resolve(), home=home(target / "dagster_home"))


def test_demo_with_dg_launch_and_dagster_asset_materialize(tmp_path, monkeypatch):
    project = copy_demo(tmp_path)
    project.ok("dg", "launch", "-f", "definitions.py", "--assets", "observations")
    observations = deltalake.DeltaTable(str(project.root / "data/silver/observations"))
    assert len(observations.to_pandas()) == 12 * 14 * 24

    project.ok(
        "dg",
        "launch",
        "-f",
        "definitions.py",
        "--assets",
        "city_observations",
        "--partition",
        "paris",
    )
    city = str(project.root / "data/silver/city_observations")
    assert set(deltalake.DeltaTable(city).to_pandas()["namespace"]) == {"paris"}

    # The CI scripts' command, one run for two namespaces (a delta entry: single-run backfill).
    result = project.ok(
        "dagster", "asset", "materialize", "-f", "definitions.py",
        "--select", "city_observations", "--partition-range", "lyon...oslo",
    )  # fmt: skip
    assert "RUN_SUCCESS" in result.stdout + result.stderr
    assert set(deltalake.DeltaTable(city).to_pandas()["namespace"]) == {"paris", "lyon", "oslo"}
    project.ok("dagster", "asset", "materialize", "-f", "definitions.py", "--select", "daily_means")
    assert len(pq.read_table(project.root / "data/gold/daily_means.parquet")) == 12 * 14

    runs = instance(project, monkeypatch).get_runs()
    assert len(runs) == 4
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert runs[1].tags.get("dagster/asset_partition_range_start") == "lyon"
