"""A plain call's arguments bound to its function's parameters: the namespace keys given to
the parameters that take them, upstream parameters left for the compute to fill, the cache
arguments that key the result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..catalog import Entry
from ..catalog.namespaces import check_key
from ..catalog.time_keys import check_declared
from ..errors import DatanectarError
from ..project import Catalog, namespace_keys
from .call import Call
from .objects import namespace_label

if TYPE_CHECKING:
    from .decorator import CachedFunction

_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")


def bind(
    function: CachedFunction,
    catalog: Catalog,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    namespace: str | Mapping[str, str] | None,
    plain: bool,
) -> Call:
    """The call of `function` these arguments make (`plain`: not a Dagster step)."""
    try:
        bound = function.signature.bind_partial(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{function.qualified_name}: {exc}") from None
    given = set(bound.arguments)
    bound.apply_defaults()
    entry = catalog.entry_for(function.producer)
    signature = catalog.signature_of(function.producer)
    partition, label = _namespace(function.qualified_name, entry, namespace, plain=plain)
    for name, key in signature.namespace_arguments(partition, label).items():
        if name not in given:
            bound.arguments[name] = key
    # Upstream values are filled in at compute time, unless the caller passed them.
    upstream = signature.filled_from_upstream
    for name in list(bound.arguments):
        if name not in given and name in upstream:
            del bound.arguments[name]
    missing = [
        name
        for name, parameter in function.signature.parameters.items()
        if name not in bound.arguments
        and parameter.default is parameter.empty
        and name not in upstream
    ]
    if missing:
        raise TypeError(f"{function.qualified_name}: missing argument '{missing[0]}'")
    key_arguments = {name: bound.arguments[name] for name in function.cache_args}
    return Call(
        function, catalog, entry, dict(bound.arguments), given, key_arguments, label, partition
    )


def _namespace(
    where: str, entry: Entry, namespace: str | Mapping[str, str] | None, *, plain: bool
) -> tuple[dict[str, str] | None, str | None]:
    """(partition keys, namespace label) of a call. A partitioned entry needs its keys and
    stores where Dagster's partition does; another entry may still take a namespace, which
    keys and places its results apart (as Nuthatch namespaces did)."""
    if entry.namespaces:
        partition = namespace_keys(entry, namespace)
        if partition is None:
            dimensions = ", ".join(dimension.name for dimension in entry.namespaces)
            raise DatanectarError(
                f"{where}: entry '{entry.name}' is partitioned by {dimensions}; "
                "pass namespace=KEY (or a mapping of keys by dimension)."
            )
        for name, key in partition.items():
            check_key(key, where=f"{where}, dimension '{name}'")
        if plain:  # Dagster gives only keys it declares
            check_declared(f"{where} (entry '{entry.name}')", entry.namespaces, partition)
        return partition, namespace_label(entry, partition)
    if namespace is None:
        return None, None
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace) or ".." in namespace:
        raise DatanectarError(
            f"{where}: namespace {namespace!r} must use letters, digits, '_', '-' "
            "and '.' (no '..', no '/')."
        )
    return None, namespace
