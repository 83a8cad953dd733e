"""Storage formats: one module each, behind `Format` and the registry."""

from .base import Format
from .registry import (
    DOCUMENT_FORMAT,
    default_format_for,
    format_names,
    formats_accepting,
    get_format,
)

__all__ = [
    "DOCUMENT_FORMAT",
    "Format",
    "default_format_for",
    "format_names",
    "formats_accepting",
    "get_format",
]
