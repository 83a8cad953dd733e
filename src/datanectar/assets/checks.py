"""Validation rules as Dagster asset checks.

A produced entry is audited inside its own step before it is published (write-audit-publish,
`datanectar.publishing`, the same path `catalog.save` and plain cached calls take). When a
blocking check fails, the step yields no output (the previous value stays published), the
rejected value goes to a quarantine location named in the check's metadata and in the run's
log, and Dagster fails the step so downstream steps do not run. An external entry's checks
run on their own, reading the stored source.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from typing import Any

import dagster as dg
from dagster._core.definitions.dependency import NodeHandle

from ..cache.decorator import CachedOutput
from ..catalog import Entry
from ..checks.audit import Verdict, audit, blocking_failures, check_names
from ..checks.results import CheckResult, failure_lines
from ..checks.tableschema.text_table import TextTable, UnreadableTable
from ..errors import DatanectarError, NamespaceKeyError
from ..listing import fingerprints
from ..partitions import PartitionedOutput, target_for
from ..project import Catalog
from ..publishing import (
    Outcome,
    audit_value,
    full_reports,
    publish,
    summary,
)
from ..quarantine import keep_or_explain
from ..sql_tables import CatalogTables
from ..storage import published_together
from ..versions.versioned import writing
from .features import chosen_for_users
from .io_manager import LABEL_CONFIG, PINS_CONFIG, published
from .jobs import SOURCE_CHECKS_JOB, partitioned_job_name
from .metadata import cached_metadata, materialization_metadata
from .observations import row_count, source_observation
from .partitions import keys_of, partitions_def

_FAILURE_COLUMNS = ("row_number", "field_name", "error_type", "message")


def check_specs(entry: Entry) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(entry.name)
    # A partitioned entry's checks are partitioned too: each run checks what it wrote.
    partitions = partitions_def(entry)
    with chosen_for_users():
        return [
            dg.AssetCheckSpec(
                name=name,
                asset=key,
                blocking=blocking,
                description=description,
                partitions_def=partitions,
            )
            for name, blocking, description in check_names(entry)
        ]


def published_outputs(
    context: dg.AssetExecutionContext, catalog: Catalog, entry: Entry, output: Any
) -> Iterator[Any]:
    """Publish what a step computed, write-audit-publish; yield its Output (only if it was
    published: a blocking failure publishes nothing) and then its check results, which are
    about what the Output materializes (results yielded before it would be attached to the
    previous materialization)."""
    if isinstance(output, PartitionedOutput):
        yield from _published_namespaces(context, catalog, entry, output)
        return
    tag = context.run.run_id
    partition = context.partition_key if entry.namespaces else None
    if isinstance(output, CachedOutput):
        # A cached function's result goes where a plain call with the same arguments
        # recalls it, with its record.
        with _writing_in(context, partition):
            record, outcome = output.call.publish(output.value, output.reads, tag=tag)
        if record is not None:
            yield published(
                output.value,
                cached_metadata(record, outcome and outcome.report),
                data_version=record.data_version,
            )
    else:
        keys = keys_of(entry, context.partition_key) if entry.namespaces else None
        target = target_for(entry, keys)
        with _writing_in(context, partition):
            outcome = publish(catalog, entry, output, target=target, tag=tag)
        if outcome.report is not None:
            # A version's content hash is its data version: the same bytes rewritten leave
            # what reads them fresh, changed ones make it stale.
            yield published(
                output,
                materialization_metadata(outcome.report),
                data_version=outcome.report.content_hash,
            )
    if outcome is None:  # a null result: nothing to judge
        return
    log_failures(context, outcome)
    for verdict in outcome.verdicts:
        yield check_result(entry, verdict, outcome)


def _published_namespaces(
    context: dg.AssetExecutionContext, catalog: Catalog, entry: Entry, output: PartitionedOutput
) -> Iterator[Any]:
    """A single-run backfill's namespaces, each audited and reported as its own partition.

    One output covers every namespace of the run (Dagster records a materialization for each),
    so it is all or nothing: every namespace is audited before any is written; if one fails a
    blocking check, none is published, the failing ones go to quarantine, and the step fails.
    Each namespace's materialization carries its own metadata (rows, uri, schema, preview)."""
    tag = context.run.run_id
    audited = []
    for (keys, value), label in zip(output.values, context.partition_keys, strict=True):
        plain = value.value if isinstance(value, CachedOutput) else value
        target = value.call.target if isinstance(value, CachedOutput) else target_for(entry, keys)
        verdicts = audit_value(catalog, entry, plain, target=target) if check_names(entry) else []
        audited.append((str(label), value, plain, target, verdicts))
    rejected = any(blocking_failures(verdicts) for *_, verdicts in audited)
    outcomes = []
    # Written together: a namespace failing to write (a schema the table refuses, a broken
    # connection) publishes none of them, as a failed check does.
    with nullcontext() if rejected else published_together():
        for namespace in audited:
            outcome = _publish_namespace(
                context, catalog, entry, namespace, rejected=rejected, tag=tag
            )
            outcomes.append((namespace[0], outcome))
    if not rejected:
        # Before the results, which are about what it materializes.
        yield published(
            {label: plain for label, _, plain, _, _ in audited},
            {"namespaces_written": dg.MetadataValue.int(len(outcomes))},
        )
    # Each check's own output, as Dagster gives it for a check result; the results themselves
    # are evaluations naming their partition, which a check result cannot.
    selected = context.selected_asset_check_keys
    for spec in check_specs(entry):
        if spec.key in selected:
            yield dg.Output(None, output_name=spec.get_python_identifier())
    for label, outcome in outcomes:
        log_failures(context, outcome, partition=label)
        for verdict in outcome.verdicts:
            result = check_result(entry, verdict, outcome)
            yield dg.AssetCheckEvaluation(
                asset_key=result.asset_key or dg.AssetKey(entry.name),
                check_name=verdict.check,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                blocking=verdict.blocking,
                partition=label,
            )


