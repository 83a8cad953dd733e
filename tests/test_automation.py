"""automation.yaml: asset jobs with parameter sets as run config, their schedules, declarative
automation on entries and the run-failure hook, evaluated with Dagster's own test contexts on a
persistent instance."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import zoneinfo

import dagster as dg
import pandas as pd
import pytest

import datanectar
from datanectar.errors import CatalogError, ConfigError

CATALOG = """\
readings:
  format: csv
  path: readings.csv
  checks:
    - row_count: {min: 2}
means:
  format: json
daily:
  format: json
  namespaces: {daily: {start: "2026-01-01"}}
summary:
  format: json
  automation: eager
by_city:
  format: json
  namespaces: [paris, lyon]
broken:
  format: json
"""

PIPELINES = """\
import pandas as pd

import datanectar


@datanectar.cache(cache_args=["agg_days"])
def means(readings: pd.DataFrame, agg_days: int = 7) -> dict:
    return {"agg_days": agg_days, "rows": len(readings)}


@datanectar.asset
def daily(readings: pd.DataFrame) -> dict:
    return {"rows": len(readings)}


@datanectar.asset
def by_city(readings: pd.DataFrame) -> dict:
    return {"rows": len(readings)}


@datanectar.asset
def broken(readings: pd.DataFrame) -> dict:
    raise ValueError("station feed offline")


@datanectar.asset
def summary(means: dict) -> dict:
    return {"agg_days": means["agg_days"]}
"""

ALERTS = """\
failures = []


def record(failure):
    failures.append(failure)
"""

AUTOMATION = """\
jobs:
  nightly:
    select: "key:readings+ and not key:daily and not key:by_city and not key:broken"
    parameters: monthly
    tags: {team: weather}
  daily_job:
    select: "key:daily"
  broken_job:
    select: "key:broken"
parameters:
  base: {means: {agg_days: 7}}
  monthly: {_from: [base], means: {agg_days: 30}}
schedules:
  nightly: {cron: "0 3 * * *", timezone: Europe/Paris}
  daily_job: {cron: "0 1 * * *", status: stopped}
