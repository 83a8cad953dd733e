"""Small pictures for materialization metadata: a grid's quick look, a table's histograms.

Plain data, no Dagster: PNG bytes the orchestration layer embeds as markdown
(`![](data:image/png;base64,...)`, which the Dagster UI renders). Every picture is kept small,
because each one is stored in the event log of every materialization: a quick look is at most
`MAX_SIDE` pixels a side and `MAX_BYTES` bytes, a histogram a strip of a few hundred bytes.
A grid is sliced and thinned before anything is computed, so a dask-backed array larger than
memory only reads the one thinned 2-D slice that is drawn. Needs Pillow (the `xarray` extra);
without it there are no pictures, never an error.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_SIDE = 256
MAX_BYTES = 60_000
HISTOGRAM_BINS = 24
HISTOGRAM_SIZE = (96, 24)
HISTOGRAM_COLUMNS = 20
"""At most this many columns get a histogram: a wide table's metadata stays small."""

_TIME_NAMES = ("time", "t", "date", "valid_time", "forecast_time", "step")

# viridis at nine stops (matplotlib's values), interpolated to 255 levels: a perceptually
# even scale that reads in grey too, without depending on matplotlib.
_VIRIDIS_STOPS = np.array(
    [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ],
    dtype=float,
)
_LEVELS = 255
"""Palette indices 0..254 are the colour scale; 255 is a missing value (transparent)."""
_MISSING = 255


def _palette() -> list[int]:
    positions = np.linspace(0, 1, len(_VIRIDIS_STOPS))
    levels = np.linspace(0, 1, _LEVELS)
    rgb = np.stack(
        [np.interp(levels, positions, _VIRIDIS_STOPS[:, channel]) for channel in range(3)], axis=1
    )
    colours = np.vstack([rgb.round().astype(np.uint8), [[200, 200, 200]]])
    return colours.flatten().tolist()


@dataclass(frozen=True)
class QuickLook:
    """A grid's picture and what it shows."""

    png: bytes
    variable: str
    slice: str
    """Which 2-D slice is drawn: 'time = 2020-12-31 (the last of 365)', or '' for a 2-D one."""
    low: float
    high: float
    """The colour scale's range: the slice's smallest and largest values (NaN: all missing)."""
    units: str | None
    rows: str
    columns: str
    """The dimensions drawn down and across."""
    shape: tuple[int, int]
    """The slice's size; the picture may be thinned to at most MAX_SIDE a side."""
    picture_size: tuple[int, int]

    def markdown(self) -> str:
        units = f" {self.units}" if self.units else ""
        where = f", {self.slice}" if self.slice else ""
        scale = (
            "every value is missing"
            if math.isnan(self.low)
            else f"colour scale from {readable(self.low)}{units} (dark purple) to "
            f"{readable(self.high)}{units} (yellow), missing values grey"
        )
        thinned = (
            ""
            if self.picture_size == (self.shape[1], self.shape[0])
            else f", thinned to {self.picture_size[1]} by {self.picture_size[0]} pixels"
        )
        return (
            f"**{self.variable}**{where}: {self.rows} ({self.shape[0]}) down, "
            f"{self.columns} ({self.shape[1]}) across{thinned}; {scale}.\n\n"
            f"![quick look of {self.variable}]({data_uri(self.png)})"
        )


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def readable(value: Any, digits: int = 4) -> str:
    """A number as people read it: 4 significant digits, no exponent for everyday sizes."""
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.{digits}g}"


