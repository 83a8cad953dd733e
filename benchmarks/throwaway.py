"""A throwaway datanectar project for the benchmarks: one local store, one catalog file."""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_project(root: Path, catalog: str = "") -> Path:
    """Write pyproject.toml (local store `data`, local cache inside `root`) and the catalog."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "bench"
            version = "0"

            [tool.datanectar]
            catalog = "catalog"
            configuration = "configuration"
            local_cache = "{root / "local_cache"}"

            [tool.datanectar.stores.local]
            type = "local"
            root = "data"
            """
        )
    )
    (root / "catalog").mkdir(exist_ok=True)
    (root / "configuration").mkdir(exist_ok=True)
    (root / "catalog" / "main.yaml").write_text(catalog)
    return root
