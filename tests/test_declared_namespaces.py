"""Plain calls and `catalog.load/save` refuse the namespace keys Dagster would refuse: keys a
static dimension does not list, and keys that are not periods of a time dimension (written
otherwise, misaligned, before the start, past the end or the present). Time periods are
checked against Dagster's own partitions definitions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import datanectar
from datanectar.assets.partitions import partitions_def
from datanectar.catalog import Entry
from datanectar.catalog.namespaces import parse_namespaces
from datanectar.catalog.time_keys import time_key_problem, time_keys
from datanectar.cli import main
from datanectar.errors import NamespaceKeyError

NOW = dt.datetime(2024, 3, 5, 14, 30, tzinfo=dt.UTC)
TIME_DIMENSIONS = [
    {"daily": {"start": "2024-01-01"}},
    {"daily": {"start": "2024-01-01", "end": "2024-02-01"}},
    {"daily": {"start": "2024-02-20", "end_offset": 2}},
    {"hourly": {"start": "2024-03-04-20:00", "timezone": "Europe/Paris"}},
    {"hourly": {"start": "2024-03-05-00:00", "timezone": "America/New_York"}},
    {"weekly": {"start": "2024-01-01"}},
    {"weekly": {"start": "2024-01-07"}},
    {"monthly": {"start": "2023-05-15"}},
    {"monthly": {"start": "2023-11-01", "end_offset": 1}},
    {"daily": {"start": "2024-03-05"}},
    {
        "hourly": {
            "start": "2024-03-30-00:00",
            "timezone": "Europe/Paris",
            "end": "2024-04-01-00:00",
        }
    },
    {
        "hourly": {
            "start": "2024-10-26-00:00",
            "timezone": "Europe/Paris",
            "end": "2024-10-28-00:00",
        }
    },
    {
        "hourly": {
            "start": "2024-11-02-00:00",
            "timezone": "America/New_York",
            "end": "2024-11-04-00:00",
        }
    },
]


LATER = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)  # after the changes of clocks of 2024


@pytest.mark.parametrize("now", [NOW, LATER], ids=["2024-03-05", "2024-12-01"])
@pytest.mark.parametrize("spec", TIME_DIMENSIONS, ids=str)
def test_time_keys_are_dagsters(spec, now):
    [dimension] = parse_namespaces(spec)
    entry = Entry(name="x", namespaces=[dimension])
    dagster_keys = partitions_def(entry).get_partition_keys(current_time=now)
    assert time_keys(dimension, now=now) == dagster_keys
    # Every Dagster key passes; its neighbours outside the range, and misspellings, do not.
    cadence = str(dimension.cadence)
    for key in dagster_keys:
        assert time_key_problem(dimension, key, now=now) is None, key
    candidates = {
        "daily": ["2023-12-31", "2024-03-05", "2024-03-08", "2024-1-2", "2024-01-02-00:00"],
        "hourly": [
            "2024-03-04-19:00",
            "2024-03-05-15:00",
            "2024-03-05-10:30",
            "2024-03-05",
            "2024-03-31-02:00",  # skipped by the clocks in Paris
            "2024-10-27-02:00+0100",  # Paris's repeated hour, its second time
            "2024-10-27-02:00+0200",
            "2024-11-03-01:00-0500",  # New York's repeated hour
        ],
        "weekly": ["2023-12-31", "2024-01-08", "2024-03-03", "2024-03-10"],
        "monthly": ["2023-05-01", "2023-06-02", "2024-04-01", "2024-05-01"],
    }[cadence]
    for key in candidates:
        assert (time_key_problem(dimension, key, now=now) is None) == (key in dagster_keys), key


READINGS = """
import pandas as pd
import datanectar

calls = []

@datanectar.cache(namespaces=["north", "south", "east"], format="parquet")
def readings(namespace: str) -> pd.DataFrame:
    calls.append(namespace)
    return pd.DataFrame({"region": [namespace]})
