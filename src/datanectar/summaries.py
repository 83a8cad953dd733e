"""What a value looks like, for materialization metadata: one small describer per data type.

Plain data, no Dagster: the orchestration layer maps these onto Dagster metadata values, and a
notebook user gets the same summary back from `save`. Describers read only what is cheap (a
shape, a schema, the first rows), never a whole dask-backed array.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .pictures import HISTOGRAM_COLUMNS, QuickLook, histogram_png, quick_look, readable

PREVIEW_ROWS = 5
_CELL_WIDTH = 40


@dataclass(frozen=True)
class TableSummary:
    rows: int
    columns: list[tuple[str, str]]
    preview_markdown: str
    profile: list[dict[str, Any]] | None = None
    """Per-column statistics, when the entry asks for them (`profile: true`)."""
    histograms: dict[str, bytes] = field(default_factory=dict)
    """With the profile: a small PNG bar chart of each numeric column (the first ones)."""


@dataclass(frozen=True)
class GridSummary:
    dims: dict[str, int]
    variables: dict[str, dict[str, Any]]
    coords: list[str] = field(default_factory=list)
    shape: list[int] | None = None
    """The shape of a DataArray; None for a Dataset, whose variables each have one."""
    quick_look: QuickLook | None = None
    """A small picture of one 2-D slice of the first variable that has one."""


@dataclass(frozen=True)
class ObjectSummary:
    type_name: str
    length: int | None = None


Summary = TableSummary | GridSummary | ObjectSummary


def describe(value: Any, *, profile: bool = False) -> Summary:
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and hasattr(value, "columns"):
        summary = _describe_pandas(value)
        return _profiled(summary, value) if profile else summary
    if module == "pyarrow" and hasattr(value, "schema") and hasattr(value, "num_rows"):
        summary = _describe_arrow(value)
        return _profiled(summary, value.to_pandas()) if profile else summary
    if module == "xarray":
        return _describe_xarray(value)
    length = len(value) if isinstance(value, list | dict | tuple | str | set) else None
    return ObjectSummary(type_name=type(value).__qualname__, length=length)


def _profiled(summary: TableSummary, frame: Any) -> TableSummary:
    return replace(summary, profile=profile_columns(frame), histograms=column_histograms(frame))


def _describe_pandas(frame: Any) -> TableSummary:
    from .formats.table_values import index_column_names, informative_index

    # An index that holds data is part of the table (stored as columns by the formats that
    # keep it): listed first, as reset_index() would show it.
    levels = (
        [
            (name, str(frame.index.get_level_values(level).dtype))
            for level, name in enumerate(index_column_names(frame))
        ]
        if informative_index(frame)
        else []
    )
    return TableSummary(
        rows=len(frame),
        columns=levels + [(str(name), str(dtype)) for name, dtype in frame.dtypes.items()],
        preview_markdown=markdown_table(frame.head(PREVIEW_ROWS)),
    )


def _describe_arrow(table: Any) -> TableSummary:
    return TableSummary(
        rows=table.num_rows,
        columns=[(f.name, str(f.type)) for f in table.schema],
        preview_markdown=markdown_table(table.slice(0, PREVIEW_ROWS).to_pandas()),
    )


def _describe_xarray(value: Any) -> GridSummary:
    variables = value.data_vars.items() if hasattr(value, "data_vars") else [(value.name, value)]
    return GridSummary(
        dims={str(name): int(size) for name, size in value.sizes.items()},
        variables={
            str(name): {
                "dtype": str(variable.dtype),
                "dims": [str(d) for d in variable.dims],
                "shape": [int(n) for n in variable.shape],
                **({"units": str(variable.attrs["units"])} if "units" in variable.attrs else {}),
            }
            for name, variable in variables
        },
        coords=[str(name) for name in value.coords],
        shape=None if hasattr(value, "data_vars") else [int(n) for n in value.shape],
        quick_look=_quick_look(value),
    )


def _quick_look(value: Any) -> QuickLook | None:
    try:
        return quick_look(value)
    except Exception:  # a picture is a nicety: a grid it cannot draw is still written
        return None


def profile_columns(frame: Any) -> list[dict[str, Any]]:
    """Nulls, distinct values, and min/max/mean of numeric and time columns, per column."""
    import pandas as pd

    columns = []
    for name in frame.columns:
        series = frame[name]
        stats: dict[str, Any] = {
            "column": str(name),
            "dtype": str(series.dtype),
            "nulls": int(series.isna().sum()),
            "distinct": int(series.nunique(dropna=True)),
            "min": None,
            "max": None,
            "mean": None,
        }
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if (numeric or pd.api.types.is_datetime64_any_dtype(series)) and series.notna().any():
            stats["min"], stats["max"] = _cell_text(series.min()), _cell_text(series.max())
            stats["mean"] = _cell_text(series.mean())
        columns.append(stats)
    return columns


def column_histograms(frame: Any) -> dict[str, bytes]:
    """A small histogram of each numeric column (booleans aside), the first
    HISTOGRAM_COLUMNS of them."""
    import pandas as pd

    pictures: dict[str, bytes] = {}
    for name in frame.columns:
        series = frame[name]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        try:
            png = histogram_png(series.to_numpy(dtype="float64", na_value=float("nan")))
        except Exception:  # a picture is a nicety: a column it cannot draw gets none
            png = None
        if png is not None:
            pictures[str(name)] = png
        if len(pictures) == HISTOGRAM_COLUMNS:
            break
    return pictures


def markdown_table(frame: Any) -> str:
    """A small markdown table of a DataFrame (no extra dependency, cells truncated)."""
    columns = [str(c) for c in frame.columns]
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in frame.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = _cell_text(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 1] + "…"


def _cell_text(value: Any) -> str:
    """A value as a preview shows it: floats to 4 significant digits, a time as one ISO
    word (a space would let the table wrap it over two lines)."""
    import datetime as dt

    if isinstance(value, float | np.floating) and not isinstance(value, bool):
        return readable(value)
    if isinstance(value, dt.datetime):  # pandas Timestamps too
        if hasattr(value, "isoformat") and value == value:  # NaT is not equal to itself
            return value.isoformat()
        return str(value)
    if isinstance(value, np.datetime64):
        return "NaT" if np.isnat(value) else np.datetime_as_string(value, unit="auto")
    return str(value)
