"""The http store: source entries read from a web server (a threaded server on 127.0.0.1 with
Range requests, ETags and auth), read-only, with failures that name the store and the entry
and never show its credentials."""

from __future__ import annotations

import socket
import traceback
import warnings
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import datanectar
from datanectar.errors import (
    ConfigError,
    DataNotFoundError,
    StorageIOError,
    StoreAccessError,
    StoreError,
)
from http_server import Served, serving, touch_later
from runs import catalog_error, failure_messages, materialize_project

TOKEN = "s3cr3t-t0ken-value"
PASSWORD = "pa55-w0rd-value"

CATALOG = """\
stations:
  format: csv
  store: portal
  path: tables/stations.csv
  checks:
    - row_count: {min: 1}
readings:
  format: parquet
  store: portal
  path: tables/readings.parquet
settings:
  format: json
  store: portal
  path: objects/settings.json
grid:
  format: netcdf
  store: portal
  path: grids/grid.nc
cube:
  format: zarr
  store: portal
  path: grids/cube.zarr
cube3:
  format: zarr
  store: portal
  path: grids/cube3.zarr
absent:
  format: csv
  store: portal
  path: tables/nowhere.csv
"""


def stores_toml(
    base_url: str, auth: str = '{ type = "bearer", token_env = "PORTAL_TOKEN" }'
) -> str:
    return (
        '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n\n'
        f'[tool.datanectar.stores.portal]\ntype = "http"\nbase_url = "{base_url}"\n'
        f"auth = {auth}\ntimeout_seconds = 5\n"
    )


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "value": [1.5, 2.5, -1.0], "name": ["a", "b", "c"]})


def dataset() -> xr.Dataset:
    return xr.Dataset(
        {"t": (("x", "y"), np.arange(12.0).reshape(3, 4))},
        coords={"x": [10, 20, 30], "y": [1, 2, 3, 4]},
    )


@pytest.fixture
def served(tmp_path) -> Served:
    root = tmp_path / "served"
    (root / "tables").mkdir(parents=True)
    (root / "objects").mkdir()
    (root / "grids").mkdir()
    frame().to_csv(root / "tables" / "stations.csv", index=False)
    frame().to_parquet(root / "tables" / "readings.parquet", row_group_size=1)
    (root / "objects" / "settings.json").write_text('{"threshold": 3, "names": ["a", "b"]}')
    dataset().to_netcdf(root / "grids" / "grid.nc", engine="h5netcdf")
    dataset().to_zarr(root / "grids" / "cube.zarr", zarr_format=2, consolidated=True)
    with warnings.catch_warnings():  # zarr: consolidated metadata is not in the v3 spec yet
        warnings.simplefilter("ignore")
        dataset().to_zarr(root / "grids" / "cube3.zarr", zarr_format=3, consolidated=True)
    with serving(root) as server:
        server.bearer(TOKEN)
        yield server


@pytest.fixture
def project(make_project, served, monkeypatch):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    return make_project(CATALOG, stores=stores_toml(served.base_url))


def test_every_format_reads_what_the_libraries_read_from_the_files(project, served):
    catalog = datanectar.catalog(project)
    root = served.root

    pd.testing.assert_frame_equal(
        catalog.load("stations"), pd.read_csv(root / "tables" / "stations.csv")
    )
    pd.testing.assert_frame_equal(
        catalog.load("readings"), pd.read_parquet(root / "tables" / "readings.parquet")
    )
    assert catalog.load("settings") == {"threshold": 3, "names": ["a", "b"]}
    xr.testing.assert_identical(
        catalog.load("grid").load(),
        xr.open_dataset(root / "grids" / "grid.nc", engine="h5netcdf").load(),
    )
    for name in ("cube", "cube3"):  # zarr v2 (.zmetadata) and v3 (zarr.json)
        xr.testing.assert_identical(
            catalog.load(name).load(), xr.open_zarr(root / "grids" / f"{name}.zarr").load()
        )
    # parquet is read in ranges, not downloaded whole; every request carried the token
    assert any(path.endswith("readings.parquet") and ranged for _, path, ranged in served.requests)


def test_basic_auth(make_project, served, monkeypatch):
    served.basic("reader", PASSWORD)
    monkeypatch.setenv("PORTAL_USER", "reader")
    monkeypatch.setenv("PORTAL_PASSWORD", PASSWORD)
    auth = '{ type = "basic", username_env = "PORTAL_USER", password_env = "PORTAL_PASSWORD" }'
    project = make_project(CATALOG, stores=stores_toml(served.base_url, auth))

    pd.testing.assert_frame_equal(
        datanectar.catalog(project).load("stations"),
        pd.read_csv(served.root / "tables" / "stations.csv"),
    )

    monkeypatch.setenv("PORTAL_PASSWORD", "wrong-" + PASSWORD)
    with pytest.raises(StorageIOError) as error:
        datanectar.catalog(project).load("stations")
    assert_secret_free(error.value, PASSWORD, "wrong-" + PASSWORD)
    assert "store 'portal' answered HTTP 401" in str(error.value)


def chain_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error)


