"""Removing keys of a dynamic namespace (`datanectar namespaces remove`): their data goes from
every entry they partition (files, delta and sql tables, one dimension of two, cached results
keyed by cache arguments), the key leaves the Dagster instance at $DAGSTER_HOME, and neither
`namespaces discover` nor the `discover_NAME` sensor adds it again unless asked. Read back with
the storage libraries and the instance itself."""

from __future__ import annotations

import importlib
import sys

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

import datanectar
from datanectar.assets.sensors import sensor_name
from datanectar.cli import main

CATALOG = """\
scenario_results:
  format: parquet
  path: "results/{namespace}.parquet"
  namespaces: {dynamic: scenarios}
scenario_table:
  format: delta
  namespaces: {dynamic: scenarios}
scenario_rows:
  format: sql
  namespaces: {dynamic: scenarios}
grid:
  format: delta
  namespaces: {scenario: {dynamic: scenarios}, city: [paris, oslo]}
grid_rows:
  format: sql
  namespaces: {city: [paris, oslo], scenario: {dynamic: scenarios}}
grid_files:
  format: parquet
  namespaces: {city: [paris, oslo], scenario: {dynamic: scenarios}}
daily_files:
  format: parquet
  path: "daily/{scenario}/{date}.parquet"
  namespaces: {scenario: {dynamic: scenarios}, date: {daily: {start: "2024-01-01", end: "2024-01-04"}}}
"""
STORES = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
DISCOVERY = """
[tool.datanectar.namespaces.scenarios]
discover = {store = "local", prefix = "incoming/scenarios"}
"""
MODULE = """
import pandas as pd
import datanectar

@datanectar.cache(
    namespaces={"dynamic": "scenarios"}, format="parquet", version="1", cache_args=["factor"]
)
def summary(namespace: str, factor: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"scenario": [namespace], "value": [len(namespace) * factor]})
"""
KEYS = ["base", "high", "low"]
CITIES = ["paris", "oslo"]
DATES = ["2024-01-01", "2024-01-02", "2024-01-03"]


@datanectar.asset(entry="scenario_results")
def scenario_results(namespace):
    return pd.DataFrame({"scenario": [namespace]})


def frame(key: str, **more: str) -> pd.DataFrame:
    return pd.DataFrame({"value": [float(len(key))], **{k: [v] for k, v in more.items()}})


@pytest.fixture
def dagster_home(tmp_path, monkeypatch, hermetic_cache):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def project(make_cache_project, dagster_home):
    """Every entry holds data of every key: base, high and low."""
    root = make_cache_project(CATALOG, stores=STORES + DISCOVERY, modules={"plans": MODULE})
    sys.path.insert(0, str(root))
    module = importlib.import_module("plans")
    catalog = datanectar.catalog(root)
    assert cli(root, "add", "scenarios", *KEYS) == 0
    for key in KEYS:
        (root / "data" / "incoming" / "scenarios" / key).mkdir(parents=True)
        catalog.save("scenario_results", frame(key), namespace=key)
        catalog.save("scenario_table", frame(key), namespace=key)
        catalog.save("scenario_rows", frame(key), namespace=key)
        for city in CITIES:
            for name in ("grid", "grid_rows"):
                catalog.save(
                    name, frame(key, where=city), namespace={"scenario": key, "city": city}
                )
            catalog.save(
                "grid_files", frame(key, where=city), namespace={"city": city, "scenario": key}
            )
        for date in DATES:
            catalog.save("daily_files", frame(key), namespace={"scenario": key, "date": date})
        with catalog.activate():
            module.summary(namespace=key)
            module.summary(namespace=key, factor=3)
    yield root
    sys.path.remove(str(root))


def cli(project, *arguments):
    return main(["--project", str(project), "namespaces", *arguments])


def instance_keys(name):
    with dg.DagsterInstance.get() as instance:
        return sorted(instance.get_dynamic_partitions(name))


def files(folder):
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*.parquet")
        if not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def delta_rows(table) -> list[tuple]:
    data = DeltaTable(str(table)).to_pandas()
    columns = [c for c in ("scenario", "city", "namespace") if c in data.columns]
    return sorted(data[columns].itertuples(index=False, name=None))


def sql_table(root, table) -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{root / 'data' / 'datanectar.sqlite'}")
    with engine.connect() as connection:
        rows = pd.read_sql_table(table, connection)
    engine.dispose()
    return rows


