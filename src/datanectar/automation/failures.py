"""The run-failure hook: a user's function called with each failed run, to route to alerting
(Slack, a pager, e-mail) with what the run-failure sensor of Dagster knows."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from ..errors import ConfigError, did_you_mean
from .settings import RunFailureSpec

RUN_FAILURE_SENSOR = "datanectar_run_failure"
IMPLICIT_ASSET_JOB = "__ASSET_JOB"


@dataclass(frozen=True)
class RunFailure:
    """What the hook receives about a failed run."""

    job_name: str
    run_id: str
    message: str
    failed_steps: dict[str, str] = field(default_factory=dict)
    """Each failed step's key and its error message."""
    partition: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def run_failure_sensor(spec: RunFailureSpec, file: str, job_names: list[str]) -> Any:
    hook = import_hook(spec.call, file, "run_failure.call")
    for name in spec.jobs or []:
        if name not in job_names:
            raise ConfigError(
                file=file,
                field="run_failure.jobs",
                problem=f"no job '{name}'.{did_you_mean(name, job_names)}",
            )
    watched = set(spec.jobs or [])
    # what the CLI and the UI run for this project: its jobs, and the implicit asset job
    # (IMPLICIT_ASSET_JOB) of `dagster asset materialize` and of "Materialize" in the UI
    project_jobs = set(job_names)

    # Runs launched by the CLI (`dagster asset materialize`, `dagster job execute`: CI) carry no
    # code location, and Dagster's default monitors only runs launched from the sensor's own;
    # all are monitored, and the project's are told by their job.
    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        monitor_all_code_locations=True,
        description=f"Calls {spec.call} with each failed run"
        + (f" of {', '.join(sorted(watched))}." if watched else "."),
        default_status=dg.DefaultSensorStatus.RUNNING
        if spec.status == "running"
        else dg.DefaultSensorStatus.STOPPED,
    )
    def on_run_failure(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        if watched and run.job_name not in watched:
            return
        if not watched and not (
            run.job_name in project_jobs or run.job_name.startswith(IMPLICIT_ASSET_JOB)
        ):
            return  # another code location's run
        steps = {
            str(event.step_key): _user_error(event) for event in context.get_step_failure_events()
        }
        hook(
            RunFailure(
                job_name=run.job_name,
                run_id=run.run_id,
                message=context.failure_event.message or "",
                failed_steps=steps,
                partition=run.tags.get("dagster/partition"),
                tags=dict(run.tags),
            )
        )

    return on_run_failure


def _user_error(event: Any) -> str:
    """The user's own exception ('ValueError: feed offline'), not Dagster's wrapper around it."""
    data = event.event_specific_data
    error = getattr(data, "error", None)
    if error is None:
        return event.message or ""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def import_hook(path: str, file: str, field_name: str) -> Callable[..., Any]:
    """'package.module:function', imported (never evaluated)."""
    module_name, _, function_name = path.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            file=file, field=field_name, problem=f"cannot import {path!r}: {exc}."
        ) from None
    if not callable(function):
        raise ConfigError(file=file, field=field_name, problem=f"{path!r} is not callable.")
    return function
