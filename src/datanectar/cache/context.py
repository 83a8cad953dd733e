"""What a cached call passes down to the cached calls it makes: context variables, so it is
safe under threads and asyncio, and never found by walking the call stack."""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from .records import UpstreamRead

ALL = "_all"
T = TypeVar("T")

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
    """Tell the computation running above (if any) that it read this object (from whichever of
    its threads: see `ThreadPoolExecutor`)."""
    reads = _reads.get()
    if reads is None:
        return
    with _reads_lock:
        if read not in reads:
            reads.append(read)


_reads_lock = threading.Lock()


def carry(function: Callable[..., T]) -> Callable[..., T]:
    """`function`, to run on another thread in the context of the code calling `carry`: the
    cached calls it makes are recorded as reads of the cached function running here, and take
    its cache settings (`threading.Thread(target=datanectar.carry(work))`)."""
    context = contextvars.copy_context()
    return functools.wraps(function)(functools.partial(context.run, function))


class ThreadPoolExecutor(futures.ThreadPoolExecutor):
    """`concurrent.futures.ThreadPoolExecutor`, whose tasks run in the context of the code
    that submits them: a cached function's body that fans work out to threads keeps the
    provenance of the cached calls made there (threads otherwise start with a context of their
    own, so what they read would not be recorded, and the result would never go stale)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> futures.Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
