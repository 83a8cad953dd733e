"""What a cached call passes down to the cached calls it makes: context variables, so it is
safe under threads and asyncio, and never found by walking the call stack."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .records import UpstreamRead

ALL = "_all"

_recompute: ContextVar[frozenset[str]] = ContextVar("datanectar_recompute", default=frozenset())
_mode: ContextVar[str | None] = ContextVar("datanectar_cache_mode", default=None)
_reads: ContextVar[list[UpstreamRead] | None] = ContextVar("datanectar_reads", default=None)


@dataclass(frozen=True)
class Recompute:
    """Whether this call recomputes, and what the calls it makes inherit."""

    here: bool
    inherited: frozenset[str]


def resolve_recompute(
    names: Iterable[str], recompute: bool | str | Iterable[str] | None
) -> Recompute:
    """`True`: this call only; a name or list of names: those functions wherever they are
    called below; `"_all"`: every cached call below."""
    inherited = _recompute.get()
    if recompute is None or recompute is False:
        requested: frozenset[str] = frozenset()
    elif recompute is True:
        requested = frozenset()
    elif isinstance(recompute, str):
        requested = frozenset({recompute})
    else:
        requested = frozenset(recompute)
    passed_down = inherited | requested
    here = recompute is True or ALL in passed_down or any(name in passed_down for name in names)
    return Recompute(here=here, inherited=passed_down)


def inherited_mode() -> str | None:
    return _mode.get()


@contextmanager
def calls_below(recompute: frozenset[str], mode: str) -> Iterator[list[UpstreamRead]]:
    """Run a computation: pass settings down, and collect what it reads."""
    reads: list[UpstreamRead] = []
    tokens = (_recompute.set(recompute), _mode.set(mode), _reads.set(reads))
    try:
        yield reads
    finally:
        _reads.reset(tokens[2])
        _mode.reset(tokens[1])
        _recompute.reset(tokens[0])


def note_read(read: UpstreamRead) -> None:
    """Tell the computation running above (if any) that it read this object."""
    reads = _reads.get()
    if reads is not None and read not in reads:
        reads.append(read)
