"""A table in a SQL database through SQLAlchemy and pandas; each write is one transaction.

The entry's path is the table name (`table` or `schema.table`); the database is the store's
(a sqlite file under a local store's root by default).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..stores import Location
from ..stores.base import safe_url
from . import sql_columns, sql_versions
from .base import Format, Refused, require
from .table_values import require_same_columns

if TYPE_CHECKING:
    from ..targets import Slice

# SQLAlchemy's own pattern for the :name placeholders of `text()` (sql/elements.py): what it
# binds is exactly what is checked against params.
_BIND_PARAM = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)", re.UNICODE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SAVE_OPTIONS = frozenset({"if_exists", "dtype", "chunksize", "method", "index", "index_label"})
_LOAD_OPTIONS = frozenset({"columns", "parse_dates", "coerce_float", "index_col", "dtype_backend"})


class SqlFormat(Format):
    name = "sql"
    suffix = ""
    writes = ("pandas.DataFrame",)
    extra = "sql"
    transactional = True
    medium = "database"
    data_kind = "table"
    drops_index = True

    def __init__(self) -> None:
        self._sa = require("sqlalchemy", extra=self.extra, purpose="The sql format")
        self._engines: dict[str, Any] = {}

    def accepts(self, value: Any) -> bool:
        import pandas as pd

        return isinstance(value, pd.DataFrame)

    def keeps_partitions_in_place(self, dimensions: Sequence[Any], path: str) -> bool:
        return True  # every namespace is a partition of one table, its keys as columns

    def keyed_path(self, path: str, key: str) -> str:
        # A table beside the entry's, in the same schema: identifiers cannot hold '/', '.'
        # or '-', and PostgreSQL cuts them at 63 characters.
        return f"{path}__{key.replace('/', '__').replace('.', '_').replace('-', '_')}"[:63]

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        schema, table = table_name(location)
        settings = {"if_exists": "replace", "index": False, **options}
        # One transaction: a failure part-way leaves the previous table as it was.
        with self._engine(location).begin() as connection:
            frame, zones = sql_columns.stored_frame(value, connection.dialect.name)
            frame.to_sql(table, connection, schema=schema, **settings)
            sql_columns.record(self._sa, connection, schema, table, zones, whole=True)
            sql_versions.stamp(self._sa, connection, schema, table, None)

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        import pandas as pd

        schema, table = table_name(location)
        with self._engine(location).connect() as connection:
            frame = pd.read_sql_table(table, connection, schema=schema, **options)
            return sql_columns.restored(self._sa, connection, schema, table, frame)

    def read_query(
        self,
        location: Location,
        query: str,
        params: Mapping[str, Any],
        *,
        options: Mapping[str, Any],
    ) -> Any:
        """The result of `query` in the store's database, its placeholders bound to `params`
        (`sqlalchemy.text(query).bindparams(...)`: values travel apart from the SQL)."""
        import pandas as pd

        statement = self._sa.text(query).bindparams(**params)
        with self._engine(location).connect() as connection, _reading_only(connection):
            return pd.read_sql(statement, connection, **options)

    def query_fingerprint(
        self,
        location: Location,
        query: str,
        params: Mapping[str, Any],
        *,
        options: Mapping[str, Any],
    ) -> str:
        """A hash of the query's result (columns, types, values): it changes exactly when
        the result does, at the cost of running the query."""
        import hashlib

        import pandas as pd

        frame = self.read_query(location, query, params, options=options)
        digest = hashlib.sha256()
        digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        return f"sql-query-{digest.hexdigest()[:32]}"

    def write_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> None:
        """Delete the partition's rows and insert the new ones in one transaction, keys bound
        as parameters, never pasted into SQL."""
        self.commit_partitions(
            location, [self.stage_partition(value, location, part, options=options)]
        )

    def stage_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> _PendingRows:
        """A namespace's rows, kept until `commit_partitions` writes them: a database has no
        place where rows wait unseen outside the transaction that writes them."""
        settings = {"index": False, **{k: v for k, v in options.items() if k != "if_exists"}}
        for name, key in part.keys.items():
            if name in value.columns and not (value[name].astype(str) == key).all():
                raise Refused(
                    f"column '{name}' of the value holds values other than its partition key "
                    f"{key!r}, and the table keeps that partition's key in column '{name}'. "
                    "Fix: rename the column, or keep only that partition's rows in it"
                )
        return _PendingRows(value.assign(**dict(part.keys)), dict(part.keys), settings)

    def commit_partitions(self, location: Location, pending: Sequence[Any]) -> None:
        """Every namespace's delete and insert in one transaction: all are replaced, or none."""
        schema, table = table_name(location)
        with self._engine(location).begin() as connection:
            for rows in pending:
                self._replace_rows(connection, schema, table, rows)
        for rows in pending:
            rows.committed = True

    def _replace_rows(self, connection: Any, schema: str | None, table: str, rows: Any) -> None:
        partition = rows.partition
        if self._sa.inspect(connection).has_table(table, schema=schema):
            reflected = self._reflect(connection, table, schema)
            _require_table_columns(reflected, rows.frame, partition)
            connection.execute(reflected.delete().where(self._matches(reflected, partition)))
        frame, zones = sql_columns.stored_frame(rows.frame, connection.dialect.name)
        frame.to_sql(table, connection, schema=schema, if_exists="append", **rows.settings)
        sql_columns.record(self._sa, connection, schema, table, zones, whole=False)
        # Without an index on the keys, replacing or reading one partition scans them all.
        reflected = self._reflect(connection, table, schema)
        index = self._sa.Index(
            f"ix_{table}_namespaces"[:63], *(reflected.c[name] for name in partition)
        )
        index.create(connection, checkfirst=True)
        sql_versions.stamp(self._sa, connection, schema, table, partition)

    def read_partition(
        self, location: Location, part: Slice, *, options: Mapping[str, Any], as_type: Any
    ) -> Any:
        partition = part.keys
        import pandas as pd

        schema, table = table_name(location)
        with self._engine(location).connect() as connection:
            reflected = self._reflect(connection, table, schema)
            query = self._sa.select(reflected).where(self._matches(reflected, partition))
            frame = pd.read_sql(query, connection, **options)
            frame = sql_columns.restored(self._sa, connection, schema, table, frame)
        frame = frame.drop(columns=list(partition))
        return _typed_when_empty(frame, reflected) if frame.empty else frame

    def partition_fingerprint(self, location: Location, part: Slice) -> str | None:
        return self._token(location, part.keys)

    def partition_exists(self, location: Location, part: Slice) -> bool:
        partition = part.keys
        schema, table = table_name(location)
        with self._engine(location).connect() as connection:
            reflected = self._reflect(connection, table, schema)
            if not set(partition) <= set(reflected.c.keys()):
                return False
            query = (
                self._sa.select(self._sa.literal(1))
                .select_from(reflected)
                .where(self._matches(reflected, partition))
                .limit(1)
            )
            if connection.execute(query).first() is not None:
                return True
            # A namespace written with no rows is there too: its write left a token.
            return sql_versions.token(self._sa, connection, schema, table, partition) is not None

    def remove_partition(self, location: Location, part: Slice) -> None:
        self.remove_partitions_with(location, part.keys)

    def remove_partitions_with(self, location: Location, keys: Mapping[str, str]) -> bool:
        """Delete the rows (and write tokens) of every namespace whose columns hold `keys` in
        one transaction, keys bound as parameters; one key of two dimensions takes each of
        its namespaces, whatever the other key."""
        schema, table = table_name(location)
        with self._engine(location).begin() as connection:
            if not self._sa.inspect(connection).has_table(table, schema=schema):
                return False
            reflected = self._reflect(connection, table, schema)
            if not set(keys) <= set(reflected.c.keys()):
                return False
            deleted = connection.execute(reflected.delete().where(self._matches(reflected, keys)))
            tokens = sql_versions.unstamp(self._sa, connection, schema, table, keys)
            return bool(deleted.rowcount) or tokens > 0

    def _reflect(self, connection: Any, table: str, schema: str | None) -> Any:
        return self._sa.Table(table, self._sa.MetaData(), schema=schema, autoload_with=connection)

    def _matches(self, reflected: Any, partition: Mapping[str, str]) -> Any:
        return self._sa.and_(*(reflected.c[name] == key for name, key in partition.items()))

    def exists(self, location: Location) -> bool:
        schema, table = table_name(location)
        return self._sa.inspect(self._engine(location)).has_table(table, schema=schema)

    def written_bytes(self, location: Location) -> int | None:
        return None

    def fingerprint(self, location: Location) -> str | None:
        return self._token(location, None)

    def _token(self, location: Location, keys: Mapping[str, str] | None) -> str | None:
        schema, table = table_name(location)
        with self._engine(location).connect() as connection:
            token = sql_versions.token(self._sa, connection, schema, table, keys)
        return f"sql-{token}" if token is not None else None

    def remove(self, location: Location) -> None:
        schema, table = table_name(location)
        with self._engine(location).begin() as connection:
            self._sa.Table(table, self._sa.MetaData(), schema=schema).drop(
                connection, checkfirst=True
            )
            sql_versions.forget(self._sa, connection, schema, table)
            sql_columns.forget(self._sa, connection, schema, table)

    def describe_location(self, location: Location) -> str:
        return f"{safe_url(location.store.sql_url())}#{location.relative}"

    def check_path(self, relative: str) -> None:
        split_table_name(relative)

    def load_option_names(self) -> frozenset[str]:
        return _LOAD_OPTIONS

    def save_option_names(self) -> frozenset[str]:
        return _SAVE_OPTIONS

    def engine(self, location: Location) -> Any:
        """The SQLAlchemy engine of the location's database (one per database), whose sqlite
        DDL rolls back with its transaction."""
        return self._engine(location)

    def _engine(self, location: Location) -> Any:
        url = location.store.sql_url()
        if url not in self._engines:
            engine = self._sa.create_engine(url)
            if engine.dialect.name == "sqlite":
                _make_sqlite_ddl_transactional(self._sa, engine)
            self._engines[url] = engine
        return self._engines[url]


