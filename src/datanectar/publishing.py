"""Write-audit-publish: the one way a computed value reaches its store, whoever writes it.

`catalog.save`, a plain call of a cached function and a Dagster step all publish through
`publish`: the entry's checks judge the value, and a blocking failure publishes nothing (the
previous value stays where readers find it), keeps the rejected value in quarantine and
reports why. No Dagster here: the asset layer maps the outcome onto check results, a notebook
gets `CheckFailedError` (blocking) or `CheckWarning` (warn-level) from `enforce`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import posixpath
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .catalog import Entry
from .checks.audit import Verdict, audit, blocking_failures, check_names
from .checks.results import CheckResult, failure_lines
from .checks.tableschema.text_table import TextTable
from .errors import CheckFailedError, CheckWarning
from .formats import DOCUMENT_FORMAT
from .quarantine import keep_or_explain
from .sql_tables import CatalogTables
from .storage import EntryStorage, WriteReport
from .stores import Location
from .targets import Target

if TYPE_CHECKING:
    from .project import Catalog

REPORTS_FOLDER = ".datanectar/reports"


@dataclass(frozen=True)
class Outcome:
    """What became of one value: published (`report`) or rejected (`quarantine`), and why."""

    entry: Entry
    """The declared entry, whose checks judged the value."""
    target: Target
    """Where the value was (or would have been) written: the entry, one of its namespaces, or
    a cached call's object."""
    report: WriteReport | None
    verdicts: list[Verdict] = field(default_factory=list)
    quarantine: str | None = None
    """Where the rejected value is kept (None when it was published)."""
    full_reports: dict[str, str] = field(default_factory=dict)
    """Check name -> where its whole report is (`report: full`, failed checks only)."""
    quarantine_failed: str | None = None
    """Why a rejected value could not be kept in quarantine, when it could not."""

    @property
    def published(self) -> bool:
        return self.report is not None

    def failed(self, *, blocking: bool) -> list[Verdict]:
        return [
            verdict
            for verdict in self.verdicts
            if verdict.blocking == blocking and not verdict.result.passed
        ]


