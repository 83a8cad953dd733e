"""Storage formats: one module each, behind `Format`, its capability protocols and the registry."""

from ..checks.tableschema.text_table import RaggedRecords, TextTable
from ..targets import Slice
from .base import (
    Absent,
    Format,
    PartitionsInPlace,
    PendingCommit,
    SplitCommits,
    TableVersions,
    TextCells,
)
from .registry import (
    DOCUMENT_FORMAT,
    default_format_for,
    format_class,
    format_names,
    formats_accepting,
    get_format,
    register_format,
)

__all__ = [
    "DOCUMENT_FORMAT",
    "Absent",
    "Format",
    "PartitionsInPlace",
    "PendingCommit",
    "RaggedRecords",
    "Slice",
    "SplitCommits",
    "TableVersions",
    "TextCells",
    "TextTable",
    "default_format_for",
    "format_class",
    "format_names",
    "formats_accepting",
    "get_format",
    "register_format",
]
