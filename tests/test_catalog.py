"""Catalog parsing through `datanectar.catalog(project)`, and every way a catalog can be wrong.

Each bad-input test checks both the error's attributes (file, entry, field, line) and the text a
user reads, which must name the same things and say what was expected.
"""

from __future__ import annotations

import shutil

import pytest

import datanectar
from datanectar.errors import CatalogError, CatalogErrors
from runs import catalog_error

MAIN = "catalog/main.yaml"
KNOWN_FORMATS = "csv, delta, files, json, netcdf, parquet, pickle, sql, zarr"
SQL_STORE = """
[tool.datanectar.stores.local]
type = "local"
root = "data"

[tool.datanectar.stores.db]
type = "sql"
url_env = "DATANECTAR_TEST_CATALOG_DB_URL"
"""


# -- helpers ----------------------------------------------------------------------------------


def open_catalog(make_project, catalog: dict[str, str] | str, **kwargs) -> datanectar.Catalog:
    return datanectar.catalog(make_project(catalog, **kwargs))


def assert_points_at(
    error: CatalogError,
    *,
    file: str = MAIN,
    entry: str | None = None,
    field: str | None = None,
    line: int | None = None,
) -> None:
    """The error's attributes and its message both name the file, line, entry and field."""
    assert (error.file, error.entry, error.field, error.line) == (file, entry, field, line)
    text = str(error)
    where = file if line is None else f"{file}, line {line}"
    assert text.startswith(where + ":"), text
    if entry is None:
        assert "entry '" not in text.split(": ", 1)[0]
    else:
        assert f"entry '{entry}'" in text
    if field is None:
        assert "field '" not in text
    else:
        assert f"field '{field}'" in text


# -- valid catalogs ---------------------------------------------------------------------------


def test_entries_are_parsed_with_every_field(make_project):
    catalog = open_catalog(
        make_project,
        """
        stations:
          format: csv
          path: raw/stations.csv
          description: Weather stations.
          group: raw
          tags: {tier: bronze}
          owners: ["ana@example.org", "team:data eng"]
          metadata: {source: met office}
          load_options: {sep: ";"}
          save_options: {index: false}
        """,
    )
    entry = catalog.entry("stations")
    assert entry.format == "csv"
    assert entry.path == "raw/stations.csv"
    assert entry.store == "local"
    assert entry.description == "Weather stations."
    assert entry.group == "raw"
    assert entry.tags == {"tier": "bronze"}
    assert entry.owners == ["ana@example.org", "team:data eng"]
    assert entry.metadata == {"source": "met office"}
    assert entry.load_options == {"sep": ";"}
    assert entry.save_options == {"index": False}
    assert entry.source == MAIN


@pytest.mark.parametrize(
    ("fmt", "path"),
    [
        ("parquet", "x.parquet"),
        ("csv", "x.csv"),
        ("json", "x.json"),
        ("pickle", "x.pkl"),
        ("zarr", "x.zarr"),
        ("netcdf", "x.nc"),
        ("delta", "x"),
        ("sql", "x"),
    ],
)
def test_default_path_is_the_entry_name_plus_the_format_suffix(make_project, fmt, path):
    catalog = open_catalog(make_project, f"x:\n  format: {fmt}\n")
    assert catalog.entry("x").path == path
    assert catalog.entry("x").store == "local"


def test_a_path_is_normalized(make_project):
    catalog = open_catalog(make_project, "x:\n  format: csv\n  path: a//b/./c.csv\n")
    assert catalog.entry("x").path == "a/b/c.csv"


def test_an_empty_catalog_file_is_fine(make_project):
    catalog = open_catalog(make_project, {"empty.yaml": "", "comments.yaml": "# nothing yet\n"})
    assert len(catalog) == 0


def test_entries_from_several_files_and_subfolders(make_project):
    catalog = open_catalog(
        make_project,
        {"a.yaml": "one:\n  format: csv\n", "sub/b.yml": "two:\n  format: json\n"},
    )
    assert sorted(catalog) == ["one", "two"]
    assert catalog.entry("two").source == "catalog/sub/b.yml"


def test_a_sql_table_may_name_its_schema(make_project):
    catalog = open_catalog(make_project, "t:\n  format: sql\n  path: analytics.daily\n")
    assert catalog.entry("t").path == "analytics.daily"


def test_sql_format_on_a_sql_store_is_accepted(make_project):
    catalog = open_catalog(make_project, "t:\n  format: sql\n  store: db\n", stores=SQL_STORE)
    assert (catalog.entry("t").store, catalog.entry("t").path) == ("db", "t")


