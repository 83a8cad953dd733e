"""`@datanectar.cache`: a function that computes or recalls, and is also a Dagster asset.

A call is keyed by the function, its cache arguments and its namespace. It is recalled from
the first level that holds a fresh result (memo, local cache, root store, mirrors), else
computed with its upstream entries filled in, and stored where the mode says. Every stored
result has a record of the code version and the upstream objects it read; a recall compares
them with the present, so a result computed by older code or from older data is stale.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from ..catalog import Entry
from ..catalog.namespaces import check_key
from ..catalog.time_keys import check_declared
from ..checks.audit import Verdict
from ..config import CacheMode
from ..errors import DatanectarError, DataNotFoundError
from ..formats import get_format
from ..partitions import target_for, upstream_partition
from ..producers import ATTRIBUTE, make_producer
from ..project import Catalog, active_catalog, namespace_keys
from ..publishing import Outcome, enforce, plain_tag, publish
from ..targets import Target
from .context import calls_below, inherited_mode, note_read, resolve_recompute
from .keys import cache_key, canonical, canonical_arguments, key_of_canonical
from .levels import Level, Levels, levels_for
from .records import Record, UpstreamRead
from .staleness import stale_reasons

CACHE_MODES: tuple[str, ...] = get_args(CacheMode)
_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")
_READS_FROM = {
    "write": ("local", "root", "mirror"),
    "overwrite": ("local", "root", "mirror"),
    "read_only": ("local", "root", "mirror"),
    "local": ("local", "root", "mirror"),
    "offline": ("local",),
}
_WRITES_TO = {"write": "root", "overwrite": "root", "local": "local", "offline": "local"}


MISS = object()
"""What a recall returns when no level holds a usable result (None is a result)."""


class StaleResultWarning(UserWarning):
    """A stored result was returned although it is stale (read_only / offline modes)."""


class CachedFunction:
    """A plain callable with caching, carrying the `Producer` Dagster builds an asset from."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        cache_args: Iterable[str] = (),
        version: str | None = None,
        format: str | None = None,
        entry: str | None = None,
        memoize: bool = False,
        description: str | None = None,
        group: str | None = None,
        checks: Iterable[Mapping[str, Any]] = (),
        schema: str | Mapping[str, Any] | None = None,
        namespaces: Any = None,
        uses: Iterable[Any] = (),
    ) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.cache_args = tuple(cache_args)
        self.memoize = memoize
        self.signature = inspect.signature(function)
        self.producer = make_producer(
            function,
            entry=entry,
            format=format,
            version=version,
            description=description,
            group=group,
            cache_args=self.cache_args,
            checks=checks,
            schema=schema,
            namespaces=namespaces,
            cached=self,
            uses=uses,
        )
        setattr(self, ATTRIBUTE, self.producer)
        self.version = self.producer.version  # "auto" resolved to the source's own

    @property
    def name(self) -> str:
        return self.producer.entry

    @functools.cached_property
    def default_key_arguments(self) -> dict[str, Any] | None:
        """The cache arguments of a call that passes none, in canonical form: what the asset
        means in Dagster unless a run says otherwise (None when one has no default)."""
        defaults = {}
        for name in self.cache_args:
            parameter = self.signature.parameters[name]
            if parameter.default is parameter.empty:
                return None
            defaults[name] = parameter.default
        return canonical_arguments(self.qualified_name, defaults)

    @property
    def qualified_name(self) -> str:
        return self.producer.qualified_name

    def __repr__(self) -> str:
        return f"<cached function {self.qualified_name} -> entry '{self.name}'>"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        return self if instance is None else functools.partial(self, instance)

    def __call__(
        self,
        *args: Any,
        recompute: bool | str | Iterable[str] | None = None,
        cache_mode: str | None = None,
        memoize: bool | None = None,
        namespace: str | Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        catalog = active_catalog()
        mode = self._mode(cache_mode, catalog)
        recompute_setting = resolve_recompute({self.name, self.function.__name__}, recompute)
        call = self.bind(catalog, args, kwargs, namespace=namespace)
        # An upstream value passed in is not what the key stands for: the call computes from
        # it, and neither recalls nor stores (its result is not the function's stored one).
        passed_upstream = any(
            name not in self.cache_args and self.upstream_source(catalog, name) is not None
            for name in call.given
        )
        if mode == "off" or passed_upstream:
            with calls_below(recompute_setting.inherited, mode):
                return self.function(**call.arguments_with_upstream(catalog, explicit=call.given))
        memoize = self.memoize if memoize is None else memoize
        hit = MISS if recompute_setting.here else call.recall(mode, memoize=memoize)
        if hit is not MISS:
            return hit
        with calls_below(recompute_setting.inherited, mode) as reads:
            arguments = call.arguments_with_upstream(catalog, explicit=call.given)
            value = self.function(**arguments)
        return call.store(
            value,
            reads,
            mode=mode,
            replace=mode == "overwrite" or not recompute_setting.here,
            memoize=memoize,
        )

    def bind(
        self,
        catalog: Catalog,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        namespace: str | Mapping[str, str] | None = None,
        plain: bool = True,
    ) -> Call:
        try:
            bound = self.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.qualified_name}: {exc}") from None
        given = set(bound.arguments)
        bound.apply_defaults()
        entry = catalog.entry_for(self.producer)
        partition, label = self._namespace(entry, namespace, plain=plain)
        # Parameters named `namespace` or after a dimension receive the key.
        one_key = label is not None and (partition is None or len(partition) == 1)
        for name, key in {**({"namespace": label} if one_key else {}), **(partition or {})}.items():
            if name in self.signature.parameters and name not in given:
                bound.arguments[name] = key
        # Parameters named after entries are upstream values, filled in at compute time.
        for name in list(bound.arguments):
            if name not in given and self.upstream_source(catalog, name) is not None:
                del bound.arguments[name]
        missing = [
            name
            for name, parameter in self.signature.parameters.items()
            if name not in bound.arguments
            and parameter.default is parameter.empty
            and self.upstream_source(catalog, name) is None
        ]
        if missing:
            raise TypeError(f"{self.qualified_name}: missing argument '{missing[0]}'")
        key_arguments = {name: bound.arguments[name] for name in self.cache_args}
        return Call(
            self, catalog, entry, dict(bound.arguments), given, key_arguments, label, partition
        )

    def _namespace(
        self, entry: Entry, namespace: str | Mapping[str, str] | None, *, plain: bool
    ) -> tuple[dict[str, str] | None, str | None]:
        """(partition keys, namespace label) of a call. A partitioned entry needs its keys and
        stores where Dagster's partition does; another entry may still take a namespace, which
        keys and places its results apart (as Nuthatch namespaces did)."""
        if entry.namespaces:
            partition = namespace_keys(entry, namespace)
            if partition is None:
                dimensions = ", ".join(dimension.name for dimension in entry.namespaces)
                raise DatanectarError(
                    f"{self.qualified_name}: entry '{entry.name}' is partitioned by {dimensions}; "
                    "pass namespace=KEY (or a mapping of keys by dimension)."
                )
            for name, key in partition.items():
                check_key(key, where=f"{self.qualified_name}, dimension '{name}'")
            if plain:  # Dagster gives only keys it declares
                check_declared(
                    f"{self.qualified_name} (entry '{entry.name}')", entry.namespaces, partition
                )
            return partition, namespace_label(entry, partition)
        if namespace is None:
            return None, None
        if (
            not isinstance(namespace, str)
            or not _NAMESPACE.fullmatch(namespace)
            or ".." in namespace
        ):
            raise DatanectarError(
                f"{self.qualified_name}: namespace {namespace!r} must use letters, digits, '_', '-' "
                "and '.' (no '..', no '/')."
            )
        return None, namespace

    def compute_for_dagster(
        self,
        catalog: Catalog,
        *,
        inputs: Mapping[str, Any],
        arguments: Mapping[str, Any],
        upstream: list[UpstreamRead],
        partition: Mapping[str, str] | None = None,
    ) -> CachedOutput:
        """Compute (never recall: Dagster decided to materialize) with the inputs Dagster
        loaded; the IO manager publishes the result where a plain call would recall it."""
        call = self.bind(catalog, (), {**arguments, **inputs}, namespace=partition, plain=False)
        with calls_below(frozenset(), "write") as reads:
            value = self.function(**call.arguments_with_upstream(catalog, explicit=call.given))
        return CachedOutput(call=call, value=value, reads=[*upstream, *reads])

    def upstream_source(
        self, catalog: Catalog, name: str, partition: Mapping[str, str] | None = None
    ) -> Callable[[], Any] | None:
        """How to get the value of a parameter named after an upstream entry, if it is one:
        recall a cached function (in the catalog, or defined beside this one), or load the
        catalog entry. A partitioned upstream gives the namespace of the same keys as
        `partition` (the call's own), as Dagster's partition mapping does."""
        if name == self.name:
            return None
        producer = catalog.producers.get(name)
        upstream: CachedFunction | None = None
        if producer is not None and producer.cached is not None:
            upstream = producer.cached
        elif name in catalog.entries:
            return functools.partial(load_upstream, catalog, name, partition)
        else:
            neighbour = self.function.__globals__.get(name)
            if isinstance(neighbour, CachedFunction):
                upstream = neighbour
        if upstream is None:
            return None
        return functools.partial(_recall_upstream, catalog, upstream, partition)

    def _mode(self, requested: str | None, catalog: Catalog) -> str:
        mode = requested or inherited_mode() or catalog.config.settings.cache_mode
        if mode not in CACHE_MODES:
            raise DatanectarError(
                f"{self.qualified_name}: unknown cache_mode {mode!r}; expected one of {', '.join(CACHE_MODES)}."
            )
        return mode


