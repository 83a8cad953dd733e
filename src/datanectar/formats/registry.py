"""Formats by name, as lazy dotted paths: a new format is one module and one line here."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from .base import Format

FORMATS: dict[str, str] = {
    "csv": "datanectar.formats.csv:CsvFormat",
    "parquet": "datanectar.formats.parquet:ParquetFormat",
    "delta": "datanectar.formats.delta:DeltaFormat",
    "zarr": "datanectar.formats.zarr:ZarrFormat",
    "netcdf": "datanectar.formats.netcdf:NetcdfFormat",
    "pickle": "datanectar.formats.pickle:PickleFormat",
    "json": "datanectar.formats.json:JsonFormat",
    "sql": "datanectar.formats.sql:SqlFormat",
}

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
    return sorted(FORMATS)


@cache
def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise KeyError(name)
    module_name, _, class_name = FORMATS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()


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
            if get_format(name).accepts(value):
                accepting.append(name)
        except ImportError:
            continue
    return accepting
