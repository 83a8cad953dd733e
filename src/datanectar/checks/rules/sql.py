"""SQL rules: `sql: {query: "select count(*) from {table} where temp > 60", expect: {max: 0}}`.

A query's placeholders (`{table}`, the entry's own table; `{name}`, another catalog entry's)
are found by a strict pattern and replaced by quoted identifiers only: no value is ever pasted
into the query, and the query text is never formatted or evaluated by Python. Where it runs
depends on the tables it names (`SqlTables` gives them):

- `DatabaseTable` / `DatabaseFrame`: a sql entry's query runs in its store's database through
  SQLAlchemy, in a transaction that is always rolled back (a query that writes changes
  nothing). A produced value about to be published is inserted into a table of its own in that
  transaction first (see `_run_in_database`); a partition of a stored table is copied there by
  a statement whose keys are bound parameters.
- `ArrowRelation`: a parquet, delta or csv entry's query runs in an in-memory DuckDB over
  Arrow data registered as views (a pyarrow dataset or scanner for stored tables, read as the
  query needs it; the DataFrame or Arrow table itself for a produced value). DuckDB gets no
  access to files of its own and loads no extensions.

What the query gives is compared with `expect` in Python. A query that cannot run (a syntax
error, an unknown column, a missing table) is a failed check (`check-error`) with the engine's
message, secrets masked, not a failed step.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

from ...catalog.rules import Rule, SqlExpect
from ...stores.base import scrub
from ..results import CheckFailure, CheckResult, check_error

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BATCH = 10_000


@dataclass(frozen=True)
class ArrowRelation:
    """A table DuckDB reads: a pandas DataFrame, a pyarrow Table or Dataset; `hidden`: its
    columns the query does not see (a namespace's keys, which its value does not hold)."""

    data: Any
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabaseTable:
    """A stored table in a database; `partition`: only its rows with these keys."""

    engine: Any
    schema: str | None
    table: str
    partition: Mapping[str, str] | None = None


@dataclass(frozen=True)
class DatabaseFrame:
    """A produced value about to be published as a table of this database."""

    engine: Any
    schema: str | None
    frame: Any


Relation = ArrowRelation | DatabaseTable | DatabaseFrame


class SqlTables(Protocol):
    """The tables a sql rule's placeholders name, for one value being checked."""

    def own(self, judged: Any) -> Relation:
        """The entry's own table: the value being judged (None for a stored source)."""

    def other(self, name: str) -> Relation:
        """Another catalog entry's stored table."""


@dataclass
class _Found:
    query: str
    engine: str
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    row_count: int = 0
    columns: int = 0


def evaluate_sql_rule(
    rule: Rule,
    *,
    entry: str,
    judged: Any,
    tables: SqlTables | None,
    secrets: tuple[str, ...] = (),
) -> CheckResult:
    """The rule's verdict: its query run over `entry`'s table (`judged`, or as stored) and
    the other entries it names, compared with its `expect`."""
    sql = rule.sql
    if sql is None:
        raise TypeError(f"check '{rule.check_name}' is no sql rule")
    if tables is None:
        return _check_error(rule, "no tables to query here (a sql rule needs the catalog)", None)
    noted: dict[str, str] = {}
    try:
        own = tables.own(judged)
        names = [name for name in dict.fromkeys(_PLACEHOLDER.findall(sql.query))]
        others = {name: tables.other(name) for name in names if name not in ("table", entry)}
        if isinstance(own, ArrowRelation):
            found = _run_in_duckdb(sql.query, entry, own, others, sql.expect, noted)
        else:
            found = _run_in_database(sql.query, own, others, sql.expect, noted)
    except Exception as exc:  # the query's failure is the check's verdict, not the step's
        message = scrub(f"{type(exc).__name__}: {exc}", secrets)
        as_run = noted.get("query")
        return _check_error(rule, _shortened(message), scrub(as_run, secrets) if as_run else None)
    found.query = scrub(found.query, secrets)
    return _judge(rule, sql.expect, found)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _run_in_duckdb(
    query: str,
    entry: str,
    own: ArrowRelation,
    others: Mapping[str, Relation],
    expect: SqlExpect,
    noted: dict[str, str],
) -> _Found:
    import duckdb

    views = {"table": entry}
    connection = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    try:
        for name, relation in {entry: own, **others}.items():
            if not isinstance(relation, ArrowRelation):
                raise TypeError(f"'{name}' is no table DuckDB can read")
            views.setdefault(name, name)
            if not relation.hidden:
                connection.register(name, relation.data)
                continue
            raw = f"_datanectar_{uuid.uuid4().hex[:12]}"
            connection.register(raw, relation.data)
            hidden = ", ".join(_quote(column) for column in relation.hidden)
            # identifiers only, each quoted
            connection.execute(
                f"CREATE TEMPORARY VIEW {_quote(name)} AS SELECT * EXCLUDE ({hidden}) "  # noqa: S608
                f"FROM {_quote(raw)}"
            )
        text = _PLACEHOLDER.sub(lambda match: _quote(views.get(match[1], match[1])), query)
        noted["query"] = text
        cursor = connection.execute(text)
        return _fetch(cursor, text, "duckdb", expect)
    finally:
        connection.close()


def _run_in_database(
    query: str,
    own: DatabaseTable | DatabaseFrame,
    others: Mapping[str, Relation],
    expect: SqlExpect,
    noted: dict[str, str],
) -> _Found:
    """Run in the store's database, in a transaction rolled back whatever the query does.

    A produced value (`DatabaseFrame`) is inserted, inside that transaction, into a table of
    its own beside the entry's (`_datanectar_audit_<random>`, in the same schema), and
    `{table}` names it: the query then runs in the database's own SQL dialect, with the
    database's types, and can join the database's other tables, exactly as it will when the
    published table is checked again as a source (DuckDB over the DataFrame would judge with
    another SQL dialect and other types, and could join nothing). The rollback removes it:
    nothing of it is ever visible outside the transaction. A stored partition is copied
    into such a table the same way, its keys bound as parameters."""
    import sqlalchemy as sa

    engine = own.engine
    preparer = engine.dialect.identifier_preparer

    def qualified(schema: str | None, table: str) -> str:
        return (preparer.quote_schema(schema) + "." if schema else "") + preparer.quote(table)

    names: dict[str, str] = {}
    for name, relation in others.items():
        if not isinstance(relation, DatabaseTable) or relation.engine.url != engine.url:
            raise TypeError(f"'{name}' is no table of this database")
        names[name] = qualified(relation.schema, relation.table)
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            scratch = f"_datanectar_audit_{uuid.uuid4().hex[:12]}"
            if isinstance(own, DatabaseFrame):
                own.frame.to_sql(scratch, connection, schema=own.schema, index=False)
                names["table"] = qualified(own.schema, scratch)
            elif own.partition:
                reflected = sa.Table(
                    own.table, sa.MetaData(), schema=own.schema, autoload_with=connection
                )
                kept = [preparer.quote(c.name) for c in reflected.c if c.name not in own.partition]
                keys = {
                    f"key_{i}": (name, key) for i, (name, key) in enumerate(own.partition.items())
                }
                where = " AND ".join(
                    f"{preparer.quote(name)} = :{bound}" for bound, (name, _) in keys.items()
                )
                # identifiers quoted by the dialect, the keys bound
                connection.execute(
                    sa.text(
                        f"CREATE TEMPORARY TABLE {preparer.quote(scratch)} AS SELECT "  # noqa: S608
                        f"{', '.join(kept)} FROM {qualified(own.schema, own.table)} WHERE {where}"
                    ),
                    {bound: key for bound, (_, key) in keys.items()},
                )
                names["table"] = preparer.quote(scratch)
            else:
                names["table"] = qualified(own.schema, own.table)
            text = _PLACEHOLDER.sub(lambda match: names[match[1]], query)
            noted["query"] = text
            cursor = connection.exec_driver_sql(_driver_text(engine, text))
            return _fetch(cursor, text, engine.dialect.name, expect)
        finally:
            transaction.rollback()


def _driver_text(engine: Any, text: str) -> str:
    """The query as the driver takes it: drivers that format parameters with '%' (psycopg2)
    read a '%' of the query's own as one unless doubled."""
    if engine.dialect.paramstyle in ("format", "pyformat"):
        return text.replace("%", "%%")
    return text


def _fetch(cursor: Any, text: str, engine: str, expect: SqlExpect) -> _Found:
    found = _Found(query=text, engine=engine)
    # a DB-API cursor (DuckDB's) has a description; SQLAlchemy's result has keys
    keys = cursor.keys() if hasattr(cursor, "keys") else (cursor.description or [])
    found.columns = len(list(keys))
    if expect.one_value:
        found.rows = [tuple(row) for row in cursor.fetchmany(2)]
        found.row_count = len(found.rows)
    elif expect.empty:
        found.row_count = len(cursor.fetchmany(1))
    else:
        while batch := cursor.fetchmany(_BATCH):
            found.row_count += len(batch)
    return found


def _judge(rule: Rule, expect: SqlExpect, found: _Found) -> CheckResult:
    metadata: dict[str, Any] = {"query": found.query, "engine": found.engine}
    if not expect.one_value:
        metadata["row_count"] = found.row_count
        wants_rows = bool(expect.non_empty)
        passed = (found.row_count > 0) == wants_rows
        problem = (
            "the query gave no rows; expected some"
            if wants_rows
            else f"the query gave {'rows' if found.row_count else 'no rows'}; expected none"
        )
        return _verdict(rule, passed, problem, metadata)
    if found.row_count != 1 or found.columns != 1:
        rows = "more than one row" if found.row_count > 1 else f"{found.row_count} row(s)"
        return _check_error(
            rule,
            f"the query gave {rows} of {found.columns} column(s); expect "
            f"{_describe(expect)} needs one row of one column",
            found.query,
        )
    raw = found.rows[0][0]
    value = _plain(raw)
    metadata["value"] = value if isinstance(value, int | float | str | bool) else str(value)
    bound = expect.min if expect.min is not None else expect.max
    if expect.equals is not None:
        passed = _equal(value, expect.equals)
    elif isinstance(bound, dt.date):  # dates and timestamps: sqlite gives them as text
        instant = _as_instant(raw)
        if instant is None:
            return _check_error(
                rule,
                f"the query gave {value!r}, which expect {_describe(expect)} cannot compare "
                "(it compares dates and timestamps)",
                found.query,
            )
        try:
            passed = (expect.min is None or instant >= _as_instant(expect.min)) and (
                expect.max is None or instant <= _as_instant(expect.max)
            )
        except TypeError:
            return _check_error(
                rule,
                f"the query gave {value!r}, and expect {_describe(expect)} has a time zone "
                "where it has none, or none where it has one: give both a time zone, or neither",
                found.query,
            )
        value = str(instant)
    elif value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return _check_error(
            rule,
            f"the query gave {value!r}, which expect {_describe(expect)} cannot compare "
            "(it compares numbers)",
            found.query,
        )
    else:
        passed = (expect.min is None or value >= expect.min) and (
            expect.max is None or value <= expect.max
        )
    problem = f"the query gave {value!r}; expected {_describe(expect)}"
    return _verdict(rule, passed, problem, metadata)


def _as_instant(value: Any) -> pd.Timestamp | None:
    """A date, a timestamp, or text that reads as one (sqlite's), as a pandas Timestamp."""
    import pandas as pd

    if value is None or isinstance(value, bool | int | float | decimal.Decimal):
        return None
    try:
        instant = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(instant) else instant


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "item") and hasattr(value, "dtype"):
        return value.item()
    return value