def _publish_namespace(
    context: dg.AssetExecutionContext,
    catalog: Catalog,
    entry: Entry,
    namespace: tuple[str, Any, Any, Any, list[Any]],
    *,
    rejected: bool,
    tag: str,
) -> Outcome:
    """One namespace of a single-run backfill: quarantined when the run is rejected, else
    published (with its record, for a cached function) and its metadata added. `namespace`:
    its partition label, value as computed, plain value, target and verdicts."""
    label, value, plain, target, verdicts = namespace
    if rejected:
        failed = bool(blocking_failures(verdicts))
        quarantine, quarantine_failed = (
            keep_or_explain(catalog, catalog.storage, target, plain, tag)
            if failed
            else (None, None)
        )
        outcome = Outcome(
            entry, target, None, verdicts, quarantine, quarantine_failed=quarantine_failed
        )
    elif isinstance(value, CachedOutput):
        with _writing_in(context, label):
            record, stored = value.call.publish(plain, value.reads, tag=tag, verdicts=verdicts)
        outcome = stored or Outcome(entry, target, None, verdicts)
        context.add_asset_metadata(
            cached_metadata(record, stored and stored.report), partition_key=label
        )
    else:
        with _writing_in(context, label):
            outcome = publish(catalog, entry, plain, target=target, tag=tag, verdicts=verdicts)
        context.add_asset_metadata(materialization_metadata(outcome.report), partition_key=label)
    return outcome


def _writing_in(context: dg.AssetExecutionContext, partition: str | None) -> Any:
    """What a version written by this step records and its label may name: the run, the
    asset's code version, the partition, a label given in run config; and the versions any
    step of the run pins this asset at, which a prune after the write must keep."""
    config = context.op_execution_context.op_config
    return writing(
        run_id=context.run.run_id,
        code_version=context.assets_def.code_versions_by_key.get(context.asset_key),
        partition=partition,
        label=config.get(LABEL_CONFIG) if isinstance(config, Mapping) else None,
        pinned=_pinned_in_run(context),
    )


def _pinned_in_run(context: dg.AssetExecutionContext) -> frozenset[str]:
    """The labels the run's steps pin this asset at, as their input (run config `versions`)."""
    try:
        steps = (context.run.run_config or {}).get("ops") or {}
        layer = context.job_def.asset_layer
    except Exception:  # a context without a job (a direct invocation): no run config
        return frozenset()
    pinned = set()
    for step, step_config in steps.items():
        pins = ((step_config or {}).get("config") or {}).get(PINS_CONFIG) or {}
        if not pins:
            continue
        try:
            name = layer.get_node_input_name(NodeHandle(step, None), context.asset_key)
        except Exception:  # a step this job does not have: Dagster refused its config
            name = None
        if name is not None and name in pins:
            pinned.add(str(pins[name]))
    return frozenset(pinned)


