"""The s3 store against a real S3 API (moto's server on 127.0.0.1): every format through
Dagster and the Python API, read back with boto3, s3fs, pyarrow, deltalake and xarray
directly; partitions; publishing that never shows a half-written value; errors that name the
store and the entry, never a credential."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import deltalake
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import s3fs
import xarray as xr

import datanectar
from runs import materialize_project

FRAME = pd.DataFrame({"id": [1, 2, 3], "value": [0.5, 1.5, 2.5], "name": ["a", "b", "c"]})
GRID = xr.Dataset(
    {"air": (("time", "x"), np.arange(12.0).reshape(4, 3))},
    coords={"time": pd.date_range("2024-01-01", periods=4, freq="D"), "x": [10, 20, 30]},
)
FUNCTIONS = """
import numpy as np
import pandas as pd
import xarray as xr
import datanectar

FRAME = pd.DataFrame({"id": [1, 2, 3], "value": [0.5, 1.5, 2.5], "name": ["a", "b", "c"]})

@datanectar.asset(entry="t_parquet")
def t_parquet() -> pd.DataFrame:
    return FRAME

@datanectar.asset(entry="t_csv")
def t_csv() -> pd.DataFrame:
    return FRAME

@datanectar.asset(entry="t_delta")
def t_delta() -> pd.DataFrame:
    return FRAME

@datanectar.asset(entry="t_json")
def t_json() -> dict:
    return {"rows": 3, "names": ["a", "b", "c"]}

@datanectar.asset(entry="t_pickle")
def t_pickle() -> dict:
    return {"model": [1, 2, 3]}

@datanectar.asset(entry="t_zarr")
def t_zarr() -> xr.Dataset:
    return xr.Dataset(
        {"air": (("time", "x"), np.arange(12.0).reshape(4, 3))},
        coords={"time": pd.date_range("2024-01-01", periods=4, freq="D"), "x": [10, 20, 30]},
    )

@datanectar.asset(entry="t_netcdf")
def t_netcdf(t_zarr: xr.Dataset) -> xr.Dataset:
    return t_zarr * 2

