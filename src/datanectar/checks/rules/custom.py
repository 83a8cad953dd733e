"""Custom checks: `custom: module.path:function`, imported (never evaluated as text) and
called with the value and the rule's `options`.

The function returns a bool, a `(bool, metadata)` pair, a mapping with `passed` (and optional
`metadata`, `error_count`), or a `CheckResult`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ...catalog.rules import Rule
from ...errors import DatanectarError, did_you_mean
from ...stores.base import scrub
from ..results import CheckFailure, CheckResult, check_error


class CustomCheckError(DatanectarError):
    """A custom check that cannot be found or returned something unusable."""


def resolve_custom(target: str) -> Callable[..., Any]:
    """The function a `custom: module:function` rule names (imported when the catalog loads,
    so a wrong name is a catalog error, not a failed run)."""
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # a syntax error, a failing import, an exit
        raise CustomCheckError(
            f"custom check '{target}': module '{module_name}' cannot be imported: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        functions = [name for name, value in vars(module).items() if callable(value)]
        raise CustomCheckError(
            f"custom check '{target}': module '{module_name}' has no function "
            f"'{function_name}'.{did_you_mean(function_name, functions)}"
        )
    return function


def evaluate_custom_rule(rule: Rule, value: Any, *, secrets: tuple[str, ...] = ()) -> CheckResult:
    """The rule's verdict on `value`. A check that raises, or returns something that is no
    verdict, has failed (`check-error`): at warn level the value is still published."""
    function = resolve_custom(str(rule.custom))
    try:
        outcome = function(value, **rule.options)
    except Exception as exc:  # the check's own failure is its verdict, not the step's
        told = scrub(f"raised {type(exc).__name__}: {exc}", secrets)
        return _check_error(rule, _shortened(told))
    if isinstance(outcome, CheckResult):
        return replace(outcome, metadata=_masked(dict(outcome.metadata), secrets))
    metadata: Any = {}
    if isinstance(outcome, tuple) and len(outcome) == 2:
        passed, metadata = outcome
    elif isinstance(outcome, Mapping) and "passed" in outcome:
        passed, metadata = outcome["passed"], outcome.get("metadata", {})
    else:
        passed = outcome
    verdict = _as_bool(passed)
    if verdict is None or not isinstance(metadata, Mapping):
        shown = _type_name(passed if verdict is None else metadata)
        return _check_error(
            rule,
            f"returned {shown}; return a bool (numpy's too), (bool, metadata), "
            "{'passed': bool, 'metadata': {...}} or a CheckResult",
        )
    count = (
        int(outcome.get("error_count", 0 if verdict else 1))
        if isinstance(outcome, Mapping)
        else (0 if verdict else 1)
    )
    failures = [] if verdict else [CheckFailure(type="custom", message=f"{rule.custom} failed")]
    return CheckResult(
        name=rule.check_name,
        passed=verdict,
        error_count=count,
        errors_by_type={} if verdict else {"custom": count},
        failures=failures,
        metadata=_masked(dict(metadata), secrets),
        cut=False,  # its error_count is the check's own; its one failure stands for them
    )


def _masked(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` with the stores' secrets masked in every text it holds."""
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, Mapping):
        return {key: _masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, secrets) for item in value]
    return value


def _as_bool(passed: Any) -> bool | None:
    """A Python or numpy boolean (a 0-d array of one too, as `(frame.v > 0).all()` or
    `(grid > 0).all()` give); None for anything else (1, None, a 1-element array...)."""
    if isinstance(passed, bool | np.bool_):
        return bool(passed)
    dtype = getattr(passed, "dtype", None)
    if (
        dtype is not None
        and getattr(dtype, "kind", None) == "b"
        and getattr(passed, "ndim", 1) == 0
    ):
        return bool(passed)
    return None


def _type_name(value: Any) -> str:
    kind = type(value)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    shape = getattr(value, "shape", None)
    return f"{name} of shape {shape}" if shape else name


def _check_error(rule: Rule, problem: str) -> CheckResult:
    return check_error(rule.check_name, f"custom check {rule.custom} {problem}")


def _shortened(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
