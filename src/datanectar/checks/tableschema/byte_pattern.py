"""Patterns of one fixed width, matched on the cells' bytes instead of by a regex engine.

Codes and identifiers are usually constrained by patterns like `[A-Z]{2}-[0-9]{4}`: literals,
character classes and exact repeats, so every match has the same length and each position
its own set of characters. On printable ASCII cells (one byte per character, no newline for
`$` to stop before) such a pattern matches a cell exactly when the cell has that many bytes
and each byte is in its position's set: a few numpy comparisons per position over the byte
matrix, several times faster than running RE2 on each cell or hashing the distinct ones.

`byte_classes` reads only that grammar, and answers None for anything else (alternation,
groups, variable repeats, anchors inside, escapes it does not know), which the caller then
matches with a regex engine as before. The sets are what Python's `re` gives on ASCII text.
"""

from __future__ import annotations

import itertools
import re
import string

import numpy as np

from .cells import Column

_MAX_WIDTH = 64  # wider patterns are rare; the regex engines take them
_MAX_RUNS = 256  # cells of another width before the cells of the pattern's are gathered
_SPECIAL = set(".^$*+?{}[]\\|()")
_REPEAT = re.compile(r"\{([0-9]+)(?:,([0-9]+))?\}")
_ALL = frozenset(range(256))
_DIGITS = frozenset(ord(c) for c in string.digits)
_WORD = frozenset(ord(c) for c in string.ascii_letters + string.digits + "_")
_SPACE = frozenset(ord(c) for c in " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")  # Python's str \s
_CLASS_ESCAPES = {
    "d": _DIGITS,
    "D": _ALL - _DIGITS,
    "w": _WORD,
    "W": _ALL - _WORD,
    "s": _SPACE,
    "S": _ALL - _SPACE,
}


ByteClasses = list[frozenset[int]]
"""The bytes each position of a fixed-width pattern takes."""


def byte_classes(pattern: str) -> ByteClasses | None:
    """The per-position byte sets of `pattern` when it matches only strings of one width made
    of literals, classes (`[...]`, `\\d`, `.`...) and exact repeats (`{n}`); else None."""
    if not pattern.isascii():
        return None
    text = pattern.removeprefix("^")
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1]  # before the end of a cell without a newline: the end itself
    classes: ByteClasses = []
    position = 0
    while position < len(text):
        atom = _atom(text, position)
        if atom is None:
            return None
        allowed, position = atom
        count, position = _repeat(text, position)
        if count is None or len(classes) + count > _MAX_WIDTH:
            return None
        classes += [allowed] * count
    return classes or None


def fixed_width_matches(column: Column, classes: ByteClasses, rows: np.ndarray) -> np.ndarray:
    """Which cells match, assuming the cells at `rows` (a mask) are printable ASCII: those of
    exactly the pattern's width whose every byte is in its position's set. Others are False."""
    width = len(classes)
    lengths = column.byte_lengths
    others = np.flatnonzero(lengths != width)
    if len(others) > _MAX_RUNS:  # widths vary: gather the cells of the pattern's width
        positions = np.flatnonzero(rows & (lengths == width))
        result = np.zeros(len(rows), bool)
        result[positions] = _matrix_matches(column.byte_matrix(width, positions), classes)
        return result
    # Nearly every cell has the pattern's width: between two cells that do not, the cells lie
    # end to end in the buffer, a (cells x width) matrix seen without copying.
    offsets, data = column.text_bytes
    result = np.zeros(len(rows), bool)
    edges = [-1, *others.tolist(), len(rows)]
    for before, after in itertools.pairwise(edges):
        first = before + 1
        if after > first:
            run = data[offsets[first] : offsets[after]].reshape(-1, width)
            result[first:after] = _matrix_matches(run, classes)
    return result & rows


