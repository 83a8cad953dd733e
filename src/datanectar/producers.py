"""Functions that produce entries: the decorator marks them; nothing is registered globally.

`@datanectar.asset` leaves the function a plain callable and attaches a `Producer` to it;
`datanectar.definitions()` finds producers by scanning the configured modules.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
import typing
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pydantic import ValidationError

from .catalog.models import NAME_PATTERN
from .catalog.namespaces import Dimension, parse_namespaces
from .catalog.rules import Rule
from .errors import DatanectarError, did_you_mean
from .formats import format_names

ATTRIBUTE = "__datanectar_producer__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Producer:
    function: Callable[..., Any]
    entry: str
    format: str | None = None
    version: str | None = None
    description: str | None = None
    group: str | None = None
    parameters: tuple[inspect.Parameter, ...] = field(default=())
    cache_args: tuple[str, ...] = ()
    checks: tuple[Rule, ...] = ()
    """Validation rules declared on the decorator, added to the catalog entry's."""
    schema: str | dict[str, Any] | None = None
    namespaces: tuple[Dimension, ...] = ()
    """Namespaces declared on the decorator (the catalog entry's when it declares none)."""
    cached: Any = None
    """The `CachedFunction` wrapping the function, for `@datanectar.cache` producers."""
    declared_uses: tuple[Any, ...] = ()
    """`uses=`: cached functions (or entry names) its body calls, as the decorator got them."""
    pinned_versions: Mapping[str, str] = field(default_factory=dict)
    """`versions=`: the version each named upstream entry is loaded at (its label)."""

    def uses(self) -> list[str]:
        """The entries of the cached functions its body calls: those declared with `uses=`,
        and those its code names (module-level cached functions). Dagster depends on them, so
        they run first and the body recalls them."""
        names = [_entry_name(used) for used in self.declared_uses]
        names += called_cached_functions(self.function)
        return [name for name in dict.fromkeys(names) if name != self.entry]

    @property
    def qualified_name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"

    def return_annotation(self) -> Any:
        return self.type_hints().get("return")

    def type_hints(self) -> dict[str, Any]:
        try:
            return typing.get_type_hints(self.function)
        except Exception:  # unresolvable forward references: fall back to no hints
            return {}


CONTEXT_PARAMETER = "context"
"""The parameter of an `@datanectar.asset` function that receives Dagster's context."""
NAMESPACE_PARAMETER = "namespace"


@dataclass(frozen=True, eq=False)
class ProducerSignature:
    """How each parameter of a producer gets its value in one catalog, decided once: the
    rules plain calls, Dagster steps and the catalog's own checks all follow."""

    producer: Producer
    upstream: tuple[str, ...]
    """Parameters named after other entries of the catalog: their values are loaded (or, for
    cached functions, recalled); in Dagster, the asset's inputs."""
    neighbours: Mapping[str, Producer]
    """Parameters named after cached functions defined beside it that the catalog does not
    hold: a plain call recalls them."""
    namespace: tuple[str, ...]
    """`namespace` and the parameters named after its entry's dimensions: they receive the
    namespace keys of the call."""
    context: str | None
    """The parameter that receives Dagster's context, if it has one."""
    unbound: tuple[str, ...]
    """Parameters without a default that nothing fills: a catalog error."""

    @classmethod
    def of(
        cls, producer: Producer, *, entries: Collection[str], dimensions: Iterable[str] = ()
    ) -> ProducerSignature:
        """The signature of `producer` in a catalog of `entries`, its entry partitioned by
        `dimensions`."""
        names = [parameter.name for parameter in producer.parameters]
        namespace = {NAMESPACE_PARAMETER, *dimensions}
        globals_ = getattr(producer.function, "__globals__", {})
        neighbours = {}
        for name in names:
            if name in entries or name == producer.entry:
                continue
            neighbour = producer_of(globals_.get(name))
            if neighbour is not None and neighbour.cached is not None:
                neighbours[name] = neighbour
        return cls(
            producer=producer,
            upstream=tuple(
                name
                for name in names
                if name in entries and name not in (CONTEXT_PARAMETER, producer.entry)
            ),
            neighbours=neighbours,
            namespace=tuple(name for name in names if name in namespace),
            context=CONTEXT_PARAMETER if CONTEXT_PARAMETER in names else None,
            unbound=tuple(
                parameter.name
                for parameter in producer.parameters
                if parameter.name not in entries  # its own entry too: no error of this kind
                and parameter.name != CONTEXT_PARAMETER
                and parameter.name not in producer.cache_args  # run config in Dagster
                and parameter.name not in namespace
                and parameter.default is parameter.empty
            ),
        )

    def namespace_arguments(
        self, partition: Mapping[str, str] | None, label: str | None = None
    ) -> dict[str, str]:
        """What the parameters taking namespace keys receive: each dimension's key; and
        `namespace`, the one key of a one-dimension partition, or an unpartitioned call's
        namespace `label`."""
        keys = dict(partition or {})
        one = label if not keys else next(iter(keys.values())) if len(keys) == 1 else None
        if one is not None:
            keys = {NAMESPACE_PARAMETER: one, **keys}
        return {name: key for name, key in keys.items() if name in self.namespace}

    @property
    def filled_from_upstream(self) -> tuple[str, ...]:
        """The parameters an upstream value fills (entries and neighbours), in order."""
        return tuple(
            parameter.name
            for parameter in self.producer.parameters
            if parameter.name in self.upstream or parameter.name in self.neighbours
        )