run_failure: {call: "alerts:record"}
"""


@pytest.fixture
def project(make_project):
    def build(automation: str = AUTOMATION, catalog: str = CATALOG, settings: str = ""):
        root = make_project(
            catalog, settings=settings, modules={"pipelines": PIPELINES, "alerts": ALERTS}
        )
        (root / "automation.yaml").write_text(textwrap.dedent(automation))
        (root / "data").mkdir(exist_ok=True)
        pd.DataFrame({"station": ["a", "b", "c"], "value": [1.0, 2.0, 3.0]}).to_csv(
            root / "data" / "readings.csv", index=False
        )
        return root

    return build


def read_json(path) -> dict:
    return json.loads(path.read_text())


def stored_means(root) -> dict:
    """The one result of the keyed cached function, as json reads it."""
    [stored] = (root / "data" / "means").glob("*.json")
    return read_json(stored)


def condition_of(defs: dg.Definitions, name: str) -> dg.AutomationCondition | None:
    return defs.resolve_asset_graph().get(dg.AssetKey(name)).automation_condition


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data.passed
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


# -- jobs and parameter sets -------------------------------------------------------------------


def test_a_job_runs_its_selection_with_the_parameter_set_as_run_config(project, instance):
    root = project()
    defs = datanectar.definitions(root)
    job = defs.resolve_job_def("nightly")
    assert job.tags["team"] == "weather"
    # the parameter set, inherited and overridden, is the job's run config (the launchpad's)
    assert job.run_config == {"ops": {"means": {"config": {"agg_days": 30}}}}

    result = job.execute_in_process(instance=instance)

    assert result.success
    assert stored_means(root) == {"agg_days": 30, "rows": 3}
    assert read_json(root / "data" / "summary.json") == {"agg_days": 30}
    assert not (root / "data" / "daily").exists()
    # the selection's source is checked as the job reads it
    assert check_results(result) == {"row_count": True}
    materialized = {
        key.to_user_string()
        for key in instance.get_asset_keys()
        if instance.get_latest_materialization_event(key) is not None
    }
    assert materialized == {"means", "summary"}


def test_later_sets_win_per_argument_and_chains_resolve(project):
    automation = AUTOMATION.replace(
        "  monthly: {_from: [base], means: {agg_days: 30}}\n",
        "  monthly: {_from: [base], means: {agg_days: 30}}\n"
        "  yearly: {_from: monthly, means: {agg_days: 365}}\n"
        "  both: {_from: [yearly, base]}\n",
    ).replace("parameters: monthly", "parameters: both")
    defs = datanectar.definitions(project(automation))
    # `both` inherits yearly, then base: the later parent wins
    assert defs.resolve_job_def("nightly").run_config == {
        "ops": {"means": {"config": {"agg_days": 7}}}
    }


def test_a_job_without_parameters_runs_the_functions_defaults(project, instance):
    root = project(AUTOMATION.replace("    parameters: monthly\n", ""))
    job = datanectar.definitions(root).resolve_job_def("nightly")
    assert job.execute_in_process(instance=instance).success
    assert stored_means(root) == {"agg_days": 7, "rows": 3}


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        (
            ("  base: {means: {agg_days: 7}}", "  base: {_from: [monthly], means: {agg_days: 7}}"),
            "parameters.monthly._from",
            "cycle: base -> monthly -> base",
        ),
        (
            ("_from: [base]", "_from: [bsae]"),
            "parameters.monthly._from",
            "no parameter set 'bsae'",
        ),
        (
            ("parameters: monthly", "parameters: montly"),
            "jobs.nightly.parameters",
            "no parameter set 'montly'. Did you mean 'monthly'?",
        ),
        (
            ("means: {agg_days: 30}", "means: {agg_day: 30}"),
            "parameters.monthly.means.agg_day",
            "takes no run config 'agg_day'",
        ),
        (
            ("base: {means: {agg_days: 7}}", "base: {readings: {agg_days: 7}}"),
            "parameters.base.readings",
            "'readings' is not a produced entry",
        ),
        (
            ('select: "key:daily"', 'select: "key:daly"'),
            "jobs.daily_job.select",
            "daly",
        ),
        (
            ('select: "key:daily"', 'select: "key:daily or key:by_city"'),
            "jobs.daily_job.select",
            "partitioned differently",
        ),
        (
            ("  daily_job: {cron:", "  weekly: {cron:"),
            "schedules.weekly",
            "no job 'weekly' to schedule",
        ),
        (
            ('cron: "0 1 * * *"', 'cron: "0 25 * * *"'),
            "schedules.daily_job.cron",
            "0 25 * * *",
        ),
        (
            ("timezone: Europe/Paris", "timezone: Europe/Pariss"),
            "schedules.nightly.timezone",
            "unknown time zone 'Europe/Pariss'",
        ),
        (
            ('call: "alerts:record"', 'call: "alerts:recrod"'),
            "run_failure.call",
            "cannot import 'alerts:recrod'",
        ),
        (
            ('call: "alerts:record"', 'call: "alerts.record()"'),
            "run_failure.call",
            "is not 'package.module:function'",
        ),
        (("run_failure:", "run_failures:"), "run_failures", "Did you mean 'run_failure'?"),
        # an unknown key is the reason, not the key it left missing
        (
            ('    select: "key:daily"', '    selct: "key:daily"'),
            "jobs.daily_job.selct",
            "unknown key 'selct'. Did you mean 'select'?",
        ),
        (
            ("    parameters: monthly", "    parameter: monthly"),
            "jobs.nightly.parameter",
            "Did you mean 'parameters'?",
        ),
        (("_from: [base]", "_form: [base]"), "parameters.monthly._form", "Did you mean '_from'?"),
        (("_from: [base]", "_from: 3"), "parameters.monthly._from", "a set's name or a list"),
        # a set naming what the job does not run: its values would be ignored
        (
            ("base: {means: {agg_days: 7}}", "base: {means: {agg_days: 7}, daily: {}}"),
            "jobs.nightly.parameters",
            "sets daily, which the job does not run",
        ),
        # names Dagster needs unique and well formed
        (("  daily_job:\n", "  means:\n"), "jobs.means", "'means' is already a catalog entry"),
        (
            ("  daily_job:\n", "  source_checks:\n"),
            "jobs.source_checks",
            "'source_checks' is already a job datanectar defines",
        ),
        (("  daily_job:\n", "  'daily job':\n"), "jobs.daily job", "not a name Dagster accepts"),
        (
            ('call: "alerts:record"}', 'call: "alerts:record", jobs: [nightyl]}'),
            "run_failure.jobs",
            "no job 'nightyl'",
        ),
    ],
)
def test_bad_automation_names_file_and_field(project, change, field, said):
    with pytest.raises(ConfigError) as raised:
        datanectar.definitions(project(AUTOMATION.replace(*change)))
    message = str(raised.value)
    assert "automation.yaml" in message
    assert field in message
    assert said in message


def test_an_unused_parameter_cycle_is_an_error_all_the_same(project):
    text = AUTOMATION.replace("parameters:\n", "parameters:\n  a: {_from: b}\n  b: {_from: a}\n")
    with pytest.raises(ConfigError, match="cycle: a -> b -> a"):
        datanectar.definitions(project(text))


def test_a_sensor_named_like_a_schedule_names_the_field(project):
    text = AUTOMATION + "sensors:\n  nightly_schedule: {watch: readings}\n"
    with pytest.raises(ConfigError) as raised:
        datanectar.definitions(project(text))
    assert "sensors.nightly_schedule" in str(raised.value)
    assert "already declared at schedules.nightly" in str(raised.value)


@pytest.mark.parametrize("text", ["[]", "- jobs\n", "just text\n"])
def test_an_automation_file_that_is_not_a_mapping_is_refused(project, text):
    with pytest.raises(ConfigError, match="is a mapping of jobs"):
        datanectar.definitions(project(text))


def test_source_checks_scheduled_twice_is_an_error(project):
    automation = AUTOMATION + "schedules_extra: {}\n"
    with pytest.raises(ConfigError, match="schedules_extra"):
        datanectar.definitions(project(automation))
    twice = AUTOMATION.replace("schedules:\n", 'schedules:\n  source_checks: {cron: "0 6 * * *"}\n')
    with pytest.raises(ConfigError) as raised:
        datanectar.definitions(project(twice, settings='source_checks_schedule = "0 5 * * *"\n'))
    assert "source_checks" in str(raised.value)


def test_no_automation_file_means_no_jobs_of_its_own(make_project):
    root = make_project(CATALOG, modules={"pipelines": PIPELINES})
    defs = datanectar.definitions(root)
    names = {job.name for job in defs.resolve_all_job_defs()}
    assert "nightly" not in names
    assert defs.schedules in (None, []) or not list(defs.schedules)


def test_a_named_automation_file_must_exist(project):
    root = project(settings='automation = "ops/automation.yaml"\n')
    with pytest.raises(ConfigError) as raised:
        datanectar.definitions(root)
    assert "tool.datanectar.automation" in str(raised.value)
    (root / "ops").mkdir()
    (root / "automation.yaml").rename(root / "ops" / "automation.yaml")
    assert datanectar.definitions(root).resolve_job_def("nightly") is not None


# -- schedules ---------------------------------------------------------------------------------


def test_a_schedule_ticks_in_its_time_zone(project, instance):
    defs = datanectar.definitions(project())
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "Europe/Paris"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2026, 3, 2, 3, 0, tzinfo=paris)
    )
    requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1
    assert requests[0].partition_key is None


def test_a_partitioned_jobs_schedule_requests_the_partition_due(project, instance):
    root = project()
    defs = datanectar.definitions(root)
    schedule = defs.resolve_schedule_def("daily_job_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC),
    )
    requests = schedule.evaluate_tick(context).run_requests
    # the day that ended is due, as Dagster's partitioned schedules request
    assert [request.tags["dagster/partition"] for request in requests] == ["2026-03-01"]

    job = defs.resolve_job_def("daily_job")
    assert job.execute_in_process(instance=instance, partition_key="2026-03-01").success
    assert read_json(root / "data" / "daily" / "2026-03-01.json") == {"rows": 3}


# -- declarative automation --------------------------------------------------------------------


def test_eager_entry_follows_its_upstream(project, instance, materialize):
    root = project()
    defs = datanectar.definitions(root)
    summary = dg.AssetKey("summary")
    assert condition_of(defs, "summary") is not None
    sensor = defs.resolve_sensor_def("datanectar_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    # nothing materialized yet: summary waits for its upstream
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0

    materialize(root, "means")
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert second.get_requested_partitions(summary) == {None}
    assert second.total_requested == 1

    # requested once: the next evaluation, nothing new upstream, requests nothing
    materialize(root, "summary")
    third = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
    assert third.total_requested == 0
    materialize(root, "means", asset_config={"means": {"agg_days": 3}})
    fourth = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=third.cursor)
    assert fourth.get_requested_partitions(summary) == {None}


JOINED = """\
import pandas as pd

