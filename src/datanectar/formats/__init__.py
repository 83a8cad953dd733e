"""Storage formats: one module each, behind `Format` and the registry."""

from .base import Format
from .registry import default_format_for, format_names, formats_accepting, get_format

__all__ = ["Format", "default_format_for", "format_names", "formats_accepting", "get_format"]
