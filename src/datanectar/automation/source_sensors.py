"""Source-change sensors: `sensors: {NAME: {watch: ENTRY}}` in automation.yaml.

Each tick lists the watched entry's store once (`listing`), and for each location (one per
namespace of a partitioned entry) compares its fingerprint with the cursor's. A changed one
is recorded as an observation of the source (fingerprint as its DataVersion, row count, files,
bytes: the UI shows what the source holds) and requests a run of what follows it, once per
fingerprint (the run key), so a tick repeated or a daemon restarted requests nothing twice.
The first tick finds everything new.
"""

from __future__ import annotations

import json
import time
from typing import Any

import dagster as dg

from ..assets.observations import FINGERPRINT_KEY, row_count, source_observation
from ..assets.partitions import keys_of, partitions_def
from ..checks.audit import check_names
from ..errors import ConfigError, did_you_mean
from ..listing import Listed, digest, fingerprints
from ..partitions import target_for
from ..project import Catalog
from ..stores.base import Location
from .selections import selection_keys
from .settings import SensorSpec

UNPARTITIONED = ""
PARTITION_TAG = "dagster/partition"
# A tick must end within Dagster's sensor timeout (60 s): the first tick over many locations
# (each changed one of a table read for its row count) takes them in turns.
MAX_READS_PER_TICK = 500
CHANGES_BUDGET_SECONDS = 20.0
TABLE_FORMATS = frozenset({"csv", "parquet", "delta"})


