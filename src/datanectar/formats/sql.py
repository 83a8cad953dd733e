"""A table in a SQL database through SQLAlchemy and pandas; each write is one transaction.

The entry's path is the table name (`table` or `schema.table`); the database is the store's
(a sqlite file under a local store's root by default).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..stores import Location
from ..stores.base import safe_url
from . import sql_versions
from .base import Format, require

if TYPE_CHECKING:
    from ..targets import Slice

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
            value.to_sql(table, connection, schema=schema, **settings)
            sql_versions.stamp(self._sa, connection, schema, table, None)

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        import pandas as pd

        schema, table = table_name(location)
        with self._engine(location).connect() as connection:
            return pd.read_sql_table(table, connection, schema=schema, **options)

    def write_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> None:
        """Delete the partition's rows and insert the new ones in one transaction, keys bound
        as parameters, never pasted into SQL."""
        partition = part.keys
        schema, table = table_name(location)
        frame = value.assign(**dict(partition))
        settings = {"index": False, **{k: v for k, v in options.items() if k != "if_exists"}}
        engine = self._engine(location)
        with engine.begin() as connection:
            if self._sa.inspect(connection).has_table(table, schema=schema):
                reflected = self._reflect(connection, table, schema)
                connection.execute(reflected.delete().where(self._matches(reflected, partition)))
            frame.to_sql(table, connection, schema=schema, if_exists="append", **settings)
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
        return frame.drop(columns=list(partition))

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
        schema, table = table_name(location)
        with self._engine(location).begin() as connection:
            if not self._sa.inspect(connection).has_table(table, schema=schema):
                return
            reflected = self._reflect(connection, table, schema)
            if set(part.keys) <= set(reflected.c.keys()):
                connection.execute(reflected.delete().where(self._matches(reflected, part.keys)))
                sql_versions.unstamp(self._sa, connection, schema, table, part.keys)

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

    def describe_location(self, location: Location) -> str:
        return f"{safe_url(location.store.sql_url())}#{location.relative}"

    def check_path(self, relative: str) -> None:
        split_table_name(relative)

    def load_option_names(self) -> frozenset[str]:
        return _LOAD_OPTIONS

    def save_option_names(self) -> frozenset[str]:
        return _SAVE_OPTIONS

    def _engine(self, location: Location) -> Any:
        url = location.store.sql_url()
        if url not in self._engines:
            engine = self._sa.create_engine(url)
            if engine.dialect.name == "sqlite":
                _make_sqlite_ddl_transactional(self._sa, engine)
            self._engines[url] = engine
        return self._engines[url]


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
