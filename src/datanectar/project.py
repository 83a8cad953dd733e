"""A project's catalog, bound to the functions that produce its entries, usable without Dagster.

`datanectar.catalog()` gives a `Catalog`: load and save entries from a notebook with exactly the
code the IO managers use. `datanectar.definitions()` builds the Dagster side from the same object.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .catalog import Entry, load_catalog, load_variables
from .catalog.namespaces import check_key
from .catalog.rules import RULES
from .catalog.time_keys import check_declared
from .config import PROJECT_ENV, ProjectConfig, find_pyproject, load_project
from .errors import (
    CatalogError,
    CatalogErrors,
    ConfigError,
    DatanectarError,
    DataNotFoundError,
    UnknownEntryError,
    did_you_mean,
)
from .formats import default_format_for, format_class, format_names, get_format
from .partitions import Partition, keeps_in_place, placeholders, target_for
from .producers import Producer, producer_of, producers_in
from .storage import EntryStorage, WriteReport
from .stores import Location, Store
from .targets import Target

CONTEXT_PARAMETER = "context"


class Catalog:
    """The entries of a project and where each one lives."""

    def __init__(
        self,
        config: ProjectConfig,
        entries: Mapping[str, Entry],
        producers: Mapping[str, Producer],
        stores: Mapping[str, Store],
    ) -> None:
        self.config = config
        self.entries: dict[str, Entry] = dict(entries)
        self.producers: dict[str, Producer] = dict(producers)
        self.stores: dict[str, Store] = dict(stores)
        self.storage = EntryStorage(stores)
        self.levels: dict[str, Any] = {}
        """The cache levels of each store (memo, local, root, mirrors), built on first use."""

    @classmethod
    def open(
        cls,
        project: Path | str | None = None,
        *,
        functions: Iterable[Callable[..., Any]] | None = None,
        modules: Iterable[str] | None = None,
    ) -> Catalog:
        """Read the project's configuration and catalog and bind its producing functions.

        `functions` adds decorated functions directly (tests, notebooks); `modules` replaces the
        configured `modules` list.
        """
        config = load_project(project)
        settings = config.settings
        declared = load_catalog(
            config.path(settings.catalog),
            variables=load_variables(
                config.path(settings.configuration) if settings.configuration else None
            ),
            project_root=config.root,
        )
        producers = _import_producers(
            config, settings.modules if modules is None else list(modules)
        )
        for function in functions or ():
            producer = producer_of(function)
            if producer is None:
                raise DatanectarError(
                    f"{function!r} is not decorated with @datanectar.asset or @datanectar.cache."
                )
            producers.append(producer)
        stores = config.open_stores()
        entries, bound = _bind(config, stores, declared, producers)
        return cls(config, entries, bound, stores)

    # -- lookup ---------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, name: str) -> Entry:
        try:
            return self.entries[name]
        except KeyError:
            raise UnknownEntryError(
                f"no catalog entry named '{name}'.{did_you_mean(name, self.entries)} Entries: "
                f"{', '.join(sorted(self.entries)) or '(none)'}."
            ) from None

    def entry_for(self, producer: Producer) -> Entry:
        """The entry a function produces: its catalog entry, or an implicit one."""
        entry = self.entries.get(producer.entry)
        if entry is not None:
            return entry
        return _complete(self.config, self.stores, _implicit_entry(producer), producer)

    @contextmanager
    def activate(self) -> Iterator[Catalog]:
        """Make this the catalog that cached functions called in this context use."""
        token = _active.set(self)
        try:
            yield self
        finally:
            _active.reset(token)

    def location(self, name: str) -> Location:
        return self.storage.location(Target.of(self.entry(name)))

    # -- data -----------------------------------------------------------------------------

    def load(
        self, name: str, *, namespace: str | Partition | None = None, as_type: Any = None
    ) -> Any:
        """The stored value of an entry (one namespace of a partitioned one), as `as_type`
        where the format offers several."""
        try:
            return self.storage.load(self._target(name, namespace), as_type=as_type)
        except DataNotFoundError as exc:
            producer = self.producers.get(name)
            if producer is None or producer.cached is None or not producer.cache_args:
                raise
            raise DataNotFoundError(
                f"{str(exc).split(' Fix: ')[0]} Entry '{name}' is produced by "
                f"{producer.qualified_name}, whose results are stored one per set of cache "
                f"arguments ({', '.join(producer.cache_args)}), beside its path, not at it. "
                f"Fix: call {producer.function.__name__}(...) with the arguments you want: a "
                "plain call recalls a stored result without computing it again."
            ) from None

    def save(
        self, name: str, value: Any, *, namespace: str | Partition | None = None
    ) -> WriteReport:
        """Store a value as the entry (one namespace of a partitioned one), atomically, once
        the entry's checks pass: a blocking failure raises `CheckFailedError` and publishes
        nothing (the value goes to quarantine, the previous one stays); a failed warn-level
        check gives a `CheckWarning`."""
        from .publishing import enforce, plain_tag, publish

        target = self._target(name, namespace)
        return enforce(publish(self, self.entry(name), value, target=target, tag=plain_tag()))

    def exists(self, name: str, *, namespace: str | Partition | None = None) -> bool:
        return self.storage.exists(self._target(name, namespace))

    def _target(self, name: str, namespace: str | Partition | None) -> Target:
        entry = self.entry(name)
        keys = namespace_keys(entry, namespace)
        for name, key in (keys or {}).items():  # keys that could escape are refused first
            check_key(key, where=f"{_where(entry)}, dimension '{name}'")
        if keys:
            check_declared(_where(entry), entry.namespaces or [], keys)
        return target_for(entry, keys)


def namespace_keys(entry: Entry, namespace: str | Partition | None) -> dict[str, str] | None:
    """A plain call's `namespace=`: a key (one dimension), or a mapping of keys by dimension."""
    if namespace is None:
        return None
    if isinstance(namespace, str):
        names = [dimension.name for dimension in entry.namespaces or []]
        if len(names) != 1:
            raise DatanectarError(
                f"entry '{entry.name}' has {len(names)} namespace dimensions"
                f"{' (' + ', '.join(names) + ')' if names else ''}; pass namespace={{dimension: key}}."
            )
        return {names[0]: namespace}
    return dict(namespace)