def sql_namespaces(root) -> list[str]:
    return sorted(sql_table(root, "scenario_rows")["namespace"])


def test_remove_takes_the_keys_data_from_every_entry_and_the_key_from_dagster(project, capsys):
    data = project / "data"
    summaries_before = files(data / "summary")
    assert len(summaries_before) == 6  # a result per key, and one keyed by factor=3

    assert cli(project, "remove", "scenarios", "high", "--include-sources") == 0

    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1  # one line per key, as a CI log reads it
    line = out[0]
    assert line.startswith("removed key 'high' from dynamic namespace 'scenarios'; removed ")
    for named in (
        "scenario_results: results/high.parquet",
        "scenario_table: scenario_table where namespace=high",
        "scenario_rows: scenario_rows where namespace=high",
        "grid: grid where scenario=high",
        "grid_rows: grid_rows where scenario=high",
        "grid_files: grid_files/oslo/high.parquet, grid_files/paris/high.parquet",
        "daily_files: daily/high/2024-01-01.parquet, daily/high/2024-01-02.parquet, "
        "daily/high/2024-01-03.parquet",
        "12 object(s)",
        "2 cache record(s)",
    ):
        assert named in line
    # Dagster no longer has the key; the removal is recorded beside it.
    assert instance_keys("scenarios") == ["base", "low"]
    assert instance_keys("scenarios:removed") == ["high"]
    # Files: high's gone, the others' intact.
    assert files(data / "results") == ["base.parquet", "low.parquet"]
    assert files(data / "grid_files") == [
        f"{city}/{key}.parquet" for city in sorted(CITIES) for key in ("base", "low")
    ]
    assert files(data / "daily") == [
        f"{key}/{date}.parquet" for key in ("base", "low") for date in DATES
    ]
    assert pq.read_table(data / "results" / "low.parquet").column("value").to_pylist() == [3.0]
    # Tables: high's rows gone, the others' read back with deltalake and SQLAlchemy.
    assert delta_rows(data / "scenario_table") == [("base",), ("low",)]
    assert delta_rows(data / "grid") == [
        (key, city) for key in ("base", "low") for city in sorted(CITIES)
    ]
    assert sql_namespaces(project) == ["base", "low"]
    grid_rows = sql_table(project, "grid_rows")
    assert sorted(zip(grid_rows["scenario"], grid_rows["city"], strict=True)) == [
        (key, city) for key in ("base", "low") for city in sorted(CITIES)
    ]
    tokens = sql_table(project, "datanectar_versions")
    assert not tokens["namespace"].str.contains("high").any()  # no namespace of high stays ...
    assert tokens["namespace"].str.contains("city=oslo/scenario=low", regex=False).any()
    # Cached results: both calls of high (factor 1 and 3), objects and records.
    summaries = files(data / "summary")
    assert len(summaries) == 4 and not any("high" in path for path in summaries)
    records = data / ".datanectar" / "records" / "summary"
    assert not any("high" in str(path) for path in records.rglob("*.json"))
    assert any("low" in str(path) for path in records.rglob("*.json"))
    catalog = datanectar.catalog(project)
    with pytest.raises(datanectar.DataNotFoundError):
        catalog.load("scenario_table", namespace="high")
    with pytest.raises(datanectar.DataNotFoundError):
        catalog.load("grid", namespace={"scenario": "high", "city": "paris"})
    assert catalog.load("grid", namespace={"scenario": "low", "city": "oslo"})[
        "where"
    ].tolist() == ["oslo"]
    assert not catalog.exists("scenario_rows", namespace="high")
    for city in CITIES:  # ... not even as a namespace written with no rows
        assert not catalog.exists("grid_rows", namespace={"scenario": "high", "city": city})
    assert catalog.exists("grid_rows", namespace={"scenario": "base", "city": "paris"})


def test_keep_data_leaves_the_data_and_forgets_the_key(project, capsys):
    data = project / "data"
    before = files(data)

    assert cli(project, "remove", "scenarios", "low", "--keep-data") == 0

    assert "removed key 'low' from dynamic namespace 'scenarios'; data kept and ignored" in (
        capsys.readouterr().out
    )
    assert files(data) == before
    assert delta_rows(data / "grid").count(("low", "paris")) == 1
    assert sql_namespaces(project) == sorted(KEYS)
    assert instance_keys("scenarios") == ["base", "high"]
    assert instance_keys("scenarios:removed") == ["low"]

    # The data can still be removed later, although Dagster no longer has the key.
    assert cli(project, "remove", "scenarios", "low", "--include-sources") == 0
    assert "results/low.parquet" in capsys.readouterr().out
    assert files(data / "results") == ["base.parquet", "high.parquet"]


