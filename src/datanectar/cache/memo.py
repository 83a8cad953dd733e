"""The in-process memo level: recently recalled values, bounded by their size in memory."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import Any


class Memo:
    """A least-recently-used map bounded by an estimate of the bytes its values hold."""

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
            return item[0], item[1]

    def put(self, key: tuple[str, ...], value: Any, record: Any) -> None:
        size = estimate_bytes(value)
        with self._lock:
            self._drop(key)
            if size > self.budget_bytes:
                return
            self._items[key] = (value, record, size)
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


def estimate_bytes(value: Any) -> int:
    """What a value holds in memory; lazy (dask-backed) arrays count only their graph."""
    if hasattr(value, "memory_usage") and hasattr(value, "columns"):  # pandas
        return int(value.memory_usage(index=True, deep=False).sum())
    if hasattr(value, "nbytes") and hasattr(value, "schema"):  # pyarrow
        return int(value.nbytes)
    if hasattr(value, "chunks") and getattr(value, "chunks", None):  # lazy xarray / dask
        return 1 << 16
    if hasattr(value, "nbytes"):  # numpy, in-memory xarray
        return int(value.nbytes)
    return sys.getsizeof(value)
