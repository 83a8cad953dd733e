"""A web server as a read-only store: objects under a base URL, read through fsspec's
HTTPFileSystem (aiohttp), with a bearer token or basic credentials read from the environment.

Config names environment variables, never secrets. Nothing is ever written: every write,
publish or removal is refused before any work is done (`Store.ensure_writable`).
Fingerprints are the server's ETag, else its Last-Modified, with the Content-Length; a folder
(a zarr store) is fingerprinted by its consolidated metadata object.
"""

from __future__ import annotations

import base64
import os
import posixpath
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import quote, urlsplit

import fsspec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ConfigError, MissingDependencyError, StoreAccessError, StoreError
from .base import Location, Store, StoreConfig, url_secrets

_FOLDER_METADATA = (".zmetadata", "zarr.json")
"""What stands for a folder-like value (a zarr store) a server cannot list: its consolidated
metadata, rewritten whenever the store is."""
_UNCONSOLIDATED = (".zgroup", ".zarray")
"""What a zarr v2 store holds at its root without consolidated metadata."""
_GONE = frozenset({404, 410})
_NO_HEAD = frozenset({405, 501})
"""Answers of a server that does not serve HEAD: ask with GET instead."""


class _NoAnswer(TimeoutError):
    """The server took the request for `url` and did not answer in time."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class BearerAuth(BaseModel):
    """`{ type = "bearer", token_env = "VAR" }`: `Authorization: Bearer <token>`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bearer"] = Field(description="A bearer token.")
    token_env: str = Field(description="Environment variable holding the token.")


