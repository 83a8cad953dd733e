"""Validation rules as Dagster asset checks.

A produced entry is audited inside its own step, before its output reaches the IO manager:
write-audit-publish. When a blocking check fails, the step yields no output (the previous value
stays published), the rejected value goes to a quarantine location named in the check's
metadata, and Dagster fails the step so downstream steps do not run. An external entry's
checks run on their own, reading the stored source.
"""

from __future__ import annotations

import contextvars
import posixpath
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dagster as dg

from ..cache.function import CachedOutput
from ..catalog import Entry
from ..checks.audit import Verdict, audit, blocking_failures, check_names
from ..checks.results import CheckResult
from ..formats import get_format
from ..formats.base import TextTable
from ..partitions import PartitionedOutput, for_partition
from ..project import Catalog
from ..stores import Location
from .io_manager import Written
from .partitions import keys_of, partitions_def

QUARANTINE_FOLDER = ".datanectar/quarantine"
REPORTS_FOLDER = ".datanectar/reports"
_FAILURE_COLUMNS = ("row_number", "field_name", "error_type", "message")


def check_specs(entry: Entry) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(entry.name)
    # A partitioned entry's checks are partitioned too: each run checks what it wrote.
    partitions = partitions_def(entry)
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


def audited_outputs(
    context: dg.AssetExecutionContext, catalog: Catalog, entry: Entry, value: Any, output: Any
) -> Iterator[Any]:
    """Audit `value`; yield every check result, and `output` only if no blocking check failed.

    A plain value is written while it is audited, on another thread, and published only if
    the audit lets it (write-audit-publish without paying for the audit and the write one
    after the other); the IO manager then only records what was written.
    """
    if isinstance(output, CachedOutput):  # published with its cache record by the IO manager
        verdicts = _audit(catalog, entry, value)
        written = None if blocking_failures(verdicts) else output
    else:
        written, verdicts = _write_while_auditing(context, catalog, entry, value)
    quarantine = None
    if written is None:
        quarantine = quarantine_value(catalog, entry, value, context.run.run_id)
    else:
        # The output first: its materialization is what these check results are about (results
        # yielded before it would be attached to the previous materialization).
        yield dg.Output(written)
    for verdict in verdicts:
        yield check_result(catalog, entry, verdict, quarantine=quarantine)


def audited_namespaces(
    context: dg.AssetExecutionContext, catalog: Catalog, entry: Entry, output: PartitionedOutput
) -> Iterator[Any]:
    """A single-run backfill's namespaces, each audited as its own partition.

    One output covers every namespace of the run (Dagster records a materialization for each),
    so it is all or nothing: if any namespace fails a blocking check, none is published, the
    failing ones go to quarantine, and the step fails. Each check result names its partition.
    """
    audits = []
    for (keys, value), label in zip(output.values, context.partition_keys, strict=True):
        plain = value.value if isinstance(value, CachedOutput) else value
        verdicts = _audit(catalog, for_partition(entry, keys), plain)
        quarantine = None
        if blocking_failures(verdicts):
            namespace = "-".join(keys[name] for name in sorted(keys))
            quarantine = quarantine_value(
                catalog, entry, plain, context.run.run_id, namespace=namespace
            )
        audits.append((str(label), verdicts, quarantine))
    if not any(quarantine for _, _, quarantine in audits):
        yield dg.Output(output)  # before the results, which are about what it materializes
    # Each check's own output, as Dagster gives it for a check result; the results themselves
    # are evaluations naming their partition, which a check result cannot.
    selected = context.selected_asset_check_keys
    for spec in check_specs(entry):
        if spec.key in selected:
            yield dg.Output(None, output_name=spec.get_python_identifier())
    for label, verdicts, quarantine in audits:
        for verdict in verdicts:
            result = check_result(catalog, entry, verdict, quarantine=quarantine)
            yield dg.AssetCheckEvaluation(
                asset_key=result.asset_key or dg.AssetKey(entry.name),
                check_name=verdict.check,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                blocking=verdict.blocking,
                partition=label,
            )


class _Rejected(Exception):
    """A blocking check failed: the staged value is not published."""


def _write_while_auditing(
    context: dg.AssetExecutionContext, catalog: Catalog, entry: Entry, value: Any
) -> tuple[Written | None, list[Verdict]]:
    target = entry
    if entry.namespaces:
        target = for_partition(entry, keys_of(entry, context.partition_key))
    staged = catalog.storage.stages(target)
    if staged and entry.schema_ is not None and catalog.storage.stores_text(target):
        return _write_then_audit(catalog, entry, target, value)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="datanectar-audit") as pool:
        # While the value is written to staging the audit keeps to one core; when nothing is
        # written meanwhile (formats that commit in place) it may use them all. It sees the
        # step's context variables (active catalog, cache settings).
        pending = pool.submit(
            contextvars.copy_context().run, _audit, catalog, entry, value, 1 if staged else None
        )

        def publish_if_passed(_: Location | None) -> None:
            if blocking_failures(pending.result()):
                raise _Rejected

        try:
            written: Written | None = Written(
                catalog.storage.save(target, value, gate=publish_if_passed)
            )
        except _Rejected:
            written = None
        return written, pending.result()


