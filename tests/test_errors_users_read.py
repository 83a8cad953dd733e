"""Errors a new user reads: one error per mistake, hints that are true, and did-you-mean for
the names they mistype. Each is read as text, as a user reads it."""

from __future__ import annotations

import pandas as pd
import pytest

import datanectar
from datanectar.cli import main
from datanectar.errors import CatalogErrors

STORES = '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'


def catalog_error(project, **options) -> datanectar.CatalogError:
    with pytest.raises(datanectar.CatalogError) as info:
        datanectar.catalog(project, **options)
    return info.value


# -- one bad entry, one error --------------------------------------------------------------

READERS = """
import datanectar

@datanectar.asset
def summary(buoys):
    return buoys

@datanectar.asset
def report(buoys, summary):
    return summary

@datanectar.cache
def recent(buoys):
    return buoys
"""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("  format: csv\n  schema: schemas/buoys.schema.json\n", "schema"),
        ("  format: csv\n  load_options: {sepp: ';'}\n", "load_options.sepp"),
        ("  format: csv\n  store: lake\n", "store"),
    ],
)
def test_a_broken_entry_is_one_error_not_one_per_reader(make_project, body, field):
    project = make_project(f"buoys:\n{body}", modules={"readers": READERS})
    error = catalog_error(project)
    # Exactly one error: the entry's own; the functions that read it are not told that
    # their parameter "names no catalog entry".
    assert not isinstance(error, CatalogErrors), str(error)
    assert error.entry == "buoys" and error.field == field
    assert "names no catalog entry" not in str(error)


# -- hints that are true --------------------------------------------------------------------


def test_a_missing_schema_is_looked_for_from_the_project_root(make_project):
    project = make_project(
        {"sub/buoys.yaml": "buoys:\n  format: csv\n  schema: schemas/buoys.json\n"}
    )
    error = catalog_error(project)
    message = str(error)
    assert error.file == "catalog/sub/buoys.yaml" and error.field == "schema"
    assert f"no schema file at {project.resolve() / 'schemas' / 'buoys.json'}" in message
    assert f"it is read relative to {project.resolve()}" in message
    assert "catalog folder" not in message
    # ... and the hint is right: the file put where it says is found.
    (project / "schemas").mkdir()
    (project / "schemas" / "buoys.json").write_text('{"fields": [{"name": "id"}]}')
    assert "buoys" in datanectar.catalog(project)


def test_an_unknown_rule_lists_the_rules_not_the_entry_fields(make_project):
    error = catalog_error(
        make_project("buoys:\n  format: csv\n  checks:\n    - rowcount: {min: 1}\n")
    )
    message = str(error)
    assert error.field == "checks[0].rowcount"
    assert "unknown rule 'rowcount'. Did you mean 'row_count'?" in message
    assert "row_count, not_null, unique" in message
    assert "load_options" not in message  # an entry field, which is not what was meant


def test_rule_paths_are_written_one_way(make_project):
    errors = [
        catalog_error(make_project(f"buoys:\n  format: csv\n  checks:\n{checks}"))
        for checks in (
            "    - row_count: {min: 1}\n    - rowcount: {min: 1}\n",
            "    - row_count: {min: 1}\n    - dims: {time: 3}\n",
            "    - row_count: {min: 1}\n    - row_count: {min: 1}\n      unique: [a]\n",
        )
    ]
    assert [error.field for error in errors] == [
        "checks[1].rowcount",
        "checks[1].dims",
        "checks[1]",
    ]
    assert all(f"field '{error.field}'" in str(error) for error in errors)


