"""`@datanectar.cache`: a function that computes or recalls, and is also a Dagster asset.

A call is keyed by the function, its cache arguments and its namespace. It is recalled from
the first level that holds a fresh result (memo, local cache, root store, mirrors), else
computed with its upstream entries filled in, and stored where its mode's policy says.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..current import active_catalog
from ..producers import ATTRIBUTE, ProducerOptions, make_producer
from ..project import Catalog
from .binding import bind
from .call import MISS, Call
from .context import calls_below, inherited_mode, resolve_recompute
from .keys import canonical_arguments
from .policy import CachePolicy, policy_for
from .records import UpstreamRead


class CachedFunction:
    """A plain callable with caching, carrying the `Producer` Dagster builds an asset from."""

    def __init__(self, function: Callable[..., Any], options: ProducerOptions) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.cache_args = options.cache_args
        self.memoize = options.memoize
        self.signature = inspect.signature(function)
        self.producer = make_producer(function, options, cached=self)
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
        policy = self._policy(cache_mode, catalog)
        recompute_setting = resolve_recompute({self.name, self.function.__name__}, recompute)
        call = self.bind(catalog, args, kwargs, namespace=namespace)
        # An upstream value passed in is not what the key stands for: the call computes from
        # it, and neither recalls nor stores (its result is not the function's stored one).
        signature = catalog.signature_of(self.producer)
        passed_upstream = any(
            name not in self.cache_args and name in signature.filled_from_upstream
            for name in call.given
        )
        if not policy.caches or passed_upstream:
            with calls_below(recompute_setting.inherited, policy.value):
                return self.function(**call.arguments_with_upstream(catalog, explicit=call.given))
        memoize = self.memoize if memoize is None else memoize
        hit = MISS if recompute_setting.here else call.recall(policy, memoize=memoize)
        if hit is not MISS:
            return hit
        with calls_below(recompute_setting.inherited, policy.value) as reads:
            arguments = call.arguments_with_upstream(catalog, explicit=call.given)
            value = self.function(**arguments)
        return call.store(
            value,
            reads,
            policy=policy,
            replace=policy.replaces_fresh or not recompute_setting.here,
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
        """The call these arguments make (`plain`: a plain call, not a Dagster step)."""
        return bind(self, catalog, args, kwargs, namespace=namespace, plain=plain)

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
        with calls_below(frozenset(), CachePolicy.WRITE.value) as reads:
            value = self.function(**call.arguments_with_upstream(catalog, explicit=call.given))
        return CachedOutput(call=call, value=value, reads=[*upstream, *reads])

    def _policy(self, requested: str | None, catalog: Catalog) -> CachePolicy:
        mode = requested or inherited_mode() or catalog.config.settings.cache_mode
        return policy_for(mode, where=self.qualified_name)


@dataclass(frozen=True)
class CachedOutput:
    """A cached function's result on its way from a Dagster step to its IO manager."""

    call: Call
    value: Any
    reads: list[UpstreamRead]


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
        cache_args=tuple(cache_args),
        memoize=memoize,
    )

    def wrap(fn: Callable[..., Any]) -> CachedFunction:
        return CachedFunction(fn, options)

    return wrap(function) if function is not None else wrap
