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

    def refusal(self, value: Any, *, options: Mapping[str, Any]) -> str | None:
        """JSON object keys are text: a dict with other keys would read back changed ({1: x}
        as {'1': x}, or two keys as one). Options that would make the file not JSON."""
        indent = options.get("indent")
        if isinstance(indent, str) and indent.strip():
            return (
                f"the save option indent={indent!r} would put non-blank text in the file, "
                "which would then not be JSON. Fix: an integer, or a string of spaces or tabs."
            )
        separators = options.get("separators")
        if separators is not None and not (
            isinstance(separators, list | tuple)
            and len(separators) == 2
            and all(isinstance(part, str) for part in separators)
            and separators[0].strip() == ","
            and separators[1].strip() == ":"
        ):
            return (
                f"the save option separators={separators!r} would not write JSON. Fix: a pair "
                "such as [',', ': '] (',' and ':' with optional spaces)."
            )
        pending = [value]
        while pending:
            item = pending.pop()
            if isinstance(item, dict):
                for key, member in item.items():
                    if not isinstance(key, str):
                        return (
                            f"the key {key!r} ({type(key).__name__}) would read back as the text "
                            f"{json.dumps(key)}: JSON object keys are text. Fix: use text keys, "
                            "or the pickle format."
                        )
                    pending.append(member)
            elif isinstance(item, list | tuple):
                pending.extend(item)
        return None

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
