"""Importing a project's configured modules, to find the functions that produce its entries."""

from __future__ import annotations

import importlib
import sys

from .config import ProjectConfig
from .errors import ConfigError
from .producers import Producer, producers_in


def import_producers(config: ProjectConfig, module_names: list[str]) -> list[Producer]:
    # Project modules (demo.pipelines, ...) are imported from the project root, as a script
    # run from there would import them.
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    producers: list[Producer] = []
    for index, module_name in enumerate(module_names):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                file=config.pyproject,
                field=f"tool.datanectar.modules[{index}]",
                problem=f"module '{module_name}' could not be imported: {exc}.",
                fix="check the module name and that it is importable from the project root.",
            ) from exc
        producers.extend(producers_in(module))
    return producers
