"""The `datanectar` command: subcommands over a project's catalog and cache."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import DatanectarError
from . import cache as cache_commands
from . import infer as infer_commands
from . import init as init_commands
from . import namespaces as namespace_commands
from . import quarantine as quarantine_commands
from . import versions as version_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="datanectar", description=__doc__)
    parser.add_argument(
        "--project",
        default=None,
        help="project folder or pyproject.toml (default: found from the working directory)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cache_commands.register(commands)
    infer_commands.register(commands)
    init_commands.register(commands)
    namespace_commands.register(commands)
    quarantine_commands.register(commands)
    version_commands.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments)
    except DatanectarError as exc:
        print(f"datanectar: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
