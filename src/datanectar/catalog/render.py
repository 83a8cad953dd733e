"""Jinja2 rendering of catalog files, sandboxed and bounded, with undefined names as errors."""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jinja2 import FunctionLoader, StrictUndefined, TemplateError, UndefinedError

from ..errors import CatalogError, did_you_mean
from . import bounds
from .sandbox import BoundedEnvironment

_MISSING = object()
_UNDEFINED = re.compile(r"'(\w+)' is undefined")
# libyaml parses catalogs several times faster than PyYAML's pure-Python parser, into the same
# values (the constructor, which builds them, is PyYAML's either way).
_FAST_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
# Where an alias (*name) can start: after a space, a flow indicator or ':'. A '*' inside a word
# or a quoted path ('data/*.csv') cannot, so such documents skip the alias count.
_ALIAS = re.compile(r"(?:^|[\s\[{,:])\*")


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
    """The file's text rendered, within the time and size bounds of catalog/bounds.py."""
    environment = BoundedEnvironment(
        bounds.Budget(),
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
        # render() joins the output with environment.concat, which streams it within bounds.
        return environment.get_template(display).render(**variables)
    except bounds.BoundExceeded as exc:
        raise _error_at(exc, text, display, exc.problem, exc.fix, line=exc.line) from None
    except RecursionError as exc:  # a macro calling itself without end: not worth a traceback
        raise _error_at(
            exc,
            text,
            display,
            "Jinja2 template recursion is too deep.",
            "make the macro (or include) that calls itself stop sooner.",
        ) from None
    except _EnvironmentVariableMissing as exc:
        raise _error_at(
            exc,
            text,
            display,
            f"environment variable '{exc.name}' is not set.",
            f'set {exc.name}, or give a default: env("{exc.name}", "...").',
        ) from None
    except UndefinedError as exc:
        undefined = _UNDEFINED.match(exc.message or "")
        known = [*variables, *environment.globals]
        hint = did_you_mean(undefined.group(1), known) if undefined else ""
        raise _error_at(
            exc,
            text,
            display,
            f"Jinja2 variable undefined: {exc.message}.{hint}",
            "define it in the configuration folder's globals.yaml or locals.yaml.",
        ) from None
    except TemplateError as exc:
        problem = f"Jinja2 template error: {str(exc).rstrip('.')}."
        raise _error_at(exc, text, display, problem, line=getattr(exc, "lineno", None)) from None
    except Exception as exc:  # 1/0, an overflow, a method that raised: the template's fault
        problem = f"Jinja2 template raised {type(exc).__name__}: {exc}."
        raise _error_at(exc, text, display, problem) from None


def _error_at(
    exc: BaseException,
    text: str,
    display: str,
    problem: str,
    fix: str = "",
    line: int | None = None,
) -> CatalogError:
    """The error at the template line that raised (else `line`), and the entry holding it."""
    line = _template_line(exc, display) or line
    return CatalogError(
        file=display, line=line, entry=_entry_at(text, line), problem=problem, fix=fix
    )


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
        if raw and not raw[0].isspace() and not raw.startswith(("#", "{")) and ":" in raw:
            return raw.split(":", 1)[0].strip().strip("'\"") or None
    return None


def parse_yaml(text: str, *, display: str | Path, stage: str = "") -> Any:
    """YAML (safe loader only), with a parse error naming the file and line.

    Documents whose aliases would expand past bounds.YAML_ALIAS_EXPANSION are refused.
    """
    try:
        return _load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogError(
            file=display,
            line=mark.line + 1 if mark else None,
            problem=f"invalid YAML{stage}: {getattr(exc, 'problem', exc)}.",
        ) from None
    except bounds.BoundExceeded as exc:
        raise CatalogError(file=display, line=exc.line, problem=exc.problem, fix=exc.fix) from None


def _load_yaml(text: str) -> Any:
    try:
        return _compose_and_construct(text, _FAST_LOADER)
    except yaml.YAMLError:
        if _FAST_LOADER is yaml.SafeLoader:
            raise
        # libyaml's messages are vaguer ("found character that cannot start any token", not
        # which character): let PyYAML give the message (and the verdict) it always gave.
        return _compose_and_construct(text, yaml.SafeLoader)


def _compose_and_construct(text: str, loader_class: type) -> Any:
    """yaml.load, with the alias bound checked between composing and constructing."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _ALIAS.search(text):  # without an alias, there is nothing to expand
            bounds.check_yaml_aliases(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


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
