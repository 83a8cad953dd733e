"""What a store is: a root somewhere, and locations under it that can never escape it.

A store turns a relative path from the catalog into a `Location` carrying the filesystem (or
database URL) a format needs; it also owns how a staged write is published, because only the
store knows what "atomic" can mean on its medium.
"""

from __future__ import annotations

import posixpath
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn
from urllib.parse import parse_qsl, quote, quote_plus, unquote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import StorageIOError, StoreError

if TYPE_CHECKING:
    import fsspec

STAGING_PREFIX = ".datanectar-staging-"
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")  # C:x is drive-relative on Windows


class StoreConfig(BaseModel):
    """Fields every store type shares; each store module subclasses it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="The store type, a name in the store registry.")
    pool: str | None = Field(
        default=None,
        description="Dagster concurrency pool of the steps writing entries of this store "
        "(one pool limiting a database's concurrent writers, say), unless an entry names its own.",
    )

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: str | None) -> str | None:
        return pool_name(value)


def pool_name(value: str | None) -> str | None:
    """A Dagster pool name: one word, no spaces (Dagster refuses others, naming no file)."""
    if value is not None and not re.fullmatch(r"\S+", value):
        raise ValueError(
            f"{value!r} is not a pool name (one word without spaces, e.g. 'warehouse')"
        )
    return value


def normalize_relative_path(path: str) -> str:
    """Return `path` as a clean relative POSIX path, or raise if it could leave its root.

    Applied to every catalog path and every path built from untrusted input (partition keys
    later), before any store sees it.
    """
    if not isinstance(path, str) or not path.strip():
        raise StoreError("a storage path must be a non-empty string")
    if "\x00" in path:
        raise StoreError(f"storage path {path!r} contains a NUL byte")
    if path.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(path) or "://" in path:
        raise StoreError(
            f"storage path {path!r} is absolute; paths are relative to their store's root"
        )
    parts = path.replace("\\", "/").split("/")
    if ".." in parts:
        raise StoreError(f"storage path {path!r} contains '..' and could escape the store root")
    clean = posixpath.normpath("/".join(part for part in parts if part not in ("", ".")))
    if clean in ("", "."):
        raise StoreError(f"storage path {path!r} names the store root itself, not an object in it")
    return clean


def normalize_prefix(prefix: str) -> str:
    """A folder under a store root as a clean relative path, or "" for the root itself."""
    stripped = prefix.strip().strip("/")
    if stripped in ("", "."):
        return ""
    return normalize_relative_path(stripped)


_SECRET_QUERY_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "sslpassword",
        "secret",
        "token",
        "access_token",
        "api_key",
        "key",
    }
)


def _split_user_part(url: str) -> tuple[str, str, str, str] | None:
    """(scheme, user part, the rest after its '@', query) of a URL, or None without a user
    part. The user part ends at the last '@' before the query, not at the first '/': a
    password may hold an unencoded '/' or '@', and SQLAlchemy's parser accepts both."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return None
    head, question, query = rest.partition("?")
    at = head.rfind("@")
    if at < 0:
        return None
    return scheme, head[:at], head[at + 1 :], f"{question}{query}"


def safe_url(url: str) -> str:
    """`url` as it may be shown: the password of its user part and the values of query
    parameters that carry secrets (`?password=...`) masked."""
    parts = _split_user_part(url)
    if parts is not None:
        scheme, user_part, host_and_path, query = parts
        user, has_password, _ = user_part.partition(":")
        url = f"{scheme}://{user}{':***' if has_password else ''}@{host_and_path}{query}"
    base, question, query = url.partition("?")
    if not question:
        return url
    masked = "&".join(
        f"{key}=***" if key.lower() in _SECRET_QUERY_KEYS else f"{key}={value}"
        for key, value in parse_qsl(query, keep_blank_values=True)
    )
    return f"{base}?{masked}"


def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets in `url`, raw and decoded, to scrub from any text shown: its password (and
    the pieces a parser may split it into at '@' or '/') and the values of secret query
    parameters, raw, decoded, and as a form would encode them."""
    found: list[str] = []
    parts = _split_user_part(url)
    if parts is not None:
        password = parts[1].partition(":")[2]
        found += [password, *re.split(r"[@/]", password)]
    for key, value in parse_qsl(url.partition("?")[2], keep_blank_values=True):
        if key.lower() in _SECRET_QUERY_KEYS:
            found += [value, quote_plus(value), quote(value, safe="")]
    pieces = {piece for value in found for piece in (value, unquote(value)) if piece}
    # A piece too short to scrub wherever it appears is scrubbed where a URL shows it.
    secrets = {piece if len(piece) >= 3 else f":{piece}@" for piece in pieces}
    return tuple(sorted(secrets, key=len, reverse=True))  # the longest first, when scrubbing


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def raise_scrubbed(store: Store, exc: Exception, describe: Callable[[str], str]) -> NoReturn:
    """Raise a `StorageIOError` saying `describe(what failed)`, the store's secrets scrubbed
    from the library's message; chained to `exc` only when that message held none (a
    suppressed context is left out of tracebacks and of Dagster's error records)."""
    told = store.explain(exc)
    secrets = store.secrets()
    shown = scrub(told, secrets)
    # Scrubbed as a whole too: where it failed may show a secret as well (a database URL that
    # did not parse cannot be masked, only removed).
    error = StorageIOError(scrub(describe(shown), secrets))
    if shown == told:
        raise error from exc
    raise error from None


