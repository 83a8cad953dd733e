"""`[tool.datanectar]` in pyproject.toml: its errors, project discovery, and SQL store secrets."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pytest
from pydantic import Field, TypeAdapter, ValidationError

import datanectar
from datanectar.config import PROJECT_ENV, Settings, load_project, settings_json_schema
from datanectar.errors import ConfigError
from datanectar.formats import get_format
from datanectar.stores import (
    StoreConfig,
    config_model,
    register_store,
    store_config_type,
    store_type_names,
)
from datanectar.stores.local import LocalStore
from datanectar.stores.registry import STORE_TYPES

REPO = Path(__file__).resolve().parents[1]

URL_ENV = "DATANECTAR_TEST_CONFIG_DB_URL"
SECRET = "s3cr3t"
SQL_STORES = f"""
[tool.datanectar.stores.local]
type = "local"
root = "data"

[tool.datanectar.stores.db]
type = "sql"
url_env = "{URL_ENV}"
"""


# -- helpers ----------------------------------------------------------------------------------


def config_error(project: Path) -> datanectar.ConfigError:
    with pytest.raises(datanectar.ConfigError) as info:
        datanectar.catalog(project)
    return info.value


def assert_config_error(error: datanectar.ConfigError, project: Path, field: str) -> None:
    """Attributes and message both name pyproject.toml and the field."""
    pyproject = str(project.resolve() / "pyproject.toml")
    assert (error.file, error.field) == (pyproject, field)
    assert str(error).startswith(f"{pyproject}: field '{field}': ")


def error_chain_text(error: BaseException) -> str:
    """Every message in an exception's cause/context chain, as a traceback would show."""
    texts = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


@pytest.fixture
def no_project_env(monkeypatch):
    monkeypatch.delenv(PROJECT_ENV, raising=False)


# -- [tool.datanectar] keys -------------------------------------------------------------------


def test_unknown_key_is_refused(make_project):
    project = make_project("", settings='colour = "red"\n')
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.colour")
    assert "unknown key" in error.problem


def test_unknown_key_error_lists_the_known_keys(make_project):
    project = make_project("", settings='colour = "red"\n')
    error = config_error(project)
    for key in ("catalog", "configuration", "modules", "default_store", "executor", "stores"):
        assert key in str(error)


def test_invalid_executor_value(make_project):
    project = make_project("", settings='executor = "threads"\n')
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.executor")
    assert "'multiprocess'" in error.problem
    assert "'in_process'" in error.problem


def test_unknown_store_type(make_project):
    project = make_project(
        "",
        stores='[tool.datanectar.stores.local]\ntype = "local"\n\n'
        '[tool.datanectar.stores.bucket]\ntype = "gcs"\n',
    )
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.stores.bucket.type")
    assert error.problem == "unknown store type 'gcs'. Store types: http, local, s3, sql."


def test_store_without_type(make_project):
    project = make_project("", stores='[tool.datanectar.stores.local]\nroot = "data"\n')
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.stores.local.type")
    assert error.problem == "unknown store type None. Store types: http, local, s3, sql."


def test_unknown_store_field(make_project):
    project = make_project(
        "", stores='[tool.datanectar.stores.local]\ntype = "local"\nrooot = "x"\n'
    )
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.stores.local.rooot")
    assert "unknown key" in error.problem


def test_sql_store_needs_url_env(make_project):
    project = make_project(
        "",
        stores='[tool.datanectar.stores.local]\ntype = "local"\n\n'
        '[tool.datanectar.stores.db]\ntype = "sql"\n',
    )
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.stores.db.url_env")
    assert "Field required" in error.problem


@pytest.mark.parametrize("prefix", ["a/../../etc", "..", "/x/../.."])
def test_an_s3_prefix_out_of_the_bucket_names_the_file_and_field(make_project, prefix):
    project = make_project(
        "",
        stores='[tool.datanectar.stores.local]\ntype = "local"\n\n'
        f'[tool.datanectar.stores.lake]\ntype = "s3"\nbucket = "b"\nprefix = "{prefix}"\n',
    )
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.stores.lake.prefix")
    assert "'..'" in error.problem


def test_default_store_must_be_configured(make_project):
    project = make_project("", settings='default_store = "warehouse"\n')
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.default_store")
    assert error.problem == "store 'warehouse' is not configured. Stores: local."
    assert "[tool.datanectar.stores.warehouse]" in error.fix


def test_default_store_is_used_for_entries_naming_none(make_project):
    project = make_project(
        "x:\n  format: csv\n",
        settings='default_store = "other"\n',
        stores='[tool.datanectar.stores.local]\ntype = "local"\n\n'
        '[tool.datanectar.stores.other]\ntype = "local"\nroot = "elsewhere"\n',
    )
    catalog = datanectar.catalog(project)
    assert catalog.entry("x").store == "other"
    assert Path(catalog.location("x").path) == project.resolve() / "elsewhere" / "x.csv"


