"""Sensors that discover the keys of dynamic namespaces, add them, and request their runs.

One sensor per `[tool.datanectar.namespaces.NAME]` table, named `discover_NAME`. Each tick it
runs the configured discovery (`datanectar.discovery`); keys the instance does not have yet
are added (`AddDynamicPartitionsRequest`) and runs materialize the produced assets partitioned
by NAME alone: one run over the range of new keys when every one of them writes many
namespaces in one run (a single-run backfill policy), one run per new key otherwise. Entries with NAME as one of two dimensions gain the key but
get no run: which keys of their other dimension to run is not the sensor's to decide. Values
refused as keys are logged as warnings and never added; keys removed with `datanectar
namespaces remove` (kept in the instance's set `NAME:removed`) are skipped, and said so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import dagster as dg

from ..discovery import (
    NamespaceDiscovery,
    configured_discoveries,
    dynamic_namespaces,
    new_keys,
    removed_set,
    skipped_keys,
)
from ..project import Catalog

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def namespace_sensors(
    catalog: Catalog, single_run: Collection[dg.AssetKey] = ()
) -> list[dg.SensorDefinition]:
    """A sensor for each dynamic namespace whose discovery is configured; `single_run` are the
    assets whose backfills run as one run (a range of keys)."""
    return [
        _sensor(catalog, discovery, frozenset(single_run))
        for discovery in configured_discoveries(catalog).values()
    ]


def single_run_assets(assets: Iterable[object]) -> set[dg.AssetKey]:
    """The keys of assets with a single-run backfill policy."""
    return {
        key
        for asset in assets
        if isinstance(asset, dg.AssetsDefinition)
        and asset.backfill_policy == dg.BackfillPolicy.single_run()
        for key in asset.keys
    }


def sensor_name(namespace: str) -> str:
    return f"discover_{namespace}"


def run_targets(catalog: Catalog, namespace: str) -> list[dg.AssetKey]:
    """The produced assets partitioned by dynamic namespace `namespace` alone."""
    return [
        dg.AssetKey(name)
        for name in dynamic_namespaces(catalog).get(namespace, [])
        if name in catalog.producers and len(catalog.entries[name].namespaces or []) == 1
    ]


def _sensor(
    catalog: Catalog, discovery: NamespaceDiscovery, single_run: frozenset[dg.AssetKey]
) -> dg.SensorDefinition:
    name = discovery.name
    targets = run_targets(catalog, name)
    as_range = bool(targets) and all(key in single_run for key in targets)

    def evaluate(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        discovered = discovery.discover(catalog)
        for value in discovered.rejected:
            context.log.warning(
                f"dynamic namespace '{name}': refused {value!r}, not a valid namespace key "
                "(letters, digits, '_', '-', '.', ':' and '+', without '..' or '/')"
            )
        existing = context.instance.get_dynamic_partitions(name)
        removed = context.instance.get_dynamic_partitions(removed_set(name))
        new = new_keys(discovered, existing, removed=removed)
        skipped = skipped_keys(discovered, existing, removed)
        skipping = (
            f"skipped {len(skipped)} removed key(s): {', '.join(skipped)} (datanectar "
            f"namespaces add {name} KEY adds one again)"
            if skipped
            else ""
        )
        if not new:
            notes = [
                f"{len(discovered.keys)} found, all present" + (" or removed" if skipped else "")
            ]
            if discovered.rejected:
                notes.append(f"{len(discovered.rejected)} refused")
            if skipping:
                notes.append(skipping)
            return dg.SkipReason(f"no new keys for dynamic namespace '{name}' ({'; '.join(notes)})")
        if skipping:
            context.log.info(f"dynamic namespace '{name}': {skipping}")
        if not targets:
            runs = []
        elif as_range and len(new) > 1:
            # the keys are added in this order after the existing ones: the range is exactly
            # the new keys, as `--partition-range FIRST...LAST` runs them
            runs = [
                dg.RunRequest(
                    run_key=f"{name}:{new[0]}...{new[-1]}:{len(new)}",
                    asset_selection=targets,
                    tags={RANGE_START_TAG: new[0], RANGE_END_TAG: new[-1]},
                )
            ]
        else:
            runs = [
                dg.RunRequest(run_key=f"{name}:{key}", partition_key=key, asset_selection=targets)
                for key in new
            ]
        return dg.SensorResult(
            run_requests=runs,
            dynamic_partitions_requests=[
                dg.AddDynamicPartitionsRequest(partitions_def_name=name, partition_keys=new)
            ],
        )

    evaluate.__name__ = sensor_name(name)
    return dg.sensor(
        name=sensor_name(name),
        minimum_interval_seconds=discovery.sensor_interval_seconds,
        description=f"Adds the keys of dynamic namespace '{name}' as they appear, and runs "
        "the assets partitioned by it for "
        + ("the new keys in one run." if as_range else "each new key."),
        target=targets or None,
    )(evaluate)