def plain_tag() -> str:
    """The label of a write outside Dagster (a run's id labels a Dagster write)."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def publish(
    catalog: Catalog,
    entry: Entry,
    value: Any,
    *,
    tag: str,
    target: Target | None = None,
    storage: EntryStorage | None = None,
    verdicts: list[Verdict] | None = None,
) -> Outcome:
    """Audit `value` with `entry`'s checks and publish it at `target` (the entry itself by
    default) unless a blocking check fails. `verdicts`: the value was audited already (a
    single-run backfill audits every namespace before writing any)."""
    target = target or Target.of(entry)
    storage = storage or catalog.storage
    if not check_names(entry):
        return Outcome(entry, target, storage.save(target, value))
    if verdicts is not None:
        report = None if blocking_failures(verdicts) else storage.save(target, value)
    else:
        report, verdicts = _write_while_auditing(catalog, entry, target, storage, value)
    quarantine, quarantine_failed = None, None
    if report is None:
        quarantine, quarantine_failed = keep_or_explain(catalog, storage, target, value, tag)
    return Outcome(
        entry,
        target,
        report,
        verdicts,
        quarantine,
        full_reports(catalog, entry, verdicts),
        quarantine_failed,
    )


def enforce(outcome: Outcome) -> WriteReport:
    """The report of a published value; `CheckFailedError` for a rejected one, and a
    `CheckWarning` for each warn-level check that failed."""
    published = (
        "the value was published"
        if outcome.report is not None
        else "nothing was published (a blocking check failed too)"
    )
    for verdict in outcome.failed(blocking=False):
        warnings.warn(
            f"{_where(outcome.entry)}: check '{verdict.check}' (severity warn) failed; "
            f"{published}. {summary(verdict.result)}",
            CheckWarning,
            stacklevel=3,
        )
    if outcome.report is None:
        raise rejection(outcome)
    return outcome.report


def rejection(outcome: Outcome) -> CheckFailedError:
    failing = outcome.failed(blocking=True)
    lines = []
    for verdict in failing:  # each check's failures under its own line
        lines.append(f"- {summary(verdict.result)}")
        lines += [f"    {line}" for line in failure_lines(verdict.result)]
    names = ", ".join(verdict.check for verdict in failing)
    message = (
        f"{_where(outcome.entry)}: {len(failing)} blocking check(s) failed ({names}); nothing "
        f"was published and the previous value, if any, is kept.\n"
        + "\n".join(lines)
        + (
            f"\nThe rejected value is in quarantine at {outcome.quarantine}."
            if outcome.quarantine
            else f"\nThe rejected value could not be kept in quarantine: {outcome.quarantine_failed}"
        )
        + " Fix: correct the data (or the code producing it), or the entry's checks."
    )
    return CheckFailedError(
        message, entry=outcome.entry.name, verdicts=failing, quarantine=outcome.quarantine
    )


def summary(result: CheckResult) -> str:
    """One line on a failed check: its name, its error count, and the kinds of error."""
    kinds = ", ".join(f"{kind}: {count}" for kind, count in result.errors_by_type.items())
    return f"{result.name}: {result.error_count} error(s)" + (f" ({kinds})" if kinds else "")


class _Rejected(Exception):
    """A blocking check failed: the staged value is not published."""


def _write_while_auditing(
    catalog: Catalog, entry: Entry, target: Target, storage: EntryStorage, value: Any
) -> tuple[WriteReport | None, list[Verdict]]:
    """Audit while the value is written, on another thread, and publish only if the audit
    lets it: write-audit-publish without paying for the audit and the write one after the
    other."""
    staged = storage.stages(target)
    if staged and storage.stores_text(target):
        return _write_then_audit(catalog, entry, target, storage, value)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="datanectar-audit") as pool:
        # While the value is written to staging the audit keeps to one core; when nothing is
        # written meanwhile (formats that commit in place) it may use them all. It sees the
        # caller's context variables (active catalog, cache settings).
        pending = pool.submit(
            contextvars.copy_context().run,
            audit_value,
            catalog,
            entry,
            value,
            target=target,
            storage=storage,
            threads=1 if staged else None,
        )

        def publish_if_passed(_: Location | None) -> None:
            if blocking_failures(pending.result()):
                raise _Rejected

        try:
            report: WriteReport | None = storage.save(target, value, gate=publish_if_passed)
        except _Rejected:
            report = None
        return report, pending.result()


def _write_then_audit(
    catalog: Catalog, entry: Entry, target: Target, storage: EntryStorage, value: Any
) -> tuple[WriteReport | None, list[Verdict]]:
    """A text format's checks judge the staged file itself, once written: its Table Schema
    the cells (reading them back costs a fraction of rendering the value to text a second
    time, and then parsing it, which is what auditing meanwhile would take), its rules the
    value its reader types anew from them. Both are exactly what gets published, and what
    the same checks find when they judge the file as a source."""
    verdicts: list[Verdict] = []

    def audit_staged(staged: Location | None) -> None:
        def text() -> TextTable | None:
            if staged is None:
                return storage.written_text(target, value)
            return storage.staged_text(target, staged)

        def read_back() -> Any:
            return value if staged is None else storage.staged_value(target, staged)

        verdicts.extend(
            audit_value(
                catalog,
                entry,
                value,
                target=target,
                storage=storage,
                as_text=text,
                read_back=read_back,
            )
        )
        if blocking_failures(verdicts):
            raise _Rejected

    try:
        report: WriteReport | None = storage.save(target, value, gate=audit_staged)
    except _Rejected:
        report = None
    return report, verdicts


def audit_value(
    catalog: Catalog,
    entry: Entry,
    value: Any,
    *,
    target: Target | None = None,
    storage: EntryStorage | None = None,
    threads: int | None = None,
    as_text: Callable[[], TextTable | None] | None = None,
    read_back: Callable[[], Any] | None = None,
) -> list[Verdict]:
    """A produced value's checks; its Table Schema judges the cells as they will be stored
    (`as_text`; by default the value rendered as its format writes it), its rules the value
    as it will be read back (`read_back`, for formats that type it anew)."""
    target = target or Target.of(entry)
    storage = storage or catalog.storage
    return audit(
        entry,
        value,
        project_root=catalog.config.root,
        load_entry=catalog.load,
        threads=threads,
        as_text=as_text or (lambda: storage.written_text(target, value)),
        read_back=read_back or (lambda: storage.written_value(target, value)),
        secrets=catalog.secrets(),
        sql_tables=CatalogTables(storage, catalog.entries, target, produced=True),
    )


def full_reports(catalog: Catalog, entry: Entry, verdicts: list[Verdict]) -> dict[str, str]:
    """The whole report of each failed check, stored as JSON beside the data
    (`report: full`), by check name."""
    if entry.report != "full":
        return {}
    return {
        verdict.check: store_full_report(catalog, entry, verdict.result)
        for verdict in verdicts
        if not verdict.result.passed
    }


def store_full_report(catalog: Catalog, entry: Entry, result: CheckResult) -> str:
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
    report = Entry(name=entry.name, source=entry.source, format=DOCUMENT_FORMAT, store=store)
    path = posixpath.join(REPORTS_FOLDER, entry.name, f"{result.name}.json")
    return catalog.storage.save(Target(report, str(store), path), document).uri


def _where(entry: Entry) -> str:
    return entry.subject