@datanectar.asset(entry="summary")
def summary(t_parquet: pd.DataFrame, t_delta: pd.DataFrame, t_csv: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"total": [t_parquet.value.sum() + t_delta.value.sum() + t_csv.value.sum()]})
"""
CATALOG = """
t_parquet: {format: parquet, store: lake}
t_csv: {format: csv, store: lake}
t_delta: {format: delta, store: lake}
t_json: {format: json, store: lake}
t_pickle: {format: pickle, store: lake}
t_zarr: {format: zarr, store: lake}
t_netcdf: {format: netcdf, store: lake}
summary: {format: parquet, store: lake, checks: [{row_count: {min: 1}}]}
"""


def s3_project(make_project, s3, catalog: str = CATALOG, functions: str = FUNCTIONS) -> Path:
    return make_project(
        catalog,
        settings='default_store = "lake"\n',
        stores='[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
        + s3.store_toml(prefix="prod"),
        modules={"s3_functions": functions},
    )


def test_every_format_through_dagster_on_s3(make_project, instance, s3) -> None:
    project = s3_project(make_project, s3)
    result = materialize_project(project, instance)
    assert result.success
    fs = s3fs.S3FileSystem(**s3.storage_options())
    root = f"{s3.bucket}/prod"

    pd.testing.assert_frame_equal(
        pq.read_table(f"{root}/t_parquet.parquet", filesystem=fs).to_pandas(), FRAME
    )
    body = s3.client.get_object(Bucket=s3.bucket, Key="prod/t_csv.csv")["Body"].read()
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(body)), FRAME)
    table = deltalake.DeltaTable(f"s3://{root}/t_delta", storage_options=s3.delta_options())
    pd.testing.assert_frame_equal(table.to_pandas().sort_values("id").reset_index(drop=True), FRAME)
    body = s3.client.get_object(Bucket=s3.bucket, Key="prod/t_json.json")["Body"].read()
    assert json.loads(body) == {"rows": 3, "names": ["a", "b", "c"]}
    body = s3.client.get_object(Bucket=s3.bucket, Key="prod/t_pickle.pkl")["Body"].read()
    assert pickle.loads(body) == {"model": [1, 2, 3]}

    # a zarr store is many objects: published under a prefix of its own, named by a pointer
    materialization = instance.get_latest_materialization_event(dg.AssetKey("t_zarr"))
    uri = materialization.asset_materialization.metadata["dagster/uri"].value
    assert uri.startswith(f"s3://{root}/") and uri != f"s3://{root}/t_zarr.zarr"
    with xr.open_zarr(uri, storage_options=s3.storage_options()) as stored:
        xr.testing.assert_identical(stored.load(), GRID)
    with fs.open(f"{root}/t_netcdf.nc", "rb") as handle:
        with xr.open_dataset(handle, engine="h5netcdf") as stored:
            xr.testing.assert_allclose(stored.load(), GRID * 2)
    body = s3.client.get_object(Bucket=s3.bucket, Key="prod/summary.parquet")["Body"].read()
    assert pq.read_table(io.BytesIO(body)).to_pandas()["total"].tolist() == [13.5]

    # what the Python API reads is what Dagster wrote
    catalog = datanectar.catalog(project)
    pd.testing.assert_frame_equal(catalog.load("t_parquet"), FRAME)
    xr.testing.assert_identical(catalog.load("t_zarr").load(), GRID)
    # nothing left but the published values (the zarr store's one version and its pointer)
    names = {key.split("/")[1] for key in s3.keys("prod/")}
    version = uri.rsplit("/", 1)[1]
    assert version.startswith("t_zarr.zarr.v")
    assert names == {
        "t_parquet.parquet",
        "t_csv.csv",
        "t_delta",
        "t_json.json",
        "t_pickle.pkl",
        "t_netcdf.nc",
        "summary.parquet",
        version,
        "t_zarr.zarr.datanectar-pointer",
        ".datanectar",  # the zarr store's manifest (its files and sizes)
    }


def test_a_zarr_republished_replaces_the_pointer_and_retires_the_old_prefix(
    make_project, s3, monkeypatch
):
    from datanectar.stores import s3 as s3_store

    project = s3_project(make_project, s3)
    catalog = datanectar.catalog(project)
    first = catalog.save("t_zarr", GRID).uri
    opened = datanectar.catalog(project).load("t_zarr")  # lazy: read after the next publish
    second = catalog.save("t_zarr", GRID + 1).uri
    assert first != second
    key = "prod/t_zarr.zarr.datanectar-pointer"
    pointer = json.loads(s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read())
    assert second.endswith(pointer["prefix"])
    assert [first.endswith(r["prefix"]) for r in pointer["retired"]] == [True]
    # a reader that opened the first value goes on reading it whole
    xr.testing.assert_identical(opened.load(), GRID)
    with xr.open_zarr(second, storage_options=s3.storage_options()) as stored:
        xr.testing.assert_identical(stored.load(), GRID + 1)
    # once retired long enough, a later publish removes it
    monkeypatch.setattr(s3_store, "RETIRED_GRACE_SECONDS", 0.0)
    third = catalog.save("t_zarr", GRID).uri
    first_key = first.split(f"{s3.bucket}/", 1)[1]
    assert not s3.keys(first_key + "/") and s3.keys(third.split(f"{s3.bucket}/", 1)[1] + "/")
    xr.testing.assert_identical(datanectar.catalog(project).load("t_zarr").load(), GRID)


def test_partitions_on_s3_file_per_partition_and_delta_replace(make_project, s3) -> None:
    catalog_text = """
