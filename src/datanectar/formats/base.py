"""The one small interface every storage format implements.

A format writes a value to a location and reads it back; it knows nothing of Dagster and
nothing of where the location is. Staging, publishing, error wrapping and metadata are the
caller's job (`datanectar.storage`), so a format module is only the library calls.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from ..errors import MissingDependencyError
from ..stores import Location

if TYPE_CHECKING:
    # The Table Schema validator owns how stored cells read as text.
    from ..checks.tableschema.text_table import TextTable
    from ..targets import Slice


class Absent(LookupError):
    """What a format whose reads find out themselves whether the object (or partition) is
    there raises when it is not (`Format.reports_absence`)."""


class Unfinished(Absent):
    """A partition whose write began and never finished (a killed write): it is absent, and
    the message says so (the storage layer names the entry)."""


class Refused(ValueError):
    """A value a format cannot store without losing part of it, found while writing (against
    what is stored already); nothing is written. The storage layer names the entry."""


class PendingCommit(Protocol):
    """A write whose data is in place but not committed: readers do not see it yet."""

    def commit(self) -> None: ...

    def discard(self) -> None: ...


@runtime_checkable
class PartitionsInPlace(Protocol):
    """A format that can keep every namespace of an entry in one object (a delta or sql table,
    one zarr store along time) and read and write one namespace there. Formats without it
    store one object per namespace, at the path the namespace keys fill in."""

    def keeps_partitions_in_place(self, dimensions: Sequence[Any], path: str) -> bool:
        """Whether an entry with these namespace dimensions and path keeps them in one object."""
        ...

    def write_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> None: ...

    def read_partition(
        self, location: Location, part: Slice, *, options: Mapping[str, Any], as_type: Any
    ) -> Any: ...

    def partition_exists(self, location: Location, part: Slice) -> bool: ...

    def remove_partition(self, location: Location, part: Slice) -> None:
        """Delete that namespace from the object, the others untouched (absent: no error)."""
        ...

    def partition_fingerprint(self, location: Location, part: Slice) -> str | None:
        """A token that changes whenever that namespace is written (where the format cannot
        tell namespaces apart, whenever the object is)."""
        ...


@runtime_checkable
class PartitionsByKey(Protocol):
    """A format keeping namespaces in place that removes, in one transaction, every namespace
    whose keys include some (`{"scenario": "base"}` of a `scenario`, `date` table, whatever its
    date): a key of a dynamic namespace goes without listing the other dimension's keys."""

    def remove_partitions_with(self, location: Location, keys: Mapping[str, str]) -> bool:
        """Delete every namespace whose keys include `keys`, the others untouched; whether
        there was any (absent object: False, no error)."""
        ...


@runtime_checkable
class PartitionBatches(Protocol):
    """A format keeping namespaces in place that can commit several namespaces' writes as one
    transaction: a run writing many namespaces publishes all of them or none."""

    def stage_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> PendingCommit:
        """Write one namespace's data where no reader sees it yet (`write_partition`, not
        committed); raising stages nothing."""
        ...

    def commit_partitions(self, location: Location, pending: Sequence[PendingCommit]) -> None:
        """Commit namespaces staged by `stage_partition` at `location`, in one transaction."""
        ...


@runtime_checkable
class SplitCommits(Protocol):
    """A transactional format that can write a value's data now and commit it later, so that
    an audit decides in between (write-audit-publish without a staged copy)."""

    def splits_writes(self, options: Mapping[str, Any]) -> bool:
        """Whether a write with these options can be split (else it is written in one go)."""
        ...

    def write_uncommitted(
        self, value: Any, location: Location, *, options: Mapping[str, Any]
    ) -> PendingCommit:
        """Write the value's data where a later commit finds it, invisible to readers."""
        ...


