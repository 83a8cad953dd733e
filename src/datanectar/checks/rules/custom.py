"""Custom checks: `custom: module.path:function`, imported (never evaluated as text) and
called with the value and the rule's `options`.

The function returns a bool, a `(bool, metadata)` pair, a mapping with `passed` (and optional
`metadata`, `error_count`), or a `CheckResult`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ...catalog.rules import Rule
from ...errors import DatanectarError, did_you_mean
from ..results import CheckFailure, CheckResult


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


def evaluate_custom_rule(rule: Rule, value: Any) -> CheckResult:
    outcome = resolve_custom(str(rule.custom))(value, **rule.options)
    if isinstance(outcome, CheckResult):
        return outcome
    metadata: Mapping[str, Any] = {}
    if isinstance(outcome, tuple) and len(outcome) == 2:
        passed, metadata = outcome
    elif isinstance(outcome, Mapping) and "passed" in outcome:
        passed, metadata = outcome["passed"], outcome.get("metadata", {})
    else:
        passed = outcome
    if getattr(passed, "dtype", None) is not None and passed.dtype.kind == "b" and passed.ndim == 0:
        passed = bool(passed)  # numpy's bool, as `(frame.v > 0).all()` gives
    if not isinstance(passed, bool):
        raise CustomCheckError(
            f"custom check '{rule.custom}' returned {type(outcome).__name__}; return a bool, "
            "(bool, metadata), {'passed': bool, 'metadata': {...}} or a CheckResult"
        )
    count = (
        int(outcome.get("error_count", 0 if passed else 1))
        if isinstance(outcome, Mapping)
        else (0 if passed else 1)
    )
    failures = [] if passed else [CheckFailure(type="custom", message=f"{rule.custom} failed")]
    return CheckResult(
        name=rule.check_name,
        passed=passed,
        error_count=count,
        errors_by_type={} if passed else {"custom": count},
        failures=failures,
        metadata=dict(metadata),
    )