# -- did you mean ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("catalog", "field", "hint"),
    [
        ("buoys:\n  format: csv\n  descripton: Buoys.\n", "descripton", "'description'"),
        ("buoys:\n  format: parqet\n", "format", "'parquet'"),
        ("buoys:\n  format: csv\n  load_options: {sepp: ';'}\n", "load_options.sepp", "'sep'"),
        ("buoys:\n  format: csv\n  save_options: {indx: false}\n", "save_options.indx", "'index'"),
        ("buoys:\n  format: csv\n  store: locl\n", "store", "'local'"),
        ("buoys:\n  format: csv\n  checks:\n    - uniqe: [a]\n", "checks[0].uniqe", "'unique'"),
        (
            "buoys:\n  format: csv\n  checks:\n    - {unique: [a], severty: warn}\n",
            "checks[0].severty",
            "'severity'",
        ),
    ],
)
def test_did_you_mean_for_mistyped_names(make_project, catalog, field, hint):
    error = catalog_error(make_project(catalog))
    assert error.file == "catalog/main.yaml" and error.entry == "buoys"
    assert error.field == field
    assert f"Did you mean {hint}?" in str(error)


def test_did_you_mean_for_a_parameter_naming_no_entry(make_project):
    project = make_project(
        "readings:\n  format: csv\n",
        modules={
            "reader": "import datanectar\n\n@datanectar.asset\ndef report(reading):\n"
            "    return reading\n"
        },
    )
    error = catalog_error(project)
    assert error.entry == "report"
    assert "parameter 'reading' of reader.report names no catalog entry" in str(error)
    assert "Did you mean 'readings'?" in str(error)


def test_did_you_mean_for_an_entry_name(make_project):
    catalog = datanectar.catalog(make_project("readings:\n  format: csv\n"))
    with pytest.raises(KeyError, match="Did you mean 'readings'"):
        catalog.load("reading")


def test_did_you_mean_for_project_settings(make_project):
    project = make_project("", settings='defualt_store = "local"\n', stores=STORES)
    with pytest.raises(datanectar.ConfigError) as info:
        datanectar.catalog(project)
    assert info.value.field == "tool.datanectar.defualt_store"
    assert "unknown key 'defualt_store'. Did you mean 'default_store'?" in str(info.value)


def test_no_suggestion_when_nothing_is_close(make_project):
    error = catalog_error(make_project("buoys:\n  format: xlsx\n"))
    assert "Did you mean" not in str(error)


# -- custom checks are resolved when the catalog loads ----------------------------------------


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("nowhere:check", "module 'nowhere' cannot be imported: ModuleNotFoundError"),
        ("mychecks:no_such", "module 'mychecks' has no function 'no_such'"),
        (
            "mychecks:has_row",
            "module 'mychecks' has no function 'has_row'. Did you mean 'has_rows'?",
        ),
        ("broken:check", "module 'broken' cannot be imported: SyntaxError"),
    ],
)
def test_a_custom_check_that_cannot_be_found_is_a_catalog_error(make_project, target, problem):
    project = make_project(
        f"buoys:\n  format: csv\n  checks:\n    - row_count: {{min: 1}}\n    - custom: {target}\n",
        modules={
            "mychecks": "def has_rows(frame):\n    return len(frame) > 0\n",
            "broken": "def check(:\n",
        },
    )
    # The modules are importable from the project root but not producers' modules.
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml")
        .read_text()
        .replace("modules = ['mychecks', 'broken']", "modules = []")
    )
    error = catalog_error(project)
    assert error.file == "catalog/main.yaml"
    assert error.entry == "buoys"
    assert error.field == "checks[1].custom"
    assert problem in str(error)


def test_a_custom_check_that_exists_loads(make_project):
    project = make_project(
        "buoys:\n  format: csv\n  checks:\n    - custom: mychecks:has_rows\n",
        modules={"mychecks": "def has_rows(frame):\n    return len(frame) > 0\n"},
    )
    catalog = datanectar.catalog(project)
    catalog.save("buoys", pd.DataFrame({"a": [1]}))
    assert "buoys" in catalog


# -- keys are matched whole ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["paris\n", "paris\r\n", "\nparis"])
def test_a_key_with_a_newline_is_refused(make_project, key):
    catalog = datanectar.catalog(
        make_project("obs:\n  format: parquet\n  namespaces: [paris, lyon]\n")
    )
    with pytest.raises(ValueError, match="not allowed"):
        catalog.save("obs", pd.DataFrame({"a": [1]}), namespace=key)
    assert not (catalog.config.root / "data" / "obs").exists()


