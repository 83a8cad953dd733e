"""What a check returns: plain data, no Dagster.

The orchestration layer maps a `CheckResult` onto an asset check result (passed, metadata, a
table of the first failures); a notebook user reads the same object. Failures are structured
(type, row, field, cell, message) so that they can be counted, filtered and shown as a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

ReportMode = Literal["count", "partial", "full"]
"""How many failures a result keeps: none (`count`), the first `limit` (`partial`), or all."""

DEFAULT_FAILURE_LIMIT = 100


@dataclass(frozen=True)
class CheckFailure:
    """One error, in the vocabulary of the tool the check mirrors (frictionless for schemas).

    `row_number` counts like frictionless: the header is row 1, the first data row is row 2;
    it is None for errors about the header or the whole table. `field_number` starts at 1.
    """

    type: str
    message: str
    row_number: int | None = None
    field_name: str | None = None
    field_number: int | None = None
    cell: str | None = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    error_count: int
    errors_by_type: dict[str, int]
    failures: list[CheckFailure]
    """The first failures in the order the check found them, capped by the report mode."""
    metadata: dict[str, Any] = field(default_factory=dict)
    cut: bool | None = None
    """Whether failures were left out by the report's cap; None: one failure per error, so
    fewer failures than errors says so (an aggregated result, where one failure stands for
    many errors, says it itself)."""

    @property
    def truncated(self) -> bool:
        """Whether some errors were counted but not kept as failures."""
        return self.cut if self.cut is not None else len(self.failures) < self.error_count


def check_error(name: str, message: str, **metadata: Any) -> CheckResult:
    """A check that could not judge (it raised, or returned or ran something unusable): a
    failed `check-error`, its message in the `error` metadata."""
    return CheckResult(
        name=name,
        passed=False,
        error_count=1,
        errors_by_type={"check-error": 1},
        failures=[CheckFailure(type="check-error", message=message)],
        metadata={"error": message, **metadata},
    )


def failure_cap(report: str, limit: int) -> int | None:
    """How many failures to keep for a report mode: 0, `limit`, or None for all.

    Checked here rather than trusted, because both values come from catalog YAML.
    """
    modes = get_args(ReportMode)
    if report not in modes:
        raise ValueError(
            f"report must be one of {', '.join(repr(m) for m in modes)}, not {report!r}. "
            "Fix: use 'count' for counts only, 'partial' for the first failures, 'full' for all."
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, not {limit!r}.")
    if report == "count":
        return 0
    if report == "partial":
        return limit
    return None


def failure_lines(result: CheckResult, *, limit: int = 5) -> list[str]:
    """The first failures as lines a log or an exception can show: row, field, type, message."""
    lines = []
    for failure in result.failures[:limit]:
        where = ", ".join(
            part
            for part in (
                f"row {failure.row_number}" if failure.row_number is not None else "",
                f"field '{failure.field_name}'" if failure.field_name else "",
            )
            if part
        )
        lines.append(f"{where + ': ' if where else ''}{failure.type}: {failure.message}")
    hidden = result.error_count - len(lines)
    if hidden > 0:
        lines.append(f"... and {hidden} more error(s)")
    return lines