def assert_secret_free(error: BaseException, *secrets: str) -> None:
    shown = chain_text(error)
    for secret in secrets:
        assert secret not in shown


def test_a_wrong_token_names_the_store_the_entry_and_the_status_never_the_token(
    project, served, monkeypatch
):
    monkeypatch.setenv("PORTAL_TOKEN", "wrong-" + TOKEN)
    for name in ("stations", "readings", "cube", "grid"):
        with pytest.raises(StorageIOError) as error:
            datanectar.catalog(project).load(name)
        message = str(error.value)
        assert f"entry '{name}'" in message
        assert "store 'portal' answered HTTP 401 Unauthorized" in message
        assert "Fix: check the credentials" in message
        assert_secret_free(error.value, TOKEN)
    served.authorization = "Bearer other"
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    with pytest.raises(StorageIOError) as error:
        datanectar.catalog(project).load("settings")
    assert_secret_free(error.value, TOKEN)


def test_a_missing_object_is_missing_data_naming_the_entry_and_the_store(project):
    catalog = datanectar.catalog(project)
    with pytest.raises(DataNotFoundError) as error:
        catalog.load("absent")
    message = str(error.value)
    assert "entry 'absent': no data at" in message
    assert "tables/nowhere.csv" in message
    assert "put its data at that location" in message
    assert not catalog.exists("absent")


def test_a_zarr_store_without_consolidated_metadata_says_so(project, served):
    (served.root / "grids" / "cube.zarr" / ".zmetadata").unlink()
    with pytest.raises(StoreAccessError) as error:
        datanectar.catalog(project).load("cube")
    message = str(error.value)
    assert message.startswith("catalog/main.yaml: entry 'cube': store 'portal'"), message
    assert "grids/cube.zarr has no consolidated metadata (.zmetadata)" in message
    assert "consolidated=True" in message


def test_a_missing_variable_names_the_store_the_field_and_the_variable(project, monkeypatch):
    monkeypatch.delenv("PORTAL_TOKEN")
    with pytest.raises(ConfigError) as error:
        datanectar.catalog(project).load("stations")
    message = str(error.value)
    assert "tool.datanectar.stores.portal.auth.token_env" in message
    assert "PORTAL_TOKEN is not set" in message


def test_writing_is_refused_before_anything_is_done(project, served):
    catalog = datanectar.catalog(project)
    before = sorted(path for path in served.root.rglob("*"))
    served.requests.clear()

    with pytest.raises(StoreError, match=r"store 'portal' is read-only \(http\)"):
        catalog.save("stations", frame())
    with pytest.raises(StoreError, match=r"store 'portal' is read-only \(http\)"):
        catalog.save("cube", dataset())
    assert served.requests == []  # not one request
    assert sorted(path for path in served.root.rglob("*")) == before


def test_an_entry_a_function_produces_cannot_live_on_an_http_store(make_project, served):
    modules = {
        "produce": "import datanectar\n\n@datanectar.asset\ndef made() -> dict:\n    return {}\n"
    }
    error = catalog_error(
        make_project,
        "made:\n  format: json\n  store: portal\n",
        stores=stores_toml(served.base_url),
        modules=modules,
    )
    assert error.field == "store"
    assert "store 'portal' is read-only (http)" in str(error)


def test_fingerprints_follow_the_etag_and_zarr_its_consolidated_metadata(project, served):
    catalog = datanectar.catalog(project)
    storage, targets = catalog_storage(catalog)
    first = {name: storage.fingerprint(targets[name]) for name in ("stations", "cube", "cube3")}
    assert None not in first.values()
    assert storage.fingerprint(targets["absent"]) is None
    assert {name: storage.fingerprint(targets[name]) for name in first} == first

    frame().head(2).to_csv(served.root / "tables" / "stations.csv", index=False)
    touch_later(served.root / "tables" / "stations.csv")
    assert storage.fingerprint(targets["stations"]) not in (None, first["stations"])
    assert storage.fingerprint(targets["cube"]) == first["cube"]
    touch_later(served.root / "grids" / "cube.zarr" / ".zmetadata")
    assert storage.fingerprint(targets["cube"]) not in (None, first["cube"])
    touch_later(served.root / "grids" / "cube3.zarr" / "zarr.json")
    assert storage.fingerprint(targets["cube3"]) not in (None, first["cube3"])
    assert len(catalog.load("stations")) == 2


def catalog_storage(catalog):
    from datanectar.targets import Target

    storage = catalog.storage
    return storage, {name: Target.of(catalog.entry(name)) for name in CATALOG_NAMES}


CATALOG_NAMES = ("stations", "readings", "settings", "grid", "cube", "cube3", "absent")


def test_locations_never_hold_credentials(project):
    catalog = datanectar.catalog(project)
    storage, targets = catalog_storage(catalog)
    for target in targets.values():
        location = storage.location(target)
        assert location.uri.startswith("http://127.0.0.1:")
        assert TOKEN not in location.uri and TOKEN not in repr(location.store.config)
    defs = datanectar.definitions(project)
    for spec in defs.resolve_all_asset_specs():
        assert TOKEN not in repr(spec.metadata)


