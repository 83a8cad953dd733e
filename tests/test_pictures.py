"""What the Dagster UI shows of a materialization: pictures where people would rather look
than read (a grid's quick look, a table's histograms), readable previews, checks described
as sentences, and no internal keys. Real runs, metadata read back from the instance's events;
every picture decoded with Pillow."""

from __future__ import annotations

import base64
import io
import re

import dagster as dg
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image

import datanectar
from datanectar.pictures import MAX_BYTES, MAX_SIDE, quick_look

PNG_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def pictures(markdown: str) -> list[bytes]:
    return [base64.b64decode(found) for found in PNG_URI.findall(markdown)]


def decoded(png: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(png))
    picture.load()
    assert picture.format == "PNG"
    return picture


def colours(picture: Image.Image) -> int:
    return len(picture.convert("RGBA").getcolors(maxcolors=1 << 20) or [])


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def air(times: int = 4, lats: int = 30, lons: int = 40) -> xr.Dataset:
    lat = np.linspace(-60, 60, lats)
    lon = np.linspace(0, 357, lons)
    values = 260 + 40 * np.cos(np.deg2rad(lat))[None, :, None] * np.ones((times, lats, lons))
    values = values + np.arange(times)[:, None, None]
    values[-1, 0, :5] = np.nan  # a few missing values in the slice drawn
    return xr.Dataset(
        {
            "station": (("station",), np.arange(3)),  # 1-D: not drawn
            "air": (("time", "lat", "lon"), values.astype("float32"), {"units": "K"}),
        },
        coords={"time": pd.date_range("2020-01-01", periods=times), "lat": lat, "lon": lon},
    )


# -- a grid's quick look ----------------------------------------------------------------------


def test_a_grid_materialization_shows_a_quick_look_png(make_project, materialize, instance):
    project = make_project("grid:\n  format: zarr\n  path: g.zarr\n")

    @datanectar.asset(entry="grid")
    def grid():
        return air().chunk({"time": 1})

    result = materialize(project, functions=[grid])

    [materialization] = result.asset_materializations_for_node("grid")
    markdown = materialization.metadata["quick_look"].value
    [png] = pictures(markdown)
    assert len(png) < MAX_BYTES
    picture = decoded(png)
    assert picture.size == (40, 30)  # lon across, lat down
    assert colours(picture) > 10  # a picture, not one colour
    # what it shows, and the colour scale's range (the last day: 260 + 3 up to 300 + 3)
    assert "**air**" in markdown and "time = 2020-01-04 (the last of 4)" in markdown
    low, high = re.search(r"from ([\d.]+) K .* to ([\d.]+) K", markdown).groups()
    assert 263 <= float(low) < 285 and 295 < float(high) <= 303
    # the stored metadata, as the instance gives it back, holds the same picture
    event = instance.get_latest_materialization_event(dg.AssetKey("grid"))
    assert event.asset_materialization.metadata["quick_look"].value == markdown


def test_a_large_lazy_grid_is_thinned_and_only_its_last_slice_computed():
    computed: list[int] = []

    def noise(block: np.ndarray, block_info=None) -> np.ndarray:
        computed.append(block_info[0]["chunk-location"][0])
        generator = np.random.default_rng(block_info[0]["chunk-location"][0])
        return block + generator.normal(size=block.shape)

    lazy = da.zeros((12, 700, 1000), chunks=(1, 700, 1000)).map_blocks(noise, dtype=float)
    grid = xr.DataArray(lazy, dims=("time", "y", "x"), name="noise")

    look = quick_look(grid)

    assert computed == [11]  # the last time step only
    assert len(look.png) <= MAX_BYTES  # noise compresses worst of all
    picture = decoded(look.png)
    assert max(picture.size) <= MAX_SIDE and min(picture.size) > 16
    assert colours(picture) > 100
    assert look.low < -2 and look.high > 2
    assert "thinned to" in look.markdown()