@dataclass
class Call:
    """One call of a cached function: its key, where its result lives, how to recall it."""

    function: CachedFunction
    catalog: Catalog
    entry: Entry
    arguments: dict[str, Any]
    given: set[str]
    key_arguments: dict[str, Any]
    namespace: str | None
    partition: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.key = cache_key(self.function.qualified_name, self.key_arguments, self.namespace)
        self.segment, self.target = object_of(
            self.entry,
            self.key if self.key_arguments else None,
            namespace=self.namespace,
            partition=self.partition,
        )

    # -- recall --------------------------------------------------------------------------

    def recall(self, mode: str, *, memoize: bool) -> Any:
        """The stored value of this call (None included) if a level holds a usable one, else
        MISS. The first fresh result in the read order wins: a stale copy at one level never
        hides a fresh one further down. When none is fresh, `read_only` and `offline` return
        the first stale one, with a warning saying why it is stale."""
        levels = levels_for(self.catalog, self.entry)
        if memoize:
            remembered = levels.memo.get(self.memo_key)
            if remembered is not None and not self.stale_reasons(remembered[1]):
                self._note(remembered[1])
                return remembered[0]
        stale: tuple[Level, Record, list[str]] | None = None
        for level in levels.readable(_READS_FROM[mode]):
            record = level.records.read(self.entry.name, self.segment)
            if record is not None and (
                record.function != self.function.qualified_name or record.key != self.key
            ):
                continue  # another function's result at the same path
            reasons = self.stale_reasons(record)
            if reasons:
                if stale is None and record is not None and self._holds_ours(level, record):
                    stale = (level, record, reasons)
                continue
            value = self._load(level, record)
            if value is not MISS:
                return self._recalled(levels, level, record, value, mode=mode, memoize=memoize)
        if stale is None or mode not in ("read_only", "offline"):
            return MISS
        level, record, reasons = stale
        value = self._load(level, record)
        if value is MISS:
            return MISS
        warnings.warn(
            f"{self.function.qualified_name}: returning the stored result from the {level.name} "
            f"level although it is stale: {'; '.join(reasons)}. Recompute it in another "
            "cache_mode to refresh it.",
            StaleResultWarning,
            stacklevel=3,
        )
        return self._recalled(levels, level, record, value, mode=mode, memoize=memoize)

    def _load(self, level: Level, record: Record | None) -> Any:
        """The stored value at a level (None for a null result), or MISS when it holds none:
        read at once, without looking first (a look would open a table as the read does)."""
        if record is not None and record.is_null:
            return None
        try:
            return level.storage.load(level.target(self.target))
        except DataNotFoundError:
            return MISS

    def _recalled(
        self,
        levels: Levels,
        level: Level,
        record: Record | None,
        value: Any,
        *,
        mode: str,
        memoize: bool,
    ) -> Any:
        if mode == "local" and level.kind != "local":
            self._write(levels.local, value, record.upstream if record else [], like=record)
        if memoize:
            levels.memo.put(self.memo_key, value, record)
        self._note(record)
        return value

    @property
    def memo_key(self) -> tuple[str, ...]:
        # Projects in one process may share store names and paths: the project root tells them apart.
        return (str(self.catalog.config.root), str(self.target.store), str(self.target.path))

    def _holds_ours(self, level: Level, record: Record | None) -> bool:
        """Whether the level holds this call's result: a record of this function and key (an
        object with no record, written by another tool, counts), and the object unless null."""
        if record is not None and (
            record.function != self.function.qualified_name or record.key != self.key
        ):
            return False  # another function's result at the same path
        if record is not None and record.is_null:
            return True
        return level.storage.exists(level.target(self.target))

    def stale_reasons(self, record: Record | None) -> list[str]:
        return stale_reasons(self.catalog, self.function, record)

    # -- compute -------------------------------------------------------------------------

    def arguments_with_upstream(self, catalog: Catalog, *, explicit: set[str]) -> dict[str, Any]:
        """The call's arguments, with parameters named after entries filled in from them."""
        arguments = dict(self.arguments)
        for name in self.function.signature.parameters:
            if name in explicit or name in arguments:
                continue
            source = self.function.upstream_source(catalog, name, self.partition)
            if source is not None:
                arguments[name] = source()
        return arguments

    def store(
        self, value: Any, reads: list[UpstreamRead], *, mode: str, replace: bool, memoize: bool
    ) -> Any:
        """Store a value just computed, where the mode says; the value the caller gets (the
        stored one, when a fresh stored result is kept)."""
        levels = levels_for(self.catalog, self.entry)
        target_level = _WRITES_TO.get(mode)
        if target_level is None:
            return value
        level = levels.root if target_level == "root" else levels.local
        if not replace:
            stored = level.records.read(self.entry.name, self.segment)
            if self._holds_ours(level, stored) and not self.stale_reasons(stored):
                kept = self._load(level, stored)
                if kept is not MISS:
                    warnings.warn(
                        f"{self.function.qualified_name}: recomputed, but the stored result was "
                        "kept (cache_mode='write' does not replace a fresh result), and is the "
                        "one returned; use cache_mode='overwrite' to replace it.",
                        stacklevel=4,
                    )
                    # The caller gets, and records, the result that stays: its record names
                    # what is stored, so the two must agree.
                    self._note(stored)
                    return kept
        record, outcome = self._write(level, value, reads, tag=plain_tag())
        if level is levels.root:
            from ..assets.runless import report_plain_call

            report_plain_call(self, record, outcome)  # its checks too, passed or failed
        if outcome is not None:
            enforce(outcome)  # a rejected value raises: nothing was stored, nor recorded
        if record is None:
            return value
        if level is levels.root:
            self._drop_other_copy(levels.local, record)
        if memoize:
            levels.memo.put(self.memo_key, value, record)
        self._note(record)
        return value

    def _drop_other_copy(self, level: Level, record: Record) -> None:
        """A copy of an older result at another level goes once a new one is stored: it would
        be read before the new one, stale, in modes that read that level first."""
        copy = level.records.read(self.entry.name, self.segment)
        if copy is not None and copy.data_version != record.data_version:
            # The object first: a record left alone reads as a miss, an object alone as data
            # another tool wrote.
            level.storage.remove(level.target(self.target))
            level.records.remove(self.entry.name, self.segment)

    def publish(
        self,
        value: Any,
        reads: list[UpstreamRead],
        *,
        tag: str,
        verdicts: list[Verdict] | None = None,
    ) -> tuple[Record | None, Outcome | None]:
        """Store a result computed by Dagster at the root level, where plain calls recall it,
        once its checks pass (`verdicts`: audited already). No record when it was rejected."""
        levels = levels_for(self.catalog, self.entry)
        levels.memo.discard(self.memo_key)
        return self._write(levels.root, value, reads, tag=tag, verdicts=verdicts)

    def _write(
        self,
        level: Level,
        value: Any,
        reads: list[UpstreamRead],
        *,
        like: Record | None = None,
        tag: str | None = None,
        verdicts: list[Verdict] | None = None,
    ) -> tuple[Record | None, Outcome | None]:
        """Store the value and its record. A computed value is published through its entry's
        checks (no record when they reject it); `like`: the record of the same result at
        another level, whose data version the copy keeps (it was judged when computed)."""
        target = level.target(self.target)
        # Whatever the memo holds for this call is older than what is written now.
        levels_for(self.catalog, self.entry).memo.discard(self.memo_key)
        record = Record(
            entry=self.entry.name,
            function=self.function.qualified_name,
            key=self.key,
            segment=self.segment,
            arguments={name: canonical(value) for name, value in self.key_arguments.items()},
            namespace=self.namespace,
            version=self.function.version,
            format=str(self.entry.format),
            store=str(self.target.store),
            path=str(self.target.path),
            upstream=list(reads),
            is_null=value is None,
            complete=False,
            **({"data_version": like.data_version, "created_at": like.created_at} if like else {}),
        )
        # The object and its record are one step: the record says "being written" until the
        # object is published, so a writer killed in between leaves a record that reads as
        # interrupted (stale), never an object that passes for fresh under an older record.
        previous = level.records.read(self.entry.name, self.segment)
        level.records.write(record, self.segment)
        try:
            outcome = self._store_object(
                level, target, value, like=like, tag=tag, verdicts=verdicts
            )
        except BaseException:
            self._restore(level, previous)
            raise
        if outcome is not None and outcome.report is None:  # rejected: the previous one stays
            self._restore(level, previous)
            return None, outcome
        report = outcome.report if outcome is not None else None
        record = record.model_copy(
            update={
                "complete": True,
                "bytes_written": report.bytes_written if report else None,
            }
        )
        level.records.write(record, self.segment)
        return record, outcome

    def _store_object(
        self,
        level: Level,
        target: Target,
        value: Any,
        *,
        like: Record | None,
        tag: str | None,
        verdicts: list[Verdict] | None,
    ) -> Outcome | None:
        if value is None:
            level.storage.remove(target)
            return None
        if like is not None:
            return Outcome(self.entry, target, level.storage.save(target, value))
        return publish(
            self.catalog,
            self.entry,
            value,
            tag=tag or plain_tag(),
            target=target,
            storage=level.storage,
            verdicts=verdicts,
        )

    def _restore(self, level: Level, previous: Record | None) -> None:
        """Put the record back as it was before a write that did not publish."""
        if previous is None:
            level.records.remove(self.entry.name, self.segment)
        else:
            level.records.write(previous, self.segment)

    def _note(self, record: Record | None) -> None:
        if record is None:
            note_read(read_of(self.catalog, self.target))
            return
        note_read(
            UpstreamRead(
                entry=self.entry.name,
                format=str(self.entry.format),
                store=str(self.target.store),
                path=str(self.target.path),
                fingerprint=record.data_version,
                segment=record.segment,
            )
        )


