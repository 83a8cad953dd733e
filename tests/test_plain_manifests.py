"""Every write of a value that is not versioned leaves a manifest of its files and sizes, and
every load checks it: a truncated csv or a deleted zarr chunk is an error naming the entry and
the file, not half a table or NaNs. Files are changed with plain pathlib and boto3."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import datanectar
from datanectar.errors import StorageIOError

CATALOG = """\
table: {format: csv}
grid: {format: zarr}
frame: {format: parquet}
"""
GRID = xr.Dataset({"air": (("t", "x"), np.arange(40.0).reshape(8, 5))}).chunk({"t": 2})
FRAME = pd.DataFrame({"a": range(1000), "b": [f"row {i}" for i in range(1000)]})


def test_a_truncated_csv_is_caught_naming_entry_and_file(make_project) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    catalog.save("table", FRAME)
    stored = project / "data" / "table.csv"
    manifest = json.loads((project / "data/.datanectar/manifests/table.csv.json").read_text())
    assert manifest["files"] == [{"name": "", "size": stored.stat().st_size}]
    pd.testing.assert_frame_equal(catalog.load("table"), FRAME)
    data = stored.read_bytes()
    with stored.open("r+b") as file:  # truncated in place, as a failed copy leaves it
        file.truncate(len(data) // 2)
    with pytest.raises(StorageIOError) as info:
        catalog.load("table")
    message = str(info.value)
    assert "entry 'table'" in message and "table.csv" in message
    assert f"{len(data) // 2} bytes, and {len(data)} were written" in message


def test_a_deleted_zarr_chunk_is_caught(make_project) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    catalog.save("grid", GRID)
    chunk = next((project / "data" / "grid.zarr" / "air").glob("1.*"))
    chunk.unlink()
    with pytest.raises(StorageIOError) as info:
        catalog.load("grid")
    assert "entry 'grid'" in str(info.value) and f"air/{chunk.name}' is missing" in str(info.value)


def test_a_value_replaced_by_another_tool_is_read_as_it_is(make_project) -> None:
    """A manifest of another object checks nothing: no false alarm."""
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    catalog.save("table", FRAME)
    other = FRAME.head(3)
    other.to_csv(project / "data" / "table.csv.new", index=False)
    (project / "data" / "table.csv.new").replace(project / "data" / "table.csv")
    pd.testing.assert_frame_equal(catalog.load("table"), other)


def test_removing_a_value_removes_its_manifest(make_project) -> None:
    project = make_project(CATALOG)
    catalog = datanectar.catalog(project)
    catalog.save("table", FRAME)
    catalog.storage.remove(catalog._target("table", None))
    assert not (project / "data/.datanectar/manifests/table.csv.json").exists()


def test_on_s3_a_deleted_zarr_chunk_is_caught_and_one_object_values_cost_nothing(
    make_project, s3
) -> None:
    project = make_project(
        CATALOG, settings='default_store = "lake"\n', stores=s3.store_toml(prefix="p")
    )
    catalog = datanectar.catalog(project)
    catalog.save("frame", FRAME)
    assert not [key for key in s3.keys("p/") if "manifests" in key]  # parquet: none
    catalog.save("grid", GRID)
    manifest = json.loads(
        s3.client.get_object(Bucket=s3.bucket, Key="p/.datanectar/manifests/grid.zarr.json")[
            "Body"
        ].read()
    )
    chunk = next(f["name"] for f in manifest["files"] if f["name"].startswith("air/1."))
    s3.client.delete_object(Bucket=s3.bucket, Key=f"p/{manifest['data']}/{chunk}")
    with pytest.raises(StorageIOError) as info:
        catalog.load("grid")
    assert f"file '{chunk}' is missing" in str(info.value)