by_city: {format: parquet, store: lake, path: "cities/{city}.parquet", namespaces: [{name: city, values: [paris, lyon]}]}
table: {format: delta, store: lake, path: obs, namespaces: [{name: city, values: [paris, lyon]}]}
"""
    project = s3_project(make_project, s3, catalog=catalog_text, functions="")
    catalog = datanectar.catalog(project)
    for city, n in (("paris", 2), ("lyon", 3)):
        catalog.save("by_city", FRAME.head(n), namespace=city)
        catalog.save("table", FRAME.head(n), namespace=city)
    catalog.save("table", FRAME.head(1), namespace="paris")  # one partition replaced

    assert "prod/cities/paris.parquet" in s3.keys("prod/cities/")
    body = s3.client.get_object(Bucket=s3.bucket, Key="prod/cities/lyon.parquet")["Body"].read()
    assert len(pq.read_table(io.BytesIO(body))) == 3
    table = deltalake.DeltaTable(f"s3://{s3.bucket}/prod/obs", storage_options=s3.delta_options())
    counts = table.to_pandas().groupby("city").size().to_dict()
    assert counts == {"paris": 1, "lyon": 3}
    assert len(catalog.load("table", namespace="lyon")) == 3


def test_two_processes_writing_partitions_of_one_delta_table_both_land(make_project, s3) -> None:
    catalog_text = (
        "table: {format: delta, store: lake, path: shared, "
        "namespaces: [{name: city, values: [paris, lyon]}]}\n"
    )
    project = s3_project(make_project, s3, catalog=catalog_text, functions="")
    script = textwrap.dedent(
        f"""
        import sys
        import pandas as pd
        import datanectar

        catalog = datanectar.catalog({str(project)!r})
        city, round_ = sys.argv[1], int(sys.argv[2])
        catalog.save("table", pd.DataFrame({{"round": [round_] * 2, "who": [city] * 2}}), namespace=city)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for round_ in range(10):
        writers = [
            subprocess.Popen([sys.executable, "-c", script, city, str(round_)], env=env)
            for city in ("paris", "lyon")
        ]
        assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
        table = deltalake.DeltaTable(
            f"s3://{s3.bucket}/prod/shared", storage_options=s3.delta_options()
        )
        landed = table.to_pandas()
        assert landed.groupby("city")["round"].max().to_dict() == {"paris": round_, "lyon": round_}
        assert len(landed) == 4


