"""`@datanectar.asset`: how functions bind to catalog entries, and the errors of binding."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest
import xarray as xr

import datanectar
from datanectar.errors import CatalogErrors, DatanectarError
from datanectar.producers import producer_of

MAIN = "catalog/main.yaml"
TWO_STORES = """
[tool.datanectar.stores.local]
type = "local"
root = "data"

[tool.datanectar.stores.other]
type = "local"
root = "other"
"""


# -- helpers ----------------------------------------------------------------------------------


def open_catalog(make_project, catalog: str, *functions, **kwargs) -> datanectar.Catalog:
    return datanectar.catalog(make_project(catalog, **kwargs), functions=list(functions))


def binding_error(make_project, catalog: str, *functions, **kwargs) -> datanectar.CatalogError:
    project = make_project(catalog, **kwargs)
    with pytest.raises(datanectar.CatalogError) as info:
        datanectar.catalog(project, functions=list(functions))
    return info.value


def returning(annotation: Any, name: str = "result", **asset_options: Any):
    """A decorated function named `name` whose return annotation is `annotation`."""

    def function():
        return None

    function.__name__ = function.__qualname__ = name
    if annotation is not None:
        function.__annotations__ = {"return": annotation}
    return datanectar.asset(function, **asset_options)


# -- binding ----------------------------------------------------------------------------------


def test_binds_to_the_entry_of_its_name(make_project):
    @datanectar.asset
    def stations() -> pd.DataFrame:
        return pd.DataFrame()

    catalog = open_catalog(make_project, "stations:\n  format: csv\n", stations)
    assert catalog.producers["stations"].function is stations
    assert catalog.entry("stations").format == "csv"
    assert catalog.entry("stations").source == MAIN


def test_binds_to_the_entry_given(make_project):
    @datanectar.asset(entry="stations")
    def read_stations() -> pd.DataFrame:
        return pd.DataFrame()

    catalog = open_catalog(make_project, "stations:\n  format: csv\n", read_stations)
    assert catalog.producers["stations"].function is read_stations
    assert list(catalog) == ["stations"]


def test_functions_are_found_in_the_configured_modules(make_project):
    project = make_project(
        "doubled:\n  format: json\n",
        modules={
            "producers_binding_module": """
                import datanectar

                def helper():
                    return 1

                @datanectar.asset
                def doubled(base: int = 2) -> dict:
                    return {"value": base * 2}

                @datanectar.asset(entry="renamed")
                def make_renamed() -> dict:
                    return {}
            """
        },
    )
    catalog = datanectar.catalog(project)
    assert sorted(catalog.producers) == ["doubled", "renamed"]
    assert catalog.producers["doubled"].qualified_name == "producers_binding_module.doubled"
    assert catalog.entry("renamed").format == "pickle"


def test_parameters_named_after_entries_are_upstream(make_project):
    @datanectar.asset
    def daily(stations: pd.DataFrame, scale: float = 1.0) -> pd.DataFrame:
        return stations * scale

    project = make_project("stations:\n  format: csv\ndaily:\n  format: parquet\n")
    defs = datanectar.definitions(project, functions=[daily])
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("daily")).parent_keys == {dg.AssetKey("stations")}


# -- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "fmt", "path"),
    [
        (xr.Dataset, "zarr", "result.zarr"),
        (xr.DataArray, "zarr", "result.zarr"),
        (pd.DataFrame, "delta", "result"),
        (pa.Table, "delta", "result"),
        (dict, "pickle", "result.pkl"),
        (list[int], "pickle", "result.pkl"),
        (None, "pickle", "result.pkl"),
    ],
)
def test_format_inferred_from_the_return_annotation(make_project, annotation, fmt, path):
    catalog = open_catalog(
        make_project, "result:\n  description: no format\n", returning(annotation)
    )
    entry = catalog.entry("result")
    assert (entry.format, entry.path, entry.store) == (fmt, path, "local")


def test_format_given_to_the_decorator(make_project):
    produce = returning(dict, format="json")
    catalog = open_catalog(make_project, "result:\n  description: no format\n", produce)
    assert catalog.entry("result").format == "json"
    assert catalog.entry("result").path == "result.json"


def test_catalog_format_beats_the_annotation(make_project):
    catalog = open_catalog(make_project, "result:\n  format: parquet\n", returning(pd.DataFrame))
    assert catalog.entry("result").format == "parquet"


def test_same_format_in_catalog_and_decorator_is_fine(make_project):
    produce = returning(pd.DataFrame, format="csv")
    catalog = open_catalog(make_project, "result:\n  format: csv\n", produce)
    assert catalog.entry("result").format == "csv"


def test_conflicting_formats_name_both(make_project):
    produce = returning(pd.DataFrame, format="parquet")
    error = binding_error(make_project, "result:\n  format: csv\n", produce)
    assert (error.file, error.entry, error.field) == (MAIN, "result", "format")
    assert error.problem == (f"the catalog says 'csv' but {__name__}.result says 'parquet'.")
    assert str(error).startswith(f"{MAIN}: entry 'result': field 'format': the catalog says 'csv'")
    assert error.fix == "state the format in one place."


def test_unknown_format_given_to_the_decorator(make_project):
    with pytest.raises(DatanectarError, match=r"unknown format 'xlsx'\. Formats: csv, delta"):

        @datanectar.asset(format="xlsx")
        def result() -> dict:
            return {}


# -- implicit entries -------------------------------------------------------------------------


def test_a_function_without_entry_becomes_an_implicit_entry(make_project):
    @datanectar.asset
    def summary() -> dict:
        """Counts per station."""
        return {}

    catalog = open_catalog(make_project, "stations:\n  format: csv\n", summary)
    entry = catalog.entry("summary")
    assert (entry.format, entry.store, entry.path, entry.source) == (
        "pickle",
        "local",
        "summary.pkl",
        None,
    )
    assert entry.description == "Counts per station."
    assert list(catalog) == ["stations", "summary"]


def test_an_implicit_entry_goes_to_the_default_store(make_project):
    @datanectar.asset(group="reports")
    def summary() -> pd.DataFrame:
        return pd.DataFrame()

    catalog = open_catalog(
        make_project, "", summary, settings='default_store = "other"\n', stores=TWO_STORES
    )
    entry = catalog.entry("summary")
    assert (entry.format, entry.store, entry.path, entry.group) == (
        "delta",
        "other",
        "summary",
        "reports",
    )


def test_an_invalid_group_on_the_decorator_is_a_datanectar_error(make_project):
    with pytest.raises(DatanectarError, match="group 'bad-group'"):

        @datanectar.asset(group="bad-group")
        def summary() -> dict:
            return {}

        datanectar.catalog(make_project(""), functions=[summary])


# -- errors -----------------------------------------------------------------------------------


def test_two_functions_for_one_entry_name_both(make_project):
    @datanectar.asset
    def stations() -> pd.DataFrame:
        return pd.DataFrame()

    @datanectar.asset(entry="stations")
    def other_stations() -> pd.DataFrame:
        return pd.DataFrame()

    error = binding_error(make_project, "stations:\n  format: csv\n", stations, other_stations)
    assert (error.file, error.entry, error.field) == (MAIN, "stations", None)
    assert error.problem == (
        f"two functions produce it: {stations.__module__}.{stations.__qualname__} "
        f"and {other_stations.__module__}.{other_stations.__qualname__}."
    )
    assert str(error).startswith(f"{MAIN}: entry 'stations': two functions produce it")


def test_two_functions_for_one_implicit_entry(make_project):
    first = returning(dict, name="first", entry="shared")
    second = returning(dict, name="second", entry="shared")
    error = binding_error(make_project, "", first, second)
    assert (error.file, error.entry) == (None, "shared")
    assert f"{__name__}.first and {__name__}.second" in error.problem


def test_the_same_function_given_twice_is_not_a_conflict(make_project):
    produce = returning(dict, name="result")
    catalog = open_catalog(make_project, "", produce, produce)
    assert catalog.producers["result"].function is produce


def test_parameter_naming_no_entry_without_default(make_project):
    @datanectar.asset
    def daily(stations_typo: pd.DataFrame) -> pd.DataFrame:
        return stations_typo

    error = binding_error(
        make_project, "stations:\n  format: csv\ndaily:\n  format: parquet\n", daily
    )
    assert (error.file, error.entry, error.field) == (MAIN, "daily", None)
    assert error.problem == (
        f"parameter 'stations_typo' of {daily.__module__}.{daily.__qualname__} names no "
        "catalog entry and has no default. Did you mean 'stations'?"
    )
    assert str(error).startswith(f"{MAIN}: entry 'daily': parameter 'stations_typo'")
    assert "give it a default" in error.fix


def test_parameter_errors_are_reported_together(make_project):
    @datanectar.asset
    def daily(one, two) -> dict:
        return {}

    project = make_project("")
    with pytest.raises(CatalogErrors) as info:
        datanectar.catalog(project, functions=[daily])
    assert [e.problem.split(" of ")[0] for e in info.value.errors] == [
        "parameter 'one'",
        "parameter 'two'",
    ]


def test_entry_and_parameter_errors_of_one_function_are_reported_together(make_project):
    @datanectar.asset(format="parquet")
    def daily(missing) -> pd.DataFrame:
        return pd.DataFrame()

    project = make_project("daily:\n  format: csv\n")
    with pytest.raises(CatalogErrors) as info:
        datanectar.catalog(project, functions=[daily])
    assert [(e.entry, e.field) for e in info.value.errors] == [("daily", "format"), ("daily", None)]


@pytest.mark.parametrize("signature", ["*stations", "**entries", "first, *rest"])
def test_variadic_parameters_are_refused(signature):
    namespace: dict[str, Any] = {}
    exec(f"def produce({signature}):\n    return None\n", namespace)
    with pytest.raises(DatanectarError) as info:
        datanectar.asset(namespace["produce"])
    assert "produce: *args/**kwargs cannot name upstream entries" in str(info.value)


def test_entry_name_given_must_be_an_identifier():
    with pytest.raises(DatanectarError, match="entry name 'not-valid' must use letters"):

        @datanectar.asset(entry="not-valid")
        def produce() -> dict:
            return {}


def test_an_undecorated_function_is_refused(make_project):
    def plain() -> dict:
        return {}

    with pytest.raises(DatanectarError, match=r"is not decorated with @datanectar\.asset"):
        datanectar.catalog(make_project(""), functions=[plain])


# -- running ----------------------------------------------------------------------------------


def test_the_function_stays_a_plain_callable():
    @datanectar.asset(version="3")
    def doubled(value: int) -> int:
        """Twice the value."""
        return value * 2

    assert doubled(21) == 42
    assert doubled.__name__ == "doubled"
    producer = producer_of(doubled)
    assert (producer.entry, producer.version, producer.description) == (
        "doubled",
        "3",
        "Twice the value.",
    )


def test_context_parameter_receives_the_dagster_context(make_project, materialize):
    seen: dict[str, Any] = {}

    @datanectar.asset
    def stamped(context) -> dict:
        seen["context"] = context
        return {"run_id": context.run.run_id}

    project = make_project("stamped:\n  format: json\n")
    defs = datanectar.definitions(project, functions=[stamped])
    assert defs.resolve_asset_graph().get(dg.AssetKey("stamped")).parent_keys == set()

    result = materialize(project, functions=[stamped])
    assert result.success
    assert isinstance(seen["context"], dg.AssetExecutionContext)
    assert seen["context"].run.run_id == result.run_id
    assert datanectar.catalog(project).load("stamped") == {"run_id": result.run_id}