@contextlib.contextmanager
def _reading_only(connection: Any) -> Iterator[None]:
    """A transaction in which the database itself refuses writes (PostgreSQL's READ ONLY,
    sqlite's query_only), rolled back after: a source's query only reads, whatever SQL
    (a data-modifying CTE, a function with side effects) it holds."""
    dialect = connection.dialect.name
    transaction = connection.begin()
    try:
        if dialect == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA query_only = ON")
        yield
    finally:
        transaction.rollback()
        if dialect == "sqlite":  # a pragma outlives the transaction, on a pooled connection
            connection.exec_driver_sql("PRAGMA query_only = OFF")


def _require_table_columns(reflected: Any, frame: Any, partition: Mapping[str, str]) -> None:
    """A namespace's rows have the table's columns, in types its columns hold: a database
    that does not enforce types (sqlite) would take text into an integer column, and the
    table could no longer be read back as a whole."""
    import pandas as pd

    stored = list(reflected.c.keys())
    if not set(partition) <= set(stored):
        raise Refused(
            f"the table there has no column {', '.join(sorted(set(partition) - set(stored)))} "
            "for the partition key: it was written another way. Fix: store the partitioned "
            "asset in another table, or drop that one first"
        )
    require_same_columns(stored, list(frame.columns))
    for column in reflected.c:
        if column.name in partition:
            continue
        try:
            wanted = column.type.python_type
        except NotImplementedError:
            continue
        series = frame[column.name]
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind == "empty" or _holds(wanted, kind):
            continue
        raise Refused(
            f"column '{column.name}' is {column.type} in the table and holds {kind} values in "
            f"this value. Fix: return the column as {wanted.__name__}, or rewrite every "
            "partition with the new type"
        )


