"""How the `datanectar` subcommands print: aligned tables, ages, JSON, and progress on a
terminal."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def age(created: dt.datetime) -> str:
    """How long ago `created` was, in its largest unit: 3d, 5h, 2m, 40s."""
    seconds = int((dt.datetime.now(dt.UTC) - created).total_seconds())
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def print_json(value: Any) -> None:
    """`value` as indented JSON on stdout (`--json`: for machines); dates and paths as text."""
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


def on_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal someone watches (not a pipe, a file or a CI log)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Progress:
    """`label: 3/120` on one line of stderr, rewritten in place, cleared at the end; nothing
    at all when stderr is not a terminal, so that pipes and logs get only the results."""

    def __init__(self, label: str, total: int | None = None, *, counted: bool = True) -> None:
        self.label = label
        self.total = total
        self.counted = counted
        self.done = 0
        self._stream = sys.stderr
        self._shown = on_terminal(self._stream)
        self._last = 0.0
        self._width = 0

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._shown and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._draw(force=self.done == self.total)

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self._shown or (not force and now - self._last < _REDRAW_SECONDS):
            return
        self._last = now
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        line = f"{self.label}: {count}" if self.counted else self.label
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = max(self._width, len(line))


_REDRAW_SECONDS = 0.1  # a terminal redrawn ten times a second looks live, and costs nothing


def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """`items`, one by one, counted on the terminal as they are consumed (see `Progress`).
    A loop that may raise uses `with Progress(...)` instead: its line is cleared at once."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with Progress(label, total) as shown:
        for item in items:
            yield item
            shown.advance()


@contextmanager
def status(label: str) -> Iterator[None]:
    """`label...` on the terminal while one long step runs that cannot be counted (a file
    described by frictionless), cleared when it ends; nothing when stderr is no terminal."""
    with Progress(f"{label}...", counted=False):
        yield
