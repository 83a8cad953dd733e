"""Cache keys: a canonical, stable serialization of a call's cache arguments, hashed.

Two calls share a key exactly when they name the same function (module and qualified name),
the same namespace and equal cache-argument values: argument order, dict order, tuple vs list,
numpy vs Python scalars, integral floats vs ints and time zones of one instant do not matter;
`str()` is never used, so `"1"` and `1` differ, and the canonical form is injective (a value
of one kind never takes the form of another: `float("nan")` and `{"float": "nan"}` are two
keys). A value that has no canonical form is an error, never "no caching".
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
    """A JSON-ready form that is equal for equal values, whatever their spelling, and never
    equal for different ones: str, int, bool and None are themselves (bool is no int); every
    other kind, mappings included, is an object with a single key naming the kind, so no
    value's form can look like another kind's. Equal values: integral floats and Decimals are
    their int, numpy and pandas scalars their Python value, an aware datetime its instant in
    UTC (the same instant in two time zones is one key)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"float": repr(value)}
        return int(value) if value.is_integer() else value
    if isinstance(value, enum.Enum):
        return {"enum": f"{type(value).__module__}.{type(value).__qualname__}.{value.name}"}
    if isinstance(value, Mapping):
        pairs = sorted(([canonical(k), canonical(v)] for k, v in value.items()), key=_order)
        return {"map": pairs}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, set | frozenset):
        return {"set": sorted((canonical(item) for item in value), key=_order)}
    if type(value).__module__.split(".")[0] == "pandas":
        return _foreign(value)  # Timestamp and Timedelta hold nanoseconds datetime's drop
    if isinstance(value, dt.datetime):
        return _datetime(value.isoformat() if value.tzinfo is None else None, value)
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"timedelta": [value.days, value.seconds, value.microseconds, 0]}
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return {"decimal": str(value)}
        if value == value.to_integral_value():
            return int(value)
        if decimal.Decimal(float(value)) == value:  # equal to a float (0.5): that float's key
            return float(value)
        return {"decimal": str(value.normalize())}
    if isinstance(value, pathlib.PurePath):
        return {"path": value.as_posix()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    return _foreign(value)


def _datetime(naive_iso: str | None, value: Any) -> dict[str, str]:
    """A naive datetime as written; an aware one as its instant (UTC): equal instants, one key.
    Naive and aware datetimes are never equal, so they are two kinds."""
    if naive_iso is not None:
        return {"datetime": naive_iso}
    return {"instant": value.astimezone(dt.UTC).isoformat()}


def _foreign(value: Any) -> Any:
    """numpy and pandas scalars, without importing either unless given one."""
    module = type(value).__module__.split(".")[0]
    if module == "numpy" and getattr(value, "ndim", 1) == 0:
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        if kind in "mM":  # datetime64 / timedelta64: item() gives an int at ns precision
            return _numpy_time(value, kind)
        if hasattr(value, "item"):
            item = value.item()
            if type(item).__module__.split(".")[0] != "numpy":  # longdouble stays numpy's
                return canonical(item)
    if module == "pandas":
        import pandas as pd

        if value is pd.NaT:
            return {"nat": "datetime"}
        if isinstance(value, pd.Timestamp):
            if value.tzinfo is None:
                return {"datetime": value.isoformat()}
            return {"instant": value.tz_convert("UTC").isoformat()}
        if isinstance(value, pd.Timedelta):
            return _timedelta_ns(value.value)
    raise CacheKeyError(f"a value of type {type(value).__module__}.{type(value).__qualname__}")


def _numpy_time(value: Any, kind: str) -> Any:
    import numpy as np

    if np.datetime_data(value.dtype)[0] in ("ps", "fs", "as"):
        raise CacheKeyError(f"a {value.dtype} value (finer than nanoseconds, which keys keep)")
    if np.isnat(value):
        return {"nat": "datetime" if kind == "M" else "timedelta"}
    import pandas as pd

    if kind == "M":
        return {"datetime": pd.Timestamp(value).isoformat()}
    return _timedelta_ns(int(value.astype("timedelta64[ns]").astype("int64")))


def _timedelta_ns(nanoseconds: int) -> dict[str, list[int]]:
    """A duration as [days, seconds, microseconds, nanoseconds], as datetime.timedelta counts."""
    microseconds, nanos = divmod(nanoseconds, 1000)
    delta = dt.timedelta(microseconds=microseconds)
    return {"timedelta": [delta.days, delta.seconds, delta.microseconds, nanos]}


def _order(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)