def test_a_grid_without_a_two_dimensional_variable_has_no_quick_look(make_project, materialize):
    project = make_project("series:\n  format: netcdf\n  path: s.nc\n")

    @datanectar.asset(entry="series")
    def series():
        return xr.Dataset({"level": (("time",), np.arange(5.0))})

    result = materialize(project, functions=[series])

    [materialization] = result.asset_materializations_for_node("series")
    assert "quick_look" not in materialization.metadata
    assert materialization.metadata["dims"].value == {"time": 5}


# -- tables: histograms and previews -----------------------------------------------------------


def test_profile_shows_a_histogram_per_numeric_column(make_project, materialize):
    project = make_project("table:\n  format: parquet\n  path: t.parquet\n  profile: true\n")
    generator = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "temperature": generator.normal(15, 5, 500),
            "count": generator.integers(0, 40, 500),
            "name": ["a"] * 500,
            "flag": [True, False] * 250,
        }
    )

    @datanectar.asset(entry="table")
    def table():
        return frame

    result = materialize(project, functions=[table])

    [materialization] = result.asset_materializations_for_node("table")
    markdown = materialization.metadata["histograms"].value
    shown = pictures(markdown)
    assert len(shown) == 2  # the numeric columns; not text, not booleans
    assert "| temperature | ![" in markdown and "| count | ![" in markdown
    for png in shown:
        picture = decoded(png)
        assert picture.size == (96, 24)
        assert colours(picture) >= 2
    assert sum(len(png) for png in shown) < 2_000
    rows = {
        row.data["column"]: row.data for row in materialization.metadata["profile"].value.records
    }
    assert rows["count"]["nulls"] == 0  # the statistics stay beside the pictures


def test_previews_round_floats_and_keep_timestamps_on_one_line(make_project, materialize):
    project = make_project("table:\n  format: parquet\n  path: t.parquet\n")
    frame = pd.DataFrame(
        {
            "value": [1.23456789, 123456.789, 0.000123456],
            "when": pd.to_datetime(["2020-01-01 06:30", "2020-01-02 00:00", "2020-01-03 12:00"]),
        }
    )

    @datanectar.asset(entry="table")
    def table():
        return frame

    result = materialize(project, functions=[table])

    [materialization] = result.asset_materializations_for_node("table")
    preview = materialization.metadata["preview"].value
    assert "| 1.235 | 2020-01-01T06:30:00 |" in preview
    assert "| 1.235e+05 | 2020-01-02T00:00:00 |" in preview
    assert "| 0.0001235 |" in preview
    assert "1.23456789" not in preview


# -- checks ----------------------------------------------------------------------------------


def test_check_descriptions_read_as_sentences(make_project):
    project = make_project(
        "grid:\n  format: zarr\n  path: g.zarr\n  checks:\n"
        "    - range: {air: [180, 340]}\n"
        "    - {range: {air: [null, 340.5]}, name: upper}\n"
        "    - dims: {time: null, lat: 30}\n"
        "    - max_nan_fraction: {air: 0.1}\n"
        "table:\n  format: parquet\n  path: t.parquet\n  checks:\n"
        "    - row_count: {min: 10}\n"
        "    - unique: [station, day]\n"
        "    - values_in: {kind: [a, b]}\n"
    )

    defs = datanectar.definitions(project)

    descriptions = {
        spec.name: spec.description for checks in defs.asset_checks for spec in checks.check_specs
    }
    assert descriptions["range"] == "air between 180 and 340."
    assert descriptions["upper"] == "air at most 340.5."
    assert descriptions["dims"] == "dimensions time and lat of length 30."
    assert descriptions["max_nan_fraction"] == "at most 0.1 of air is NaN."
    assert descriptions["row_count"] == "at least 10 rows."
    assert descriptions["unique"] == "every combination of station and day is unique."
    assert descriptions["values_in"] == "kind is one of a, b."
    assert not any("{" in text or "(" in text for text in descriptions.values())


