"""Dynamic namespaces: keys added with the CLI, discovered in a store or an entry's column, and
added by a sensor that requests their runs (evaluated on a persistent Dagster instance)."""

from __future__ import annotations

import dagster as dg
import deltalake
import pandas as pd
import pyarrow.parquet as pq
import pytest

import datanectar
from datanectar.assets.sensors import namespace_sensors, sensor_name
from datanectar.cli import main
from datanectar.discovery import (
    Discovered,
    configured_discoveries,
    keys_in_entry,
    keys_in_store,
    new_keys,
)

CATALOG = """\
scenario_results:
  format: parquet
  path: "results/{namespace}.parquet"
  namespaces: {dynamic: scenarios}
stations:
  format: csv
city_obs:
  format: parquet
  path: "obs/{namespace}.parquet"
  namespaces: {dynamic: cities}
"""
STORES = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
DISCOVERY = """
[tool.datanectar.namespaces.scenarios]
discover = {store = "local", prefix = "incoming/scenarios"}
sensor_interval_seconds = 30

[tool.datanectar.namespaces.cities]
discover = {entry = "stations", column = "city"}
"""
HOSTILE = [
    "../etc",
    "a/b",
    "x'y",
    "..",
    "a..b",
    "/abs",
    'q"uote',
    "semi;colon",
    " ",
    "nl\n",  # `$` matches before a final newline: keys are matched whole
    "paris\n",
]


@datanectar.asset(entry="scenario_results")
def scenario_results(namespace):
    return pd.DataFrame({"scenario": [namespace], "length": [len(namespace)]})


@pytest.fixture
def project(make_project):
    return make_project(CATALOG, stores=STORES + DISCOVERY)


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def scenario_folders(project, *names):
    for name in names:
        (project / "data" / "incoming" / "scenarios" / name).mkdir(parents=True, exist_ok=True)


def cli(project, *arguments):
    return main(["--project", str(project), "namespaces", *arguments])


def stored_keys(name):
    with dg.DagsterInstance.get() as instance:
        return sorted(instance.get_dynamic_partitions(name))


# -- CLI -----------------------------------------------------------------------------------


def test_cli_adds_and_lists_keys(project, dagster_home, capsys):
    assert cli(project, "add", "scenarios", "base", "high-2050", "base") == 0
    assert "added 2 key(s) to 'scenarios'" in capsys.readouterr().out
    assert cli(project, "add", "scenarios", "base", "low") == 0
    out = capsys.readouterr().out
    assert "added 1 key(s)" in out and "already present: base" in out

    assert cli(project, "list", "scenarios") == 0
    assert capsys.readouterr().out.split() == ["base", "high-2050", "low"]
    # stored in the instance at DAGSTER_HOME, the one Dagster itself opens
    assert stored_keys("scenarios") == ["base", "high-2050", "low"]
    assert stored_keys("cities") == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_cli_refuses_hostile_keys_and_adds_none(project, dagster_home, capsys, hostile):
    assert cli(project, "add", "scenarios", "fine", hostile) == 2
    err = capsys.readouterr().err
    assert repr(hostile) in err and "not allowed" in err
    assert stored_keys("scenarios") == []  # not even the valid key given with it


def test_cli_refuses_unknown_namespace(project, dagster_home, capsys):
    assert cli(project, "add", "scenarioz", "base") == 2
    err = capsys.readouterr().err
    assert "'scenarioz'" in err and "cities, scenarios" in err
    assert cli(project, "list", "stations") == 2
    assert "dynamic namespaces: cities, scenarios" in capsys.readouterr().err


