"""Jobs and schedules datanectar defines for a project: the checks of its sources.

Entries nothing produces are sources: their checks read the stored data. A Dagster job takes
one partitions definition, so the checks are grouped by it:

- `source_checks` runs those of every unpartitioned source;
- `source_checks__<dimensions>` (e.g. `source_checks__city`, `source_checks__city__date`) runs
  those of the sources partitioned alike, one partition per run, named by the run's
  `dagster/partition` tag: `dagster job execute -f definitions.py -j source_checks__city --tags
  '{"dagster/partition": "paris"}'`, or the launchpad with that tag. (Dagster gives a job of
  checks alone no partitions definition of its own, even one declared: it takes it from the
  assets a job materializes. So the tag names the partition, and the checks validate it.)

With `source_checks_schedule` set, each job gets a schedule on that cron (`<job>_schedule`):
an unpartitioned job runs once per tick, a partitioned one once per partition due: every key of
its static and dynamic dimensions, and for a time dimension the last period complete at the
tick (Dagster's own `end_offset` counted), as Dagster's partitioned schedules request.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg

from ..catalog import Entry
from ..checks.audit import check_names
from ..errors import ConfigError
from ..project import Catalog
from .partitions import partitions_def

SOURCE_CHECKS_JOB = "source_checks"
SOURCE_CHECKS_SCHEDULE = "source_checks_schedule"


@dataclass(frozen=True)
class Cron:
    """When a schedule ticks, and where its cron was set (for errors)."""

    cron: str
    file: str
    field: str
    timezone: str | None = None
    running: bool = False


def source_checks(
    catalog: Catalog, schedule: Cron | None = None
) -> tuple[list[dg.UnresolvedAssetJobDefinition], list]:
    """The source-checks jobs (one per partitions definition the checked sources have) and
    their schedules: `schedule` (automation.yaml's `schedules.source_checks`) or the
    `source_checks_schedule` setting."""
    sources = [
        entry
        for entry in catalog.entries.values()
        if entry.name not in catalog.producers and check_names(entry)
    ]
    setting = catalog.config.settings.source_checks_schedule
    if setting is not None:
        if schedule is not None:
            raise ConfigError(
                file=catalog.config.pyproject,
                field="tool.datanectar.source_checks_schedule",
                problem=f"the source checks are scheduled twice: here and in {schedule.file} "
                f"({schedule.field}).",
                fix="keep one of them.",
            )
        schedule = Cron(
            setting, str(catalog.config.pyproject), "tool.datanectar.source_checks_schedule"
        )
    if not sources and schedule is not None:
        raise ConfigError(
            file=schedule.file,
            field=schedule.field,
            problem="a schedule is set, but no entry that nothing produces has checks: the "
            "source-checks jobs would have nothing to run.",
            fix="declare checks on a source entry, or remove the setting.",
        )
    jobs, schedules = [], []
    for name, partitions, entries in _groups(sources):
        job = dg.define_asset_job(
            name,
            selection=dg.AssetSelection.checks_for_assets(*(dg.AssetKey(e.name) for e in entries)),
            description="Runs the checks of the entries nothing produces, on their stored data"
            + (
                f" (partitioned by {_dimensions(entries[0])}: one partition per run, named by "
                "the run's dagster/partition tag)."
                if partitions
                else "."
            ),
        )
        jobs.append(job)
        if schedule is not None:
            name = SOURCE_CHECKS_SCHEDULE if partitions is None else f"{job.name}_schedule"
            schedules.append(job_schedule(name, job, partitions, schedule))
    return jobs, schedules


def _groups(
    sources: list[Entry],
) -> Iterator[tuple[str, dg.PartitionsDefinition | None, list[Entry]]]:
    """The sources grouped by partitions definition, each group with its job's name: named by
    its dimensions, and by its first entry too when other dimensions share those names."""
    groups: list[tuple[dg.PartitionsDefinition | None, list[Entry]]] = []
    for entry in sorted(sources, key=lambda e: e.name):
        partitions = partitions_def(entry)
        for known, members in groups:
            if known == partitions:
                members.append(entry)
                break
        else:
            groups.append((partitions, [entry]))
    taken: set[str] = set()
    for partitions, members in groups:
        if partitions is None:
            name = SOURCE_CHECKS_JOB
        else:
            name = partitioned_job_name(members[0])
            if name in taken:
                name = f"{name}__{members[0].name}"
        taken.add(name)
        yield name, partitions, members


def partitioned_job_name(entry: Entry) -> str:
    """`source_checks__<dimensions>`: the job of a partitioned source's checks (suffixed by
    its group's first entry when other dimensions share those names)."""
    return f"{SOURCE_CHECKS_JOB}__{_dimensions(entry, joiner='__')}"


def _dimensions(entry: Entry, joiner: str = ", ") -> str:
    return joiner.join(dimension.name for dimension in entry.namespaces or [])


def job_schedule(
    name: str,
    job: dg.UnresolvedAssetJobDefinition,
    partitions: dg.PartitionsDefinition | None,
    when: Cron,
) -> dg.ScheduleDefinition:
    """A schedule of `job` on `when`: one run per tick, or for a partitioned job one run per
    partition due at the tick."""
    status = dg.DefaultScheduleStatus.RUNNING if when.running else dg.DefaultScheduleStatus.STOPPED
    try:
        if partitions is None:
            return dg.ScheduleDefinition(
                name=name,
                job=job,
                cron_schedule=when.cron,
                execution_timezone=when.timezone,
                default_status=status,
            )

        @dg.schedule(
            name=name,
            job=job,
            cron_schedule=when.cron,
            execution_timezone=when.timezone,
            default_status=status,
        )
        def each_partition_due(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
            tick = context.scheduled_execution_time
            for key in _keys_due(partitions, context):
                yield dg.RunRequest(run_key=f"{key}@{tick.isoformat()}", tags=partition_tags(key))

        return each_partition_due
    except dg.DagsterInvalidDefinitionError as exc:
        raise ConfigError(
            file=when.file,
            field=when.field,
            problem=f"{when.cron!r} is not a cron schedule ({exc}).",
            fix="write five cron fields, e.g. '0 6 * * *' for every day at 06:00.",
        ) from None


def partition_tags(key: str | dg.MultiPartitionKey) -> dict[str, str]:
    """The tags naming a run's partition, as Dagster tags a partitioned run (one per dimension
    too, for a multi-partition key)."""
    tags = {"dagster/partition": str(key)}
    if isinstance(key, dg.MultiPartitionKey):
        for dimension, part in key.keys_by_dimension.items():
            tags[f"dagster/partition/{dimension}"] = part
    return tags


def _keys_due(partitions: dg.PartitionsDefinition, context: dg.ScheduleEvaluationContext) -> list:
    """The partitions a tick checks: every static and dynamic key, the time dimension's last
    complete period (none before its first one ends)."""
    if isinstance(partitions, dg.MultiPartitionsDefinition):
        per_dimension = [
            _keys_due(dimension.partitions_def, context) for dimension in partitions.partitions_defs
        ]
        names = [dimension.name for dimension in partitions.partitions_defs]
        return [
            dg.MultiPartitionKey(dict(zip(names, keys, strict=True)))
            for keys in itertools.product(*per_dimension)
        ]
    with dg.partition_loading_context(
        effective_dt=context.scheduled_execution_time, dynamic_partitions_store=context.instance
    ):
        if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
            last = partitions.get_last_partition_key()
            return [last] if last is not None else []
        return list(partitions.get_partition_keys())
