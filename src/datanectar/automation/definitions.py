"""automation.yaml to Dagster: asset jobs with run config from parameter sets, their
schedules, source-change sensors and the run-failure hook."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from ..assets.io_manager import LABEL_CONFIG, PINS_CONFIG
from ..assets.jobs import Cron, job_schedule, source_checks
from ..errors import ConfigError, did_you_mean
from ..project import Catalog
from .failures import RUN_FAILURE_SENSOR, run_failure_sensor
from .parameters import FROM_KEY, resolve_parameter_sets
from .selections import parsed_selection
from .settings import Automation, automation_path, load_automation
from .source_sensors import source_change_sensor

SOURCE_CHECKS = "source_checks"
VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
AUTOMATION_SENSOR = "datanectar_automation"


@dataclass
class AutomationDefinitions:
    jobs: list[Any] = field(default_factory=list)
    schedules: list[Any] = field(default_factory=list)
    sensors: list[Any] = field(default_factory=list)


def project_automation(catalog: Catalog) -> Automation:
    """The project's automation.yaml (beside the catalog, or where the setting says)."""
    settings = catalog.config.settings
    path, named = automation_path(catalog.config.root, settings.catalog, settings.automation)
    return load_automation(path, required=named, display=_display(path, catalog))


def automation_definitions(
    catalog: Catalog, assets: Sequence[Any], checks: Sequence[Any]
) -> AutomationDefinitions:
    """Everything automation.yaml declares, with the source-checks jobs and schedules."""
    automation = project_automation(catalog)
    file = automation.file or ""
    built = AutomationDefinitions()
    checks_schedule = automation.schedules.get(SOURCE_CHECKS)
    built.jobs, built.schedules = source_checks(
        catalog,
        _cron(checks_schedule, file, f"schedules.{SOURCE_CHECKS}") if checks_schedule else None,
    )
    automated = [dg.AssetKey(e.name) for e in catalog.entries.values() if e.automation is not None]
    if automated:
        # Dagster's own automation sensor starts stopped: declaring `automation:` is asking
        # for it to run
        built.sensors.append(
            dg.AutomationConditionSensorDefinition(
                AUTOMATION_SENSOR,
                target=dg.AssetSelection.assets(*automated),
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Materializes the entries with automation: in the catalog when "
                "their conditions hold.",
            )
        )
    parameter_sets = resolve_parameter_sets(automation.parameters, file=file)
    _check_parameters(catalog, automation.parameters, file)
    _check_names(automation, catalog, [job.name for job in built.jobs], file)
    if not (automation.jobs or automation.sensors or set(automation.schedules) - {SOURCE_CHECKS}):
        if automation.run_failure is not None:
            built.sensors.append(
                run_failure_sensor(automation.run_failure, file, [j.name for j in built.jobs])
            )
        return built
    graph = asset_graph(assets, checks)
    jobs: dict[str, Any] = {}
    for name, spec in automation.jobs.items():
        field_name = f"jobs.{name}"
        selection = _selection(spec.select, graph, file, f"{field_name}.select")
        keys = selection.resolve(graph)
        partitions = _partitions_of(keys, graph, file, f"{field_name}.select")
        config = None
        if spec.parameters is not None:
            if spec.parameters not in parameter_sets:
                raise ConfigError(
                    file=file,
                    field=f"{field_name}.parameters",
                    problem=f"no parameter set '{spec.parameters}'."
                    + did_you_mean(spec.parameters, list(parameter_sets)),
                    fix="declare it under parameters:.",
                )
            chosen = parameter_sets[spec.parameters]
            outside = sorted(set(chosen) - {key.to_user_string() for key in keys})
            if outside:
                raise ConfigError(
                    file=file,
                    field=f"{field_name}.parameters",
                    problem=f"parameter set '{spec.parameters}' sets {', '.join(outside)}, which "
                    f"the job does not run ({spec.select!r}): those values would be ignored.",
                    fix="add them to the job's select:, or give the job a set of its own "
                    "entries (_from can share the common part).",
                )
            config = _run_config(chosen, keys)
        job = dg.define_asset_job(
            name,
            selection=selection,
            config=config,
            description=spec.description
            or f"{spec.select}"
            + (f", with parameter set '{spec.parameters}'" if spec.parameters else ""),
            tags=spec.tags or None,
        )
        jobs[name] = (job, partitions)
    for name, spec in automation.schedules.items():
        if name == SOURCE_CHECKS:
            continue
        if name not in jobs:
            raise ConfigError(
                file=file,
                field=f"schedules.{name}",
                problem=f"no job '{name}' to schedule.{did_you_mean(name, [*jobs, SOURCE_CHECKS])}",
                fix="a schedule is named after a job under jobs: (or source_checks).",
            )
        job, partitions = jobs[name]
        built.schedules.append(
            job_schedule(
                f"{name}_schedule", job, partitions, _cron(spec, file, f"schedules.{name}")
            )
        )
    built.jobs.extend(job for job, _ in jobs.values())
    for name, spec in automation.sensors.items():
        built.sensors.append(source_change_sensor(catalog, name, spec, graph, file))
    if automation.run_failure is not None:
        built.sensors.append(
            run_failure_sensor(automation.run_failure, file, [j.name for j in built.jobs])
        )
    return built