@dataclass(frozen=True)
class ProducerOptions:
    """The keywords of `@datanectar.asset` and `@datanectar.cache`, as the decorator got them
    (`make_producer` checks them against the function)."""

    entry: str | None = None
    """The entry it produces (default: the function's name)."""
    format: str | None = None
    """The entry's format (default: the catalog's, else from the return type)."""
    version: str | None = None
    """The code version ("auto": from the function's source)."""
    description: str | None = None
    group: str | None = None
    checks: tuple[Mapping[str, Any], ...] = ()
    """Validation rules, as in the catalog, added to the entry's."""
    schema: str | Mapping[str, Any] | None = None
    namespaces: Any = None
    """Namespaces, as in the catalog (the entry's when it declares none)."""
    uses: tuple[Any, ...] = ()
    """Cached functions (or entry names) its body calls."""
    cache_args: tuple[str, ...] = ()
    """The parameters that key a cached function's stored results."""
    memoize: bool = False
    """Whether a cached function's calls also remember their results in this process."""
    versions: Mapping[str, str] | None = None
    """The version (label) each named upstream entry is loaded at: pinned inputs."""


@overload
def asset(function: F) -> F: ...
@overload
def asset(
    function: None = None,
    *,
    entry: str | None = ...,
    format: str | None = ...,
    version: str | None = ...,
    description: str | None = ...,
    group: str | None = ...,
    checks: Iterable[Mapping[str, Any]] = ...,
    schema: str | Mapping[str, Any] | None = ...,
    namespaces: Any = ...,
    uses: Iterable[Any] = ...,
    versions: Mapping[str, str] | None = ...,
) -> Callable[[F], F]: ...


def asset(
    function: Callable[..., Any] | None = None,
    *,
    entry: str | None = None,
    format: str | None = None,
    version: str | None = None,
    description: str | None = None,
    group: str | None = None,
    checks: Iterable[Mapping[str, Any]] = (),
    schema: str | Mapping[str, Any] | None = None,
    namespaces: Any = None,
    uses: Iterable[Any] = (),
    versions: Mapping[str, str] | None = None,
) -> Any:
    """Mark a function as producing the catalog entry of its name (or `entry`).

    Its parameters named after other entries are its upstream assets. `version` becomes the
    asset's code version; `checks` and `schema` are validation rules as in the catalog;
    `versions` pins upstream versioned entries to a version each (`{"model": "v3"}`). The
    function stays a plain callable.
    """
    options = ProducerOptions(
        entry=entry,
        format=format,
        version=version,
        description=description,
        group=group,
        checks=tuple(checks),
        schema=schema,
        namespaces=namespaces,
        uses=tuple(uses),
        versions=versions,
    )

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, ATTRIBUTE, make_producer(fn, options))
        return fn

    return mark(function) if function is not None else mark


