"""The source_checks job and schedule: checks of the entries nothing produces, run by a job
(as from the UI's launchpad or a schedule) on the stored data."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

import datanectar
from datanectar.errors import ConfigError
from runs import failure_messages

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


def test_a_checked_source_is_observed_with_its_rows_and_fingerprint(sources, instance):
    """The UI shows what a source holds once its checks ran, not "Never materialized"."""
    defs = datanectar.definitions(sources, functions=[produced_function()])
    job = defs.resolve_job_def("source_checks")
    job.execute_in_process(instance=instance, raise_on_error=False)

    [stations] = instance.fetch_observations(dg.AssetKey("stations"), limit=5).records
    observation = stations.asset_observation
    assert observation.metadata["dagster/row_count"].value == 3  # the csv written above
    fingerprint = observation.metadata["datanectar/fingerprint"].value
    assert observation.tags["dagster/data_version"] == fingerprint
    assert observation.metadata["datanectar/bytes"].value == (
        (sources / "data" / "stations.csv").stat().st_size
    )
    [readings] = instance.fetch_observations(dg.AssetKey("readings"), limit=5).records
    assert readings.asset_observation.metadata["dagster/row_count"].value == 2
    assert observation.data_version == fingerprint  # the DataVersion Dagster shows

    # unchanged data, same fingerprint; a changed file, a new one
    job.execute_in_process(instance=instance, raise_on_error=False)
    again = instance.fetch_observations(dg.AssetKey("stations"), limit=1).records[0]
    assert again.asset_observation.metadata["datanectar/fingerprint"].value == fingerprint
    pd.DataFrame({"id": [1, 2, 3, 4], "name": list("abcd")}).to_csv(
        sources / "data" / "stations.csv", index=False
    )
    job.execute_in_process(instance=instance, raise_on_error=False)
    changed = instance.fetch_observations(dg.AssetKey("stations"), limit=1).records[0]
    assert changed.asset_observation.metadata["datanectar/fingerprint"].value != fingerprint
    assert changed.asset_observation.metadata["dagster/row_count"].value == 4


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


PARTITIONED = """\
by_city:
  format: csv
  path: "cities/{city}.csv"
  namespaces: [{name: city, values: [paris, lyon]}]
  checks:
    - row_count: {min: 2}
also_by_city:
  format: parquet
  path: "more/{city}.parquet"
  namespaces: [{name: city, values: [paris, lyon]}]
  checks:
    - not_null: [value]
daily:
  format: parquet
  path: "daily/{date}.parquet"
  namespaces: {daily: {start: "2024-01-01"}}
  checks:
    - row_count: {min: 1}