def catalog(
    project: Path | str | None = None, *, functions: Iterable[Callable[..., Any]] | None = None
) -> Catalog:
    """Open the project's catalog (found from the working directory, or the path given)."""
    return Catalog.open(project, functions=functions)


_active: ContextVar[Catalog | None] = ContextVar("datanectar_active_catalog", default=None)
_opened: dict[Path, Catalog] = {}
_found: dict[tuple[str, str | None], Path] = {}


def active_catalog() -> Catalog:
    """The catalog cached functions use: the activated one, else the project's found from the
    environment (opened once per process and project)."""
    active = _active.get()
    if active is not None:
        return active
    # Which project a plain call means depends on where it runs and on DATANECTAR_PROJECT,
    # nothing else: found once for each, not on every call.
    here = (os.getcwd(), os.environ.get(PROJECT_ENV))
    pyproject = _found.get(here)
    if pyproject is None:
        pyproject = _found[here] = find_pyproject()
    if pyproject not in _opened:
        _opened[pyproject] = Catalog.open(pyproject)
    return _opened[pyproject]


def _import_producers(config: ProjectConfig, module_names: list[str]) -> list[Producer]:
    # Project modules (demo.pipelines, ...) are imported from the project root, as a script
    # run from there would import them.
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    producers: list[Producer] = []
    for index, module_name in enumerate(module_names):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                file=config.pyproject,
                field=f"tool.datanectar.modules[{index}]",
                problem=f"module '{module_name}' could not be imported: {exc}.",
                fix="check the module name and that it is importable from the project root.",
            ) from exc
        producers.extend(producers_in(module))
    return producers


def _bind(
    config: ProjectConfig,
    stores: Mapping[str, Store],
    declared: Mapping[str, Entry],
    producers: list[Producer],
) -> tuple[dict[str, Entry], dict[str, Producer]]:
    """Complete each entry (format, path, store) and pair it with its producing function."""
    errors: list[CatalogError] = []
    bound: dict[str, Producer] = {}
    for producer in producers:
        other = bound.get(producer.entry)
        if other is not None and other.function is not producer.function:
            errors.append(
                CatalogError(
                    file=declared[producer.entry].source if producer.entry in declared else None,
                    entry=producer.entry,
                    problem=f"two functions produce it: {other.qualified_name} and {producer.qualified_name}.",
                    fix="keep one, or bind the other to another entry with entry='...'.",
                )
            )
        bound[producer.entry] = producer

    entries: dict[str, Entry] = {}
    broken: set[str] = set()
    for name in [*declared, *(p for p in bound if p not in declared)]:
        try:
            entry = declared.get(name) or _implicit_entry(bound[name])
            entries[name] = _complete(config, stores, entry, bound.get(name))
        except CatalogError as exc:
            errors.append(exc)
            broken.add(name)
    for producer in bound.values():
        declared_in = declared[producer.entry].source if producer.entry in declared else None
        # A parameter naming a broken entry is that entry's error, reported once above.
        errors.extend(_parameter_errors(producer, entries, declared_in, known=broken))
        errors.extend(_uses_errors(producer, entries, declared_in, known=broken))
    if errors:
        raise errors[0] if len(errors) == 1 else CatalogErrors(errors)
    return entries, bound


