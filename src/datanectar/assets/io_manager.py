"""One Dagster IO manager per storage format, all over the same entry storage code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, get_origin

import dagster as dg
from pydantic import Field, PrivateAttr

from ..cache.records import RecordBook
from ..catalog import Entry
from ..config import ProjectConfig, ProjectNotFoundError, load_project
from ..errors import DatanectarError, DataNotFoundError, UnknownVersionError, did_you_mean
from ..formats import get_format
from ..formats.base import unknown_option, wants
from ..partitions import (
    NamespaceInputs,
    combine,
    load_partitions,
    partition_label,
    target_for,
)
from ..storage import EntryStorage, published_together
from ..stores import Store
from ..stores.registry import store_for_root
from ..targets import Target
from .features import chosen_for_users
from .metadata import (
    DEFAULTS_KEY,
    ENTRY_KEY,
    VERSION_KEY,
    current_object,
    entry_from_metadata,
    is_keyed,
    latest_materialization,
    materialization_metadata,
    raw_value,
)
from .partitions import keys_of
from .user_assets import asset_entry, asset_target

LOAD_AS_KEY = "datanectar/load_as"
PER_NAMESPACE_KEY = "datanectar/per_namespace"
"""On an input partitioned as its step is: a run over several namespaces gets each namespace's
upstream value for the namespace it computes (a single-run backfill), not all of them at once."""


PINS_CONFIG = "versions"
"""The key of a step's run config pinning its versioned inputs: `versions: {entry: label}`."""
LABEL_CONFIG = "version_label"
"""The key of a versioned entry's step config naming the label of the version it writes."""

PUBLISHED_KEY = "datanectar/published"
"""Set on the output of a step that published its value itself (write-audit-publish): the IO
manager then writes nothing, and the metadata of what was written is the output's own."""


def published(
    value: Any, metadata: dict[str, Any], *, data_version: str | None = None
) -> dg.Output:
    """The output of a step that already published `value`, carrying what it wrote (and, for a
    cached function's result, its record's data version: what plain calls judge staleness by,
    so that Dagster's staleness follows it too)."""
    with chosen_for_users():  # data_version is a beta parameter datanectar sets, not the user
        return dg.Output(
            value,
            metadata={**metadata, PUBLISHED_KEY: True},
            data_version=dg.DataVersion(data_version) if data_version else None,
        )


def io_manager_key(format_name: str) -> str:
    return f"datanectar_{format_name}_io_manager"