def test_cli_without_dagster_home_is_a_clear_error(project, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli(project, "list", "scenarios") == 2
    assert "DAGSTER_HOME is not set" in capsys.readouterr().err


def test_cli_discover_prints_new_keys_and_adds_them(project, dagster_home, capsys):
    scenario_folders(project, "base", "high", "bad..name")
    assert cli(project, "add", "scenarios", "base") == 0
    capsys.readouterr()

    assert cli(project, "discover", "scenarios") == 0
    captured = capsys.readouterr()
    assert captured.out.split() == ["high"]
    assert "'bad..name'" in captured.err
    assert stored_keys("scenarios") == ["base"]  # without --add nothing changes

    assert cli(project, "discover", "scenarios", "--add") == 0
    assert capsys.readouterr().out.split() == ["high"]
    assert stored_keys("scenarios") == ["base", "high"]


# -- discovery -----------------------------------------------------------------------------


def test_keys_in_store_are_sub_folders_checked(project):
    scenario_folders(project, "s2", "s1", ".hidden", "a..b", "it's", "2050+rcp8.5")
    (project / "data" / "incoming" / "scenarios" / "notes.txt").write_text("not a key")
    catalog = datanectar.catalog(project)

    found = keys_in_store(catalog, "local", "incoming/scenarios")

    assert found == Discovered(keys=["2050+rcp8.5", "s1", "s2"], rejected=["a..b", "it's"])
    assert keys_in_store(catalog, "local", "incoming/nothing-yet") == Discovered()
    assert keys_in_store(catalog, "local", "").keys == ["incoming"]
    with pytest.raises(datanectar.StoreError, match="escape"):
        keys_in_store(catalog, "local", "../outside")
    with pytest.raises(datanectar.StoreError, match="no store named 'remote'"):
        keys_in_store(catalog, "remote", "x")


def test_keys_in_entry_are_distinct_values_checked(project):
    catalog = datanectar.catalog(project)
    catalog.save(
        "stations",
        pd.DataFrame(
            {
                "station": [1, 2, 3, 4, 5, 6],
                "city": ["paris", "lyon", "paris", None, "o'slo", "../x"],
            }
        ),
    )

    found = keys_in_entry(catalog, "stations", "city")

    assert found == Discovered(keys=["lyon", "paris"], rejected=["../x", "o'slo"])
    assert keys_in_entry(catalog, "stations", "station").keys == ["1", "2", "3", "4", "5", "6"]
    with pytest.raises(datanectar.DatanectarError, match=r"no column 'town'.*station, city"):
        keys_in_entry(catalog, "stations", "town")


def test_new_keys_are_the_ones_not_present():
    discovered = Discovered(keys=["a", "b", "c"], rejected=["../d"])
    assert new_keys(discovered, ["b", "z"]) == ["a", "c"]
    assert new_keys(discovered, ["a", "b", "c"]) == []


def test_discovery_configuration_is_validated(make_project):
    catalog = datanectar.catalog(make_project(CATALOG, stores=STORES + DISCOVERY))
    discoveries = configured_discoveries(catalog)
    assert sorted(discoveries) == ["cities", "scenarios"]
    assert discoveries["scenarios"].sensor_interval_seconds == 30
    assert discoveries["cities"].sensor_interval_seconds == 60

    bad = {
        '[tool.datanectar.namespaces.scenarios]\ndiscover = {store = "local", folder = "x"}\n': (
            "tool.datanectar.namespaces.scenarios.discover.folder"
        ),
        '[tool.datanectar.namespaces.scenarios]\ndiscover = {store = "s3"}\n': (
            "tool.datanectar.namespaces.scenarios.discover.store"
        ),
        '[tool.datanectar.namespaces.scenarios]\ndiscover = {prefix = "../up"}\n': (
            "tool.datanectar.namespaces.scenarios.discover.prefix"
        ),
        '[tool.datanectar.namespaces.scenarios]\ndiscover = {entry = "nope", column = "c"}\n': (
            "tool.datanectar.namespaces.scenarios.discover.entry"
        ),
        "[tool.datanectar.namespaces.scenarios]\ndiscover = {}\nsensor_interval_seconds = 0\n": (
            "tool.datanectar.namespaces.scenarios.sensor_interval_seconds"
        ),
        '[tool.datanectar.namespaces.weather]\ndiscover = {prefix = "w"}\n': (
            "tool.datanectar.namespaces.weather"
        ),
    }
    for index, (table, field) in enumerate(bad.items()):
        root = make_project.root.parent / f"bad{index}"
        project = make_project.at(root)(CATALOG, stores=STORES + "\n" + table)
        with pytest.raises(datanectar.ConfigError) as raised:
            configured_discoveries(datanectar.catalog(project))
        assert raised.value.field == field
        assert raised.value.file.endswith("pyproject.toml")


# -- sensor --------------------------------------------------------------------------------


def test_sensor_adds_keys_requests_runs_then_skips(project, instance):
    scenario_folders(project, "base", "high", "bad..name")
    defs = datanectar.definitions(project, functions=[scenario_results])
    dg.Definitions.validate_loadable(defs)  # the sensor's target resolves
    sensor = defs.resolve_sensor_def(sensor_name("scenarios"))
    assert sensor.minimum_interval_seconds == 30

    first = sensor(dg.build_sensor_context(instance=instance, definitions=defs))

    assert isinstance(first, dg.SensorResult)
    assert [request.partition_key for request in first.run_requests] == ["base", "high"]
    assert all(
        request.asset_selection == [dg.AssetKey("scenario_results")]
        for request in first.run_requests
    )
    assert len({request.run_key for request in first.run_requests}) == 2
    (added,) = first.dynamic_partitions_requests
    assert isinstance(added, dg.AddDynamicPartitionsRequest)
    assert (added.partitions_def_name, list(added.partition_keys)) == (
        "scenarios",
        ["base", "high"],
    )

    # What the daemon does with the result, then the next tick: nothing new.
    instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))
    second = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
    assert isinstance(second, dg.SkipReason)
    assert "no new keys" in second.skip_message

    scenario_folders(project, "low")
    third = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
    assert [request.partition_key for request in third.run_requests] == ["low"]

    # A requested run, as the daemon would launch it.
    request = first.run_requests[1]
    result = dg.materialize(
        [*defs.assets],
        resources=defs.resources,
        instance=instance,
        partition_key=request.partition_key,
        selection=request.asset_selection,
    )
    assert result.success
    table = pq.read_table(project / "data" / "results" / "high.parquet")
    assert table.to_pylist() == [{"scenario": "high", "length": 4}]
    assert not (project / "data" / "results" / "base.parquet").exists()


