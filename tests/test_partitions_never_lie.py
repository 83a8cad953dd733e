"""Partitions that never lie: what is stored for one namespace is what was given for it, or
nothing (the issue "Partitions that never lie"), read back with the storage libraries."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

import datanectar
from datanectar.errors import FormatTypeError
from runs import materialize_project


def delta_project(make_project):
    return make_project("item:\n  format: delta\n  path: item\n  namespaces: [p, q]\n")


def table_types(project) -> dict[str, str]:
    schema = pa.schema(DeltaTable(project / "data" / "item").schema().to_arrow())
    return {field.name: str(field.type) for field in schema}


def test_a_partition_replace_that_would_truncate_is_refused(make_project):
    project = delta_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": [1, 2]}), namespace="p")
    version = DeltaTable(project / "data" / "item").version()

    with pytest.raises(FormatTypeError, match=r"column 'v' is int64 in the table and double"):
        cat.save("item", pd.DataFrame({"v": [5.5]}), namespace="p")

    table = DeltaTable(project / "data" / "item")
    assert table.version() == version
    assert table_types(project)["v"] == "int64"
    assert table.to_pandas()["v"].tolist() == [1, 2]


def test_a_narrower_partition_is_stored_in_the_tables_types(make_project):
    """An int32 (or categorical) partition fits an int64 (string) table: it is cast, and the
    table's schema stays what its other partitions were written with."""
    project = delta_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": [2**40, 2], "c": ["a", "b"]}), namespace="p")
    narrow = pd.DataFrame({"v": pd.array([3], dtype="int32"), "c": pd.Categorical(["z"])})
    cat.save("item", narrow, namespace="q")

    assert table_types(project) == {"v": "int64", "c": "string", "namespace": "string"}
    stored = DeltaTable(project / "data" / "item").to_pandas().sort_values("v")
    assert stored["v"].tolist() == [2, 3, 2**40]
    assert cat.load("item", namespace="p")["v"].tolist() == [2**40, 2]


@pytest.mark.parametrize(
    ("stored", "given"),
    [
        (
            pd.DataFrame({"t": pd.to_datetime(["2024-01-01"]).tz_localize("UTC")}),
            pd.DataFrame({"t": pd.to_datetime(["2024-01-02"])}),
        ),
        (pd.DataFrame({"v": ["1"]}), pd.DataFrame({"v": [1]})),
        (pd.DataFrame({"v": [1.5]}), pd.DataFrame({"v": [True]})),
    ],
    ids=["aware-then-naive", "text-then-number", "float-then-bool"],
)
def test_a_partition_of_another_type_is_refused(make_project, stored, given):
    project = delta_project(make_project)
    cat = datanectar.catalog(project)
    cat.save("item", stored, namespace="p")
    before = table_types(project)
    with pytest.raises(FormatTypeError, match=r"in the table and .* in this value"):
        cat.save("item", given, namespace="q")
    assert table_types(project) == before


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_an_empty_partition_is_a_value_not_a_missing_one(make_project, format_name):
    project = make_project(f"item:\n  format: {format_name}\n  path: item\n  namespaces: [p, q]\n")
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": [1, 2]}), namespace="p")
    cat.save("item", pd.DataFrame({"v": pd.Series([], dtype="int64")}), namespace="q")

    empty = cat.load("item", namespace="q")
    assert list(empty.columns) == ["v"] and len(empty) == 0
    assert str(empty["v"].dtype) == "int64"  # the table's type, with no row to infer it from
    assert cat.load("item", namespace="p")["v"].tolist() == [1, 2]
    if format_name == "delta":
        stored = DeltaTable(project / "data" / "item").to_pandas()
        assert stored["v"].tolist() == [1, 2]  # the empty partition adds no rows
    cat.save("item", pd.DataFrame({"v": [7]}), namespace="q")
    assert cat.load("item", namespace="q")["v"].tolist() == [7]


