"""Catalog entries and producing functions to Dagster asset definitions."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from ..cache.records import UpstreamRead
from ..cache.upstream import read_of
from ..catalog import Entry
from ..checks.audit import check_names
from ..errors import CatalogError, DatanectarError
from ..formats import get_format
from ..formats.base import qualified_type_name
from ..partition_mappings import upstream_partitions
from ..partitions import (
    NamespaceInputs,
    PartitionedOutput,
    keeps_in_place,
    same_namespaces,
    target_for,
    upstream_partition,
)
from ..producers import Producer, chain_version
from ..project import Catalog
from ..targets import Target
from .checks import check_specs, external_checks, published_outputs
from .io_manager import LABEL_CONFIG, LOAD_AS_KEY, PER_NAMESPACE_KEY, PINS_CONFIG, io_manager_key
from .metadata import VERSION_KEY, current_object, definition_metadata, schema_columns
from .namespace_context import NamespaceContext
from .partitions import keys_of, partitions_def
from .pools import pool_of


def build_assets(
    catalog: Catalog,
) -> tuple[list[dg.AssetsDefinition | dg.AssetSpec], list[dg.AssetChecksDefinition]]:
    """The assets of every entry, and the standalone checks of the entries nothing produces
    (a produced entry's checks run inside its own step)."""
    built: list[dg.AssetsDefinition | dg.AssetSpec] = []
    checks: list[dg.AssetChecksDefinition] = []
    for entry in catalog.entries.values():
        producer = catalog.producers.get(entry.name)
        if producer is None:
            if entry.automation is not None:
                raise CatalogError(
                    file=entry.source,
                    entry=entry.name,
                    field="automation",
                    problem="nothing produces this entry, so nothing can materialize it.",
                    fix="set automation on the entries produced from it; a sensor in "
                    "automation.yaml (watch: ENTRY) runs them when it changes.",
                )
            built.append(external_asset(entry, catalog))
            if check_names(entry):
                checks.append(external_checks(entry, catalog))
        else:
            built.append(function_asset(entry, producer, catalog))
    return built, checks


def external_asset(entry: Entry, catalog: Catalog) -> dg.AssetSpec:
    """An entry nothing produces: Dagster observes it; downstream assets load it. Its Table
    Schema's columns are its column schema, so the catalog reads as documentation before
    anything runs."""
    return dg.AssetSpec(
        key=dg.AssetKey(entry.name),
        description=entry.description,
        group_name=entry.group,
        tags=entry.tags,
        owners=entry.owners,
        kinds={str(entry.format)},
        metadata=definition_metadata(entry, columns=schema_columns(entry, catalog.config.root)),
        partitions_def=partitions_def(entry),
    ).with_io_manager_key(io_manager_key(str(entry.format)))


def function_asset(entry: Entry, producer: Producer, catalog: Catalog) -> dg.AssetsDefinition:
    signature = catalog.signature_of(producer)
    upstream = signature.upstream
    parameter_names = {p.name for p in producer.parameters}
    hints = producer.type_hints()
    cached = producer.cached
    partitioned_alike = {name for name in upstream if same_namespaces(catalog.entries[name], entry)}

    def compute(context: dg.AssetExecutionContext, **inputs: Any) -> Any:
        if entry.namespaces and len(context.partition_keys) > 1:
            # A single-run backfill: the function runs once per namespace, in this one step,
            # on that namespace's upstream values, and the IO manager replaces each namespace
            # in place.
            return PartitionedOutput(
                [
                    (
                        keys_of(entry, key),
                        compute_one(
                            NamespaceContext(context, key),  # type: ignore[arg-type]
                            _inputs_for(inputs, keys_of(entry, key)),
                            keys_of(entry, key),
                        ),
                    )
                    for key in context.partition_keys
                ]
            )
        partition = keys_of(entry, context.partition_key) if entry.namespaces else None
        return compute_one(context, inputs, partition)

    def compute_one(
        context: dg.AssetExecutionContext, inputs: dict[str, Any], partition: dict[str, str] | None
    ) -> Any:
        if cached is not None:
            with catalog.activate():
                return cached.compute_for_dagster(
                    catalog,
                    inputs=inputs,
                    arguments={
                        name: value
                        for name, value in (context.op_execution_context.op_config or {}).items()
                        if name not in (PINS_CONFIG, LABEL_CONFIG)
                    },
                    upstream=[
                        read
                        for name in inputs
                        for read in _reads(
                            catalog,
                            context,
                            entry,
                            name,
                            partition,
                            alike=name in partitioned_alike,
                        )
                    ],
                    partition=partition,
                )
        if signature.context is not None:
            inputs[signature.context] = context
        # Parameters named `namespace` or after a dimension receive the partition's key.
        inputs.update(signature.namespace_arguments(partition))
        return producer.function(**inputs)

    def step(context: dg.AssetExecutionContext, **inputs: Any) -> Iterator[Any]:
        # The step publishes (write-audit-publish, the path plain calls take too); its IO
        # manager records what was written.
        yield from published_outputs(context, catalog, entry, compute(context, **inputs))

    specs = check_specs(entry)
    # Table formats (and zarr time regions) replace each namespace in place, so one run can
    # write many of them; partitioned upstreams must be partitioned alike, so that each
    # namespace reads its own upstream namespace.
    single_run = (
        bool(entry.namespaces)
        and keeps_in_place(get_format(str(entry.format)), entry.namespaces or [], str(entry.path))
        and all(
            name in partitioned_alike or not catalog.entries[name].namespaces for name in upstream
        )
    )
    # Dagster reads an asset's inputs from its signature; this one is built from the function's.
    step.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in upstream]
    )
    step.__name__ = entry.name
    return dg.asset(
        name=entry.name,
        ins={
            name: _asset_in(
                name,
                hints.get(name),
                per_namespace=name in partitioned_alike,
                version=producer.pinned_versions.get(name),
            )
            for name in upstream
        },
        io_manager_key=io_manager_key(str(entry.format)),
        group_name=entry.group or producer.group,
        description=entry.description or producer.description,
        owners=entry.owners or None,
        tags=entry.tags or None,
        metadata=asset_metadata(entry, producer, catalog),
        code_version=(
            chain_version(producer, catalog.producers) if cached is not None else producer.version
        ),
        deps=[dg.AssetDep(name) for name in producer.uses() if name not in parameter_names],
        kinds={str(entry.format)},
        config_schema=_step_config(
            producer,
            hints,
            versioned=[n for n in upstream if catalog.entries[n].versioning],
            labelled=entry.versioning is not None,
        ),
        check_specs=specs or None,
        partitions_def=partitions_def(entry),
        backfill_policy=dg.BackfillPolicy.single_run() if single_run else None,
        automation_condition=automation_condition(
            entry,
            [
                name
                for name in [*upstream, *producer.uses()]
                if name in catalog.entries and name not in catalog.producers
            ],
        ),
        pool=pool_of(entry, catalog),
        # With checks, a rejected value is not output at all: nothing is published.
        output_required=not specs,
    )(step)


