"""What a database does not keep of a table's pandas columns, kept beside the table.

A database column has a SQL type, and pandas reads each back as the type it maps that SQL
type to, which is not always what was written:

- a timezone-aware column: pandas writes it to sqlite as its wall time, offset dropped (an
  instant shifted by its offset when read back as UTC), and PostgreSQL reads a `timestamptz`
  back in UTC, its zone gone;
- a nullable integer or boolean column (`Int64`, `boolean`) holding a null reads back as
  floats or objects;
- a column of `datetime.date` reads back as timestamps.

So a write stores every aware column as its UTC instant (naive UTC on sqlite, which has no
zone type) and records, in a small table of the same schema, `datanectar_columns`, in the
write's own transaction, what each such column was: its zone, its pandas dtype, or `date`. A
read gives each recorded column back as it was written. A table written by another tool has
no record: it reads as its database gives it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

COLUMNS_TABLE = "datanectar_columns"
_ZONE = "zone:"
_DATE = "date"
_DTYPE = "dtype:"


def stored_frame(frame: Any, dialect: str) -> tuple[Any, dict[str, str]]:
    """The frame as written (aware columns as UTC instants, naive on sqlite) and what each
    column pandas would not read back as written was, by column name."""
    import pandas as pd

    kinds: dict[str, str] = {}
    converted = {}
    for name, dtype in frame.dtypes.items():
        column = frame[name]
        if isinstance(dtype, pd.DatetimeTZDtype):
            kinds[str(name)] = f"{_ZONE}{dtype.tz}"
            utc = column.dt.tz_convert("UTC")
            converted[name] = utc.dt.tz_localize(None) if dialect == "sqlite" else utc
        elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.name in _NULLABLE:
            kinds[str(name)] = f"{_DTYPE}{dtype.name}"
        elif pd.api.types.is_object_dtype(dtype) and _all_dates(column):
            kinds[str(name)] = _DATE
    return (frame.assign(**converted) if converted else frame), kinds


_NULLABLE = frozenset(
    {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "boolean"}
    | {"Float32", "Float64"}
)


def _all_dates(column: Any) -> bool:
    values = column.dropna()
    return len(values) > 0 and all(
        isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values
    )


def record(
    sa: Any,
    connection: Any,
    schema: str | None,
    table: str,
    kinds: dict[str, str],
    *,
    whole: bool,
) -> None:
    """Record what `table`'s columns were (inside the caller's transaction): a whole-table
    write replaces the record, a partition's adds to it (its columns are the table's)."""
    columns = _columns(sa, schema)
    if not kinds and not sa.inspect(connection).has_table(COLUMNS_TABLE, schema=schema):
        return
    columns.create(connection, checkfirst=True)
    mine = columns.c.table_name == table
    if not whole:
        mine = sa.and_(mine, columns.c.column_name.in_(list(kinds)))
    connection.execute(columns.delete().where(mine))
    if kinds:
        connection.execute(
            columns.insert(),
            [{"table_name": table, "column_name": c, "kind": k} for c, k in kinds.items()],
        )


def restored(sa: Any, connection: Any, schema: str | None, table: str, frame: Any) -> Any:
    """`frame`, read from `table`, with each recorded column back as it was written."""
    import pandas as pd

    if not sa.inspect(connection).has_table(COLUMNS_TABLE, schema=schema):
        return frame
    columns = _columns(sa, schema)
    rows = connection.execute(
        sa.select(columns.c.column_name, columns.c.kind).where(columns.c.table_name == table)
    ).all()
    converted = {}
    for name, kind in rows:
        if name not in frame.columns:
            continue
        if kind.startswith(_ZONE):
            column = pd.to_datetime(frame[name])
            if column.dt.tz is None:
                column = column.dt.tz_localize("UTC")
            converted[name] = column.dt.tz_convert(kind[len(_ZONE) :])
        elif kind.startswith(_DTYPE):
            converted[name] = frame[name].astype(kind[len(_DTYPE) :])
        elif kind == _DATE:
            stamps = pd.to_datetime(frame[name])
            converted[name] = pd.Series(
                [None if pd.isna(v) else v.date() for v in stamps], index=frame.index, dtype=object
            )
    return frame.assign(**converted) if converted else frame


def forget(sa: Any, connection: Any, schema: str | None, table: str) -> None:
    """Drop a removed table's record (inside the transaction that drops it)."""
    if sa.inspect(connection).has_table(COLUMNS_TABLE, schema=schema):
        columns = _columns(sa, schema)
        connection.execute(columns.delete().where(columns.c.table_name == table))


def _columns(sa: Any, schema: str | None) -> Any:
    return sa.Table(
        COLUMNS_TABLE,
        sa.MetaData(),
        sa.Column("table_name", sa.String(255), nullable=False),
        sa.Column("column_name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(80), nullable=False),
        schema=schema,
    )