def source_change_sensor(
    catalog: Catalog, name: str, spec: SensorSpec, graph: Any, file: str
) -> dg.SensorDefinition:
    where = f"sensors.{name}.watch"
    entry = catalog.entries.get(spec.watch)
    if entry is None:
        raise ConfigError(
            file=file,
            field=where,
            problem=f"no catalog entry '{spec.watch}'.{did_you_mean(spec.watch, list(catalog.entries))}",
        )
    if entry.name in catalog.producers:
        raise ConfigError(
            file=file,
            field=where,
            problem=f"'{entry.name}' is produced by a function: its runs already tell downstream "
            "assets it changed.",
            fix="watch an entry nothing produces (a source), or use automation: eager on the "
            "downstream entries.",
        )
    if entry.format == "sql" or entry.query is not None:
        raise ConfigError(
            file=file,
            field=where,
            problem=f"'{entry.name}' is a table in a SQL database: it has no files whose "
            "listing would tell it changed.",
            fix="run its checks and what follows it on a schedule (schedules: in this file), "
            "or watch the files the database is loaded from.",
        )
    source = dg.AssetKey(entry.name)
    partitions = partitions_def(entry)
    if spec.select is not None:
        targets = selection_keys(spec.select, graph, file, f"sensors.{name}.select")
    else:
        targets = {
            key
            for key in dg.AssetSelection.assets(source)
            .downstream(include_self=False)
            .materializable()
            .resolve(graph)
        }
    # A partitioned source's change runs the assets partitioned alike for that namespace, and
    # those without partitions (an aggregate of every namespace) once for the tick's changes;
    # an unpartitioned source's, the assets without partitions. Assets partitioned otherwise
    # have no partition a change maps to (a run of them without one would fail).
    unpartitioned = {key for key in targets if graph.get(key).partitions_def is None}
    if partitions is None:
        mapped, whole = unpartitioned, set()
    else:
        mapped = {key for key in targets if graph.get(key).partitions_def == partitions}
        whole = unpartitioned
    unmapped = targets - mapped - whole
    if unmapped and spec.select is not None:
        names = ", ".join(sorted(key.to_user_string() for key in unmapped))
        raise ConfigError(
            file=file,
            field=f"sensors.{name}.select",
            problem=f"{names} {'is' if len(unmapped) == 1 else 'are'} partitioned "
            + (
                f"otherwise than '{entry.name}'"
                if partitions is not None
                else f"and '{entry.name}' is not"
            )
            + ": a change of it names no partition of them.",
            fix=f"select assets partitioned like '{entry.name}', or unpartitioned ones.",
        )
    targets = mapped
    # the source's checks as the graph defines them (a check is named, not described)
    checks = [
        key
        for key in (dg.AssetCheckKey(source, check) for check, _, _ in check_names(entry))
        if key in graph.asset_check_keys
    ]
    if not targets and not checks and not whole:
        raise ConfigError(
            file=file,
            field=f"sensors.{name}",
            problem=f"nothing follows '{entry.name}': no produced asset"
            + (
                " partitioned alike or unpartitioned"
                if partitions is not None
                else " unpartitioned"
            )
            + " is downstream of it and it has no checks.",
            fix="give the sensor a select:, or remove it.",
        )
    selection = sorted(targets, key=lambda key: key.to_user_string())
    aggregates = sorted(whole, key=lambda key: key.to_user_string())
    # a run request's check keys are every check it runs: the source's, and those of the
    # assets it materializes (a produced asset is not run without its checks)
    selection_checks = [*checks, *_checks_of(graph, selection)]
    aggregate_checks = _checks_of(graph, aggregates)

    # Each key's location is resolved once (on disk, every symlink in its path is checked:
    # 10,000 namespaces would cost most of a tick); a read of the data resolves it again.
    located: dict[str, Location] = {}
    reads_rows = entry.format in TABLE_FORMATS

    def evaluate(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        keys = (
            [UNPARTITIONED]
            if partitions is None
            else list(partitions.get_partition_keys(dynamic_partitions_store=context.instance))
        )
        locations = {key: located.get(key) or _listed_location(catalog, entry, key) for key in keys}
        located.clear()
        located.update(locations)
        listed = fingerprints(locations.values())
        before: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        now: dict[str, str] = {}
        runs, observations, deferred = [], [], 0
        started = time.monotonic()
        empty = []
        for key, location in locations.items():
            seen = listed.get(location.path, Listed(None))
            if seen.fingerprint is None:
                empty.append(location.path)
                continue
            if before.get(key) == seen.fingerprint:
                now[key] = seen.fingerprint
                continue
            if (reads_rows and len(runs) >= MAX_READS_PER_TICK) or (
                runs and time.monotonic() - started > CHANGES_BUDGET_SECONDS
            ):
                # left as the cursor had it: the next tick takes it, within the tick timeout
                deferred += 1
                if key in before:
                    now[key] = before[key]
                continue
            now[key] = seen.fingerprint
            partition = None if key == UNPARTITIONED else key
            observations.append(_observation(catalog, entry, source, partition, seen))
            runs.append(
                dg.RunRequest(
                    run_key=f"{name}:{key}:{seen.fingerprint}",
                    partition_key=partition if selection else None,
                    asset_selection=selection,
                    asset_check_keys=selection_checks,
                    tags={
                        "datanectar/source": entry.name,
                        FINGERPRINT_KEY: seen.fingerprint,
                        **partition_tag(partition, selection),
                    },
                )
            )
        if aggregates and runs:
            # one run for every namespace changed this tick, keyed by what they all hold now
            changes = [request.tags[FINGERPRINT_KEY] for request in runs]
            runs.append(
                dg.RunRequest(
                    run_key=f"{name}:*:{digest(changes)}",
                    asset_selection=aggregates,
                    asset_check_keys=aggregate_checks,
                    tags={"datanectar/source": entry.name, FINGERPRINT_KEY: digest(changes)},
                )
            )
        if not selection and not checks:
            # only aggregates follow it: the per-namespace requests would run nothing
            runs = runs[-1:]
        cursor = json.dumps(now, sort_keys=True)
        if deferred:
            context.log.info(
                f"'{entry.name}': {len(runs)} changed location(s) taken this tick, {deferred} "
                "left for the next ones."
            )
        if not runs:
            return dg.SensorResult(skip_reason=_unchanged(entry.name, now, empty), cursor=cursor)
        return dg.SensorResult(run_requests=runs, asset_events=observations, cursor=cursor)

    evaluate.__name__ = name
    return dg.sensor(
        name=name,
        minimum_interval_seconds=spec.interval,
        description=f"Lists the store of '{entry.name}' every {spec.interval} s and, when what "
        f"it holds changed, records an observation and runs "
        + (", ".join(key.to_user_string() for key in [*selection, *aggregates]) or "its checks")
        + ".",
        asset_selection=dg.AssetSelection.assets(*selection, *aggregates)
        | dg.AssetSelection.checks(*checks),
        default_status=dg.DefaultSensorStatus.RUNNING
        if spec.status == "running"
        else dg.DefaultSensorStatus.STOPPED,
    )(evaluate)


def _checks_of(graph: Any, keys: list[dg.AssetKey]) -> list[dg.AssetCheckKey]:
    wanted = set(keys)
    return sorted(
        (key for key in graph.asset_check_keys if key.asset_key in wanted),
        key=lambda key: key.to_user_string(),
    )


def _unchanged(name: str, listed: dict[str, str], empty: list[str]) -> str:
    """Why a tick requests nothing: unchanged, or nothing stored where the entry points (a
    source not delivered yet, or a path mistyped: said, not taken for "unchanged")."""
    if not listed and empty:
        return (
            f"'{name}': nothing stored at {empty[0]}"
            + (f" nor at {len(empty) - 1} other location(s)" if len(empty) > 1 else "")
            + " yet; a run is requested once something is."
        )
    missing = f"; {len(empty)} location(s) hold nothing yet" if empty else ""
    return f"'{name}' unchanged ({len(listed)} location(s) listed{missing})"


def partition_tag(partition: str | None, selection: list[dg.AssetKey]) -> dict[str, str]:
    """A run of a partitioned source's checks alone names its partition by the run's tag:
    Dagster gives a run of checks no partitions definition to validate a partition key on
    (as the source_checks__* jobs do, see `assets.jobs`)."""
    if partition is None or selection:
        return {}
    return {PARTITION_TAG: partition}


def _listed_location(catalog: Catalog, entry: Any, key: str) -> Location:
    """Where `key`'s data is, at its own path: a folder value published by pointer (S3) is
    fingerprinted by its pointer object in the same listing, so resolving the pointer here (a
    GET per location per tick) would only cost requests."""
    target = target_for(entry, keys_of(entry, key) if key != UNPARTITIONED else None)
    return catalog.storage.store(target.store).location(target.path, direct=True)


def _observation(
    catalog: Catalog, entry: Any, source: dg.AssetKey, partition: str | None, seen: Listed
) -> dg.AssetObservation:
    return source_observation(
        source.to_user_string(),
        partition,
        str(seen.fingerprint),
        files=seen.files,
        size=seen.bytes,
        rows=_row_count(catalog, entry, partition),
    )


def _row_count(catalog: Catalog, entry: Any, partition: str | None) -> int | None:
    """The rows of a changed table source (read once per change, not per tick). Only the
    table formats: loading a files folder on S3 would download it all, a zarr has no rows."""
    if entry.format not in TABLE_FORMATS:
        return None
    try:
        value = catalog.storage.load(
            target_for(entry, keys_of(entry, partition) if partition is not None else None)
        )
    except Exception:  # an unreadable source is the checks' verdict to give, not the sensor's
        return None
    return row_count(value)
