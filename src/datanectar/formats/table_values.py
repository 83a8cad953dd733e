"""What a table format must not lose of a DataFrame: its columns and its index.

A frame with no columns has nothing a table can hold (a csv of it cannot be read back, a Delta
table given its empty schema cannot even be opened), and an index that says something (a name,
several levels, or labels other than 0..n-1) is data. Formats that keep an index keep it as the
libraries do; those that would drop it refuse the value unless the user chose what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INDEX_LEVEL_KEY = b"datanectar.index_level"
"""Arrow field metadata on a column that holds an index level of the saved frame (its position
among the levels): Delta keeps field metadata in its schema, so a load can restore the index."""
_UNNAMED_LEVEL = "__index_level_{}__"  # pandas' own name for an unnamed level kept as a column


def refusal(value: Any, *, drops_index: bool, options: Mapping[str, Any]) -> str | None:
    """Why a table format cannot store `value` faithfully, or None. `drops_index`: the format
    writes no index unless its `index` save option asks for one."""
    columns = getattr(value, "column_names", None)
    if columns is None:
        columns = getattr(value, "columns", None)
    if columns is not None and len(columns) == 0:
        return (
            "the value has no columns (a table of it would read back with no rows, or not at "
            "all). Fix: return at least one column."
        )
    if not informative_index(value):
        return None
    if not drops_index:
        names = index_column_names(value)
        taken = {str(column) for column in columns}
        clashing = [name for name in names if name in taken] or [
            name for name in names if names.count(name) > 1
        ]
        if clashing:
            return (
                f"index level '{clashing[0]}' has the name of a column or of another level, and "
                "this format keeps the index as columns. Fix: rename the index level or the "
                "column (value.index.names = [...])."
            )
        return None
    if "index" not in options:
        return (
            f"the value's index ({_describe_index(value.index)}) would be dropped: this format "
            "writes columns only. Fix: value.reset_index() to keep it as columns, "
            "value.reset_index(drop=True) to discard it, or the save option index: true "
            "(index: false drops it knowingly)."
        )
    return None


def informative_index(frame: Any) -> bool:
    """Whether a DataFrame's index holds anything beyond the row positions 0..n-1."""
    index = getattr(frame, "index", None)
    if index is None or not hasattr(frame, "columns"):
        return False
    import pandas as pd

    if index.nlevels > 1 or any(name is not None for name in index.names):
        return True
    if isinstance(index, pd.RangeIndex):
        return not (index.start == 0 and index.step == 1)
    return not index.equals(pd.RangeIndex(len(index)))


def with_index_columns(frame: Any) -> Any:
    """A DataFrame as an Arrow table that keeps an informative index as columns (named after
    its levels, pandas' `__index_level_N__` for unnamed ones), each marked so that
    `restore_index` makes it the index again."""
    import pyarrow as pa

    if not informative_index(frame):
        return pa.Table.from_pandas(frame, preserve_index=False)
    names = index_column_names(frame)
    flat = frame.reset_index(names=names)
    table = pa.Table.from_pandas(flat, preserve_index=False)
    for level, name in enumerate(names):
        position = table.schema.get_field_index(name)
        field = table.schema.field(position).with_metadata({INDEX_LEVEL_KEY: str(level)})
        table = table.set_column(position, field, table.column(position))
    return table


def index_column_names(frame: Any) -> list[str]:
    """The columns a DataFrame's index levels become: their names, `__index_level_N__` for
    unnamed ones."""
    return [
        str(name) if name is not None else _UNNAMED_LEVEL.format(level)
        for level, name in enumerate(frame.index.names)
    ]


def index_columns(schema: Any) -> list[str]:
    """The columns of an Arrow (or Delta) schema that hold index levels, in level order."""
    marked = []
    for field in schema.fields if hasattr(schema, "fields") else schema:
        metadata = field.metadata or {}
        level = metadata.get(INDEX_LEVEL_KEY, metadata.get(INDEX_LEVEL_KEY.decode()))
        if level is not None:
            marked.append((int(level), field.name))
    return [name for _, name in sorted(marked)]


def restore_index(table: Any) -> Any:
    """An Arrow table as a DataFrame, the columns `with_index_columns` marked as its index."""
    names = index_columns(table.schema)
    frame = table.to_pandas()
    if not names:
        return frame
    frame = frame.set_index(names)
    frame.index.names = [
        None if name == _UNNAMED_LEVEL.format(level) else name for level, name in enumerate(names)
    ]
    return frame


def _describe_index(index: Any) -> str:
    if index.nlevels > 1:
        return f"{index.nlevels} levels: {', '.join(str(name) for name in index.names)}"
    if index.name is not None:
        return f"named '{index.name}'"
    shown = ", ".join(repr(label) for label in index[:3])
    return f"labels {shown}{', …' if len(index) > 3 else ''}, not the positions 0..n-1"


def require_same_columns(stored: list[str], given: list[Any]) -> None:
    """A partition of a table has the columns of its other partitions: a `Refused` naming
    the ones this value lacks or adds."""
    from .base import Refused

    missing = [name for name in stored if name not in given]
    extra = [str(name) for name in given if name not in stored]
    if missing or extra:
        raise Refused(
            "a partition has the columns of the table's other partitions, and this value "
            + (f"lacks {', '.join(missing)}" if missing else "")
            + (" and " if missing and extra else "")
            + (f"adds {', '.join(extra)}" if extra else "")
            + ". Fix: return those columns, or remove the table's other partitions first"
        )
