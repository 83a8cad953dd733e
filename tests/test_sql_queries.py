"""sql sources that are a query's result, with bound parameters, on sqlite and PostgreSQL; and
the sql format's types and schema-qualified tables."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

import datanectar
from runs import catalog_error

STORES = """
[tool.datanectar.stores.local]
type = "local"
root = "data"

[tool.datanectar.stores.warehouse]
type = "sql"
url_env = "DN_QUERY_DB_URL"
"""


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path, monkeypatch):
    """(URL, a table name of the test's own) on each database; the table dropped after."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("DN_QUERY_DB_URL", url)
    table = f"dn_q_{uuid.uuid4().hex[:10]}"
    yield url, table
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))


PEOPLE = pd.DataFrame({"name": ["O'Brien", "Ada", "x"], "age": [41, 36, 1]})


def _project(make_project, table: str, source: str, **kwargs):
    catalog = f"people:\n  format: sql\n  store: warehouse\n  path: {table}\n{source}"
    project = make_project(catalog, stores=STORES, **kwargs)
    datanectar.catalog(project).save("people", PEOPLE)
    return project


def test_params_are_bound_never_pasted(make_project, database):
    _, table = database
    project = _project(
        make_project,
        table,
        f"""
by_name:
  format: sql
  store: warehouse
  query: "select name, age from {table} where name = :name and age > :min_age"
  params: {{name: "{{{{ person }}}}", min_age: 18}}
injected:
  format: sql
  store: warehouse
  query: "select name from {table} where name = :name"
  params: {{name: "x' or '1'='1"}}
""",
        globals_yaml='person: "O\'Brien"\n',
    )
    catalog = datanectar.catalog(project)
    assert catalog.load("by_name").to_dict("records") == [{"name": "O'Brien", "age": 41}]
    assert catalog.load("injected").empty
    assert catalog.entry("by_name").path is None


def test_the_fingerprint_is_the_results(make_project, database):
    _, table = database
    project = _project(
        make_project,
        table,
        f"adults:\n  format: sql\n  store: warehouse\n  query: select * from {table} where age > :a\n"
        "  params: {a: 18}\n",
    )
    catalog = datanectar.catalog(project)
    target = catalog._target("adults", None)
    first = catalog.storage.fingerprint(target)
    assert first == catalog.storage.fingerprint(target)
    catalog.save("people", PEOPLE.assign(age=[41, 36, 20]))
    assert catalog.storage.fingerprint(target) != first
    with pytest.raises(datanectar.errors.DatanectarError, match="query's result"):
        catalog.save("adults", PEOPLE)


def test_a_query_sources_checks_run_in_the_source_checks_job(make_project, database, instance):
    _, table = database
    project = _project(
        make_project,
        table,
        f"""
adults:
  format: sql
  store: warehouse
  query: "select * from {table} where age >= :a"
  params: {{a: 18}}
  checks:
    - row_count: {{min: 2, max: 2}}
    - not_null: [name]
""",
    )
    defs = datanectar.definitions(project)
    result = defs.resolve_job_def("source_checks").execute_in_process(instance=instance)
    found = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert found == {"row_count": True, "not_null": True}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ("  format: sql\n  path: t\n  query: select 1\n", "query", "'path'"),
        ("  format: parquet\n  query: select 1\n", "query", "format is 'parquet'"),
        ("  format: sql\n  query: select :a, :b\n  params: {a: 1}\n", "params", ":b"),
        ("  format: sql\n  query: select :a\n  params: {a: 1, c: 2}\n", "params", "c is bound"),
        ("  format: sql\n  path: t\n  params: {a: 1}\n", "params", "no query"),
        (
            "  format: sql\n  query: delete from t where a = :a\n  params: {a: 1}\n",
            "query",
            "DELETE",
        ),
        ("  format: sql\n  query: select 1; drop table t\n", "query", "2 statements"),
        ("  format: sql\n  query: 'commit; select 1'\n", "query", "2 statements"),
    ],
)
def test_query_mistakes_are_catalog_errors(make_project, body, field, words):
    error = catalog_error(make_project, f"q:\n  store: warehouse\n{body}", stores=STORES)
    assert error.entry == "q"
    assert error.field == field
    assert words in str(error)


def test_a_query_source_changes_nothing_in_the_database(make_project, database):
    """A data-modifying CTE is one statement the catalog cannot tell from a SELECT: the
    database itself refuses it (a read-only transaction, rolled back)."""
    url, table = database
    project = _project(
        make_project,
        table,
        f"""
deleting:
  format: sql
  store: warehouse
  query: "with gone as (delete from {table} returning *) select * from gone"
missing:
  format: sql
  store: warehouse
  query: "select * from no_such_table_here where age > :age"
  params: {{age: 1}}
adults:
  format: sql
  store: warehouse
  query: "select name from {table} where age > 18 order by name"
""",
    )
    catalog = datanectar.catalog(project)
    with pytest.raises(datanectar.errors.DatanectarError) as info:
        catalog.load("deleting")
    assert "entry 'deleting'" in str(info.value)
    with sa.create_engine(url).connect() as connection:
        assert connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar() == 3
    with pytest.raises(datanectar.errors.DatanectarError) as info:
        catalog.load("missing")
    message = str(info.value)
    assert "entry 'missing'" in message and "no_such_table_here" in message, message
    assert "the tables its query reads" in message and "Background on this error" not in message
    # the same pooled connection writes again afterwards (sqlite's query_only is reset)
    catalog.save("people", PEOPLE.head(2))
    assert catalog.load("adults")["name"].tolist() == ["Ada", "O'Brien"]
    with sa.create_engine(url).connect() as connection:
        rows = connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar()
    assert rows == 2


