"""A project's catalog, bound to the functions that produce its entries, usable without Dagster.

`datanectar.catalog()` gives a `Catalog`: load and save entries from a notebook with exactly the
code the IO managers use. `datanectar.definitions()` builds the Dagster side from the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .catalog import Entry, load_catalog, load_variables
from .catalog.namespaces import check_key
from .catalog.resolve import complete_entry, implicit_entry, resolve_catalog
from .catalog.time_keys import check_declared
from .config import ProjectConfig, load_project
from .current import activated
from .errors import DatanectarError, DataNotFoundError, UnknownEntryError, did_you_mean
from .partitions import Partition, target_for
from .producers import Producer, ProducerSignature, producer_of
from .project_modules import import_producers
from .storage import EntryStorage, WriteReport
from .stores import Location, Store
from .targets import Target


class Catalog:
    """The entries of a project and where each one lives."""

    def __init__(
        self,
        config: ProjectConfig,
        entries: Mapping[str, Entry],
        producers: Mapping[str, Producer],
        stores: Mapping[str, Store],
        signatures: Mapping[str, ProducerSignature] | None = None,
    ) -> None:
        self.config = config
        self.entries: dict[str, Entry] = dict(entries)
        self.producers: dict[str, Producer] = dict(producers)
        self.stores: dict[str, Store] = dict(stores)
        pinned: dict[str, set[str]] = {}
        for producer in self.producers.values():
            for name, label in producer.pinned_versions.items():
                pinned.setdefault(name, set()).add(label)
        self.storage = EntryStorage(
            stores,
            environment=config.environment,
            pinned={name: frozenset(labels) for name, labels in pinned.items()},
        )
        self.levels: dict[str, Any] = {}
        """The cache levels of each store (memo, local, root, mirrors), built on first use."""
        self._signatures: dict[str, ProducerSignature] = dict(signatures or {})

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
        producers = import_producers(config, settings.modules if modules is None else list(modules))
        for function in functions or ():
            producer = producer_of(function)
            if producer is None:
                raise DatanectarError(
                    f"{function!r} is not decorated with @datanectar.asset or @datanectar.cache."
                )
            producers.append(producer)
        stores = config.open_stores()
        resolved = resolve_catalog(config, stores, declared, producers)
        return cls(config, resolved.entries, resolved.producers, stores, resolved.signatures)

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
        return complete_entry(self.config, self.stores, implicit_entry(producer), producer)

    def signature_of(self, producer: Producer) -> ProducerSignature:
        """How the function's parameters are filled in this catalog (computed once)."""
        signature = self._signatures.get(producer.entry)
        if signature is None or signature.producer is not producer:
            entry = self.entry_for(producer)
            signature = ProducerSignature.of(
                producer,
                entries=self.entries.keys(),
                dimensions=[dimension.name for dimension in entry.namespaces or []],
            )
            if self.producers.get(producer.entry) is producer:  # not another catalog's
                self._signatures[producer.entry] = signature
        return signature

    def activate(self) -> AbstractContextManager[Catalog]:
        """Make this the catalog that cached functions called in this context use."""
        return activated(self)

    def secrets(self) -> tuple[str, ...]:
        """Every store's secrets (longest first), to mask in any text a user's code wrote."""
        found = {secret for store in self.stores.values() for secret in store.secrets()}
        return tuple(sorted(found, key=len, reverse=True))

    def location(self, name: str) -> Location:
        return self.storage.location(Target.of(self.entry(name)))

    # -- data -----------------------------------------------------------------------------

    def load(
        self,
        name: str,
        *,
        namespace: str | Partition | None = None,
        as_type: Any = None,
        version: str | int | Any = None,
    ) -> Any:
        """The stored value of an entry (one namespace of a partitioned one), as `as_type`
        where the format offers several. `version`: of a versioned entry a label (the latest
        when None), of a delta entry a table version number or timestamp; a list of them
        gives a dict of values by version."""
        if isinstance(version, list | tuple):
            return {
                one: self.load(name, namespace=namespace, as_type=as_type, version=one)
                for one in version
            }
        try:
            return self.storage.load(
                self._target(name, namespace), as_type=as_type, version=version
            )
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
        from .versions.versioned import writing_defaults

        target = self._target(name, namespace)
        tag = plain_tag()
        producer = self.producers.get(name)
        # what a label template may name, as a Dagster run gives it
        with writing_defaults(
            run_id=tag,
            code_version=producer.version if producer is not None else None,
            partition="|".join(target.keys.values()) if target.keys else None,
        ):
            return enforce(publish(self, self.entry(name), value, target=target, tag=tag))

    def versions(self, name: str, *, namespace: str | Partition | None = None) -> list[Any]:
        """The manifests of a versioned entry's versions, oldest first."""
        return self.storage.manifests(self._target(name, namespace))

    def prune(
        self,
        name: str,
        *,
        keep: int,
        namespace: str | Partition | None = None,
        pinned: frozenset[str] = frozenset(),
        dry_run: bool = False,
    ) -> list[str]:
        """Remove all but the newest `keep` versions of a versioned entry, never the latest
        nor a `pinned` one: the labels removed (with `dry_run`, that would be)."""
        return self.storage.prune_versions(
            self._target(name, namespace), keep=keep, pinned=pinned, dry_run=dry_run
        )

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


def _where(entry: Entry) -> str:
    return entry.subject