def test_discover_skips_removed_keys_unless_asked_and_add_forgets_the_removal(project, capsys):
    assert cli(project, "remove", "scenarios", "high", "low", "--keep-data") == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2

    assert cli(project, "discover", "scenarios", "--add") == 0
    captured = capsys.readouterr()
    assert captured.out.split() == []
    assert "skipped 2 removed key(s): high, low" in captured.err
    assert instance_keys("scenarios") == ["base"]

    assert cli(project, "add", "scenarios", "high") == 0
    assert "removal forgotten: high" in capsys.readouterr().out
    assert instance_keys("scenarios:removed") == ["low"]

    assert cli(project, "discover", "scenarios", "--add", "--include-removed") == 0
    captured = capsys.readouterr()
    assert captured.out.split() == ["low"]
    assert "included 1 removed key(s): low" in captured.err
    assert instance_keys("scenarios") == ["base", "high", "low"]
    assert instance_keys("scenarios:removed") == []


def test_the_sensor_does_not_add_a_removed_key_again(project):
    defs = datanectar.definitions(project, functions=[scenario_results])
    sensor = defs.resolve_sensor_def(sensor_name("scenarios"))
    with dg.DagsterInstance.get() as instance:
        # Before: all three keys are present, nothing new.
        assert isinstance(
            sensor(dg.build_sensor_context(instance=instance, definitions=defs)), dg.SkipReason
        )
        # Dagster's own delete, without datanectar: the next tick adds the key back.
        instance.delete_dynamic_partition("scenarios", "base")
        readded = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert [request.partition_key for request in readded.run_requests] == ["base"]
        instance.add_dynamic_partitions("scenarios", ["base"])

    assert (
        main(
            [
                "--project",
                str(project),
                "namespaces",
                "remove",
                "scenarios",
                "base",
                "--include-sources",
            ]
        )
        == 0
    )

    with dg.DagsterInstance.get() as instance:
        assert sorted(instance.get_dynamic_partitions("scenarios")) == ["high", "low"]
        after = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(after, dg.SkipReason)
        assert "skipped 1 removed key(s): base" in after.skip_message
        # A new folder is still discovered, the removed one still skipped.
        (project / "data" / "incoming" / "scenarios" / "mid").mkdir()
        tick = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert [request.partition_key for request in tick.run_requests] == ["mid"]
        (added,) = tick.dynamic_partitions_requests
        assert list(added.partition_keys) == ["mid"]
    assert not (project / "data" / "results" / "base.parquet").exists()


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["scenarioz", "base"], "no catalog entry uses a dynamic namespace named 'scenarioz'"),
        (["scenarios", "base", "../etc"], "'../etc' is not allowed"),
        (["scenarios", "base", "hihg"], "has no key 'hihg' in the Dagster instance"),
    ],
)
def test_remove_refuses_before_touching_anything(project, capsys, arguments, said):
    before = files(project / "data")

    assert cli(project, "remove", *arguments) == 2

    err = capsys.readouterr().err
    assert said in err
    assert files(project / "data") == before
    assert instance_keys("scenarios") == KEYS
    assert instance_keys("scenarios:removed") == []
    if "hihg" in arguments:
        assert "Did you mean 'high'?" in err and "--absent-ok" in err
        assert cli(project, "remove", *arguments, "--absent-ok") == 0
        out = capsys.readouterr().out
        assert "removed key 'hihg' from dynamic namespace 'scenarios' (not in the Dagster" in out
        assert "no stored data of it" in out
        assert instance_keys("scenarios") == ["high", "low"]


def test_remove_without_dagster_home_is_a_clear_error(project, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME")
    assert cli(project, "remove", "scenarios", "base") == 2
    assert "DAGSTER_HOME is not set" in capsys.readouterr().err
    assert (project / "data" / "results" / "base.parquet").exists()


def test_sources_keep_their_data_unless_asked(project, capsys):
    """An entry nothing produces holds inputs: removing a key leaves their data (the key
    stays recorded as removed, so discovery does not add it back), unless --include-sources."""
    assert cli(project, "remove", "scenarios", "high") == 0
    said = capsys.readouterr().out
    assert "kept, sources (inputs; --include-sources removes them)" in said
    assert (project / "data" / "results" / "high.parquet").exists()