def log_failures(
    context: Any, outcome: Outcome, *, partition: str | None = None, stored: bool = False
) -> None:
    """Say in the run's log why checks failed, so the CLI's output and CI logs show it, not
    only the UI: each failed check's summary and first failures, and where the rejected value
    went (`stored`: the checks judged data already stored, a source's)."""
    where = f"entry '{outcome.entry.name}'" + (f", namespace {partition}" if partition else "")
    for verdict in [*outcome.failed(blocking=True), *outcome.failed(blocking=False)]:
        lines = [f"check '{verdict.check}' failed on {where}: {summary(verdict.result)}"]
        lines += [f"  {line}" for line in failure_lines(verdict.result)]
        if verdict.blocking and stored:
            context.log.error("\n".join(lines))
        elif verdict.blocking:
            if outcome.quarantine:
                lines.append(
                    "  nothing was published; the rejected value is in quarantine at "
                    f"{outcome.quarantine}"
                )
            elif outcome.quarantine_failed:
                lines.append(
                    "  nothing was published; the rejected value could not be kept in "
                    f"quarantine: {outcome.quarantine_failed}"
                )
            else:
                lines.append("  nothing was published (another namespace of the run failed)")
            context.log.error("\n".join(lines))
        else:
            context.log.warning("\n".join([*lines, "  (severity warn: published all the same)"]))


def external_checks(entry: Entry, catalog: Catalog) -> dg.AssetChecksDefinition:
    """Checks of an entry nothing produces: they read the stored source and report."""

    @dg.multi_asset_check(specs=check_specs(entry), name=f"{entry.name}_checks", can_subset=True)
    # Unannotated: Dagster resolves a `context` annotation only from names it knows.
    def run_checks(context) -> Iterator[dg.AssetCheckResult]:
        target = target_for(entry, _partition_checked(context, entry))
        # A csv's Table Schema reads the file as text; the typed value is loaded only when
        # something else needs it (the rules, or a format that stores typed values).
        text, unreadable = None, None
        reads_text = entry.schema_ is not None and catalog.storage.stores_text(target)
        if reads_text:
            try:
                text = catalog.storage.stored_text(target)
            except UnreadableTable as exc:  # the Table Schema's verdict, not a failed step
                unreadable = exc
        # sql rules query the stored table where it is: the value is loaded only for the
        # Table Schema of a typed format or for rules judging it in memory.
        loads = (entry.schema_ is not None and not reads_text) or any(
            rule.sql is None for rule in entry.checks
        )
        value = catalog.storage.load(target) if loads else None

        def as_text() -> TextTable | None:
            if unreadable is not None:
                raise unreadable
            return text

        selected = {key.name for key in context.selected_asset_check_keys}
        verdicts = audit(
            entry,
            value,
            project_root=catalog.config.root,
            load_entry=catalog.load,
            as_text=as_text,
            secrets=catalog.secrets(),
            sql_tables=CatalogTables(catalog.storage, catalog.entries, target, produced=False),
        )
        verdicts = [verdict for verdict in verdicts if verdict.check in selected]
        outcome = Outcome(
            entry, target, None, verdicts, None, full_reports(catalog, entry, verdicts)
        )
        log_failures(context, outcome, stored=True)
        _observe(context, catalog, entry, target, value if value is not None else text)
        for verdict in verdicts:
            yield check_result(entry, verdict, outcome)

    return run_checks


def _observe(context: Any, catalog: Catalog, entry: Entry, target: Any, value: Any) -> None:
    """Record what the checked source holds, as the source-change sensor would (the same
    fingerprint, so a sensor tick after this run sees no change that was not there)."""
    store = catalog.storage.store(target.store)
    if store.type_name == "sql" or not target.path:
        return  # tables and queries in a database: no files to fingerprint
    try:
        # at its own path, as the sensor lists it (a folder published by pointer included)
        location = store.location(target.path, direct=True)
        seen = fingerprints([location]).get(location.path)
    except (DatanectarError, OSError):
        return  # the checks judge the source; the observation is only what they saw
    if seen is None or seen.fingerprint is None:
        return
    partition = context.partition_key if entry.namespaces else None
    context.op_execution_context.log_event(
        source_observation(
            entry.name,
            partition,
            seen.fingerprint,
            files=seen.files,
            size=seen.bytes,
            rows=row_count(value),
        )
    )


