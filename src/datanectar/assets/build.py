"""Catalog entries and producing functions to Dagster asset definitions."""

from __future__ import annotations

import inspect
from typing import Any

import dagster as dg

from ..catalog import Entry
from ..formats.base import qualified_type_name
from ..producers import Producer
from ..project import CONTEXT_PARAMETER, Catalog
from .io_manager import LOAD_AS_KEY, io_manager_key
from .metadata import definition_metadata


def build_assets(catalog: Catalog) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    built: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for entry in catalog.entries.values():
        producer = catalog.producers.get(entry.name)
        if producer is None:
            built.append(external_asset(entry))
        else:
            built.append(function_asset(entry, producer, catalog))
    return built


def external_asset(entry: Entry) -> dg.AssetSpec:
    """An entry nothing produces: Dagster observes it; downstream assets load it."""
    return dg.AssetSpec(
        key=dg.AssetKey(entry.name),
        description=entry.description,
        group_name=entry.group,
        tags=entry.tags,
        owners=entry.owners,
        kinds={str(entry.format)},
        metadata=definition_metadata(entry),
    ).with_io_manager_key(io_manager_key(str(entry.format)))


def function_asset(entry: Entry, producer: Producer, catalog: Catalog) -> dg.AssetsDefinition:
    upstream = [
        p for p in producer.parameters if p.name in catalog.entries and p.name != CONTEXT_PARAMETER
    ]
    wants_context = any(p.name == CONTEXT_PARAMETER for p in producer.parameters)
    hints = producer.type_hints()

    def compute(context: dg.AssetExecutionContext, **inputs: Any) -> Any:
        if wants_context:
            inputs[CONTEXT_PARAMETER] = context
        return producer.function(**inputs)

    # Dagster reads an asset's inputs from its signature; this one is built from the function's.
    compute.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in upstream]
    )
    compute.__name__ = entry.name
    return dg.asset(
        name=entry.name,
        ins={p.name: _asset_in(p.name, hints.get(p.name)) for p in upstream},
        io_manager_key=io_manager_key(str(entry.format)),
        group_name=entry.group or producer.group,
        description=entry.description or producer.description,
        owners=entry.owners or None,
        tags=entry.tags or None,
        metadata=definition_metadata(entry),
        code_version=producer.version,
        kinds={str(entry.format)},
    )(compute)


def _asset_in(name: str, annotation: Any) -> dg.AssetIn:
    # The annotation travels as a type name: the IO manager picks the load type from it
    # (pyarrow.Table, xarray.DataArray, ...) without Dagster type-checking the value.
    metadata = (
        {LOAD_AS_KEY: qualified_type_name(annotation)} if isinstance(annotation, type) else None
    )
    return dg.AssetIn(key=dg.AssetKey(name), metadata=metadata)
