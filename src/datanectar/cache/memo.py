"""The in-process memo level: recently recalled values, bounded by their size in memory.

Callers share the memo, so none may change what the next one gets: a value is kept as a copy
of its own (the caller that computed it keeps its object) and handed out so that changing it
cannot reach the kept one. pandas objects and object arrays are handed out as deep copies (their
cells too), numpy arrays as read-only views, xarray objects as new containers over read-only
data, pyarrow tables as they are (immutable), other objects as deep copies.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections import OrderedDict
from typing import Any

_LAZY_BYTES = 1 << 16
"""What a lazy (dask-backed) value counts: its graph, not the data it describes."""


class Memo:
    """A least-recently-used map bounded by the bytes its values hold."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[tuple[str, ...], tuple[Any, Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> tuple[Any, Any] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
        return handed_out(item[0]), item[1]

    def put(self, key: tuple[str, ...], value: Any, record: Any) -> None:
        size = estimate_bytes(value)
        with self._lock:
            self._drop(key)
        if size > self.budget_bytes:
            return
        kept = kept_copy(value)
        with self._lock:
            self._drop(key)
            self._items[key] = (kept, record, size)
            self._bytes += size
            while self._bytes > self.budget_bytes:
                self._drop(next(iter(self._items)))

    def discard(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, key: tuple[str, ...]) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._bytes -= item[2]


def kept_copy(value: Any) -> Any:
    """The memo's own copy of a value: no caller holds a reference into it."""
    module = _module(value)
    if module == "pandas" and hasattr(value, "copy"):
        return value.copy(deep=True)
    if module == "pyarrow":
        return value  # immutable
    if module == "numpy" and hasattr(value, "flags"):
        if str(value.dtype) == "object":
            return copy.deepcopy(value)
        kept = value.copy()
        kept.flags.writeable = False
        return kept
    if module == "xarray":
        kept = value.copy(deep=True)
        for variable in _xarray_variables(kept):
            data = variable.data
            if hasattr(data, "flags"):  # in memory (dask arrays are immutable graphs)
                data.flags.writeable = False
        return kept
    return copy.deepcopy(value)


def handed_out(kept: Any) -> Any:
    """A value for one caller: changing it cannot change the memo's copy."""
    module = _module(kept)
    if module == "pandas" and hasattr(kept, "copy"):
        # A deep copy: pandas lets a caller make its arrays writable again (and object cells
        # are shared objects), so a shallow one could still be written through.
        handed = kept.copy(deep=True)
        if hasattr(handed, "columns"):
            for name, dtype in handed.dtypes.items():
                if str(dtype) == "object":
                    handed[name] = handed[name].map(copy.deepcopy)
        elif str(getattr(handed, "dtype", "")) == "object":
            handed = handed.map(copy.deepcopy)
        return handed
    if module == "numpy" and hasattr(kept, "flags"):
        if str(kept.dtype) == "object":
            return copy.deepcopy(kept)
        view = kept.view()  # a view of read-only data cannot be made writable
        view.flags.writeable = False
        return view
    if module == "pyarrow":
        return kept  # immutable
    if module == "xarray":
        return kept.copy(deep=False)  # new containers over read-only data
    return copy.deepcopy(kept)


def estimate_bytes(value: Any) -> int:
    """What a value holds in memory, deeply; lazy (dask-backed) arrays count only their graph."""
    module = _module(value)
    if module == "pandas" and hasattr(value, "memory_usage"):
        usage = value.memory_usage(index=True, deep=True)
        return int(usage.sum()) if hasattr(usage, "sum") else int(usage)
    if module == "pyarrow" and hasattr(value, "nbytes"):
        return int(value.nbytes)
    if module == "xarray":
        return sum(
            _LAZY_BYTES if getattr(variable, "chunks", None) else int(variable.nbytes)
            for variable in _xarray_variables(value)
        )
    if module == "numpy" and hasattr(value, "nbytes"):
        if str(getattr(value, "dtype", "")) == "object":  # the objects, not their pointers
            return int(value.nbytes) + sum(_python_bytes(item) for item in value.ravel())
        return int(value.nbytes)
    if module == "dask":
        return _LAZY_BYTES
    return _python_bytes(value)


def _python_bytes(value: Any) -> int:
    """The bytes of a Python object and everything it holds, each object counted once."""
    seen: set[int] = set()
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if _module(item) in ("numpy", "pandas", "pyarrow", "xarray"):
            total += estimate_bytes(item)
            continue
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            pending.append(vars(item))
    return total


def _xarray_variables(value: Any) -> list[Any]:
    if hasattr(value, "variables"):  # Dataset
        return list(value.variables.values())
    return [value.variable, *(coord.variable for coord in value.coords.values())]


def _module(value: Any) -> str:
    return type(value).__module__.split(".")[0]