def staging_pattern(name: str) -> re.Pattern[str]:
    """The names `Location.staging` gives the staged copies of an object named `name` (and of
    what a publish without an atomic exchange retires: a staging of a staging)."""
    return re.compile(rf"(?:{re.escape(STAGING_PREFIX)}[0-9a-f]{{12}}-)+{re.escape(name)}")


@dataclass(frozen=True)
class Location:
    """One object in a store: a file, a folder, or a table."""

    store: Store
    relative: str
    container: tuple[str, str, str] | None = field(default=None, compare=False, repr=False)
    """For an object inside another (a Delta table's commit file): the container's resolved
    path and URI, and the path inside it; a store resolving what a path names (S3's pointers)
    resolves the container once, not each object in it."""
    direct: bool = field(default=False, compare=False, repr=False)
    """The path names the object itself: a value of one object, or a table written in place,
    is never published by a pointer (S3's folder values), so none is looked up."""

    def inside(self, suffix: str) -> Location:
        """The object at `suffix` inside this one (a folder's file)."""
        return Location(
            self.store, f"{self.relative}/{suffix}", container=(self.path, self.uri, suffix)
        )

    # Resolved (and, on disk, checked against symlinks leaving the root) once per location:
    # one read or write asks for them several times. Publishing checks again just before it
    # moves anything (`Store.publish`).
    @cached_property
    def path(self) -> str:
        """The path the store's filesystem understands."""
        if self.container is not None:
            return f"{self.container[0]}/{self.container[2]}"
        if self.direct:
            return self.store.direct_path(self.relative)
        return self.store.full_path(self.relative)

    @cached_property
    def uri(self) -> str:
        """A URI that storage libraries (and people) understand; never holds credentials."""
        if self.container is not None:
            return f"{self.container[1]}/{self.container[2]}"
        return self.store.uri_for(self)

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        return self.store.filesystem

    @property
    def storage_options(self) -> dict[str, Any]:
        return self.store.storage_options()

    @property
    def object_store_options(self) -> dict[str, str]:
        return self.store.object_store_options()

    @property
    def name(self) -> str:
        return posixpath.basename(self.relative)

    def open(self, mode: str = "rb") -> Any:
        return self.fs.open(self.path, mode)

    def exists(self) -> bool:
        return self.store.exists(self)

    def staging(self) -> Location:
        """A sibling location, hidden and unique, to write to before publishing."""
        parent, name = posixpath.split(self.relative)
        staged = self.store.staging_name(name)
        # A staging is never published at by a pointer: its own path names it.
        return Location(
            self.store, posixpath.join(parent, staged) if parent else staged, direct=True
        )