def automation_condition(
    entry: Entry, sources: Sequence[str] = ()
) -> dg.AutomationCondition | None:
    """The entry's `automation` as Dagster's declarative automation condition.

    Its upstream `sources` (entries nothing produces) are ignored by the condition: Dagster
    counts an asset nothing materializes as missing for ever, which would hold back every
    condition waiting for its upstreams; a source's changes reach the entry through a
    source-change sensor's run instead."""
    chosen = entry.automation
    if chosen is None:
        return None
    if chosen == "eager":
        condition = dg.AutomationCondition.eager()
    elif chosen == "on_missing":
        condition = dg.AutomationCondition.on_missing()
    else:
        condition = dg.AutomationCondition.on_cron(chosen.on_cron, chosen.timezone)
    if sources:
        condition = condition.ignore(dg.AssetSelection.assets(*sources))
    return condition


def _inputs_for(inputs: dict[str, Any], partition: dict[str, str]) -> dict[str, Any]:
    """One namespace's inputs in a run over several: its own namespace of each upstream
    partitioned alike, the others as loaded."""
    return {
        name: value.load(partition) if isinstance(value, NamespaceInputs) else value
        for name, value in inputs.items()
    }


def _step_config(
    producer: Producer, hints: dict[str, Any], *, versioned: list[str], labelled: bool
) -> dict[str, dg.Field] | None:
    """The run config a step takes, shown by the launchpad: its cache arguments, the version
    each versioned input is loaded at (`versions: {entry: label}`), and, for a versioned
    entry, the label of the version it writes (`version_label`)."""
    schema = _cache_args_config(producer, hints) if producer.cache_args else {}
    if labelled:
        schema[LABEL_CONFIG] = dg.Field(
            dg.Noneable(str),
            default_value=None,
            is_required=False,
            description="The label of the version this run writes (else the entry's template, "
            "or the UTC time); a label that exists is an error.",
        )
    if versioned:
        schema[PINS_CONFIG] = dg.Field(
            dg.Map(str, str),
            is_required=False,
            description="The version (label) to load each versioned input at, by entry name "
            f"({', '.join(versioned)}); the latest when not given.",
        )
    return schema or None