# -- Jinja2 -----------------------------------------------------------------------------------


def test_globals_are_overridden_by_locals_key_by_key(make_project):
    catalog = open_catalog(
        make_project,
        """
        stations:
          format: "{{ csv.format }}"
          path: "{{ folder }}/stations.csv"
          load_options: {sep: "{{ csv.sep }}"}
          description: "{{ owner }}"
        """,
        globals_yaml="""
        folder: shared
        owner: globals-owner
        csv: {format: csv, sep: ","}
        """,
        locals_yaml="""
        folder: mine
        csv: {sep: ";"}
        """,
    )
    entry = catalog.entry("stations")
    assert entry.path == "mine/stations.csv"  # overridden by locals.yaml
    assert entry.description == "globals-owner"  # only in globals.yaml
    assert entry.load_options == {"sep": ";"}  # nested key overridden
    assert entry.format == "csv"  # nested sibling kept from globals.yaml


@pytest.mark.parametrize(
    ("with_extra", "expected"),
    [("false", ["obs_north", "obs_south"]), ("true", ["extra", "obs_north", "obs_south"])],
)
def test_loops_and_conditionals_generate_entries(make_project, with_extra, expected):
    catalog = open_catalog(
        make_project,
        """
        {% for region in regions %}
        obs_{{ region }}:
          format: parquet
          path: obs/{{ region }}.parquet
        {% endfor %}
        {% if with_extra %}
        extra:
          format: json
        {% endif %}
        """,
        globals_yaml=f"regions: [north, south]\nwith_extra: {with_extra}\n",
    )
    assert sorted(catalog) == expected
    assert catalog.entry("obs_south").path == "obs/south.parquet"


def test_env_variable_set_is_rendered(make_project, monkeypatch):
    monkeypatch.setenv("DATANECTAR_TEST_FOLDER", "from_env")
    catalog = open_catalog(
        make_project, "x:\n  format: csv\n  path: '{{ env(\"DATANECTAR_TEST_FOLDER\") }}/x.csv'\n"
    )
    assert catalog.entry("x").path == "from_env/x.csv"


def test_env_variable_unset_uses_its_default(make_project, monkeypatch):
    monkeypatch.delenv("DATANECTAR_TEST_FOLDER", raising=False)
    catalog = open_catalog(
        make_project,
        'x:\n  format: csv\n  path: \'{{ env("DATANECTAR_TEST_FOLDER", "fallback") }}/x.csv\'\n',
    )
    assert catalog.entry("x").path == "fallback/x.csv"


def test_env_variable_unset_without_default_is_an_error(make_project, monkeypatch):
    monkeypatch.delenv("DATANECTAR_TEST_FOLDER", raising=False)
    error = catalog_error(
        make_project, "x:\n  format: csv\n  path: '{{ env(\"DATANECTAR_TEST_FOLDER\") }}/x.csv'\n"
    )
    assert error.file == MAIN
    assert error.field is None
    assert str(error).startswith(MAIN)
    assert "environment variable 'DATANECTAR_TEST_FOLDER' is not set" in str(error)
    assert 'env("DATANECTAR_TEST_FOLDER", "...")' in error.fix


UNDEFINED_VARIABLE = """
first:
  format: csv
second:
  format: csv
  path: "{{ missing_folder }}/second.csv"
"""


def test_undefined_variable_is_an_error_naming_file_and_variable(make_project):
    error = catalog_error(make_project, UNDEFINED_VARIABLE)
    assert error.file == MAIN
    assert error.field is None
    assert str(error).startswith(MAIN)
    assert "Jinja2 variable undefined: 'missing_folder' is undefined" in str(error)
    assert "globals.yaml or locals.yaml" in error.fix


