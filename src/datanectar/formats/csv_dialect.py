"""A csv entry's Table Dialect: the `dialect:` a catalog entry pins, in the standard's own
names (https://datapackage.org/standard/table-dialect/), and the complete `CsvReading` every
reader of the file uses (pandas for `load`, Python's csv module and pyarrow for the Table
Schema check), so that both read the same columns.

What a dialect leaves unpinned is detected as frictionless detects it (`csv_detect`) for a
file nothing produces; a produced file is read as it was written (pandas' defaults, or the
dialect it was written with).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The pandas read_csv / to_csv options that say the same as a dialect property: giving both
# is a catalog error (one place states it).
_READ_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "delimiter": ("sep", "delimiter"),
    "quoteChar": ("quotechar",),
    "doubleQuote": ("doublequote",),
    "escapeChar": ("escapechar",),
    "skipInitialSpace": ("skipinitialspace",),
    "header": ("header", "names"),
    "headerRows": ("header", "names", "skiprows"),
    "commentChar": ("comment",),
    "commentRows": ("skiprows",),
    "lineTerminator": ("lineterminator",),
}
_WRITE_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "delimiter": ("sep",),
    "quoteChar": ("quotechar",),
    "doubleQuote": ("doublequote",),
    "escapeChar": ("escapechar",),
    "header": ("header",),
    "lineTerminator": ("lineterminator",),
}


# Read with a dialect that pandas cannot write: a produced entry may not pin them.
class CsvDialect(BaseModel):
    """The Table Dialect properties a csv entry may pin; any left out is detected (a source)
    or pandas' default (a produced entry)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    delimiter: str | None = Field(
        default=None, description="The one character between cells (frictionless sniffs it)."
    )
    header: bool | None = Field(
        default=None, description="false: the file has no header row; fields match by position."
    )
    header_rows: list[int] | None = Field(
        default=None,
        alias="headerRows",
        description="Row numbers (from 1) of the header rows, joined with headerJoin; a "
        "number is one row. Rows before the last are not data.",
    )
    header_join: str | None = Field(
        default=None, alias="headerJoin", description="Joins several header rows' labels (' ')."
    )
    comment_char: str | None = Field(
        default=None,
        alias="commentChar",
        description="A row whose first cell starts with it is skipped.",
    )
    comment_rows: list[int] | None = Field(
        default=None, alias="commentRows", description="Row numbers (from 1) to skip."
    )
    skip_initial_space: bool | None = Field(
        default=None, alias="skipInitialSpace", description="Spaces after a delimiter are skipped."
    )
    quote_char: str | None = Field(
        default=None, alias="quoteChar", description="Quotes a cell ('\"'); '' quotes nothing."
    )
    double_quote: bool | None = Field(
        default=None,
        alias="doubleQuote",
        description="A doubled quote inside a quoted cell is one quote (true).",
    )
    escape_char: str | None = Field(
        default=None, alias="escapeChar", description="Escapes the next character (none)."
    )
    line_terminator: Literal["\n", "\r\n", "\r"] | None = Field(
        default=None,
        alias="lineTerminator",
        description="Ends each written row ('\\n'); any of the three is read, as frictionless "
        "reads them.",
    )

    @field_validator("delimiter", "escape_char")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value in "\r\n"):
            raise ValueError(f"{value!r} is not one character (other than a line break)")
        return value

    @field_validator("quote_char")
    @classmethod
    def _quote(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 1 or value in ("\r", "\n")):
            raise ValueError(f"{value!r} is not one character, or '' for no quoting")
        return value

    @field_validator("header_rows", "comment_rows", mode="before")
    @classmethod
    def _row_numbers(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]  # `headerRows: 2`: one row
        if isinstance(value, list):
            if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in value):
                raise ValueError(f"{value!r}: row numbers are integers from 1")
            if value != sorted(set(value)):
                raise ValueError(f"{value!r}: row numbers go up, each once")
        return value

    def given(self) -> list[str]:
        """The properties it pins, by their standard names."""
        return [
            info.alias or name
            for name, info in type(self).model_fields.items()
            if getattr(self, name) is not None
        ]

    def conflict(
        self, *, load_options: Mapping[str, Any], save_options: Mapping[str, Any]
    ) -> tuple[str, str] | None:
        """The first (dialect property, option field) stating the same thing twice, as
        `dialect.delimiter` and `load_options.sep`; None when they agree in kind."""
        for name in self.given():
            for option in _READ_EQUIVALENTS.get(name, ()):
                if option in load_options:
                    return name, f"load_options.{option}"
            for option in _WRITE_EQUIVALENTS.get(name, ()):
                if option in save_options:
                    return name, f"save_options.{option}"
        return None

    def unwritable(self) -> tuple[str, str] | None:
        """A pinned property a file pandas writes would not read back through, and why."""
        if self.header_rows not in (None, [1]):
            return "headerRows", "pandas writes one header row"
        if self.comment_rows:
            return "commentRows", "pandas writes no comment rows"
        if self.comment_char is not None:
            return "commentChar", (
                f"pandas does not quote a cell starting with {self.comment_char!r}, which "
                "would then be read as a comment and its row lost"
            )
        if self.skip_initial_space:
            return "skipInitialSpace", (
                "pandas writes a cell's leading spaces, which would then be read away"
            )
        return None

    def to_csv_options(self) -> dict[str, Any]:
        """The pandas to_csv options that write a file in this dialect."""
        options: dict[str, Any] = {}
        if self.delimiter is not None:
            options["sep"] = self.delimiter
        if self.quote_char == "":
            import csv

            options["quoting"] = csv.QUOTE_NONE
        elif self.quote_char is not None:
            options["quotechar"] = self.quote_char
        if self.escape_char is not None:
            options["escapechar"] = self.escape_char
            if self.double_quote is not None:
                options["doublequote"] = self.double_quote
        if self.header is False:
            options["header"] = False
        if self.line_terminator is not None:
            options["lineterminator"] = self.line_terminator
        return options


