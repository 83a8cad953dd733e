"""A blocking check that fails makes the CLI exit non-zero, whichever CLI runs the assets
(`dagster asset materialize`, what CI scripts call, and its successor `dg launch`): nothing
downstream runs, and the output names the failed check. Subprocesses on a tmp dg project whose
`readings` (three rows) fail `row_count: {min: 10}`; read back from the files and the instance."""

from __future__ import annotations

import dagster as dg
import pytest

from dg_project import describe, dg_project

COMMANDS = {
    "dagster asset materialize": (
        "dagster", "asset", "materialize", "-m", "weather.definitions", "--select", "readings,means"
    ),
    "dg launch": ("dg", "launch", "--assets", "readings,means"),
}  # fmt: skip


@pytest.mark.parametrize("cli", COMMANDS)
def test_failed_blocking_check_exits_non_zero(cli, tmp_path, monkeypatch):
    project = dg_project(tmp_path, min_rows=10)
    result = project.run(*COMMANDS[cli])
    output = result.stdout + result.stderr
    assert result.returncode != 0, describe(result)
    assert "row_count" in output, describe(result)
    # nothing published, upstream or downstream
    assert not (project.root / "data" / "readings.csv").exists()
    assert not (project.root / "data" / "means.parquet").exists()

    monkeypatch.setenv("DAGSTER_HOME", str(project.home))
    instance = dg.DagsterInstance.from_config(str(project.home))
    [run] = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert instance.get_latest_materialization_event(dg.AssetKey("means")) is None
    assert instance.get_latest_materialization_event(dg.AssetKey("readings")) is None


@pytest.mark.parametrize("cli", COMMANDS)
def test_passing_checks_exit_zero(cli, tmp_path):
    """The same project and command with the rule met: exit 0, both published."""
    project = dg_project(tmp_path, min_rows=3)
    result = project.run(*COMMANDS[cli])
    assert result.returncode == 0, describe(result)
    assert (project.root / "data" / "means.parquet").exists()
