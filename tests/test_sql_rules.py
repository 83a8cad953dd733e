"""SQL rules (`sql: {query, expect}`) through Dagster: run by DuckDB over Arrow data for parquet,
delta and csv entries, in the database for sql entries (sqlite and PostgreSQL), on a value
before it is published and on stored sources. Expected values are computed with pandas, and
what was published is read back with pyarrow, deltalake, pandas and SQLAlchemy."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import deltalake
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

import datanectar
from runs import catalog_error, materialize_project

STORES = (
    '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
    '[tool.datanectar.stores.db]\ntype = "sql"\nurl_env = "SQLRULES_DB_URL"\n'
)
STATIONS = pd.DataFrame({"id": [1, 2], "name": ["north", "south"]})
BACKENDS = ["parquet", "delta", "csv", "sqlite", "postgres"]


def observations(hot: float) -> pd.DataFrame:
    return pd.DataFrame({"station": [1, 2, 2, 3], "temp": [10.0, 20.0, 30.0, hot]})


def module(hot: float, *, entry: str = "observations") -> dict[str, str]:
    return {
        "sql_rule_functions": f"""
            import pandas as pd
            import datanectar

            @datanectar.asset(entry="{entry}")
            def {entry}() -> pd.DataFrame:
                return pd.DataFrame({{"station": [1, 2, 2, 3], "temp": [10.0, 20.0, 30.0, {hot}]}})
        """
    }


class Backend:
    """Where one backend keeps `observations` and `stations`, and how to read them back."""

    def __init__(self, name: str, project: Path, url: str | None) -> None:
        self.name, self.project, self.url = name, project, url
        self.suffix = uuid.uuid4().hex[:8]
        self.format = "sql" if name in ("sqlite", "postgres") else name

    def entry(self, name: str) -> str:
        if self.format == "sql":
            return f"  format: sql\n  store: db\n  path: {name}_{self.suffix}\n"
        return f"  format: {self.format}\n"

    def write_stations(self) -> None:
        self.write("stations", STATIONS)

    def write(self, name: str, frame: pd.DataFrame) -> None:
        """`frame` stored as the source `name`, by the storage library itself."""
        data = self.project / "data"
        data.mkdir(parents=True, exist_ok=True)
        if self.format == "parquet":
            pq.write_table(pa.Table.from_pandas(frame), data / f"{name}.parquet")
        elif self.format == "delta":
            deltalake.write_deltalake(str(data / name), frame)
        elif self.format == "csv":
            frame.to_csv(data / f"{name}.csv", index=False)
        else:
            frame.to_sql(f"{name}_{self.suffix}", self.engine(), index=False)

    def engine(self) -> sa.Engine:
        return sa.create_engine(str(self.url))

    def read(self, name: str) -> pd.DataFrame | None:
        data = self.project / "data"
        if self.format == "parquet":
            path = data / f"{name}.parquet"
            return pq.read_table(path).to_pandas() if path.exists() else None
        if self.format == "delta":
            path = data / name
            return deltalake.DeltaTable(str(path)).to_pandas() if path.exists() else None
        if self.format == "csv":
            path = data / f"{name}.csv"
            return pd.read_csv(path) if path.exists() else None
        engine = self.engine()
        if not sa.inspect(engine).has_table(f"{name}_{self.suffix}"):
            return None
        return pd.read_sql_table(f"{name}_{self.suffix}", engine)


@pytest.fixture(params=BACKENDS)
def backend(request, make_project, monkeypatch, tmp_path) -> Backend:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'rules.db'}"
    monkeypatch.setenv("SQLRULES_DB_URL", url)
    return Backend(request.param, make_project.root, url)


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def meta(evaluation: dg.AssetCheckEvaluation, key: str):
    return evaluation.metadata[key].value


def rules_catalog(backend: Backend, checks: str) -> str:
    return (
        "observations:\n"
        + backend.entry("observations")
        + "  checks:\n"
        + checks
        + "stations:\n"
        + backend.entry("stations")
    )


CHECKS = (
    '    - sql: {query: "select count(*) from {table} where temp > 60", expect: {max: 0}}\n'
    "    - sql:\n"
    '        query: "select count(*) from {table} t join {stations} s on t.station = s.id"\n'
    "        expect: {min: 1}\n"
    "      name: joined\n"
)


def test_a_produced_table_is_checked_before_it_is_published(backend, make_project, instance):
    backend.write_stations()
    project = make_project(rules_catalog(backend, CHECKS), stores=STORES, modules=module(40.0))
    result = materialize_project(project, instance, ["observations"])
    assert result.success
    found = evaluations(result)
    good = observations(40.0)
    assert found["sql"].passed and meta(found["sql"], "value") == int((good.temp > 60).sum())
    joined = good.merge(STATIONS, left_on="station", right_on="id")
    assert found["joined"].passed and meta(found["joined"], "value") == len(joined) == 3
    query = meta(found["joined"], "query")
    assert "{" not in query and "join" in query and "stations" in query
    pd.testing.assert_frame_equal(backend.read("observations"), good, check_dtype=False)

    # A value breaking the rule is not published: the previous one stays.
    project = make_project(rules_catalog(backend, CHECKS), stores=STORES, modules=module(75.0))
    result = materialize_project(project, instance, ["observations"], raise_on_error=False)
    assert not result.success
    found = evaluations(result)
    assert not found["sql"].passed and meta(found["sql"], "value") == 1
    assert found["joined"].passed
    pd.testing.assert_frame_equal(backend.read("observations"), good, check_dtype=False)


def test_bad_sql_is_a_failed_check_not_a_crashed_step(backend, make_project, instance):
    backend.write_stations()
    checks = (
        '    - sql: {query: "select count(*) from {table} where no_such_column > 1",'
        " expect: {max: 0}}\n      severity: warn\n"
        '    - sql: {query: "select station, temp from {table}", expect: {equals: 1}}\n'
        "      name: two_columns\n      severity: warn\n"
        '    - sql: {query: "select * from {table} where temp > 60", expect: {empty: true}}\n'
        "      name: none_hot\n"
        "    - sql: {query: \"select * from {table} where cast(station as varchar(8)) like '3%'\","
        " expect: {non_empty: true}}\n      name: third\n"
    )
    project = make_project(rules_catalog(backend, checks), stores=STORES, modules=module(40.0))
    result = materialize_project(project, instance, ["observations"])
    assert result.success  # warn-level: published all the same
    found = evaluations(result)
    assert not found["sql"].passed and meta(found["sql"], "errors_by_type") == {"check-error": 1}
    assert "no_such_column" in meta(found["sql"], "error")
    assert not found["two_columns"].passed
    assert "one row of one column" in meta(found["two_columns"], "error")
    assert found["none_hot"].passed and meta(found["none_hot"], "row_count") == 0
    assert found["third"].passed and meta(found["third"], "row_count") == 1
    assert backend.read("observations") is not None


@pytest.mark.parametrize("fmt", ["parquet", "delta", "csv", "sqlite"])
def test_a_source_is_checked_where_it_is_stored(fmt, make_project, instance, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'rules.db'}"
    monkeypatch.setenv("SQLRULES_DB_URL", url)
    backend = Backend(fmt, make_project.root, url)
    backend.write_stations()
    stored = observations(75.0)
    if backend.format == "parquet":
        pq.write_table(pa.Table.from_pandas(stored), backend.project / "data/observations.parquet")
    elif backend.format == "delta":
        deltalake.write_deltalake(str(backend.project / "data/observations"), stored)
    elif backend.format == "csv":
        stored.to_csv(backend.project / "data/observations.csv", index=False)
    else:
        stored.to_sql(f"observations_{backend.suffix}", backend.engine(), index=False)
    project = make_project(rules_catalog(backend, CHECKS), stores=STORES)
    job = datanectar.definitions(project).resolve_job_def("source_checks")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    found = evaluations(result)
    assert not found["sql"].passed and meta(found["sql"], "value") == int((stored.temp > 60).sum())
    assert found["joined"].passed and meta(found["joined"], "value") == len(
        stored.merge(STATIONS, left_on="station", right_on="id")
    )


def test_dates_and_timestamps_are_bounds_too(backend, make_project, instance):
    """sqlite gives dates back as text, DuckDB and PostgreSQL as dates: each compares."""
    days = pd.to_datetime(["2024-01-05", "2024-02-10", "2024-03-15"])
    backend.write("observations", pd.DataFrame({"day": days, "temp": [1.0, 2.0, 3.0]}))
    checks = (
        '    - sql: {query: "select max(day) from {table}", expect: {min: 2024-03-01}}\n'
        "      name: recent\n"
        '    - sql: {query: "select min(day) from {table}", expect: {min: 2024-02-01}}\n'
        "      name: early\n"
        '    - sql: {query: "select max(day) from {table}", expect: {max: 2024-03-15 00:00:00}}\n'
        "      name: until\n"
        '    - sql: {query: "select count(*) from {table}", expect: {min: 2024-01-01}}\n'
        "      name: counted\n"
    )
    project = make_project(rules_catalog(backend, checks), stores=STORES)
    job = datanectar.definitions(project).resolve_job_def("source_checks")
    found = evaluations(job.execute_in_process(instance=instance, raise_on_error=False))
    assert found["recent"].passed, found["recent"].metadata
    assert found["until"].passed, found["until"].metadata
    assert not found["early"].passed
    assert "2024-01-05" in str(meta(found["early"], "value"))
    assert meta(found["counted"], "errors_by_type") == {"check-error": 1}
    assert "compares dates" in meta(found["counted"], "error")


DELTA_BY_CITY = """\
readings:
  format: delta
  namespaces: [{name: city, values: [paris, lyon]}]
  checks:
    - sql: {query: "select count(*) from {table}", expect: {max: 3}}
    - sql: {query: "select count(*) from {table} a join {table} b using (value)", expect: {min: 1}}
      name: self_joined
