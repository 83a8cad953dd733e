"""A csv file read by pandas in its Table Dialect: the same columns and rows the Table Schema
check judges (`checks.tableschema.csv_text`), typed as pandas types them."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import pandas as pd

from .csv_detect import detected_reading, is_comment
from .csv_dialect import CsvDialect, CsvReading, pinned_reading


def read_frame(
    handle: BinaryIO,
    *,
    options: Mapping[str, Any],
    dialect: CsvDialect | None,
    detect: bool,
    field_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """`pd.read_csv(handle, **options)`, in the entry's dialect; what it leaves unpinned
    detected as frictionless detects it when `detect` (a file nothing produces). The columns
    are frictionless's: the header's labels, else the schema's `field_names`, else field1,
    field2...; a record's cells past them dropped, missing ones null."""
    if dialect is None and not detect:
        return pd.read_csv(handle, **options)
    from ..checks.tableschema.csv_text import _decompressed

    raw = _decompressed(handle, options.get("compression"))
    if detect:
        reading = detected_reading(raw, dialect=dialect, options=options)
    else:
        reading = pinned_reading(dialect, options)
    chosen: dict[str, Any] = {
        "sep": reading.delimiter,
        "encoding": reading.encoding,
        "skipinitialspace": reading.skip_initial_space,
    }
    if reading.quote_char == "":
        chosen["quoting"] = csv.QUOTE_NONE
    else:
        chosen["quotechar"] = reading.quote_char
    if reading.escape_char:
        chosen.update(escapechar=reading.escape_char, doublequote=reading.double_quote)
    given = {
        key: value for key, value in options.items() if key not in ("delimiter", "compression")
    }
    if reading.plain:
        width = len(given["names"]) if "names" in given else len(_first_record(raw, reading))
        frame = _read_kept(raw, {**chosen, **given}, width)
    else:
        labels, skipped, first = _layout(raw, reading)
        if not reading.header:
            # frictionless names headerless columns by the schema, else by the first record.
            labels = list(field_names or [f"field{i}" for i in range(1, len(first) + 1)])
        raw.seek(0)
        frame = _read_kept(
            raw,
            {
                **chosen,
                **given,
                "header": None,
                "names": labels,
                "skiprows": lambda index: index in skipped,
            },
            len(labels),
        )
    return _stripped_labels(frame)


def _read_kept(raw: BinaryIO, options: dict[str, Any], width: int) -> pd.DataFrame:
    """read_csv keeping the first `width` columns, as frictionless keeps the header's: a
    longer record's extra cells are dropped (the check reports them) rather than shifting
    cells into the index, a shorter one's missing cells null. The caller's own `usecols` or
    `index_col` win."""
    if "usecols" in options:
        return pd.read_csv(raw, **options)
    kept = {"index_col": False, "usecols": range(width), **options}
    try:
        return pd.read_csv(raw, **kept)
    except pd.errors.ParserError as exc:
        if "Too many columns specified" not in str(exc):
            raise
    # Every record is narrower than `width` (names longer than any record): pandas pads
    # them with nulls itself, and there are no extra cells to drop.
    raw.seek(0)
    return pd.read_csv(raw, **{"index_col": False, **options})


def _first_record(raw: BinaryIO, reading: CsvReading) -> list[str]:
    """The file's first record (its header row, in a plain file); `raw` left at its start."""
    from ..checks.tableschema.csv_records import records

    text = io.TextIOWrapper(raw, encoding=reading.encoding, newline="")
    try:
        return next(records(text, reading), [])
    finally:
        text.detach()
        raw.seek(0)


def _layout(raw: BinaryIO, reading: CsvReading) -> tuple[list[str], set[int], list[str]]:
    """The labels frictionless reads from the header rows, the records (from 0) that are not
    data (the rows before the content, and comment rows) and the first data record."""
    from ..checks.tableschema.csv_records import labels_of, records

    text = io.TextIOWrapper(raw, encoding=reading.encoding, newline="")
    header_lists, skipped = [], set()
    first: list[str] | None = None
    # Comment characters may start any row: then every record is looked at.
    everything = reading.comment_char is not None
    last = max([reading.first_content_row - 1, *reading.comment_rows])
    try:
        for number, cells in enumerate(records(text, reading), start=1):
            if number < reading.first_content_row:
                skipped.add(number - 1)
                if reading.header and number in reading.header_rows:
                    if not is_comment(number, cells, reading):
                        header_lists.append(cells)
            elif is_comment(number, cells, reading):
                skipped.add(number - 1)
            elif first is None:
                first = cells
            if number >= last and first is not None and not everything:
                break
    finally:
        text.detach()
    labels = labels_of(header_lists, reading.header_join)
    if len(set(labels)) != len(labels):
        # pandas takes no repeated names: the later ones get their position, as pandas'
        # own header reading renames them.
        labels = [
            label if labels.index(label) == i else f"{label}.{i}" for i, label in enumerate(labels)
        ]
    return labels, skipped, first or []


def _stripped_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """frictionless strips the spaces around a label; pandas' columns are stripped too when
    that keeps them distinct."""
    stripped = [label.strip() if isinstance(label, str) else label for label in frame.columns]
    if stripped != list(frame.columns) and len(set(stripped)) == len(stripped):
        frame.columns = stripped
    return frame
