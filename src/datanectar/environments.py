"""`[tool.datanectar.environments.NAME]`: settings that DATANECTAR_ENV=NAME lays over the base.

The merge, exactly (the README's "Environments" says the same):

- the environment's table is merged key by key over the base `[tool.datanectar]` table;
  a table merges into a table recursively, anything else (a string, a number, a list)
  replaces what the base says: lists replace, they are never concatenated;
- `stores` merges store by store over the base's stores (over the default `local` store when
  the base declares none): a store table that gives `type` replaces the base's store of that
  name wholly (or adds a store); a store table without `type` merges its keys over the base's
  store of that name, which must exist;
- the DATANECTAR_* overrides (`config.ENV_OVERRIDES`) apply after the environment.

Pure: tables in, tables out; `config.load_project` validates the results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

ENVIRONMENT_ENV = "DATANECTAR_ENV"
ENVIRONMENTS_KEY = "environments"


def environment_tables(table: Mapping[str, Any], *, file: Any) -> dict[str, dict[str, Any]]:
    """The environments a raw `[tool.datanectar]` table declares, each checked to be a table."""
    declared = table.get(ENVIRONMENTS_KEY, {})
    if not isinstance(declared, Mapping):
        raise ConfigError(
            file=file,
            field=f"tool.datanectar.{ENVIRONMENTS_KEY}",
            problem=f"expected a table of environments, got {type(declared).__name__}.",
            fix="write one [tool.datanectar.environments.NAME] table per environment.",
        )
    found = {}
    for name, body in declared.items():
        field = f"tool.datanectar.{ENVIRONMENTS_KEY}.{name}"
        if not isinstance(body, Mapping):
            raise ConfigError(
                file=file,
                field=field,
                problem=f"expected a table of settings, got {type(body).__name__}.",
                fix=f"write [{field}] as a table of the settings it overrides.",
            )
        if ENVIRONMENTS_KEY in body:
            raise ConfigError(
                file=file,
                field=f"{field}.{ENVIRONMENTS_KEY}",
                problem="an environment cannot declare environments.",
                fix=f"declare each environment at [tool.datanectar.{ENVIRONMENTS_KEY}.NAME].",
            )
        found[str(name)] = dict(body)
    return found


def active_environment(
    environments: Mapping[str, Any], *, file: Any, env: Mapping[str, str]
) -> str | None:
    """The environment DATANECTAR_ENV names (None when it is unset or empty)."""
    name = (env.get(ENVIRONMENT_ENV) or "").strip()
    if not name:
        return None
    if name not in environments:
        from .errors import did_you_mean

        defined = ", ".join(sorted(environments))
        raise ConfigError(
            file=file,
            field=f"tool.datanectar.{ENVIRONMENTS_KEY}",
            problem=f"{ENVIRONMENT_ENV}={name!r} names no environment.{did_you_mean(name, environments)} "
            + (
                f"Environments defined (as [tool.datanectar.{ENVIRONMENTS_KEY}.NAME] in this "
                f"file): {defined}."
                if environments
                else f"This file defines none ([tool.datanectar.{ENVIRONMENTS_KEY}.NAME])."
            ),
            fix=f"set {ENVIRONMENT_ENV} to one of them, unset it for the base settings, or add "
            f"[tool.datanectar.{ENVIRONMENTS_KEY}.{name}].",
        )
    return name


def merged_settings(
    base: Mapping[str, Any],
    environment: Mapping[str, Any],
    *,
    name: str,
    file: Any,
    default_stores: Mapping[str, Any],
) -> dict[str, Any]:
    """`environment` laid over `base` (neither changed); `default_stores` are the base's
    stores when it declares none."""
    merged = {key: value for key, value in base.items() if key != ENVIRONMENTS_KEY}
    for key, value in environment.items():
        if key == "stores" and isinstance(value, Mapping):
            stores = merged.get("stores", default_stores)
            merged["stores"] = _merged_stores(
                stores if isinstance(stores, Mapping) else {}, value, name=name, file=file
            )
        else:
            merged[key] = _deep_merge(merged.get(key), value)
    return merged


def _merged_stores(
    base: Mapping[str, Any], overrides: Mapping[str, Any], *, name: str, file: Any
) -> dict[str, Any]:
    stores = dict(base)
    for store, table in overrides.items():
        if not isinstance(table, Mapping) or "type" in table:
            stores[store] = table  # replaced whole (or not a table: validation says so)
            continue
        if not isinstance(stores.get(store), Mapping):
            raise ConfigError(
                file=file,
                field=f"tool.datanectar.{ENVIRONMENTS_KEY}.{name}.stores.{store}.type",
                problem=f"the environment overrides settings of store '{store}', which the base "
                "settings do not declare, and gives no type.",
                fix=f'add type = "..." to [tool.datanectar.{ENVIRONMENTS_KEY}.{name}.stores.'
                f"{store}] to declare the store in this environment, or declare it in "
                f"[tool.datanectar.stores.{store}].",
            )
        stores[store] = _deep_merge(stores[store], table)
    return stores


def _deep_merge(base: Any, override: Any) -> Any:
    if not (isinstance(base, Mapping) and isinstance(override, Mapping)):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _deep_merge(merged.get(key), value)
    return merged


def given_by(environment: Mapping[str, Any], path: list[Any]) -> bool:
    """Whether the value at `path` of the merged settings (or the store or table holding it)
    is the environment's: then errors about it name the environment's field."""
    node: Any = environment
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
        if isinstance(node, Mapping) and "type" in node and path[:1] == ["stores"]:
            return True  # a store the environment replaced: all its fields are the environment's
    return True