class FormatIOManager(dg.ConfigurableIOManager):
    """Writes and reads the assets of one storage format: catalog entries, in the project's
    stores, and any other Dagster asset given this IO manager, under `root` or `store`.

    A catalog entry's asset carries its whole declaration in its definition metadata, so only
    the project's store configuration is needed for it. Any other asset is stored at its key
    (`root/a/b.parquet` for asset `a/b`), each partition of a file format as one object
    (`root/a/b/<key>.parquet`), every partition of a table format in one table, its key in the
    column that the asset's `partition_expr` metadata names. `FormatIOManager(format=NAME,
    ...)` serves any format, a plug-in's too; `ParquetIOManager(...)` and its siblings name
    theirs.
    """

    format: str = Field(description="The storage format: csv, parquet, delta, zarr, ... .")
    root: str | None = Field(
        default=None,
        description="Where assets are stored: a folder (relative to the working directory) or "
        "a URI a store type serves (file:///...). Leave out to use `store`.",
    )
    store: str | None = Field(
        default=None,
        description="A store of the datanectar project ([tool.datanectar.stores.NAME] in its "
        "pyproject.toml) instead of `root`; its default store when neither is given.",
    )
    project_dir: str | None = Field(
        default=None,
        description="Folder of the datanectar project's pyproject.toml, for catalog entries "
        "and `store` (found from $DATANECTAR_PROJECT or above the working directory if left "
        "out).",
    )
    save_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the format's write call (to_csv, pyarrow.parquet."
        "write_table, write_deltalake, to_zarr, ...), checked against the library: as an "
        "entry's save_options.",
    )
    load_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the format's read call, checked against the "
        "library: as an entry's load_options.",
    )

    _storage: EntryStorage | None = PrivateAttr(default=None)
    _asset_storage: tuple[EntryStorage, str] | None = PrivateAttr(default=None)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if raw_value(context.output_metadata.get(PUBLISHED_KEY)):
            return
        metadata = context.definition_metadata
        if ENTRY_KEY not in (metadata or {}):
            if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
                self._save_partition_range(context, obj)
                return
            storage, target = self._asset_output(context)
            report = storage.save(target, obj)
            context.add_output_metadata(materialization_metadata(report))
            return
        entry = self._entry(metadata, context.asset_key)
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            if len(keys) != 1:
                raise _one_partition_per_run(entry.subject, entry.format, len(keys))
            target = target_for(entry, keys_of(entry, keys[0]))
        else:
            target = Target.of(entry)
        report = self._entry_storage().save(target, obj)
        context.add_output_metadata(materialization_metadata(report))

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        if upstream is None:
            raise DatanectarError(f"input '{context.name}' has no upstream asset to load.")
        metadata = upstream.definition_metadata
        if ENTRY_KEY not in (metadata or {}):
            return self._load_asset(context, upstream)
        entry = self._entry(metadata, upstream.asset_key)
        storage = self._entry_storage()
        load_as = raw_value((context.definition_metadata or {}).get(LOAD_AS_KEY))
        # the step's run config first: the launchpad's choice overrides the code's pin
        pinned = _pins_in_run_config(context).get(entry.name) or raw_value(
            (context.definition_metadata or {}).get(VERSION_KEY)
        )

        def target(partition: Mapping[str, str] | None) -> Target:
            return current_object(entry, metadata, partition=partition, instance=context.instance)[
                0
            ]

        def load(partition: Mapping[str, str] | None) -> Any:
            found, segment = current_object(
                entry, metadata, partition=partition, instance=context.instance
            )
            if segment is not None:
                record = RecordBook(storage.location(found).store).read(entry.name, segment)
                if record is not None and record.is_null:
                    return None
            try:
                return storage.load(found, as_type=load_as, version=pinned)
            except DataNotFoundError as exc:
                raise _not_found(exc, entry, partition, context.instance, metadata) from None

        if not context.has_asset_partitions:
            return load(None)
        partitions = [keys_of(entry, key) for key in context.asset_partition_keys]
        if len(partitions) == 1 and context.has_partition_key:
            return load(partitions[0])  # a partition of the step's own namespace
        input_metadata = context.definition_metadata or {}
        if raw_value(input_metadata.get(PER_NAMESPACE_KEY)) and not context.has_partition_key:
            return NamespaceInputs(storage, entry, load_as, objects=target)
        return load_partitions(storage, entry, partitions, as_type=load_as, objects=target)

    def _asset_output(self, context: dg.OutputContext) -> tuple[EntryStorage, Target]:
        storage, store = self._storage_for_assets()
        entry = self._asset_entry(context.asset_key, context.definition_metadata, store)
        if not context.has_asset_partitions:
            return storage, asset_target(entry, None, None, context.definition_metadata)
        keys = context.asset_partition_keys
        if len(keys) != 1:
            raise _one_partition_per_run(entry.subject, entry.format, len(keys))
        partitions_def = context.asset_partitions_def
        return storage, asset_target(entry, partitions_def, keys[0], context.definition_metadata)

    def _save_partition_range(self, context: dg.OutputContext, obj: Any) -> None:
        """A run over several partitions of a table asset (a single-run backfill): one frame
        holding them all, each row's partition in its partition column, as
        dagster-deltalake takes it. Each partition's rows replace that partition, all in one
        transaction; a partition of the range with no rows is stored empty."""
        storage, store = self._storage_for_assets()
        metadata = context.definition_metadata
        entry = self._asset_entry(context.asset_key, metadata, store)
        partitions_def = context.asset_partitions_def
        targets = {
            str(key): asset_target(entry, partitions_def, key, metadata)
            for key in context.asset_partition_keys
        }
        first = next(iter(targets.values()))
        if not first.in_place or (not hasattr(obj, "columns") and not hasattr(obj, "column_names")):
            raise _one_partition_per_run(entry.subject, entry.format, len(targets))
        rows = obj.to_pandas() if hasattr(obj, "column_names") else obj
        columns = list(first.keys or {})
        missing = [column for column in columns if column not in rows.columns]
        if missing:
            raise DatanectarError(
                f"{entry.subject}: one run writes {len(targets)} partitions, so its value holds "
                f"them all, each row's partition key in its column; the value has no column "
                f"{', '.join(missing)}. Fix: add it (the key of each row's partition), or run "
                "one partition per run."
            )
        by_key = {
            tuple(str(part) for part in (key if isinstance(key, tuple) else (key,))): group
            for key, group in rows.groupby(columns, sort=False, dropna=False)
        }
        wanted = {tuple(target.keys[column] for column in columns) for target in targets.values()}
        strays = sorted(set(by_key) - wanted)
        if strays:
            raise DatanectarError(
                f"{entry.subject}: rows of the value belong to partitions this run does not "
                f"write ({', '.join('|'.join(stray) for stray in strays[:5])}). Fix: return "
                "only the run's partitions' rows."
            )
        with published_together():
            for target in targets.values():
                key = tuple(target.keys[column] for column in columns)
                part = by_key.get(key, rows.iloc[0:0]).drop(columns=columns)
                report = storage.save(target, part.reset_index(drop=True))
        # Dagster records this metadata on each partition's materialization: what they share.
        context.add_output_metadata(
            {
                "dagster/uri": dg.MetadataValue.text(report.uri),
                "format": dg.MetadataValue.text(report.format),
                "partitions_written": dg.MetadataValue.int(len(targets)),
                "rows_written": dg.MetadataValue.int(len(rows)),
            }
        )

    def _load_asset(self, context: dg.InputContext, upstream: dg.OutputContext) -> Any:
        """An input whose upstream asset no catalog declares: its object, one partition's, or
        several partitions' as a dict by partition key (one value when the input's type is a
        DataFrame, an Arrow table or an xarray object)."""
        storage, store = self._storage_for_assets()
        metadata = upstream.definition_metadata
        entry = self._asset_entry(upstream.asset_key, metadata, store)
        as_type = _input_type(context)
        if not context.has_asset_partitions:
            return storage.load(asset_target(entry, None, None, metadata), as_type=as_type)
        partitions_def = context.asset_partitions_def
        targets = {
            str(key): asset_target(entry, partitions_def, key, metadata)
            for key in context.asset_partition_keys
        }
        if len(targets) == 1 and not wants(as_type, "builtins.dict"):
            return storage.load(next(iter(targets.values())), as_type=as_type)
        values = {label: storage.load(target, as_type=as_type) for label, target in targets.items()}
        keys = {label: dict(target.keys or {}) for label, target in targets.items()}
        return combine(
            values,
            entry,
            as_type=as_type,
            keys=keys,
            time_series=isinstance(partitions_def, dg.TimeWindowPartitionsDefinition),
        )

    def _asset_entry(self, key: dg.AssetKey, metadata: Any, store: str) -> Entry:
        return asset_entry(
            key,
            metadata,
            format_name=self.format,
            store=store,
            save_options=self.save_options,
            load_options=self.load_options,
        )

    def _storage_for_assets(self) -> tuple[EntryStorage, str]:
        """Where assets that no catalog declares are stored: `root`, or a project store."""
        if self._asset_storage is None:
            self._check_options()
            if self.root is not None and self.store is not None:
                raise self._config_error(
                    "both root and store are given", "give one: root (a folder or URI) or store"
                )
            own = self._own_store()
            if own is not None:
                self._asset_storage = (EntryStorage({own.name: own}), own.name)
            else:
                project = self._project()
                name = self.store or project.settings.default_store
                if name not in project.stores:
                    raise self._config_error(
                        f"store '{name}' is not configured in {project.pyproject}; stores: "
                        f"{', '.join(sorted(project.stores))}",
                        f"add [tool.datanectar.stores.{name}], or name a configured store",
                    )
                self._asset_storage = (self._entry_storage(), name)
            self._check_medium(*self._asset_storage)
        return self._asset_storage

    def _check_medium(self, storage: EntryStorage, name: str) -> None:
        """A file format in a database store is a configuration mistake, said before anything
        is written."""
        if get_format(self.format).medium == "filesystem" and not storage.store(name).holds_files:
            raise self._config_error(
                f"store '{name}' is a database and cannot hold {self.format} files",
                "give a store of files (or a root folder), or use SqlIOManager for tables",
            )

    def _own_store(self) -> Store | None:
        """The store this IO manager's own settings name (`root`), if they name one."""
        return store_for_root(self.root, name=self.root) if self.root is not None else None

    def _project(self) -> ProjectConfig:
        try:
            return load_project(self.project_dir)
        except ProjectNotFoundError as exc:
            if self.project_dir is not None or self.store is not None:
                raise
            raise self._config_error(
                f"no root is given, and there is no datanectar project to take a store from "
                f"({exc.problem.rstrip('.')})",
                f"give it a folder or URI: {type(self).__name__}(root='data/assets')",
            ) from None

    def _check_options(self) -> None:
        from ..formats import format_names

        if self.format not in format_names():
            raise self._config_error(
                f"unknown format '{self.format}'.{did_you_mean(self.format, format_names())}",
                f"use one of {', '.join(format_names())}",
            )
        fmt = get_format(self.format)
        refused = unknown_option(
            fmt, load_options=self.load_options, save_options=self.save_options
        )
        if refused is not None:
            field, name, allowed = refused
            raise self._config_error(
                f"{field} has '{name}', which format '{self.format}' does not take",
                f"use one of: {', '.join(sorted(allowed)) or '(none)'}",
            )

    def _config_error(self, problem: str, fix: str) -> DatanectarError:
        return DatanectarError(f"{type(self).__name__}: {problem}. Fix: {fix}.")

    def _entry(self, metadata: Any, asset_key: dg.AssetKey) -> Entry:
        entry = entry_from_metadata(metadata, asset_key)
        if entry.format != self.format:
            raise DatanectarError(
                f"entry '{entry.name}' has format '{entry.format}' but was given to the "
                f"'{self.format}' IO manager; use {io_manager_key(str(entry.format))}."
            )
        return entry

    def _entry_storage(self) -> EntryStorage:
        if self._storage is None:
            project = self._project()
            self._storage = EntryStorage(project.open_stores(), environment=project.environment)
        return self._storage


