"""Where a plain call's stored result is reported beyond the cache (to Dagster's instance).

`cache/` knows nothing of Dagster: the layer above installs a reporter (`datanectar` does at
import, deferring to `datanectar.assets.runless`), and a call tells it what it stored at the
root level, its checks' outcome included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..publishing import Outcome
    from .call import Call
    from .records import Record


class CallReporter(Protocol):
    def __call__(self, call: Call, record: Record | None, outcome: Outcome | None) -> None:
        """Report what `call` stored at the root level (no record: its checks rejected it)."""


_reporter: CallReporter | None = None


def set_call_reporter(reporter: CallReporter | None) -> CallReporter | None:
    """Install the reporter of stored results (None: report nothing); the previous one back."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


def report_stored(call: Call, record: Record | None, outcome: Outcome | None) -> None:
    if _reporter is not None:
        _reporter(call, record, outcome)
