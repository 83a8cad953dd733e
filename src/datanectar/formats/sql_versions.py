"""Write tokens of sql tables: what tells a reader that a table, or one namespace of it, changed.

A database offers no cheap, portable token that changes when a table is rewritten (no mtime,
no ETag), so every write stamps one in a small table of the same schema,
`datanectar_versions`, in the write's own transaction: the token and the data are committed
together or not at all. A table written by another tool has no token: its fingerprint is
unknown (None), as for any medium without one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

VERSIONS_TABLE = "datanectar_versions"
_WHOLE = ""
"""The namespace column of a table's own token (namespace labels are never empty)."""


def namespace_label(keys: Mapping[str, str]) -> str:
    # Keys are checked (letters, digits, '_-.:+'), so '=' and '/' cannot be forged in them.
    return "/".join(f"{name}={key}" for name, key in keys.items())


def stamp(
    sa: Any, connection: Any, schema: str | None, table: str, keys: Mapping[str, str] | None
) -> None:
    """Record a new token for `table` (and for its namespace `keys`, when one was written),
    inside the caller's transaction. A whole-table write supersedes every namespace's token."""
    versions = _versions(sa, schema)
    versions.create(connection, checkfirst=True)
    written = [_WHOLE] if keys is None else [_WHOLE, namespace_label(keys)]
    mine = versions.c.table_name == table
    if keys is not None:
        mine = sa.and_(mine, versions.c.namespace.in_(written))
    connection.execute(versions.delete().where(mine))
    token = uuid.uuid4().hex
    connection.execute(
        versions.insert(),
        [{"table_name": table, "namespace": label, "token": token} for label in written],
    )


def unstamp(
    sa: Any, connection: Any, schema: str | None, table: str, keys: Mapping[str, str]
) -> int:
    """Record that namespace `keys` of `table` was removed (inside the caller's transaction):
    it has no token any more, and the table a new one. One key of a two-dimensional table
    (`city=paris`) removes the token of each namespace with that key (`city=paris/date=...`),
    matched by bound patterns on the label's parts. How many namespace tokens went."""
    versions = _versions(sa, schema)
    label = namespace_label(keys)
    column = versions.c.namespace
    matching = column == label
    if len(keys) == 1:  # the part `name=key` anywhere in a label of two parts
        matching = sa.or_(
            matching,
            column.startswith(f"{label}/", autoescape=True),
            column.endswith(f"/{label}", autoescape=True),
        )
    removed = 0
    if sa.inspect(connection).has_table(VERSIONS_TABLE, schema=schema):
        removed = connection.execute(
            versions.delete().where(versions.c.table_name == table, matching)
        ).rowcount
    stamp(sa, connection, schema, table, keys)  # the table's token and the namespace's ...
    connection.execute(  # ... which then goes
        versions.delete().where(versions.c.table_name == table, column == label)
    )
    return removed


def forget(sa: Any, connection: Any, schema: str | None, table: str) -> None:
    """Drop a removed table's tokens (inside the transaction that drops it)."""
    if sa.inspect(connection).has_table(VERSIONS_TABLE, schema=schema):
        versions = _versions(sa, schema)
        connection.execute(versions.delete().where(versions.c.table_name == table))


def token(
    sa: Any, connection: Any, schema: str | None, table: str, keys: Mapping[str, str] | None
) -> str | None:
    """The latest token of `table` (of its namespace `keys`), None when none is recorded."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(table, schema=schema):
        return None
    if not inspector.has_table(VERSIONS_TABLE, schema=schema):
        return None
    versions = _versions(sa, schema)
    label = _WHOLE if keys is None else namespace_label(keys)
    query = sa.select(versions.c.token).where(
        versions.c.table_name == table, versions.c.namespace == label
    )
    return connection.execute(query).scalar()


def _versions(sa: Any, schema: str | None) -> Any:
    return sa.Table(
        VERSIONS_TABLE,
        sa.MetaData(),
        sa.Column("table_name", sa.String(63), primary_key=True),
        sa.Column("namespace", sa.String(1024), primary_key=True),
        sa.Column("token", sa.String(32), nullable=False),
        schema=schema,
    )
