"""What a fast reader of one column returns, and the reader that claims no cell.

There is a fast reader per field type: `text_readers` for text columns (a CSV's cells),
`typed_readers` for typed ones (parquet, delta). Each claims only the cells whose reading is
unambiguous; `field_types.read_column` hands every other cell to frictionless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from frictionless import Field

from .cells import Column


@dataclass
class FastRead:
    fast: np.ndarray
    """The cells read here."""
    values: Any = None
    """Their values, one per row (see `field_types` for each type's); the other rows' are
    never looked at."""
    type_error: np.ndarray | None = None
    """The cells certainly of the wrong type."""
    aware: np.ndarray | None = None
    """For datetime values: which are UTC instants (had an offset) rather than wall times."""


FastReader = Callable[[Field, Column, np.ndarray], FastRead]
"""(field, column, candidates: the cells that are not missing) -> what it reads of them."""


def read_nothing(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    return FastRead(fast=np.zeros(len(candidates), bool))