def _pins_in_run_config(context: dg.InputContext) -> Mapping[str, str]:
    """The `versions` a step's run config pins its inputs at ({} when it pins none)."""
    try:
        config = context.step_context.op_config
        inputs = set(context.step_context.op_def.ins)
    except Exception:  # a context built outside a run (a unit test's): no run config
        return {}
    pins = (config or {}).get(PINS_CONFIG) or {} if isinstance(config, Mapping) else {}
    strays = sorted(set(pins) - inputs)
    if strays:  # a typo would silently load the latest
        raise DatanectarError(
            f"run config of step '{context.step_context.op_def.name}': versions names "
            f"'{strays[0]}', which is none of its inputs.{did_you_mean(strays[0], inputs)} "
            f"Its inputs: {', '.join(sorted(inputs))}."
        )
    return pins


def _one_partition_per_run(subject: str, format_name: Any, count: int) -> DatanectarError:
    return DatanectarError(
        f"{subject}: one run wrote {count} partitions at once; format '{format_name}' writes "
        "one partition per run. Fix: backfill one run per partition."
    )


def _input_type(context: dg.InputContext) -> Any:
    """The type an input is annotated with (None when it is not)."""
    try:
        wanted = getattr(context.dagster_type, "typing_type", None)
    except dg.DagsterInvariantViolationError:  # a context built without one (a unit test's)
        return None
    if wanted is Any or wanted is object:
        return None
    origin = get_origin(wanted)
    return dict if isinstance(origin, type) and issubclass(origin, Mapping) else wanted


