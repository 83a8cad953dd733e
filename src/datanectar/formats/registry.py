"""Formats by name: datanectar's own and those of installed plug-ins (entry point group
`datanectar.formats`), each imported on first use. A new format is one module and one entry
point; see "Writing a format" in the README."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..errors import PluginError
from ..plugins import PluginRegistry
from .base import Format

BUILT_IN_FORMATS: dict[str, str] = {
    "csv": "datanectar.formats.csv:CsvFormat",
    "parquet": "datanectar.formats.parquet:ParquetFormat",
    "delta": "datanectar.formats.delta:DeltaFormat",
    "zarr": "datanectar.formats.zarr:ZarrFormat",
    "netcdf": "datanectar.formats.netcdf:NetcdfFormat",
    "pickle": "datanectar.formats.pickle:PickleFormat",
    "json": "datanectar.formats.json:JsonFormat",
    "files": "datanectar.formats.files:FilesFormat",
    "sql": "datanectar.formats.sql:SqlFormat",
}
"""Also declared as entry points in pyproject.toml, as a plug-in declares its own."""

FORMATS = PluginRegistry("datanectar.formats", kind="format", built_ins=BUILT_IN_FORMATS)

DOCUMENT_FORMAT = "json"
"""The format of the documents datanectar itself stores (full check reports)."""

# Nuthatch's defaults: the format a function's result gets when nothing names one.
_DEFAULT_BY_TYPE: dict[str, str] = {
    "xarray.Dataset": "zarr",
    "xarray.DataArray": "zarr",
    "pandas.DataFrame": "delta",
    "pyarrow.Table": "delta",
}


def format_names() -> list[str]:
    return FORMATS.names()


def format_class(name: str) -> type[Format]:
    """The class of format `name` (its module imported, its library not yet); KeyError if
    no format is registered under that name."""
    found = FORMATS.load_class(name, Format, "datanectar.formats.Format")
    where = FORMATS.where(name)
    declared = {attribute: getattr(found, attribute, None) for attribute in _DECLARED}
    wrong = [
        f"{attribute} ({_DECLARED[attribute]})"
        for attribute, value in declared.items()
        if not isinstance(value, str if attribute != "writes" else (tuple, list))
    ]
    if wrong:
        raise PluginError(
            f"{where}: {found.__name__} does not declare {', '.join(wrong)}. Fix: set them as "
            "class attributes (see 'Writing a format' in the README)."
        )
    if declared["name"] != name:
        raise PluginError(
            f"{where}: {found.__name__}.name is {declared['name']!r}. Fix: set name = {name!r}, "
            "the name it is registered under."
        )
    return found


_DECLARED = {
    "name": "the name entries use, a str",
    "suffix": "appended to an entry's name for its default path, a str, '' for none",
    "writes": "the types it writes, a tuple of qualified names",
}


@cache
def get_format(name: str) -> Format:
    return format_class(name)()


def register_format(name: str, value: str, *, clobber: bool = False) -> None:
    """Add a format in this process, as 'module:Class' (plug-ins use an entry point)."""
    FORMATS.register(name, value, clobber=clobber)
    get_format.cache_clear()


def default_format_for(annotation: Any) -> str:
    """The format for a return annotation: xarray -> zarr, tables -> delta, else pickle."""
    if isinstance(annotation, type):
        for klass in annotation.__mro__:
            qualified = f"{klass.__module__.split('.')[0]}.{klass.__qualname__}"
            if qualified in _DEFAULT_BY_TYPE:
                return _DEFAULT_BY_TYPE[qualified]
    return "pickle"


def formats_accepting(value: Any) -> list[str]:
    """Every format that can write `value` (imports them all: only for error messages)."""
    accepting = []
    for name in format_names():
        try:
            accepts = get_format(name).accepts(value)
        except Exception:  # a format not installed, or a broken plug-in: not this error's topic
            accepts = False
        if accepts:
            accepting.append(name)
    return accepting
