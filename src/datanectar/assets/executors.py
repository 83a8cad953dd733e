"""The Dagster executor `[tool.datanectar] executor` names.

`multiprocess` and `in_process` are Dagster's own; `dask` is dagster-dask's executor on an
existing dask.distributed cluster (the scheduler at `dask_address`). Each step then runs in a
dask worker process, which rebuilds the job from the code location (so the workers must
import the project's code: started in the project folder, or with it on PYTHONPATH) and
writes its events to the run's instance (so the instance must be persistent: a DAGSTER_HOME,
PostgreSQL once the workers are on other machines).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg

from ..config import ENV_OVERRIDES, ProjectConfig
from ..errors import ConfigError, DatanectarError

CONNECT_SECONDS = 5  # a scheduler that does not take a TCP connection in this long is not there


class DaskSchedulerUnreachable(DatanectarError):
    """No dask scheduler answers at the configured address."""


def executor_for(config: ProjectConfig) -> dg.ExecutorDefinition:
    """The executor of the project's jobs, as its settings choose."""
    settings = config.settings
    if settings.executor == "in_process":
        return dg.in_process_executor
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    try:
        import dagster_dask  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            file=config.pyproject,
            field="tool.datanectar.executor",
            problem="executor 'dask' needs dagster-dask and distributed, which are not installed.",
            fix="pip install 'datanectar[dask]', or choose executor 'multiprocess'.",
        ) from exc
    return dask_executor(settings.dask_address, setting=_address_setting(config.pyproject))


def _address_setting(pyproject: Path) -> str:
    variable = ENV_OVERRIDES["dask_address"]
    if os.environ.get(variable):
        return f"{variable} (environment)"
    return f"dask_address in {pyproject} [tool.datanectar]"


def dask_executor(address: str, *, setting: str = "dask_address") -> dg.ExecutorDefinition:
    """dagster-dask's executor connected to the scheduler at `address`; `setting` is where
    the address came from, which errors name."""
    from dagster_dask.executor import DaskExecutor

    class CheckedDaskExecutor(DaskExecutor):
        """dagster-dask's executor, failing the run with a fix when it cannot work: an
        ephemeral instance the workers cannot write to, or no scheduler at the address (where
        dask's client would wait its connect timeout and say only 'Timed out')."""

        def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[dg.DagsterEvent]:
            if not plan_context.instance.is_persistent:
                raise DatanectarError(
                    "executor 'dask': the run's Dagster instance is ephemeral, and the dask "
                    "workers write the steps' events to the run's instance. Fix: set "
                    "DAGSTER_HOME to a folder with a dagster.yaml (a PostgreSQL instance, "
                    "dagster_home/postgres/dagster.yaml, when workers run on other machines)."
                )
            check_reachable(address, setting=setting)
            yield from super().execute(plan_context, execution_plan)

    @dg.executor(name="dask", requirements=dg.multiple_process_executor_requirements())
    def datanectar_dask_executor(_init_context: dg.InitExecutorContext) -> dg.Executor:
        return CheckedDaskExecutor("existing", {"address": address})

    return datanectar_dask_executor


def check_reachable(address: str, *, setting: str = "dask_address") -> None:
    """Raise, naming the address and how to start a scheduler there, unless something takes
    a TCP connection at it."""
    parts = urlsplit(address)
    try:
        with socket.create_connection(
            (parts.hostname or "", parts.port or 0), timeout=CONNECT_SECONDS
        ):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    host, port = parts.hostname, parts.port
    raise DaskSchedulerUnreachable(
        f"executor 'dask': no dask scheduler answers at {address} ({setting}): {reason}. "
        f"Fix: start one there, `dask scheduler --host {host} --port {port}`, and workers in "
        f"the project folder, `dask worker {address} --nthreads 1` (one step at a time per "
        "worker process: Dagster steps are not thread-safe); or point dask_address "
        "(DATANECTAR_DASK_ADDRESS) at your cluster's scheduler."
    )