def test_a_writer_killed_mid_upload_leaves_the_previous_value_whole(make_project, s3) -> None:
    project = s3_project(make_project, s3, functions="")
    catalog = datanectar.catalog(project)
    catalog.save("t_zarr", GRID)
    big = xr.Dataset({"air": (("time", "x"), np.random.rand(400, 20_000))}).chunk({"time": 10})
    script = textwrap.dedent(
        f"""
        import numpy as np
        import xarray as xr
        import datanectar

        big = xr.Dataset({{"air": (("time", "x"), np.random.rand(400, 20_000))}}).chunk({{"time": 10}})
        datanectar.catalog({str(project)!r}).save("t_zarr", big)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writer = subprocess.Popen([sys.executable, "-c", script], env=env)
    # killed once it has uploaded part of the new value
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        staged = [key for key in s3.keys("prod/") if ".zarr.v" in key and "/air/" in key]
        if len(staged) > 5:
            break
        time.sleep(0.2)
    writer.kill()
    writer.wait()
    assert big.sizes["time"] == 400
    with xr.open_zarr(
        datanectar.catalog(project).location("t_zarr").uri, storage_options=s3.storage_options()
    ) as stored:
        xr.testing.assert_identical(stored.load(), GRID)
    xr.testing.assert_identical(datanectar.catalog(project).load("t_zarr").load(), GRID)


def test_errors_name_the_store_and_entry_never_the_secret(make_project, s3, monkeypatch) -> None:
    project = make_project(
        "t_parquet: {format: parquet, store: lake}\n",
        settings='default_store = "lake"\n',
        stores=s3.store_toml().replace(s3.bucket, "no-such-bucket-dn"),
    )
    with pytest.raises(datanectar.errors.DatanectarError) as info:
        datanectar.catalog(project).save("t_parquet", FRAME)
    message = str(info.value)
    assert "lake" in message and "t_parquet" in message
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in message


def test_wrong_credentials_are_access_denied_naming_store_and_entry(
    make_project, monkeypatch
) -> None:
    """A server that checks access keys (as S3 does) refuses these ones: every format says
    access was denied, for which store and entry, and what to check; through Python and in
    a `dagster asset materialize` log, never the secret."""
    from runs import materialize_with_dagster_cli
    from s3_server import CREDENTIALS, moto_server

    for variable, value in CREDENTIALS.items():
        monkeypatch.setenv(variable, value)
    secret = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    with moto_server(checking_credentials=True) as endpoint:
        stores = (
            f'[tool.datanectar.stores.lake]\ntype = "s3"\nbucket = "weather-lake"\n'
            f'endpoint_url = "{endpoint}"\n'
        )
        project = s3_project(make_project, _NoBucket(stores))
        catalog = datanectar.catalog(project)
        for message in _failed_saves_and_loads(catalog):
            assert "access denied" in message and "AWS_ACCESS_KEY_ID" in message, message
            assert secret not in message
        (project / "definitions.py").write_text(
            "from pathlib import Path\nimport datanectar\n\n"
            "defs = datanectar.definitions(Path(__file__).parent)\n"
        )
        env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
        run = materialize_with_dagster_cli(project, "t_parquet", env=env)
    assert run.returncode != 0
    log = run.stdout + run.stderr
    assert "entry 't_parquet'" in log and "access denied" in log, log[-3000:]
    assert secret not in log


def test_an_endpoint_that_never_answers_fails_within_the_stores_timeout(
    make_project, monkeypatch
) -> None:
    """A server that takes the connection and never answers: each library waits the store's
    `timeout_seconds` per try, three tries, and the error says so (not botocore's 60 s x 5)."""
    import socket
    import threading

    from s3_server import CREDENTIALS

    for variable, value in CREDENTIALS.items():
        monkeypatch.setenv(variable, value)

    listening = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold_connections() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listening.accept()[0])

    threading.Thread(target=hold_connections, daemon=True).start()
    endpoint = f"http://127.0.0.1:{listening.getsockname()[1]}"
    stores = (
        f'[tool.datanectar.stores.lake]\ntype = "s3"\nbucket = "weather-lake"\n'
        f'endpoint_url = "{endpoint}"\ntimeout_seconds = 0.5\n'
    )
    try:
        project = s3_project(make_project, _NoBucket(stores), functions="")
        catalog = datanectar.catalog(project)
        for name in ("t_parquet", "t_delta"):
            with pytest.raises(datanectar.errors.DatanectarError) as info:
                catalog.load(name)
            message = str(info.value)
            assert f"entry '{name}'" in message and "did not answer within 0.5 s" in message
            assert "timeout_seconds" in message, message
    finally:
        listening.close()
        for connection in held:
            connection.close()


def test_no_credentials_at_all_says_so_for_every_format(
    make_project, monkeypatch, tmp_path
) -> None:
    """With nothing in the AWS chain, deltalake sends unsigned requests S3 answers 403 to:
    every format says no credentials were found, not that they were refused."""
    from s3_server import moto_server

    for variable in list(os.environ):
        if variable.startswith("AWS_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with moto_server(checking_credentials=True) as endpoint:
        stores = (
            f'[tool.datanectar.stores.lake]\ntype = "s3"\nbucket = "weather-lake"\n'
            f'region = "us-east-1"\nendpoint_url = "{endpoint}"\ntimeout_seconds = 2\n'
        )
        catalog = datanectar.catalog(s3_project(make_project, _NoBucket(stores), functions=""))
        for message in _failed_saves_and_loads(catalog):
            assert "no AWS credentials found" in message, message


def _failed_saves_and_loads(catalog: datanectar.Catalog) -> Iterator[str]:
    """What a save and a load of a parquet, a delta and a zarr entry each said, failing,
    each naming its entry and the store."""
    for name, value in [("t_parquet", FRAME), ("t_delta", FRAME), ("t_zarr", GRID)]:
        for attempt, arguments in ((catalog.save, (name, value)), (catalog.load, (name,))):
            with pytest.raises(datanectar.errors.DatanectarError) as info:
                attempt(*arguments)
            message = str(info.value)
            assert f"entry '{name}'" in message and "store 'lake'" in message, message
            yield message


class _NoBucket:
    """`s3_project`'s store settings, for a server no test bucket was made on."""

    def __init__(self, stores: str) -> None:
        self._stores = stores

    def store_toml(self, prefix: str = "") -> str:
        return self._stores


def test_definitions_hold_an_s3_resource_for_each_s3_store(make_project, s3) -> None:
    from dagster_aws.s3 import S3Resource

    project = s3_project(make_project, s3, functions="")
    defs = datanectar.definitions(project)
    resource = defs.resources["s3_lake"]
    assert isinstance(resource, S3Resource) and resource.endpoint_url == s3.endpoint
    datanectar.catalog(project).save("t_json", {"a": 1})
    # a user's own code reaches the same objects through it
    client = resource.get_client()
    body = client.get_object(Bucket=s3.bucket, Key="prod/t_json.json")["Body"].read()
    assert json.loads(body) == {"a": 1}
