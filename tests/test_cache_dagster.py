"""Cached functions as Dagster assets: the same stored objects for Dagster and plain calls.

Materializations run in process on the tests' sqlite instance (the `instance` fixture, which
also points DAGSTER_HOME at that instance while a test runs, so plain calls that store a result
report it there). Bodies count their runs, so a test can tell a recall from a computation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

# Test-only use of Dagster internals: Dagster has no public Python API for an asset's stale
# status (the UI gets it through GraphQL); these are what that resolver is built from.
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.definitions.data_version import (
    CachingStaleStatusResolver,
    StaleCauseCategory,
    StaleStatus,
)
from dagster._time import get_current_datetime

import datanectar
from datanectar.cache import cache_key

RECORDS = ".datanectar/records"


pytestmark = pytest.mark.usefixtures("hermetic_cache")


@pytest.fixture
def project(make_cache_project) -> Path:
    return make_cache_project()


def means_function(calls: list[int], version: str = "0.1.0") -> Any:
    @datanectar.cache(cache_args=["agg_days"], version=version, format="parquet")
    def means(agg_days: int = 1) -> pd.DataFrame:
        calls.append(agg_days)
        return pd.DataFrame({"day": range(10), "mean": [float(agg_days * i) for i in range(10)]})

    return means


def expected_means(agg_days: int) -> pd.DataFrame:
    return pd.DataFrame({"day": range(10), "mean": [float(agg_days * i) for i in range(10)]})


def peak_function(seen: list[Any]) -> Any:
    @datanectar.asset(version="1")
    def peak(means: pd.DataFrame) -> dict:
        seen.append(means)
        return {"peak": float(means["mean"].max())}

    return peak


def stale_resolver(
    instance: dg.DagsterInstance, defs: dg.Definitions
) -> CachingStaleStatusResolver:
    asset_graph = defs.resolve_asset_graph()
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=asset_graph,
    )
    return CachingStaleStatusResolver(instance, asset_graph, view)


# -- a materialization is where a plain call recalls ----------------------------------------


def test_materialization_with_run_config_is_recalled_by_a_plain_call(project, materialize):
    calls: list[int] = []
    means = means_function(calls)

    result = materialize(project, functions=[means], asset_config={"means": {"agg_days": 3}})

    assert calls == [3]
    key = cache_key(means.qualified_name, {"agg_days": 3})
    [materialization] = result.asset_materializations_for_node("means")
    assert materialization.metadata["datanectar/path"].value == f"means/{key}.parquet"
    assert materialization.metadata["datanectar/cache_key"].value == key
    stored = project / "data" / "means" / f"{key}.parquet"
    pd.testing.assert_frame_equal(pq.read_table(stored).to_pandas(), expected_means(3))
    record = json.loads((project / "data" / RECORDS / "means" / f"{key}.json").read_text())
    assert record["version"] == "0.1.0"
    assert record["arguments"] == {"agg_days": 3}

    with datanectar.catalog(project, functions=[means]).activate():
        pd.testing.assert_frame_equal(means(agg_days=3), expected_means(3))
        assert calls == [3]  # recalled
        means()  # another argument: computed
        assert calls == [3, 1]


def test_materialization_with_default_config_is_the_plain_call_without_arguments(
    project, materialize
):
    calls: list[int] = []
    means = means_function(calls)

    materialize(project, functions=[means])
    with datanectar.catalog(project, functions=[means]).activate():
        means()
        means(agg_days=1)

    assert calls == [1]


def test_downstream_asset_loads_what_a_plain_call_stored(project, materialize):
    calls: list[str] = []
    seen: list[Any] = []

    @datanectar.cache(version="1")
    def base() -> pd.DataFrame:
        calls.append("base")
        return pd.DataFrame({"mean": [1.0, 5.0, 2.0]})

    @datanectar.asset(version="1")
    def peak(base: pd.DataFrame) -> dict:
        seen.append(base)
        return {"peak": float(base["mean"].max())}

    with datanectar.catalog(project, functions=[base, peak]).activate():
        base()

    result = materialize(project, ["peak"], functions=[base, peak])

    assert calls == ["base"]
    assert result.output_for_node("peak") == {"peak": 5.0}
    pd.testing.assert_frame_equal(seen[0], pd.DataFrame({"mean": [1.0, 5.0, 2.0]}))


def test_downstream_asset_loads_what_a_keyed_plain_call_stored(project, materialize):
    """A plain call with the asset's own (default) cache arguments is what the asset means in
    Dagster; one with other arguments is a cache entry, which never becomes what a run reads."""
    # The instance fixture points DAGSTER_HOME at the instance: the plain call reports there.
    calls: list[int] = []
    seen: list[Any] = []
    means = means_function(calls)
    peak = peak_function(seen)

    with datanectar.catalog(project, functions=[means, peak]).activate():
        means()  # agg_days=1, the default
        means(agg_days=5)  # an experiment

    result = materialize(project, ["peak"], functions=[means, peak])

    assert calls == [1, 5]
    assert result.output_for_node("peak") == {"peak": 9.0}
    pd.testing.assert_frame_equal(seen[0], expected_means(1))


def test_downstream_asset_loads_the_latest_materialized_object(project, materialize):
    calls: list[int] = []
    seen: list[Any] = []
    means = means_function(calls)
    peak = peak_function(seen)
    functions = [means, peak]

    materialize(project, ["means"], functions=functions, asset_config={"means": {"agg_days": 3}})
    materialize(project, ["means"], functions=functions, asset_config={"means": {"agg_days": 5}})
    assert materialize(project, ["peak"], functions=functions).output_for_node("peak") == {
        "peak": 45.0
    }
    materialize(project, ["means"], functions=functions, asset_config={"means": {"agg_days": 3}})
    assert materialize(project, ["peak"], functions=functions).output_for_node("peak") == {
        "peak": 27.0
    }
    # Both in one run: the downstream step loads what the upstream step just wrote.
    both = materialize(project, "*", functions=functions, asset_config={"means": {"agg_days": 7}})
    assert both.output_for_node("peak") == {"peak": 63.0}

    assert calls == [3, 5, 3, 7]
    assert [float(frame["mean"].max()) for frame in seen] == [45.0, 27.0, 63.0]


def test_none_result_materializes_as_a_null_marker(project, materialize):
    calls: list[int] = []
    seen: list[Any] = []

    @datanectar.cache(cache_args=["n"], version="1", format="parquet")
    def maybe(n: int = 1) -> pd.DataFrame | None:
        calls.append(n)
        return None

    @datanectar.asset(version="1")
    def uses(maybe: pd.DataFrame | None) -> bool:
        seen.append(maybe)
        return maybe is None

    result = materialize(project, functions=[maybe, uses])

    assert result.output_for_node("uses") is True
    assert seen == [None]
    with datanectar.catalog(project, functions=[maybe, uses]).activate():
        assert maybe() is None
    assert calls == [1]


# -- code versions and staleness ------------------------------------------------------------


def test_asset_code_version_is_the_function_version(project):
    means = means_function([], version="0.3.1")

    defs = datanectar.definitions(project, functions=[means])

    assert defs.resolve_assets_def("means").code_versions_by_key == {dg.AssetKey("means"): "0.3.1"}


def test_new_code_version_makes_the_asset_stale_in_dagster(project, instance, materialize):
    calls: list[int] = []
    old = means_function(calls, version="1")
    new = means_function(calls, version="2")
    materialize(project, functions=[old])

    resolver = stale_resolver(instance, datanectar.definitions(project, functions=[old]))
    assert resolver.get_status(dg.AssetKey("means")) == StaleStatus.FRESH

    resolver = stale_resolver(instance, datanectar.definitions(project, functions=[new]))
    assert resolver.get_status(dg.AssetKey("means")) == StaleStatus.STALE
    [cause] = resolver.get_stale_causes(dg.AssetKey("means"))
    assert cause.category == StaleCauseCategory.CODE
    assert "code version" in cause.reason

    # The plain call agrees: the stored result is stale, so it is recomputed.
    with datanectar.catalog(project, functions=[new]).activate():
        new()
    assert calls == [1, 1]
    materialize(project, functions=[new])
    resolver = stale_resolver(instance, datanectar.definitions(project, functions=[new]))
    assert resolver.get_status(dg.AssetKey("means")) == StaleStatus.FRESH


# -- plain calls recorded in the instance ---------------------------------------------------


def materializations(home: Path, name: str) -> list[dg.AssetMaterialization]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.fetch_materializations(dg.AssetKey(name), limit=100).records
        return [record.asset_materialization for record in records]


def test_plain_call_records_a_runless_materialization(project, tmp_path, monkeypatch):
    home = tmp_path / "plain_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    calls: list[int] = []
    means = means_function(calls)

    with datanectar.catalog(project, functions=[means]).activate():
        means()  # the asset's own arguments (agg_days=1): a materialization
        means()  # recalled: nothing new to report
        means(agg_days=2)  # another cache entry: an observation, not a materialization
        means(agg_days=4, cache_mode="read_only")  # not stored: nothing to report
        means(agg_days=6, cache_mode="local")  # stored in the local cache only: not reported

    assert calls == [1, 2, 4, 6]
    [materialization] = materializations(home, "means")
    key = cache_key(means.qualified_name, {"agg_days": 1})
    assert materialization.metadata["datanectar/origin"].value == "plain call"
    assert materialization.metadata["datanectar/cache_key"].value == key
    assert materialization.metadata["datanectar/path"].value == f"means/{key}.parquet"
    assert materialization.tags["dagster/code_version"] == "0.1.0"


# -- run config -----------------------------------------------------------------------------


def test_run_config_schema_shows_cache_args_with_their_defaults(project):
    @datanectar.cache(
        cache_args=["agg_days", "label", "weight", "strict", "windows", "region"], version="1"
    )
    def shaped(
        agg_days: int = 1,
        label: str = "all",
        weight: float = 0.5,
        strict: bool = False,
        windows: tuple = (1, 7),
        region: str | None = None,
        not_a_cache_arg: int = 3,
    ) -> dict:
        return {}

    defs = datanectar.definitions(project, functions=[shaped])
    fields = defs.resolve_assets_def("shaped").op.config_schema.config_type.fields

    assert set(fields) == {"agg_days", "label", "weight", "strict", "windows", "region"}
    assert {name: field.default_value for name, field in fields.items()} == {
        "agg_days": 1,
        "label": "all",
        "weight": 0.5,
        "strict": False,
        "windows": [1, 7],
        "region": None,
    }
    assert not any(field.is_required for field in fields.values())
    assert fields["agg_days"].config_type.given_name == "Int"
    assert fields["label"].config_type.given_name == "String"
    assert fields["weight"].config_type.given_name == "Float"
    assert fields["strict"].config_type.given_name == "Bool"


def test_asset_without_cache_args_takes_no_run_config(project):
    @datanectar.cache(version="1")
    def plain() -> dict:
        return {}

    defs = datanectar.definitions(project, functions=[plain])

    # Dagster's default for an op without config: Any, no fields to fill in.
    schema = defs.resolve_assets_def("plain").op.config_schema
    assert getattr(schema.config_type, "fields", None) is None
    assert not schema.as_field().is_required


def test_cache_arg_without_default_is_required_run_config(project, materialize):
    calls: list[int] = []

    @datanectar.cache(cache_args=["agg_days"], version="1")
    def required(agg_days: int) -> int:
        calls.append(agg_days)
        return agg_days

    defs = datanectar.definitions(project, functions=[required])
    [field] = defs.resolve_assets_def("required").op.config_schema.config_type.fields.values()
    assert field.is_required
    materialize(project, functions=[required], asset_config={"required": {"agg_days": 2}})
    assert calls == [2]


def test_downstream_asset_loads_a_none_stored_by_a_keyed_plain_call(project, materialize):
    seen: list[Any] = []

    @datanectar.cache(cache_args=["n"], version="1", format="parquet")
    def maybe(n: int = 1) -> pd.DataFrame | None:
        return None

    @datanectar.asset(version="1")
    def uses(maybe: pd.DataFrame | None) -> bool:
        seen.append(maybe)
        return maybe is None

    with datanectar.catalog(project, functions=[maybe, uses]).activate():
        maybe()  # reported to the instance: DAGSTER_HOME points at it

    result = materialize(project, ["uses"], functions=[maybe, uses])

    assert result.output_for_node("uses") is True
    assert seen == [None]
