"""Run as CI often does: no DAGSTER_HOME, one `dagster asset materialize` per selection, so
each command starts with an empty instance. Downstream of a cached function with cache
arguments reads what a plain call with the default arguments stores; missing data gets a
hint that is true of what was done."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xarray as xr

from runs import failure_messages, materialize_project, materialize_with_dagster_cli

CATALOG = """\
wave_field:
  format: zarr
  path: fields/wave_field.zarr
report:
  format: json
"""
PIPELINE = """
import numpy as np
import xarray as xr
import datanectar

@datanectar.cache(cache_args=["height"], version="1")
def wave_field(height: float = 2.0) -> xr.Dataset:
    return xr.Dataset({"h": (("x",), np.full(4, height))})

@datanectar.asset
def report(wave_field: xr.Dataset) -> dict:
    return {"mean_height": float(wave_field["h"].mean())}
"""


@pytest.fixture
def project(make_project):
    root = make_project(CATALOG, modules={"pipeline": textwrap.dedent(PIPELINE)})
    (root / "definitions.py").write_text(
        "from pathlib import Path\nimport datanectar\n\n"
        "defs = datanectar.definitions(Path(__file__).parent)\n"
    )
    return root


def materialize_cli(project: Path, selection: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    env.pop("DATANECTAR_PROJECT", None)
    return materialize_with_dagster_cli(project, selection, env=env)


def test_downstream_reads_the_default_arguments_object_in_a_later_command(project):
    first = materialize_cli(project, "wave_field")
    assert first.returncode == 0, first.stderr[-3000:]
    [stored] = list((project / "data" / "fields" / "wave_field").glob("*.zarr"))
    assert float(xr.open_zarr(stored)["h"].mean()) == 2.0

    second = materialize_cli(project, "report")

    assert second.returncode == 0, second.stderr[-3000:]
    report = json.loads((project / "data" / "report.json").read_text())
    assert report == {"mean_height": 2.0}


def test_missing_upstream_without_an_instance_says_so(project):
    run = materialize_cli(project, "report")
    assert run.returncode != 0
    log = run.stdout + run.stderr
    assert "no data at" in log
    assert "No materialization of it is recorded in this Dagster instance" in log
    assert "DAGSTER_HOME is not set: each Dagster command starts with an empty instance" in log
    assert "Fix: materialize it first (dagster asset materialize --select wave_field" in log


def test_missing_data_that_was_materialized_is_not_told_to_materialize(project, instance):
    sys.modules.pop("pipeline", None)
    assert materialize_project(project, instance, "wave_field").success
    shutil.rmtree(project / "data" / "fields")

    result = materialize_project(project, instance, "report", raise_on_error=False)

    assert not result.success
    messages = failure_messages(result)
    assert "This Dagster instance records a materialization of it" in messages
    assert "its data is no longer there" in messages
    assert "Fix: materialize it again, or restore the data." in messages
    assert "materialize it first" not in messages
