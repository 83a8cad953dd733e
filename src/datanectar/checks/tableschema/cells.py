"""A DataFrame column as frictionless's cell readers see it, held as arrays.

frictionless reads a CSV cell as a `str` and a pandas cell as the Python object pandas gives
(`int`, `float`, `bool`, `datetime`...). A column here knows which of the two it holds (its
`kind`), offers the text as a pyarrow array for vectorized parsing, and can hand any rows back
as the Python objects frictionless would read, for the few cells only frictionless itself can
judge and for building messages.

Nulls (None, NaN, NaT, pd.NA) are missing cells: frictionless reads them as None too when it
meets the `np.nan` singleton or None, which is what pandas gives for missing text; see the
validator module for where its handling of other nulls differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as pdt

ColumnKind = Literal["text", "integer", "float", "boolean", "datetime", "object"]
_CHUNK = 1 << 14  # rows cast at once
_PIECE = 1 << 9  # a refused chunk is cast again in pieces this long; refused pieces: careful


@dataclass(eq=False)
class Column:
    series: pd.Series
    kind: ColumnKind

    @cached_property
    def null(self) -> np.ndarray:
        if self.kind == "text" and self.text.null_count == 0:
            return np.zeros(len(self.series), bool)
        return self.series.isna().to_numpy(dtype=bool)

    @cached_property
    def text(self) -> pa.Array:
        """The cells of a text column as one pyarrow string array (nulls kept)."""
        array = pa.array(self.series, from_pandas=True)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array = array.cast(pa.large_string())
        return array

    @cached_property
    def ascii(self) -> np.ndarray:
        _, data = self.text_bytes
        if not data.size or data.max() < 0x80:  # the usual case: one pass over the bytes
            return ~self.null
        return pc.fill_null(pc.string_is_ascii(self.text), False).to_numpy(zero_copy_only=False)

    @cached_property
    def printable(self) -> np.ndarray:
        """Cells of printable ASCII only (no control character, no newline)."""
        offsets, data = self.text_bytes
        if not data.size or (data.min() >= 0x20 and data.max() < 0x7F):
            return self.ascii  # the usual case, seen in two passes over the bytes
        control = (data < 0x20) | (data == 0x7F)
        if not control.any():
            return self.ascii
        bad = np.concatenate([[0], np.cumsum(control | (data > 0x7E), dtype=np.int64)])
        return bad[offsets[1:]] == bad[offsets[:-1]]

    @cached_property
    def text_bytes(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, UTF-8 bytes) of the text: cell i is bytes[offsets[i]:offsets[i + 1]]."""
        text = self.text
        _, offsets, data = text.buffers()
        kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
        starts = np.frombuffer(offsets, dtype=kind)[text.offset : text.offset + len(text) + 1]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        return starts.astype(np.int64, copy=False), raw

    @cached_property
    def byte_lengths(self) -> np.ndarray:
        offsets, _ = self.text_bytes
        return np.diff(offsets)

    @cached_property
    def empty(self) -> np.ndarray:
        """Cells of no text at all (nulls excluded)."""
        offsets, _ = self.text_bytes
        empty = offsets[1:] == offsets[:-1]
        return empty & ~self.null if self.text.null_count else empty

    def holds_byte(self, *values: int) -> bool:
        """Whether any cell's text holds one of these bytes (memchr over the bytes)."""
        offsets, data = self.text_bytes
        text = data[offsets[0] : offsets[-1]].tobytes()  # one copy; each search is a memchr
        return any(text.find(bytes([value])) >= 0 for value in values)

    def byte_matrix(self, width: int, rows: np.ndarray | None = None) -> np.ndarray:
        """The first `width` bytes of each cell at `rows` (each at least that long) as a
        (rows x width) uint8 matrix; of every cell when all are exactly `width` bytes long,
        which lie end to end in the buffer: a view then, nothing copied."""
        offsets, data = self.text_bytes
        if rows is None:
            start = offsets[0]
            return data[start : start + width * (len(offsets) - 1)].reshape(-1, width)
        starts = offsets[rows]
        return np.stack([data[starts + index] for index in range(width)], axis=1)

    def all_of_width(self, width: int) -> bool:
        return bool(len(self.byte_lengths)) and bool((self.byte_lengths == width).all())

    @cached_property
    def numbers(self) -> np.ndarray:
        """An integer, float or boolean column as numpy (nulls filled, see `null`)."""
        filler = False if self.kind == "boolean" else 0
        dtype = {"integer": np.int64, "float": np.float64, "boolean": bool}[self.kind]
        if self.kind == "integer" and pdt.is_unsigned_integer_dtype(self.series.dtype):
            dtype = np.uint64
        return self.series.to_numpy(dtype=dtype, na_value=filler)

    def python_cell(self, row: int) -> Any:
        """One cell as the Python object frictionless reads (for messages)."""
        if self.null[row]:
            return None
        if self.kind == "text":
            return self.text[row].as_py()
        return _python(self.series.iat[row])

    def python_cells(self, rows: np.ndarray) -> list[Any]:
        """The cells at `rows` (positions) as the Python objects frictionless reads."""
        if self.kind == "text":  # one take on the combined array, not pandas' per chunk
            return self.text.take(pa.array(rows, pa.int64())).to_pylist()
        values = self.series.iloc[rows]
        null = self.null[rows]
        return [
            None if is_null else _python(value) for value, is_null in zip(values, null, strict=True)
        ]


