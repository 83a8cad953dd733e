"""The xarray rules (dims, coords, variables, range, max_nan_fraction).

Counting reductions run through dask on lazy data, chunk by chunk, so a grid larger than
memory is checked without being loaded whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...catalog.range_bounds import parse_bounds
from ...catalog.rules import Rule
from ..results import CheckFailure, CheckResult
from .ranges import TypeMismatch, grid_outside, observed


def evaluate_grid_rule(rule: Rule, grid: Any, *, cap: int | None) -> CheckResult:
    seen: dict[str, Any] = {}
    if rule.kind == "range":
        failures, count = _range(rule.value, _as_dataset(grid), seen=seen)
    else:
        failures, count = _RULES[rule.kind](rule.value, _as_dataset(grid))
    by_type: dict[str, int] = {}
    for failure, weight in failures:
        by_type[failure.type] = by_type.get(failure.type, 0) + weight
    kept = [failure for failure, _ in failures]
    return CheckResult(
        name=rule.check_name,
        passed=count == 0,
        error_count=count,
        errors_by_type=by_type,
        failures=kept if cap is None else kept[:cap],
        cut=cap is not None and len(kept) > cap,  # one failure may stand for many errors
        metadata=seen,
    )


Found = tuple[list[tuple[CheckFailure, int]], int]


def _dims(expected: dict[str, int | None], grid: Any) -> Found:
    failures = []
    for dim, length in expected.items():
        if dim not in grid.sizes:
            failures.append(_one("missing-dimension", f"no dimension '{dim}'", dim))
        elif length is not None and grid.sizes[dim] != length:
            failures.append(
                _one(
                    "dimension-length",
                    f"dimension '{dim}' has length {grid.sizes[dim]}, expected {length}",
                    dim,
                )
            )
    return failures, len(failures)


def _coords(expected: list[str], grid: Any) -> Found:
    failures = [
        _one("missing-coordinate", f"no coordinate '{name}'", name)
        for name in expected
        if name not in grid.coords
    ]
    return failures, len(failures)


def _variables(expected: dict[str, Any], grid: Any) -> Found:
    failures = []
    for name, spec in expected.items():
        if name not in grid.variables:
            failures.append(_one("missing-variable", f"no variable '{name}'", name))
            continue
        variable = grid[name]
        if spec.dtype is not None and str(variable.dtype) != spec.dtype:
            failures.append(
                _one(
                    "dtype-mismatch",
                    f"variable '{name}' is {variable.dtype}, expected {spec.dtype}",
                    name,
                )
            )
        for attribute, value in (spec.model_extra or {}).items():
            actual = variable.attrs.get(attribute)
            if actual != value:
                failures.append(
                    _one(
                        "attribute-mismatch",
                        f"variable '{name}' has {attribute}={actual!r}, expected {value!r}",
                        name,
                    )
                )
    return failures, len(failures)


def _range(pairs: dict[str, Any], grid: Any, *, seen: dict[str, Any] | None = None) -> Found:
    """The values outside each variable's bounds; `seen` gets the observed min and max
    (how close the data came to the bounds, worth seeing on a pass too), reduced in the
    same pass over the data as the count."""
    failures, count = [], 0
    for name, bounds in {c: parse_bounds(pair) for c, pair in pairs.items()}.items():
        if name not in grid.variables:
            failures.append(_one("missing-variable", f"no variable '{name}'", name))
            count += 1
            continue
        try:
            outside = grid_outside(grid[name], bounds)
        except TypeMismatch:
            needs = "numbers" if bounds.kind == "number" else "datetime64 values"
            failures.append(
                _one(
                    "type-mismatch",
                    f"variable '{name}' is {grid[name].dtype}: range {bounds.describe()} "
                    f"needs {needs}",
                    name,
                )
            )
            count += 1
            continue
        reductions = [outside.sum()]
        if seen is not None and grid[name].size:
            reductions += [grid[name].min(), grid[name].max()]
        if hasattr(outside.data, "compute"):
            import dask

            reductions = list(dask.compute(*reductions))
        n = int(reductions[0])
        if len(reductions) == 3 and seen is not None:
            seen.update(observed(reductions[1].values[()], reductions[2].values[()], name))
        if n:
            failures.append(
                (
                    CheckFailure(
                        type="out-of-range",
                        message=f"{n} values of '{name}' lie outside {bounds.describe()}",
                        field_name=name,
                    ),
                    n,
                )
            )
            count += n
    return failures, count


def _max_nan_fraction(limits: dict[str, float], grid: Any) -> Found:
    failures = []
    for name, limit in limits.items():
        if name not in grid.variables:
            failures.append(_one("missing-variable", f"no variable '{name}'", name))
            continue
        fraction = grid[name].isnull().mean()
        fraction = float(fraction.compute() if hasattr(fraction.data, "compute") else fraction)
        if fraction > limit:
            failures.append(
                _one(
                    "nan-fraction",
                    f"{fraction:.2%} of '{name}' is NaN, more than {limit:.2%}",
                    name,
                )
            )
    return failures, len(failures)


def _one(error_type: str, message: str, name: str) -> tuple[CheckFailure, int]:
    return CheckFailure(type=error_type, message=message, field_name=name), 1


def _as_dataset(grid: Any) -> Any:
    return (
        grid.to_dataset(name=grid.name or "values")
        if hasattr(grid, "to_dataset") and not hasattr(grid, "data_vars")
        else grid
    )


_RULES: dict[str, Callable[[Any, Any], Found]] = {
    "dims": _dims,
    "coords": _coords,
    "variables": _variables,
    "range": _range,
    "max_nan_fraction": _max_nan_fraction,
}