import datanectar


@datanectar.asset
def means(readings: pd.DataFrame) -> dict:
    return {"rows": len(readings)}


@datanectar.asset
def joined(readings: pd.DataFrame, means: dict) -> dict:
    return {"rows": len(readings), "means": means["rows"]}
"""


def test_an_entry_reading_a_source_follows_its_other_upstreams(make_project, instance, materialize):
    """A source is never materialized: Dagster counts it missing for ever, and an eager entry
    reading it would never run again; its condition ignores it."""
    root = make_project(
        "readings:\n  format: csv\n  path: readings.csv\nmeans:\n  format: json\n"
        "joined:\n  format: json\n  automation: eager\n",
        modules={"joined_pipelines": JOINED},
    )
    (root / "data").mkdir()
    pd.DataFrame({"value": [1.0, 2.0]}).to_csv(root / "data" / "readings.csv", index=False)
    defs = datanectar.definitions(root)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    materialize(root, "means")
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert second.get_requested_partitions(dg.AssetKey("joined")) == {None}


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (
            "eagr",
            "unknown automation 'eagr': eager, on_missing or {on_cron: '0 3 * * *'}. Did you mean 'eager'?",
        ),
        ("{on_corn: '0 3 * * *'}", "unknown key 'on_corn' in automation. Did you mean 'on_cron'?"),
        ("{on_cron: '0 3 * * *', timezone: Nope/Zone}", "unknown time zone 'Nope/Zone'"),
        ("{on_cron: 'at three'}", "'at three' is not a cron schedule"),
    ],
)
def test_a_bad_automation_is_one_error_naming_the_entry(project, value, said):
    catalog = CATALOG.replace("automation: eager", f"automation: {value}")
    with pytest.raises(CatalogError) as raised:
        datanectar.definitions(project(catalog=catalog))
    message = str(raised.value)
    assert "entry 'summary': field 'automation': " + said in message
    assert message.count("automation") <= 3  # one error, not one per form it could take


@pytest.mark.parametrize(
    ("value", "condition"),
    [("on_missing", "on_missing"), ('{on_cron: "0 3 * * *"}', "on_cron")],
)
def test_other_conditions(project, value, condition):
    catalog = CATALOG.replace("automation: eager", f"automation: {value}")
    defs = datanectar.definitions(project(catalog=catalog))
    text = str(condition_of(defs, "summary"))
    assert condition.replace("_", "") in text.replace("_", "").lower()


def test_automation_on_a_source_is_a_catalog_error(project):
    catalog = CATALOG.replace(
        "  path: readings.csv\n", "  path: readings.csv\n  automation: eager\n"
    )
    with pytest.raises(CatalogError) as raised:
        datanectar.definitions(project(catalog=catalog))
    assert "readings" in str(raised.value)
    assert "automation" in str(raised.value)


# -- the run-failure hook ----------------------------------------------------------------------


def failure_context(defs: dg.Definitions, instance, job_name: str | None):
    """A failed run of the job (None: the asset job `dagster asset materialize` runs) and the
    context Dagster's run-failure sensor gets for it."""
    job = (
        defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={dg.AssetKey("broken")}
        )
        if job_name is None
        else defs.resolve_job_def(job_name)
    )
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(
        event for event in result.all_events if event.event_type_value == "PIPELINE_FAILURE"
    )
    return dg.build_run_status_sensor_context(
        sensor_name="datanectar_run_failure",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
    ).for_run_failure()


