"""Jobs and schedules datanectar defines for a project: the checks of its sources.

Entries nothing produces are sources: their checks read the stored data. The `source_checks`
job runs all of them (those of unpartitioned entries: one job takes one partitions definition;
a partitioned source's checks run per partition from the UI or a partitioned job of the user's).
With `source_checks_schedule` set, a schedule runs the job on that cron.
"""

from __future__ import annotations

import dagster as dg

from ..checks.audit import check_names
from ..errors import ConfigError
from ..project import Catalog

SOURCE_CHECKS_JOB = "source_checks"
SOURCE_CHECKS_SCHEDULE = "source_checks_schedule"


def source_checks(catalog: Catalog) -> tuple[list[dg.UnresolvedAssetJobDefinition], list]:
    """The source_checks job (when a source has checks) and its schedule (when configured)."""
    sources = [
        dg.AssetKey(entry.name)
        for entry in catalog.entries.values()
        if entry.name not in catalog.producers and check_names(entry) and not entry.namespaces
    ]
    cron = catalog.config.settings.source_checks_schedule
    if not sources and cron is not None:
        raise ConfigError(
            file=catalog.config.pyproject,
            field="tool.datanectar.source_checks_schedule",
            problem="a schedule is set, but no unpartitioned entry that nothing produces has "
            "checks: the source_checks job would have nothing to run.",
            fix="declare checks on a source entry, or remove the setting.",
        )
    if not sources:
        return [], []
    job = dg.define_asset_job(
        SOURCE_CHECKS_JOB,
        selection=dg.AssetSelection.checks_for_assets(*sources),
        description="Runs the checks of the entries nothing produces, on their stored data.",
    )
    if cron is None:
        return [job], []
    try:
        schedule = dg.ScheduleDefinition(name=SOURCE_CHECKS_SCHEDULE, job=job, cron_schedule=cron)
    except dg.DagsterInvalidDefinitionError as exc:
        raise ConfigError(
            file=catalog.config.pyproject,
            field="tool.datanectar.source_checks_schedule",
            problem=f"{cron!r} is not a cron schedule ({exc}).",
            fix="write five cron fields, e.g. '0 6 * * *' for every day at 06:00.",
        ) from None
    return [job], [schedule]