"""


def test_a_partitioned_delta_entry_checks_only_its_partition(make_project, instance):
    project = make_project(
        DELTA_BY_CITY,
        modules={
            "by_city": """
                import pandas as pd
                import datanectar

                @datanectar.asset(entry="readings")
                def readings(context) -> pd.DataFrame:
                    n = 3 if context.partition_key == "paris" else 2
                    return pd.DataFrame({"value": list(range(n))})
            """
        },
    )
    for city in ("paris", "lyon"):
        result = materialize_project(project, instance, ["readings"], partition_key=city)
        assert result.success
        evaluation = evaluations(result)["sql"]
        assert evaluation.passed and meta(evaluation, "value") == (3 if city == "paris" else 2)
    table = deltalake.DeltaTable(str(project / "data/readings")).to_pandas()
    assert len(table) == 5  # both partitions stored: 5 rows, yet each check counted its own


def test_a_partitioned_delta_source_checks_only_its_partition(make_project, instance):
    project = make_project(DELTA_BY_CITY)
    rows = pd.DataFrame({"value": [1, 2, 3, 4, 5, 6], "city": ["paris"] * 4 + ["lyon"] * 2})
    deltalake.write_deltalake(str(project / "data/readings"), rows, partition_by=["city"])
    job = datanectar.definitions(project).resolve_job_def("source_checks__city")
    for city, count in (("paris", 4), ("lyon", 2)):
        result = job.execute_in_process(
            instance=instance, tags={"dagster/partition": city}, raise_on_error=False
        )
        evaluation = evaluations(result)["sql"]
        assert meta(evaluation, "value") == count == int((rows.city == city).sum())
        assert meta(evaluations(result)["self_joined"], "value") == count
        assert evaluation.passed == (count <= 3)


def test_a_partitioned_sql_entry_checks_only_its_partition(
    make_project, instance, monkeypatch, tmp_path
):
    monkeypatch.setenv("SQLRULES_DB_URL", f"sqlite:///{tmp_path / 'rules.db'}")
    catalog = DELTA_BY_CITY.replace("format: delta", "format: sql\n  store: db")
    project = make_project(catalog, stores=STORES)
    rows = pd.DataFrame({"value": [1, 2, 3, 4, 5, 6], "city": ["paris"] * 4 + ["lyon"] * 2})
    rows.to_sql("readings", sa.create_engine(f"sqlite:///{tmp_path / 'rules.db'}"), index=False)
    job = datanectar.definitions(project).resolve_job_def("source_checks__city")
    result = job.execute_in_process(instance=instance, tags={"dagster/partition": "lyon"})
    evaluation = evaluations(result)["sql"]
    assert evaluation.passed and meta(evaluation, "value") == 2


@pytest.mark.parametrize(
    ("checks", "field", "said"),
    [
        (
            '    - sql: {query: "select count(*) from {statons}", expect: {max: 0}}\n',
            "checks[0].sql.query",
            "did you mean 'stations'",
        ),
        (
            "    - row_count: {min: 1}\n"
            "    - sql: {query: \"select '{' from {table}\", expect: {max: 0}}\n",
            "checks[1].sql.query",
            "brace",
        ),
        (
            '    - sql: {query: "select count(*) from {table}", expect: {min: 1, equals: 2}}\n',
            "checks[0].sql.expect",
            "exactly one of",
        ),
        (
            '    - sql: {query: "select count(*) from {table}", expect: {}}\n',
            "checks[0].sql.expect",
            "exactly one of",
        ),
        (  # a rule judges data, never changes it: no second statement after the SELECT
            '    - sql: {query: "select count(*) from {table}; commit; drop table x", '
            "expect: {min: 0}}\n",
            "checks[0].sql.query",
            "holds 3 statements; a rule's query is one select",
        ),
        (
            '    - sql: {query: "delete from {table}", expect: {min: 0}}\n',
            "checks[0].sql.query",
            "is a delete statement",
        ),
        (
            '    - sql: {query: "select count(*) from {by_city}", expect: {min: 0}}\n',
            "checks[0].sql.query",
            "keeps each namespace in a file of its own",
        ),
    ],
)
def test_sql_rule_catalog_errors_name_file_entry_and_field(make_project, checks, field, said):
    catalog = (
        "observations:\n  format: parquet\n  checks:\n"
        + checks
        + "stations:\n  format: parquet\n"
        + "by_city:\n  format: parquet\n  namespaces: [paris, lyon]\n"
    )
    error = catalog_error(make_project, catalog)
    text = str(error)
    assert "main.yaml" in text and "observations" in text and field in text, text
    assert said in text.lower(), text


def test_a_sql_rule_on_zarr_is_a_catalog_error(make_project):
    catalog = (
        "grid:\n  format: zarr\n  checks:\n"
        '    - sql: {query: "select count(*) from {table}", expect: {max: 0}}\n'
    )
    text = str(catalog_error(make_project, catalog))
    assert "main.yaml" in text and "grid" in text and "checks[0].sql" in text, text
    assert "parquet, delta, csv, sql" in text, text


def test_what_a_failing_query_says_is_shown_without_secrets(make_project, instance, monkeypatch):
    monkeypatch.setenv("SQLRULES_DB_URL", "postgresql://reader:s3cret-pw@db.invalid/warehouse")
    catalog = (
        "observations:\n  format: parquet\n  checks:\n"
        "    - sql: {query: \"select count(*) from {table} where no_such = 's3cret-pw'\","
        " expect: {max: 0}}\n      severity: warn\n"
    )
    project = make_project(catalog, stores=STORES, modules=module(40.0))
    result = materialize_project(project, instance, ["observations"])
    assert result.success
    evaluation = evaluations(result)["sql"]
    shown = f"{meta(evaluation, 'error')} {meta(evaluation, 'query')}"
    assert "no_such" in shown and "s3cret-pw" not in shown, shown
