"""Plug-in registries: names to lazily imported objects, filled from entry point groups.

Formats (`datanectar.formats`) and stores (`datanectar.stores`) are found the way xarray finds
its backends: each installed distribution declares `name = "module:attribute"` in an entry
point group, datanectar's own built-ins included, and nothing is imported until a name is
used. Entry points are read once per process, on the first lookup. `register` adds one in
this process (a notebook's or a test's own), refusing to replace a name unless told to.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading
from dataclasses import dataclass
from typing import Any

from .errors import PluginError


@dataclass(frozen=True)
class Plugin:
    name: str
    value: str
    """'module:attribute', imported on first use."""
    origin: str
    """Who declared it: a distribution's name, or 'register()'."""


class PluginRegistry:
    """One entry point group's plug-ins, by name."""

    def __init__(self, group: str, *, kind: str, built_ins: dict[str, str]) -> None:
        self.group = group
        self.kind = kind
        """What a plug-in is ('format', 'store type'), for messages."""
        self._built_ins = built_ins
        self._plugins: dict[str, Plugin] | None = None
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return sorted(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def load(self, name: str) -> Any:
        """The object registered as `name`, imported on first use; KeyError if none is."""
        found = self._loaded.get(name)
        if found is not None:
            return found
        plugin = self._all()[name]
        module_name, _, attribute = plugin.value.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise PluginError(
                f"the {self.kind} '{name}' (entry point group '{self.group}', from "
                f"{plugin.origin}) names {plugin.value!r}, which cannot be imported: "
                f"{type(exc).__name__}: {exc}. Fix: reinstall {plugin.origin}, or correct its "
                "entry point."
            ) from exc
        self._loaded[name] = found
        return found

    def origin(self, name: str) -> str:
        """Who declared `name`: a distribution, or 'register()'."""
        return self._all()[name].origin

    def register(self, name: str, value: str, *, clobber: bool = False) -> None:
        """Add a plug-in in this process, as 'module:attribute'."""
        if ":" not in value:
            raise ValueError(f"{self.kind} '{name}': {value!r} is not 'module:attribute'")
        plugins = self._all()
        if name in plugins and not clobber and plugins[name].value != value:
            raise PluginError(
                f"a {self.kind} named '{name}' is registered already (from "
                f"{plugins[name].origin}); pass clobber=True to replace it."
            )
        with self._lock:
            plugins[name] = Plugin(name, value, "register()")
            self._loaded.pop(name, None)

    def refresh(self) -> None:
        """Read the entry points again (after installing a distribution in this process)."""
        with self._lock:
            self._plugins = None
            self._loaded.clear()

    def _all(self) -> dict[str, Plugin]:
        plugins = self._plugins
        if plugins is None:
            with self._lock:
                if self._plugins is None:
                    self._plugins = self._discover()
                plugins = self._plugins
        return plugins

    def _discover(self) -> dict[str, Plugin]:
        # The built-ins stand even when datanectar runs from a source tree whose distribution
        # metadata is missing or older than the code.
        plugins = {
            name: Plugin(name, value, "datanectar") for name, value in self._built_ins.items()
        }
        for point in importlib.metadata.entry_points(group=self.group):
            origin = point.dist.name if point.dist is not None else "an unnamed distribution"
            known = plugins.get(point.name)
            if known is not None and known.value != point.value:
                raise PluginError(
                    f"two {self.kind}s are named '{point.name}' (entry point group "
                    f"'{self.group}'): {known.value!r} from {known.origin} and {point.value!r} "
                    f"from {origin}. Fix: uninstall one of them, or rename its entry point."
                )
            plugins[point.name] = Plugin(point.name, point.value, known.origin if known else origin)
        return plugins
