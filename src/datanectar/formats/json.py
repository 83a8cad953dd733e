"""JSON: dicts, lists and scalars, strictly (NaN and infinities are refused, not written)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..stores import Location
from .base import Format

_JSON_TYPES = (dict, list, str, int, float, bool, type(None))


class JsonFormat(Format):
    name = "json"
    suffix = ".json"
    writes = ("dict", "list", "str", "int", "float", "bool", "None")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, _JSON_TYPES)

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        text = json.dumps(
            value, **{"indent": 2, "ensure_ascii": False, "allow_nan": False, **options}
        )
        with location.open("wb") as handle:
            handle.write(text.encode("utf-8"))

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        with location.open("rb") as handle:
            return json.loads(handle.read().decode("utf-8"))

    def load_option_names(self) -> frozenset[str]:
        return frozenset()

    def save_option_names(self) -> frozenset[str]:
        return frozenset({"indent", "sort_keys", "ensure_ascii", "separators"})