def test_unknown_store_type_says_how_to_fix_it(make_project):
    project = make_project("", stores='[tool.datanectar.stores.local]\ntype = "locl"\n')
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.stores.local.type")
    assert (
        error.problem
        == "unknown store type 'locl'. Did you mean 'local'? Store types: http, local, s3, sql."
    )
    assert (
        error.fix
        == "set type to one of 'http', 'local', 's3', 'sql' in [tool.datanectar.stores.local]."
    )


def test_unknown_store_field_suggests_the_right_one(make_project):
    project = make_project(
        "", stores='[tool.datanectar.stores.local]\ntype = "local"\nrooot = "x"\n'
    )
    error = config_error(project)
    assert error.problem == (
        "unknown key 'rooot'. Did you mean 'root'? The keys of [tool.datanectar.stores.local] "
        "are type, pool, root, sql_database."
    )


def test_missing_store_field_says_what_it_is(make_project):
    project = make_project(
        "",
        stores='[tool.datanectar.stores.local]\ntype = "local"\n\n'
        '[tool.datanectar.stores.db]\ntype = "sql"\n',
    )
    error = config_error(project)
    assert error.fix.startswith("add url_env to [tool.datanectar.stores.db]: Environment variable")


def test_store_that_is_not_a_table(make_project):
    project = make_project("", stores='[tool.datanectar.stores]\nlocal = "data"\n')
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.stores.local")
    assert error.problem == "expected a table, got str."


def test_environment_overrides_are_validated_naming_the_setting(make_project, monkeypatch):
    monkeypatch.setenv("DATANECTAR_DEFAULT_STORE", "other")
    project = make_project(
        "x:\n  format: csv\n",
        stores='[tool.datanectar.stores.local]\ntype = "local"\n\n'
        '[tool.datanectar.stores.other]\ntype = "local"\nroot = "elsewhere"\n',
    )
    assert datanectar.catalog(project).entry("x").store == "other"
    monkeypatch.setenv("DATANECTAR_CACHE_MODE", "sometimes")
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.cache_mode")


def test_invalid_toml(make_project):
    project = make_project("")
    (project / "pyproject.toml").write_text("[tool.datanectar\n")
    error = config_error(project)
    assert_config_error(error, project, "(file)")
    assert error.problem.startswith("invalid TOML")


# -- JSON Schema ------------------------------------------------------------------------------


