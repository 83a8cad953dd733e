"""Opening and running test projects in process, and reading why that failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import datanectar
from datanectar.errors import CatalogError, CatalogErrors

DAGSTER = Path(sys.executable).parent / "dagster"


def catalog_error(make_project: Any, catalog: dict[str, str] | str, **kwargs: Any) -> CatalogError:
    """The error opening a project with this catalog raises (one error, not a collection);
    `kwargs` go to `make_project`."""
    project = make_project(catalog, **kwargs)
    with pytest.raises(CatalogError) as info:
        datanectar.catalog(project)
    error = info.value
    assert not isinstance(error, CatalogErrors), f"expected one error, got: {error}"
    return error


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


def materialize_with_dagster_cli(
    project: Path, selection: str, *options: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`dagster asset materialize -f definitions.py --select SELECTION OPTIONS...` run in the
    project folder with `env`, as a user or CI would; the caller checks its exit code."""
    command = [str(DAGSTER), "asset", "materialize", "-f", "definitions.py", "--select", selection]
    return subprocess.run(
        [*command, *options],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
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
