"""`datanectar.definitions()`: the whole project as one Dagster `Definitions` object."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import dagster as dg

from ..project import Catalog
from .build import build_assets
from .features import chosen_for_users
from .io_manager import FormatIOManager, io_manager_key
from .jobs import source_checks
from .sensors import namespace_sensors


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
    formats_used = sorted({str(entry.format) for entry in catalog.entries.values()})
    resources = {
        io_manager_key(name): FormatIOManager(format=name, project_dir=str(catalog.config.root))
        for name in formats_used
    }
    executor = (
        dg.in_process_executor
        if catalog.config.settings.executor == "in_process"
        else dg.multiprocess_executor
    )
    assets, checks = build_assets(catalog)
    jobs, schedules = source_checks(catalog)
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        resources=resources,
        executor=executor,
        jobs=jobs,
        schedules=schedules,
        sensors=namespace_sensors(catalog),
    )
