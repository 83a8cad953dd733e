"""The errors datanectar raises.

Every error names the object it is about (catalog file, entry, field), what was expected, and
how to fix it, so that a user reading a failed Dagster run knows where to look without a
traceback.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic.fields import FieldInfo


class DatanectarError(Exception):
    """Base of every error datanectar raises on purpose."""


class ConfigError(DatanectarError):
    """The project configuration (`[tool.datanectar]` in pyproject.toml) is invalid."""

    def __init__(self, *, file: Path | str, field: str, problem: str, fix: str = "") -> None:
        self.file = str(file)
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(_compose(f"{self.file}: field '{field}'", problem, fix))


class CatalogError(DatanectarError):
    """A catalog file or entry is invalid."""

    def __init__(
        self,
        *,
        file: Path | str | None,
        problem: str,
        entry: str | None = None,
        field: str | None = None,
        line: int | None = None,
        fix: str = "",
    ) -> None:
        self.file = str(file) if file is not None else None
        self.entry = entry
        self.field = field
        self.line = line
        self.problem = problem
        self.fix = fix
        where = [self.file or "<catalog>"]
        if line is not None:
            where[0] += f", line {line}"
        if entry is not None:
            where.append(f"entry '{entry}'")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(_compose(": ".join(where), problem, fix))


class CatalogErrors(CatalogError):
    """Several catalog errors found in one pass, reported together."""

    def __init__(self, errors: Iterable[CatalogError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        DatanectarError.__init__(
            self, f"{len(self.errors)} catalog errors:\n" + "\n".join(f"- {e}" for e in self.errors)
        )
        self.file, self.entry, self.field, self.line = first.file, first.entry, first.field, None
        self.problem, self.fix = first.problem, first.fix


class StoreError(DatanectarError):
    """A location cannot be resolved or used in a store (escape, missing store, read-only...)."""


class StoreAccessError(StoreError):
    """A store that cannot be reached or read: no bucket, access denied, no endpoint."""


class PluginError(DatanectarError):
    """A format or store plug-in that cannot be used as installed."""


class FormatTypeError(DatanectarError, TypeError):
    """A value of a type the entry's format cannot write."""


class UnknownEntryError(DatanectarError, KeyError):
    """A name that is not a catalog entry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class NamespaceKeyError(DatanectarError, ValueError):
    """A namespace key that could escape a store root or break a predicate."""


class DataNotFoundError(DatanectarError, LookupError):
    """An entry has no stored data yet."""


class UnknownVersionError(DataNotFoundError):
    """A version (a label, a table version) an entry does not have."""


class StorageIOError(DatanectarError):
    """Writing or reading an entry failed inside the storage library."""


class VersionError(DatanectarError):
    """A version of a versioned entry that cannot be written or read as asked."""


class VersionExistsError(VersionError):
    """A version label that exists already (or is being written): a version is never
    overwritten."""


class VersionMismatchError(VersionError, StorageIOError):
    """A stored version whose bytes are not those its manifest lists (a file changed,
    missing or added)."""


class CheckFailedError(DatanectarError):
    """A value failed a blocking check: it was not published, and is kept in quarantine."""

    def __init__(
        self, message: str, *, entry: str, verdicts: list[Any], quarantine: str | None
    ) -> None:
        super().__init__(message)
        self.entry = entry
        self.verdicts = verdicts
        """The failed blocking checks (`check`, `blocking`, `result` with its failures)."""
        self.quarantine = quarantine


class CheckWarning(UserWarning):
    """A warn-level check failed on a value that was published all the same."""


class MissingDependencyError(DatanectarError, ImportError):
    """An optional library a format or store needs is not installed."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """ " Did you mean 'x'?" when a known name is close to a mistyped one, else ""."""
    close = difflib.get_close_matches(str(name), list(choices), n=3, cutoff=0.75)
    if not close:
        return ""
    return " Did you mean " + " or ".join(f"'{match}'" for match in close) + "?"


def field_path(location: Iterable[str | int]) -> str:
    """A pydantic error location as the catalog reference writes it: `checks[0].row_count`."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def written_location(
    model: type[BaseModel], location: tuple[str | int, ...]
) -> tuple[list[str | int], type[BaseModel]]:
    """A pydantic error location as the user wrote it, and the model whose key its last part
    names: without the tags pydantic adds for the member of a union it tried (the store config
    error at `stores.db.sql.url_env` is at `stores.db.url_env` in pyproject.toml)."""
    path: list[str | int] = []
    holder: type[BaseModel] = model
    current: Any = model
    tag_key: str | None = None
    for part in location:
        current, tag_key = _unwrapped(current, tag_key)
        members = _union_members(current, tag_key)
        if members:
            current, tag_key = members.get(str(part)), None
            continue
        path.append(part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            holder = current
            field = current.model_fields.get(str(part))
            current = field.annotation if field else None
            tag_key = _tag_key([field, *field.metadata]) if field else None
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            current = None
    return path, holder


def _unwrapped(annotation: Any, tag_key: str | None) -> tuple[Any, str | None]:
    """The type inside `Annotated[...]` and `X | None`, with the union's discriminating key."""
    while get_origin(annotation) is Annotated:
        annotation, *metadata = get_args(annotation)
        tag_key = _tag_key(metadata) or tag_key
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _unwrapped(members[0], tag_key)
    return annotation, tag_key


def _tag_key(metadata: list[Any]) -> str | None:
    """The key a `Field(discriminator="type")` (on a field, or in `Annotated`) tells union
    members apart by, if any."""
    for item in metadata:
        if isinstance(item, FieldInfo) and isinstance(item.discriminator, str):
            return item.discriminator
    return None


def _union_members(annotation: Any, tag_key: str | None) -> dict[str, Any]:
    """A union's members by the tag pydantic names them with in error locations."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return {}
    members: dict[str, Any] = {}
    for member in get_args(annotation):
        tags: list[Any] = []
        while get_origin(member) is Annotated:
            member, *metadata = get_args(member)
            tags += [item.tag for item in metadata if isinstance(item, Tag)]
        if isinstance(member, type) and issubclass(member, BaseModel):
            tags.append(member.__name__)
            field = member.model_fields.get(tag_key or "")
            if field is not None and get_origin(field.annotation) is Literal:
                tags += get_args(field.annotation)
        members.update({str(tag): member for tag in tags})
    return members


def _compose(where: str, problem: str, fix: str) -> str:
    message = f"{where}: {problem}"
    if fix:
        message += f" Fix: {fix}"
    return message
