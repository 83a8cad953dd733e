"""Single-run backfills: one run over many namespaces of a table format, each namespace
computed from its own upstream namespace and audited as its own partition."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
import xarray as xr
from deltalake import DeltaTable

import datanectar
from runs import materialize_project

CITIES = ["paris", "lyon", "oslo"]
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "paris",
    "dagster/asset_partition_range_end": "oslo",
}


def readings(city: str, scale: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"hour": [0, 1], "temperature": [10.0 * scale, 11.0 * scale], "city": city})


def definitions(project, functions):
    defs = datanectar.definitions(project, functions=functions)
    return defs, [*defs.assets, *(defs.asset_checks or [])]


def run_range(project, functions, instance, *, selection="*", tags=RANGE_TAGS, **options):
    return materialize_project(
        project, instance, selection, functions=functions, tags=tags, **options
    )


def stored_by_city(project, name: str) -> dict[str, pd.DataFrame]:
    table = DeltaTable(str(project / "data" / name)).to_pandas()
    return {
        city: group.drop(columns="namespace").sort_values("hour").reset_index(drop=True)
        for city, group in table.groupby("namespace")
    }


def evaluations(result: dg.ExecuteInProcessResult) -> list[dg.AssetCheckEvaluation]:
    return [
        event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


@pytest.fixture
def pipeline(make_project):
    """raw (delta, by city) -> scaled (delta, by city, checked: temperature below a bound)."""
    project = make_project(
        f"raw:\n  format: delta\n  path: raw\n  namespaces: {CITIES}\n"
        f"scaled:\n  format: delta\n  path: scaled\n  namespaces: {CITIES}\n"
        "  checks:\n    - range: {temperature: [-50, 60]}\n"
        "    - {row_count: {min: 1}, severity: warn}\n"
        "summary:\n  format: json\n"
    )
    calls: list[tuple[str, list[str]]] = []
    scale = {"value": 2.0, "broken": None}

    @datanectar.asset(entry="raw")
    def raw(namespace: str) -> pd.DataFrame:
        return readings(namespace)

    @datanectar.asset(entry="scaled")
    def scaled(raw: pd.DataFrame, namespace: str) -> pd.DataFrame:
        calls.append((namespace, sorted(set(raw["city"]))))
        factor = 100.0 if namespace == scale["broken"] else scale["value"]
        return raw.assign(temperature=raw["temperature"] * factor)

    @datanectar.asset(entry="summary")
    def summary(scaled: dict) -> dict:
        return {city: len(frame) for city, frame in scaled.items()}

    return project, [raw, scaled, summary], calls, scale


def test_partitioned_upstream_and_checks_allow_a_single_run(pipeline):
    project, functions, _, _ = pipeline
    defs, _ = definitions(project, functions)
    policies = {
        asset.key.path[-1]: asset.backfill_policy
        for asset in defs.assets
        if isinstance(asset, dg.AssetsDefinition)
    }
    assert policies["raw"] == dg.BackfillPolicy.single_run()
    assert policies["scaled"] == dg.BackfillPolicy.single_run()  # checked, upstream alike


def test_each_namespace_reads_its_own_upstream_namespace(pipeline, instance):
    project, functions, calls, _ = pipeline
    assert run_range(project, functions, instance, selection=["raw"]).success

    result = run_range(project, functions, instance, selection=["scaled"])

    assert result.success
    # one call per namespace, each given only its own city's rows
    assert sorted(calls) == sorted((city, [city]) for city in CITIES)
    stored = stored_by_city(project, "scaled")
    for city in CITIES:
        expected = readings(city, 2.0)
        pd.testing.assert_frame_equal(stored[city][expected.columns], expected, check_dtype=False)


def test_each_namespace_gets_its_own_check_results(pipeline, instance):
    project, functions, _, _ = pipeline
    run_range(project, functions, instance, selection=["raw"])

    result = run_range(project, functions, instance, selection=["scaled"])

    assert result.success
    found = sorted((e.check_name, e.partition, e.passed) for e in evaluations(result))
    assert found == sorted(
        (check, city, True) for check in ("range", "row_count") for city in CITIES
    )
    # the instance keeps them per partition, as the UI shows them
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("scaled"), "range"), limit=10
    )
    assert sorted(record.event.asset_check_evaluation.partition for record in history) == sorted(
        CITIES
    )
    materialized = {
        m.partition for m in result.asset_materializations_for_node("scaled") if m.partition
    }
    assert materialized == set(CITIES)


def test_a_blocking_failure_in_one_namespace_publishes_none(pipeline, instance):
    project, functions, _, scale = pipeline
    run_range(project, functions, instance, selection=["raw"])
    assert run_range(project, functions, instance, selection=["scaled"]).success
    before = stored_by_city(project, "scaled")

    scale["value"], scale["broken"] = 3.0, "lyon"
    result = run_range(project, functions, instance, raise_on_error=False)

    assert not result.success
    # nothing of this run was published: every namespace still holds the previous value
    after = stored_by_city(project, "scaled")
    for city in CITIES:
        pd.testing.assert_frame_equal(after[city], before[city])
    by_partition = {(e.check_name, e.partition): e for e in evaluations(result)}
    failed = by_partition[("range", "lyon")]
    assert not failed.passed
    assert all(by_partition[("range", city)].passed for city in ("paris", "oslo"))
    # the rejected namespace is in quarantine, exactly as the function returned it
    quarantine = failed.metadata["quarantine"].value
    rejected = DeltaTable(quarantine).to_pandas().sort_values("hour").reset_index(drop=True)
    expected = readings("lyon").assign(temperature=readings("lyon")["temperature"] * 100.0)
    pd.testing.assert_frame_equal(rejected, expected)
    # downstream did not run
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "summary" not in started
    assert not result.asset_materializations_for_node("scaled")


def test_upstream_partitioned_otherwise_keeps_one_run_per_namespace(make_project):
    project = make_project(
        "raw:\n  format: delta\n  path: raw\n  namespaces: [a, b]\n"
        f"scaled:\n  format: delta\n  path: scaled\n  namespaces: {CITIES}\n"
    )

    @datanectar.asset(entry="scaled")
    def scaled(raw: dict, namespace: str) -> pd.DataFrame:
        return readings(namespace)

    defs, _ = definitions(project, [scaled])
    [asset] = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert asset.backfill_policy is None


def test_plain_call_reads_the_upstream_namespace_dagster_reads(make_project, instance):
    project = make_project(
        f"raw:\n  format: parquet\n  path: raw.parquet\n  namespaces: {CITIES}\n  store: local\n"
    )

    @datanectar.cache(namespaces=CITIES, format="delta")
    def means(raw: pd.DataFrame, namespace: str) -> pd.DataFrame:
        return pd.DataFrame({"city": [namespace], "mean": [raw["temperature"].mean()]})

    catalog = datanectar.catalog(project, functions=[means])
    for city in CITIES:
        catalog.save("raw", readings(city, scale=len(city)), namespace=city)

    with catalog.activate():
        plain = means(namespace="lyon")
    assert plain["mean"].tolist() == [readings("lyon", 4).temperature.mean()]

    defs, assets = definitions(project, [means])
    result = dg.materialize(
        assets, resources=defs.resources, instance=instance, partition_key="oslo"
    )
    assert result.success
    table = DeltaTable(str(project / "data" / "means")).to_pandas()
    oslo = table[table["namespace"] == "oslo"]
    assert oslo["mean"].tolist() == [readings("oslo", 4).temperature.mean()]
    assert oslo["city"].tolist() == ["oslo"]


def test_plain_call_without_namespaces_reads_every_upstream_namespace(make_project):
    """Dagster's AllPartitionMapping: an unpartitioned call reads every namespace, and one with
    no data is an error naming it."""
    project = make_project(f"raw:\n  format: parquet\n  namespaces: {CITIES}\n")

    @datanectar.cache(format="pickle")
    def total(raw: pd.DataFrame) -> float:
        return float(raw["temperature"].sum())

    catalog = datanectar.catalog(project, functions=[total])
    for city in CITIES[:2]:
        catalog.save("raw", readings(city), namespace=city)
    with catalog.activate(), pytest.raises(datanectar.DatanectarError) as error:
        total()
    message = str(error.value)
    assert "entry 'raw': namespaces oslo have no data" in message
    assert "Fix:" in message
    catalog.save("raw", readings("oslo"), namespace="oslo")
    with catalog.activate():
        assert total() == pytest.approx(
            sum(float(readings(city)["temperature"].sum()) for city in CITIES)
        )


def hourly(day: str, value: float) -> xr.Dataset:
    times = pd.date_range(day, periods=24, freq="h")
    return xr.Dataset(
        {"air": (("time", "y"), [[value] * 2] * 24)}, coords={"time": times, "y": [0, 1]}
    ).astype("float32")


def test_zarr_time_regions_backfill_in_one_run(make_project, instance):
    project = make_project(
        "grid:\n  format: zarr\n  path: grid.zarr\n"
        "  namespaces: {daily: {start: '2024-01-01', end: '2024-01-10'}}\n"
    )

    @datanectar.asset(entry="grid")
    def grid(date: str) -> xr.Dataset:
        return hourly(date, float(date[-2:]))

    defs, _ = definitions(project, [grid])
    [asset] = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert asset.backfill_policy == dg.BackfillPolicy.single_run()

    result = run_range(
        project,
        [grid],
        instance,
        tags={
            "dagster/asset_partition_range_start": "2024-01-02",
            "dagster/asset_partition_range_end": "2024-01-04",
        },
    )

    assert result.success
    stored = xr.open_zarr(project / "data" / "grid.zarr").load()
    # the time axis starts at the first namespace, 2024-01-01, which this run did not write
    assert stored.sizes["time"] == 4 * 24
    written = stored.sel(time=slice("2024-01-02", None))
    daily_values = written["air"].resample(time="1D").mean().values[:, 0].tolist()
    assert daily_values == [2.0, 3.0, 4.0]
    assert stored.attrs["datanectar_time_axis"]["complete"] == [
        ["2024-01-02T00:00:00", "2024-01-05T00:00:00"]
    ]


@pytest.mark.parametrize("cached", [False, True])
def test_each_namespace_materialization_reports_its_own_metadata(make_project, instance, cached):
    """A single-run backfill records one materialization per namespace, each with that
    namespace's own row count, uri, column schema and preview (not the run's total)."""
    rows = {"paris": 1, "lyon": 4, "oslo": 9}
    project = make_project(f"counts:\n  format: delta\n  path: counts\n  namespaces: {CITIES}\n")

    def counts(namespace: str) -> pd.DataFrame:
        return pd.DataFrame({"i": range(rows[namespace]), "city": namespace})

    decorate = (
        datanectar.cache(entry="counts", version="1")
        if cached
        else datanectar.asset(entry="counts")
    )
    function = decorate(counts)
    result = run_range(project, [function], instance)
    assert result.success

    for city, expected in rows.items():
        [record] = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("counts"), asset_partitions=[city]),
            limit=1,
        ).records
        metadata = record.asset_materialization.metadata
        assert metadata["dagster/row_count"].value == expected
        assert metadata["dagster/uri"].value == str(project / "data" / "counts")
        columns = [column.name for column in metadata["dagster/column_schema"].schema.columns]
        assert columns == ["i", "city"]
        preview = metadata["preview"].value
        assert f"| {min(expected, 5) - 1} | {city} |" in preview  # its own rows (first 5)
        assert all(other not in preview for other in rows if other != city)
    table = DeltaTable(str(project / "data" / "counts")).to_pandas()
    assert table.groupby("namespace").size().to_dict() == rows