def test_a_failed_run_reaches_the_hook_with_its_failed_steps(project, instance):
    defs = datanectar.definitions(project())
    import alerts  # the project's, imported by its definitions

    sensor = defs.resolve_sensor_def("datanectar_run_failure")
    context = failure_context(defs, instance, "broken_job")

    sensor(context)

    [failure] = alerts.failures
    assert failure.job_name == "broken_job"
    assert failure.run_id == context.dagster_run.run_id
    assert set(failure.failed_steps) == {"broken"}
    assert failure.failed_steps["broken"] == "ValueError: station feed offline"


def test_a_cli_run_reaches_the_hook(project, instance):
    """`dagster asset materialize` (CI) runs the asset job, launched from no code location:
    Dagster's default run-failure sensor would not see it."""
    defs = datanectar.definitions(project())
    import alerts

    sensor = defs.resolve_sensor_def("datanectar_run_failure")
    context = failure_context(defs, instance, None)
    assert context.dagster_run.job_name == "__ASSET_JOB"
    sensor(context)
    [failure] = alerts.failures
    assert failure.failed_steps == {"broken": "ValueError: station feed offline"}


def test_the_hook_watches_only_the_jobs_named(project, instance):
    automation = AUTOMATION.replace(
        'run_failure: {call: "alerts:record"}',
        'run_failure: {call: "alerts:record", jobs: [nightly]}',
    )
    defs = datanectar.definitions(project(automation))
    import alerts

    sensor(defs, "datanectar_run_failure")(failure_context(defs, instance, "broken_job"))
    assert alerts.failures == []


def sensor(defs: dg.Definitions, name: str):
    return defs.resolve_sensor_def(name)