def test_a_removed_sql_namespace_is_missing_again(make_project):
    from datanectar.errors import DataNotFoundError
    from datanectar.partitions import target_for

    project = make_project("item:\n  format: sql\n  path: item\n  namespaces: [p, q]\n")
    cat = datanectar.catalog(project)
    cat.save("item", pd.DataFrame({"v": pd.Series([], dtype="int64")}), namespace="q")
    cat.storage.remove(target_for(cat.entry("item"), {"namespace": "q"}))
    with pytest.raises(DataNotFoundError):
        cat.load("item", namespace="q")


def test_an_empty_delta_partition_reaches_a_downstream_step(make_project, instance):
    project = make_project(
        "readings:\n  format: delta\n  namespaces: [p, q]\n"
        "counts:\n  format: json\n  namespaces: [p, q]\n"
    )

    @datanectar.asset(entry="readings")
    def readings(namespace: str) -> pd.DataFrame:
        return pd.DataFrame({"v": [1.0] if namespace == "p" else []})

    @datanectar.asset(entry="counts")
    def counts(readings: pd.DataFrame) -> dict:
        return {"rows": len(readings)}

    for selection in ("readings", "counts"):  # one backfill policy per run
        assert materialize_project(
            project, instance, selection, functions=[readings, counts], partition_key="q"
        ).success
    assert json.loads((project / "data" / "counts" / "q.json").read_text()) == {"rows": 0}


def test_each_call_of_a_single_run_backfill_sees_its_own_namespace(make_project, instance):
    """A body that reads the context's window writes its own period, as a run of that one
    partition would, not the whole range's."""
    project = make_project(
        "hours:\n  format: delta\n  path: hours\n"
        "  namespaces:\n    daily: {start: '2024-01-01', end: '2024-01-10'}\n"
    )
    seen = []

    @datanectar.asset(entry="hours")
    def hours(context) -> pd.DataFrame:
        window = context.partition_time_window
        seen.append((context.partition_key, context.partition_keys, context.has_partition_key))
        stamps = pd.date_range(window.start, window.end, freq="h", inclusive="left")
        return pd.DataFrame({"hour": stamps.tz_localize(None).astype(str)})

    result = materialize_project(
        project,
        instance,
        functions=[hours],
        tags={
            "dagster/asset_partition_range_start": "2024-01-02",
            "dagster/asset_partition_range_end": "2024-01-04",
        },
    )
    assert result.success
    assert seen == [(day, [day], True) for day in ("2024-01-02", "2024-01-03", "2024-01-04")]
    stored = DeltaTable(project / "data" / "hours").to_pandas()
    for day, rows in stored.groupby("date"):
        assert len(rows) == 24
        assert set(rows["hour"].str[:10]) == {day}


CITIES = ["paris", "lyon", "oslo", "rome", "bonn"]
RANGE = {
    "dagster/asset_partition_range_start": "paris",
    "dagster/asset_partition_range_end": "bonn",
}


