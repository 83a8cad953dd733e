"""`datanectar.definitions()`: the whole project as one Dagster `Definitions` object."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import dagster as dg

from ..automation.definitions import automation_definitions
from ..formats import format_names
from ..project import Catalog
from .build import build_assets
from .executors import executor_for
from .features import chosen_for_users
from .format_io_managers import io_manager_for
from .io_manager import io_manager_key
from .sensors import namespace_sensors, single_run_assets


def definitions(
    project: Path | str | None = None,
    *,
    functions: Iterable[Callable[..., Any]] | None = None,
    modules: Iterable[str] | None = None,
) -> dg.Definitions:
    """Assets, IO managers and executor for the project at `project` (or above the cwd)."""
    catalog = Catalog.open(project, functions=functions, modules=modules)
    return definitions_for(catalog)


def definitions_for(catalog: Catalog) -> dg.Definitions:
    with chosen_for_users():
        return _definitions(catalog)


def _definitions(catalog: Catalog) -> dg.Definitions:
    # Every format's IO manager, used by the catalog or not: a user's own assets merged into
    # these definitions may store themselves in any of them.
    resources = {
        io_manager_key(name): io_manager_for(name, project_dir=str(catalog.config.root))
        for name in format_names()
    }
    for store in catalog.stores.values():
        resources.update(store.dagster_resources())
    executor = executor_for(catalog.config)
    assets, checks = build_assets(catalog)
    automation = automation_definitions(catalog, assets, checks)
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        resources=resources,
        executor=executor,
        jobs=automation.jobs,
        schedules=automation.schedules,
        sensors=[*namespace_sensors(catalog, single_run_assets(assets)), *automation.sensors],
    )
