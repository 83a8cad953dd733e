"""Namespaces become Dagster partitions: one object per partition for file formats, read back
with the storage library; several partitions load as a dict or concatenated."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr

import datanectar
from datanectar.targets import Slice, Target
from runs import failure_messages

CITIES = ["paris", "lyon", "oslo"]


def frame_for(city: str, version: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {"hour": [0, 1], "temperature": [10.0 * version, 11.0 * version], "city": city}
    )


def materialize_partition(project, functions, key, instance, selection="*"):
    defs = datanectar.definitions(project, functions=functions)
    return dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        resources=defs.resources,
        instance=instance,
        partition_key=key,
        selection=selection,
    )


@pytest.fixture
def observations_project(make_project):
    return make_project(
        f"observations:\n  format: parquet\n  path: obs/observations.parquet\n  namespaces: {CITIES}\n"
        "summary:\n  format: json\n"
    )


def producer(version: dict):
    @datanectar.asset(entry="observations")
    def observations(context):
        return frame_for(context.partition_key, version["v"])

    return observations


def test_each_partition_is_its_own_file(observations_project, instance):
    version = {"v": 1}
    functions = [producer(version)]
    materialize_partition(observations_project, functions, "paris", instance, "observations")
    materialize_partition(observations_project, functions, "lyon", instance, "observations")
    paris_file = observations_project / "data" / "obs" / "observations" / "paris.parquet"
    before = paris_file.stat().st_mtime_ns

    version["v"] = 2
    materialize_partition(observations_project, functions, "lyon", instance, "observations")

    lyon = pq.read_table(observations_project / "data/obs/observations/lyon.parquet").to_pandas()
    pd.testing.assert_frame_equal(lyon, frame_for("lyon", 2))
    assert paris_file.stat().st_mtime_ns == before  # the other partition untouched
    pd.testing.assert_frame_equal(pq.read_table(paris_file).to_pandas(), frame_for("paris", 1))
    assert not (observations_project / "data/obs/observations/oslo.parquet").exists()


@pytest.mark.parametrize("annotation", ["dict", "frame"])
def test_downstream_loads_several_partitions(observations_project, instance, annotation):
    functions = [producer({"v": 1})]
    for city in ("paris", "lyon"):
        materialize_partition(observations_project, functions, city, instance, "observations")
    seen = {}

    if annotation == "dict":

        @datanectar.asset(entry="summary")
        def summary(observations):
            seen["value"] = observations
            return {"n": len(observations)}

    else:

        @datanectar.asset(entry="summary")
        def summary(observations: pd.DataFrame):
            seen["value"] = observations
            return {"n": len(observations)}

    (observations_project / "catalog" / "main.yaml").write_text(
        "observations:\n  format: parquet\n  path: obs/observations.parquet\n"
        f"  namespaces: {CITIES}\n  allow_missing_namespaces: true\nsummary:\n  format: json\n"
    )
    defs = datanectar.definitions(observations_project, functions=[*functions, summary])
    result = dg.materialize(
        [*defs.assets], resources=defs.resources, instance=instance, selection="summary"
    )

    assert result.success
    if annotation == "dict":
        assert set(seen["value"]) == {"paris", "lyon"}
        pd.testing.assert_frame_equal(seen["value"]["lyon"], frame_for("lyon"))
    else:
        combined = seen["value"].sort_values(["city", "hour"]).reset_index(drop=True)
        # the partition dimension becomes a column, so rows say which namespace they come from
        expected = pd.concat(
            [frame_for(city).assign(namespace=city) for city in ("lyon", "paris")],
            ignore_index=True,
        )
        pd.testing.assert_frame_equal(combined, expected)


def test_missing_upstream_partitions_are_a_clear_error(observations_project, instance):
    functions = [producer({"v": 1})]
    materialize_partition(observations_project, functions, "paris", instance, "observations")

    @datanectar.asset(entry="summary")
    def summary(observations):
        return {"n": len(observations)}

    defs = datanectar.definitions(observations_project, functions=[*functions, summary])
    result = dg.materialize(
        [*defs.assets],
        resources=defs.resources,
        instance=instance,
        selection="summary",
        raise_on_error=False,
    )

    assert not result.success
    messages = failure_messages(result)
    assert "namespaces lyon, oslo have no data" in messages


def test_plain_save_and_load_of_a_namespace(observations_project):
    catalog = datanectar.catalog(observations_project)
    catalog.save("observations", frame_for("oslo"), namespace="oslo")

    stored = pq.read_table(observations_project / "data/obs/observations/oslo.parquet").to_pandas()
    pd.testing.assert_frame_equal(stored, frame_for("oslo"))
    pd.testing.assert_frame_equal(catalog.load("observations", namespace="oslo"), frame_for("oslo"))
    with pytest.raises(datanectar.DatanectarError, match="namespace"):
        catalog.load("observations")


@pytest.mark.parametrize("key", ["../escape", "a/b", "/etc", "o'neil", "x..y", "", "a b"])
def test_hostile_keys_are_refused(observations_project, key):
    catalog = datanectar.catalog(observations_project)
    with pytest.raises(datanectar.DatanectarError, match="not allowed"):
        catalog.save("observations", frame_for("x"), namespace=key)
    assert (
        not list((observations_project / "data").rglob("*.parquet"))
        if (observations_project / "data").exists()
        else True
    )


@pytest.mark.parametrize("key", ["../x", "a/b", "it's"])
def test_hostile_static_keys_are_catalog_errors(make_project, key):
    project = make_project(f'x:\n  format: csv\n  namespaces: ["{key}"]\n')
    with pytest.raises(datanectar.CatalogError) as info:
        datanectar.catalog(project)
    assert info.value.field.startswith("namespaces")
    assert "not allowed" in str(info.value)


def test_path_template_takes_the_key(make_project):
    project = make_project(
        'grid:\n  format: zarr\n  path: "grid/{namespace}.zarr"\n  namespaces: [a, b]\n'
    )
    catalog = datanectar.catalog(project)
    grid = xr.Dataset({"t": ("x", [1.0, 2.0])})
    catalog.save("grid", grid, namespace="b")

    xr.testing.assert_identical(xr.open_zarr(project / "data" / "grid" / "b.zarr").load(), grid)


@pytest.mark.parametrize(
    ("path", "namespaces", "problem"),
    [
        ('"x/{city}.csv"', "[a]", "names no namespace dimension"),
        ('"x/{namespace}"', "[a]", "takes no placeholders"),
    ],
)
def test_bad_path_templates(make_project, path, namespaces, problem):
    fmt = "delta" if "takes no" in problem else "csv"
    project = make_project(f"x:\n  format: {fmt}\n  path: {path}\n  namespaces: {namespaces}\n")
    with pytest.raises(datanectar.CatalogError) as info:
        datanectar.catalog(project)
    assert info.value.field == "path"
    assert problem in str(info.value)


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_table_formats_keep_one_table_and_replace_one_partition(
    make_project, instance, format_name
):
    import sqlalchemy as sa
    from deltalake import DeltaTable

    project = make_project(
        f"observations:\n  format: {format_name}\n  path: observations\n  namespaces: {CITIES}\n"
    )
    version = {"v": 1}
    functions = [producer(version)]
    for city in ("paris", "lyon"):
        materialize_partition(project, functions, city, instance)

    def stored() -> pd.DataFrame:
        if format_name == "delta":
            return DeltaTable(str(project / "data" / "observations")).to_pandas()
        engine = sa.create_engine(f"sqlite:///{project / 'data' / 'datanectar.sqlite'}")
        with engine.connect() as connection:
            return pd.read_sql(sa.text("SELECT * FROM observations"), connection)

    def files_of(city: str) -> set[str]:
        actions = DeltaTable(str(project / "data" / "observations")).get_add_actions(flatten=True)
        frame = pa.table(actions).to_pandas()  # deltalake gives an arro3 table
        return set(frame.loc[frame["partition.namespace"] == city, "path"])

    paris_files = files_of("paris") if format_name == "delta" else None
    version["v"] = 2
    materialize_partition(project, functions, "lyon", instance)

    table = stored()
    assert sorted(set(table["namespace"])) == ["lyon", "paris"]
    by_city = {city: rows.sort_values("hour") for city, rows in table.groupby("namespace")}
    assert list(by_city["lyon"]["temperature"]) == [20.0, 22.0]  # replaced
    assert list(by_city["paris"]["temperature"]) == [10.0, 11.0]  # untouched
    assert len(table) == 4
    if format_name == "delta":
        assert files_of("paris") == paris_files  # not rewritten
        assert DeltaTable(str(project / "data" / "observations")).metadata().partition_columns == [
            "namespace"
        ]
    loaded = datanectar.catalog(project).load("observations", namespace="lyon")
    pd.testing.assert_frame_equal(
        loaded.sort_values("hour").reset_index(drop=True), frame_for("lyon", 2), check_dtype=False
    )


def scenario_grid_function(calls: list):
    @datanectar.cache(version="1")
    def scenario_grid(namespace: str) -> xr.Dataset:
        calls.append(namespace)
        return xr.Dataset({"t": ("x", [1.0, 2.0] if namespace == "a" else [3.0, 4.0])})

    return scenario_grid


def test_plain_call_and_dagster_partition_are_the_same_object(make_project, instance):
    project = make_project(
        'scenario_grid:\n  format: zarr\n  path: "grid/{namespace}.zarr"\n  namespaces: [a, b]\n'
    )
    calls: list[str] = []
    scenario_grid = scenario_grid_function(calls)

    with datanectar.catalog(project).activate():
        plain = scenario_grid(namespace="a")  # computes and stores grid/a.zarr
    materialize_partition(project, [scenario_grid], "b", instance)  # Dagster writes grid/b.zarr
    with datanectar.catalog(project).activate():
        recalled = scenario_grid(namespace="b")  # recalls what Dagster computed
        again = scenario_grid(namespace="a")

    assert calls == ["a", "b"]  # a plain call, then the Dagster run; the rest recalled
    xr.testing.assert_identical(xr.open_zarr(project / "data/grid/a.zarr").load(), plain)
    xr.testing.assert_identical(xr.open_zarr(project / "data/grid/b.zarr").load(), recalled.load())
    xr.testing.assert_identical(again.load(), plain)
    with (
        datanectar.catalog(project).activate(),
        pytest.raises(datanectar.DatanectarError, match="namespace="),
    ):
        scenario_grid()


def test_cached_function_namespaces_on_a_delta_table(make_project, instance):
    from deltalake import DeltaTable

    project = make_project("")
    calls: list[str] = []

    @datanectar.cache(entry="by_city", format="delta", namespaces=["paris", "lyon"], version="1")
    def by_city(namespace: str) -> pd.DataFrame:
        calls.append(namespace)
        return frame_for(namespace)

    with datanectar.catalog(project, functions=[by_city]).activate():
        by_city(namespace="paris")
    materialize_partition(project, [by_city], "lyon", instance)
    with datanectar.catalog(project, functions=[by_city]).activate():
        lyon = by_city(namespace="lyon")

    assert calls == ["paris", "lyon"]
    table = DeltaTable(str(project / "data" / "by_city")).to_pandas()
    assert sorted(set(table["namespace"])) == ["lyon", "paris"]
    pd.testing.assert_frame_equal(
        lyon.sort_values("hour").reset_index(drop=True), frame_for("lyon"), check_dtype=False
    )


def daily_frame(day: str) -> pd.DataFrame:
    return pd.DataFrame({"hour": range(3), "value": [float(int(day[-2:]))] * 3})


@pytest.mark.parametrize(
    ("format_name", "path"),
    [("parquet", '"daily/{date}.parquet"'), ("delta", "daily"), ("csv", "daily.csv")],
)
def test_time_partitions(make_project, instance, format_name, path):
    project = make_project(
        f"daily:\n  format: {format_name}\n  path: {path}\n"
        "  namespaces: {daily: {start: '2024-01-01', end: '2024-01-10'}}\n"
    )

    @datanectar.asset(entry="daily")
    def daily(date: str) -> pd.DataFrame:  # receives the partition's key
        return daily_frame(date)

    for day in ("2024-01-02", "2024-01-05"):
        materialize_partition(project, [daily], day, instance)

    catalog = datanectar.catalog(project)
    for day in ("2024-01-02", "2024-01-05"):
        loaded = catalog.load("daily", namespace=day)
        pd.testing.assert_frame_equal(
            loaded.sort_values("hour").reset_index(drop=True), daily_frame(day), check_dtype=False
        )
    assert not catalog.exists("daily", namespace="2024-01-03")
    if format_name == "parquet":
        assert pq.read_table(project / "data/daily/2024-01-05.parquet").num_rows == 3
    if format_name == "csv":
        assert pd.read_csv(project / "data/daily/2024-01-02.csv")["value"].tolist() == [2.0] * 3


@pytest.mark.parametrize("format_name", ["parquet", "delta"])
def test_two_dimensions(make_project, instance, format_name):
    from deltalake import DeltaTable

    project = make_project(
        f"city_daily:\n  format: {format_name}\n  path: city_daily\n"
        "  namespaces: {city: [paris, lyon], date: {daily: {start: '2024-01-01', end: '2024-01-05'}}}\n"
    )

    @datanectar.asset(entry="city_daily")
    def city_daily(city: str, date: str) -> pd.DataFrame:
        return pd.DataFrame({"reading": [1.0, 2.0], "label": f"{city}@{date}"})

    for city, day in (("paris", "2024-01-02"), ("lyon", "2024-01-02"), ("lyon", "2024-01-03")):
        key = dg.MultiPartitionKey({"city": city, "date": day})
        materialize_partition(project, [city_daily], key, instance)

    catalog = datanectar.catalog(project)
    loaded = catalog.load("city_daily", namespace={"city": "lyon", "date": "2024-01-03"})
    assert set(loaded["label"]) == {"lyon@2024-01-03"}
    if format_name == "delta":
        table = DeltaTable(str(project / "data" / "city_daily"))
        assert sorted(table.metadata().partition_columns) == ["city", "date"]
        assert len(table.to_pandas()) == 6
    else:
        # one file per partition, one folder level per dimension, in the order declared
        written = sorted(
            p.relative_to(project / "data").as_posix()
            for p in (project / "data" / "city_daily").rglob("*")
            if p.is_file()
        )
        assert written == [
            "city_daily/lyon/2024-01-02",
            "city_daily/lyon/2024-01-03",
            "city_daily/paris/2024-01-02",
        ]
        assert pq.read_table(project / "data/city_daily/paris/2024-01-02").num_rows == 2


def test_partitioned_checks_audit_only_their_partition(make_project, instance, monkeypatch):
    project = make_project(
        f"observations:\n  format: delta\n  path: observations\n  namespaces: {CITIES}\n"
        "  checks:\n    - unique: [hour]\n"
    )
    seen_rows: list[int] = []

    @datanectar.asset(entry="observations")
    def observations(namespace: str) -> pd.DataFrame:
        return frame_for(namespace)

    import datanectar.publishing as publishing

    original = publishing.audit

    def spying_audit(entry, value, **kwargs):
        seen_rows.append(len(value))
        return original(entry, value, **kwargs)

    monkeypatch.setattr(publishing, "audit", spying_audit)
    materialize_partition(project, [observations], "paris", instance)
    result = materialize_partition(project, [observations], "lyon", instance)

    # each run audits only the partition it wrote (2 rows), never the whole table (4 rows)
    assert seen_rows == [2, 2]
    [evaluation] = [
        event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert evaluation.passed
    defs = datanectar.definitions(project, functions=[observations])
    [spec] = [
        spec
        for checks in defs.assets
        if hasattr(checks, "check_specs")
        for spec in checks.check_specs
    ]
    assert spec.partitions_def is not None


def stored_observations(project, format_name: str) -> pd.DataFrame:
    """The observations table as stored, read with deltalake or SQLAlchemy."""
    import sqlalchemy as sa
    from deltalake import DeltaTable

    if format_name == "delta":
        return DeltaTable(str(project / "data" / "observations")).to_pandas()
    engine = sa.create_engine(f"sqlite:///{project / 'data' / 'datanectar.sqlite'}")
    with engine.connect() as connection:
        return pd.read_sql(sa.text("SELECT * FROM observations"), connection)


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_single_run_backfill_of_many_namespaces(make_project, instance, format_name):

    project = make_project(
        f"observations:\n  format: {format_name}\n  path: observations\n  namespaces: {CITIES}\n"
    )
    calls: list[str] = []

    @datanectar.asset(entry="observations")
    def observations(namespace: str) -> pd.DataFrame:
        calls.append(namespace)
        return frame_for(namespace)

    defs = datanectar.definitions(project, functions=[observations])
    [asset] = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert asset.backfill_policy == dg.BackfillPolicy.single_run()

    # one run over the whole range, as a single-run backfill launches it
    result = dg.materialize(
        [*defs.assets],
        resources=defs.resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "paris",
            "dagster/asset_partition_range_end": "oslo",
        },
    )

    assert result.success
    assert sorted(calls) == sorted(CITIES)  # the function ran once per namespace, in one run
    stored = stored_observations(project, format_name)
    assert sorted(stored.groupby("namespace").size().items()) == [(c, 2) for c in sorted(CITIES)]
    [materialization] = result.asset_materializations_for_node("observations")[:1]
    assert materialization.metadata["namespaces_written"].value == 3


def hourly_grid(day: str, value: float) -> xr.Dataset:
    times = pd.date_range(day, periods=24, freq="h")
    return xr.Dataset(
        {"air": (("time", "y"), [[value] * 3] * 24)},
        coords={"time": times, "y": [0, 1, 2]},
    ).astype("float32")


def test_zarr_time_partitions_are_regions_of_one_store(make_project, instance):
    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n  namespaces: {daily: {start: '2023-12-01'}}\n"
    )
    values = {"2024-01-01": 1.0, "2024-01-02": 2.0, "2024-01-03": 3.0}

    @datanectar.asset(entry="grid")
    def grid(date: str) -> xr.Dataset:
        return hourly_grid(date, values[date]).chunk({"time": 24})

    for day in values:
        materialize_partition(project, [grid], day, instance)
    store = project / "data" / "grid.zarr"
    # The time axis starts at the namespaces' first day (2023-12-01): 2024-01-01 is day 31.
    first_day_chunk = store / "air" / "31.0"
    before = first_day_chunk.stat().st_mtime_ns

    values["2024-01-02"] = 20.0
    materialize_partition(project, [grid], "2024-01-02", instance)  # rewrites its region only

    stored = xr.open_zarr(store).load()
    written = stored.sel(time=slice("2024-01-01", None))
    assert written.sizes["time"] == 72  # one store, three days
    assert list(written["air"].values[::24, 0]) == [1.0, 20.0, 3.0]
    assert first_day_chunk.stat().st_mtime_ns == before  # day one's chunk untouched
    loaded = datanectar.catalog(project).load("grid", namespace="2024-01-02")
    assert loaded.sizes["time"] == 24
    assert float(loaded["air"].max()) == 20.0
    # A declared period before the stored ones is written into its own region.
    datanectar.catalog(project).save("grid", hourly_grid("2023-12-31", 0.0), namespace="2023-12-31")
    assert first_day_chunk.stat().st_mtime_ns == before
    earlier = datanectar.catalog(project).load("grid", namespace="2023-12-31")
    assert earlier["air"].values[:, 0].tolist() == [0.0] * 24


def test_delta_partition_reads_keep_the_entry_load_options(make_project):
    project = make_project(
        "observations:\n  format: delta\n  path: observations\n  namespaces: [paris, lyon]\n"
        "  load_options: {columns: [hour, temperature], filters: [[hour, '>', 0]]}\n"
    )
    catalog = datanectar.catalog(project)
    for city in ("paris", "lyon"):
        catalog.save("observations", frame_for(city), namespace=city)

    loaded = catalog.load("observations", namespace="lyon")

    # only lyon's rows, only the columns asked for, only the rows the filter keeps
    assert loaded.to_dict("list") == {"hour": [1], "temperature": [11.0]}


@pytest.mark.parametrize("format_name", ["zarr", "netcdf"])
def test_time_partitions_of_a_time_series_join_along_time(make_project, instance, format_name):
    path = "grid.zarr" if format_name == "zarr" else '"grid/{date}.nc"'
    project = make_project(
        f"grid:\n  format: {format_name}\n  path: {path}\n"
        "  namespaces: {daily: {start: '2024-01-01', end: '2024-01-05'}}\n"
        "summary:\n  format: json\n"
    )
    seen = {}

    @datanectar.asset(entry="grid")
    def grid(date: str) -> xr.Dataset:
        return hourly_grid(date, float(date[-1]))

    @datanectar.asset(entry="summary")
    def summary(grid: xr.Dataset) -> dict:
        seen["grid"] = grid.load()
        return {"steps": grid.sizes["time"]}

    # one zarr store takes its periods in order; netcdf files may come in any order
    days = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    for day in days if format_name == "zarr" else [days[2], days[0], days[3], days[1]]:
        materialize_partition(project, [grid, summary], day, instance, "grid")
    defs = datanectar.definitions(project, functions=[grid, summary])
    assert dg.materialize(
        [*defs.assets], resources=defs.resources, instance=instance, selection="summary"
    ).success

    joined = seen["grid"]
    # one hourly series over the four days, in order: no partition dimension, no gaps
    assert dict(joined.sizes) == {"time": 96, "y": 3}
    assert joined.indexes["time"].equals(pd.date_range("2024-01-01", periods=96, freq="h"))
    assert joined["air"].values[::24, 0].tolist() == [1.0, 2.0, 3.0, 4.0]


HOSTILE_PREDICATE_KEYS = ["o'neil", "x' OR '1'='1", 'a" OR "b', "'; DROP TABLE observations; --"]


@pytest.mark.parametrize("format_name", ["delta", "sql"])
def test_keys_reach_predicates_quoted_or_bound_even_past_the_key_check(make_project, format_name):
    """Keys with quotes never get this far (the key check refuses them); if one did, the
    format would still treat it as a value, not as SQL: defence in depth."""

    from datanectar.formats import get_format

    project = make_project(
        f"observations:\n  format: {format_name}\n  path: observations\n  namespaces: [paris]\n"
    )
    catalog = datanectar.catalog(project)
    location = catalog.storage.location(Target.of(catalog.entry("observations")))
    location.store.prepare(location)
    fmt = get_format(format_name)
    keys = ["paris", *HOSTILE_PREDICATE_KEYS]
    for key in keys:
        fmt.write_partition(frame_for(key), location, Slice({"namespace": key}), options={})
    # rewriting each hostile key replaces only its own rows
    for key in HOSTILE_PREDICATE_KEYS:
        fmt.write_partition(frame_for(key, 2), location, Slice({"namespace": key}), options={})

    stored = stored_observations(project, format_name)
    assert sorted(stored.groupby("namespace").size().items()) == sorted((k, 2) for k in keys)
    paris = stored[stored["namespace"] == "paris"]
    assert paris["temperature"].tolist() == [10.0, 11.0]  # untouched by the hostile rewrites
    for key in HOSTILE_PREDICATE_KEYS:
        rows = stored[stored["namespace"] == key]
        assert sorted(rows["temperature"].tolist()) == [20.0, 22.0]
        read = fmt.read_partition(location, Slice({"namespace": key}), options={}, as_type=None)
        assert sorted(read["temperature"].tolist()) == [20.0, 22.0]


CADENCES = {
    "hourly": ("2024-01-01-00:00", ["2024-01-01-05:00", "2024-01-01-06:00"], "h", 1),
    "weekly": ("2024-01-07", ["2024-01-07", "2024-01-14"], "h", 24 * 7),
    "monthly": ("2024-01-01", ["2024-01-01", "2024-02-01"], "D", None),
}


@pytest.mark.parametrize("cadence", list(CADENCES))
@pytest.mark.parametrize("format_name", ["parquet", "zarr"])
def test_other_cadences(make_project, instance, cadence, format_name):
    start, keys, freq, periods = CADENCES[cadence]
    path = '"by/{date}.parquet"' if format_name == "parquet" else "series.zarr"
    project = make_project(
        f"series:\n  format: {format_name}\n  path: {path}\n"
        f"  namespaces: {{{cadence}: {{start: '{start}'}}}}\n"
    )

    def window(key: str) -> pd.DatetimeIndex:
        from datanectar.partitions import time_window

        begin, end = time_window(cadence, key)  # Dagster's window: in UTC, with its offset
        return pd.date_range(begin, end, freq=freq, inclusive="left").tz_convert(None)

    @datanectar.asset(entry="series")
    def series(date: str):
        times = window(date)
        if format_name == "parquet":
            return pd.DataFrame({"time": times, "value": 1.0})
        return xr.Dataset({"value": ("time", [1.0] * len(times))}, coords={"time": times})

    for key in keys:
        materialize_partition(project, [series], key, instance)

    catalog = datanectar.catalog(project)
    for key in keys:
        loaded = catalog.load("series", namespace=key)
        times = pd.DatetimeIndex(loaded["time"].values)
        # exactly the period's own times: [start, end) of the key, nothing of the other
        assert times.equals(window(key))
        if periods is not None:
            assert len(times) == periods
    if format_name == "parquet":
        names = sorted(p.name for p in (project / "data" / "by").iterdir())
        assert names == sorted(f"{key}.parquet" for key in keys)
    else:
        stored = xr.open_zarr(project / "data" / "series.zarr")
        # one time axis from the first period of the namespaces to the last one written
        axis = pd.date_range(window(start)[0], window(keys[-1])[-1], freq=freq)
        assert pd.DatetimeIndex(stored["time"].values).equals(axis)


def test_a_zarr_store_whose_time_units_cannot_hold_a_period_refuses_it(make_project):
    project = make_project(
        "series:\n  format: zarr\n  path: series.zarr\n"
        "  namespaces: {hourly: {start: '2024-01-01-00:00'}}\n"
    )
    store = project / "data" / "series.zarr"
    # a store written elsewhere, its times in whole days
    first = pd.date_range("2024-01-01 00:00", periods=1, freq="h")
    xr.Dataset({"value": ("time", [1.0])}, coords={"time": first}).to_zarr(
        store,
        zarr_format=2,
        consolidated=True,
        encoding={"time": {"units": "days since 2024-01-01"}},
    )
    later = pd.date_range("2024-01-01 06:00", periods=1, freq="h")
    catalog = datanectar.catalog(project)

    with pytest.raises(datanectar.StorageIOError) as error:
        catalog.save(
            "series",
            xr.Dataset({"value": ("time", [2.0])}, coords={"time": later}),
            namespace="2024-01-01-06:00",
        )

    assert "not whole days since 2024-01-01" in str(error.value)
    stored = xr.open_zarr(store)
    assert pd.DatetimeIndex(stored["time"].values).equals(first)  # nothing was appended


def test_one_dimension_written_as_a_mapping_says_how_to_name_it(make_project):
    from runs import catalog_error

    error = catalog_error(make_project, "t:\n  format: parquet\n  namespaces: {city: [paris]}\n")
    assert error.field == "namespaces"
    assert "[{name: city, values: ['paris']}]" in str(error)