class BasicAuth(BaseModel):
    """`{ type = "basic", username_env = "VAR", password_env = "VAR" }`: HTTP basic auth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["basic"] = Field(description="HTTP basic authentication.")
    username_env: str = Field(description="Environment variable holding the user name.")
    password_env: str = Field(description="Environment variable holding the password.")


class HttpStoreConfig(StoreConfig):
    """`type = "http"`: files under a base URL, read-only."""

    type: Literal["http"] = Field(default="http", description="Files on a web server, read-only.")
    base_url: str = Field(
        description="URL the entries' paths are relative to, e.g. https://example.org/data/."
    )
    auth: Annotated[BearerAuth | BasicAuth, Field(discriminator="type")] | None = Field(
        default=None,
        description="How to authenticate: bearer or basic, the secrets read from the "
        "environment variables named; none for a public server.",
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Seconds a request may take before it fails."
    )

    @field_validator("base_url")
    @classmethod
    def _plain_http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url {value!r} is not an http:// or https:// URL")
        if "@" in parts.netloc or url_secrets(value):
            raise ValueError(
                "base_url holds credentials; they never stand in a file. Fix: drop them from "
                "the URL and give auth = { type = ..., ..._env = ... }"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"base_url {value!r} has a query or fragment; give a folder URL")
        return value if value.endswith("/") else value + "/"


class HttpStore(Store):
    type_name = "http"
    config_model = HttpStoreConfig
    read_only = True
    # Read through fsspec's HTTP filesystem; deltalake reads through object stores of its own,
    # and pickles are not loaded from a web server (loading one runs code it chose).
    formats = ("csv", "parquet", "json", "netcdf", "zarr", "files")

    def __init__(self, name: str, config: HttpStoreConfig, *, project_root: Path) -> None:
        super().__init__(name)
        self.config = config
        self._pyproject = project_root / "pyproject.toml"

    # -- credentials ----------------------------------------------------------------------

    def _variable(self, field: str, variable: str) -> str:
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(
                file=self._pyproject,
                field=f"tool.datanectar.stores.{self.name}.auth.{field}",
                problem=f"store '{self.name}': environment variable {variable} is not set",
                fix=f"export {variable}=<the {field.removesuffix('_env')} of {self.name}>.",
            )
        return value

    def _authorization(self) -> str | None:
        auth = self.config.auth
        if auth is None:
            return None
        if isinstance(auth, BearerAuth):
            return f"Bearer {self._variable('token_env', auth.token_env)}"
        user = self._variable("username_env", auth.username_env)
        password = self._variable("password_env", auth.password_env)
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        auth = self.config.auth
        if auth is None:
            return ()
        names = [auth.token_env] if isinstance(auth, BearerAuth) else [auth.password_env]
        found = [os.environ.get(name) or "" for name in names]
        try:
            header = self._authorization()
        except ConfigError:
            header = None
        if header is not None:
            found += [header, header.partition(" ")[2]]
        return tuple(sorted({s for s in found if s}, key=len, reverse=True))

    def storage_options(self) -> dict[str, Any]:
        try:
            import aiohttp
        except ImportError as exc:
            raise MissingDependencyError(
                f"store '{self.name}' (type http) needs aiohttp, which is not installed. "
                "Fix: pip install 'datanectar[http]'."
            ) from exc
        header = self._authorization()
        options: dict[str, Any] = {
            "client_kwargs": {"timeout": aiohttp.ClientTimeout(total=self.config.timeout_seconds)}
        }
        if header is not None:
            options["headers"] = {"Authorization": header}
        return options

    # -- where objects are ----------------------------------------------------------------

    @cached_property
    def filesystem(self) -> fsspec.AbstractFileSystem:
        return fsspec.filesystem("http", **self.storage_options())

    def full_path(self, relative: str) -> str:
        return self.config.base_url + quote(relative, safe="/")

    def uri(self, relative: str) -> str:
        return self.full_path(relative)

    # -- reading --------------------------------------------------------------------------

    def _info(self, url: str) -> dict[str, Any] | None:
        """What the server says of `url` (None when it has nothing there); any other answer
        (refused credentials, an error, no answer) raised as the client raised it. One HEAD;
        a GET (its body never read) only when the server refuses HEAD or gives no size:
        fsspec's `info` would also GET after a HEAD that timed out, waiting twice."""
        import aiohttp
        from fsspec.asyn import sync
        from fsspec.implementations.http import _file_info

        filesystem = self.filesystem
        session = sync(filesystem.loop, filesystem.set_session)
        found: dict[str, Any] = {}
        for policy in ("head", "get"):
            try:
                found.update(
                    sync(
                        filesystem.loop,
                        _file_info,
                        filesystem.encode_url(url),
                        session=session,
                        size_policy=policy,
                        **filesystem.kwargs,
                    )
                )
            except aiohttp.ClientResponseError as exc:
                if exc.status in _GONE:
                    return None
                if policy == "head" and exc.status in _NO_HEAD:
                    continue
                raise
            except TimeoutError as exc:
                raise _NoAnswer(url) from exc
            if found.get("size") is not None:
                break
        return {"name": url, "size": None, **found, "type": "file"}

    def _object_info(self, location: Location) -> dict[str, Any] | None:
        """The object at `location`, or, for a folder the server cannot show, its metadata."""
        found = None if location.name.endswith(".zarr") else self._info(location.path)
        if found is not None:
            return found
        for name in _FOLDER_METADATA:
            found = self._info(posixpath.join(location.path, name))
            if found is not None:
                return found
        if any(self._info(posixpath.join(location.path, name)) for name in _UNCONSOLIDATED):
            raise StoreAccessError(
                f"store '{self.name}': the zarr store at {location.path} has no consolidated "
                "metadata (.zmetadata): a web server cannot list folders, so a zarr store is "
                "read over HTTP through it. Fix: consolidate it where it is written (xarray's "
                "to_zarr(..., consolidated=True), or zarr.consolidate_metadata(store))"
            )
        return None

    def exists(self, location: Location) -> bool:
        return self._object_info(location) is not None

    def fingerprint(self, location: Location) -> str | None:
        info = self._object_info(location)
        if info is None:
            return None
        token = info.get("ETag") or info.get("Last-Modified")
        return f"{token}-{info.get('size')}" if token is not None else None

    def size(self, location: Location) -> int:
        info = self._object_info(location)
        return int(info.get("size") or 0) if info else 0

    def explain(self, exc: BaseException) -> str:
        import aiohttp

        seen: set[int] = set()
        found: BaseException | None = exc
        while found is not None and id(found) not in seen:
            seen.add(id(found))
            if isinstance(found, aiohttp.ClientResponseError):
                fix = (
                    " Fix: check the credentials in the environment variables its auth names."
                    if found.status in (401, 403)
                    else ""
                )
                return (
                    f"store '{self.name}' answered HTTP {found.status} {found.message} for "
                    f"{found.request_info.real_url}.{fix}"
                )
            if isinstance(found, aiohttp.ClientConnectorError):
                return (
                    f"store '{self.name}': cannot connect to {found.host}:{found.port} "
                    f"({found.os_error.strerror or found.os_error})"
                )
            if isinstance(found, TimeoutError | aiohttp.ServerTimeoutError):
                url = found.url if isinstance(found, _NoAnswer) else self.config.base_url
                return (
                    f"store '{self.name}': no answer within {self.config.timeout_seconds:g} "
                    f"seconds from {url}. Fix: check that the server is up, or raise the "
                    "store's timeout_seconds"
                )
            found = found.__cause__ or found.__context__
        return f"store '{self.name}': {type(exc).__name__}: {exc}"

    # -- writing: never -------------------------------------------------------------------

    def prepare(self, location: Location) -> None:
        self._read_only()

    def publish(self, staged: Location, final: Location) -> None:
        self._read_only()

    def remove(self, location: Location) -> None:
        self._read_only()

    def _read_only(self) -> NoReturn:
        raise StoreError(f"store '{self.name}' is read-only (http); write to another store")