def _cache_args_config(producer: Producer, hints: dict[str, Any]) -> dict[str, dg.Field]:
    """Cache arguments as run config, with the function's defaults, shown by the launchpad."""
    parameters = {p.name: p for p in producer.parameters}
    schema = {}
    for name in producer.cache_args:
        parameter = parameters[name]
        config_type = _CONFIG_TYPES.get(hints.get(name), dg.Any)
        if parameter.default is parameter.empty:
            schema[name] = dg.Field(config_type, is_required=True)
        elif parameter.default is None:
            schema[name] = dg.Field(dg.Noneable(config_type), default_value=None, is_required=False)
        else:
            default = (
                list(parameter.default)
                if isinstance(parameter.default, tuple)
                else parameter.default
            )
            schema[name] = dg.Field(config_type, default_value=default, is_required=False)
    return schema


_CONFIG_TYPES: dict[Any, Any] = {int: dg.Int, float: dg.Float, str: dg.String, bool: dg.Bool}


def _reads(
    catalog: Catalog,
    context: dg.AssetExecutionContext,
    reader: Entry,
    name: str,
    partition: dict[str, str] | None,
    *,
    alike: bool,
) -> list[UpstreamRead]:
    """What a step of `reader`'s namespace `partition` read for input `name`: the upstream
    namespaces its partition mapping names (as a plain call records them), else the whole
    upstream object."""
    if alike or partition is None or not catalog.entries[name].namespaces:
        return [_read(catalog, context, name, partition if alike else None)]
    try:
        mapped = upstream_partitions(catalog.entries[name], reader.namespaces, partition)
    except DatanectarError:  # a mapping Dagster itself refused would not have loaded
        mapped = None
    if not mapped:
        return [_read(catalog, context, name, None)]
    return [_read(catalog, context, name, keys) for keys in mapped]


def _read(
    catalog: Catalog,
    context: dg.AssetExecutionContext,
    name: str,
    partition: dict[str, str] | None = None,
) -> UpstreamRead:
    """What a Dagster step read for input `name`: the upstream object it loaded (its namespace
    `partition` when partitioned alike), fingerprinted; a cached upstream by its record."""
    producer = catalog.producers.get(name)
    upstream = catalog.entries[name]
    keys = upstream_partition(upstream, partition) if partition is not None else None
    if producer is None or producer.cached is None or (upstream.namespaces and keys is None):
        return read_of(catalog, target_for(upstream, keys) if keys else Target.of(upstream))
    target, segment = current_object(
        upstream, asset_metadata(upstream, producer), partition=keys, instance=context.instance
    )
    return read_of(catalog, target, segment=segment)


def asset_metadata(
    entry: Entry, producer: Producer | None, catalog: Catalog | None = None
) -> dict[str, Any]:
    """The definition metadata of a produced entry's asset: where its objects live (and,
    given the catalog, the columns its Table Schema declares)."""
    columns = schema_columns(entry, catalog.config.root) if catalog is not None else None
    if producer is None or producer.cached is None:
        return definition_metadata(entry, columns=columns)
    return definition_metadata(
        entry,
        cached=True,
        keyed=bool(producer.cache_args),
        function=producer.qualified_name,
        default_arguments=producer.cached.default_key_arguments,
        columns=columns,
    )


def _asset_in(
    name: str, annotation: Any, *, per_namespace: bool, version: str | None = None
) -> dg.AssetIn:
    # The annotation travels as a type name: the IO manager picks the load type from it
    # (pyarrow.Table, xarray.DataArray, ...) without Dagster type-checking the value.
    metadata: dict[str, Any] = {}
    if isinstance(annotation, type):
        metadata[LOAD_AS_KEY] = qualified_type_name(annotation)
    if per_namespace:
        metadata[PER_NAMESPACE_KEY] = True
    if version is not None:
        metadata[VERSION_KEY] = version
    return dg.AssetIn(key=dg.AssetKey(name), metadata=metadata or None)