def quick_look(value: Any) -> QuickLook | None:
    """The picture of an xarray Dataset or DataArray: its first numeric variable with at
    least two dimensions, the last step of every leading dimension; None when there is
    none or Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:
        return None
    found = _drawn_variable(value)
    if found is None:
        return None
    name, variable = found
    plane, where = _last_plane(variable)
    rows, columns = (str(d) for d in plane.dims)
    shape = (int(plane.sizes[rows]), int(plane.sizes[columns]))
    side = MAX_SIDE
    while True:
        thinned = plane.isel({rows: _stride(shape[0], side), columns: _stride(shape[1], side)})
        # only the thinned slice is computed: a dask-backed grid reads nothing else
        values = np.asarray(thinned.values, dtype="float64")
        if _north_up(plane, rows):
            values = values[::-1]
        png = _png(Image, values)
        if len(png) <= MAX_BYTES or side <= 16:
            break
        side //= 2
    finite = values[np.isfinite(values)]
    # the scale of the slice as computed (thinned): what the colours mean
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (math.nan,) * 2
    return QuickLook(
        png=png,
        variable=name,
        slice=where,
        low=low,
        high=high,
        units=str(variable.attrs["units"]) if "units" in variable.attrs else None,
        rows=rows,
        columns=columns,
        shape=shape,
        picture_size=(values.shape[1], values.shape[0]),
    )


def _drawn_variable(value: Any) -> tuple[str, Any] | None:
    variables = (
        list(value.data_vars.items())
        if hasattr(value, "data_vars")
        else [(value.name or "values", value)]
    )
    for name, variable in variables:
        numeric = np.issubdtype(variable.dtype, np.number) and not np.issubdtype(
            variable.dtype, np.bool_
        )
        if numeric and variable.ndim >= 2 and all(n > 0 for n in variable.shape):
            return str(name), variable
    return None


def _last_plane(variable: Any) -> tuple[Any, str]:
    """The 2-D slice drawn: the last step of every dimension but the last two (a time
    dimension is never drawn across: it is stepped through first)."""
    dims = [str(d) for d in variable.dims]
    times = [d for d in dims if d.lower() in _TIME_NAMES]
    drawn = [d for d in dims if d not in times][-2:]
    if len(drawn) < 2:  # a time and one other dimension: draw them
        drawn = dims[-2:]
    stepped = [d for d in dims if d not in drawn]
    if not stepped:
        return variable.transpose(*drawn), ""
    plane = variable.isel({d: -1 for d in stepped})
    where = ", ".join(_step_shown(variable, d) for d in stepped)
    return plane.transpose(*drawn), where


def _step_shown(variable: Any, dim: str) -> str:
    size = int(variable.sizes[dim])
    if dim in variable.coords:
        label = variable.coords[dim].values[-1]
        shown = (
            np.datetime_as_string(label, unit="auto")
            if np.issubdtype(np.asarray(label).dtype, np.datetime64)
            else readable(label)
            if np.issubdtype(np.asarray(label).dtype, np.number)
            else str(label)
        )
        return f"{dim} = {shown} (the last of {size})"
    return f"the last {dim} (of {size})"


def _stride(length: int, side: int) -> slice:
    return slice(None, None, max(1, math.ceil(length / side)))


def _north_up(plane: Any, rows: str) -> bool:
    """Whether rows run south to north (latitudes ascending): drawn flipped, north on top."""
    if rows not in plane.coords or plane.sizes[rows] < 2:
        return False
    coordinate = np.asarray(plane.coords[rows].values)
    if not np.issubdtype(coordinate.dtype, np.number):
        return False
    return rows.lower().startswith(("lat", "y")) and bool(coordinate[-1] > coordinate[0])


def _png(image_module: Any, values: np.ndarray) -> bytes:
    finite = np.isfinite(values)
    indices = np.full(values.shape, _MISSING, dtype=np.uint8)
    if finite.any():
        low, high = values[finite].min(), values[finite].max()
        span = (high - low) or 1.0
        scaled = (values[finite] - low) / span * (_LEVELS - 1)
        indices[finite] = np.clip(np.round(scaled), 0, _LEVELS - 1).astype(np.uint8)
    picture = image_module.fromarray(indices, mode="P")
    picture.putpalette(_palette())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def histogram_png(values: Any) -> bytes | None:
    """A small bar chart of a numeric column's distribution (missing values left out); None
    for a column with no finite values or when Pillow is missing."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return None
    numbers = np.asarray(values, dtype="float64")
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return None
    counts, _ = np.histogram(numbers, bins=HISTOGRAM_BINS)
    width, height = HISTOGRAM_SIZE
    picture = Image.new("P", (width, height), 0)
    picture.putpalette([255, 255, 255, 59, 81, 139, 200, 200, 200])
    draw = ImageDraw.Draw(picture)
    bar = width / HISTOGRAM_BINS
    top = counts.max()
    for position, count in enumerate(counts):
        if count:
            tall = max(1, round(count / top * (height - 1)))
            left = round(position * bar)
            right = max(left, round((position + 1) * bar) - 2)
            draw.rectangle((left, height - tall, right, height - 1), fill=1)
    draw.line((0, height - 1, width - 1, height - 1), fill=2)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True, transparency=0)
    return buffer.getvalue()