def test_a_produced_entry_cannot_be_a_query(make_project):
    @datanectar.asset(entry="q")
    def q() -> pd.DataFrame:
        return PEOPLE

    project = make_project("q:\n  format: sql\n  query: select 1\n", stores=STORES)
    with pytest.raises(datanectar.errors.CatalogError) as info:
        datanectar.catalog(project, functions=[q])
    assert info.value.field == "query"
    assert "writes this entry" in str(info.value)


# -- types --------------------------------------------------------------------------------

TYPED = pd.DataFrame(
    {
        "i": pd.Series([1, 2, 3], dtype="int64"),
        "f": [1.5, None, -2.25],
        "s": ["a", None, "O'Brien"],
        "b": [True, False, True],
        "d": [dt.date(2024, 1, 31), dt.date(2000, 2, 29), None],
        "ts": pd.to_datetime(
            ["2024-03-01T12:00:00+02:00", "2024-03-01T00:30:00-05:00", None], utc=True
        ),
        "ni": pd.array([1, None, 3], dtype="Int64"),
        "nb": pd.array([True, None, False], dtype="boolean"),
        "paris": pd.to_datetime(
            ["2024-03-01T12:00:00+02:00", "2024-10-27T02:30:00+01:00", None], utc=True
        ).tz_convert("Europe/Paris"),
    }
)


def _same_values(frame: pd.DataFrame) -> None:
    assert frame["i"].tolist() == [1, 2, 3]
    assert frame["f"].iloc[0] == 1.5 and pd.isna(frame["f"].iloc[1])
    assert frame["s"].iloc[2] == "O'Brien" and pd.isna(frame["s"].iloc[1])
    assert [bool(v) for v in frame["b"]] == [True, False, True]
    assert [pd.Timestamp(v).date() if not pd.isna(v) else None for v in frame["d"]] == [
        dt.date(2024, 1, 31),
        dt.date(2000, 2, 29),
        None,
    ]
    stamps = pd.to_datetime(frame["ts"], utc=True)
    # the instants, whoever reads them (sqlite's text is the UTC wall time)
    assert pd.to_datetime(frame["paris"], utc=True).iloc[1] == pd.Timestamp("2024-10-27T01:30Z")
    assert stamps.iloc[0] == pd.Timestamp("2024-03-01T10:00:00Z")
    assert stamps.iloc[1] == pd.Timestamp("2024-03-01T05:30:00Z")
    assert pd.isna(stamps.iloc[2])


def test_types_round_trip_in_tables_and_queries(make_project, database):
    url, table = database
    catalog_text = f"""
typed:
  format: sql
  store: warehouse
  path: {table}
typed_query:
  format: sql
  store: warehouse
  query: "select * from {table} where i >= :low order by i"
  params: {{low: 1}}
"""
    project = make_project(catalog_text, stores=STORES)
    catalog = datanectar.catalog(project)
    catalog.save("typed", TYPED)
    stored = catalog.load("typed")
    _same_values(stored)
    # nullable integers and booleans holding a null, and dates, back as written
    assert str(stored["ni"].dtype) == "Int64" and stored["ni"].tolist()[::2] == [1, 3]
    assert pd.isna(stored["ni"].iloc[1])
    assert str(stored["nb"].dtype) == "boolean" and stored["nb"].tolist()[::2] == [True, False]
    assert stored["d"].tolist() == [dt.date(2024, 1, 31), dt.date(2000, 2, 29), None]
    # every aware column back as written, in its zone, on sqlite (no zone type) too
    assert str(stored["ts"].dt.tz) == "UTC"
    assert str(stored["paris"].dt.tz) == "Europe/Paris"
    pd.testing.assert_series_equal(stored["paris"], TYPED["paris"], check_dtype=False)
    assert stored["b"].dtype == bool
    _same_values(catalog.load("typed_query"))
    with sa.create_engine(url).connect() as connection:  # read back with SQLAlchemy itself
        _same_values(pd.read_sql(sa.text(f'select * from "{table}" order by i'), connection))


def test_schema_qualified_tables_on_postgresql(make_project, postgres_url, monkeypatch):
    monkeypatch.setenv("DN_QUERY_DB_URL", postgres_url)
    schema = f"dn_schema_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        project = make_project(
            f"""
people:
  format: sql
  store: warehouse
  path: {schema}.people
elders:
  format: sql
  store: warehouse
  query: "select name from {schema}.people where age > :age"
  params: {{age: 40}}
""",
            stores=STORES,
        )
        catalog = datanectar.catalog(project)
        catalog.save("people", PEOPLE)
        assert sa.inspect(engine).has_table("people", schema=schema)
        assert not sa.inspect(engine).has_table("people")
        with engine.connect() as connection:
            rows = connection.execute(sa.text(f"select name from {schema}.people order by age"))
            assert [row.name for row in rows] == ["x", "Ada", "O'Brien"]
        assert catalog.load("people")["age"].tolist() == [41, 36, 1]
        assert catalog.load("elders")["name"].tolist() == ["O'Brien"]
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
