"""Fixed-width patterns matched on bytes: the same verdict as Python's re, cell by cell."""

from __future__ import annotations

import re
import zlib

import frictionless as fl
import numpy as np
import pandas as pd
import pytest

from datanectar.checks.tableschema.byte_pattern import byte_classes
from datanectar.checks.tableschema.cells import column
from datanectar.checks.tableschema.constraints import _pattern_matches
from datanectar.checks.tableschema.field_types import read_column

FIXED = {  # pattern: its width
    r"[A-Z]{2}-[0-9]{4}": 7,
    r"\d{3}": 3,
    r"[^a-c]x.": 3,
    r"[a-]{2}": 2,
    r"[-a]b": 2,
    r"[a-z-0]": 1,
    r"a{0}b": 1,
    r"\.\-\$": 3,
    r"^ab$": 2,
    r"[\]]x": 2,
    r"[\^a]": 1,
    r"\w\W\s\S": 4,
    r"[\d_]{2}": 2,
    r"a{2,2}": 2,
    r"x{1}y{3}": 4,
    r".{5}": 5,
    r"[.$^(]": 1,
    r"[ -~]{2}": 2,
    r"[^\d]": 1,
    r"#  ": 3,
}
NOT_FIXED = [
    r"a+",
    r"a|b",
    r"(ab)",
    r"a{2,3}",
    r"a{2,}",
    r"a{,2}",
    r"\bq",
    r"[]a]",
    r"a{2}?",
    r"[[:alpha:]]",
    r"ab\Z",
    r"a$b",
    r"a^",
    r"\x41",
    r"\1",
    r"[\d-z]",
    r"[a--]",
    r"é",
    r"x{1000}",
    r"",
    r"a{",
    r"a}",
]
ALPHABET = [*"abcxyzAB09-_.$^( ]\\é\t\n", "\u00a0", "٣"]


def _verdict(pattern: str, cells: list[str]) -> list[bool]:
    field_ = fl.Schema.from_descriptor(
        {"fields": [{"name": "x", "constraints": {"pattern": pattern}}]}
    ).fields[0]
    parsed = read_column(field_, column(pd.Series(cells, dtype="str")))
    return _pattern_matches(parsed, pattern).tolist()


def _expected(pattern: str, cells: list[str]) -> list[bool]:
    """Python's verdict; a blank cell is a missing value, which no constraint checks."""
    compiled = re.compile(f"^{pattern}$")
    return [cell != "" and compiled.match(cell) is not None for cell in cells]


@pytest.mark.parametrize("pattern", list(FIXED))
def test_fixed_width_patterns_are_read_as_byte_classes(pattern: str) -> None:
    classes = byte_classes(pattern)
    assert classes is not None and len(classes) == FIXED[pattern]


@pytest.mark.parametrize("pattern", NOT_FIXED)
def test_other_patterns_are_left_to_the_regex_engines(pattern: str) -> None:
    assert byte_classes(pattern) is None


@pytest.mark.parametrize("pattern", list(FIXED) + NOT_FIXED[:6])
def test_random_cells_get_python_re_verdict(pattern: str) -> None:
    rng = np.random.default_rng(zlib.crc32(pattern.encode()))
    cells = ["".join(rng.choice(ALPHABET, size=rng.integers(0, 7)).tolist()) for _ in range(3000)]
    # and cells built to match, so that both verdicts are well represented
    cells += _sample_matches(pattern, rng, 300)
    assert _verdict(pattern, cells) == _expected(pattern, cells)


@pytest.mark.parametrize("pattern", [r"[A-Z]{2}-[0-9]{4}", r"\w\W\s\S", r"[^a-m]{2}.{3}"])
def test_a_column_of_one_width_is_matched_on_its_buffer(pattern: str) -> None:
    """All cells as wide as the pattern: the matrix is a view of the buffer, no gather."""
    rng = np.random.default_rng(7)
    width = len(byte_classes(pattern) or [])
    printable = [chr(code) for code in range(0x20, 0x7F)]
    cells = ["".join(rng.choice(printable, size=width).tolist()) for _ in range(5000)]
    cells += _sample_matches(pattern, rng, 500)
    assert {len(cell) for cell in cells} == {width}
    assert _verdict(pattern, cells) == _expected(pattern, cells)
    assert any(_expected(pattern, cells)) and not all(_expected(pattern, cells))


def test_sliced_and_null_holding_columns() -> None:
    """Nulls (blank cells) and a frame slice (offsets not starting at 0) keep rows aligned."""
    cells = ["AB-1234", None, "ab-1234", "CD-0000", "", "AB-12345", "XY-9999"] * 50
    series = pd.Series(cells, dtype="str").iloc[3:]
    pattern = r"[A-Z]{2}-[0-9]{4}"
    field_ = fl.Schema.from_descriptor(
        {"fields": [{"name": "x", "constraints": {"pattern": pattern}}]}
    ).fields[0]
    parsed = read_column(field_, column(series.reset_index(drop=True)))
    got = _pattern_matches(parsed, pattern)[parsed.fast]
    kept = [cell for cell in cells[3:] if cell]
    assert got.tolist() == _expected(pattern, kept)


def _sample_matches(pattern: str, rng: np.random.Generator, count: int) -> list[str]:
    """Strings that match `pattern`, drawn per position from its classes (fixed patterns)."""
    classes = byte_classes(pattern)
    if classes is None:
        return []
    printable = [code for code in range(0x20, 0x7F)]
    out = []
    for _ in range(count):
        chars = []
        for allowed in classes:
            choices = [code for code in printable if code in allowed]
            if not choices:
                break
            chars.append(chr(rng.choice(choices)))
        else:
            out.append("".join(chars))
    return out