@runtime_checkable
class TableVersions(Protocol):
    """A format whose objects keep versions of their own (a Delta table's commits): read as
    they were at one, listed, and the latest known, so a materialization records the version
    it committed."""

    def read_version(
        self, location: Location, version: Any, *, options: Mapping[str, Any], as_type: Any = None
    ) -> Any:
        """The object as it was at `version` (a number, or a timestamp); one it does not have
        is a DataNotFoundError naming those it has."""
        ...

    def history(self, location: Location, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Its versions, newest first, each with at least `version` and `timestamp`."""
        ...

    def current_version(self, location: Location) -> int | None:
        """Its latest version (None: nothing there)."""
        ...


@runtime_checkable
class TextCells(Protocol):
    """A format whose stored cells are text (csv): a Table Schema judges them as they read
    back, as frictionless reading the file would, not as the typed value written."""

    def written_text(self, value: Any, *, options: Mapping[str, Any]) -> TextTable:
        """The table as its stored cells will read, every cell a string, with its header row
        as written."""
        ...

    def read_text(self, location: Location, *, options: Mapping[str, Any]) -> TextTable:
        """The stored table's cells as text, with its header row verbatim."""
        ...

    def written_value(
        self, value: Any, *, save_options: Mapping[str, Any], load_options: Mapping[str, Any]
    ) -> Any:
        """The value as `read` will give it back once written: its cells typed anew."""
        ...


@runtime_checkable
class TableDialects(Protocol):
    """A format whose files carry a Table Dialect (csv): an entry's `dialect` pins how its
    cells are delimited, quoted, headed and commented; what it leaves out is detected in a
    file nothing produces, as frictionless detects it."""

    def with_dialect(
        self, dialect: Any, *, detect: bool, field_names: Sequence[str] | None = None
    ) -> Format:
        """The format as one entry reads and writes it (`field_names`: its Table Schema's,
        which name a headerless file's columns)."""
        ...


def capable(fmt: Format, protocol: type) -> bool:
    """Whether a format has a capability (one of the protocols above), asked of its class once:
    an `isinstance` check against a runtime-checkable protocol walks its members each time."""
    return _class_has(type(fmt), protocol)


@functools.cache
def _class_has(cls: type, protocol: type) -> bool:
    return issubclass(cls, protocol)


class Format(ABC):
    name: ClassVar[str]
    suffix: ClassVar[str]
    """Appended to an entry name to make its default path (`""` for tables)."""
    writes: ClassVar[tuple[str, ...]]
    """What it writes, by qualified type name, for error messages."""
    extra: ClassVar[str | None] = None
    """The pip extra that installs its library (`pip install datanectar[extra]`)."""
    transactional: ClassVar[bool] = False
    """True when the library commits atomically itself, so it writes in place, unstaged."""
    one_object: ClassVar[bool] = True
    """Whether a value is one object (a file), not a folder of them (a zarr store): an object
    store uploads one object in one request, visible whole or not at all."""
    reads_local_copies: ClassVar[bool] = False
    """True when `read` from a remote store gives a copy on this machine's disk (a
    `pathlib.Path`, as `files` does): a version is then verified from that copy, its bytes
    fetched once."""
    medium: ClassVar[Literal["filesystem", "database"]] = "filesystem"
    reports_absence: ClassVar[bool] = False
    """True when `read` and `read_partition` raise `Absent` for a missing object, so a load
    needs no separate look first (opening a table twice costs twice)."""
    data_kind: ClassVar[Literal["table", "grid", "any"]] = "any"
    """What it stores, for the rules that apply to a kind of data (a row count to tables)."""

    @abstractmethod
    def accepts(self, value: Any) -> bool: ...

    @abstractmethod
    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def read(
        self, location: Location, *, options: Mapping[str, Any], as_type: Any = None
    ) -> Any: ...

    def exists(self, location: Location) -> bool:
        return location.exists()

    def remove(self, location: Location) -> None:
        location.store.remove(location)

    def written_bytes(self, location: Location) -> int | None:
        return location.store.size(location)

    def describe_location(self, location: Location) -> str:
        return location.uri

    def fingerprint(self, location: Location) -> str | None:
        """A cheap token that changes whenever a new value is published at `location`.

        Used to tell whether an upstream object changed since a cached result read it; None
        when the medium offers no cheap token (the object then never counts as changed).
        """
        return location.store.fingerprint(location)

    def remove_leftovers(
        self,
        location: Location,
        *,
        older_than: float,
        part: Slice | None = None,
    ) -> list[str]:
        """Remove what crashed writes left inside the object at `location` (a table folder)
        and nothing has touched for `older_than` seconds; `part`: the write is of that
        namespace only. Formats whose writes are staged beside the object by the store have
        nothing inside it to remove."""
        return []

    def keyed_path(self, path: str, key: str) -> str:
        """Where the object keyed `key` (one cached call's result: a '/'-separated key) lives
        beside the entry's object at `path`: a folder named after the object's stem."""
        name = path.rsplit("/", 1)[-1]
        stem, dot, suffix = path.rpartition(".") if "." in name else (path, "", "")
        return f"{stem}/{key}{dot}{suffix}"

    def check_path(self, relative: str) -> None:
        """Raise ValueError when `relative` cannot name an object of this format."""

    drops_index: ClassVar[bool] = False
    """True for a table format that writes a DataFrame's columns only (unless its `index`
    save option says otherwise): an index that holds data is then refused, never dropped."""

    def refusal(self, value: Any, *, options: Mapping[str, Any]) -> str | None:
        """Why this format cannot store `value` without losing part of it, or None (a table
        with no columns, an index it would drop); checked before anything is written."""
        if self.data_kind != "table":
            return None
        from .table_values import refusal

        return refusal(value, drops_index=self.drops_index, options=options)

    def load_option_names(self) -> frozenset[str] | None:
        """Names `load_options` may use; None accepts any."""
        return None

    def save_option_names(self) -> frozenset[str] | None:
        """Names `save_options` may use; None accepts any."""
        return None


def unknown_option(
    fmt: Format, *, load_options: Mapping[str, Any], save_options: Mapping[str, Any]
) -> tuple[str, str, frozenset[str]] | None:
    """The first option `fmt` does not take, as (`load_options` or `save_options`, its name,
    the names the format takes), or None: checked wherever options are given (an entry, an
    IO manager)."""
    for field, given, allowed in (
        ("load_options", load_options, fmt.load_option_names()),
        ("save_options", save_options, fmt.save_option_names()),
    ):
        unknown = sorted(set(given) - allowed) if allowed is not None else []
        if unknown:
            return field, unknown[0], allowed
    return None


def require(module: str, *, extra: str | None, purpose: str) -> Any:
    """Import an optional library, or say which pip extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = f"pip install 'datanectar[{extra}]'" if extra else f"pip install {module}"
        raise MissingDependencyError(
            f"{purpose} needs the '{module}' package, which is not installed. Fix: {hint}"
        ) from exc


def parameter_names(function: Callable[..., Any], *, exclude: Iterable[str] = ()) -> frozenset[str]:
    """Keyword names a library function takes, so option typos fail at catalog load."""
    names = {
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }
    return frozenset(names - set(exclude) - {"self"})


def qualified_type_name(value_or_type: Any) -> str:
    cls = value_or_type if isinstance(value_or_type, type) else type(value_or_type)
    module = cls.__module__.split(".")[0]
    return f"{module}.{cls.__qualname__}"


def wants(as_type: Any, *qualified_names: str) -> bool:
    """Whether a requested load type (a type, or its qualified name as Dagster metadata carries
    it) is one of the named ones, without importing their modules."""
    if isinstance(as_type, str):
        return as_type in qualified_names
    if not isinstance(as_type, type):
        return False
    return any(
        f"{klass.__module__.split('.')[0]}.{klass.__qualname__}" in qualified_names
        for klass in as_type.__mro__
    )
