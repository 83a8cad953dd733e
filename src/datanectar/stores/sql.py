"""A SQL database as a store: holds tables (the sql format), no files.

The URL carries credentials, so it is only ever read from an environment variable; config
names the variable, never the URL.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import Field

from ..errors import StoreError
from .base import Location, Store, StoreConfig, url_secrets


class SqlStoreConfig(StoreConfig):
    """`type = "sql"`: a SQL database holding the tables of sql entries."""

    type: Literal["sql"] = Field(default="sql", description="A SQL database (tables, no files).")
    url_env: str = Field(
        description="Environment variable holding the SQLAlchemy URL, e.g. postgresql://user:pw@host/db."
    )


class SqlStore(Store):
    type_name = "sql"
    config_model = SqlStoreConfig
    holds_files = False
    holds_tables = True

    def __init__(self, name: str, config: SqlStoreConfig, *, project_root: Path) -> None:
        super().__init__(name)
        self.config = config

    def sql_url(self) -> str:
        url = os.environ.get(self.config.url_env)
        if not url:
            raise StoreError(
                f"store '{self.name}': environment variable {self.config.url_env} is not set. "
                f"Fix: export {self.config.url_env}=<SQLAlchemy URL of the database>."
            )
        return url

    def explain(self, exc: BaseException) -> str:
        """A database's failure, with the store named and what to check."""
        said = _database_said(exc)
        # the first line: PostgreSQL's next ones point into the SQL, which the entry shows
        first = _without_links(str(said)).strip().splitlines()[0] if str(said).strip() else ""
        told = f"{type(said).__name__}: {first}"
        where = f"store '{self.name}' (sql, URL in {self.config.url_env})"
        name = type(said).__name__
        text = str(said).lower()
        if name == "NoSuchTableError" or "no such table" in text or "does not exist" in text:
            return (
                f"{where}: {told}. Fix: check the table's name and schema (the entry's path, "
                "or the tables its query reads)."
            )
        if "read-only transaction" in text or "readonly database" in text:
            return (
                f"{where}: {told}. Fix: a source's query runs where the database refuses "
                "writes; write one SELECT that changes nothing."
            )
        if name == "OperationalError" and any(
            sign in text
            for sign in ("connection refused", "could not connect", "unable to open", "timeout")
        ):
            return (
                f"{where} cannot be reached: {told}. Fix: check that the database is running "
                f"and that {self.config.url_env} names it (host, port, database)."
            )
        return f"{where}: {told}"

    def secrets(self) -> tuple[str, ...]:
        url = os.environ.get(self.config.url_env)
        if not url:
            return ()
        # Not a URL at all (a paste gone wrong): all of it may be a secret.
        return url_secrets(url) if "://" in url else (url,)

    @property
    def filesystem(self) -> Any:
        self._no_files()

    def full_path(self, relative: str) -> str:
        self._no_files()

    def uri(self, relative: str) -> str:
        return f"sql://{self.name}/{relative}"

    def publish(self, staged: Location, final: Location) -> None:
        self._no_files()

    def remove(self, location: Location) -> None:
        self._no_files()

    def size(self, location: Location) -> int:
        self._no_files()

    def _no_files(self) -> NoReturn:
        raise StoreError(f"store '{self.name}' is a SQL database: it holds sql tables, not files")


_LINK = re.compile(r"\s*\(Background on this error at: [^)]*\)")


def _database_said(exc: BaseException) -> BaseException:
    """What the database driver itself said (psycopg2's, sqlite3's error): pandas wraps
    SQLAlchemy's error, which wraps the driver's and adds the SQL and a link to its docs."""
    seen: BaseException | None = exc
    while seen is not None:
        original = getattr(seen, "orig", None)
        if isinstance(original, BaseException):
            return original
        seen = seen.__cause__ or seen.__context__
    return exc


def _without_links(text: str) -> str:
    return _LINK.sub("", text)
