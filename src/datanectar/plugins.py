"""Plug-in registries: names to lazily imported objects, filled from entry point groups.

Formats (`datanectar.formats`) and stores (`datanectar.stores`) are found the way xarray finds
its backends: each installed distribution declares `name = "module:attribute"` in an entry
point group, datanectar's own built-ins included, and nothing is imported until a name is
used. Entry points are read once per process, on the first lookup. `register` adds one in
this process (a notebook's or a test's own), refusing to replace a name unless told to.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from .errors import PluginError

REGISTERED = "registered with register() in this process"


class PluginWarning(UserWarning):
    """An installed plug-in that is ignored (it takes a built-in's name)."""


@dataclass(frozen=True)
class Plugin:
    name: str
    value: str
    """'module:attribute', imported on first use."""
    origin: str
    """Who declared it: datanectar, a distribution and its entry point group, or register()."""
    distribution: str | None = None
    """The distribution whose entry point declared it, if one did."""
    conflict: str | None = None
    """Set when two declare the name differently: using it is then an error, saying so."""


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
        if plugin.conflict is not None:
            raise PluginError(plugin.conflict)
        module_name, _, attribute = plugin.value.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except Exception as exc:  # a module that fails at import, whatever it raises
            raise PluginError(
                f"the {self.kind} '{name}' ({plugin.origin}) names {plugin.value!r}, which cannot be imported: "
                f"{type(exc).__name__}: {exc}. Fix: "
                + (
                    "correct the 'module:attribute' given to register()."
                    if plugin.origin == REGISTERED
                    else f"reinstall {plugin.distribution or 'datanectar'}, or correct its "
                    "entry point."
                )
            ) from exc
        self._loaded[name] = found
        return found

    def load_class(self, name: str, base: type, base_name: str) -> Any:
        """`load`, checked to be a concrete subclass of `base` (named `base_name` in errors)."""
        found = self.load(name)
        where = self.where(name)
        if not (isinstance(found, type) and issubclass(found, base)):
            raise PluginError(
                f"{where} is {found!r}, not a subclass of {base_name}. Fix: point its entry "
                "point at the class."
            )
        if inspect.isabstract(found):
            missing = ", ".join(sorted(found.__abstractmethods__))
            raise PluginError(
                f"{where}: {found.__name__} does not implement {missing}. Fix: add them."
            )
        return found

    def where(self, name: str) -> str:
        """`the format 'npy' (distribution nectar-extras, ...)`, for errors about a plug-in."""
        return f"the {self.kind} '{name}' ({self.origin(name)})"

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
            plugins[name] = Plugin(name, value, REGISTERED)
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
            name: Plugin(name, value, "built into datanectar")
            for name, value in self._built_ins.items()
        }
        for point in importlib.metadata.entry_points(group=self.group):
            dist = point.dist.name if point.dist is not None else "an unnamed distribution"
            origin = f"distribution {dist}, entry point group '{self.group}'"
            known = plugins.get(point.name)
            if known is not None and known.value != point.value and known.distribution is None:
                # A plug-in cannot take a built-in's name: the built-in stays what every
                # project using the name means, and the plug-in's author is told.
                warnings.warn(
                    f"the {self.kind} entry point '{point.name}' = {point.value!r} ({origin}) "
                    f"is ignored: '{point.name}' is a {self.kind} built into datanectar. Fix: "
                    f"rename the entry point of {dist}.",
                    PluginWarning,
                    stacklevel=2,
                )
            elif known is not None and known.value != point.value:
                # Only projects using the name fail: another distribution's mistake must not
                # break every project on the machine.
                conflict = (
                    f"two {self.kind}s are named '{point.name}': {known.value!r} "
                    f"({known.origin}) and {point.value!r} ({origin}). Fix: uninstall one of "
                    "them, or rename its entry point."
                )
                plugins[point.name] = dataclasses.replace(known, conflict=conflict)
            elif known is None:
                plugins[point.name] = Plugin(point.name, point.value, origin, dist)
        return plugins
