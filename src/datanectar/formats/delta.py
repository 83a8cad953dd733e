"""Delta Lake through deltalake: transactional, so written in place and readable by any reader."""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import random
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..stores import Location
from .base import Absent, Format, PendingCommit, Refused, parameter_names, require, wants
from .delta_leftovers import STAGED_PREFIX, remove_delta_leftovers
from .delta_tables import OpenTables
from .delta_versions import (
    Version,
    commit_adds,
    commits,
    moment,
    not_found,
    readable_from,
    version_at,
    version_number,
)
from .table_values import (
    index_columns,
    require_same_columns,
    restore_index,
    with_index_columns,
)

if TYPE_CHECKING:
    from ..targets import Slice

_READ_OPTIONS = frozenset({"version", "columns", "filters", "partitions"})


class DeltaFormat(Format):
    name = "delta"
    suffix = ""
    writes = ("pandas.DataFrame", "pyarrow.Table")
    extra = "delta"
    transactional = True
    data_kind = "table"
    reports_absence = True

    def __init__(self) -> None:
        self._deltalake = require("deltalake", extra=self.extra, purpose="The delta format")

    def accepts(self, value: Any) -> bool:
        import pandas as pd
        import pyarrow as pa

        return isinstance(value, pd.DataFrame | pa.Table)

    def keeps_partitions_in_place(self, dimensions: Sequence[Any], path: str) -> bool:
        return True  # every namespace is a partition of one table, its keys as columns

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        settings = {"mode": "overwrite", **options, "configuration": _configuration(options)}
        if settings["mode"] == "overwrite" and "predicate" not in settings:
            # Replacing the whole table means replacing its schema too, as a file would.
            settings.setdefault("schema_mode", "overwrite")
        with self._current(location) as table:
            self._deltalake.write_deltalake(
                location.uri if table is None else table,
                _arrow(value),
                storage_options=location.object_store_options or None,
                **settings,
            )

    def splits_writes(self, options: Mapping[str, Any]) -> bool:
        # A whole-table overwrite, the default; appends, predicates and table options are
        # written in one go.
        return dict(options) in ({}, {"mode": "overwrite"})

    def write_uncommitted(
        self, value: Any, location: Location, *, options: Mapping[str, Any]
    ) -> PendingCommit:
        """The new version's data files, written by deltalake as a table of their own in a
        subfolder of the table; committing adds them to the table (and removes the current
        files) in one transaction, as an overwrite would."""
        return self._stage(_arrow(value), location)

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        settings = dict(options)
        with self._current(location, settings.pop("version", None)) as table:
            if table is None:
                raise Absent(location.uri)
            arrow = table.to_pyarrow_table(**settings)
        return arrow if wants(as_type, "pyarrow.Table") else restore_index(arrow)

    def read_version(
        self,
        location: Location,
        version: Version,
        *,
        options: Mapping[str, Any],
        as_type: Any = None,
    ) -> Any:
        """The table as it was at `version`: a version number (an int, or text of digits), or
        a timestamp (ISO text or a datetime; UTC when it names no offset), which means the
        latest version committed at or before it. Read as `read` reads (the entry's load
        options apply; a `version` among them is overridden). A version the table does not
        have is a DataNotFoundError naming the versions it has."""
        number = version_number(version)
        if number is None:
            when = moment(version, location.uri)  # type: ignore[arg-type]
            number = version_at(self._versions(location), when, location.uri)
        else:
            current = self.current_version(location)
            if current is None:
                raise _no_table(location)
            if not 0 <= number <= current:
                versions = self._versions(location)
                first = readable_from(location, versions) if versions[-1]["version"] else None
                raise not_found(location.uri, number, versions, readable=first)
        from deltalake.exceptions import DeltaError

        try:
            return self.read(location, options={**options, "version": number}, as_type=as_type)
        except DeltaError:
            versions = self._versions(location)
            if not versions or versions[-1]["version"] == 0:
                raise  # not the version's absence: the storage layer names the entry
            # The log's first commits were cleaned up (after a checkpoint): versions are
            # readable from the first checkpoint left on.
            first = readable_from(location, versions)
            if first is not None and number >= first:
                raise  # readable, and yet failed: the storage layer names the entry
            raise not_found(location.uri, number, versions, readable=first) from None

    def history(self, location: Location, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The table's versions, newest first (see `delta_versions.commits`): `version`,
        `timestamp` (ISO, UTC), `operation`, and `rows`, `bytes` and `partition` where its
        commit tells them; the `limit` latest only, if given. No table: an empty list."""
        with self._current(location) as table:
            if table is None:
                return []
            raw = table.history(limit)
        return commits(raw, lambda number: commit_adds(location, number))

    def current_version(self, location: Location) -> int | None:
        """The table's latest version (None: no table), from the table this process keeps
        open (brought up to date by one look at the log)."""
        with self._current(location) as table:
            return None if table is None else int(table.version())

    def _versions(self, location: Location) -> list[dict[str, Any]]:
        """Version numbers and timestamps only (no commit file read again); no table is an
        error."""
        with self._current(location) as table:
            if table is None:
                raise _no_table(location)
            raw = table.history()
        return commits(raw, lambda number: None)

    def write_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> None:
        """Replace one partition in one transaction. Its data is written apart first (as a
        staged table inside the table's folder), then committed with the removal of that
        partition's current files only: the others are neither rewritten nor scanned, and
        the cost does not grow with the number of partitions (deltalake's predicate
        overwrite evaluates its predicate against every file of the table)."""
        pending = self.stage_partition(value, location, part, options=options)
        try:
            pending.commit()
        except BaseException:
            pending.discard()
            raise

    def stage_partition(
        self, value: Any, location: Location, part: Slice, *, options: Mapping[str, Any]
    ) -> _StagedDeltaFiles:
        """One partition's data files, written apart inside the table and checked against
        its schema, not committed."""
        partition = part.keys
        data = _with_partition_columns(_arrow(value), partition)
        with self._current(location) as table:
            if table is not None:
                data = _in_table_types(table, data, partition)
        settings = {
            key: option
            for key, option in options.items()
            if key not in ("mode", "predicate", "partition_by")
        }
        return self._stage(data, location, partition=partition, options=settings)

    def commit_partitions(self, location: Location, pending: Sequence[Any]) -> None:
        """Staged partitions in one commit: their new files added, their current files
        removed, the table's other partitions untouched. Keys over several dimensions that
        are not every combination of their values cannot be named by one partition filter
        (deltalake takes a conjunction): those are committed one by one."""
        staged = list(pending)
        if not staged:
            return
        filters = _batch_filters([part._partition or {} for part in staged])
        if filters is None:
            for part in staged:
                part.commit()
            return
        combined = [part.contents() for part in staged]
        schemas = {schema.to_json() for schema, _ in combined}
        if len(schemas) > 1:
            raise Refused(
                "the namespaces written together have different columns or types, and one "
                "table holds them all. Fix: return the same columns, in the same types, for "
                "every namespace"
            )
        actions = [action for _, part_actions in combined for action in part_actions]
        staged[0].commit_with(combined[0][0], actions, filters)
        for part in staged[1:]:
            part.committed_with_first()

    def _stage(
        self,
        data: Any,
        location: Location,
        *,
        partition: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> _StagedDeltaFiles:
        folder = f"{STAGED_PREFIX}{uuid.uuid4().hex}"
        staged = location.inside(folder)
        if partition and data.num_rows == 0:
            return self._stage_empty(data, location, staged, folder, partition)
        self._deltalake.write_deltalake(
            staged.uri,
            data,
            mode="overwrite",
            partition_by=list(partition) if partition else None,
            storage_options=location.object_store_options or None,
            **{key: option for key, option in (options or {}).items() if key != "configuration"},
        )
        return _StagedDeltaFiles(self._deltalake, location, staged, folder, partition)

    def _stage_empty(
        self,
        data: Any,
        location: Location,
        staged: Location,
        folder: str,
        partition: Mapping[str, str],
    ) -> _StagedDeltaFiles:
        """An empty partition is a value too: deltalake writes no file for no rows (so the
        partition would read as missing), so one data file of no rows is written for it, and
        committed as deltalake's own files are."""
        import time

        import pyarrow.parquet as pq
        from deltalake.transaction import AddAction

        name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
        path = posixpath.join(staged.path, name)
        staged.fs.makedirs(staged.path, exist_ok=True)
        with staged.fs.open(path, "wb") as handle:
            pq.write_table(data.drop_columns(list(partition)), handle)
        action = AddAction(
            path=f"{folder}/{name}",
            size=int(staged.fs.size(path)),
            partition_values=dict(partition),
            modification_time=int(time.time() * 1000),
            data_change=True,
            stats=json.dumps({"numRecords": 0}),
        )
        files = (self._deltalake.Schema.from_arrow(data.schema), [action])
        return _StagedDeltaFiles(self._deltalake, location, staged, folder, partition, files)

    def read_partition(
        self, location: Location, part: Slice, *, options: Mapping[str, Any], as_type: Any
    ) -> Any:
        partition = part.keys
        settings = dict(options)
        pruning = [(name, "=", key) for name, key in partition.items()]
        with self._current(location, settings.pop("version", None)) as table:
            if table is None or not set(partition) <= set(table.metadata().partition_columns):
                raise Absent(location.uri)  # no table, or none partitioned this way
            # The partition's files are chosen from the table's state: the others are never
            # opened, nor even listed as dataset fragments. The entry's filters apply to rows.
            extra = [tuple(item) for item in settings.pop("partitions", None) or []]
            dataset = table.to_pyarrow_dataset(file_pruning_predicate=pruning + extra)
            if not dataset.files and (
                not extra or not table.to_pyarrow_dataset(file_pruning_predicate=pruning).files
            ):
                raise Absent(f"{location.uri} {dict(partition)}")  # no file: no partition
        arrow = dataset.to_table(
            columns=settings.pop("columns", None), filter=_row_filter(settings.pop("filters", None))
        )
        arrow = arrow.drop_columns([name for name in partition if name in arrow.column_names])
        return arrow if wants(as_type, "pyarrow.Table") else restore_index(arrow)

    def partition_exists(self, location: Location, part: Slice) -> bool:
        partition = part.keys
        with self._current(location) as table:
            return table is not None and _holds(table, partition)

    def remove_partition(self, location: Location, part: Slice) -> None:
        """One transaction removing that partition's files (its predicate names partition
        columns only, so no data file is read or rewritten)."""
        self.remove_partitions_with(location, part.keys)

    def remove_partitions_with(self, location: Location, keys: Mapping[str, str]) -> bool:
        """One transaction removing the files of every partition whose columns hold `keys`
        (one dimension of two: each of its namespaces, whatever the other key), found from
        the table's state and deleted by a predicate on partition columns only."""
        with self._current(location) as table:
            if table is None or not _holds(table, keys):
                return False
            table.delete(partition_predicate(keys))
            emptied = not table.file_uris()
        if emptied:  # the last namespace gone: no empty table left behind, as for a file
            self.remove(location)
        return True

    def exists(self, location: Location) -> bool:
        with self._current(location) as table:
            return table is not None

    def fingerprint(self, location: Location) -> str | None:
        # The table is written in place, so its folder's stat does not change; each commit adds
        # a log file. Version numbers restart when a table is removed and written anew, so the
        # log file's own fingerprint (a new file each time) is part of it.
        with self._current(location) as table:
            if table is None:
                return None
            version = table.version()
        return f"delta-v{version}-{_TABLES.token(location, version)}"

    def partition_fingerprint(self, location: Location, part: Slice) -> str | None:
        """The data files of that partition (named anew by every write of it): writes of the
        table's other partitions leave it as it is."""
        partition = part.keys
        pruning = [(name, "=", key) for name, key in partition.items()]
        with self._current(location) as table:
            if table is None:
                return None
            files = sorted(table.to_pyarrow_dataset(file_pruning_predicate=pruning).files)
        if not files:
            return None
        return "delta-files-" + hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]

    def written_bytes(self, location: Location) -> int | None:
        """Bytes of the data files the latest commit added (its log lists them with sizes)."""
        with self._current(location) as table:
            version = table.version()
        return sum(int(add.get("size", 0)) for add in _commit_actions(location, version, "add"))

    def remove(self, location: Location) -> None:
        _TABLES.forget(location)
        super().remove(location)

    def remove_leftovers(
        self,
        location: Location,
        *,
        older_than: float,
        part: Slice | None = None,
    ) -> list[str]:
        """What a killed writer left inside the table (see `delta_leftovers`)."""
        return remove_delta_leftovers(
            location, older_than=older_than, partition=part.keys if part else None
        )

    def load_option_names(self) -> frozenset[str]:
        return _READ_OPTIONS

    @contextmanager
    def _current(self, location: Location, version: Any = None) -> Iterator[Any]:
        """The table as it is now (kept open in this process), or at `version` (opened for
        this read); None when there is no table."""
        if version is None:
            with _TABLES.current(self._deltalake, location) as table:
                yield table
            return
        if not self._deltalake.DeltaTable.is_deltatable(
            location.uri, storage_options=location.object_store_options or None
        ):
            yield None
            return
        yield self._deltalake.DeltaTable(
            location.uri, version=version, storage_options=location.object_store_options or None
        )

    def save_option_names(self) -> frozenset[str]:
        return parameter_names(
            self._deltalake.write_deltalake, exclude={"table_or_uri", "data", "storage_options"}
        )


class _StagedDeltaFiles:
    """Data files under the table, referenced by no commit of it yet. Committed, they replace
    the whole table, or only the partition `partition` names."""

    def __init__(
        self,
        deltalake: Any,
        table: Location,
        staged: Location,
        folder: str,
        partition: Mapping[str, str] | None = None,
        files: tuple[Any, list[Any]] | None = None,
    ) -> None:
        self._deltalake = deltalake
        self._files = files
        """The schema and add actions to commit, when they are not a staged table's own."""
        self._table = table
        self._staged = staged
        self._folder = folder
        self._partition = dict(partition) if partition else None
        self._committed = False

    def contents(self) -> tuple[Any, list[Any]]:
        """The schema and add actions this staging commits."""
        if self._files is None:
            self._files = self._staged_table()
        return self._files

    def commit(self) -> None:
        schema, actions = self.contents()
        filters = (
            [(name, "=", key) for name, key in self._partition.items()] if self._partition else None
        )
        self.commit_with(schema, actions, filters)

    def committed_with_first(self) -> None:
        """Committed by another staging's transaction (`commit_partitions`)."""
        self._committed = True
        self._drop_staged_log()

    def commit_with(self, schema: Any, actions: list[Any], filters: list[Any] | None) -> None:
        """Commit `actions` (this staging's, or several partitions' together), replacing
        the files `filters` match (None: the whole table's)."""
        from deltalake.exceptions import CommitFailedError, DeltaError

        # Optimistic concurrency: another writer committing meanwhile (another partition of
        # the same table, say, from another process) makes this commit fail; it is made again
        # over the table as it then is. Each attempt removes the files the filters match in
        # that state, so disjoint partitions both land and a same partition's last writer wins.
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                self._commit_once(schema, actions, filters)
                break
            except (CommitFailedError, DeltaError) as exc:
                if attempt == _COMMIT_ATTEMPTS - 1 or not _conflicted(exc):
                    raise
                jitter = 1 + random.random()  # noqa: S311 - spreads retries, not a secret
                time.sleep(0.05 * (attempt + 1) * jitter)
        self._committed = True
        self._drop_staged_log()

    def _commit_once(self, schema: Any, actions: list[Any], filters: list[Any] | None) -> None:
        from deltalake.transaction import create_table_with_add_actions

        options = self._table.object_store_options or None
        partition_by = list(self._partition) if self._partition else None
        with _TABLES.current(self._deltalake, self._table) as table:
            if table is None:
                create_table_with_add_actions(
                    self._table.uri,
                    schema,
                    actions,
                    # A partition never replaces a table another writer created meanwhile: it
                    # fails, and is committed again as a partition of that table.
                    mode="error" if filters else "overwrite",
                    partition_by=partition_by,
                    configuration={"delta.checkpointInterval": _CHECKPOINT_INTERVAL},
                    storage_options=options,
                )
            else:
                # Only the partition's files are removed (their list comes from the table's
                # state, whatever its size), the others untouched.
                table.create_write_transaction(
                    actions,
                    mode="overwrite",
                    schema=schema,
                    partition_by=partition_by,
                    partition_filters=filters,
                )

    def _drop_staged_log(self) -> None:
        # The files stay where they are, now the table's; the staging table's log goes (if it
        # cannot, it is harmless: readers of the table never look in there).
        with contextlib.suppress(OSError):
            self._staged.fs.rm(posixpath.join(self._staged.path, "_delta_log"), recursive=True)

    @property
    def bytes_written(self) -> int:
        return sum(int(action.size) for action in self.contents()[1])

    def _staged_table(self) -> tuple[Any, list[Any]]:
        """The schema and data files of the staged table: its first commit (no need to open
        it)."""
        from deltalake.transaction import AddAction

        first = _commit_actions(self._staged, 0, None)
        schema = self._deltalake.Schema.from_json(
            next(action["metaData"] for action in first if "metaData" in action)["schemaString"]
        )
        actions = [
            AddAction(
                # The log holds paths percent-encoded; an action takes them as they are.
                path=f"{self._folder}/{unquote(add['path'])}",
                size=int(add["size"]),
                partition_values=add.get("partitionValues") or {},
                modification_time=int(add["modificationTime"]),
                data_change=True,
                stats=add.get("stats") or "",
            )
            for add in (action["add"] for action in first if "add" in action)
        ]
        return schema, actions

    def discard(self) -> None:
        if not self._committed and self._staged.fs.exists(self._staged.path):
            self._staged.fs.rm(self._staged.path, recursive=True)


def _commit_actions(location: Location, version: int, kind: str | None) -> list[dict[str, Any]]:
    """The actions of one commit of a table's log: those of `kind` (`add`, ...), or all."""
    commit = posixpath.join(location.path, "_delta_log", f"{version:020d}.json")
    with location.fs.open(commit, "rb") as handle:
        actions = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    return actions if kind is None else [action[kind] for action in actions if kind in action]


_TABLES = OpenTables()


_COMMIT_ATTEMPTS = 10


def _conflicted(exc: Exception) -> bool:
    """Whether a failed commit lost a race with another writer (worth making again)."""
    from deltalake.exceptions import CommitFailedError

    told = str(exc).lower()
    return isinstance(exc, CommitFailedError) or "already exists" in told or "concurrent" in told


_CHECKPOINT_INTERVAL = "10"
"""Commits between checkpoints of the tables datanectar creates (deltalake's default is 100):
a process opening a table replays at most this many commit files after the last checkpoint,
which keeps the first open in each Dagster step cheap when one commit lands per partition."""


def _configuration(options: Mapping[str, Any]) -> dict[str, str | None]:
    """The table properties a new table gets: the checkpoint interval, unless the entry's
    `configuration` save option says otherwise (properties apply when a table is created)."""
    return {
        "delta.checkpointInterval": _CHECKPOINT_INTERVAL,
        **(options.get("configuration") or {}),
    }


def _holds(table: Any, partition: Mapping[str, str]) -> bool:
    """Whether the table has data files of that partition (from its state: no file is read)."""
    if not set(partition) <= set(table.metadata().partition_columns):
        return False
    return bool(
        table.partitions(
            file_pruning_predicate=[(name, "=", key) for name, key in partition.items()]
        )
    )


def partition_predicate(partition: Mapping[str, str]) -> str:
    """`dim = 'key' AND ...`, quoted: names are identifiers and keys are checked, but quoting
    does not rely on that."""
    return " AND ".join(
        f"\"{name}\" = '{key.replace(chr(39), chr(39) * 2)}'" for name, key in partition.items()
    )


def _row_filter(given: Any) -> Any:
    """The `filters` load option (tuples in disjunctive normal form, or a pyarrow expression)
    as the expression a dataset scan takes."""
    if given is None or not isinstance(given, list | tuple):
        return given
    from pyarrow.parquet import filters_to_expression

    def as_tuples(items: Any) -> Any:
        return [
            as_tuples(item) if isinstance(item[0], list | tuple) else tuple(item) for item in items
        ]

    return filters_to_expression(as_tuples(given))


def _arrow(value: Any) -> Any:
    """An Arrow table of the value; a DataFrame's informative index kept as marked columns, as
    `write_deltalake` keeps it, so that a load restores it."""
    import pyarrow as pa

    return value if isinstance(value, pa.Table) else with_index_columns(value)


def _batch_filters(partitions: list[Mapping[str, str]]) -> list[Any] | None:
    """One conjunction of partition filters naming exactly these partitions (each dimension
    `in` its keys), or None when no conjunction does (keys over several dimensions that are
    not every combination of their values)."""
    if not partitions or not partitions[0]:
        return None
    names = list(partitions[0])
    values = {name: sorted({part[name] for part in partitions}) for name in names}
    combinations = 1
    for keys in values.values():
        combinations *= len(keys)
    distinct = {tuple(part[name] for name in names) for part in partitions}
    if len(distinct) != combinations:
        return None
    return [(name, "in", keys) for name, keys in values.items()]


def _in_table_types(table: Any, data: Any, partition: Mapping[str, str]) -> Any:
    """`data` (one partition's rows) in the table's own schema: a partition write commits the
    schema it is written with, so any other schema would change the table under its other
    partitions (dropping their columns, or narrowing their types)."""
    import pyarrow as pa

    _require_table_columns(table, data, partition)
    table_schema = pa.schema(table.schema().to_arrow())
    target = pa.schema([table_schema.field(name) for name in data.column_names])
    try:
        return data.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise Refused(
            f"its values do not fit the table's column types exactly ({exc}). Fix: return the "
            "columns in the table's types, or rewrite every partition"
        ) from None


def _require_table_columns(table: Any, data: Any, partition: Mapping[str, str]) -> None:
    """A partition is written with the columns, index levels and types of the table's other
    partitions (or types whose values those keep exactly)."""
    partitioned_by = list(table.metadata().partition_columns)
    if sorted(partitioned_by) != sorted(partition):
        raise Refused(
            f"the table there is {'partitioned by ' + ', '.join(partitioned_by) if partitioned_by else 'not partitioned'}"
            f", and this writes one partition by {', '.join(partition)}: replacing it would "
            "replace other rows too. Fix: store the partitioned asset at another path, or "
            "remove the table first (it was written another way)"
        )
    stored = [field.name for field in table.schema().fields]
    given = list(data.column_names)
    kept, offered = index_columns(table.schema()), index_columns(data.schema)
    if kept != offered:
        raise Refused(
            f"the table's partitions keep the index levels {kept or '(none)'}, and this value's "
            f"index would be kept as {offered or '(none: 0..n-1)'}. Fix: give every partition "
            "the same index (value.reset_index(drop=True) when it holds row positions only, "
            "as after filtering), or rewrite every partition"
        )
    require_same_columns(stored, given)
    import pyarrow as pa

    table_types = pa.schema(table.schema().to_arrow())
    for name in given:
        if name in partition:
            continue
        wanted, offered = table_types.field(name).type, data.schema.field(name).type
        if not _fits(offered, wanted):
            raise Refused(
                f"column '{name}' is {wanted} in the table and {offered} in this value: "
                "storing it in the table's type could change its values (a partition write "
                "casts into the table's schema). Fix: return the column as "
                f"{wanted}, or rewrite every partition with the new type"
            )


def _fits(offered: Any, wanted: Any) -> bool:
    """Whether values of Arrow type `offered` are kept exactly in a table column of `wanted`:
    the same type (string and large_string alike), a wider integer or float, a timestamp of
    the same time zone (Delta keeps microseconds), or a column of nulls only."""
    import pyarrow as pa

    types = pa.types
    if offered == wanted or types.is_null(offered):
        return True
    if types.is_dictionary(offered):  # a pandas categorical: its values are stored
        return _fits(offered.value_type, wanted)
    for family in (
        (types.is_string, types.is_large_string, types.is_string_view),
        (types.is_binary, types.is_large_binary),
    ):
        if any(test(offered) for test in family) and any(test(wanted) for test in family):
            return True
    if types.is_integer(offered) and types.is_integer(wanted):
        same_sign = types.is_signed_integer(offered) == types.is_signed_integer(wanted)
        unsigned_into_wider = types.is_unsigned_integer(offered) and types.is_signed_integer(wanted)
        return (same_sign and offered.bit_width <= wanted.bit_width) or (
            unsigned_into_wider and offered.bit_width < wanted.bit_width
        )
    if types.is_floating(offered) and types.is_floating(wanted):
        return offered.bit_width <= wanted.bit_width
    if types.is_timestamp(offered) and types.is_timestamp(wanted):
        return (offered.tz is None) == (wanted.tz is None)
    if types.is_list(offered) or types.is_large_list(offered):
        return (types.is_list(wanted) or types.is_large_list(wanted)) and _fits(
            offered.value_type, wanted.value_type
        )
    return False


def _with_partition_columns(table: Any, partition: Mapping[str, str]) -> Any:
    """The keys as string columns, so the table is partitioned by them and each partition's
    rows say which namespace they belong to (a same-named column of the value is replaced only
    when it holds that key throughout: else data would be lost)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    levels = index_columns(table.schema)
    for name, key in partition.items():
        if name in levels:
            raise Refused(
                f"index level '{name}' has the name of the partition column '{name}', which "
                "holds the key. Fix: rename the index level (value.index.names = [...])"
            )
        if name in table.column_names:
            column = table.column(name)
            same = column.null_count == 0 and pc.all(pc.equal(column.cast(pa.string()), key))
            if table.num_rows and not same.as_py():
                raise Refused(
                    f"column '{name}' of the value holds values other than its partition key "
                    f"{key!r}, and the table keeps that partition's key in column '{name}'. "
                    "Fix: rename the column, or keep only that partition's rows in it"
                )
            table = table.drop_columns([name])
        table = table.append_column(name, pa.array([key] * table.num_rows, type=pa.string()))
    return table


def _no_table(location: Location) -> Exception:
    from ..errors import DataNotFoundError

    return DataNotFoundError(
        f"no Delta table at {location.uri}, so none of its versions. Fix: write it first"
    )
