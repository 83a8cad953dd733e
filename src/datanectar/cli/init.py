"""`datanectar init DIR`: a new project that materializes as generated.

It gets a pyproject.toml with `[tool.datanectar]` and `[tool.dagster]`, `definitions.py`, a
catalog with an example entry of each family (tables, grids, objects), its configuration, a
module of functions (one of them cached) and a custom check, a small input file, a Dagster
instance folder, a `.gitignore` and a README (see `datanectar.scaffold`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..scaffold import scaffold


def register(commands: argparse._SubParsersAction) -> None:
    init = commands.add_parser(
        "init", help="create a new project (catalog, functions, Dagster definitions) in DIR"
    )
    init.add_argument("directory", metavar="DIR", help="the project folder (created if missing)")
    init.add_argument(
        "--name",
        default=None,
        help="the project's name (default: DIR's name); its Python package is this name "
        "with '-' and '.' as '_'",
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="also init into a folder that is not empty (an existing file is never overwritten)",
    )
    init.set_defaults(run=init_project)


def init_project(arguments: argparse.Namespace) -> int:
    target = Path(arguments.directory)
    written = scaffold(target, name=arguments.name, force=arguments.force)
    for path in written:
        print(f"created {path}")
    home = os.path.join(os.path.abspath(target), "dagster_home")
    where = "in this folder," if target.resolve() == Path.cwd().resolve() else f"cd {target}, then"
    print(
        f"\nNext: {where}\n"
        f"  DAGSTER_HOME={home} dagster asset materialize -f definitions.py --select '*'\n"
        f"  DAGSTER_HOME={home} dagster dev"
    )
    return 0
