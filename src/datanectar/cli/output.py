"""How the `datanectar` subcommands print: aligned tables and ages."""

from __future__ import annotations

import datetime as dt


def age(created: dt.datetime) -> str:
    """How long ago `created` was, in its largest unit: 3d, 5h, 2m, 40s."""
    seconds = int((dt.datetime.now(dt.UTC) - created).total_seconds())
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
