"""The one small interface every storage format implements.

A format writes a value to a location and reads it back; it knows nothing of Dagster and
nothing of where the location is. Staging, publishing, error wrapping and metadata are the
caller's job (`datanectar.storage`), so a format module is only the library calls.
"""

from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from ..errors import MissingDependencyError
from ..stores import Location

if TYPE_CHECKING:  # the Table Schema validator owns how stored cells read as text
    from ..checks.tableschema.text_table import TextTable


class Absent(LookupError):
    """What a format whose reads find out themselves whether the object (or partition) is
    there raises when it is not (`Format.reports_absence`)."""


class PendingCommit(Protocol):
    """A write whose data is in place but not committed: readers do not see it yet."""

    def commit(self) -> None: ...

    def discard(self) -> None: ...


class Format(ABC):
    name: ClassVar[str]
    suffix: ClassVar[str]
    """Appended to an entry name to make its default path (`""` for tables)."""
    writes: ClassVar[tuple[str, ...]]
    """What it writes, by qualified type name, for error messages."""
    extra: ClassVar[str | None] = None
    """The pip extra that installs its library (`pip install datanectar[extra]`)."""
    stores_text: ClassVar[bool] = False
    """True when the stored cells are text (csv): a Table Schema judges them as read back."""
    transactional: ClassVar[bool] = False
    """True when the library commits atomically itself, so it writes in place, unstaged."""
    medium: ClassVar[Literal["filesystem", "database"]] = "filesystem"
    reports_absence: ClassVar[bool] = False
    """True when `read` and `read_partition` raise `Absent` for a missing object, so a load
    needs no separate look first (opening a table twice costs twice)."""
    partitions_in_place: ClassVar[bool] = False
    """True for table formats that keep every partition in one table (delta, sql); they
    implement the *_partition methods. Other formats store one object per partition."""

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

    def partition_fingerprint(self, location: Location, partition: Mapping[str, str]) -> str | None:
        """A token that changes whenever that partition is written (and, where the format
        cannot tell partitions apart, whenever the table is): by default the table's."""
        return self.fingerprint(location) if self.exists(location) else None

    def write_partition(
        self,
        value: Any,
        location: Location,
        *,
        options: Mapping[str, Any],
        partition: Mapping[str, str],
        window: tuple[str, str] | None = None,
    ) -> None:
        raise NotImplementedError

    def read_partition(
        self,
        location: Location,
        *,
        options: Mapping[str, Any],
        as_type: Any,
        partition: Mapping[str, str],
        window: tuple[str, str] | None = None,
    ) -> Any:
        raise NotImplementedError

    def partition_exists(
        self,
        location: Location,
        partition: Mapping[str, str],
        *,
        window: tuple[str, str] | None = None,
    ) -> bool:
        raise NotImplementedError

    def remove_leftovers(
        self,
        location: Location,
        *,
        older_than: float,
        partition: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Remove what crashed writes left inside the object at `location` (a table folder)
        and nothing has touched for `older_than` seconds; `partition`: the write is of that
        partition only. Formats whose writes are staged beside the object by the store have
        nothing inside it to remove."""
        return []

    def splits_writes(self, options: Mapping[str, Any]) -> bool:
        """Whether a transactional format can write with these options now and commit later
        (`write_uncommitted`); file formats are staged and published by the caller instead."""
        return False

    def write_uncommitted(
        self, value: Any, location: Location, *, options: Mapping[str, Any]
    ) -> PendingCommit:
        """Write the value's data where a later commit finds it, invisible to readers until
        then (only where `splits_writes`)."""
        raise NotImplementedError

    def written_text(self, value: Any, *, options: Mapping[str, Any]) -> TextTable | None:
        """The table as its stored cells will read, every cell a string, with its header row
        as written: what a validator that reads text (frictionless on a CSV) judges. None for
        formats that store typed values, which are judged as they are."""
        return None

    def read_text(self, location: Location, *, options: Mapping[str, Any]) -> TextTable | None:
        """The stored table's cells as text, with its header row verbatim (see `written_text`)."""
        return None

    def partitions_in_place_for(self, dimensions: Sequence[Any], path: str) -> bool:
        """Whether an entry with these namespace dimensions and path keeps its partitions in
        one object; the class's `partitions_in_place` unless a format decides per entry."""
        return self.partitions_in_place

    def check_path(self, relative: str) -> None:
        """Raise ValueError when `relative` cannot name an object of this format."""

    def load_option_names(self) -> frozenset[str] | None:
        """Names `load_options` may use; None accepts any."""
        return None

    def save_option_names(self) -> frozenset[str] | None:
        """Names `save_options` may use; None accepts any."""
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