def _attribute(alias: str) -> str:
    for name, info in CsvDialect.model_fields.items():
        if (info.alias or name) == alias:
            return name
    raise KeyError(alias)


def dialect_names() -> list[str]:
    """The properties `dialect:` takes, by their standard names."""
    return [info.alias or name for name, info in CsvDialect.model_fields.items()]


@dataclass(frozen=True)
class CsvReading:
    """Everything a reader of one csv file needs, resolved: the pinned properties, the
    detected ones, and the defaults. What frictionless would call the resource's encoding
    and dialect."""

    encoding: str = "utf-8"
    delimiter: str = ","
    quote_char: str = '"'
    double_quote: bool = True
    escape_char: str | None = None
    skip_initial_space: bool = False
    header: bool = True
    header_rows: tuple[int, ...] = (1,)
    header_join: str = " "
    comment_char: str | None = None
    comment_rows: tuple[int, ...] = ()
    detected: tuple[str, ...] = field(default=())
    """The properties found in the file rather than pinned (`encoding` among them)."""

    @property
    def first_content_row(self) -> int:
        """frictionless's: rows before it are header (or skipped), never data."""
        return self.header_rows[-1] + 1 if self.header and self.header_rows else 1

    @property
    def plain(self) -> bool:
        """One header row at the top, no comments, no spaces skipped: what pyarrow's and
        pandas' fast parsers read as frictionless does."""
        return (
            self.header
            and self.header_rows == (1,)
            and self.comment_char is None
            and not self.comment_rows
            and not self.skip_initial_space
        )

    def csv_module_dialect(self) -> dict[str, Any]:
        """Python's csv.reader keywords, as frictionless's CsvControl.to_python sets them
        (doubleQuote only counts with an escape character)."""
        import csv

        return {
            "delimiter": self.delimiter,
            "quotechar": self.quote_char or '"',
            "quoting": csv.QUOTE_NONE if self.quote_char == "" else csv.QUOTE_MINIMAL,
            "escapechar": self.escape_char,
            "doublequote": self.double_quote if self.escape_char else True,
            "skipinitialspace": self.skip_initial_space,
        }

    def descriptor(self) -> dict[str, Any]:
        """The dialect as a frictionless descriptor plus `encoding`, which a user can copy
        into the entry (`dialect:` and `load_options.encoding`) to pin it."""
        described: dict[str, Any] = {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "quoteChar": self.quote_char,
            "doubleQuote": self.double_quote,
            "skipInitialSpace": self.skip_initial_space,
            "header": self.header,
            "headerRows": list(self.header_rows),
        }
        if self.escape_char is not None:
            described["escapeChar"] = self.escape_char
        if len(self.header_rows) > 1:
            described["headerJoin"] = self.header_join
        if self.comment_char is not None:
            described["commentChar"] = self.comment_char
        if self.comment_rows:
            described["commentRows"] = list(self.comment_rows)
        described["detected"] = list(self.detected)
        return described


def pinned_reading(
    dialect: CsvDialect | None, options: Mapping[str, Any], **found: Any
) -> CsvReading:
    """The reading the dialect and the read_csv (or to_csv) options pin, completed with what
    was `found` in the file (detected properties, by CsvReading's names) and the defaults."""
    dialect = dialect or CsvDialect()
    values: dict[str, Any] = {
        "encoding": options.get("encoding"),
        "delimiter": dialect.delimiter or options.get("sep") or options.get("delimiter"),
        "quote_char": _first(dialect.quote_char, options.get("quotechar")),
        "double_quote": _first(dialect.double_quote, options.get("doublequote")),
        "escape_char": _first(dialect.escape_char, options.get("escapechar")),
        "skip_initial_space": _first(dialect.skip_initial_space, options.get("skipinitialspace")),
        "header": dialect.header,
        "header_rows": tuple(dialect.header_rows) if dialect.header_rows else None,
        "header_join": dialect.header_join,
        "comment_char": dialect.comment_char,
        "comment_rows": tuple(dialect.comment_rows) if dialect.comment_rows else None,
    }
    detected = []
    for name, value in found.items():
        if values.get(name) is None and value is not None:
            values[name] = value
            detected.append(name)
    chosen = {name: value for name, value in values.items() if value is not None}
    return CsvReading(**chosen, detected=tuple(_standard_name(name) for name in detected))


def written_reading(dialect: CsvDialect | None, save_options: Mapping[str, Any]) -> CsvReading:
    """How a file written with `to_csv(**save_options)` in `dialect` reads back."""
    written = {**(dialect.to_csv_options() if dialect else {}), **save_options}
    return pinned_reading(dialect, written)


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _standard_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
