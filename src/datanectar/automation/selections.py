"""Selection strings of automation.yaml, parsed by Dagster, with errors naming the field."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..errors import ConfigError


def parsed_selection(
    text: str, graph: Any, file: str, field_name: str
) -> tuple[dg.AssetSelection, set[dg.AssetKey]]:
    """Dagster's selection and the keys it resolves to; a bad or empty one is an error."""
    try:
        parsed = dg.AssetSelection.from_string(text, include_sources=True)
        keys = set(parsed.resolve(graph))
    except Exception as exc:  # Dagster raises several kinds for a bad selection
        raise ConfigError(
            file=file,
            field=field_name,
            problem=f"{text!r} is not an asset selection of this project ({exc}).",
            fix="use Dagster's selection syntax: 'group:raw+', 'key:stations+', 'tag:x=y'.",
        ) from None
    if not keys:
        raise ConfigError(file=file, field=field_name, problem=f"{text!r} selects no asset.")
    return parsed, keys


def selection_keys(text: str, graph: Any, file: str, field_name: str) -> set[dg.AssetKey]:
    """The materializable assets a selection names."""
    _, keys = parsed_selection(text, graph, file, field_name)
    return {key for key in keys if graph.get(key).is_materializable}