@pytest.mark.parametrize(
    ("catalog", "problem"),
    [
        pytest.param(
            UNDEFINED_VARIABLE,
            "Jinja2 variable undefined: 'missing_folder' is undefined.",
            id="undefined-variable",
        ),
        pytest.param(
            UNDEFINED_VARIABLE.replace("missing_folder", 'env("DATANECTAR_TEST_UNSET_VAR")'),
            "environment variable 'DATANECTAR_TEST_UNSET_VAR' is not set.",
            id="env-unset",
        ),
        pytest.param(
            UNDEFINED_VARIABLE.replace("missing_folder", "''.__class__.__mro__"),
            "Jinja2 template error: access to attribute '__class__' of 'str' object is unsafe.",
            id="sandbox",
        ),
    ],
)
def test_jinja_errors_give_the_line_and_the_entry_at_that_line(
    make_project, monkeypatch, catalog, problem
):
    monkeypatch.delenv("DATANECTAR_TEST_UNSET_VAR", raising=False)
    error = catalog_error(make_project, catalog)
    assert_points_at(error, entry="second", line=6)
    assert str(error).startswith(f"{MAIN}, line 6: entry 'second': {problem}")


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "''.__class__.__mro__[1].__subclasses__()",
        "cycler.__init__.__globals__",
    ],
)
def test_sandbox_refuses_unsafe_attribute_access(make_project, expression):
    error = catalog_error(
        make_project, f'x:\n  format: csv\n  description: "{{{{ {expression} }}}}"\n'
    )
    assert (error.file, error.line, error.entry) == (MAIN, 3, "x")
    assert str(error).startswith(
        f"{MAIN}, line 3: entry 'x': Jinja2 template error: access to attribute"
    )
    assert "is unsafe" in str(error)


# -- entry fields -----------------------------------------------------------------------------


def test_unknown_format_lists_the_known_formats(make_project):
    error = catalog_error(make_project, "x:\n  format: xlsx\n")
    assert_points_at(error, entry="x", field="format")
    assert error.problem == f"unknown format 'xlsx'. Formats: {KNOWN_FORMATS}."


def test_unknown_field_lists_the_entry_fields(make_project):
    error = catalog_error(make_project, "x:\n  formatt: csv\n")
    assert_points_at(error, entry="x", field="formatt")
    assert "unknown field" in error.problem
    assert "format, path, store, query, params, description, group, tags, owners" in error.problem


def test_entry_without_format_or_producing_function(make_project):
    error = catalog_error(make_project, "x:\n  path: x.bin\n")
    assert_points_at(error, entry="x", field="format")
    assert "no format given" in error.problem
    assert "format: NAME" in error.fix
    assert all(name in error.fix for name in KNOWN_FORMATS.split(", "))  # the registry's names


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../x.csv", "contains '..' and could escape the store root"),
        ("a/../../b", "contains '..' and could escape the store root"),
        ("a/../b", "contains '..' and could escape the store root"),
        ("/etc/passwd", "is absolute; paths are relative to their store's root"),
        ("C:\\x.csv", "is absolute; paths are relative to their store's root"),
        ("s3://bucket/x.csv", "is absolute; paths are relative to their store's root"),
    ],
)
def test_path_escaping_the_store_root_is_refused(make_project, path, problem):
    error = catalog_error(make_project, f"x:\n  format: csv\n  path: '{path}'\n")
    assert_points_at(error, entry="x", field="path")
    assert error.problem == f"storage path {path!r} {problem}."


def test_missing_store_lists_the_configured_stores(make_project):
    error = catalog_error(
        make_project,
        "x:\n  format: csv\n  store: s3\n",
        stores=SQL_STORE,
    )
    assert_points_at(error, entry="x", field="store")
    assert error.problem == "store 's3' is not configured. Stores: db, local."
    assert "[tool.datanectar.stores.s3]" in error.fix


@pytest.mark.parametrize("kind", ["load_options", "save_options"])
def test_unknown_csv_option(make_project, kind):
    error = catalog_error(make_project, f"x:\n  format: csv\n  {kind}: {{sep: ',', sepp: ';'}}\n")
    assert_points_at(error, entry="x", field=f"{kind}.sepp")
    assert error.problem == "format 'csv' has no option 'sepp'. Did you mean 'sep'?"
    assert "sep" in error.fix.split("use one of: ")[1].split(", ")


def test_sql_table_name_must_be_an_identifier(make_project):
    error = catalog_error(make_project, "t:\n  format: sql\n  path: a-b\n")
    assert_points_at(error, entry="t", field="path")
    assert "'a-b' is not a SQL table name" in error.problem


def test_file_format_on_a_sql_store_is_refused(make_project):
    error = catalog_error(make_project, "x:\n  format: csv\n  store: db\n", stores=SQL_STORE)
    assert_points_at(error, entry="x", field="store")
    assert error.problem == "store 'db' is a database and cannot hold 'csv' files."
    assert "format 'sql'" in error.fix


@pytest.mark.parametrize("name", ["my-entry", "1abc", "has space", "dotted.name"])
def test_entry_names_must_be_identifiers(make_project, name):
    error = catalog_error(make_project, f"{name}:\n  format: csv\n")
    assert_points_at(error, entry=name, field="name")
    assert f"entry name '{name}' must start with a letter or '_'" in error.problem


