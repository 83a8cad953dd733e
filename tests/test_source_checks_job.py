"""The source_checks job and schedule: checks of the entries nothing produces, run by a job
(as from the UI's launchpad or a schedule) on the stored data."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

import datanectar
from datanectar.errors import ConfigError

CATALOG = (
    "stations:\n  format: csv\n  path: stations.csv\n  checks:\n"
    "    - row_count: {min: 3}\n    - unique: [id]\n"
    "readings:\n  format: parquet\n  path: readings.parquet\n"
    "  checks:\n    - not_null: [value]\n"
    "unchecked:\n  format: csv\n"
    "by_city:\n  format: csv\n  namespaces: [paris]\n  checks:\n    - row_count: {min: 1}\n"
    "produced:\n  format: json\n  checks:\n    - custom: builtins:bool\n"
)


@pytest.fixture
def sources(make_project):
    project = make_project(CATALOG, settings='source_checks_schedule = "0 6 * * *"\n')
    (project / "data").mkdir()
    pd.DataFrame({"id": [1, 2, 2], "name": ["a", "b", "c"]}).to_csv(
        project / "data" / "stations.csv", index=False
    )
    pd.DataFrame({"value": [1.0, 2.0]}).to_parquet(project / "data" / "readings.parquet")
    return project


def produced_function():
    @datanectar.asset(entry="produced")
    def produced() -> dict:
        return {"a": 1}

    return produced


def test_job_runs_every_unpartitioned_source_check(sources, instance):
    defs = datanectar.definitions(sources, functions=[produced_function()])
    job = defs.resolve_job_def("source_checks")

    result = job.execute_in_process(instance=instance, raise_on_error=False)

    found = {
        (
            e.asset_check_evaluation_data.asset_key.path[-1],
            e.asset_check_evaluation_data.check_name,
        ): e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    # sources only: not the produced entry's check (it runs in its step), nor the partitioned one
    assert found == {
        ("stations", "row_count"): True,
        ("stations", "unique"): False,  # id 2 repeats
        ("readings", "not_null"): True,
    }
    # checks read the data; they materialize nothing
    assert not [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]


def test_schedule_targets_the_job_on_its_cron(sources, instance):
    defs = datanectar.definitions(sources, functions=[produced_function()])
    schedule = defs.resolve_schedule_def("source_checks_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.job_name == "source_checks"

    with dg.build_schedule_context(instance=instance) as context:
        [request] = schedule.evaluate_tick(context).run_requests

    assert request.job_name in (None, "source_checks")


def test_no_schedule_unless_configured(make_project):
    project = make_project(CATALOG)
    defs = datanectar.definitions(project, functions=[produced_function()])
    assert defs.resolve_job_def("source_checks") is not None
    assert not list(defs.schedules or [])


def test_a_bad_cron_names_the_setting(make_project):
    project = make_project(CATALOG, settings='source_checks_schedule = "every morning"\n')
    with pytest.raises(ConfigError) as error:
        datanectar.definitions(project, functions=[produced_function()])
    message = str(error.value)
    assert "pyproject.toml" in message
    assert "tool.datanectar.source_checks_schedule" in message
    assert "'every morning' is not a cron schedule" in message


def test_a_schedule_with_nothing_to_check_is_an_error(make_project):
    project = make_project(
        "unchecked:\n  format: csv\n", settings='source_checks_schedule = "0 6 * * *"\n'
    )
    with pytest.raises(ConfigError, match="nothing to run"):
        datanectar.definitions(project)