@dataclass(frozen=True)
class CachedOutput:
    """A cached function's result on its way from a Dagster step to its IO manager."""

    call: Call
    value: Any
    reads: list[UpstreamRead]


def load_upstream(catalog: Catalog, name: str, partition: Mapping[str, str] | None = None) -> Any:
    """A catalog entry's stored value (the namespace of `partition`'s keys when the entry is
    partitioned), noted as read by the computation running."""
    entry = catalog.entry(name)
    target = target_for(entry, upstream_partition(entry, partition))
    value = catalog.storage.load(target)
    note_read(read_of(catalog, target))
    return value


def _recall_upstream(
    catalog: Catalog, upstream: CachedFunction, partition: Mapping[str, str] | None
) -> Any:
    """A cached upstream function's result, for the call's namespace when it has namespaces."""
    entry = catalog.entry_for(upstream.producer)
    if entry.namespaces:
        return upstream(namespace=upstream_partition(entry, partition))
    return upstream()


def read_of(catalog: Catalog, target: Target, *, segment: str | None = None) -> UpstreamRead:
    """How a computation records that it read `target`: a cached result (`segment` given) by
    its record's data version, anything else by the stored object's fingerprint."""
    entry = target.entry
    if segment is not None:
        record = levels_for(catalog, entry).root.records.read(entry.name, segment)
        if record is not None:
            return UpstreamRead(
                entry=entry.name,
                format=str(entry.format),
                store=target.store,
                path=target.path,
                fingerprint=record.data_version,
                segment=segment,
            )
    return UpstreamRead(
        entry=entry.name,
        format=str(entry.format),
        store=target.store,
        path=target.path,
        fingerprint=catalog.storage.fingerprint(target),
        partition=target.keys if target.in_place else None,
    )