def latest_run_of(instance, name: str, city: str) -> str:
    import dagster as dg

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), asset_partitions=[city]), limit=1
    ).records
    return records[0].run_id


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_a_backfill_whose_third_namespace_fails_to_write_publishes_none(
    make_project, instance, format_name
):
    """All namespaces of one run publish together or none does: the first two are not
    replaced when the third cannot be written, and Dagster's latest materializations of all
    five still point at the previous run."""
    project = make_project(
        f"readings:\n  format: {format_name}\n  path: readings\n  namespaces: {CITIES}\n"
    )
    state = {"scale": 1.0, "broken": None}

    @datanectar.asset(entry="readings")
    def readings(namespace: str) -> pd.DataFrame:
        frame = pd.DataFrame({"hour": [0, 1], "temperature": [10.0, 11.0]})
        frame["temperature"] *= state["scale"]
        if namespace == state["broken"]:
            # delta refuses another type; sql's insert fails on a column the table lacks
            frame = frame.assign(temperature=["warm", "hot"], extra=1)
        return frame

    first = materialize_project(project, instance, functions=[readings], tags=RANGE)
    assert first.success
    state.update(scale=2.0, broken="oslo")
    second = materialize_project(
        project, instance, functions=[readings], tags=RANGE, raise_on_error=False
    )
    assert not second.success

    if format_name == "delta":
        stored = DeltaTable(project / "data" / "readings").to_pandas()
        assert DeltaTable(project / "data" / "readings").version() == 0  # one commit, the first
    else:
        import sqlalchemy as sa

        engine = sa.create_engine(f"sqlite:///{project / 'data' / 'datanectar.sqlite'}")
        with engine.connect() as connection:
            stored = pd.read_sql_table("readings", connection)
        engine.dispose()
    assert sorted(stored["namespace"]) == sorted(CITIES * 2)
    assert sorted(stored["temperature"].unique()) == [10.0, 11.0]  # the first run's values
    for city in CITIES:
        assert latest_run_of(instance, "readings", city) == first.run_id
    cat = datanectar.catalog(project)
    assert cat.load("readings", namespace="paris")["temperature"].tolist() == [10.0, 11.0]


def test_a_cached_backfill_that_fails_to_write_keeps_its_records(make_cache_project, instance):
    project = make_cache_project(
        f"readings:\n  format: delta\n  path: readings\n  namespaces: {CITIES}\n"
    )
    state = {"scale": 1.0, "broken": None}

    @datanectar.cache(entry="readings", namespaces=CITIES, format="delta")
    def readings(namespace: str) -> pd.DataFrame:
        frame = pd.DataFrame({"temperature": [10.0 * state["scale"]]})
        return frame.assign(temperature=["x"]) if namespace == state["broken"] else frame

    assert materialize_project(project, instance, functions=[readings], tags=RANGE).success
    state.update(scale=2.0, broken="rome")
    assert not materialize_project(
        project, instance, functions=[readings], tags=RANGE, raise_on_error=False
    ).success
    table = DeltaTable(project / "data" / "readings")
    assert table.version() == 0
    assert table.to_pandas()["temperature"].tolist() == [10.0] * len(CITIES)
    state.update(broken=None)
    assert materialize_project(project, instance, functions=[readings], tags=RANGE).success
    assert DeltaTable(project / "data" / "readings").to_pandas()["temperature"].tolist() == (
        [20.0] * len(CITIES)
    )


def test_a_zarr_backfill_whose_third_period_is_refused_writes_none(make_project, instance):
    import numpy as np
    import xarray as xr

    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n"
        "  namespaces:\n    daily: {start: '2024-01-01', end: '2024-01-10'}\n"
    )
    state = {"scale": 1.0, "broken": None}

    @datanectar.asset(entry="grid")
    def grid(context) -> xr.Dataset:
        day = context.partition_key
        times = pd.date_range(day, periods=24, freq="h")
        dataset = xr.Dataset({"t2m": ("time", np.full(24, state["scale"]))}, coords={"time": times})
        return dataset.assign(extra=dataset["t2m"]) if day == state["broken"] else dataset

    tags = {
        "dagster/asset_partition_range_start": "2024-01-02",
        "dagster/asset_partition_range_end": "2024-01-04",
    }
    state["broken"] = "2024-01-04"
    assert not materialize_project(
        project, instance, functions=[grid], tags=tags, raise_on_error=False
    ).success
    assert not (project / "data" / "grid.zarr").exists()  # a first run: nothing stays

    state["broken"] = None
    first = materialize_project(project, instance, functions=[grid], tags=tags)
    assert first.success
    state.update(scale=2.0, broken="2024-01-04")
    assert not materialize_project(
        project, instance, functions=[grid], tags=tags, raise_on_error=False
    ).success
    stored = xr.open_zarr(project / "data" / "grid.zarr").load()
    assert set(stored["t2m"].values[~np.isnan(stored["t2m"].values)]) == {1.0}
    for day in ("2024-01-02", "2024-01-03", "2024-01-04"):
        assert latest_run_of(instance, "grid", day) == first.run_id