def _implicit_entry(producer: Producer) -> Entry:
    """The entry of a function that no catalog file declares."""
    try:
        return Entry(name=producer.entry, description=producer.description, group=producer.group)
    except ValidationError as exc:
        raise CatalogError(
            file=None,
            entry=producer.entry,
            field=".".join(str(part) for part in exc.errors()[0]["loc"]),
            problem=f"{producer.qualified_name}: {exc.errors()[0]['msg']}.",
        ) from None


def _complete(
    config: ProjectConfig, stores: Mapping[str, Store], entry: Entry, producer: Producer | None
) -> Entry:
    def error(field: str, problem: str, fix: str = "") -> CatalogError:
        return CatalogError(
            file=entry.source, entry=entry.name, field=field, problem=problem, fix=fix
        )

    if producer and producer.format and entry.format and producer.format != entry.format:
        raise error(
            "format",
            f"the catalog says '{entry.format}' but {producer.qualified_name} says '{producer.format}'.",
            "state the format in one place.",
        )
    fmt = entry.format or (producer and producer.format)
    if not fmt and producer:
        fmt = default_format_for(producer.return_annotation())
    if not fmt:
        raise error(
            "format",
            "no format given, and no function produces this entry to infer one from.",
            f"add 'format: NAME', one of {', '.join(format_names())}.",
        )
    store = entry.store or config.settings.default_store
    if store not in stores:
        raise error(
            "store",
            f"store '{store}' is not configured.{did_you_mean(store, stores)} Stores: "
            f"{', '.join(sorted(stores))}.",
            f"add [tool.datanectar.stores.{store}] to {config.pyproject.name}, or use a configured store.",
        )
    format_ = get_format(fmt)
    if format_.medium == "filesystem" and not stores[store].holds_files:
        raise error(
            "store",
            f"store '{store}' is a database and cannot hold '{fmt}' files.",
            "use format 'sql' for this entry, or a file store.",
        )
    path = entry.path or f"{entry.name}{format_.suffix}"
    try:
        format_.check_path(path)
    except ValueError as exc:
        raise error("path", f"{exc}.") from None
    for field, given, allowed in (
        ("load_options", entry.load_options, format_.load_option_names()),
        ("save_options", entry.save_options, format_.save_option_names()),
    ):
        unknown = sorted(set(given) - allowed) if allowed is not None else []
        if unknown:
            raise error(
                f"{field}.{unknown[0]}",
                f"format '{fmt}' has no option '{unknown[0]}'.{did_you_mean(unknown[0], allowed)}",
                f"use one of: {', '.join(sorted(allowed)) or '(none)'}.",
            )
    if producer is not None and (producer.checks or producer.schema is not None):
        if producer.schema is not None and entry.schema_ is not None:
            raise error(
                "schema",
                f"both the catalog and {producer.qualified_name} give a schema.",
                "state the schema in one place.",
            )
        entry = entry.model_copy(
            update={
                "checks": [*entry.checks, *producer.checks],
                "schema_": entry.schema_ if entry.schema_ is not None else producer.schema,
            }
        )
    if producer is not None and producer.namespaces:
        if entry.namespaces and list(entry.namespaces) != list(producer.namespaces):
            raise error(
                "namespaces",
                f"the catalog and {producer.qualified_name} declare different namespaces.",
                "declare them in one place.",
            )
        entry = entry.model_copy(update={"namespaces": list(producer.namespaces)})
    _check_rules(entry, fmt, config, from_function=_function_rules(producer, config))
    _check_namespaces(entry, format_, path)
    return entry.model_copy(update={"format": fmt, "store": store, "path": path})


# What kind of value each format holds, for the rules that apply to it.
def _function_rules(producer: Producer | None, config: ProjectConfig) -> tuple[int, str]:
    """(how many of the entry's rules its function declared, the function's file): those come
    last, and their errors name the function's module, not the catalog file."""
    if producer is None or not producer.checks:
        return 0, ""
    source = inspect.getsourcefile(producer.function) or producer.qualified_name
    try:
        source = str(Path(source).resolve().relative_to(config.root.resolve()))
    except ValueError:
        pass
    return len(producer.checks), f"{source} (@{producer.qualified_name})"


