"""The `datanectar` command: the catalog, caches, namespaces and versions of a project
(Dagster's own CLI runs things)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import cache as cache_commands
from . import catalog as catalog_commands
from . import infer as infer_commands
from . import init as init_commands
from . import namespaces as namespace_commands
from . import quarantine as quarantine_commands
from . import versions as version_commands
from .app import common_options, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="datanectar", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cache_commands.register(commands)
    catalog_commands.register(commands)
    infer_commands.register(commands)
    init_commands.register(commands)
    namespace_commands.register(commands)
    quarantine_commands.register(commands)
    version_commands.register(commands)
    return common_options(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: its exit code (2 for a user error, told in one message)."""
    arguments = build_parser().parse_args(argv)
    return run(arguments)


if __name__ == "__main__":
    sys.exit(main())
