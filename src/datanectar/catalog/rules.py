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

import datetime as dt
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


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
SQL_FORMATS = ("parquet", "delta", "csv", "sql")
"""The formats a `sql` rule fits: tables a database or DuckDB (over Arrow datasets) queries."""


def query_placeholders(query: str) -> list[str]:
    """The names a sql rule's query puts in braces (`{table}`, `{other_entry}`), in order,
    found by a strict pattern; a brace that is not part of one is an error (never
    `str.format`: the query is user text)."""
    names = [match.group(1) for match in _PLACEHOLDER.finditer(query)]
    rest = _PLACEHOLDER.sub("", query)
    if "{" in rest or "}" in rest:
        raise ValueError(
            "a brace that is no placeholder: placeholders are '{table}' (the entry's own "
            "table) and '{entry_name}' (another catalog entry's); write no other braces"
        )
    return names


def one_select(query: str, *, whose: str) -> None:
    """`query` (its placeholders replaced by values or names) is one SELECT: `whose` query
    (a rule's, a source's) reads data, it never changes it (a second statement,
    `commit; drop table ...`, would run in the database before any rollback)."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error:
        # Not DuckDB's SQL (a database's own syntax): at least no second statement; the
        # database runs it in a transaction that is read-only, or rolled back.
        if ";" in query.strip().rstrip(";"):
            raise ValueError(f"the query holds several statements; {whose} is one SELECT") from None
        return
    if len(statements) != 1:
        raise ValueError(f"the query holds {len(statements)} statements; {whose} is one SELECT")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise ValueError(
            f"the query is a {kind.name} statement; {whose} is one SELECT (it reads data, "
            "it never changes it)"
        )


class SqlExpect(BaseModel):
    """What a sql rule's query must give: one value (equals, min and/or max), or rows
    (empty, non_empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    equals: Any = Field(default=None, description="The one value the query must give.")
    min: float | dt.datetime | dt.date | None = Field(
        default=None, description="The least value allowed: a number, a date or a timestamp."
    )
    max: float | dt.datetime | dt.date | None = Field(
        default=None, description="The greatest value allowed: a number, a date or a timestamp."
    )
    empty: Literal[True] | None = Field(default=None, description="The query gives no rows.")
    non_empty: Literal[True] | None = Field(
        default=None, description="The query gives at least one row."
    )

    @model_validator(mode="after")
    def _one_expectation(self) -> SqlExpect:
        given = [
            kind
            for kind, value in (
                ("equals", self.equals),
                ("min/max", self.min if self.min is not None else self.max),
                ("empty", self.empty),
                ("non_empty", self.non_empty),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"expect names exactly one of equals, min/max (one or both), empty: true, "
                f"non_empty: true; got {', '.join(given) or 'none'}"
            )
        if isinstance(self.equals, dict | list):
            raise ValueError("expect.equals is one value (a number, text, a boolean)")
        if self.min is not None and self.max is not None:
            if isinstance(self.min, float) != isinstance(self.max, float):
                raise ValueError("expect.min and expect.max are both numbers, or both dates")
            if _instant(self.min) > _instant(self.max):
                raise ValueError(f"expect.min {self.min} is above expect.max {self.max}")
        return self

    @property
    def one_value(self) -> bool:
        """Whether the query must give one row of one column."""
        return self.empty is None and self.non_empty is None


def _instant(bound: float | dt.date) -> Any:
    """A bound as what compares with others of its kind (a date as its midnight)."""
    if isinstance(bound, dt.date) and not isinstance(bound, dt.datetime):
        return dt.datetime.combine(bound, dt.time())
    return bound


class SqlRule(BaseModel):
    """`sql: {query: "select count(*) from {table} where temp > 60", expect: {max: 0}}`"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = Field(
        min_length=1,
        description="A SELECT; '{table}' is the entry's table, '{entry}' another entry's.",
    )
    expect: SqlExpect = Field(description="What the query must give.")

    @field_validator("query")
    @classmethod
    def _placeholders(cls, query: str) -> str:
        query_placeholders(query)
        one_select(_PLACEHOLDER.sub('"placeholder"', query), whose="a rule's query")
        return query

    @property
    def names(self) -> list[str]:
        """The entries the query names besides its own table ('table'), once each."""
        return list(dict.fromkeys(name for name in query_placeholders(self.query)))


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
    "sql": (
        SqlRule,
        ("table",),
        "a SQL query over the table ({table}) and other entries ({name}) gives what it expects",
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
    sql: SqlRule | None = Field(
        default=None,
        description="A SQL query and what it must give; parquet, delta, csv and sql entries.",
    )
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