def test_single_run_entries_get_one_run_over_the_new_keys(make_project, instance):
    # one Delta table partitioned by scenario: a run writes many namespaces (single-run backfill)
    catalog = CATALOG.replace(
        'scenario_results:\n  format: parquet\n  path: "results/{namespace}.parquet"\n',
        "scenario_results:\n  format: delta\n  path: results\n",
    )
    project = make_project(catalog, stores=STORES + DISCOVERY)
    scenario_folders(project, "base", "high", "low")
    defs = datanectar.definitions(project, functions=[scenario_results])
    assert defs.resolve_assets_def("scenario_results").backfill_policy == (
        dg.BackfillPolicy.single_run()
    )
    sensor = defs.resolve_sensor_def(sensor_name("scenarios"))

    first = sensor(dg.build_sensor_context(instance=instance, definitions=defs))

    (request,) = first.run_requests
    (added,) = first.dynamic_partitions_requests
    assert list(added.partition_keys) == ["base", "high", "low"]
    assert request.partition_key is None
    assert request.partition_key_range == dg.PartitionKeyRange("base", "low")
    assert request.asset_selection == [dg.AssetKey("scenario_results")]

    # The daemon adds the keys, then launches the run: one run writes the three namespaces.
    instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))
    result = dg.materialize(
        [*defs.assets],
        resources=defs.resources,
        instance=instance,
        tags=request.tags,
        selection=request.asset_selection,
    )
    assert result.success
    table = deltalake.DeltaTable(str(project / "data" / "results")).to_pandas()
    assert sorted(table["scenario"]) == ["base", "high", "low"]
    assert len(instance.get_runs()) == 1

    # one new key later: a run for that key alone
    scenario_folders(project, "mid")
    later = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
    assert [r.partition_key for r in later.run_requests] == ["mid"]


def test_sensor_without_produced_assets_only_adds_keys(project, instance, capsys):
    catalog = datanectar.catalog(project)
    catalog.save("stations", pd.DataFrame({"city": ["paris", "lyon", "../etc"]}))
    defs = datanectar.definitions(project, functions=[scenario_results])
    sensor = defs.resolve_sensor_def(sensor_name("cities"))

    result = sensor(dg.build_sensor_context(instance=instance, definitions=defs))

    assert result.run_requests == []  # city_obs is produced by nothing: no run to request
    (added,) = result.dynamic_partitions_requests
    assert list(added.partition_keys) == ["lyon", "paris"]
    assert "refused '../etc'" in capsys.readouterr().err  # logged, never added


def test_definitions_have_one_sensor_per_configured_namespace(make_project):
    without = datanectar.definitions(make_project(CATALOG), functions=[scenario_results])
    assert list(without.sensors or []) == []
    catalog = datanectar.catalog(make_project(CATALOG, stores=STORES + DISCOVERY))
    assert sorted(sensor.name for sensor in namespace_sensors(catalog)) == [
        "discover_cities",
        "discover_scenarios",
    ]