"""


def test_a_plain_call_refuses_an_undeclared_namespace_before_running(make_project, hermetic_cache):
    project = make_project("", modules={"regional": READINGS})
    catalog = datanectar.catalog(project)
    import regional

    with catalog.activate():
        with pytest.raises(NamespaceKeyError) as info:
            regional.readings(namespace="west")
        assert regional.calls == []  # the body never ran
        message = str(info.value)
        assert "namespace 'west' is not declared for dimension 'namespace'" in message
        assert "Declared: north, south, east" in message
        assert list(regional.readings(namespace="east")["region"]) == ["east"]


@pytest.mark.parametrize(
    ("namespace", "problem"),
    [
        ("west", "is not declared for dimension 'namespace'. Declared: paris, lyon"),
        ("pari", "Did you mean 'paris'?"),
    ],
)
def test_catalog_load_and_save_refuse_undeclared_static_keys(make_project, namespace, problem):
    catalog = datanectar.catalog(
        make_project("obs:\n  format: parquet\n  namespaces: [paris, lyon]\n")
    )
    for call in (
        lambda: catalog.save("obs", pd.DataFrame({"a": [1]}), namespace=namespace),
        lambda: catalog.load("obs", namespace=namespace),
    ):
        with pytest.raises(NamespaceKeyError, match=problem):
            call()
    assert not (catalog.config.root / "data" / "obs").exists()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("2023-12-31", "is before the first period, 2024-01-01"),
        ("2024-1-2", "is not a daily key (written like 2024-01-01)"),
        ("2024-01-10", "is after the last period (2024-01-09)"),
    ],
)
def test_catalog_save_refuses_keys_that_are_no_period(make_project, key, problem):
    catalog = datanectar.catalog(
        make_project(
            "obs:\n  format: delta\n  namespaces: {daily: {start: '2024-01-01', end: '2024-01-10'}}\n"
        )
    )
    with pytest.raises(NamespaceKeyError) as info:
        catalog.save("obs", pd.DataFrame({"a": [1]}), namespace=key)
    assert problem in str(info.value)
    assert "Its keys run from 2024-01-01 to 2024-01-09" in str(info.value)
    catalog.save("obs", pd.DataFrame({"a": [1]}), namespace="2024-01-09")


def test_a_future_period_is_refused(make_project):
    catalog = datanectar.catalog(
        make_project("obs:\n  format: parquet\n  namespaces: {daily: {start: '2024-01-01'}}\n")
    )
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%d")
    with pytest.raises(NamespaceKeyError, match="is after the last period"):
        catalog.save("obs", pd.DataFrame({"a": [1]}), namespace=tomorrow)


def test_cli_lists_the_keys_of_any_entry_with_namespaces(make_project, capsys):
    project = make_project(
        "obs:\n  format: parquet\n  namespaces: [paris, lyon]\n"
        "days:\n  format: delta\n  namespaces: {daily: {start: '2024-01-01', end: '2024-01-04'}}\n"
        "grid:\n  format: delta\n"
        "  namespaces: {city: [paris, lyon], date: {daily: {start: '2024-01-01', end: '2024-01-03'}}}\n"
        "flat:\n  format: csv\n"
    )
    run = ["--project", str(project), "namespaces", "list"]
    assert main([*run, "obs"]) == 0
    assert capsys.readouterr().out.split("\n") == ["paris", "lyon", ""]
    assert main([*run, "days"]) == 0
    assert capsys.readouterr().out.split() == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert main([*run, "grid"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "city\tparis",
        "city\tlyon",
        "date\t2024-01-01",
        "date\t2024-01-02",
    ]
    assert main([*run, "flat"]) == 2
    err = capsys.readouterr().err
    assert (
        "entry 'flat' has no namespaces" in err
        and "Entries with namespaces: days, grid, obs" in err
    )
    assert main([*run, "ob"]) == 2
    assert "Did you mean 'obs'?" in capsys.readouterr().err
