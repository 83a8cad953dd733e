"""Which catalog a plain call of a cached function uses: the one activated in this context,
else the project found from the working directory and `DATANECTAR_PROJECT`, opened once per
process and project."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from .config import PROJECT_ENV, find_pyproject

if TYPE_CHECKING:
    from .project import Catalog

# A context variable, not a global: threads and tasks each see the catalog they activated.
_active: ContextVar[Catalog | None] = ContextVar("datanectar_active_catalog", default=None)
_opened: dict[Path, Catalog] = {}
_found: dict[tuple[str, str | None], Path] = {}


@contextmanager
def activated(catalog: Catalog) -> Iterator[Catalog]:
    """Make `catalog` the one cached functions called in this context use."""
    token = _active.set(catalog)
    try:
        yield catalog
    finally:
        _active.reset(token)


def active_catalog() -> Catalog:
    """The catalog cached functions use: the activated one, else the project's found from the
    environment (opened once per process and project)."""
    active = _active.get()
    if active is not None:
        return active
    # Which project a plain call means depends on where it runs and on DATANECTAR_PROJECT,
    # nothing else: found once for each, not on every call.
    here = (os.getcwd(), os.environ.get(PROJECT_ENV))
    pyproject = _found.get(here)
    if pyproject is None:
        pyproject = _found[here] = find_pyproject()
    if pyproject not in _opened:
        from .project import Catalog  # project.py activates through this module

        _opened[pyproject] = Catalog.open(pyproject)
    return _opened[pyproject]
