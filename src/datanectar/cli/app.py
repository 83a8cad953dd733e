"""What every `datanectar` command shares: the global options (accepted before the command or
after it), `--version`, help texts, and how errors end a command: one message and exit 2 for a
user's mistake, the traceback only with `--debug`."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .. import __version__
from ..errors import DatanectarError

USER_ERROR = 2
INTERNAL_ERROR = 1
INTERRUPTED = 130


def common_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `--version`, and `--project` and `--debug` to the parser and to every subcommand
    (so `datanectar catalog list --project P` works as `datanectar --project P catalog list`);
    give each subcommand its one-line help as its description."""
    parser.add_argument("--version", action="version", version=f"datanectar {__version__}")
    _global_options(parser, default=None)
    for sub in _subparsers(parser):
        # SUPPRESS: a subcommand sets them only when given after it, never overwriting the
        # value given before it.
        _global_options(sub, default=argparse.SUPPRESS)
    return parser


def run(arguments: argparse.Namespace) -> int:
    """The command's exit code; errors end it with a message, not a traceback."""
    debug = bool(getattr(arguments, "debug", False))
    try:
        return int(arguments.run(arguments))
    except BrokenPipeError:  # `datanectar ... | head`: the reader has what it wanted
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print("datanectar: interrupted", file=sys.stderr)
        return INTERRUPTED
    except (DatanectarError, OSError) as exc:  # what the user can fix: their project, files
        return _report(exc, debug=debug, code=USER_ERROR)
    except Exception as exc:  # a bug of datanectar's or a library's: still one message
        return _report(exc, debug=debug, code=INTERNAL_ERROR, unexpected=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python flushing it at exit raises nothing more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report(exc: BaseException, *, debug: bool, code: int, unexpected: bool = False) -> int:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = str(exc) if not isinstance(exc, OSError) else _os_error(exc)
    if unexpected:
        message = f"unexpected {type(exc).__name__}: {message}"
        if not debug:
            message += " (run again with --debug for the traceback, and report it)"
    print(f"datanectar: {message}", file=sys.stderr)
    return code


def _os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


def _global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--project",
        default=default,
        metavar="PATH",
        help="project folder or pyproject.toml (default: found from the working directory, "
        "or DATANECTAR_PROJECT)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default if default is argparse.SUPPRESS else False,
        help="show the traceback of an error",
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand's parser, at any depth (`cache`, `cache clear`, ...)."""
    found = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, sub in action.choices.items():
            if sub.description is None and helps.get(name):
                sub.description = _sentence(str(helps[name]))
            found += [sub, *_subparsers(sub)]
    return found


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
