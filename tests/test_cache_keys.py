"""Cache keys are injective and spelling-blind: distinct values never share a key, equal
values (however spelled) always do. The pairs that collided once, then a property test."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datanectar.cache.keys import cache_key

UTC = dt.UTC
PARIS_WINTER = dt.timezone(dt.timedelta(hours=1))


def key(value: Any) -> str:
    return cache_key("m.f", {"x": value})


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (float("nan"), {"float": "nan"}),
        (np.datetime64("NaT"), None),
        (np.datetime64(1704067200000000001, "ns"), 1704067200000000001),
        ({"datetime": "2024-01-01T00:00:00"}, dt.datetime(2024, 1, 1)),
        ({"set": [1, 2]}, {1, 2}),
        ({"map": [["a", 1]]}, {"a": 1}),
        (pd.Timestamp("2024-01-01 00:00:00.000000001"), pd.Timestamp("2024-01-01")),
        (np.timedelta64(1, "ns"), dt.timedelta(0)),
        (dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 1, 12, tzinfo=UTC)),  # naive, aware
        (pd.NaT, None),
        (float("inf"), {"float": "inf"}),
        ({"decimal": "0.1"}, __import__("decimal").Decimal("0.1")),
        (pd.Timedelta(1, "ns"), dt.timedelta(0)),
        (pd.Timedelta(1500, "ns"), pd.Timedelta(1000, "ns")),
        (__import__("decimal").Decimal("0.1"), 0.1),
    ],
    ids=[
        "nan-dict",
        "nat-none",
        "datetime64ns-int",
        "dict-datetime",
        "dict-set",
        "dict-map",
        "timestamp-ns",
        "ns-timedelta",
        "naive-aware",
        "pandas-nat-none",
        "inf-dict",
        "dict-decimal",
        "pandas-timedelta-ns",
        "pandas-timedelta-sub-us",
        "decimal-float-unequal",
    ],
)
def test_values_that_once_collided_have_two_keys(first, second):
    assert key(first) != key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            dt.datetime(2024, 1, 1, 12, tzinfo=UTC),
            dt.datetime(2024, 1, 1, 13, tzinfo=PARIS_WINTER),
        ),
        (pd.Timestamp("2024-01-01 12:00", tz="UTC"), dt.datetime(2024, 1, 1, 12, tzinfo=UTC)),
        (pd.Timestamp("2024-01-01"), dt.datetime(2024, 1, 1)),
        (np.datetime64("2024-01-01"), dt.datetime(2024, 1, 1)),
        (np.timedelta64(90, "s"), dt.timedelta(seconds=90)),
        (pd.Timedelta(minutes=1), dt.timedelta(seconds=60)),
        (2.0, 2),
        (np.float32(0.5), 0.5),
        (pd.Timedelta(1, "ns"), np.timedelta64(1, "ns")),
        (__import__("decimal").Decimal("0.5"), 0.5),
    ],
    ids=[
        "one-instant-two-zones",
        "pandas-utc",
        "pandas-naive",
        "datetime64",
        "timedelta64",
        "pandas-timedelta",
        "integral-float",
        "numpy-float",
        "pandas-numpy-ns",
        "decimal-float-equal",
    ],
)
def test_equal_values_share_one_key(first, second):
    assert key(first) == key(second)


# -- the property ------------------------------------------------------------------------------

# Values whose forms a key could confuse: every kind, and dicts spelled like tagged forms.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.datetimes(),
    st.datetimes(timezones=st.sampled_from([UTC, PARIS_WINTER])),
    st.dates(),
    st.timedeltas(),
)
TAGS = ["float", "set", "map", "datetime", "instant", "date", "timedelta", "nat", "decimal"]
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=4) | st.sampled_from(TAGS), inner, max_size=3),
        st.frozensets(st.integers() | st.text(max_size=4), max_size=4),
    ),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equality as keys mean it: Python's, except that bool is no number, a tuple is its
    list, nan equals nan, and naive and aware datetimes are never equal."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple | dict) or isinstance(b, list | tuple | dict):
        return False
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        return False  # a date is not a datetime (Python's == agrees; its subclassing does not)
    if isinstance(a, dt.datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        return False
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b
    if type(a) is not type(b) and not isinstance(a, dt.datetime):
        return False
    return a == b


@settings(max_examples=400, deadline=None)
@given(values, values)
def test_keys_are_equal_exactly_when_values_are(first, second):
    assert (key(first) == key(second)) == same(first, second)


def respelled(value: Any) -> Any:
    """An equal value spelled otherwise: tuples for lists, integral floats for ints, dicts in
    another order, aware datetimes in another zone."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) < 2**53:
        return float(value)
    if isinstance(value, list):
        return tuple(respelled(item) for item in value)
    if isinstance(value, tuple):
        return [respelled(item) for item in value]
    if isinstance(value, dict):
        return {k: respelled(value[k]) for k in reversed(list(value))}
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(PARIS_WINTER if value.utcoffset() == dt.timedelta(0) else UTC)
    return value


@settings(max_examples=300, deadline=None)
@given(values)
def test_an_equal_value_spelled_otherwise_has_the_same_key(value):
    assert key(respelled(value)) == key(value)