def column(series: pd.Series) -> Column:
    if isinstance(series.dtype, pd.CategoricalDtype):
        # A categorical column is read as its values, like frictionless reads it.
        series = series.astype(series.cat.categories.dtype)
    return Column(series=series, kind=column_kind(series))


def column_kind(series: pd.Series) -> ColumnKind:
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if isinstance(dtype, pd.ArrowDtype):
        arrow_type = dtype.pyarrow_dtype
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            return "text"
        return "object"  # read cell by cell: arrow-backed numbers and dates are rare here
    if pdt.is_bool_dtype(dtype):
        return "boolean"
    if pdt.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pdt.is_integer_dtype(dtype):
        return "integer"
    if pdt.is_float_dtype(dtype):
        return "float"
    if pdt.is_object_dtype(dtype) and pd.api.types.infer_dtype(series, skipna=True) in (
        "string",
        "empty",
    ):
        return "text"
    return "object"


def _python(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        # A list cell as pandas reads it from parquet or delta: judged as the list it holds,
        # as frictionless judges the value produced (see the validator's differences).
        return [_python(item) for item in value.tolist()]
    return value


def text_in(text: pa.Array, texts: list[str]) -> np.ndarray:
    """Which cells equal one of `texts` (one comparison beats a hash lookup)."""
    if len(texts) > 1:
        found = pc.is_in(text, value_set=pa.array(texts, text.type))
        return pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    result = np.zeros(len(text), bool)
    for item in texts:
        result |= pc.fill_null(pc.equal(text, item), False).to_numpy(zero_copy_only=False)
    return result


def cast_chunks(
    text: pa.Array, candidates: np.ndarray, to: pa.DataType, filler: str = "0"
) -> tuple[np.ndarray, np.ndarray]:
    """(values, rows cast) of the chunks arrow casts whole: nearly all rows of most columns.

    Rows that are not candidates are cast as `filler`, a spelling arrow surely takes. A chunk
    arrow refuses is cast again in short pieces, so that one odd cell sends a few hundred rows,
    not thousands, to the caller's careful reading; the pieces arrow refuses are not cast."""
    if not candidates.all():
        text = pc.if_else(pa.array(candidates), text, pa.scalar(filler, text.type))
    days = pa.types.is_date32(to)  # as int64 days since the epoch
    values = np.zeros(len(candidates), np.int64 if days else to.to_pandas_dtype())
    taken = np.ones(len(candidates), bool)

    def cast(start: int, length: int) -> bool:
        try:
            chunk = pc.cast(text.slice(start, length), to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        if days:
            chunk = chunk.view(pa.int32())
        values[start : start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        return True

    for start in range(0, len(candidates), _CHUNK):
        if cast(start, _CHUNK):
            continue
        for piece in range(start, min(start + _CHUNK, len(candidates)), _PIECE):
            if not cast(piece, _PIECE):
                taken[piece : piece + _PIECE] = False
    return values, taken