def _check_rules(
    entry: Entry, fmt: str, config: ProjectConfig, *, from_function: tuple[int, str] = (0, "")
) -> None:
    """Rules that cannot apply to the entry's data, and schemas that do not parse, are
    catalog errors: found when the catalog loads, not when a run fails."""
    kind = format_class(fmt).data_kind
    declared_in_catalog = len(entry.checks) - from_function[0]
    for index, rule in enumerate(entry.checks):
        origin = entry
        if index >= declared_in_catalog:  # declared on the decorator
            origin = entry.model_copy(update={"source": from_function[1]})
            index -= declared_in_catalog
        if rule.custom is not None:
            _resolve_custom_rule(origin, index, rule.custom)
        if kind not in rule.applies_to and "any" not in rule.applies_to:
            raise CatalogError(
                file=origin.source,
                entry=entry.name,
                field=f"checks[{index}].{rule.kind}",
                problem=f"rule '{rule.kind}' checks {' or '.join(rule.applies_to)} data, and a "
                f"'{fmt}' entry holds {kind} data.",
                fix="remove the rule, or use one that fits: "
                + ", ".join(
                    name for name, (_, kinds, _) in RULES.items() if kind in kinds or "any" in kinds
                )
                + ".",
            )
    names = [rule.check_name for rule in entry.checks] + (["table_schema"] if entry.schema_ else [])
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field="checks",
            problem=f"two checks are named '{duplicated[0]}'.",
            fix="give one of them a 'name:'.",
        )
    if entry.schema_ is not None:
        if kind != "table":
            raise CatalogError(
                file=entry.source,
                entry=entry.name,
                field="schema",
                problem=f"a Table Schema checks tables, and a '{fmt}' entry holds {kind} data.",
            )
        from .checks.tableschema import load_schema

        try:
            load_schema(entry.schema_, basepath=config.root)
        except DatanectarError as exc:
            raise CatalogError(
                file=entry.source, entry=entry.name, field="schema", problem=str(exc)
            ) from None


def _resolve_custom_rule(entry: Entry, index: int, target: str) -> None:
    from .checks.rules import CustomCheckError, resolve_custom

    try:
        resolve_custom(target)
    except CustomCheckError as exc:
        raise CatalogError(
            file=entry.source,
            entry=entry.name,
            field=f"checks[{index}].custom",
            problem=f"{str(exc).removeprefix(f'custom check {target!r}: ')}",
            fix="name an importable module (from the project root) and a function in it, "
            "as 'package.module:function'.",
        ) from None


def _check_namespaces(entry: Entry, format_: Any, path: str) -> None:
    """Path placeholders must name namespace dimensions, and name all of them for a format
    storing one object per partition (else two partitions would share one object)."""
    names = [dimension.name for dimension in entry.namespaces or []]
    used = placeholders(path)
    unknown = [name for name in used if name not in names]
    problem = None
    if unknown:
        problem = f"placeholder '{{{unknown[0]}}}' names no namespace dimension ({', '.join(names) or 'none'})."
    elif used and keeps_in_place(format_, entry.namespaces or [], path):
        problem = f"format '{format_.name}' keeps all namespaces in one table; its path takes no placeholders."
    elif used and sorted(set(used)) != sorted(names):
        missing = [name for name in names if name not in used]
        problem = f"the path must use every namespace dimension; '{{{missing[0]}}}' is missing."
    if problem:
        raise CatalogError(file=entry.source, entry=entry.name, field="path", problem=problem)


def _uses_errors(
    producer: Producer, entries: Mapping[str, Entry], source: str | None, *, known: Collection[str]
) -> list[CatalogError]:
    try:
        uses = producer.uses()
    except DatanectarError as exc:
        return [CatalogError(file=source, entry=producer.entry, field="uses", problem=str(exc))]
    return [
        CatalogError(
            file=source,
            entry=producer.entry,
            field="uses",
            problem=f"{producer.qualified_name} uses '{name}', which is no catalog entry."
            f"{did_you_mean(name, entries)}",
            fix="name a cached function the body calls, or the entry it produces.",
        )
        for name in uses
        if name not in entries and name not in known
    ]


def _parameter_errors(
    producer: Producer,
    entries: Mapping[str, Entry],
    source: str | None,
    *,
    known: Collection[str] = (),
) -> list[CatalogError]:
    errors = []
    for parameter in producer.parameters:
        if parameter.name in entries or parameter.name in known:
            continue
        if parameter.name == CONTEXT_PARAMETER:
            continue
        if parameter.name in producer.cache_args:  # a cache argument: run config in Dagster
            continue
        namespace_parameters = (
            {"namespace", *(d.name for d in entries[producer.entry].namespaces or [])}
            if producer.entry in entries
            else {"namespace"}
        )
        if parameter.name in namespace_parameters:  # receives the namespace key
            continue
        if parameter.default is parameter.empty:
            errors.append(
                CatalogError(
                    file=source,
                    entry=producer.entry,
                    problem=(
                        f"parameter '{parameter.name}' of {producer.qualified_name} names no catalog "
                        f"entry and has no default.{did_you_mean(parameter.name, entries)}"
                    ),
                    fix="rename it after the entry it reads, declare that entry, or give it a default.",
                )
            )
    return errors


def _where(entry: Entry) -> str:
    return f"{entry.source or '<no catalog file>'}: entry '{entry.name}'"