def every_property(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(model, property) for every property of the schema and of its definitions."""
    models = {"[tool.datanectar]": schema, **schema["$defs"]}
    return [
        (f"{model}.{name}", prop)
        for model, definition in models.items()
        for name, prop in definition.get("properties", {}).items()
    ]


def test_json_schema_has_every_setting():
    schema = settings_json_schema()
    assert schema["title"] == "[tool.datanectar]"
    # the settings, and the environments laid over them (`datanectar.environments`)
    assert set(schema["properties"]) == {*Settings.model_fields, "environments"}
    assert schema["additionalProperties"] is False
    environment = schema["properties"]["environments"]["additionalProperties"]
    assert set(environment["propertyNames"]["enum"]) == set(Settings.model_fields)


def test_json_schema_has_every_store_type_and_its_fields():
    schema = settings_json_schema()
    stores, definitions = schema["properties"]["stores"]["additionalProperties"], schema["$defs"]
    assert stores["discriminator"]["propertyName"] == "type"
    assert (
        sorted(stores["discriminator"]["mapping"])
        == store_type_names()
        == ["http", "local", "s3", "sql"]
    )
    for store_type in store_type_names():
        definition = definitions[config_model(store_type).__name__]
        assert definition["properties"]["type"]["const"] == store_type
        assert set(definition["properties"]) == set(config_model(store_type).model_fields)
        assert "type" in definition["required"]
    assert {"root", "sql_database"} <= set(definitions["LocalStoreConfig"]["properties"])
    assert definitions["SqlStoreConfig"]["required"] == ["type", "url_env"]


def test_json_schema_has_the_namespace_tables():
    schema = settings_json_schema()
    namespaces = schema["properties"]["namespaces"]["additionalProperties"]
    assert namespaces == {"$ref": "#/$defs/NamespaceSettings"}
    discover = schema["$defs"]["NamespaceSettings"]["properties"]["discover"]
    assert discover["oneOf"] == [{"$ref": "#/$defs/StoreSource"}, {"$ref": "#/$defs/EntrySource"}]


def test_every_field_in_the_json_schema_is_described():
    undescribed = [
        name for name, prop in every_property(settings_json_schema()) if not prop.get("description")
    ]
    assert undescribed == []


def test_json_schema_agrees_with_the_settings_on_pyproject_tables():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(settings_json_schema())
    demo = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["datanectar"]
    assert list(validator.iter_errors(demo)) == []
    refused = [
        {"stores": {"bucket": {"type": "s3"}}},
        {"stores": {"local": {"root": "data"}}},
        {"stores": {"local": {"type": "local", "rooot": "x"}}},
        {"stores": {"db": {"type": "sql"}}},
        {"namespaces": {"scenarios": {"discover": {"store": "local", "folder": "x"}}}},
        {"colour": "red"},
    ]
    for table in refused:
        assert not validator.is_valid(table), table
        with pytest.raises(ValidationError):
            Settings.model_validate(table)


class MemoryStoreConfig(StoreConfig):
    """A store type registered by a test, to see it join the union."""

    type: Literal["memory"] = Field(default="memory", description="In memory.")
    capacity: int = Field(default=1, description="Objects it holds.")


class MemoryStore(LocalStore):  # only its config matters here: the store is never opened
    type_name = "memory"
    config_model = MemoryStoreConfig


def test_a_registered_store_type_joins_the_store_config_union(make_project):
    register_store("memory", f"{__name__}:MemoryStore")
    try:
        adapter = TypeAdapter(store_config_type())
        assert adapter.validate_python({"type": "memory", "capacity": 3}) == MemoryStoreConfig(
            capacity=3
        )
        assert adapter.validate_python({"type": "local"}) == config_model("local")()
        mapping = adapter.json_schema()["discriminator"]["mapping"]
        assert sorted(mapping) == ["http", "local", "memory", "s3", "sql"]
        # A project loaded after the registration accepts the new type, and checks its fields.
        project = make_project(
            settings='default_store = "m"\n',
            stores='[tool.datanectar.stores.m]\ntype = "memory"\ncapacity = 3\n',
        )
        assert load_project(project).settings.stores["m"] == MemoryStoreConfig(capacity=3)
        assert "memory" in str(settings_json_schema())
        (project / "pyproject.toml").write_text(
            (project / "pyproject.toml").read_text().replace("capacity = 3", "capacityy = 3")
        )
        with pytest.raises(ConfigError, match="capacityy"):
            load_project(project)
    finally:
        STORE_TYPES.refresh()
    assert "memory" not in str(settings_json_schema())


# -- modules ----------------------------------------------------------------------------------


def test_module_that_cannot_be_imported(make_project):
    project = make_project(
        "", modules={"config_broken_module": "import datanectar_no_such_package_xyz\n"}
    )
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.modules[0]")
    assert "module 'config_broken_module' could not be imported" in error.problem
    assert "datanectar_no_such_package_xyz" in error.problem
    assert "importable from the project root" in error.fix


def test_module_that_does_not_exist(make_project):
    project = make_project(
        "",
        modules={"config_present_module": "", "config_absent_module": ""},
    )
    (project / "config_absent_module.py").unlink()
    importlib.invalidate_caches()
    error = config_error(project)
    assert_config_error(error, project, "tool.datanectar.modules[1]")
    assert "module 'config_absent_module' could not be imported" in error.problem


# -- project discovery ------------------------------------------------------------------------


def test_project_found_from_a_subfolder(make_project, monkeypatch, no_project_env):
    project = make_project("x:\n  format: csv\n")
    (project / "notebooks" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project / "notebooks" / "deep")
    catalog = datanectar.catalog()
    assert catalog.config.root == project.resolve()
    assert list(catalog) == ["x"]


def test_project_found_from_the_environment_variable(make_project, monkeypatch, tmp_path):
    project = make_project("x:\n  format: csv\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv(PROJECT_ENV, str(project))
    catalog = datanectar.catalog()
    assert catalog.config.root == project.resolve()
    assert list(catalog) == ["x"]


def test_an_explicit_path_beats_the_environment_variable(make_project, monkeypatch, tmp_path):
    project = make_project("x:\n  format: csv\n")
    monkeypatch.setenv(PROJECT_ENV, str(tmp_path / "nowhere"))
    assert datanectar.catalog(project).config.root == project.resolve()


def test_a_pyproject_without_the_table_is_skipped(make_project, monkeypatch, no_project_env):
    project = make_project("x:\n  format: csv\n")
    inner = project / "vendored"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[project]\nname = 'vendored'\n")
    monkeypatch.chdir(inner)
    assert datanectar.catalog().config.root == project.resolve()


def test_no_project_found(monkeypatch, tmp_path, no_project_env):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    with pytest.raises(datanectar.ConfigError) as info:
        datanectar.catalog()
    error = info.value
    message = str(error)
    # It names the folder it searched from, never a file that does not exist.
    assert error.file == str(empty.resolve())
    assert message.startswith(
        f"no pyproject.toml with a [tool.datanectar] table in {empty.resolve()} or any folder"
    )
    assert "pyproject.toml:" not in message
    assert "DATANECTAR_PROJECT" in error.fix
    assert "Fix: " in message


def test_no_project_found_names_the_pyproject_files_without_the_table(
    monkeypatch, tmp_path, no_project_env
):
    inner = tmp_path / "other" / "src"
    inner.mkdir(parents=True)
    (tmp_path / "other" / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    monkeypatch.chdir(inner)
    with pytest.raises(datanectar.ConfigError) as info:
        datanectar.catalog()
    assert f"{tmp_path / 'other' / 'pyproject.toml'} (no [tool.datanectar] table)" in str(
        info.value
    )


def test_no_project_found_from_the_environment_says_so(monkeypatch, tmp_path, no_project_env):
    monkeypatch.setenv("DATANECTAR_PROJECT", str(tmp_path / "missing"))
    with pytest.raises(datanectar.ConfigError) as info:
        datanectar.catalog()
    assert f"in {tmp_path / 'missing'} (DATANECTAR_PROJECT) or any folder above it" in str(
        info.value
    )


# -- SQL store URLs: from the environment, never shown ----------------------------------------


def sql_catalog(make_project) -> datanectar.Catalog:
    return datanectar.catalog(make_project("t:\n  format: sql\n  store: db\n", stores=SQL_STORES))


def test_sql_store_opens_without_its_url(make_project, monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    catalog = sql_catalog(make_project)
    assert catalog.entry("t").store == "db"


@pytest.mark.parametrize("operation", ["save", "load", "exists"])
def test_unset_url_env_is_an_error_on_use_naming_the_variable(make_project, monkeypatch, operation):
    monkeypatch.delenv(URL_ENV, raising=False)
    catalog = sql_catalog(make_project)
    args = (pd.DataFrame({"a": [1]}),) if operation == "save" else ()
    with pytest.raises(datanectar.StoreError) as info:
        getattr(catalog, operation)("t", *args)
    text = str(info.value)
    assert f"store 'db': environment variable {URL_ENV} is not set." in text
    assert f"export {URL_ENV}=" in text
    assert "://" not in text


SECRET_URLS = [
    f"postgresql://u:{SECRET}@127.0.0.1:1/db",
    f"postgresql+psycopg2://u:{SECRET}@127.0.0.1:1/db",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_describe_location_masks_the_password(make_project, monkeypatch, url):
    monkeypatch.setenv(URL_ENV, url)
    catalog = sql_catalog(make_project)
    described = get_format("sql").describe_location(catalog.location("t"))
    assert described == url.replace(SECRET, "***") + "#t"


@pytest.mark.parametrize("url", SECRET_URLS)
def test_failed_save_never_shows_the_password(make_project, monkeypatch, url):
    monkeypatch.setenv(URL_ENV, url)
    catalog = sql_catalog(make_project)
    with pytest.raises(datanectar.StorageIOError) as info:
        catalog.save("t", pd.DataFrame({"a": [1]}))
    text = str(info.value)
    assert text.startswith(f"catalog/main.yaml: entry 't': writing {url.replace(SECRET, '***')}#t")
    assert SECRET not in error_chain_text(info.value)


@pytest.mark.parametrize("operation", ["load", "exists"])
@pytest.mark.parametrize("url", SECRET_URLS)
def test_failed_read_never_shows_the_password(make_project, monkeypatch, url, operation):
    monkeypatch.setenv(URL_ENV, url)
    catalog = sql_catalog(make_project)
    with pytest.raises(Exception) as info:
        getattr(catalog, operation)("t")
    assert SECRET not in error_chain_text(info.value)


def test_failed_load_names_the_entry_and_the_masked_url(make_project, monkeypatch):
    url = f"postgresql+psycopg2://u:{SECRET}@127.0.0.1:1/db"
    monkeypatch.setenv(URL_ENV, url)
    catalog = sql_catalog(make_project)
    with pytest.raises(datanectar.DatanectarError) as info:
        catalog.load("t")
    assert str(info.value).startswith("catalog/main.yaml: entry 't': ")
    assert url.replace(SECRET, "***") in str(info.value)


def test_definitions_never_hold_the_url(make_project, monkeypatch):
    monkeypatch.setenv(URL_ENV, f"postgresql+psycopg2://u:{SECRET}@127.0.0.1:1/db")
    project = make_project("t:\n  format: sql\n  store: db\n", stores=SQL_STORES)
    defs = datanectar.definitions(project)
    (spec,) = defs.assets
    assert spec.metadata["store"] == "db"
    assert SECRET not in repr(spec.metadata)
    assert SECRET not in repr(defs.resources)
