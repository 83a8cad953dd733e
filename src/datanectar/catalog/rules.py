"""Validation rules as the catalog declares them under `checks:`, one typed model each.

```yaml
checks:
  - row_count: {min: 10}
  - unique: [station_id]
  - {custom: demo.checks:no_future_dates, severity: warn}
  - dims: {time: null, lat: 73, lon: 144}
```

Each list item names exactly one rule, with an optional `severity` (error blocks publishing,
warn does not) and `name` (the Dagster check name; the rule name by default). This module only
describes rules; `datanectar.checks` evaluates them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .range_bounds import Bounds, parse_bounds

Severity = Literal["error", "warn"]

_CUSTOM_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


class RowCount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int | None = Field(default=None, ge=0, description="Fewest rows allowed.")
    max: int | None = Field(default=None, ge=0, description="Most rows allowed.")


class VariableSpec(BaseModel):
    """What an xarray variable must be: its dtype and attributes (units, ...)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    dtype: str | None = Field(default=None, description="numpy dtype name, e.g. float32.")


# The rules: name -> (the type of its value, the kinds of data it applies to).
RULES: dict[str, tuple[Any, tuple[str, ...], str]] = {
    "row_count": (RowCount, ("table",), "number of rows within {min, max}"),
    "not_null": (list[str], ("table",), "these columns have no missing values"),
    "unique": (list[str], ("table",), "the combination of these columns is unique"),
    "values_in": (
        dict[str, list[Any]],
        ("table",),
        "each column's values are among the listed ones",
    ),
    "range": (
        dict[str, tuple[Any, Any]],
        ("table", "grid"),
        "each column or variable lies within [low, high]: numbers, or ISO dates/times (null: open)",
    ),
    "dims": (
        dict[str, int | None],
        ("grid",),
        "these dimensions exist, with these lengths (null: any)",
    ),
    "coords": (list[str], ("grid",), "these coordinates exist"),
    "variables": (
        dict[str, VariableSpec],
        ("grid",),
        "these variables exist, with this dtype and attributes",
    ),
    "max_nan_fraction": (
        dict[str, float],
        ("grid",),
        "at most this fraction of each variable is NaN",
    ),
    "custom": (str, ("table", "grid", "any"), "module:function returning pass/fail with metadata"),
}


class Rule(BaseModel):
    """One item of `checks:`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row_count: RowCount | None = None
    not_null: list[str] | None = None
    unique: list[str] | None = None
    values_in: dict[str, list[Any]] | None = None
    range: dict[str, tuple[Any, Any]] | None = Field(
        default=None,
        description="column or variable -> [low, high]: two numbers, or two ISO dates or "
        "timestamps (null: open). Missing values are never out of range.",
    )
    dims: dict[str, int | None] | None = None
    coords: list[str] | None = None
    variables: dict[str, VariableSpec] | None = None
    max_nan_fraction: dict[str, float] | None = None
    custom: str | None = None
    options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments passed to a custom check."
    )
    severity: Severity = Field(
        default="error", description="error blocks publishing; warn does not."
    )
    name: str | None = Field(
        default=None, description="The Dagster check name; the rule's by default."
    )

    @field_validator("range")
    @classmethod
    def _typed_bounds(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for column, pair in (value or {}).items():
            try:
                parse_bounds(pair)
            except ValueError as exc:
                raise ValueError(f"'{column}': {exc}") from None
        return value

    def bounds(self) -> dict[str, Bounds]:
        """A `range` rule's bounds, typed, by column or variable."""
        return {column: parse_bounds(pair) for column, pair in (self.range or {}).items()}

    @model_validator(mode="after")
    def _exactly_one_rule(self) -> Rule:
        given = [rule for rule in RULES if getattr(self, rule) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a check names exactly one rule, got {', '.join(given) or 'none'}; rules: {', '.join(RULES)}"
            )
        if self.custom is not None and not _CUSTOM_TARGET.fullmatch(self.custom):
            raise ValueError(f"custom check '{self.custom}' must be 'module.path:function'")
        if self.options and self.custom is None:
            raise ValueError("'options' is for custom checks only")
        if self.name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise ValueError(f"check name '{self.name}' must use letters, digits and '_'")
        return self

    @property
    def kind(self) -> str:
        return next(rule for rule in RULES if getattr(self, rule) is not None)

    @property
    def value(self) -> Any:
        return getattr(self, self.kind)

    @property
    def check_name(self) -> str:
        return self.name or self.kind

    @property
    def applies_to(self) -> tuple[str, ...]:
        return RULES[self.kind][1]

    @property
    def blocking(self) -> bool:
        return self.severity == "error"