def object_of(
    entry: Entry,
    key: str | None,
    *,
    namespace: str | None,
    partition: Mapping[str, str] | None,
) -> tuple[str, Target]:
    """(segment, target) of one call's result: where under the entry its record lives, and
    what its object is. `key`: the call's cache key, None for a function
    without cache arguments."""
    segment = _segment(key, namespace)
    if partition:
        # Exactly where Dagster's partition lives; cache arguments key objects beside it.
        base = target_for(entry, partition)
        return segment, base.at(path=_object_path(base, key or "_"))
    whole = Target.of(entry)
    return segment, whole.at(path=_object_path(whole, segment))


def default_object(
    entry: Entry,
    *,
    function: str,
    arguments: Mapping[str, Any],
    partition: Mapping[str, str] | None = None,
) -> tuple[str, Target]:
    """(segment, target) of the result a plain call with the function's default cache
    arguments (given in canonical form) stores: what its asset means when no run said
    otherwise."""
    label = namespace_label(entry, partition)
    return object_of(
        entry, key_of_canonical(function, arguments, label), namespace=label, partition=partition
    )


def namespace_label(entry: Entry, partition: Mapping[str, str] | None) -> str | None:
    """A partition's keys as one namespace label (dimension order), as plain calls key them."""
    if not partition:
        return None
    return "/".join(partition[dimension.name] for dimension in entry.namespaces or [])