def test_a_passed_range_check_shows_the_observed_min_and_max(make_project, materialize):
    project = make_project(
        "table:\n  format: parquet\n  path: t.parquet\n  checks:\n"
        "    - range: {value: [0, 100], day: ['2020-01-01', '2020-12-31']}\n"
        "grid:\n  format: zarr\n  path: g.zarr\n  checks:\n"
        "    - range: {air: [180, 340]}\n"
    )

    @datanectar.asset(entry="table")
    def table():
        days = pd.to_datetime(["2020-03-01", "2020-02-01", None])
        return pd.DataFrame({"value": [1.5, 99.0, np.nan], "day": days})

    @datanectar.asset(entry="grid")
    def grid():
        return air().chunk({"time": 1})

    result = materialize(project, functions=[table, grid])

    checks = {
        (event.asset_check_evaluation_data.asset_key.path[-1], name): check
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        for name, check in [
            (event.asset_check_evaluation_data.check_name, event.asset_check_evaluation_data)
        ]
    }
    table_check, grid_check = checks[("table", "range")], checks[("grid", "range")]
    assert table_check.passed and grid_check.passed
    assert table_check.metadata["value min"].value == 1.5
    assert table_check.metadata["value max"].value == 99.0
    assert table_check.metadata["day min"].value == "2020-02-01T00:00:00"
    assert table_check.metadata["day max"].value == "2020-03-01T00:00:00"
    expected = air()["air"]
    assert grid_check.metadata["air min"].value == float(expected.min())
    assert grid_check.metadata["air max"].value == float(expected.max())


# -- what an entry's asset and a cached call's materialization show ----------------------------


def test_entry_metadata_shows_store_path_and_format_not_internal_fields(make_project, materialize):
    project = make_project(
        "table:\n  format: csv\n  path: t.csv\n  store: local\n"
        "  schema: {fields: [{name: id, type: integer}]}\n  checks:\n    - not_null: [id]\n"
        "after:\n  format: json\n"
    )

    @datanectar.asset(entry="table")
    def table():
        return pd.DataFrame({"id": [1, 2]})

    @datanectar.asset(entry="after")
    def after(table: pd.DataFrame) -> dict:
        return {"rows": len(table)}

    defs = datanectar.definitions(project, functions=[table, after])
    metadata = defs.resolve_assets_def("table").specs_by_key[dg.AssetKey("table")].metadata

    assert metadata["format"] == "csv" and metadata["store"] == "local"
    assert metadata["path"] == "t.csv"
    entry = metadata["datanectar/entry"].data
    assert "schema_" not in entry and "schema" in entry  # the catalog's own names
    assert not {"format", "store", "path", "external", "metadata", "tags"} & set(entry)
    # the IO manager still finds everything it needs: downstream reads the table
    result = materialize(project, functions=[table, after])
    assert result.output_for_node("after") == {"rows": 2}


@pytest.mark.usefixtures("hermetic_cache")
def test_a_keyed_cached_object_shows_its_arguments(make_cache_project, materialize):
    project = make_cache_project()
    seen: list[pd.DataFrame] = []

    @datanectar.cache(cache_args=["agg_days"], format="parquet")
    def means(agg_days: int = 1) -> pd.DataFrame:
        return pd.DataFrame({"mean": [float(agg_days)]})

    @datanectar.asset()
    def total(means: pd.DataFrame) -> dict:
        seen.append(means)
        return {"total": float(means["mean"].sum())}

    functions = [means, total]
    defs = datanectar.definitions(project, functions=functions)
    shown = defs.resolve_assets_def("means").specs_by_key[dg.AssetKey("means")].metadata
    assert shown["cached_function"].endswith("means")
    assert shown["default_cache_arguments"].data == {"agg_days": 1}
    assert not {"datanectar/cached", "datanectar/keyed"} & set(shown)
    result = materialize(
        project, "means", functions=functions, asset_config={"means": {"agg_days": 3}}
    )

    [materialization] = result.asset_materializations_for_node("means")
    assert materialization.metadata["arguments"].value == {"agg_days": 3}
    assert not [key for key in materialization.metadata if key.endswith("segment")]
    # what downstream reads is still the object of that materialization's arguments
    materialize(project, "total", functions=functions)
    assert seen[-1]["mean"].tolist() == [3.0]