def _not_found(
    error: DataNotFoundError,
    entry: Entry,
    partition: Mapping[str, str] | None,
    instance: dg.DagsterInstance | None,
    metadata: Any = None,
) -> DataNotFoundError:
    """The missing-data error with a hint that holds: materializing is the fix only when this
    instance records no materialization of it; when it records one, the data went missing."""
    problem = str(error).split(" Fix: ")[0].rstrip(".")
    if entry.external or isinstance(error, UnknownVersionError):
        return error  # materializing cannot be the fix: nothing produces it, or a pin is wrong
    recorded = latest_materialization(entry, partition, instance)
    if recorded is None:
        home = (
            ""
            if os.environ.get("DAGSTER_HOME")
            else " (DAGSTER_HOME is not set: each Dagster command starts with an empty instance)"
        )
        defaults = raw_value((metadata or {}).get(DEFAULTS_KEY)) if is_keyed(metadata) else None
        if defaults is not None:
            shown = ", ".join(f"{k}={v!r}" for k, v in getattr(defaults, "data", defaults).items())
            problem += (
                f", the result of its default cache arguments ({shown}): with no "
                "materialization recorded, that is what it means (results for other arguments "
                "are remembered only by an instance that outlives the command)"
            )
        return DataNotFoundError(
            f"{problem}. No materialization of it is recorded in this Dagster instance{home}. "
            f"Fix: materialize it first (dagster asset materialize --select {entry.name}"
            + (f" --partition {partition_label(partition)}" if partition else "")
            + "), in the same run or with DAGSTER_HOME set."
        )
    uri = raw_value(recorded.metadata.get("dagster/uri"))
    return DataNotFoundError(
        f"{problem}. This Dagster instance records a materialization of it"
        + (f" (written to {uri})" if uri else "")
        + ", but its data is no longer there: it was removed or moved since. Fix: "
        "materialize it again, or restore the data."
    )
