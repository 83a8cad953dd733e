"""What a catalog rule checks, as a sentence the Dagster UI shows under the check's name.

`range: {air: [180, 340]}` reads "air between 180 and 340", not the rule's parsed value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..pictures import readable


def describe_rule(rule: Any) -> str:
    """One sentence, ending with a full stop, saying what `rule` requires."""
    if rule.custom is not None:
        return f"Custom check {rule.custom}."
    # not capitalized: a sentence may open with a column's name, which is kept as spelled
    return _DESCRIBERS[rule.kind](rule.value) + "."


def _bound(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return readable(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _range(pairs: dict[str, Any]) -> str:
    parts = []
    for name, (low, high) in pairs.items():
        if low is not None and high is not None:
            parts.append(f"{name} between {_bound(low)} and {_bound(high)}")
        elif low is not None:
            parts.append(f"{name} at least {_bound(low)}")
        else:
            parts.append(f"{name} at most {_bound(high)}")
    return _listed(parts)


def _row_count(spec: Any) -> str:
    if spec.min is not None and spec.max is not None:
        return f"between {spec.min} and {spec.max} rows"
    if spec.min is not None:
        return f"at least {spec.min} rows"
    if spec.max is not None:
        return f"at most {spec.max} rows"
    return "any number of rows"


def _not_null(columns: list[str]) -> str:
    return f"no missing values in {_listed(columns)}"


def _unique(columns: list[str]) -> str:
    if len(columns) == 1:
        return f"every {columns[0]} is unique"
    return f"every combination of {_listed(columns)} is unique"


def _values_in(allowed: dict[str, list[Any]]) -> str:
    return _listed(
        [
            f"{name} is one of {', '.join(_bound(value) for value in values)}"
            for name, values in allowed.items()
        ]
    )


def _dims(dims: dict[str, int | None]) -> str:
    shown = [
        name if length is None else f"{name} of length {length}" for name, length in dims.items()
    ]
    return f"dimensions {_listed(shown)}"


def _coords(names: list[str]) -> str:
    return f"coordinates {_listed(names)}"


def _variables(specs: dict[str, Any]) -> str:
    shown = []
    for name, spec in specs.items():
        details = ([spec.dtype] if spec.dtype else []) + [
            f"{key} {value}" for key, value in (spec.model_extra or {}).items()
        ]
        shown.append(f"{name} ({', '.join(details)})" if details else name)
    return f"variables {_listed(shown)}"


def _max_nan_fraction(limits: dict[str, float]) -> str:
    return _listed([f"at most {limit:.4g} of {name} is NaN" for name, limit in limits.items()])


def _sql(rule: Any) -> str:
    expect = rule.expect
    if expect.empty:
        gives = "no rows"
    elif expect.non_empty:
        gives = "at least one row"
    elif expect.equals is not None:
        gives = f"{_bound(expect.equals)}"
    elif expect.min is not None and expect.max is not None:
        gives = f"a value between {_bound(expect.min)} and {_bound(expect.max)}"
    elif expect.min is not None:
        gives = f"a value of at least {_bound(expect.min)}"
    else:
        gives = f"a value of at most {_bound(expect.max)}"
    return f"the query `{rule.query}` gives {gives}"


def _listed(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


_DESCRIBERS: dict[str, Callable[[Any], str]] = {
    "range": _range,
    "row_count": _row_count,
    "not_null": _not_null,
    "unique": _unique,
    "values_in": _values_in,
    "dims": _dims,
    "coords": _coords,
    "variables": _variables,
    "max_nan_fraction": _max_nan_fraction,
    "sql": _sql,
}