def _matrix_matches(matrix: np.ndarray, classes: ByteClasses) -> np.ndarray:
    # contiguous per position: the comparisons below then stream through memory
    by_position = np.ascontiguousarray(matrix.T)
    ok = np.ones(len(matrix), bool)
    for index, allowed in enumerate(classes):
        ok &= _in_set(by_position[index], allowed)
    return ok


def _atom(text: str, position: int) -> tuple[frozenset[int], int] | None:
    char = text[position]
    if char == "\\":
        allowed = _escape(text[position + 1 : position + 2])
        return None if allowed is None else (allowed, position + 2)
    if char == "[":
        return _bracket(text, position + 1)
    if char == ".":
        return _ALL - {ord("\n")}, position + 1
    if char in _SPECIAL or not char.isprintable():
        return None
    return frozenset({ord(char)}), position + 1


def _escape(char: str) -> frozenset[int] | None:
    if char in _CLASS_ESCAPES:
        return _CLASS_ESCAPES[char]
    if char and not char.isalnum() and char.isprintable():
        return frozenset({ord(char)})  # an escaped punctuation mark stands for itself
    return None  # \b, \A, \1, \x41...: not a plain character


def _bracket(text: str, position: int) -> tuple[frozenset[int], int] | None:
    """A `[...]` class starting after its `[`: literals, ranges and class escapes."""
    negated = text.startswith("^", position)
    position += negated
    if text.startswith("]", position):
        return None  # a literal `]` first: leave it to re
    allowed: set[int] = set()
    while position < len(text) and text[position] != "]":
        if text[position] == "[" or text.startswith(("--", "&&", "~~", "||"), position):
            return None  # nested sets and set operations (re warns of them): leave to re
        item = _class_item(text, position)
        if item is None:
            return None
        members, position = item
        if text.startswith("-", position) and not text.startswith("-]", position):
            upper = _class_item(text, position + 1) if position + 1 < len(text) else None
            if upper is None or len(members) != 1 or len(upper[0]) != 1:
                return None  # a range needs two single characters
            (low,), ((high,), position) = members, upper
            if low > high:
                return None
            members = frozenset(range(low, high + 1))
        allowed |= members
    if position >= len(text):
        return None  # unterminated
    found = frozenset(_ALL - allowed) if negated else frozenset(allowed)
    return found, position + 1


def _class_item(text: str, position: int) -> tuple[frozenset[int], int] | None:
    char = text[position]
    if char == "\\":
        allowed = _escape(text[position + 1 : position + 2])
        return None if allowed is None else (allowed, position + 2)
    if not char.isprintable():
        return None
    return frozenset({ord(char)}), position + 1


def _repeat(text: str, position: int) -> tuple[int | None, int]:
    """How many times the atom before `position` repeats: 1, or an exact `{n}`; None for a
    repeat of varying count, after which matches have no single width."""
    if position >= len(text) or text[position] not in "{?*+":
        return 1, position
    found = _REPEAT.match(text, position)
    if text[position] != "{" or found is None:
        return None, position
    low, high = found.group(1), found.group(2)
    end = found.end()
    if (high is not None and high != low) or text[end : end + 1] in tuple("{?*+"):
        return None, position
    return int(low), end


def _in_set(bytes_: np.ndarray, allowed: frozenset[int]) -> np.ndarray:
    """Which bytes are in `allowed`: one comparison per run of consecutive values, or a
    table lookup when there are many runs."""
    runs = _runs(allowed)
    if len(runs) > 3:
        table = np.zeros(256, bool)
        table[list(allowed)] = True
        return np.take(table, bytes_)
    found = np.zeros(len(bytes_), bool)
    for low, high in runs:
        if low == high:
            found |= bytes_ == low
        elif low == 0 and high == 255:
            found[:] = True
        else:  # unsigned wrap-around: one subtraction and one comparison per run
            found |= (bytes_ - np.uint8(low)) <= np.uint8(high - low)
    return found


def _runs(allowed: frozenset[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in sorted(allowed):
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs
