"""Pickle: the fallback for any Python object, as in Nuthatch. Load only from stores you trust."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

from ..stores import Location
from .base import Format


class PickleFormat(Format):
    name = "pickle"
    suffix = ".pkl"
    writes = ("any picklable object",)

    def accepts(self, value: Any) -> bool:
        return True

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        with location.open("wb") as handle:
            pickle.dump(value, handle, protocol=options.get("protocol", pickle.HIGHEST_PROTOCOL))

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        with location.open("rb") as handle:
            return pickle.load(handle)

    def load_option_names(self) -> frozenset[str]:
        return frozenset()

    def save_option_names(self) -> frozenset[str]:
        return frozenset({"protocol"})
