"""The YAML catalog: Jinja2-rendered files parsed into typed entries. Knows nothing of Dagster."""

from .loader import catalog_files, load_catalog, parse_entry
from .models import Entry, EntryFields, field_names
from .render import load_variables

__all__ = [
    "Entry",
    "EntryFields",
    "catalog_files",
    "field_names",
    "load_catalog",
    "load_variables",
    "parse_entry",
]
