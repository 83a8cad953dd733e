"""Collecting a table's errors in frictionless's order, counting all, keeping the first N.

frictionless lists the header's errors, then each row's errors. Within a row the order is the
order in which frictionless happens to read the cells: the fields a unique, primary-key or
foreign-key check reads first, then the rest, so it depends on which errors the row has. Here
each kind of error is one `ErrorGroup` holding the rows it occurs in, and a caller-supplied
`RowOrder` lists one row's error keys in that reading order. Messages are frictionless's own:
its error classes are built for the failures kept, never for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from frictionless import Error

from ..results import CheckFailure

FIRST_DATA_ROW = 2
"""frictionless numbers the header row 1."""

RowOrder = Callable[[set[Hashable]], list[Hashable]]
"""Given the keys of the error groups present in one row, those keys in frictionless's order."""


@dataclass(frozen=True)
class ErrorGroup:
    type: str
    key: Hashable
    rows: np.ndarray
    """Row positions (0-based, ascending) where this error occurs."""
    build: Callable[[int], Error]
    """The frictionless error at one row position (only called for the failures kept)."""


def collect(
    table_errors: Sequence[Error],
    groups: Sequence[ErrorGroup],
    *,
    cap: int | None,
    row_order: RowOrder,
) -> tuple[int, dict[str, int], list[CheckFailure]]:
    """(error count, count by type, the first `cap` failures; all of them for None)."""
    by_type: dict[str, int] = {}
    for error in table_errors:
        by_type[error.type] = by_type.get(error.type, 0) + 1
    for group in groups:
        if len(group.rows):
            by_type[group.type] = by_type.get(group.type, 0) + len(group.rows)
    count = sum(by_type.values())

    failures = [to_failure(error) for error in table_errors][:cap]
    wanted = None if cap is None else cap - len(failures)
    if wanted is None or wanted > 0:
        failures += _first_row_failures(groups, wanted, row_order)
    return count, by_type, failures


def _first_row_failures(
    groups: Sequence[ErrorGroup], wanted: int | None, row_order: RowOrder
) -> list[CheckFailure]:
    # A row among the first `wanted` errors has each of its errors among the first `wanted`
    # rows of that error's group, so those rows are all that need looking at.
    present: dict[int, dict[Hashable, ErrorGroup]] = {}
    for group in groups:
        picked = group.rows if wanted is None else group.rows[:wanted]
        for row in picked.tolist():
            present.setdefault(row, {})[group.key] = group
    failures: list[CheckFailure] = []
    for row in sorted(present):
        for key in row_order(set(present[row])):
            failures.append(to_failure(present[row][key].build(row)))
        if wanted is not None and len(failures) >= wanted:
            return failures[:wanted]
    return failures


def to_failure(error: Error) -> CheckFailure:
    return CheckFailure(
        type=error.type,
        message=error.message,
        row_number=getattr(error, "row_number", None),
        # "" where frictionless names no field of the schema (an extra cell or label)
        field_name=getattr(error, "field_name", None),
        field_number=getattr(error, "field_number", None),
        cell=getattr(error, "cell", None),
    )
