"""What a catalog error says about a `dialect:` value pydantic refused: the value given, what
the Table Dialect property takes, and how to write it. pydantic's own wording names the model
class and says nothing of the standard, so the catalog loader asks here instead."""

from __future__ import annotations

from typing import Any

from .csv_dialect import dialect_names

_ROW_NUMBERS = "a list of positive row numbers (counted from 1), e.g. [2] or [1, 2]"
_ONE_CHARACTER = "one character, e.g. ';'"
_BOOLEAN = "true or false"
_EXPECTED: dict[str, str] = {
    "delimiter": _ONE_CHARACTER,
    "header": _BOOLEAN,
    "headerRows": _ROW_NUMBERS,
    "headerJoin": "a string joining the labels of several header rows, e.g. ' '",
    "commentChar": "a string starting a comment row, e.g. '#'",
    "commentRows": _ROW_NUMBERS,
    "skipInitialSpace": _BOOLEAN,
    "quoteChar": "one character, e.g. '\"', or '' for no quoting",
    "doubleQuote": _BOOLEAN,
    "escapeChar": "one character, e.g. '\\\\'",
    "lineTerminator": "one of '\\n', '\\r\\n', '\\r'",
}
_EXAMPLE: dict[str, str] = {
    "headerRows": "headerRows: [2]",
    "commentRows": "commentRows: [1, 3]",
    "header": "header: false",
    "skipInitialSpace": "skipInitialSpace: true",
    "doubleQuote": "doubleQuote: false",
}


def dialect_problem(location: tuple[str | int, ...], given: Any, message: str) -> tuple[str, str]:
    """(problem, fix) for pydantic's `message` on the value `given` at `location` (which
    starts with "dialect")."""
    if len(location) == 1:
        return (
            f"{given!r} was given, and a dialect is a mapping of Table Dialect properties "
            f"({', '.join(dialect_names())}).",
            "write it as a mapping, e.g. dialect: {delimiter: ';'} "
            "(https://datapackage.org/standard/table-dialect/).",
        )
    name = str(location[1])
    expected = _EXPECTED.get(name, "a Table Dialect value")
    example = _EXAMPLE.get(name, f"{name}: ...")
    # Our own validators already say what is wrong with the value; pydantic's type errors
    # ("Input should be a valid list") do not, and are replaced by the expected form.
    reason = message if message.startswith(repr(given)) else f"{given!r} was given"
    return f"{reason}; '{name}' takes {expected}.", f"write it as dialect: {{{example}}}."
