"""DATANECTAR_ENV: one catalog and its code on local disk in development, on other stores in
production, by switching only the environment variable."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

import datanectar
from datanectar.config import load_project
from datanectar.errors import ConfigError
from runs import materialize_project

BASE = """
[tool.datanectar.stores.local]
type = "local"
root = "data-dev"

[tool.datanectar.stores.warehouse]
type = "sql"
url_env = "DN_DEV_DB_URL"
"""

PROD = """
[tool.datanectar.environments.prod]
default_store = "lake"

[tool.datanectar.environments.prod.stores.lake]
type = "local"
root = "data-prod"

[tool.datanectar.environments.prod.stores.warehouse]
url_env = "DN_PROD_DB_URL"
"""


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch):
    for variable in ("DATANECTAR_ENV", "DATANECTAR_DEFAULT_STORE", "DATANECTAR_MIRRORS"):
        monkeypatch.delenv(variable, raising=False)


def config_error(project: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_project(project)
    return info.value


# -- the merge -----------------------------------------------------------------------------


def test_no_environment_gives_the_base_settings(make_project):
    project = make_project(stores=BASE + PROD)
    config = load_project(project)
    assert config.environment is None
    assert config.settings.default_store == "local"
    assert sorted(config.stores) == ["local", "warehouse"]
    assert config.stores["warehouse"].url_env == "DN_DEV_DB_URL"


def test_an_environment_replaces_stores_with_a_type_and_merges_the_others(
    make_project, monkeypatch
):
    project = make_project(
        stores=BASE
        + PROD
        + '\n[tool.datanectar.environments.prod.stores.local]\ntype = "local"\nroot = "x"\n'
    )
    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    config = load_project(project)
    assert config.environment == "prod"
    assert config.settings.default_store == "lake"
    assert config.stores["lake"].root == "data-prod"
    assert config.stores["warehouse"].type == "sql"
    assert config.stores["warehouse"].url_env == "DN_PROD_DB_URL"
    assert config.stores["local"].root == "x"


def test_a_store_table_with_a_type_drops_the_base_stores_other_settings(make_project, monkeypatch):
    project = make_project(
        stores=BASE + '\n[tool.datanectar.environments.prod.stores.local]\ntype = "sql"\n'
        'url_env = "DN_PROD_DB_URL"\n'
    )
    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    config = load_project(project)
    assert config.stores["local"].type == "sql"  # root = "data-dev" is not carried over


def test_lists_replace_and_env_overrides_apply_after_the_environment(make_project, monkeypatch):
    prod = PROD.replace('default_store = "lake"', 'default_store = "lake"\nmirrors = ["lake"]')
    project = make_project(settings='mirrors = ["warehouse", "local"]\n', stores=BASE + prod)
    assert load_project(project).settings.mirrors == ["warehouse", "local"]
    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    assert load_project(project).settings.mirrors == ["lake"]
    monkeypatch.setenv("DATANECTAR_DEFAULT_STORE", "warehouse")
    assert load_project(project).settings.default_store == "warehouse"


def test_the_default_local_store_is_the_base_when_none_is_declared(make_project, monkeypatch):
    project = make_project(
        stores='[tool.datanectar.environments.prod.stores.local]\nroot = "prod-data"\n'
    )
    assert load_project(project).stores["local"].root == "data"
    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    assert load_project(project).stores["local"].root == "prod-data"


# -- errors --------------------------------------------------------------------------------


def test_an_unknown_environment_lists_the_defined_ones(make_project, monkeypatch):
    project = make_project(stores=BASE + PROD + "[tool.datanectar.environments.dev]\n")
    monkeypatch.setenv("DATANECTAR_ENV", "prd")
    error = config_error(project)
    assert error.field == "tool.datanectar.environments"
    assert "DATANECTAR_ENV='prd'" in str(error)
    assert "dev, prod" in str(error)
    assert "[tool.datanectar.environments.NAME]" in str(error)


def test_an_unknown_environment_when_none_is_defined(make_project, monkeypatch):
    project = make_project(stores=BASE)
    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    assert "defines none" in str(config_error(project))


def test_errors_inside_an_environment_name_its_field(make_project, monkeypatch):
    broken = BASE + (
        '\n[tool.datanectar.environments.prod.stores.inputs]\ntype = "sql"\nurl_env = 3\n'
    )
    project = make_project(stores=broken)
    # Found without DATANECTAR_ENV: every environment is validated when the project loads.
    error = config_error(project)
    assert error.field == "tool.datanectar.environments.prod.stores.inputs.url_env"
    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    assert config_error(project).field == "tool.datanectar.environments.prod.stores.inputs.url_env"


def test_a_missing_field_of_a_replaced_store_is_the_environments(make_project):
    project = make_project(
        stores=BASE + '\n[tool.datanectar.environments.prod.stores.inputs]\ntype = "sql"\n'
    )
    error = config_error(project)
    assert error.field == "tool.datanectar.environments.prod.stores.inputs.url_env"
    assert "add url_env" in str(error)


def test_unknown_keys_and_stores_inside_an_environment(make_project):
    project = make_project(
        stores=BASE + '\n[tool.datanectar.environments.prod.stores.warehouse]\nurl_evn = "X"\n'
    )
    error = config_error(project)
    assert error.field == "tool.datanectar.environments.prod.stores.warehouse.url_evn"
    assert "url_env" in str(error)

    project = make_project(
        stores=BASE + '\n[tool.datanectar.environments.prod.stores.lake]\nroot = "x"\n'
    )
    error = config_error(project)
    assert error.field == "tool.datanectar.environments.prod.stores.lake.type"

    project = make_project(
        stores=BASE + '\n[tool.datanectar.environments.prod]\ndefault_store = "lak"\n'
    )
    error = config_error(project)
    assert error.field == "tool.datanectar.environments.prod.default_store"

    project = make_project(stores=BASE + '\n[tool.datanectar.environments.prod]\ncache_mod = "x"\n')
    assert config_error(project).field == "tool.datanectar.environments.prod.cache_mod"


def test_base_errors_still_name_the_base(make_project):
    project = make_project(stores=BASE.replace('url_env = "DN_DEV_DB_URL"', "url_env = 3") + PROD)
    assert config_error(project).field == "tool.datanectar.stores.warehouse.url_env"


# -- one catalog, two environments ---------------------------------------------------------


@pytest.fixture
def databases(tmp_path, postgres_url, monkeypatch):
    """sqlite in development, PostgreSQL in production; a table name of the test's own."""
    monkeypatch.setenv("DN_DEV_DB_URL", f"sqlite:///{tmp_path / 'dev.db'}")
    monkeypatch.setenv("DN_PROD_DB_URL", postgres_url)
    table = f"dn_env_{uuid.uuid4().hex[:10]}"
    yield table
    with sa.create_engine(postgres_url).begin() as connection:
        connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))