def test_invalid_group_name(make_project):
    error = catalog_error(make_project, "x:\n  format: csv\n  group: my-group\n")
    assert_points_at(error, entry="x", field="group")
    assert error.problem == "group 'my-group' must use letters, digits and '_' only."


@pytest.mark.parametrize("owner", ["bob", "team:", "a@b", "two@at@example.org"])
def test_invalid_owner(make_project, owner):
    error = catalog_error(make_project, f"x:\n  format: csv\n  owners: ['{owner}']\n")
    assert_points_at(error, entry="x", field="owners")
    assert error.problem == f"owner '{owner}' is neither an e-mail address nor 'team:name'."


# -- file structure ---------------------------------------------------------------------------


def test_invalid_yaml_gives_file_and_line(make_project):
    error = catalog_error(make_project, "good:\n  format: csv\n bad: [\n")
    assert_points_at(error, line=3)
    assert "invalid YAML after Jinja2 rendering" in error.problem


def test_catalog_file_must_be_a_mapping(make_project):
    error = catalog_error(make_project, "- one\n- two\n")
    assert_points_at(error)
    assert "a catalog file is a mapping from entry name to entry, got a list" in error.problem


def test_entry_body_must_be_a_mapping(make_project):
    error = catalog_error(make_project, "x: just a string\n")
    assert_points_at(error, entry="x")
    assert error.problem == "an entry is a mapping of fields, got a str."


def test_duplicate_entry_across_files_names_both_files(make_project):
    error = catalog_error(
        make_project, {"a.yaml": "x:\n  format: csv\n", "b.yaml": "x:\n  format: json\n"}
    )
    assert_points_at(error, file="catalog/b.yaml", entry="x")
    assert error.problem == "entry 'x' is declared twice: in catalog/a.yaml and in catalog/b.yaml."


def test_missing_catalog_path_is_a_clear_error(make_project):
    project = make_project("")
    shutil.rmtree(project / "catalog")
    with pytest.raises(CatalogError) as info:
        datanectar.catalog(project)
    error = info.value
    expected = str(project.resolve() / "catalog")
    assert error.file == expected
    assert str(error).startswith(f"{expected}: the catalog path does not exist.")
    assert "[tool.datanectar] catalog" in error.fix


def test_several_errors_in_one_pass_are_reported_together(make_project):
    project = make_project(
        {
            "a.yaml": "one:\n  format: xlsx\ntwo:\n  formatt: csv\nthree:\n  format: csv\n",
            "b.yaml": "four: a string\n",
        }
    )
    with pytest.raises(CatalogErrors) as info:
        datanectar.catalog(project)
    error = info.value
    assert [(e.file, e.entry, e.field) for e in error.errors] == [
        ("catalog/a.yaml", "one", "format"),
        ("catalog/a.yaml", "two", "formatt"),
        ("catalog/b.yaml", "four", None),
    ]
    text = str(error)
    assert text.startswith("3 catalog errors:\n")
    for each in error.errors:
        assert f"- {each}" in text
    # The collection stands for its first error too.
    assert (error.file, error.entry, error.field) == ("catalog/a.yaml", "one", "format")


def test_errors_found_while_binding_are_reported_together(make_project):
    project = make_project("a:\n  format: csv\n  store: nowhere\nb:\n  path: b.bin\n")
    with pytest.raises(CatalogErrors) as info:
        datanectar.catalog(project)
    assert [(e.file, e.entry, e.field) for e in info.value.errors] == [
        (MAIN, "a", "store"),
        (MAIN, "b", "format"),
    ]


def test_catalog_may_be_a_single_file(make_project):
    project = make_project("")
    (project / "one.yaml").write_text("x:\n  format: csv\n")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace('catalog = "catalog"', 'catalog = "one.yaml"')
    )
    catalog = datanectar.catalog(project)
    assert list(catalog) == ["x"]
    assert catalog.entry("x").source == "one.yaml"


def test_errors_in_a_single_file_catalog_name_it_relative_to_the_project(make_project):
    project = make_project("")
    (project / "one.yaml").write_text("x:\n  format: xlsx\n")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace('catalog = "catalog"', 'catalog = "one.yaml"')
    )
    with pytest.raises(CatalogError) as info:
        datanectar.catalog(project)
    assert_points_at(info.value, file="one.yaml", entry="x", field="format")


def test_lookup_of_an_unknown_entry_suggests_close_names(make_project):
    catalog = open_catalog(make_project, "stations:\n  format: csv\n")
    with pytest.raises(
        KeyError, match=r"no catalog entry named .station.\. Did you mean 'stations'\?"
    ):
        catalog.entry("station")
