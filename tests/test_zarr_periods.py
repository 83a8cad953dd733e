"""The periods of a time-partitioned zarr store (one store, each period a region of `time`):
windows are Dagster's, in the dimension's timezone; stored times are UTC; periods are written in
any order into their own region; a period's variables are the store's; a period whose write did
not finish reads as missing. Read back with xarray itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import datanectar
from datanectar.partitions import target_for
from runs import failure_messages, materialize_project

PARIS = "Europe/Paris"
DAYS = "grid:\n  format: zarr\n  path: grid.zarr\n  namespaces: {daily: {start: '2024-01-01', end: '2024-01-10'}}\n"
PARIS_DAYS = (
    "grid:\n  format: zarr\n  path: grid.zarr\n"
    f"  namespaces: {{daily: {{start: '2024-03-29', end: '2024-11-01', timezone: {PARIS}}}}}\n"
)


def hours(day: str, value: float, *, zone: str | None = None, **variables: float) -> xr.Dataset:
    """A day's hourly values (`zone`: the day's local hours, tz-aware, 23 to 25 of them)."""
    start = pd.Timestamp(day, tz=zone)
    times = pd.date_range(start, start + pd.DateOffset(days=1), freq="h", inclusive="left")
    names = {"v": value, **variables}
    return xr.Dataset(
        {name: (("time", "y"), np.full((len(times), 2), level)) for name, level in names.items()},
        coords={"time": times, "y": [0, 1]},
    )


def utc_hours(day: str, zone: str) -> pd.DatetimeIndex:
    """A local day's hours as the store keeps them: naive UTC."""
    return pd.DatetimeIndex(hours(day, 0.0, zone=zone).indexes["time"]).tz_convert(None)


def store_of(project: Path) -> Path:
    return project / "data" / "grid.zarr"


def chunk_times(store: Path) -> dict[str, int]:
    chunks = (chunk for chunk in (store / "v").glob("*.*") if not chunk.name.startswith("."))
    return {chunk.name: chunk.stat().st_mtime_ns for chunk in chunks}


# -- item 4: windows are Dagster's, in the dimension's timezone --------------------------------


@pytest.mark.parametrize(
    ("cadence", "key"),
    [
        ("daily", "2024-03-31"),  # spring: 23 hours
        ("daily", "2024-10-27"),  # fall: 25 hours
        ("daily", "2024-06-01"),
        ("hourly", "2024-10-27-02:00"),  # the repeated hour, first time
        ("hourly", "2024-10-27-02:00+0100"),  # and second time
        ("hourly", "2024-03-31-03:00"),  # the hour after the skipped one
    ],
)
def test_windows_are_the_ones_dagster_computes(make_project, cadence, key):
    start = "2024-03-01" if cadence == "daily" else "2024-03-01-00:00"
    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n"
        f"  namespaces: {{{cadence}: {{start: '{start}', end: '2024-12-01', timezone: {PARIS}}}}}\n"
    )
    entry = datanectar.catalog(project).entry("grid")
    partitions = {"daily": dg.DailyPartitionsDefinition, "hourly": dg.HourlyPartitionsDefinition}
    dagster = partitions[cadence](start_date=start, timezone=PARIS).time_window_for_partition_key(
        key
    )

    begin, end = target_for(entry, {"date": key}).slice.window

    assert pd.Timestamp(begin) == pd.Timestamp(dagster.start)
    assert pd.Timestamp(end) == pd.Timestamp(dagster.end)
    assert begin == dagster.start.isoformat() and end == dagster.end.isoformat()


def test_a_dst_day_loads_exactly_its_own_hours(make_project):
    project = make_project(PARIS_DAYS)
    catalog = datanectar.catalog(project)
    days = {"2024-03-30": 30.0, "2024-03-31": 31.0, "2024-04-01": 1.0, "2024-10-27": 27.0}
    for day, value in days.items():
        catalog.save("grid", hours(day, value, zone=PARIS), namespace=day)

    spring = catalog.load("grid", namespace="2024-03-31")
    fall = catalog.load("grid", namespace="2024-10-27")

    assert spring.sizes["time"] == 23  # the 23 values written for that day, no neighbour's
    assert spring["v"].values[:, 0].tolist() == [31.0] * 23
    assert pd.DatetimeIndex(spring["time"].values).equals(utc_hours("2024-03-31", PARIS))
    assert fall.sizes["time"] == 25
    assert fall["v"].values[:, 0].tolist() == [27.0] * 25
    # xarray sees one UTC time axis: the spring day's hours between the neighbours' in UTC
    stored = xr.open_zarr(store_of(project)).load()
    assert stored["time"].dtype == np.dtype("datetime64[ns]")
    day = stored.sel(time=slice("2024-03-30T23:00", "2024-03-31T21:00"))
    assert day["v"].values[:, 0].tolist() == [31.0] * 23
    assert stored.sel(time="2024-03-30T22:00")["v"].values.tolist() == [30.0, 30.0]
    assert stored.sel(time="2024-03-31T22:00")["v"].values.tolist() == [1.0, 1.0]


