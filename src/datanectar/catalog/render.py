"""Jinja2 rendering of catalog files, sandboxed, with undefined names as errors."""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jinja2 import FunctionLoader, StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from ..errors import CatalogError

_MISSING = object()


class _EnvironmentVariableMissing(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _env(name: str, default: Any = _MISSING) -> Any:
    """`{{ env("NAME", "default") }}`: an environment variable, required unless defaulted."""
    value = os.environ.get(name)
    if value is None:
        if default is _MISSING:
            raise _EnvironmentVariableMissing(name)
        return default
    return value


def load_variables(configuration_dir: Path | None) -> dict[str, Any]:
    """globals.yaml, overridden key by key (recursively) by the git-ignored locals.yaml."""
    if configuration_dir is None or not configuration_dir.is_dir():
        return {}
    merged: dict[str, Any] = {}
    for stem in ("globals", "locals"):
        for suffix in (".yaml", ".yml"):
            path = configuration_dir / f"{stem}{suffix}"
            if path.is_file():
                merged = _deep_merge(merged, _read_mapping(path))
    return merged


def render(path: Path, text: str, variables: Mapping[str, Any], *, display: str) -> str:
    environment = SandboxedEnvironment(
        # The loader names the template after its file, so the frames Jinja2 rewrites point
        # at it and errors can give the catalog line.
        loader=FunctionLoader(
            lambda name: (text, display, lambda: True) if name == display else None
        ),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.globals["env"] = _env
    try:
        return environment.get_template(display).render(**variables)
    except _EnvironmentVariableMissing as exc:
        line = _template_line(exc, display)
        raise CatalogError(
            file=display,
            line=line,
            entry=_entry_at(text, line),
            problem=f"environment variable '{exc.name}' is not set.",
            fix=f'set {exc.name}, or give a default: env("{exc.name}", "...").',
        ) from None
    except UndefinedError as exc:
        line = _template_line(exc, display)
        raise CatalogError(
            file=display,
            line=line,
            entry=_entry_at(text, line),
            problem=f"Jinja2 variable undefined: {exc.message}.",
            fix="define it in the configuration folder's globals.yaml or locals.yaml.",
        ) from None
    except TemplateError as exc:
        line = _template_line(exc, display) or getattr(exc, "lineno", None)
        raise CatalogError(
            file=display,
            line=line,
            entry=_entry_at(text, line),
            problem=f"Jinja2 template error: {str(exc).rstrip('.')}.",
        ) from None


def _template_line(exc: BaseException, template_name: str) -> int | None:
    """The template line that raised, from the frames Jinja2 rewrites to point into it."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == template_name:
            line = frame.lineno
    return line


def _entry_at(text: str, line: int | None) -> str | None:
    """The top-level key (entry name) whose block holds `line` of the raw file."""
    if line is None:
        return None
    for raw in reversed(text.splitlines()[:line]):
        if raw and not raw[0].isspace() and not raw.startswith(("#", "{%", "{#")) and ":" in raw:
            return raw.split(":", 1)[0].strip().strip("'\"") or None
    return None


def parse_yaml(text: str, *, display: str | Path, stage: str = "") -> Any:
    """YAML (safe loader only), with a parse error naming the file and line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogError(
            file=display,
            line=mark.line + 1 if mark else None,
            problem=f"invalid YAML{stage}: {getattr(exc, 'problem', exc)}.",
        ) from None


def _read_mapping(path: Path) -> dict[str, Any]:
    data = parse_yaml(path.read_text(encoding="utf-8"), display=path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CatalogError(
            file=path, problem=f"expected a mapping of variables, got {type(data).__name__}."
        )
    return data


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged
