"""Cache keys: a canonical, stable serialization of a call's cache arguments, hashed.

Two calls share a key exactly when they name the same function (module and qualified name),
the same namespace and equal cache-argument values: argument order, dict order, tuple vs list,
numpy vs Python scalars and integral floats vs ints do not matter; `str()` is never used,
so `"1"` and `1` differ. A value that has no canonical form is an error, never "no caching".
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import math
import pathlib
import uuid
from collections.abc import Mapping
from typing import Any

from ..errors import DatanectarError

KEY_LENGTH = 16


class CacheKeyError(DatanectarError, TypeError):
    """A cache argument value that cannot be keyed."""


def cache_key(function: str, arguments: Mapping[str, Any], namespace: str | None = None) -> str:
    """The hex key of one call: sha256 of its canonical form, shortened."""
    return key_of_canonical(function, canonical_arguments(function, arguments), namespace)


def key_of_canonical(
    function: str, arguments: Mapping[str, Any], namespace: str | None = None
) -> str:
    """The key of a call whose arguments are in canonical form already (as definition
    metadata carries a function's defaults)."""
    text = json.dumps(
        {"f": function, "a": dict(arguments), "n": namespace},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def canonical_arguments(function: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Each argument in canonical form; an error naming the argument that has none."""
    canonical_form = {}
    for name, value in arguments.items():
        try:
            canonical_form[name] = canonical(value)
        except CacheKeyError as exc:
            raise CacheKeyError(
                f"{function}: cache argument '{name}' cannot be part of a cache key: {exc}. "
                "Fix: pass a value of a plain type (str, int, float, bool, None, date/time, "
                "list/tuple/dict/set of those), or leave the argument out of cache_args."
            ) from None
    return canonical_form


def canonical(value: Any) -> Any:
    """A JSON-ready form that is equal for equal values, whatever their spelling."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"float": repr(value)}
        return int(value) if value.is_integer() else value
    if isinstance(value, enum.Enum):
        return {"enum": f"{type(value).__qualname__}.{value.name}"}
    if isinstance(value, Mapping):
        keys = [canonical(key) for key in value]
        if not all(isinstance(key, str) for key in keys):
            return {
                "map": sorted(([canonical(k), canonical(v)] for k, v in value.items()), key=_order)
            }
        return {str(canonical(key)): canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, set | frozenset):
        return {"set": sorted((canonical(item) for item in value), key=_order)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"timedelta": value.total_seconds()}
    if isinstance(value, decimal.Decimal):
        return (
            canonical(int(value))
            if value == value.to_integral_value()
            else {"decimal": str(value.normalize())}
        )
    if isinstance(value, pathlib.PurePath):
        return {"path": value.as_posix()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    return _foreign(value)


def _foreign(value: Any) -> Any:
    """numpy and pandas scalars, without importing either."""
    module = type(value).__module__.split(".")[0]
    if module == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return canonical(value.item())
    if module == "pandas" and hasattr(value, "to_pydatetime"):
        return canonical(value.to_pydatetime())
    raise CacheKeyError(f"a value of type {type(value).__module__}.{type(value).__qualname__}")


def _order(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)