def _functions():
    @datanectar.asset(entry="readings")
    def readings() -> pd.DataFrame:
        return pd.DataFrame({"city": ["Oslo", "Rome"], "temp": [3.5, 21.0]})

    @datanectar.asset(entry="summary")
    def summary(readings: pd.DataFrame) -> pd.DataFrame:
        return readings.assign(hot=readings["temp"] > 10)

    return [readings, summary]


CATALOG = """
readings:
  format: parquet
summary:
  format: sql
  store: warehouse
  path: {table}
"""


def _read_table(url: str, table: str) -> pd.DataFrame:
    with sa.create_engine(url).connect() as connection:
        return pd.read_sql(sa.text(f'SELECT * FROM "{table}"'), connection)


def test_the_same_project_runs_on_dev_and_prod_stores(
    make_project, instance, databases, tmp_path, postgres_url, monkeypatch
):
    project = make_project(CATALOG.format(table=databases), stores=BASE + PROD)
    dev_db = f"sqlite:///{tmp_path / 'dev.db'}"

    result = materialize_project(project, instance, functions=_functions())
    assert result.success
    assert pq.read_table(project / "data-dev" / "readings.parquet").num_rows == 2
    assert not (project / "data-prod").exists()
    assert _read_table(dev_db, databases)["hot"].astype(bool).tolist() == [False, True]
    assert not sa.inspect(sa.create_engine(postgres_url)).has_table(databases)
    [dev_run] = result.asset_materializations_for_node("summary")
    assert dev_run.metadata["datanectar/store"].value == "warehouse"
    assert "datanectar/environment" not in dev_run.metadata

    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    result = materialize_project(project, instance, functions=_functions())
    assert result.success
    assert pq.read_table(project / "data-prod" / "readings.parquet").num_rows == 2
    assert _read_table(postgres_url, databases)["hot"].tolist() == [False, True]
    [readings] = result.asset_materializations_for_node("readings")
    assert readings.metadata["datanectar/store"].value == "lake"
    assert readings.metadata["datanectar/environment"].value == "prod"
    assert "data-prod" in readings.metadata["dagster/uri"].value

    # And without Dagster: the catalog reads each environment's stores.
    catalog = datanectar.catalog(project, functions=_functions())
    assert catalog.config.environment == "prod"
    assert catalog.load("summary")["temp"].tolist() == [3.5, 21.0]
    catalog.save("readings", pd.DataFrame({"city": ["Lima"], "temp": [19.0]}))
    assert pq.read_table(project / "data-prod" / "readings.parquet").column("city").to_pylist() == [
        "Lima"
    ]
    assert pq.read_table(project / "data-dev" / "readings.parquet").num_rows == 2

    monkeypatch.delenv("DATANECTAR_ENV")
    catalog = datanectar.catalog(project, functions=_functions())
    assert catalog.load("readings")["city"].tolist() == ["Oslo", "Rome"]
    catalog.save("summary", pd.DataFrame({"city": ["Dev"], "temp": [1.0], "hot": [False]}))
    assert _read_table(dev_db, databases)["city"].tolist() == ["Dev"]
    assert _read_table(postgres_url, databases)["city"].tolist() == ["Oslo", "Rome"]


def test_an_entry_another_environments_store_cannot_hold_is_a_catalog_error(make_project):
    from runs import catalog_error

    error = catalog_error(
        make_project,
        "x:\n  format: sql\n",
        settings='[tool.datanectar.environments.prod]\ndefault_store = "lake"\n'
        '[tool.datanectar.environments.prod.stores.lake]\ntype = "s3"\nbucket = "b"\n',
    )
    assert error.entry == "x" and error.field == "store"
    assert "with DATANECTAR_ENV=prod, store 'lake' (s3) holds files, not sql tables" in str(error)
