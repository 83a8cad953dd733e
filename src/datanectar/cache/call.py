"""One call of a cached function: its key and object, its recall from the levels its policy
reads, and the store of a computed result where its policy writes.

Every stored result has a record of the code version and the upstream objects it read; a
recall compares them with the present, so a result computed by older code or from older
data is stale.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..catalog import Entry
from ..checks.audit import Verdict
from ..errors import DataNotFoundError
from ..project import Catalog
from ..publishing import Outcome, enforce, plain_tag, publish
from ..storage import if_not_published, when_published
from ..targets import Target
from ..versions.versioned import writing_defaults
from .context import note_read
from .keys import cache_key, canonical
from .levels import Level, Levels, levels_for
from .objects import object_of
from .policy import CachePolicy
from .records import Record, UpstreamRead
from .reporting import report_stored
from .staleness import stale_reasons
from .upstream import read_of, upstream_value

if TYPE_CHECKING:
    from .decorator import CachedFunction

MISS = object()
"""What a recall returns when no level holds a usable result (None is a result)."""


class StaleResultWarning(UserWarning):
    """A stored result was returned although it is stale (read_only / offline modes)."""


@dataclass
class Call:
    """One call of a cached function: its key, where its result lives, how to recall it."""

    function: CachedFunction
    catalog: Catalog
    entry: Entry
    arguments: dict[str, Any]
    given: set[str]
    key_arguments: dict[str, Any]
    namespace: str | None
    partition: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.key = cache_key(self.function.qualified_name, self.key_arguments, self.namespace)
        self.segment, self.target = object_of(
            self.entry,
            self.key if self.key_arguments else None,
            namespace=self.namespace,
            partition=self.partition,
        )

    # -- recall --------------------------------------------------------------------------

    def recall(self, policy: CachePolicy, *, memoize: bool) -> Any:
        """The stored value of this call (None included) if a level holds a usable one, else
        MISS. The first fresh result in the read order wins: a stale copy at one level never
        hides a fresh one further down. When none is fresh, a policy that serves stale results
        (`read_only`, `offline`) returns the first stale one, with a warning saying why."""
        levels = levels_for(self.catalog, self.entry)
        if memoize:
            remembered = levels.memo.get(self.memo_key)
            if remembered is not None and not self.stale_reasons(remembered[1]):
                self._note(remembered[1])
                return remembered[0]
        stale: tuple[Level, Record, list[str]] | None = None
        for level in levels.readable(policy.reads):
            record = level.records.read(self.entry.name, self.segment)
            if record is not None and (
                record.function != self.function.qualified_name or record.key != self.key
            ):
                continue  # another function's result at the same path
            reasons = self.stale_reasons(record)
            if reasons:
                if stale is None and record is not None and self._holds_ours(level, record):
                    stale = (level, record, reasons)
                continue
            value = self._load(level, record)
            if value is not MISS:
                return self._recalled(levels, level, record, value, policy=policy, memoize=memoize)
        if stale is None or not policy.serves_stale:
            return MISS
        level, record, reasons = stale
        value = self._load(level, record)
        if value is MISS:
            return MISS
        warnings.warn(
            f"{self.function.qualified_name}: returning the stored result from the {level.name} "
            f"level although it is stale: {'; '.join(reasons)}. Recompute it in another "
            "cache_mode to refresh it.",
            StaleResultWarning,
            stacklevel=3,
        )
        return self._recalled(levels, level, record, value, policy=policy, memoize=memoize)

    def _load(self, level: Level, record: Record | None) -> Any:
        """The stored value at a level (None for a null result), or MISS when it holds none:
        read at once, without looking first (a look would open a table as the read does)."""
        if record is not None and record.is_null:
            return None
        try:
            return level.storage.load(level.target(self.target))
        except DataNotFoundError:
            return MISS

    def _recalled(
        self,
        levels: Levels,
        level: Level,
        record: Record | None,
        value: Any,
        *,
        policy: CachePolicy,
        memoize: bool,
    ) -> Any:
        if policy.copies_to_local and level.kind != "local":
            self._write(levels.local, value, record.upstream if record else [], like=record)
        if memoize:
            levels.memo.put(self.memo_key, value, record)
        self._note(record)
        return value

    @property
    def memo_key(self) -> tuple[str, ...]:
        # Projects in one process may share store names and paths: the project root tells them apart.
        return (str(self.catalog.config.root), str(self.target.store), str(self.target.path))

    def _holds_ours(self, level: Level, record: Record | None) -> bool:
        """Whether the level holds this call's result: a record of this function and key (an
        object with no record, written by another tool, counts), and the object unless null."""
        if record is not None and (
            record.function != self.function.qualified_name or record.key != self.key
        ):
            return False  # another function's result at the same path
        if record is not None and record.is_null:
            return True
        return level.storage.exists(level.target(self.target))

    def stale_reasons(self, record: Record | None) -> list[str]:
        return stale_reasons(self.catalog, self.function, record)

    # -- compute -------------------------------------------------------------------------

    def arguments_with_upstream(self, catalog: Catalog, *, explicit: set[str]) -> dict[str, Any]:
        """The call's arguments, with parameters named after entries filled in from them."""
        arguments = dict(self.arguments)
        signature = catalog.signature_of(self.function.producer)
        for name in signature.filled_from_upstream:
            if name not in explicit and name not in arguments:
                arguments[name] = upstream_value(catalog, signature, name, self.partition)
        return arguments

    def store(
        self,
        value: Any,
        reads: list[UpstreamRead],
        *,
        policy: CachePolicy,
        replace: bool,
        memoize: bool,
    ) -> Any:
        """Store a value just computed, where the policy says; the value the caller gets (the
        stored one, when a fresh stored result is kept)."""
        levels = levels_for(self.catalog, self.entry)
        if policy.writes_to is None:
            return value
        level = levels.root if policy.writes_to == "root" else levels.local
        if not replace:
            stored = level.records.read(self.entry.name, self.segment)
            if self._holds_ours(level, stored) and not self.stale_reasons(stored):
                kept = self._load(level, stored)
                if kept is not MISS:
                    warnings.warn(
                        f"{self.function.qualified_name}: recomputed, but the stored result was "
                        "kept (cache_mode='write' does not replace a fresh result), and is the "
                        "one returned; use cache_mode='overwrite' to replace it.",
                        stacklevel=4,
                    )
                    # The caller gets, and records, the result that stays: its record names
                    # what is stored, so the two must agree.
                    self._note(stored)
                    return kept
        record, outcome = self._write(level, value, reads, tag=plain_tag())
        if level is levels.root:
            report_stored(self, record, outcome)  # its checks too, passed or failed
        if outcome is not None:
            enforce(outcome)  # a rejected value raises: nothing was stored, nor recorded
        if record is None:
            return value
        if level is levels.root:
            self._drop_other_copy(levels.local, record)
        if memoize:
            levels.memo.put(self.memo_key, value, record)
        self._note(record)
        return value

    def _drop_other_copy(self, level: Level, record: Record) -> None:
        """A copy of an older result at another level goes once a new one is stored: it would
        be read before the new one, stale, in modes that read that level first."""
        copy = level.records.read(self.entry.name, self.segment)
        if copy is not None and copy.data_version != record.data_version:
            # The object first: a record left alone reads as a miss, an object alone as data
            # another tool wrote.
            level.storage.remove(level.target(self.target))
            level.records.remove(self.entry.name, self.segment)

    def publish(
        self,
        value: Any,
        reads: list[UpstreamRead],
        *,
        tag: str,
        verdicts: list[Verdict] | None = None,
    ) -> tuple[Record | None, Outcome | None]:
        """Store a result computed by Dagster at the root level, where plain calls recall it,
        once its checks pass (`verdicts`: audited already). No record when it was rejected."""
        levels = levels_for(self.catalog, self.entry)
        levels.memo.discard(self.memo_key)
        return self._write(levels.root, value, reads, tag=tag, verdicts=verdicts)

    def _write(
        self,
        level: Level,
        value: Any,
        reads: list[UpstreamRead],
        *,
        like: Record | None = None,
        tag: str | None = None,
        verdicts: list[Verdict] | None = None,
    ) -> tuple[Record | None, Outcome | None]:
        """Store the value and its record. A computed value is published through its entry's
        checks (no record when they reject it); `like`: the record of the same result at
        another level, whose data version the copy keeps (it was judged when computed)."""
        target = level.target(self.target)
        # Whatever the memo holds for this call is older than what is written now.
        levels_for(self.catalog, self.entry).memo.discard(self.memo_key)
        record = Record(
            entry=self.entry.name,
            function=self.function.qualified_name,
            key=self.key,
            segment=self.segment,
            arguments={name: canonical(value) for name, value in self.key_arguments.items()},
            namespace=self.namespace,
            version=self.function.version,
            format=str(self.entry.format),
            store=str(self.target.store),
            path=str(self.target.path),
            upstream=list(reads),
            is_null=value is None,
            complete=False,
            **({"data_version": like.data_version, "created_at": like.created_at} if like else {}),
        )
        # The object and its record are one step: the record says "being written" until the
        # object is published, so a writer killed in between leaves a record that reads as
        # interrupted (stale), never an object that passes for fresh under an older record.
        previous = level.records.read(self.entry.name, self.segment)
        level.records.write(record, self.segment)
        try:
            outcome = self._store_object(
                level, target, value, like=like, tag=tag, verdicts=verdicts
            )
        except BaseException:
            self._restore(level, previous)
            raise
        if outcome is not None and outcome.report is None:  # rejected: the previous one stays
            self._restore(level, previous)
            return None, outcome
        report = outcome.report if outcome is not None else None
        record = record.model_copy(
            update={
                "complete": True,
                "bytes_written": report.bytes_written if report else None,
                # a version's content is its data version: the same bytes again leave what
                # read them fresh
                **({"data_version": report.content_hash} if report and report.content_hash else {}),
            }
        )
        # The record says "being written" until its object is published: for a namespace
        # staged with the others of its run, once they all are (and back as it was, should
        # they not be).
        when_published(lambda: level.records.write(record, self.segment))
        if_not_published(lambda: self._restore(level, previous))
        return record, outcome

    def _store_object(
        self,
        level: Level,
        target: Target,
        value: Any,
        *,
        like: Record | None,
        tag: str | None,
        verdicts: list[Verdict] | None,
    ) -> Outcome | None:
        if value is None:
            level.storage.remove(target)
            return None
        if like is not None:
            return Outcome(self.entry, target, level.storage.save(target, value))
        tag = tag or plain_tag()
        # what a version's manifest records and its label may name, unless a step said
        keys = self.target.keys
        with writing_defaults(
            run_id=tag,
            code_version=self.function.version,
            partition="|".join(keys.values()) if keys else None,
        ):
            return publish(
                self.catalog,
                self.entry,
                value,
                tag=tag,
                target=target,
                storage=level.storage,
                verdicts=verdicts,
            )

    def _restore(self, level: Level, previous: Record | None) -> None:
        """Put the record back as it was before a write that did not publish."""
        if previous is None:
            level.records.remove(self.entry.name, self.segment)
        else:
            level.records.write(previous, self.segment)

    def _note(self, record: Record | None) -> None:
        if record is None:
            note_read(read_of(self.catalog, self.target))
            return
        note_read(
            UpstreamRead(
                entry=self.entry.name,
                format=str(self.entry.format),
                store=str(self.target.store),
                path=str(self.target.path),
                fingerprint=record.data_version,
                segment=record.segment,
            )
        )


@dataclass(frozen=True)
class CachedOutput:
    """A cached function's result on its way from a Dagster step to its IO manager."""

    call: Call
    value: Any
    reads: list[UpstreamRead]
