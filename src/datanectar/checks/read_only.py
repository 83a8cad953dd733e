"""The value a custom check is handed: one it cannot change.

A check judges what is published, and is published only if it passes; so whatever a check
does to its argument must reach neither the store (the value is written while it is audited)
nor the checks after it. Each custom check gets its own view, as cheap as the library allows:

- pandas objects: a shallow copy. Copy-on-write (pandas 3) gives any change made through it,
  a new column or a cell set, fresh memory; the arrays it hands out are read-only.
- xarray objects: a shallow copy whose numpy-backed variables are read-only views; a
  variable, coordinate or attribute added or replaced belongs to the copy alone. Dask-backed
  variables are lazy and never written in place.
- numpy arrays: a read-only view. pyarrow tables and arrays are immutable already.
- anything else (dicts, lists, models): a deep copy.

Objects held inside cells (a list in an object column) are shared: a check appending to
such a list changes it everywhere, as it would any Python object it was lent.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

_SCALARS = (str, bytes, int, float, complex, bool, type(None))


def read_only(value: Any) -> Any:
    """A view of `value` its user cannot change `value` through (see the module's docs)."""
    if isinstance(value, _SCALARS):
        return value
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and hasattr(value, "copy"):
        return value.copy(deep=False)
    if module == "xarray" and hasattr(value, "copy"):
        return _xarray_view(value)
    if isinstance(value, np.ndarray):
        return _frozen(value)
    if module == "pyarrow":
        return value
    return copy.deepcopy(value)


def _xarray_view(value: Any) -> Any:
    """A shallow copy of a Dataset or DataArray, its in-memory numpy variables read-only."""
    import xarray as xr

    view = value.copy(deep=False)
    variables = (
        view.variables.values()
        if isinstance(view, xr.Dataset)
        else [view.variable, *view.coords.variables.values()]
    )
    for variable in variables:
        if isinstance(variable, xr.IndexVariable):
            continue  # held by a pandas index, which cannot be changed in place
        # `_data`, not `.data`: a variable still on disk must stay there, not be loaded
        data = getattr(variable, "_data", None)
        if isinstance(data, np.ndarray):
            variable.data = _frozen(data)
    return view


def _frozen(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view
