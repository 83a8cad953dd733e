"""A CSV's cells as text, read the way frictionless reads the file: every record one row of
strings, the header row verbatim, and which records hold more or fewer cells than the header.

The csv format asks this module for its `written_text` and `read_text`, so a Table Schema
check of a csv entry judges the file's cells, not pandas' typed reading of them. Two readers
share the work: pyarrow's multithreaded parser for files whose every record has the header's
number of cells, and Python's csv module (frictionless's own reader) record by record for the
others (a blank line, a short or long record, header rows lower down, comment rows, initial
spaces: `csv_records`) and for what pyarrow cannot read. Both read in the entry's Table
Dialect, what it leaves out detected in a source as frictionless detects it
(`formats.csv_detect`); the `TextTable` says which reading it was.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import mmap
import os
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from ...formats.csv_detect import detected_reading
from ...formats.csv_dialect import CsvDialect, CsvReading, pinned_reading, written_reading
from .csv_records import labels_of, records, records_table
from .text_table import TextTable, UnreadableTable

_ASCII_SUPERSETS = frozenset({"utf-8", "utf-8-sig", "ascii", "latin-1", "iso8859-1", "cp1252"})
# index_col=False: a record longer than the header must not make pandas take the first
# column for an index (which shifts every cell); such files are read record by record.
_AS_TEXT = {
    "dtype": str,
    "keep_default_na": False,
    "skip_blank_lines": False,
    "index_col": False,
}
_BY_RECORD = object()  # the fast reader's word for a file to read record by record
_QUOTES_WALKED = 2_000  # quoted fields walked one by one (about 2 µs each), at most


def written_csv_text(
    frame: pd.DataFrame, *, save_options: Mapping[str, Any], dialect: CsvDialect | None = None
) -> TextTable:
    """The cells `frame` will have once written with `to_csv(**save_options)` in `dialect`
    and read back in it."""
    settings = {"index": False, **(dialect.to_csv_options() if dialect else {}), **save_options}
    buffer = io.StringIO()
    # The cells as text: how the file's bytes are encoded or compressed does not change them.
    unbytes = {"encoding", "compression"}
    frame.to_csv(buffer, **{key: v for key, v in settings.items() if key not in unbytes})
    # The reading named as the file will be read (its encoding too), to report with the verdict.
    reading = written_reading(dialect, save_options)
    text = io.StringIO(buffer.getvalue())
    if reading.plain and not dialect_is_regex(reading):
        return _text_table(text, reading)
    return records_table(text, reading)


def stored_csv_text(
    stored: BinaryIO,
    *,
    load_options: Mapping[str, Any],
    dialect: CsvDialect | None = None,
    detect: bool = False,
) -> TextTable:
    """The cells of the CSV file open as `stored` (binary), read with the dialect, encoding
    and compression its `read_csv(**load_options)` would use: what `dialect` and the options
    pin, the rest detected as frictionless detects it (`detect`, a file nothing produces) or
    pandas' defaults (a file written so). Bytes that do not decode raise `UnreadableTable`
    (frictionless's encoding-error)."""
    try:
        return _stored_csv_text(stored, load_options, dialect, detect)
    except UnicodeError as exc:
        raise UnreadableTable("encoding-error", str(exc)) from None


def _stored_csv_text(
    stored: BinaryIO, load_options: Mapping[str, Any], dialect: CsvDialect | None, detect: bool
) -> TextTable:
    raw = _decompressed(stored, load_options.get("compression"))
    if detect:
        reading = detected_reading(raw, dialect=dialect, options=load_options)
    else:
        reading = pinned_reading(dialect, load_options)
    reading = replace(reading, encoding=_without_byte_order_mark(raw, reading.encoding))
    if dialect_is_regex(reading):
        text = io.TextIOWrapper(raw, encoding=reading.encoding, newline="")
        return _text_table(text, reading)
    fast = _arrow_text_table(raw, reading) if reading.plain else _BY_RECORD
    if isinstance(fast, TextTable):
        return fast
    raw.seek(0)
    return records_table(io.TextIOWrapper(raw, encoding=reading.encoding, newline=""), reading)


def dialect_is_regex(reading: CsvReading) -> bool:
    """A separator of more than one character: a regex, which pandas' python engine reads."""
    return len(reading.delimiter) != 1


def read_csv_as_text(path: str | Path, **options: Any) -> tuple[pd.DataFrame, list[str]]:
    """A CSV file of even records as frictionless reads it: every cell a string, every record
    one row, and the header row verbatim (pandas renames duplicate labels). A longer record's
    extra cells are dropped, never taken for an index; catalog checks read CSV files with the
    csv format's `read_text`, which reports them."""
    with open(path, newline="", encoding=options.get("encoding", "utf-8")) as handle:
        labels = next(csv.reader(handle), [])
    frame = pd.read_csv(path, **{**_AS_TEXT, **options})
    return frame, labels


def _without_byte_order_mark(raw: Any, encoding: str) -> str:
    """utf-8-sig for a UTF-8 file that starts with a byte-order mark: frictionless (and
    pyarrow) leave the mark out of the first label, so the text must too."""
    if codecs.lookup(encoding).name != "utf-8":
        return encoding
    start = raw.read(len(codecs.BOM_UTF8))
    raw.seek(0)
    return "utf-8-sig" if start == codecs.BOM_UTF8 else encoding


def _decompressed(stored: Any, compression: Any) -> Any:
    """The file's bytes as read_csv's `compression` option reads them (a file handle names no
    file, so "infer" infers nothing, as in `read`)."""
    method = compression.get("method") if isinstance(compression, Mapping) else compression
    if method in (None, "infer"):
        return stored
    openers = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
    if method == "zip":
        with zipfile.ZipFile(stored) as archive:
            return io.BytesIO(archive.read(archive.namelist()[0]))
    if method not in openers:
        raise ValueError(
            f"compression {method!r} is not read as text for a Table Schema check; "
            f"use one of {', '.join([*openers, 'zip'])}, or none"
        )
    with openers[method](stored, "rb") as plain:
        return io.BytesIO(plain.read())  # in memory: a seekable file, never memory-mapped


def _arrow_text_table(raw: Any, reading: CsvReading) -> TextTable | object:
    """The text table read by pyarrow's multithreaded parser, when every record has the
    header's number of cells; `_BY_RECORD` when one does not, when a row is empty cells only
    (it may have been a blank line) or when pyarrow cannot read the file, for Python's csv
    module to read record by record as frictionless does."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    wrapper = io.TextIOWrapper(raw, encoding=reading.encoding, newline="")
    written = next(records(wrapper, reading), [])  # the header row as pyarrow names columns
    wrapper.detach()  # leaves `raw` open, to be read again from the start
    raw.seek(0)
    if not written:
        return TextTable(pd.DataFrame(), [], reading=reading)
    uneven: list[Any] = []

    def keep_aside(row: Any) -> str:
        uneven.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            raw,
            read_options=pacsv.ReadOptions(encoding=reading.encoding, column_names=None),
            parse_options=pacsv.ParseOptions(
                delimiter=reading.delimiter,
                quote_char=reading.quote_char or False,
                double_quote=reading.double_quote if reading.escape_char else True,
                escape_char=reading.escape_char or False,
                # Slower (blocks can't be split at any newline), so only where it can matter.
                newlines_in_values=_may_hold_quoted_newlines(raw, reading),
                ignore_empty_lines=False,
                invalid_row_handler=keep_aside,
            ),
            convert_options=pacsv.ConvertOptions(
                # large_string: what pandas keeps str columns as (no cast in to_pandas)
                column_types={name: pa.large_string() for name in written},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return _BY_RECORD  # a cell longer than a block, say
    if uneven or _has_empty_records(table) or table.num_columns != len(written):
        return _BY_RECORD
    if any(kind != pa.large_string() for kind in table.schema.types):
        return _BY_RECORD  # pyarrow named a column otherwise than the header row: it typed it
    # Labels as positions: the header may repeat a label, which the frame must keep apart.
    header = labels_of([written], reading.header_join)
    frame = table.rename_columns([str(i) for i in range(len(header))]).to_pandas()
    frame.columns = header
    return TextTable(frame, header, reading=reading)


def _has_empty_records(table: Any) -> bool:
    """Whether some row is empty cells only: a blank line (no cells at all to frictionless,
    hence a blank row whatever the missing values) or a record of empty cells, which only a
    record-by-record reader tells apart. Usually settled by the first column alone."""
    import pyarrow.compute as pc

    empty = None
    for column in table.columns:
        here = pc.equal(pc.binary_length(column), 0)
        empty = here if empty is None else pc.and_(empty, here)
        if not pc.any(empty).as_py():
            return False
    return empty is not None


def _may_hold_quoted_newlines(raw: Any, reading: CsvReading) -> bool:
    """Whether a quoted value may hold a newline, which stops pyarrow from splitting the file
    into blocks at any newline (its parse is then much slower). False only for a local file,
    in an encoding that writes ASCII as itself, whose every quote character is seen (by
    memchr over the mapped file) to open or close a quoted field, none around a newline."""
    quote, delimiter, encoding = reading.quote_char, reading.delimiter, reading.encoding
    if not quote:
        return False  # nothing is quoted: a newline always ends a record
    if codecs.lookup(encoding).name not in _ASCII_SUPERSETS or not (quote + delimiter).isascii():
        return True
    if reading.escape_char or len(quote) != 1:
        return True  # escaped quotes: not worth modelling here
    try:
        descriptor = raw.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return True
    if os.fstat(descriptor).st_size == 0:
        return False
    with mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ) as mapped:
        marked = codecs.lookup(encoding).name == "utf-8-sig" and mapped[:3] == codecs.BOM_UTF8
        return _quoted_newlines(
            mapped,
            quote.encode(),
            delimiter.encode(),
            True,
            start=len(codecs.BOM_UTF8) if marked else 0,
        )


def _quoted_newlines(
    mapped: mmap.mmap, quote: bytes, delimiter: bytes, doubled: bool, *, start: int = 0
) -> bool:
    """Whether some quoted field may span a newline; true too for anything unusual (a quote
    inside an unquoted field, a field going on after its closing quote, an unclosed quote,
    or more quotes than are worth walking through one by one). The text begins at `start`
    (after a byte-order mark)."""
    field_edges = (delimiter, b"\n", b"\r")
    budget = _QUOTES_WALKED
    opening = mapped.find(quote)
    while opening >= 0:
        if opening > start and mapped[opening - 1 : opening] not in field_edges:
            return True  # a quote inside an unquoted field
        closing = mapped.find(quote, opening + 1)
        while doubled and closing >= 0 and mapped[closing + 1 : closing + 2] == quote:
            budget -= 1
            closing = mapped.find(quote, closing + 2)  # "" inside a quoted field
        budget -= 1
        if closing < 0 or budget < 0:
            return True
        if mapped.find(b"\n", opening, closing) >= 0 or mapped.find(b"\r", opening, closing) >= 0:
            return True
        if mapped[closing + 1 : closing + 2] not in (*field_edges, b""):
            return True  # the field goes on after its closing quote
        opening = mapped.find(quote, closing + 1)
    return False


def _text_table(handle: Any, reading: CsvReading) -> TextTable:
    """Every record one row of str cells, and the header row as frictionless reads it
    (pandas renames repeated labels), for files whose every record has the header's number
    of cells."""
    header = labels_of([next(records(handle, reading), [])], reading.header_join)
    if not header:
        return TextTable(pd.DataFrame(), [], reading=reading)  # frictionless: source is empty
    handle.seek(0)
    options = {
        "sep": reading.delimiter,
        "quotechar": reading.quote_char or '"',
        "quoting": csv.QUOTE_NONE if reading.quote_char == "" else csv.QUOTE_MINIMAL,
        "escapechar": reading.escape_char,
        "doublequote": reading.double_quote if reading.escape_char else True,
    }
    frame = pd.read_csv(handle, **options, **_AS_TEXT)
    return TextTable(frame, header, reading=reading)