@pytest.mark.parametrize(
    ("catalog", "field"),
    [
        ('"obs\\n":\n  format: csv\n', "name"),
        ('obs:\n  format: csv\n  namespaces: ["paris\\n"]\n', "namespaces"),
        ('obs:\n  format: csv\n  group: "raw\\n"\n', "group"),
        ('obs:\n  format: csv\n  owners: ["team:x\\n"]\n', "owners"),
    ],
)
def test_names_with_a_trailing_newline_are_refused_in_the_catalog(make_project, catalog, field):
    error = catalog_error(make_project(catalog))
    assert error.field == field or (error.field or "").startswith(field)


# -- outside a project ------------------------------------------------------------------------


def test_the_cli_outside_a_project_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DATANECTAR_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["cache", "ls"]) == 2
    err = capsys.readouterr().err
    assert f"no pyproject.toml with a [tool.datanectar] table in {tmp_path.resolve()}" in err
    assert f"{tmp_path.resolve()}/pyproject.toml" not in err  # a file that does not exist


def test_did_you_mean_for_a_jinja_variable(make_project):
    error = catalog_error(
        make_project(
            'grid:\n  format: zarr\n  path: "{{ grid_foldr }}/t.zarr"\n',
            globals_yaml="grid_folder: grids\n",
        )
    )
    assert (error.file, error.line, error.entry) == ("catalog/main.yaml", 3, "grid")
    assert "'grid_foldr' is undefined. Did you mean 'grid_folder'?" in str(error)


def test_a_template_raising_names_the_file_and_line(make_project):
    error = catalog_error(make_project("x:\n  format: csv\n  description: '{{ 1 // 0 }}'\n"))
    assert (error.file, error.line, error.entry) == ("catalog/main.yaml", 3, "x")
    assert "Jinja2 template raised ZeroDivisionError" in str(error)


def test_a_check_declared_on_the_decorator_is_reported_against_the_function(make_project):
    project = make_project(
        "produced:\n  format: parquet\n  checks:\n    - row_count: {min: 1}\n",
        modules={
            "pipelines": "import datanectar\n\n"
            "@datanectar.asset(checks=[{'custom': 'nowhere:nofunc'}])\n"
            "def produced():\n    return None\n"
        },
    )
    error = catalog_error(project)
    assert error.file == "pipelines.py (@pipelines.produced)"
    assert error.field == "checks[0].custom" and error.entry == "produced"
    assert "catalog/main.yaml" not in str(error)


@pytest.mark.parametrize("returned", ["(frame['a'] > 0).all()", "numpy.bool_(True)"])
def test_a_custom_check_may_return_numpys_bool(make_project, returned):
    project = make_project(
        "t:\n  format: parquet\n  checks:\n    - custom: mychecks:positive\n",
        modules={"mychecks": f"import numpy\n\ndef positive(frame):\n    return {returned}\n"},
    )
    datanectar.catalog(project).save("t", pd.DataFrame({"a": [1, 2]}))


def test_a_check_module_that_exits_is_a_catalog_error(make_project):
    project = make_project(
        "t:\n  format: csv\n  checks:\n    - custom: exiting:check\n",
        modules={"exiting": "import sys\nsys.exit(3)\n"},
    )
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace("modules = ['exiting']", "modules = []")
    )
    error = catalog_error(project)
    assert error.field == "checks[0].custom" and "SystemExit" in str(error)


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ("{team: data eng}", "tag 'team' has the value 'data eng'"),
        ("{owner: x@y.com}", "tag 'owner' has the value 'x@y.com'"),
        ("{'bad key!': x}", "tag key 'bad key!' is not allowed"),
        ("{'dagster/kind': x}", "tag key 'dagster/kind' is not allowed"),
    ],
)
def test_tags_dagster_refuses_are_catalog_errors(make_project, tags, problem):
    error = catalog_error(make_project(f"t:\n  format: csv\n  tags: {tags}\n"))
    assert (error.file, error.entry) == ("catalog/main.yaml", "t")
    assert error.field.startswith("tags") and problem in str(error)