def test_a_zarr_backfill_whose_third_period_fails_to_compute_publishes_none(make_project, instance):
    """A dask-backed value failing while it is written (the commonest late failure): every
    period is staged before any region is written, so none is published."""
    import dask.array as da
    import xarray as xr

    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n"
        "  namespaces:\n    daily: {start: '2024-01-01', end: '2024-01-10'}\n"
    )
    state = {"scale": 1.0, "broken": None}

    def explode(block):
        raise RuntimeError("the computation failed")

    @datanectar.asset(entry="grid")
    def grid(context) -> xr.Dataset:
        day = context.partition_key
        values = da.full(24, state["scale"], chunks=12)
        if day == state["broken"]:
            values = values.map_blocks(explode, dtype=float)
        times = pd.date_range(day, periods=24, freq="h")
        return xr.Dataset({"t2m": ("time", values)}, coords={"time": times})

    tags = {
        "dagster/asset_partition_range_start": "2024-01-02",
        "dagster/asset_partition_range_end": "2024-01-05",
    }
    first = materialize_project(project, instance, functions=[grid], tags=tags)
    assert first.success
    state.update(scale=2.0, broken="2024-01-04")
    assert not materialize_project(
        project, instance, functions=[grid], tags=tags, raise_on_error=False
    ).success
    cat = datanectar.catalog(project)
    for day in ("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"):
        assert set(cat.load("grid", namespace=day)["t2m"].values) == {1.0}
        assert latest_run_of(instance, "grid", day) == first.run_id
    leftovers = [p.name for p in (project / "data").iterdir() if "grid.zarr" in p.name]
    assert sorted(leftovers) == [".grid.zarr.lock", "grid.zarr"]  # no staged copy is left


CONCURRENT_WRITER = """
import sys
import numpy as np, pandas as pd, xarray as xr
import datanectar

day = sys.argv[2]
times = pd.date_range(day, periods=24, freq="h")
value = xr.Dataset({"t2m": ("time", np.full(24, 1.0))}, coords={"time": times})
datanectar.catalog(sys.argv[1]).save("grid", value, namespace=day)
"""


def test_concurrent_writers_of_one_zarr_store_keep_every_period(make_project, tmp_path):
    import subprocess
    import sys

    import xarray as xr

    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n"
        "  namespaces:\n    daily: {start: '2024-01-01', end: '2024-01-20'}\n"
    )
    datanectar.catalog(project).save(  # the store exists: the writers extend and fill it
        "grid",
        xr.Dataset(
            {"t2m": ("time", [1.0] * 24)},
            coords={"time": pd.date_range("2024-01-01", periods=24, freq="h")},
        ),
        namespace="2024-01-01",
    )
    script = tmp_path / "writer.py"
    script.write_text(CONCURRENT_WRITER)
    days = [f"2024-01-{day:02d}" for day in range(2, 8)]
    writers = [subprocess.Popen([sys.executable, str(script), str(project), day]) for day in days]
    assert all(writer.wait(timeout=300) == 0 for writer in writers)
    cat = datanectar.catalog(project)
    for day in days:
        assert cat.exists("grid", namespace=day), day
    stored = xr.open_zarr(project / "data" / "grid.zarr").load()
    assert int((stored["t2m"] == 1.0).sum()) == 24 * 7


def test_an_hourly_span_may_start_on_a_day(make_project):
    project = make_project(
        "hours:\n  format: parquet\n"
        "  namespaces:\n    hourly: {start: '2024-03-29', end: '2024-03-30', timezone: Europe/Paris}\n"
    )
    defs = datanectar.definitions(project)
    keys = defs.resolve_assets_def("hours").partitions_def.get_partition_keys()
    assert keys[0] == "2024-03-29-00:00" and len(keys) == 24
