"""Functions that produce entries: the decorator marks them; nothing is registered globally.

`@datanectar.asset` leaves the function a plain callable and attaches a `Producer` to it;
`datanectar.definitions()` finds producers by scanning the configured modules.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
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
) -> Any:
    """Mark a function as producing the catalog entry of its name (or `entry`).

    Its parameters named after other entries are its upstream assets. `version` becomes the
    asset's code version; `checks` and `schema` are validation rules as in the catalog. The
    function stays a plain callable.
    """

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(
            fn,
            ATTRIBUTE,
            make_producer(
                fn,
                entry=entry,
                format=format,
                version=version,
                description=description,
                group=group,
                checks=checks,
                schema=schema,
                namespaces=namespaces,
            ),
        )
        return fn

    return mark(function) if function is not None else mark


def make_producer(
    fn: Callable[..., Any],
    *,
    entry: str | None,
    format: str | None,
    version: str | None,
    description: str | None,
    group: str | None,
    cache_args: tuple[str, ...] = (),
    checks: Iterable[Mapping[str, Any]] = (),
    schema: str | Mapping[str, Any] | None = None,
    namespaces: Any = None,
    cached: Any = None,
) -> Producer:
    name = entry or fn.__name__
    where = f"{fn.__module__}.{fn.__qualname__}"
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
    unknown = [name for name in cache_args if name not in {p.name for p in parameters}]
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
        rules = tuple(Rule.model_validate(rule) for rule in checks)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise DatanectarError(
            f"{where}: checks[{error['loc'][0] if error['loc'] else 0}]: "
            f"{error['msg'].removeprefix('Value error, ')}."
        ) from None
    try:
        dimensions = tuple(parse_namespaces(namespaces)) if namespaces is not None else ()
    except (ValueError, ValidationError) as exc:
        raise DatanectarError(f"{where}: namespaces: {exc}") from None
    return Producer(
        function=fn,
        entry=name,
        format=format,
        version=version,
        description=description or inspect.getdoc(fn),
        group=group,
        parameters=parameters,
        cache_args=cache_args,
        checks=rules,
        schema=dict(schema) if isinstance(schema, Mapping) else schema,
        namespaces=dimensions,
        cached=cached,
    )


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