def make_producer(
    fn: Callable[..., Any], options: ProducerOptions, *, cached: Any = None
) -> Producer:
    """The producer of `fn` (`cached`: its `CachedFunction`), once its options are checked
    against it; a `DatanectarError` names the function and the option at fault."""
    name = options.entry or fn.__name__
    where = f"{fn.__module__}.{fn.__qualname__}"
    group, format = options.group, options.format
    if not NAME_PATTERN.fullmatch(name):
        raise DatanectarError(f"{where}: entry name '{name}' must use letters, digits and '_'.")
    if group is not None and not NAME_PATTERN.fullmatch(group):
        raise DatanectarError(f"{where}: group '{group}' must use letters, digits and '_' only.")
    if format is not None and format not in format_names():
        raise DatanectarError(
            f"{where}: unknown format '{format}'.{did_you_mean(format, format_names())} Formats: "
            f"{', '.join(format_names())}."
        )
    parameters = tuple(inspect.signature(fn).parameters.values())
    unknown = [name for name in options.cache_args if name not in {p.name for p in parameters}]
    if unknown:
        raise DatanectarError(
            f"{where}: cache_args names '{unknown[0]}', which is not a parameter of the function."
        )
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise DatanectarError(
                f"{where}: *args/**kwargs cannot name upstream entries; list each parameter."
            )
    try:
        rules = tuple(Rule.model_validate(rule) for rule in options.checks)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise DatanectarError(
            f"{where}: checks[{error['loc'][0] if error['loc'] else 0}]: "
            f"{error['msg'].removeprefix('Value error, ')}."
        ) from None
    namespaces = options.namespaces
    try:
        dimensions = tuple(parse_namespaces(namespaces)) if namespaces is not None else ()
    except (ValueError, ValidationError) as exc:
        raise DatanectarError(f"{where}: namespaces: {exc}") from None
    pins = dict(options.versions or {})
    strays = [name for name in pins if name not in {p.name for p in parameters}]
    if strays:
        raise DatanectarError(
            f"{where}: versions names '{strays[0]}', which is not a parameter of the function."
        )
    schema = options.schema
    return Producer(
        function=fn,
        entry=name,
        format=format,
        version=resolved_version(fn, options.version),
        description=options.description or inspect.getdoc(fn),
        group=group,
        parameters=parameters,
        cache_args=options.cache_args,
        checks=rules,
        schema=dict(schema) if isinstance(schema, Mapping) else schema,
        namespaces=dimensions,
        cached=cached,
        declared_uses=options.uses,
        pinned_versions=pins,
    )


AUTO_VERSION = "auto"


def cached_upstreams(producer: Producer, producers: Mapping[str, Producer]) -> list[str]:
    """The cached functions a cached function reads (parameters) or calls (`uses`)."""
    names = [parameter.name for parameter in producer.parameters] + producer.uses()
    return [
        name
        for name in dict.fromkeys(names)
        if name != producer.entry and name in producers and producers[name].cached is not None
    ]


def chain_version(
    producer: Producer, producers: Mapping[str, Producer], _seen: frozenset[str] = frozenset()
) -> str | None:
    """The code version Dagster shows for a cached function: its own, and, when it reads or
    calls other cached functions, theirs too, through the whole chain below it. A version bump
    anywhere below then makes it stale in Dagster as it does for plain calls (Dagster itself
    marks only the asset whose own code changed)."""
    below = [name for name in cached_upstreams(producer, producers) if name not in _seen]
    if producer.version is None or not below:
        return producer.version
    seen = _seen | {producer.entry}
    parts = [f"{name}={chain_version(producers[name], producers, seen)}" for name in sorted(below)]
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:8]
    return f"{producer.version}+{digest}"


def called_cached_functions(fn: Callable[..., Any]) -> list[str]:
    """The entries of the module-level cached functions `fn`'s code names (nested functions
    and comprehensions included), found without running it."""
    names: list[str] = []
    pending = [getattr(fn, "__code__", None)]
    while pending:
        code = pending.pop()
        if code is None:
            continue
        for name in code.co_names:
            producer = producer_of(fn.__globals__.get(name))
            if producer is not None and producer.cached is not None:
                names.append(producer.entry)
        pending += [const for const in code.co_consts if inspect.iscode(const)]
    return names


def _entry_name(used: Any) -> str:
    producer = producer_of(used)
    if producer is not None:
        return producer.entry
    if isinstance(used, str) and NAME_PATTERN.fullmatch(used):
        return used
    raise DatanectarError(
        f"uses={used!r}: name cached functions (or the entries they produce) that the body calls."
    )


def resolved_version(fn: Callable[..., Any], version: str | None) -> str | None:
    """`version="auto"`: a version from the function's own source, so changing its body makes
    its stored results stale without a bump (a change in what it calls is not seen)."""
    if version != AUTO_VERSION:
        return version
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        raise DatanectarError(
            f"{fn.__module__}.{fn.__qualname__}: version='auto' needs the function's source, "
            "which Python cannot find (defined in an interactive session?). Fix: give a "
            "version string, and change it when the function's results change."
        ) from None
    digest = hashlib.sha256(textwrap.dedent(source).encode("utf-8")).hexdigest()
    return f"auto-{digest[:12]}"


def producer_of(obj: Any) -> Producer | None:
    producer = getattr(obj, ATTRIBUTE, None)
    return producer if isinstance(producer, Producer) else None


def producers_in(module: Any) -> list[Producer]:
    """Producers defined at the top level of a module, in definition order."""
    found = []
    for value in vars(module).values():
        producer = producer_of(value)
        if producer is not None and producer not in found:
            found.append(producer)
    return found
