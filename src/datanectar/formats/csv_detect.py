"""What frictionless detects in a csv file it is given no dialect for, detected the way it
does, on the same bounded samples, so that a source's check and its pandas read agree with
`frictionless validate` on the columns.

frictionless 5 (read from its source):

- encoding (`detector/detector.py: detect_encoding`): chardet's `UniversalDetector` fed the
  first 100 000 bytes line by line; below a confidence of 0.5 utf-8 is tried on those bytes
  and kept if they decode; ascii reads as utf-8; utf-8 with a byte-order mark as utf-8-sig;
- delimiter, quote character, initial spaces (`formats/csv/parser.py`): `csv.Sniffer().sniff`
  on the first 100 lines with the delimiters `,\\t;|` (the pinned delimiter only, when one
  is), Python's `excel` dialect when it cannot tell; a sniffed `'` quote is taken for `"`;
- header rows (`detector/detector.py: detect_dialect`): among the first 100 records, the
  first whose width is within 10% (at least 1) of their average width is the header, so
  leading lines unlike the table (a `# comment`, a title) are skipped.

A property the entry pins (`dialect:`, or the read_csv options `sep`, `quotechar`,
`doublequote`, `escapechar`, `skipinitialspace`, `encoding`) is not detected.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Mapping
from typing import Any, BinaryIO

from ..errors import MissingDependencyError
from .csv_dialect import CsvDialect, CsvReading, pinned_reading

BUFFER_SIZE = 100_000  # frictionless settings.DEFAULT_BUFFER_SIZE
SAMPLE_SIZE = 100  # lines sniffed and records measured (settings.DEFAULT_SAMPLE_SIZE)
ENCODING_CONFIDENCE = 0.5  # settings.DEFAULT_ENCODING_CONFIDENCE
DELIMITERS = ",\t;|"  # formats/csv/parser.py
SAMPLE_CHARS = 4 * 2**20
"""A bound frictionless does not have: 100 lines of a file without line breaks would be the
whole file. Past 4 MiB the sample stops (only files of lines longer than 40 KiB notice)."""


def detected_reading(
    raw: BinaryIO, *, dialect: CsvDialect | None, options: Mapping[str, Any]
) -> CsvReading:
    """The reading of the seekable binary file `raw` (left at its start): what the dialect
    and options pin, the rest detected as frictionless detects it."""
    raw.seek(0)
    buffer = raw.read(BUFFER_SIZE)
    raw.seek(0)
    encoding = options.get("encoding") or detect_encoding(buffer)
    lines = _sample_lines(raw, encoding)
    found: dict[str, Any] = {"encoding": encoding}
    found.update(_sniffed(lines, pinned_delimiter=_pinned_delimiter(dialect, options)))
    reading = pinned_reading(dialect, options, **found)
    header_pinned = dialect is not None and (
        dialect.header is not None or dialect.header_rows is not None
    )
    if not header_pinned:
        found["header_rows"] = header_rows_of(_first_records(raw, reading), reading)
        reading = pinned_reading(dialect, options, **found)
    raw.seek(0)
    return reading


def detect_encoding(buffer: bytes) -> str:
    """frictionless's `Detector.detect_encoding` on the file's first bytes."""
    try:
        import chardet
    except ImportError:
        try:
            buffer.decode("utf-8")
        except UnicodeDecodeError:
            raise MissingDependencyError(
                "detecting the encoding of a csv file that is not UTF-8 needs the 'chardet' "
                "package, which is not installed. Fix: pip install 'datanectar[validation]', "
                "or pin the encoding with the entry's load_options.encoding"
            ) from None
        encoding = "utf-8"
    else:
        detector = chardet.UniversalDetector()
        for line in buffer.splitlines():
            detector.feed(line)
        detector.close()
        encoding = detector.result["encoding"] or "utf-8"
        confidence = detector.result["confidence"] or 0
        if confidence < ENCODING_CONFIDENCE:
            detected, encoding = encoding, "utf-8"
            try:
                buffer.decode(encoding)
            except UnicodeDecodeError:
                encoding = detected
        if encoding == "ascii":
            encoding = "utf-8"
    encoding = codecs.lookup(encoding).name
    if encoding == "utf-8" and buffer.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif encoding == "utf-16-be" and buffer.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    elif encoding == "utf-16-le" and buffer.startswith(codecs.BOM_UTF16_LE):
        encoding = "utf-16"
    return encoding


def header_rows_of(records: list[list[str]], reading: CsvReading) -> tuple[int, ...]:
    """frictionless's header-row inference: the first record (not commented) whose width is
    close to the sample's average, else the first."""
    widths = [len(cells) for cells in records]
    if not widths:
        return (1,)
    width = round(sum(widths) / len(widths))
    drift = max(round(width * 0.1), 1)
    match = range(width - drift, width + drift + 1)
    for number, cells in enumerate(records, start=1):
        if is_comment(number, cells, reading):
            continue
        if len(cells) in match:
            return (number,)
    return (1,)


def is_comment(number: int, cells: list[str], reading: CsvReading) -> bool:
    """frictionless's comment filter: a listed row, or a first cell starting with the char."""
    if reading.comment_char and cells and cells[0].startswith(reading.comment_char):
        return True
    return number in reading.comment_rows


def _pinned_delimiter(dialect: CsvDialect | None, options: Mapping[str, Any]) -> str | None:
    return (
        (dialect.delimiter if dialect else None) or options.get("sep") or options.get("delimiter")
    )


def _sample_lines(raw: BinaryIO, encoding: str) -> list[str]:
    """The first lines of the text, as frictionless's parser samples them (newline='':
    each line keeps its ending)."""
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    lines: list[str] = []
    size = 0
    try:
        while len(lines) < SAMPLE_SIZE and size < SAMPLE_CHARS:
            line = text.readline(SAMPLE_CHARS - size)
            if not line:
                break
            lines.append(line)
            size += len(line)
    finally:
        text.detach()
    return lines


def _sniffed(lines: list[str], *, pinned_delimiter: str | None) -> dict[str, Any]:
    """What csv.Sniffer finds in the sample, as frictionless keeps it."""
    delimiters = pinned_delimiter or DELIMITERS
    try:
        sniffed: Any = csv.Sniffer().sniff("".join(lines), delimiters)
    except csv.Error:
        sniffed = csv.excel()
    quote = '"' if sniffed.quotechar == "'" else sniffed.quotechar
    return {
        "delimiter": sniffed.delimiter,
        "quote_char": quote,
        "skip_initial_space": bool(sniffed.skipinitialspace),
    }


def _first_records(raw: BinaryIO, reading: CsvReading) -> list[list[str]]:
    """The first records as frictionless's parser samples them (for the header inference)."""
    raw.seek(0)
    text = io.TextIOWrapper(raw, encoding=reading.encoding, errors="replace", newline="")
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 2))
    try:
        reader = csv.reader(text, **reading.csv_module_dialect())
        return list(itertools.islice(reader, SAMPLE_SIZE))
    except csv.Error:
        return []  # the reading itself will say what is wrong with the file
    finally:
        text.detach()
        raw.seek(0)
