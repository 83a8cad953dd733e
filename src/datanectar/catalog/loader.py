"""Catalog files to entries: render, parse, validate, and report every problem precisely."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import CatalogError, CatalogErrors, did_you_mean, field_path
from .models import Entry, EntryFields, field_names
from .render import parse_yaml, render
from .rules import RULES, Rule

_SUFFIXES = (".yaml", ".yml")


def catalog_files(catalog_path: Path) -> list[Path]:
    """A single file, or every *.yaml / *.yml below a folder, in a stable order."""
    if catalog_path.is_file():
        return [catalog_path]
    if catalog_path.is_dir():
        return sorted(p for p in catalog_path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
    raise CatalogError(
        file=catalog_path,
        problem="the catalog path does not exist.",
        fix="create it, or point [tool.datanectar] catalog at your catalog file or folder.",
    )


def load_catalog(
    catalog_path: Path, *, variables: Mapping[str, Any], project_root: Path
) -> dict[str, Entry]:
    """Every entry of every catalog file; all problems are raised together as CatalogErrors."""
    read = read_catalog(catalog_path, variables=variables, project_root=project_root)
    if read.errors:
        raise read.errors[0] if len(read.errors) == 1 else CatalogErrors(read.errors)
    return read.entries


@dataclass(frozen=True)
class ReadCatalog:
    """What the catalog files declare: the entries that parsed, and every problem found."""

    entries: dict[str, Entry]
    errors: list[CatalogError]

    @property
    def broken(self) -> set[str]:
        """Names of entries that were declared but did not parse: what names them is not
        also wrong (`datanectar catalog validate` resolves the rest)."""
        return {error.entry for error in self.errors if error.entry is not None}


def read_catalog(
    catalog_path: Path, *, variables: Mapping[str, Any], project_root: Path
) -> ReadCatalog:
    """Every entry of every catalog file that parses, and the problems of the others (each
    file is read to its end, every file is read)."""
    entries: dict[str, Entry] = {}
    errors: list[CatalogError] = []
    for file in catalog_files(catalog_path):
        display = _display(file, project_root)
        try:
            for entry in _entries_in_file(file, display, variables):
                if entry.name in entries:
                    first = entries[entry.name].source
                    errors.append(
                        CatalogError(
                            file=display,
                            entry=entry.name,
                            problem=f"entry '{entry.name}' is declared twice: in {first} and in {display}.",
                            fix="rename one of them; entry names are unique across catalog files.",
                        )
                    )
                    continue
                entries[entry.name] = entry
        except CatalogError as exc:  # one entry's several problems are listed one by one
            errors.extend(flat_errors([exc]))
    return ReadCatalog(entries, errors)


def flat_errors(errors: Iterable[CatalogError]) -> list[CatalogError]:
    """Single errors, those grouped in `CatalogErrors` (at any depth) taken out of the group."""
    found: list[CatalogError] = []
    for error in errors:
        if isinstance(error, CatalogErrors):
            found.extend(flat_errors(error.errors))
        else:
            found.append(error)
    return found


def _entries_in_file(file: Path, display: str, variables: Mapping[str, Any]) -> Iterator[Entry]:
    text = render(file, file.read_text(encoding="utf-8"), variables, display=display)
    document = parse_yaml(text, display=display, stage=" after Jinja2 rendering")
    if document is None:
        return
    if not isinstance(document, dict):
        raise CatalogError(
            file=display,
            problem=f"a catalog file is a mapping from entry name to entry, got a {type(document).__name__}.",
            fix="write 'name:' at the start of a line, then the entry's fields indented below it.",
        )
    errors: list[CatalogError] = []
    for name, body in document.items():
        try:
            yield parse_entry(str(name), body, display=display)
        except CatalogError as exc:
            errors.append(exc)
    if errors:
        raise CatalogErrors(errors)


def parse_entry(name: str, body: Any, *, display: str | None) -> Entry:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise CatalogError(
            file=display,
            entry=name,
            problem=f"an entry is a mapping of fields, got a {type(body).__name__}.",
        )
    try:
        fields = EntryFields.model_validate(body)
        return Entry(name=name, source=display, **fields.model_dump(exclude_unset=True))
    except ValidationError as exc:
        raise _as_catalog_error(exc, name=name, display=display) from None


def _as_catalog_error(exc: ValidationError, *, name: str, display: str | None) -> CatalogError:
    problems = []
    for error in exc.errors():
        location = error["loc"]
        field = field_path(location) or None
        message = error["msg"].removeprefix("Value error, ")
        fix = ""
        if error["type"] == "extra_forbidden":
            message = _unknown_key(location)
        elif location and location[0] == "dialect":
            from ..formats.csv_dialect_errors import dialect_problem

            problem, fix = dialect_problem(location, error.get("input"), message)
            message = problem.removesuffix(".")
        problems.append(
            CatalogError(
                file=display,
                entry=name,
                field=field,
                problem=message if message.endswith((".", "?")) else message + ".",
                fix=fix,
            )
        )
    return problems[0] if len(problems) == 1 else CatalogErrors(problems)


def _unknown_key(location: tuple[str | int, ...]) -> str:
    """What an unknown key should have been: an entry field, or (inside `checks:`) a rule or
    a rule's setting."""
    given = str(location[-1])
    if len(location) == 3 and location[0] == "checks":
        settings = [name for name in Rule.model_fields if name not in RULES]
        return (
            f"unknown rule '{given}'.{did_you_mean(given, [*RULES, *settings])} The rules are "
            f"{', '.join(RULES)}; a check may also set {', '.join(settings)}"
        )
    if len(location) == 2 and location[0] == "dialect":
        from ..formats.csv_dialect import dialect_names

        if given == "encoding":
            return (
                "unknown key 'encoding': a Table Dialect has no encoding (frictionless keeps it "
                "on the resource). Pin it with load_options.encoding (and save_options.encoding "
                "for a produced entry)"
            )
        return (
            f"unknown key '{given}'.{did_you_mean(given, dialect_names())} A Table Dialect's "
            f"keys are {', '.join(dialect_names())}"
        )
    if len(location) == 1:
        return (
            f"unknown field '{given}'.{did_you_mean(given, field_names())} An entry's fields "
            f"are {', '.join(field_names())}"
        )
    return f"unknown key '{given}'"


def _display(file: Path, project_root: Path) -> str:
    try:
        return str(file.resolve().relative_to(project_root.resolve()))
    except ValueError:
        return str(file)
