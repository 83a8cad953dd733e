"""What each `cache_mode` does, as one table: the levels it recalls from, the level it stores
at, and how it treats a fresh or a stale stored result.

The modes are named in `config.CacheMode` (what a pyproject may say); this table is what they
mean, so a call asks its policy rather than comparing mode names.
"""

from __future__ import annotations

from enum import Enum
from typing import get_args

from ..config import CacheMode
from ..errors import DatanectarError

CACHE_MODES: tuple[str, ...] = get_args(CacheMode)

_EVERY_LEVEL = ("local", "root", "mirror")


class CachePolicy(Enum):
    """A cache mode (its value: the name a setting or a call gives) and its rules."""

    reads: tuple[str, ...]
    """The kinds of level a recall looks in, in order (the memo always comes first)."""
    writes_to: str | None
    """The kind of level a computed result is stored at (None: it is not stored)."""
    replaces_fresh: bool
    """A recompute replaces a fresh stored result (else the stored one is kept)."""
    serves_stale: bool
    """With no fresh result anywhere, a stale one is returned (with a warning)."""
    copies_to_local: bool
    """A result recalled from another level is copied to the local cache."""

    def __new__(
        cls,
        mode: str,
        reads: tuple[str, ...],
        writes_to: str | None,
        replaces_fresh: bool,
        serves_stale: bool,
        copies_to_local: bool,
    ) -> CachePolicy:
        member = object.__new__(cls)
        member._value_ = mode
        member.reads = reads
        member.writes_to = writes_to
        member.replaces_fresh = replaces_fresh
        member.serves_stale = serves_stale
        member.copies_to_local = copies_to_local
        return member

    # mode          reads           writes_to  replaces_fresh  serves_stale  copies_to_local
    WRITE = ("write", _EVERY_LEVEL, "root", False, False, False)
    OVERWRITE = ("overwrite", _EVERY_LEVEL, "root", True, False, False)
    READ_ONLY = ("read_only", _EVERY_LEVEL, None, False, True, False)
    LOCAL = ("local", _EVERY_LEVEL, "local", False, False, True)
    OFFLINE = ("offline", ("local",), "local", False, True, False)
    OFF = ("off", (), None, False, False, False)  # the function runs as plain Python

    @property
    def caches(self) -> bool:
        """Whether calls recall and store at all."""
        return self is not CachePolicy.OFF


def policy_for(mode: str, *, where: str) -> CachePolicy:
    """The policy of a mode name, or an error naming `where` it was asked for."""
    if mode not in CACHE_MODES:
        raise DatanectarError(
            f"{where}: unknown cache_mode {mode!r}; expected one of {', '.join(CACHE_MODES)}."
        )
    return CachePolicy(mode)