def test_the_two_repeated_hours_are_two_periods(make_project):
    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n"
        f"  namespaces: {{hourly: {{start: '2024-10-26-00:00', end: '2024-10-28-00:00', "
        f"timezone: {PARIS}}}}}\n"
    )
    catalog = datanectar.catalog(project)
    first, second = "2024-10-27-02:00", "2024-10-27-02:00+0100"
    for key, value, offset in ((second, 2.0, "+01:00"), (first, 1.0, "+02:00")):
        moment = pd.Timestamp(f"2024-10-27T02:30{offset}").tz_convert(PARIS)
        catalog.save(
            "grid", xr.Dataset({"v": ("time", [value])}, coords={"time": [moment]}), namespace=key
        )

    assert catalog.load("grid", namespace=first)["v"].values.tolist() == [1.0]
    assert catalog.load("grid", namespace=second)["v"].values.tolist() == [2.0]
    stored = xr.open_zarr(store_of(project)).load()
    assert stored.sel(time="2024-10-27T00:30")["v"].item() == 1.0  # 02:30+02:00, in UTC
    assert stored.sel(time="2024-10-27T01:30")["v"].item() == 2.0  # 02:30+01:00, in UTC


def test_local_times_given_as_naive_times_are_refused_naming_the_convention(make_project):
    project = make_project(PARIS_DAYS)
    catalog = datanectar.catalog(project)
    naive = hours("2024-03-31", 1.0).isel(time=slice(0, 23))  # Paris hours written as UTC

    with pytest.raises(datanectar.FormatTypeError) as error:
        catalog.save("grid", naive, namespace="2024-03-31")

    message = str(error.value)
    assert "entry 'grid'" in message and "naive ones are taken as UTC" in message
    assert "2024-03-30T23:00:00" in message  # where the period starts, in UTC
    assert not store_of(project).exists()


# -- item 7: periods are written in any order into their own region ----------------------------