"""


def partitioned_sources(make_project, settings: str = ""):
    project = make_project(PARTITIONED, settings=settings)
    data = project / "data"
    for folder in ("cities", "more", "daily"):
        (data / folder).mkdir(parents=True)
    pd.DataFrame({"id": [1, 2]}).to_csv(data / "cities" / "paris.csv", index=False)
    pd.DataFrame({"id": [1]}).to_csv(data / "cities" / "lyon.csv", index=False)
    pd.DataFrame({"value": [1.0]}).to_parquet(data / "more" / "paris.parquet")
    pd.DataFrame({"value": [None]}).to_parquet(data / "more" / "lyon.parquet")
    pd.DataFrame({"value": [1.0]}).to_parquet(data / "daily" / "2024-03-04.parquet")
    (project / "definitions.py").write_text(
        "import datanectar\n\ndefs = datanectar.definitions(__file__)\n"
    )
    return project


def evaluations(instance: dg.DagsterInstance, entry: str, check: str) -> list:
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(entry), check), limit=10
    )
    return [record.event.dagster_event.event_specific_data for record in records]


def test_partitioned_sources_checks_run_per_partition_from_the_cli(make_project, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    project = partitioned_sources(make_project)
    defs = datanectar.definitions(project)
    assert {job.name for job in defs.jobs or []} == {"source_checks__city", "source_checks__date"}
    home = tmp_path / "cli_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dagster = Path(sys.executable).parent / "dagster"
    returncodes = {}
    for partition in ("paris", "lyon"):
        run = subprocess.run(
            [
                *(str(dagster), "job", "execute", "-f", "definitions.py"),
                *(
                    "-j",
                    "source_checks__city",
                    "--tags",
                    json.dumps({"dagster/partition": partition}),
                ),
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        returncodes[partition] = run.returncode
        if partition == "lyon":  # a failed blocking check fails the run, as CI needs
            assert "check 'row_count' failed on entry 'by_city'" in run.stderr
    assert returncodes["paris"] == 0 and returncodes["lyon"] != 0

    with dg.DagsterInstance.from_config(str(home)) as instance:
        rows = {e.partition: e.passed for e in evaluations(instance, "by_city", "row_count")}
        values = {e.partition: e.passed for e in evaluations(instance, "also_by_city", "not_null")}
    assert rows == {"paris": True, "lyon": False}  # lyon has one row
    assert values == {"paris": True, "lyon": False}  # lyon's value is null


def test_partitioned_source_checks_schedules_request_the_partitions_due(make_project, instance):
    import datetime as dt

    project = partitioned_sources(make_project, settings='source_checks_schedule = "0 6 * * *"\n')
    defs = datanectar.definitions(project)
    tick = dt.datetime(2024, 3, 5, 6, tzinfo=dt.UTC)
    repository = defs.get_repository_def()
    requested = {}
    for name in ("source_checks__city_schedule", "source_checks__date_schedule"):
        schedule = defs.resolve_schedule_def(name)
        assert schedule.cron_schedule == "0 6 * * *"
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=repository
        ) as context:
            requested[name] = sorted(
                r.tags["dagster/partition"] for r in schedule.evaluate_tick(context).run_requests
            )
    # every static key; the last complete day at the tick
    assert requested == {
        "source_checks__city_schedule": ["lyon", "paris"],
        "source_checks__date_schedule": ["2024-03-04"],
    }
    result = defs.resolve_job_def("source_checks__date").execute_in_process(
        instance=instance, tags={"dagster/partition": "2024-03-04"}
    )
    assert result.success
    [evaluation] = evaluations(instance, "daily", "row_count")
    assert evaluation.passed and evaluation.partition == "2024-03-04"


def test_a_partitioned_sources_checks_refuse_a_run_naming_no_or_another_partition(
    make_project, instance
) -> None:
    project = partitioned_sources(make_project)
    job = datanectar.definitions(project).resolve_job_def("source_checks__city")
    for tags, said in (
        ({}, "its checks run one partition at a time"),
        ({"dagster/partition": "rome"}, "partition 'rome' is not one of its partitions (paris"),
    ):
        result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
        assert not result.success
        assert said in failure_messages(result)
    # nothing judged: no check passed on a partition that is not one
    assert not any(
        getattr(e, "passed", False) for e in evaluations(instance, "by_city", "row_count")
    )


def test_a_job_named_apart_from_anothers_of_the_same_dimensions_names_itself(
    make_project, instance
) -> None:
    project = make_project(
        "a_cities:\n  format: csv\n  namespaces: [{name: city, values: [paris, lyon]}]\n"
        "  checks: [{row_count: {min: 1}}]\n"
        "b_cities:\n  format: csv\n  namespaces: [{name: city, values: [oslo, lima]}]\n"
        "  checks: [{row_count: {min: 1}}]\n"
    )
    defs = datanectar.definitions(project)
    names = {job.name for job in defs.jobs or []}
    assert names == {"source_checks__city", "source_checks__city__b_cities"}, names
    result = defs.resolve_job_def("source_checks__city__b_cities").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not result.success
    assert "-j source_checks__city__b_cities --tags" in failure_messages(result)