class Store(ABC):
    """A place where entries are stored. Subclasses are one module each, in the registry."""

    type_name: ClassVar[str]
    config_model: ClassVar[type[StoreConfig]]
    """The pydantic model of its `[tool.datanectar.stores.NAME]` table (a `type` Literal)."""
    read_only: bool = False
    is_local: bool = False
    """True when paths are on this machine's disk (some libraries need a real file)."""
    holds_files: bool = True
    """False for stores that hold only database tables."""
    holds_tables: ClassVar[bool] = False
    """True for stores with a database for sql tables (`sql_url`)."""
    formats: ClassVar[tuple[str, ...] | None] = None
    """The formats whose objects it can hold (None: every one its medium allows); an entry of
    another format on it is a catalog error."""
    uri_schemes: ClassVar[tuple[str, ...]] = ()
    """The URI schemes (`file`, `s3`) whose URIs `config_for_uri` turns into this store's
    config: an IO manager given `root="scheme://..."` gets a store of this type."""

    @classmethod
    def config_for_uri(cls, uri: str) -> StoreConfig:
        """The config of a store rooted at `uri` (one of `uri_schemes`)."""
        raise NotImplementedError(f"store type '{cls.type_name}' serves no URIs")

    def __init__(self, name: str) -> None:
        self.name = name

    def location(self, relative_path: str, *, direct: bool = False) -> Location:
        """The object at `relative_path`; `direct`: it is one object or a table written in
        place, never a folder value a store publishes by pointer (see `Location.direct`)."""
        return Location(self, normalize_relative_path(relative_path), direct=direct)

    @property
    @abstractmethod
    def filesystem(self) -> fsspec.AbstractFileSystem: ...

    @abstractmethod
    def full_path(self, relative: str) -> str: ...

    def direct_path(self, relative: str) -> str:
        """`full_path` of an object the path names itself (no pointer followed)."""
        return self.full_path(relative)

    @abstractmethod
    def uri(self, relative: str) -> str: ...

    def uri_for(self, location: Location) -> str:
        """`location`'s URI (a store resolving paths derives it from the resolved path)."""
        return self.uri(location.relative)

    def storage_options(self) -> dict[str, Any]:
        """Options for libraries that take a URI plus options (deltalake, pandas, xarray)."""
        return {}

    def object_store_options(self) -> dict[str, str]:
        """Options for deltalake (Rust's object_store names: AWS_ENDPOINT_URL, ...)."""
        return {}

    def arrow_filesystem(self) -> Any:
        """A pyarrow filesystem for the same storage (pyarrow's own when it has one)."""
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        return PyFileSystem(FSSpecHandler(self.filesystem))

    def sql_url(self) -> str:
        """The SQLAlchemy URL of the database tables in this store live in."""
        raise StoreError(
            f"store '{self.name}' (type {self.type_name}) cannot hold SQL tables; "
            "use a store with a database"
        )

    def secrets(self) -> tuple[str, ...]:
        """Strings of this store's configuration that must never be shown (passwords in a
        URL read from the environment): scrubbed from every error about its objects."""
        return ()

    def exists(self, location: Location) -> bool:
        """Whether anything is stored at `location`."""
        return self.filesystem.exists(location.path)

    def explain(self, exc: BaseException) -> str:
        """What a storage library's failure on this store's objects says in errors (the
        store's secrets are scrubbed from it afterwards): a store whose client raises
        errors that say little (an HTTP status deep in a chain) says more here."""
        return f"{type(exc).__name__}: {exc}"

    def dagster_resources(self) -> dict[str, Any]:
        """Dagster resources over the same connection, by resource key, for users' own assets
        and sensors (an S3 store's `S3Resource`); none by default."""
        return {}

    def staging_for(self, final: Location, *, one_object: bool) -> Location:
        """Where a value for `final` is written before it is published there (`publish`):
        a hidden sibling by default. `one_object`: the value is one file, not a folder."""
        return final.staging()

    def published_location(self, staged: Location, final: Location) -> Location:
        """Where the value just published from `staged` is (what its report names)."""
        return final

    def staging_name(self, name: str) -> str:
        """The name of a fresh staging sibling of the object `name` (`staging_pattern`)."""
        return f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}-{name}"

    def prepare(self, location: Location) -> None:
        """Make whatever must exist before `location` (or a sibling of it) is written."""

    @abstractmethod
    def publish(self, staged: Location, final: Location) -> None:
        """Make `staged` visible at `final` in one step, replacing any previous value."""

    @abstractmethod
    def remove(self, location: Location) -> None:
        """Delete what is at `location`, file or folder; nothing there is not an error."""

    def fingerprint(self, location: Location) -> str | None:
        """Changes whenever something new is published at `location` (None if absent)."""
        try:
            info = self.filesystem.info(location.path)
        except FileNotFoundError:
            return None
        token = info.get("ETag") or info.get("mtime") or info.get("LastModified")
        return f"{token}-{info.get('size')}" if token is not None else None

    @abstractmethod
    def size(self, location: Location) -> int:
        """Bytes under `location` (a file's size, or the sum over a folder)."""

    def remove_leftovers(self, location: Location, *, older_than: float) -> list[str]:
        """Remove what crashed writes of `location` left beside it (staging siblings) that
        nothing has touched for `older_than` seconds, never a concurrent writer's fresh
        staging; returns what was removed. Stores that stage nothing keep the default."""
        return []

    # -- small objects (manifests, a version's "latest" record) --------------------------

    def read_small(self, relative: str) -> bytes | None:
        """The bytes of the small object at `relative` (a manifest), None when absent."""
        try:
            return self.filesystem.cat_file(self.direct_path(relative))
        except FileNotFoundError:
            return None

    def write_small(self, relative: str, data: bytes, *, exclusive: bool = False) -> bool:
        """Publish `data` at `relative` atomically (readers see the previous bytes or these);
        `exclusive`: only if nothing is there yet, False when something was (never an
        overwrite). Staged and published as any one-object value is."""
        final = self.location(relative, direct=True)
        if exclusive and self.exists(final):
            return False
        self.prepare(final)
        staged = self.staging_for(final, one_object=True)
        staged.store.prepare(staged)
        with staged.store.filesystem.open(staged.path, "wb") as file:
            file.write(data)
        try:
            self.publish(staged, final)
        except BaseException:
            staged.store.remove(staged)
            raise
        return True

    def names_in(self, relative: str) -> list[str]:
        """The names of the objects directly in the folder `relative` (none if absent)."""
        try:
            found = self.filesystem.ls(self.direct_path(relative), detail=False)
        except FileNotFoundError:
            return []
        return sorted(str(path).rstrip("/").rsplit("/", 1)[-1] for path in found)

    def ensure_writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"store '{self.name}' is read-only ({self.type_name}); write to another store"
            )
