"""Time zones of sql tables' timestamp columns: what a database does not keep, kept beside it.

pandas writes a timezone-aware column to sqlite as its wall time, offset dropped (an instant
shifted by its offset when read back as UTC), and PostgreSQL reads a `timestamptz` back in UTC,
its zone gone. So a write stores every aware column as its UTC instant (naive UTC on sqlite,
which has no zone type; `timestamptz` elsewhere) and records the column's zone in a small table
of the same schema, `datanectar_zones`, in the write's own transaction; a read gives the column
back in that zone. A table written by another tool has no record: it reads as its database
gives it.
"""

from __future__ import annotations

from typing import Any

ZONES_TABLE = "datanectar_zones"


def stored_frame(frame: Any, dialect: str) -> tuple[Any, dict[str, str]]:
    """The frame as written, its aware columns as UTC instants (naive on sqlite), and the zone
    of each of them by column name."""
    import pandas as pd

    zones = {
        str(name): str(dtype.tz)
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.DatetimeTZDtype)
    }
    if not zones:
        return frame, {}
    converted = {}
    for name in zones:
        column = frame[name].dt.tz_convert("UTC")
        converted[name] = column.dt.tz_localize(None) if dialect == "sqlite" else column
    return frame.assign(**converted), zones


def record(
    sa: Any,
    connection: Any,
    schema: str | None,
    table: str,
    zones: dict[str, str],
    *,
    whole: bool,
) -> None:
    """Record the zones of `table`'s columns (inside the caller's transaction): a whole-table
    write replaces the record, a partition's adds to it (its columns are the table's)."""
    zones_table = _zones(sa, schema)
    if not zones and not sa.inspect(connection).has_table(ZONES_TABLE, schema=schema):
        return
    zones_table.create(connection, checkfirst=True)
    mine = zones_table.c.table_name == table
    if not whole:
        mine = sa.and_(mine, zones_table.c.column_name.in_(list(zones)))
    connection.execute(zones_table.delete().where(mine))
    if zones:
        connection.execute(
            zones_table.insert(),
            [{"table_name": table, "column_name": c, "zone": z} for c, z in zones.items()],
        )


def restored(sa: Any, connection: Any, schema: str | None, table: str, frame: Any) -> Any:
    """`frame`, read from `table`, with each recorded column back in its zone."""
    import pandas as pd

    if not sa.inspect(connection).has_table(ZONES_TABLE, schema=schema):
        return frame
    zones_table = _zones(sa, schema)
    rows = connection.execute(
        sa.select(zones_table.c.column_name, zones_table.c.zone).where(
            zones_table.c.table_name == table
        )
    ).all()
    converted = {}
    for name, zone in rows:
        if name not in frame.columns:
            continue
        column = pd.to_datetime(frame[name])
        if column.dt.tz is None:
            column = column.dt.tz_localize("UTC")
        converted[name] = column.dt.tz_convert(zone)
    return frame.assign(**converted) if converted else frame


def forget(sa: Any, connection: Any, schema: str | None, table: str) -> None:
    """Drop a removed table's record (inside the transaction that drops it)."""
    if sa.inspect(connection).has_table(ZONES_TABLE, schema=schema):
        zones_table = _zones(sa, schema)
        connection.execute(zones_table.delete().where(zones_table.c.table_name == table))


def _zones(sa: Any, schema: str | None) -> Any:
    return sa.Table(
        ZONES_TABLE,
        sa.MetaData(),
        sa.Column("table_name", sa.String(255), nullable=False),
        sa.Column("column_name", sa.String(255), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        schema=schema,
    )
