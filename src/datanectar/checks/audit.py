"""All of an entry's checks on one value: the Table Schema first, then its rules in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..catalog import Entry
from .read_only import read_only
from .results import DEFAULT_FAILURE_LIMIT, CheckResult, failure_cap
from .rules import evaluate_custom_rule, evaluate_grid_rule, evaluate_table_rule
from .rules.sql import SqlTables, evaluate_sql_rule
from .tableschema.text_table import TextTable, UnreadableTable

SCHEMA_CHECK = "table_schema"


@dataclass(frozen=True)
class Verdict:
    check: str
    blocking: bool
    result: CheckResult


def check_names(entry: Entry) -> list[tuple[str, bool, str]]:
    """(name, blocking, description) of every check the entry declares, in order."""
    declared = (
        [(SCHEMA_CHECK, True, "The data conforms to its frictionless Table Schema.")]
        if entry.schema_
        else []
    )
    return declared + [(rule.check_name, rule.blocking, _describe(rule)) for rule in entry.checks]


def audit(
    entry: Entry,
    value: Any,
    *,
    project_root: Path,
    load_entry: Callable[[str], Any],
    threads: int | None = None,
    as_text: Callable[[], TextTable | None] | None = None,
    read_back: Callable[[], Any] | None = None,
    secrets: tuple[str, ...] = (),
    sql_tables: SqlTables | None = None,
) -> list[Verdict]:
    """Evaluate every check of `entry` on `value`. `load_entry` loads another entry (the
    tables foreign keys point to); `threads` caps the Table Schema check's threads; `as_text`
    gives the table as its stored cells read, with the header row, when they are text (a CSV):
    the Table Schema check judges those, as frictionless reading the file would. `read_back`
    gives the value as its store will give it back when that differs from `value` (a CSV's
    cells typed anew by its reader): the rules judge that, so a value checked when produced
    and checked again as a source gets one verdict. Each custom check gets a view it cannot
    change anything through (`read_only`); what a raising one says is shown with the stores'
    `secrets` masked (a check may well fail on a connection string). `sql_tables` gives the
    tables sql rules query: the value judged (None for a stored source: the rules that need
    no value, sql rules, read it where it is stored)."""
    cap = failure_cap(entry.report, DEFAULT_FAILURE_LIMIT)
    verdicts = []
    if entry.schema_ is not None:
        from .tableschema.validator import load_schema, unreadable_result, validate_table

        schema = load_schema(entry.schema_, basepath=project_root)
        foreign = _foreign_tables(schema, load_entry)
        try:
            text = as_text() if as_text is not None else None
        except UnreadableTable as unreadable:
            result = unreadable_result(unreadable.error_type, unreadable.note, report=entry.report)
        else:
            result = validate_table(
                value if text is None else text.frame,
                schema,
                header=None if text is None else text.header,
                ragged=None if text is None else text.ragged,
                foreign_tables=foreign,
                report=entry.report,
                threads=threads,
            )
            if text is not None and text.reading is not None:
                # the dialect and encoding the cells were read in (detected ones listed),
                # which the entry's `dialect:` and `load_options.encoding` can pin
                result = replace(
                    result, metadata={**result.metadata, "dialect": text.reading.descriptor()}
                )
        verdicts.append(Verdict(SCHEMA_CHECK, True, result))
    needs_value = any(rule.sql is None for rule in entry.checks) or value is not None
    judged = read_back() if read_back is not None and needs_value else value
    for rule in entry.checks:
        if rule.sql is not None:
            result = evaluate_sql_rule(
                rule, entry=entry.name, judged=judged, tables=sql_tables, secrets=secrets
            )
        elif rule.custom is not None:
            result = evaluate_custom_rule(rule, read_only(judged), secrets=secrets)
        elif "table" in rule.applies_to and _is_table(judged):
            result = evaluate_table_rule(rule, _frame(judged), cap=cap)
        else:
            result = evaluate_grid_rule(rule, judged, cap=cap)
        verdicts.append(Verdict(rule.check_name, rule.blocking, result))
    return verdicts


def blocking_failures(verdicts: list[Verdict]) -> list[Verdict]:
    return [verdict for verdict in verdicts if verdict.blocking and not verdict.result.passed]


def _foreign_tables(schema: Any, load_entry: Callable[[str], Any]) -> dict[str, Any]:
    """The tables a schema's foreign keys name (another catalog entry each; '' is itself)."""
    tables = {}
    for key in schema.foreign_keys:
        resource = key.get("reference", {}).get("resource", "")
        if resource and resource not in tables:
            tables[resource] = load_entry(resource)
    return tables


def _is_table(value: Any) -> bool:
    return hasattr(value, "columns") or (hasattr(value, "schema") and hasattr(value, "num_rows"))


def _frame(value: Any) -> Any:
    return value.to_pandas() if hasattr(value, "num_rows") else value


def _describe(rule: Any) -> str:
    from .descriptions import describe_rule

    return describe_rule(rule)
