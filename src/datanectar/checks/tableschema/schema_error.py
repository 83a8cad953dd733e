"""The error a Table Schema check raises when it cannot run (as opposed to failing)."""

from __future__ import annotations

from ...errors import DatanectarError


class TableSchemaError(DatanectarError, ValueError):
    """A Table Schema descriptor, or a table given to validate, cannot be used."""

    def __init__(self, *, source: str, problem: str, fix: str = "") -> None:
        self.source = source
        self.problem = problem
        self.fix = fix
        message = f"{source}: {problem}"
        super().__init__(message + (f" Fix: {fix}" if fix else ""))