@pytest.mark.parametrize("failure", ["refused", "timeout"])
def test_an_unreachable_server_names_the_store_and_the_entry(
    make_project, served, monkeypatch, failure
):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    if failure == "refused":
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base_url = f"http://127.0.0.1:{port}/data/"
    else:
        served.delay = 3
        base_url = served.base_url
    stores = stores_toml(base_url).replace("timeout_seconds = 5", "timeout_seconds = 1")
    project = make_project(CATALOG, stores=stores)

    with pytest.raises(StorageIOError) as error:
        datanectar.catalog(project).load("stations")
    message = str(error.value)
    assert "entry 'stations'" in message
    if failure == "refused":
        assert f"store 'portal': cannot connect to 127.0.0.1:{port}" in message
    else:
        assert "store 'portal': no answer within 1 seconds from " in message
        assert f"{base_url}tables/stations.csv. Fix" in message, message
        assert "timeout_seconds" in message
        # one request waited for, not a HEAD and then a GET
        assert [method for method, *_ in served.requests] == ["HEAD"], served.requests
    assert_secret_free(error.value, TOKEN)


def test_a_produced_entry_reads_an_http_source_through_dagster(
    make_project, served, instance, monkeypatch
):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    catalog = CATALOG + "doubled:\n  format: parquet\n  store: local\n"
    modules = {
        "doubled_module": (
            "import pandas as pd\nimport xarray as xr\nimport datanectar\n\n"
            "@datanectar.asset\n"
            "def doubled(stations: pd.DataFrame, cube: xr.Dataset) -> pd.DataFrame:\n"
            "    out = stations.copy()\n"
            "    out['value'] = out['value'] * 2 + float(cube['t'].sum())\n"
            "    return out\n"
        )
    }
    project = make_project(catalog, stores=stores_toml(served.base_url), modules=modules)

    result = materialize_project(project, instance, "doubled")

    assert result.success
    want = pd.read_csv(served.root / "tables" / "stations.csv")
    want["value"] = want["value"] * 2 + float(dataset()["t"].sum())
    pd.testing.assert_frame_equal(pd.read_parquet(project / "data" / "doubled.parquet"), want)
    event = instance.get_latest_materialization_event(dg.AssetKey("doubled"))
    assert TOKEN not in repr(event.asset_materialization.metadata)

    monkeypatch.setenv("PORTAL_TOKEN", "wrong-" + TOKEN)
    failed = materialize_project(project, instance, "doubled", raise_on_error=False)
    assert not failed.success
    messages = failure_messages(failed)
    assert "store 'portal' answered HTTP 401" in messages
    assert "entry 'stations'" in messages or "entry 'cube'" in messages
    logged = repr([record for record in instance.all_logs(failed.run_id)])
    assert TOKEN not in messages and TOKEN not in logged


def test_source_checks_read_an_http_source(project, served, instance):
    job = datanectar.definitions(project).resolve_job_def("source_checks")

    result = job.execute_in_process(instance=instance, raise_on_error=False)

    found = {
        (
            e.asset_check_evaluation_data.asset_key.path[-1],
            e.asset_check_evaluation_data.check_name,
        ): e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert found == {("stations", "row_count"): True}
    assert any(path.endswith("stations.csv") for _, path, _ in served.requests)


def test_base_urls_holding_credentials_are_refused(make_project, served):
    url = served.base_url.replace("127.0.0.1", "user:pw@127.0.0.1")
    with pytest.raises(ConfigError, match="credentials"):
        datanectar.catalog(make_project(CATALOG, stores=stores_toml(url)))


def served_path(served: Served, relative: str) -> Path:
    return served.root / relative


def test_a_cached_result_goes_stale_when_the_served_file_changes(
    make_cache_project, served, monkeypatch
):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    project = make_cache_project(CATALOG, stores=stores_toml(served.base_url))
    calls: list[int] = []

    @datanectar.cache(version="1")
    def summary(stations: pd.DataFrame) -> dict:
        calls.append(len(stations))
        return {"rows": len(stations)}

    catalog = datanectar.catalog(project, functions=[summary])
    with catalog.activate():
        assert summary() == {"rows": 3}
        assert summary() == {"rows": 3}  # recalled: the ETag is the same

        frame().head(2).to_csv(served.root / "tables" / "stations.csv", index=False)
        touch_later(served.root / "tables" / "stations.csv")

        with pytest.warns(datanectar.StaleResultWarning, match="upstream 'stations' changed"):
            assert summary(cache_mode="read_only") == {"rows": 3}
        assert summary() == {"rows": 2}

    assert calls == [3, 2]


@pytest.mark.parametrize("format_name", ["delta", "pickle", "sql"])
def test_formats_an_http_store_cannot_read_are_catalog_errors(make_project, served, format_name):
    error = catalog_error(
        make_project,
        f"thing:\n  format: {format_name}\n  store: portal\n  path: things/thing\n",
        stores=stores_toml(served.base_url),
    )
    assert error.field == "format"
    assert (
        f"store 'portal' (http) holds csv, parquet, json, netcdf, zarr, files objects, not '{format_name}'"
        in str(error)
    )
