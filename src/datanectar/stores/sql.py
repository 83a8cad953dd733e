"""A SQL database as a store: holds tables (the sql format), no files.

The URL carries credentials, so it is only ever read from an environment variable; config
names the variable, never the URL.
"""

from __future__ import annotations

import os
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
        told = f"{type(exc).__name__}: {exc}"
        where = f"store '{self.name}' (sql, URL in {self.config.url_env})"
        name = type(exc).__name__
        text = str(exc).lower()
        if name == "NoSuchTableError" or "no such table" in text or "does not exist" in text:
            return f"{where}: {told}. Fix: check the table name (the entry's path) and schema."
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