_KINDS = {
    int: {"integer"},
    float: {"integer", "floating", "mixed-integer-float", "decimal"},
    str: {"string"},
    bool: {"boolean"},
    bytes: {"bytes"},
}


def _holds(wanted: type, kind: str) -> bool:
    """Whether a column of Python type `wanted` takes values pandas infers as `kind`."""
    import datetime as dt
    import decimal

    if wanted in (dt.datetime, dt.date):
        return kind in ("datetime64", "datetime", "date")
    if wanted is decimal.Decimal:
        return kind in ("integer", "floating", "decimal", "mixed-integer-float")
    accepted = _KINDS.get(wanted)
    return accepted is None or kind in accepted


def _typed_when_empty(frame: Any, reflected: Any) -> Any:
    """An empty partition's columns in the types the table declares: with no rows, pandas
    has no values to infer them from (every column would read as object)."""
    import datetime as dt

    dtypes = {int: "int64", float: "float64", bool: "bool", dt.datetime: "datetime64[us]"}
    for column in reflected.c:
        if column.name not in frame.columns:
            continue
        try:
            wanted = dtypes.get(column.type.python_type)
        except NotImplementedError:
            continue
        if wanted is not None:
            frame[column.name] = frame[column.name].astype(wanted)
    return frame


class _PendingRows:
    """One namespace's rows, staged for `SqlFormat.commit_partitions`."""

    bytes_written = None

    def __init__(self, frame: Any, partition: dict[str, str], settings: dict[str, Any]) -> None:
        self.frame = frame
        self.partition = partition
        self.settings = settings
        self.committed = False

    def commit(self) -> None:
        raise NotImplementedError("committed by SqlFormat.commit_partitions")

    def discard(self) -> None:
        self.frame = None


def _make_sqlite_ddl_transactional(sa: Any, engine: Any) -> None:
    """pysqlite begins transactions only before DML, so the DROP/CREATE of a replace would
    commit on their own and a failed write would leave an empty table. Let SQLAlchemy emit
    BEGIN itself (SQLAlchemy's documented recipe) so DDL rolls back with the inserts."""

    @sa.event.listens_for(engine, "connect")
    def _disable_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def query_placeholders(query: str) -> list[str]:
    """The names of a query's :name placeholders, each once, in order."""
    return list(dict.fromkeys(_BIND_PARAM.findall(query)))


def with_placeholders_as_nulls(query: str) -> str:
    """The query with NULL where each :name placeholder is: SQL a parser can read."""
    return _BIND_PARAM.sub("NULL", query)


def table_name(location: Location) -> tuple[str | None, str]:
    try:
        return split_table_name(location.relative)
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def split_table_name(name: str) -> tuple[str | None, str]:
    """Split and check `schema.table`; identifiers only, so names never need quoting tricks."""
    parts = name.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
        raise ValueError(
            f"'{name}' is not a SQL table name; use letters, digits and '_' (optionally 'schema.table')"
        )
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