def _write_then_audit(
    catalog: Catalog, entry: Entry, target: Entry, value: Any
) -> tuple[Written | None, list[Verdict]]:
    """A text format's Table Schema judges the staged file itself, once written: reading it
    back costs a fraction of rendering the value to text a second time (and then parsing it),
    which is what auditing meanwhile would take, and the file is exactly what gets published."""
    verdicts: list[Verdict] = []

    def audit_staged(staged: Location | None) -> None:
        def text() -> TextTable | None:
            if staged is None:
                return catalog.storage.written_text(target, value)
            return catalog.storage.staged_text(target, staged)

        verdicts.extend(_audit(catalog, entry, value, as_text=text))
        if blocking_failures(verdicts):
            raise _Rejected

    try:
        written: Written | None = Written(catalog.storage.save(target, value, gate=audit_staged))
    except _Rejected:
        written = None
    return written, verdicts


def _audit(
    catalog: Catalog,
    entry: Entry,
    value: Any,
    threads: int | None = None,
    *,
    as_text: Callable[[], TextTable | None] | None = None,
) -> list[Verdict]:
    """A produced value's checks; its Table Schema judges the cells as they will be stored
    (`as_text`; by default the value rendered as its format writes it)."""
    return audit(
        entry,
        value,
        project_root=catalog.config.root,
        load_entry=catalog.load,
        threads=threads,
        as_text=as_text or (lambda: catalog.storage.written_text(entry, value)),
    )


def external_checks(entry: Entry, catalog: Catalog) -> dg.AssetChecksDefinition:
    """Checks of an entry nothing produces: they read the stored source and report."""

    @dg.multi_asset_check(specs=check_specs(entry), name=f"{entry.name}_checks", can_subset=True)
    # Unannotated: Dagster resolves a `context` annotation only from names it knows.
    def run_checks(context) -> Iterator[dg.AssetCheckResult]:
        target = entry
        if entry.namespaces:
            target = for_partition(entry, keys_of(entry, context.partition_key))
        # A csv's Table Schema reads the file as text; the typed value is loaded only when
        # something else needs it (the rules, or a format that stores typed values).
        text = catalog.storage.stored_text(target) if entry.schema_ is not None else None
        value = catalog.storage.load(target) if text is None or entry.checks else None
        selected = {key.name for key in context.selected_asset_check_keys}
        verdicts = audit(
            entry,
            value,
            project_root=catalog.config.root,
            load_entry=catalog.load,
            as_text=lambda: text,
        )
        for verdict in verdicts:
            if verdict.check in selected:
                yield check_result(catalog, entry, verdict, quarantine=None)

    return run_checks


def check_result(
    catalog: Catalog, entry: Entry, verdict: Verdict, *, quarantine: str | None
) -> dg.AssetCheckResult:
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
    if entry.report == "full" and not result.passed:
        metadata["report"] = dg.MetadataValue.path(store_full_report(catalog, entry, result))
    if quarantine is not None and verdict.blocking and not result.passed:
        metadata["quarantine"] = dg.MetadataValue.text(quarantine)
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


def quarantine_value(
    catalog: Catalog, entry: Entry, value: Any, tag: str, *, namespace: str | None = None
) -> str:
    """Keep a rejected value apart from the published one, under the store's quarantine
    (`namespace` tells apart the partitions rejected by one run)."""
    fmt = get_format(str(entry.format))
    if fmt.medium == "database":
        suffix = f"__{re.sub(r'[^A-Za-z0-9_]', '_', namespace)}" if namespace else ""
        path = f"{entry.path}__quarantine{suffix}"[:63]
    else:
        name = posixpath.basename(str(entry.path))
        label = f"{tag}-{namespace}" if namespace else tag
        path = posixpath.join(QUARANTINE_FOLDER, entry.name, f"{label}-{name}")
    report = catalog.storage.save(entry.model_copy(update={"path": path}), value)
    return report.uri


def store_full_report(catalog: Catalog, entry: Entry, result: CheckResult) -> str:
    """The whole report of a failed check, as JSON beside the data (`report: full`)."""
    document = {
        "entry": entry.name,
        "check": result.name,
        "error_count": result.error_count,
        "errors_by_type": result.errors_by_type,
        "errors": [
            {
                "row_number": failure.row_number,
                "field_name": failure.field_name,
                "field_number": failure.field_number,
                "error_type": failure.type,
                "cell": failure.cell,
                "message": failure.message,
            }
            for failure in result.failures
        ],
    }
    store = (
        entry.store
        if catalog.stores[str(entry.store)].holds_files
        else catalog.config.settings.default_store
    )
    target = Entry(
        name=entry.name,
        format="json",
        store=store,
        path=posixpath.join(REPORTS_FOLDER, entry.name, f"{result.name}.json"),
    )
    return catalog.storage.save(target, document).uri


def _metadata_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return dg.MetadataValue.json(value)
    return value