def asset_graph(assets: Sequence[Any], checks: Sequence[Any]) -> Any:
    """The graph selections resolve on: Dagster's own, built from the same definitions (before
    resources are bound, which resolving a selection does not need)."""
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
    from dagster._core.definitions.definitions_class import _canonicalize_specs_to_assets_defs

    return AssetGraph.from_assets([*_canonicalize_specs_to_assets_defs(assets), *checks])


def _cron(spec: Any, file: str, field_name: str) -> Cron:
    return Cron(
        spec.cron,
        file,
        f"{field_name}.cron",
        timezone=spec.timezone,
        running=spec.status == "running",
    )


def _selection(text: str, graph: Any, file: str, field_name: str) -> dg.AssetSelection:
    """The materializable assets a selection names, and the checks of the sources it names
    (a job validates its inputs as it runs)."""
    # resolved here, to keys: Dagster would parse the text again at each run, warning
    # about the beta parameter datanectar's parsing chose
    _, keys = parsed_selection(text, graph, file, field_name)
    materializable = [key for key in keys if graph.get(key).is_materializable]
    return dg.AssetSelection.assets(*materializable) | dg.AssetSelection.checks_for_assets(*keys)


def _partitions_of(
    keys: set[dg.AssetKey], graph: Any, file: str, field_name: str
) -> dg.PartitionsDefinition | None:
    """The partitions of the job: those its partitioned assets share (one kind per job)."""
    found = {
        graph.get(key).partitions_def
        for key in keys
        if graph.get(key).is_materializable and graph.get(key).partitions_def is not None
    }
    if len(found) > 1:
        raise ConfigError(
            file=file,
            field=field_name,
            problem="the selection holds assets partitioned differently; a job runs one kind of "
            "partition.",
            fix="split it into one job per partitioning (e.g. by group).",
        )
    return next(iter(found), None)


def _check_names(
    automation: Automation, catalog: Catalog, defined_jobs: list[str], file: str
) -> None:
    """Names Dagster requires unique and well formed, checked here so that the error names
    automation.yaml and the field rather than Dagster's repository."""
    taken: dict[str, str] = {name: "a job datanectar defines" for name in defined_jobs}
    taken.update({name: "a catalog entry (its asset)" for name in catalog.entries})
    taken[AUTOMATION_SENSOR] = "the sensor of automation: entries"
    taken[RUN_FAILURE_SENSOR] = "the run-failure sensor"
    taken.update(
        {
            f"discover_{name}": "a dynamic namespace's sensor"
            for name in catalog.config.settings.namespaces
        }
    )
    declared = [
        *((f"jobs.{name}", name) for name in automation.jobs),
        *(
            (f"schedules.{name}", f"{name}_schedule")
            for name in automation.schedules
            if name != SOURCE_CHECKS
        ),
        *((f"sensors.{name}", name) for name in automation.sensors),
    ]
    for field_name, name in declared:
        if not VALID_NAME.fullmatch(name):
            raise ConfigError(
                file=file,
                field=field_name,
                problem=f"{name!r} is not a name Dagster accepts.",
                fix="use letters, digits and underscores (e.g. nightly_weather).",
            )
        if name in taken:
            raise ConfigError(
                file=file,
                field=field_name,
                problem=f"'{name}' is already {taken[name]}: Dagster needs every job, schedule "
                "and sensor name unique.",
                fix=f"rename it, e.g. '{name}_job'."
                if field_name.startswith("jobs.")
                else "rename it.",
            )
        taken[name] = f"declared at {field_name}"


def _check_parameters(catalog: Catalog, sets: dict[str, dict[str, Any]], file: str) -> None:
    """Each set's own keys name produced entries and their cache arguments: an error names the
    set that declares the key, not one inheriting it."""
    for name, body in sets.items():
        if not isinstance(body, dict):
            continue  # resolve_parameter_sets names that error
        for asset, arguments in body.items():
            if asset == FROM_KEY:
                continue
            where = f"parameters.{name}.{asset}"
            producer = catalog.producers.get(asset)
            if producer is None:
                raise ConfigError(
                    file=file,
                    field=where,
                    problem=f"'{asset}' is not a produced entry."
                    + did_you_mean(asset, list(catalog.producers)),
                )
            known = [*producer.cache_args, PINS_CONFIG, LABEL_CONFIG]
            for argument in arguments if isinstance(arguments, dict) else ():
                if argument not in known:
                    raise ConfigError(
                        file=file,
                        field=f"{where}.{argument}",
                        problem=f"'{asset}' takes no run config '{argument}'."
                        + did_you_mean(argument, known)
                        + (
                            f" Its run config: {', '.join(producer.cache_args)}."
                            if producer.cache_args
                            else ""
                        ),
                        fix="parameters set a cached function's cache arguments (cache_args).",
                    )


def _run_config(parameters: dict[str, dict[str, Any]], keys: set[dg.AssetKey]) -> dict[str, Any]:
    """A parameter set as run config: each selected asset's arguments as its step's config (a
    shared set may name assets other jobs run)."""
    selected = {key.to_user_string() for key in keys}
    ops = {
        asset: {"config": dict(arguments)}
        for asset, arguments in parameters.items()
        if asset in selected
    }
    return {"ops": ops} if ops else {}


def _display(path: Any, catalog: Catalog) -> str:
    try:
        return str(path.resolve().relative_to(catalog.config.root.resolve()))
    except ValueError:
        return str(path)