def _equal(value: Any, expected: Any) -> bool:
    """Numbers compare as numbers (1 equals 1.0, a Decimal its float), booleans only with
    booleans, anything else by equality (text, dates)."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return float(value) == float(expected)
    return bool(value == expected)


def _describe(expect: SqlExpect) -> str:
    if expect.equals is not None:
        return f"equals {expect.equals!r}"
    if expect.empty:
        return "empty"
    if expect.non_empty:
        return "non_empty"
    bounds = [f"min {_shown(expect.min)}" if expect.min is not None else ""]
    bounds.append(f"max {_shown(expect.max)}" if expect.max is not None else "")
    return " and ".join(bound for bound in bounds if bound)


def _shown(bound: float | dt.date) -> str:
    return f"{bound:g}" if isinstance(bound, float) else bound.isoformat()


def _verdict(rule: Rule, passed: bool, problem: str, metadata: dict[str, Any]) -> CheckResult:
    return CheckResult(
        name=rule.check_name,
        passed=passed,
        error_count=0 if passed else 1,
        errors_by_type={} if passed else {"sql": 1},
        failures=[] if passed else [CheckFailure(type="sql", message=problem)],
        metadata=metadata,
    )


def _check_error(rule: Rule, problem: str, query: str | None) -> CheckResult:
    message = f"sql check '{rule.check_name}': {problem}"
    return check_error(rule.check_name, message, **({"query": query} if query else {}))


def _shortened(text: str, limit: int = 800) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