def _partition_checked(context: Any, entry: Entry) -> dict[str, str] | None:
    """The keys of the partition a run checks, for a partitioned source: the run's partition,
    which a job of checks alone takes from its `dagster/partition` tag (`jobs`), so it is
    checked to be one of the entry's."""
    if not entry.namespaces:
        return None
    if not context.has_partition_key:
        # the job running, when it is one of checks: its name carries any suffix that
        # told it from another's of the same dimensions
        running = context.job_def.name
        job = running if running.startswith(SOURCE_CHECKS_JOB) else partitioned_job_name(entry)
        raise NamespaceKeyError(
            f"{entry.subject}: its checks run one partition at a time, and this run names none. "
            f"Fix: dagster job execute -f definitions.py -j {job} --tags "
            '\'{"dagster/partition": "KEY"}\', or check a partition from the asset\'s page.'
        )
    key = context.partition_key
    partitions = partitions_def(entry)
    with dg.partition_loading_context(dynamic_partitions_store=context.instance):
        unknown = partitions is not None and not partitions.has_partition_key(str(key))
        # every key only to say which there are (an hourly dimension may have many)
        known = partitions.get_partition_keys() if unknown and partitions is not None else []
    if unknown:
        shown = ", ".join(str(k) for k in known[:5]) + (", ..." if len(known) > 5 else "")
        raise NamespaceKeyError(
            f"{entry.subject}: partition {str(key)!r} is not one of its partitions "
            f"({shown or 'none yet'})."
        )
    return keys_of(entry, key)


def check_result(entry: Entry, verdict: Verdict, outcome: Outcome | None) -> dg.AssetCheckResult:
    result = verdict.result
    metadata: dict[str, Any] = {
        "error_count": dg.MetadataValue.int(result.error_count),
        "errors_by_type": dg.MetadataValue.json(result.errors_by_type),
        **{key: _metadata_value(value) for key, value in result.metadata.items()},
    }
    if result.failures:
        metadata["failures"] = failures_table(result)
    if result.truncated:
        metadata["failures_shown"] = dg.MetadataValue.int(len(result.failures))
    if outcome is not None and verdict.check in outcome.full_reports:
        metadata["report"] = dg.MetadataValue.path(outcome.full_reports[verdict.check])
    quarantine = outcome.quarantine if outcome is not None else None
    if quarantine is not None and verdict.blocking and not result.passed:
        metadata["quarantine"] = dg.MetadataValue.text(quarantine)
    failed_to_keep = outcome.quarantine_failed if outcome is not None else None
    if failed_to_keep is not None and verdict.blocking and not result.passed:
        metadata["quarantine_failed"] = dg.MetadataValue.text(failed_to_keep)
    severity = dg.AssetCheckSeverity.ERROR if verdict.blocking else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(entry.name),
        check_name=verdict.check,
        passed=result.passed,
        severity=severity,
        metadata=metadata,
    )


def failures_table(result: CheckResult) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "row_number": failure.row_number,
                    "field_name": failure.field_name,
                    "error_type": failure.type,
                    "message": failure.message,
                }
            )
            for failure in result.failures
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("row_number", "int"),
                dg.TableColumn("field_name", "string"),
                dg.TableColumn("error_type", "string"),
                dg.TableColumn("message", "string"),
            ]
        ),
    )


def _metadata_value(value: Any) -> Any:
    """A custom check's metadata value as Dagster takes it: numpy and pandas scalars and
    arrays as Python values, containers as JSON, anything else Dagster has no type for as its
    text (a check's metadata must not fail the step that records it)."""
    if isinstance(value, dg.MetadataValue):
        return value
    plain = _plain(value)
    if isinstance(plain, dict | list):
        return dg.MetadataValue.json(plain)
    if plain is None or isinstance(plain, str | int | float | bool):
        return plain
    return dg.MetadataValue.text(str(plain))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalars and arrays
        return _plain(value.tolist())
    if hasattr(value, "isoformat"):  # dates, times and pandas timestamps
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