def _segment(key: str | None, namespace: str | None) -> str:
    parts = [part for part in (namespace, key) if part]
    return "/".join(parts) if parts else "_"


def _object_path(target: Target, segment: str) -> str:
    """Where one call's result lives: the target's path itself for an argument-less call,
    else a key-named object beside it, named as its format names objects."""
    if segment == "_":
        return target.path
    return get_format(str(target.format)).keyed_path(target.path, segment)


def cache(
    function: Callable[..., Any] | None = None,
    *,
    cache_args: Iterable[str] = (),
    version: str | None = None,
    format: str | None = None,
    entry: str | None = None,
    memoize: bool = False,
    description: str | None = None,
    group: str | None = None,
    checks: Iterable[Mapping[str, Any]] = (),
    schema: str | Mapping[str, Any] | None = None,
    namespaces: Any = None,
    uses: Iterable[Any] = (),
) -> Any:
    """Cache a function's results in the catalog's stores; it is also a Dagster asset.

    `cache_args` names the parameters that key the stored result; `version` is the code
    version (bump it to make stored results stale; "auto": from the function's source);
    `format` defaults from the return type; `uses`: cached functions the body calls (found in
    the body's code too), which Dagster then materializes first.
    """

    def wrap(fn: Callable[..., Any]) -> CachedFunction:
        return CachedFunction(
            fn,
            cache_args=cache_args,
            version=version,
            format=format,
            entry=entry,
            memoize=memoize,
            description=description,
            group=group,
            checks=checks,
            schema=schema,
            namespaces=namespaces,
            uses=uses,
        )

    return wrap(function) if function is not None else wrap