def test_a_skipped_period_is_missing_and_can_be_written_later(make_project):
    project = make_project(DAYS)
    catalog = datanectar.catalog(project)
    for day in ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"):
        catalog.save("grid", hours(day, float(day[-1])).chunk({"time": 24}), namespace=day)
    store = store_of(project)

    # the skipped day reads as missing, not as NaN data
    assert not catalog.exists("grid", namespace="2024-01-04")
    with pytest.raises(datanectar.DataNotFoundError, match="2024-01-04"):
        catalog.load("grid", namespace="2024-01-04")
    before = chunk_times(store)
    assert "3.0" not in before  # no chunk was written for it

    catalog.save("grid", hours("2024-01-04", 4.0).chunk({"time": 24}), namespace="2024-01-04")

    after = chunk_times(store)
    assert set(after) - set(before) == {"3.0"}  # its chunk only; the others untouched
    assert all(after[name] == stamp for name, stamp in before.items())
    assert catalog.exists("grid", namespace="2024-01-04")
    assert catalog.load("grid", namespace="2024-01-04")["v"].values[:, 0].tolist() == [4.0] * 24
    stored = xr.open_zarr(store).load()
    assert stored.indexes["time"].equals(pd.date_range("2024-01-01", periods=5 * 24, freq="h"))
    assert stored["v"].values[::24, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_periods_are_written_in_any_order(make_project):
    project = make_project(DAYS)
    catalog = datanectar.catalog(project)
    for day in ("2024-01-06", "2024-01-02", "2024-01-09", "2024-01-01"):
        catalog.save("grid", hours(day, float(day[-1])), namespace=day)

    for day in ("2024-01-06", "2024-01-02", "2024-01-09", "2024-01-01"):
        loaded = catalog.load("grid", namespace=day)
        assert loaded.indexes["time"].equals(pd.date_range(day, periods=24, freq="h"))
        assert loaded["v"].values[:, 0].tolist() == [float(day[-1])] * 24
    for day in ("2024-01-03", "2024-01-04", "2024-01-05", "2024-01-07", "2024-01-08"):
        assert not catalog.exists("grid", namespace=day)
    stored = xr.open_zarr(store_of(project))
    assert stored.indexes["time"].equals(pd.date_range("2024-01-01", periods=9 * 24, freq="h"))


def test_one_value_per_period_takes_one_slot_per_period(make_project):
    """Monthly values: the periods' lengths differ, each still has its own slot."""
    project = make_project(
        "means:\n  format: zarr\n  path: means.zarr\n  namespaces: {monthly: {start: '2024-01-01'}}\n"
    )
    catalog = datanectar.catalog(project)
    for month, value in (("2024-05-01", 5.0), ("2024-02-01", 2.0)):
        mean = xr.Dataset({"v": ("time", [value])}, coords={"time": [pd.Timestamp(month)]})
        catalog.save("means", mean, namespace=month)

    assert catalog.load("means", namespace="2024-02-01")["v"].values.tolist() == [2.0]
    assert catalog.load("means", namespace="2024-05-01")["v"].values.tolist() == [5.0]
    assert not catalog.exists("means", namespace="2024-03-01")
    stored = xr.open_zarr(project / "data" / "means.zarr").load()
    assert stored.indexes["time"].equals(pd.date_range("2024-01-01", periods=5, freq="MS"))
    assert stored["v"].values[[1, 4]].tolist() == [2.0, 5.0]


# -- item 8: a period's variables are the store's ----------------------------------------------


def test_a_rewrite_without_a_stored_variable_is_refused(make_project):
    project = make_project(DAYS)
    catalog = datanectar.catalog(project)
    catalog.save("grid", hours("2024-01-01", 1.0, w=10.0), namespace="2024-01-01")
    catalog.save("grid", hours("2024-01-02", 2.0, w=20.0), namespace="2024-01-02")

    with pytest.raises(datanectar.FormatTypeError) as error:
        catalog.save("grid", hours("2024-01-01", 5.0), namespace="2024-01-01")  # no `w`
    with pytest.raises(datanectar.FormatTypeError) as extra:
        catalog.save("grid", hours("2024-01-03", 3.0, w=1.0, x=2.0), namespace="2024-01-03")

    message = str(error.value)
    assert "entry 'grid'" in message and "it lacks w" in message and "Fix:" in message
    assert "the store has no x" in str(extra.value)
    stored = xr.open_zarr(store_of(project)).load()  # nothing changed
    assert sorted(stored.data_vars) == ["v", "w"]
    assert stored["v"].values[::24, 0].tolist() == [1.0, 2.0]
    assert stored["w"].values[::24, 0].tolist() == [10.0, 20.0]
    assert catalog.load("grid", namespace="2024-01-01")["v"].values[0, 0] == 1.0
    assert not catalog.exists("grid", namespace="2024-01-03")


# -- item 9: a period whose write did not finish reads as missing ------------------------------

KILLED_WRITE = """
import os, sys
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
import datanectar

def block(chunk, block_info=None):
    if block_info[0]["chunk-location"][0] == 2:  # the third day of the write
        os._exit(1)  # the process is killed mid-write
    return chunk

day, days = sys.argv[2], int(sys.argv[3])
times = pd.date_range(day, periods=24 * days, freq="h")
values = da.full((24 * days, 2), 9.0, chunks=(24, 2)).map_blocks(block, dtype=float)
value = xr.Dataset({"v": (("time", "y"), values)}, coords={"time": times, "y": [0, 1]})
datanectar.catalog(sys.argv[1]).save("grid", value, namespace=day)
"""


def killed_save(project: Path, day: str, days: int) -> None:
    script = project / "killed_save.py"
    script.write_text(textwrap.dedent(KILLED_WRITE))
    done = subprocess.run(
        [sys.executable, str(script), str(project), day, str(days)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": ":".join(sys.path)},
    )
    assert done.returncode == 1, done.stderr


def test_a_killed_write_leaves_its_period_missing_and_named(make_project):
    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n"
        "  namespaces: {weekly: {start: '2024-01-07', end: '2024-03-01'}}\n"
    )
    catalog = datanectar.catalog(project)
    week = pd.date_range("2024-01-07", periods=7 * 24, freq="h")
    first = xr.Dataset({"v": (("time", "y"), np.ones((len(week), 2)))}, coords={"time": week})
    catalog.save("grid", first.assign_coords(y=[0, 1]).chunk({"time": 24}), namespace="2024-01-07")

    killed_save(project, "2024-01-14", 7)  # appending the second week: killed on its third day
    killed_save(project, "2024-01-07", 7)  # rewriting the first: killed on its third day

    for week_key in ("2024-01-14", "2024-01-07"):
        assert not catalog.exists("grid", namespace=week_key)
        with pytest.raises(datanectar.DataNotFoundError) as error:
            catalog.load("grid", namespace=week_key)
        message = str(error.value)
        assert f"'date': '{week_key}'" in message and "did not finish" in message
    # what xarray sees: both weeks' times, and a record saying neither week is complete
    stored = xr.open_zarr(store_of(project))
    assert stored.sizes["time"] == 2 * 7 * 24
    record = stored.attrs["datanectar_time_axis"]
    assert record["complete"] == []
    assert record["writing"] == [["2024-01-07T00:00:00", "2024-01-21T00:00:00"]]

    catalog.save("grid", first.assign_coords(y=[0, 1]), namespace="2024-01-07")  # written again
    assert catalog.load("grid", namespace="2024-01-07")["v"].values[:, 0].tolist() == [1.0] * 168
    assert not catalog.exists("grid", namespace="2024-01-14")


# -- through Dagster -------------------------------------------------------------------------


def test_dagster_writes_paris_days_out_of_order_and_refuses_other_variables(make_project, instance):
    project = make_project(PARIS_DAYS)
    variables: dict[str, float] = {}

    @datanectar.asset(entry="grid")
    def grid(context: dg.AssetExecutionContext, date: str) -> xr.Dataset:
        window = context.partition_time_window  # Dagster's own window, in Paris
        value = hours(date, float(date[-2:]), zone=PARIS, **variables)
        assert value.indexes["time"][0] == window.start
        return value

    for day in ("2024-04-01", "2024-03-29", "2024-03-31"):  # out of order, 03-30 skipped
        assert materialize_project(project, instance, functions=[grid], partition_key=day).success
    days = dg.DailyPartitionsDefinition(start_date="2024-03-29", timezone=PARIS)

    stored = xr.open_zarr(store_of(project)).load()
    for day in ("2024-04-01", "2024-03-29", "2024-03-31"):
        window = days.time_window_for_partition_key(day)
        start, end = (pd.Timestamp(moment).tz_convert(None) for moment in window)
        period = stored.sel(time=slice(start, end - pd.Timedelta("1us")))
        assert period.indexes["time"].equals(utc_hours(day, PARIS))
        assert period["v"].values[:, 0].tolist() == [float(day[-2:])] * len(utc_hours(day, PARIS))
    assert len(utc_hours("2024-03-31", PARIS)) == 23
    catalog = datanectar.catalog(project, functions=[grid])
    assert not catalog.exists("grid", namespace="2024-03-30")

    variables["w"] = 1.0  # a run whose value has another variable
    result = materialize_project(
        project, instance, functions=[grid], partition_key="2024-03-31", raise_on_error=False
    )
    assert not result.success
    messages = failure_messages(result)
    assert "entry 'grid'" in messages and "the store has no w" in messages
    assert sorted(xr.open_zarr(store_of(project)).data_vars) == ["v"]
    assert catalog.load("grid", namespace="2024-03-31")["v"].values[0, 0] == 31.0


def test_a_single_run_backfill_fills_the_gap_it_left(make_project, instance):
    project = make_project(DAYS)

    @datanectar.asset(entry="grid")
    def grid(date: str) -> xr.Dataset:
        return hours(date, float(date[-1]))

    def run(first: str, last: str) -> dg.ExecuteInProcessResult:
        tags = {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        }
        return materialize_project(project, instance, functions=[grid], tags=tags)

    assert run("2024-01-05", "2024-01-06").success
    assert run("2024-01-02", "2024-01-03").success  # before the stored periods, with a gap

    stored = xr.open_zarr(store_of(project)).load()
    assert stored.indexes["time"].equals(pd.date_range("2024-01-01", periods=6 * 24, freq="h"))
    record = stored.attrs["datanectar_time_axis"]
    assert record["complete"] == [
        ["2024-01-02T00:00:00", "2024-01-04T00:00:00"],
        ["2024-01-05T00:00:00", "2024-01-07T00:00:00"],
    ]
    assert np.isnan(stored["v"].sel(time="2024-01-04").values).all()  # unwritten: fill values
    catalog = datanectar.catalog(project, functions=[grid])
    assert not catalog.exists("grid", namespace="2024-01-04")
    for day in ("2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06"):
        assert catalog.load("grid", namespace=day)["v"].values[0, 0] == float(day[-1])
