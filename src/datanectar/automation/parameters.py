"""Parameter sets (Statisfactory's): named run config, inheriting with `_from`.

`monthly: {_from: [base], rolling_means: {agg_days: 30}}` is `base`, then its own keys; later
keys win, per asset and per argument. A set reaching itself through `_from` is an error
naming the sets of the cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, did_you_mean

FROM_KEY = "_from"


def resolve_parameter_sets(
    sets: Mapping[str, Mapping[str, Any]], *, file: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every set with its inheritance applied: {set: {asset: {argument: value}}}."""
    resolved: dict[str, dict[str, dict[str, Any]]] = {}

    def resolve(name: str, path: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        if name in resolved:
            return resolved[name]
        if name in path:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise ConfigError(
                file=file,
                field=f"parameters.{path[-1]}._from",
                problem=f"parameter sets inherit in a cycle: {cycle}.",
                fix="remove one of these _from references.",
            )
        body = sets[name]
        if not isinstance(body, Mapping):
            raise ConfigError(
                file=file,
                field=f"parameters.{name}",
                problem=f"a parameter set maps asset names to their arguments, got a "
                f"{type(body).__name__}.",
            )
        parents = body.get(FROM_KEY, [])
        parents = [parents] if isinstance(parents, str) else parents
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise ConfigError(
                file=file,
                field=f"parameters.{name}._from",
                problem=f"_from is a set's name or a list of names, got {parents!r}.",
            )
        merged: dict[str, dict[str, Any]] = {}
        for parent in parents:
            if parent not in sets:
                raise ConfigError(
                    file=file,
                    field=f"parameters.{name}._from",
                    problem=f"no parameter set '{parent}'.{did_you_mean(str(parent), list(sets))}",
                )
            for asset, arguments in resolve(parent, (*path, name)).items():
                merged[asset] = {**merged.get(asset, {}), **arguments}
        for asset, arguments in body.items():
            if asset == FROM_KEY:
                continue
            if str(asset).startswith("_"):
                raise ConfigError(
                    file=file,
                    field=f"parameters.{name}.{asset}",
                    problem=f"unknown key '{asset}'.{did_you_mean(str(asset), [FROM_KEY])}",
                    fix=f"{FROM_KEY} names the sets this one inherits; other keys are entries.",
                )
            if not isinstance(arguments, Mapping):
                raise ConfigError(
                    file=file,
                    field=f"parameters.{name}.{asset}",
                    problem=f"an asset's parameters are a mapping of argument to value, got "
                    f"{arguments!r}.",
                )
            merged[asset] = {**merged.get(asset, {}), **arguments}
        resolved[name] = merged
        return merged

    for name in sets:
        resolve(name, ())
    return resolved
