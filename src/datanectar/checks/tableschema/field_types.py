"""Reading one column with one Table Schema field, vectorized, to frictionless's verdict.

For each field type there is a fast reader over the whole column (`text_readers` for text
columns, `typed_readers` for typed ones): pyarrow/numpy expressions that read the common
spellings (see `temporal` for dates and times) and flag the cells that
are certainly of the wrong type (an int column read as a string field...). Every other cell
that is not missing goes to frictionless's own cell reader (`Field.create_cell_reader`), once
per distinct value: its verdict, type error and constraint notes, is frictionless's by
construction. That split is what makes the result exact without reading row by row: the fast
readers only claim cells whose reading is unambiguous.

Fast values are numpy arrays: int64 for integer and year, float64 for number (exact for the
cells read here, see `text_readers._NUMBER`), bool for boolean, int64 days/microseconds for
dates and times, and the pyarrow text itself for string and any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Field

from .cells import Column, text_in
from .fast_read import read_nothing
from .text_readers import TEXT_READERS
from .typed_readers import TYPED_READERS

# Equal float64 values are equal Decimals (as frictionless compares numbers) while no number
# has more than 15 significant digits (DBL_DIG).
_NUMBER_DIGITS = 15


@dataclass(eq=False)
class ParsedColumn:
    """One column read with one field: which cells are missing, wrong, or read to what."""

    field: Field
    column: Column | None
    """None for a column the table does not have (every cell then reads as None)."""
    missing: np.ndarray
    """Blank cells: None after missing values, which only `required` can fault."""
    type_error: np.ndarray
    fast: np.ndarray
    """Cells read here, whose values are in `values`."""
    values: Any
    aware: np.ndarray | None = None
    """For datetime values: which are UTC instants (had an offset) rather than wall times."""
    slow_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    slow_targets: list[Any] = field(default_factory=list)
    slow_notes: list[dict[str, str] | None] = field(default_factory=list)

    @cached_property
    def floats_exact(self) -> bool:
        """Whether equal float64 values here are equal Decimals in frictionless: true but for
        text numbers longer than 15 significant digits."""
        if self.field.type not in ("number", "any") or self.column is None:
            return True
        if self.column.kind != "text" or isinstance(self.values, pa.Array):
            return True
        text = self.column.text.filter(pa.array(self.fast))
        if not len(text) or pc.max(pc.utf8_length(text)).as_py() <= _NUMBER_DIGITS:
            return True
        digits = pc.count_substring_regex(pc.replace_substring_regex(text, "[eE].*$", ""), "[0-9]")
        return pc.max(digits).as_py() <= _NUMBER_DIGITS

    @property
    def size(self) -> int:
        return len(self.missing)

    @property
    def value_missing(self) -> np.ndarray:
        """Cells frictionless reads as None: blank or of the wrong type."""
        return self.missing | self.type_error

    @cached_property
    def _slow_targets_by_row(self) -> dict[int, Any]:
        return dict(zip(self.slow_rows.tolist(), self.slow_targets, strict=True))

    def frictionless_values(self, rows: np.ndarray) -> list[Any]:
        """The values frictionless reads at `rows` (None when blank or wrong), for the few
        places that need them as Python objects: ties, messages, mixed keys."""
        if self.column is None:
            return [None] * len(rows)
        reader = self.field.create_value_reader()
        slow = self._slow_targets_by_row
        cells = self.column.python_cells(rows)
        out = []
        for row, cell in zip(rows.tolist(), cells, strict=True):
            if row in slow:
                out.append(slow[row])
            elif self.missing[row] or self.type_error[row]:
                out.append(None)
            else:
                out.append(reader(cell))
        return out


def read_column(field_: Field, column: Column) -> ParsedColumn:
    missing = column.null | _missing_values(field_, column)
    candidates = ~missing
    if column.kind == "text":
        reader = TEXT_READERS.get(field_.type, read_nothing)
    elif column.kind == "object":
        reader = read_nothing
    else:
        reader = TYPED_READERS.get(field_.type, read_nothing)
    fast = reader(field_, column, candidates)
    type_error = np.zeros(len(candidates), bool) if fast.type_error is None else fast.type_error
    type_error = type_error & candidates
    fast_rows = fast.fast & candidates & ~type_error
    slow_rows = np.flatnonzero(candidates & ~fast_rows & ~type_error)
    targets, notes = _read_slow(field_, column, slow_rows)
    slow_type = [
        row for row, note in zip(slow_rows.tolist(), notes, strict=True) if note and "type" in note
    ]
    type_error[slow_type] = True
    return ParsedColumn(
        field=field_,
        column=column,
        missing=missing,
        type_error=type_error,
        fast=fast_rows,
        values=fast.values,
        aware=fast.aware,
        slow_rows=slow_rows,
        slow_targets=targets,
        slow_notes=notes,
    )


def absent_column(field_: Field, size: int) -> ParsedColumn:
    """A field the table lacks: frictionless reads None for it in every row."""
    nothing = np.zeros(size, bool)
    return ParsedColumn(
        field=field_, column=None, missing=~nothing, type_error=nothing, fast=nothing, values=None
    )


def missing_values(field_: Field) -> list[str]:
    """The field's missingValues, or the schema's when the field declares none (as frictionless)."""
    if not field_.has_defined("missing_values") and field_.schema is not None:
        return list(field_.schema.missing_values)
    return list(field_.missing_values)


def _missing_values(field_: Field, column: Column) -> np.ndarray:
    values = missing_values(field_)
    size = len(column.series)
    if not values:
        return np.zeros(size, bool)
    if column.kind == "text" and values == [""]:
        return column.empty
    if column.kind == "text":
        return text_in(column.text, values)
    if values == [""]:
        return np.zeros(size, bool)  # str() of a non-text cell is never empty
    # A typed cell is missing when its str() is a missing value ("0", "nan"...): rare, so
    # read cell by cell.
    rows = np.flatnonzero(~column.null)
    texts = {str(cell) for cell in values}
    found = np.zeros(size, bool)
    found[rows] = [str(cell) in texts for cell in column.python_cells(rows)]
    return found


def _read_slow(field_: Field, column: Column, rows: np.ndarray) -> tuple[list, list]:
    """frictionless's own (value, notes) for each of `rows`, once per distinct cell."""
    if not len(rows):
        return [], []
    reader = field_.create_cell_reader()
    seen: dict[Any, tuple[Any, dict | None]] = {}
    targets, notes = [], []
    for cell in column.python_cells(rows):
        try:
            key = (type(cell), cell)  # so that 1, 1.0 and True stay apart
            result = seen.get(key)
            if result is None:
                result = seen[key] = reader(cell)
        except TypeError:  # unhashable cell (list, dict): read it every time
            result = reader(cell)
        targets.append(result[0])
        notes.append(result[1])
    return targets, notes


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regex frictionless matches a `pattern` constraint with (note: no group around it)."""
    return re.compile(f"^{pattern}$")
