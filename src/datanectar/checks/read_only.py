"""The value a custom check is handed: one it cannot change.

A check judges what is published, and is published only if it passes; so whatever a check
does to its argument must reach neither the store (the value is written while it is audited)
nor the checks after it. Each custom check gets its own view, as cheap as the library allows:

- pandas objects: a deep copy. A shallow one is not enough: copy-on-write guards `v[...] =`
  and `.loc`, but `Series.array` hands out the shared memory itself. Copying costs a memcpy
  (3 ms for a million rows of five columns here, against 330 ms to write them as parquet).
- xarray objects: a shallow copy whose numpy-backed variables are read-only views, its attrs
  (and each variable's) deep copies; a variable, coordinate or attribute added or replaced
  belongs to the copy alone. A dask-backed variable gets its own dask array over the same
  graph (setting an item rebinds a dask array in place); a grid is not copied, as it may be
  far larger than memory.
- numpy arrays: a read-only view. pyarrow tables and arrays are immutable already.
- anything else (dicts, lists, models): a deep copy.

Objects held inside cells (a list or dict in an object column or array) are copied too,
column by column, only where a cell holds something mutable: text, numbers and timestamps are
immutable and stay shared, so the usual frame costs one scan of its object columns.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np

_SCALARS = (str, bytes, int, float, complex, bool, type(None))
_IMMUTABLE = (*_SCALARS, dt.date, dt.time, dt.timedelta, Decimal, np.generic, frozenset)


def read_only(value: Any) -> Any:
    """A view of `value` its user cannot change `value` through (see the module's docs)."""
    if isinstance(value, _SCALARS):
        return value
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and hasattr(value, "copy"):
        return _pandas_view(value)
    if module == "xarray" and hasattr(value, "copy"):
        return _xarray_view(value)
    if isinstance(value, np.ndarray):
        owned = _own_cells(value)
        return _frozen(value if owned is None else owned)
    if module == "pyarrow":
        return value
    return copy.deepcopy(value)


def _pandas_view(value: Any) -> Any:
    """A deep copy of a DataFrame or Series, object columns' mutable cells copied too."""
    import pandas as pd

    view = value.copy(deep=True)
    if isinstance(view, pd.DataFrame):
        for position, dtype in enumerate(view.dtypes):
            if dtype == np.dtype(object):
                column = view.iloc[:, position]
                owned = _own_cells(column.to_numpy())
                if owned is not None:
                    view.isetitem(position, pd.Series(owned, index=view.index, name=column.name))
    elif isinstance(view, pd.Series) and view.dtype == object:
        owned = _own_cells(view.to_numpy())
        if owned is not None:
            view = pd.Series(owned, index=view.index, name=view.name)
    return view


def _own_cells(array: np.ndarray) -> np.ndarray | None:
    """A copy of an object array whose mutable cells are deep copies; None when no cell is
    mutable (or the array holds no objects), so nothing needs copying."""
    if array.dtype != object or _immutable_kind(array):
        return None
    if all(_immutable(cell) for cell in array.flat):
        return None
    owned = np.empty(array.shape, dtype=object)
    for index, cell in np.ndenumerate(array):
        owned[index] = cell if _immutable(cell) else copy.deepcopy(cell)
    return owned


# What pandas' C-level type inference calls arrays of cells that cannot be changed in place.
_IMMUTABLE_KINDS = frozenset(
    {"string", "bytes", "integer", "floating", "decimal", "complex", "boolean", "empty"}
    | {"datetime", "datetime64", "date", "time", "timedelta", "timedelta64", "period"}
)


def _immutable_kind(array: np.ndarray) -> bool:
    """Whether every cell is of one immutable kind, found at C speed (a column of a million
    dates costs milliseconds, not the quarter second of looking at each cell in Python)."""
    import pandas as pd

    return pd.api.types.infer_dtype(array.ravel(), skipna=True) in _IMMUTABLE_KINDS


def _immutable(cell: Any) -> bool:
    # pandas' own scalars (Timestamp, Timedelta, Period, NaT, NA) cannot be changed either
    return isinstance(cell, _IMMUTABLE) or type(cell).__module__.startswith("pandas")


def _xarray_view(value: Any) -> Any:
    """A shallow copy of a Dataset or DataArray, its in-memory numpy variables read-only."""
    import xarray as xr

    view = value.copy(deep=False)
    view.attrs = copy.deepcopy(view.attrs)
    variables = (
        view.variables.values()
        if isinstance(view, xr.Dataset)
        else [view.variable, *view.coords.variables.values()]
    )
    for variable in variables:
        variable.attrs = copy.deepcopy(variable.attrs)
        if isinstance(variable, xr.IndexVariable):
            continue  # held by a pandas index, which cannot be changed in place
        # `_data`, not `.data`: a variable still on disk must stay there, not be loaded
        data = getattr(variable, "_data", None)
        if isinstance(data, np.ndarray):
            owned = _own_cells(data)
            variable.data = _frozen(data if owned is None else owned)
        elif type(data).__module__.startswith("dask"):
            # Lazy, but not immutable: `array[0] = x` rebinds a dask array's graph in place.
            # A new array object over the same graph costs nothing and keeps that to the copy.
            variable.data = data.copy()
    return view


def _frozen(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view
