"""Running a project's definitions in process, and reading why a run failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

import datanectar


def materialize_project(
    project: Path,
    instance: dg.DagsterInstance,
    selection: str | list[str] = "*",
    *,
    functions: Any = None,
    **options: Any,
) -> dg.ExecuteInProcessResult:
    """Materialize a selection of a project's assets and checks on `instance`; `options` go
    to `dg.materialize` (raise_on_error, tags, ...)."""
    defs = datanectar.definitions(project, functions=functions)
    return dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        resources=defs.resources,
        instance=instance,
        selection=selection,
        **options,
    )


def failure_messages(result: dg.ExecuteInProcessResult) -> str:
    """Every message in the failed steps' error chains, one per line."""
    messages = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.step_failure_data.error
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return "\n".join(messages)
