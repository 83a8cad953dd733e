"""Concurrency pools: an entry's `pool`, else its store's, is its Dagster asset's pool, and
the instance's pool limits hold for real: two steps of one pool never run at once.

The limit is tested through `dagster asset materialize` (the multiprocess executor claims a
pool's slots from the instance before each step), once on an instance limiting every pool to
one step and once on one without limits, the same selection both times: the first run's step
windows must not overlap, the second's must (so the test sees overlap where there is some).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

import datanectar
from datanectar.errors import DatanectarError

DAGSTER = Path(sys.executable).parent / "dagster"
SRC = Path(datanectar.__file__).resolve().parents[1]  # the datanectar under test
STEP_SECONDS = 5  # long beside a step process's start, so unlimited steps overlap

STORES = """
[tool.datanectar.stores.local]
type = "local"
root = "data"

[tool.datanectar.stores.db]
type = "local"
root = "db"
pool = "db_writers"
"""
CATALOG = """
first: {format: json, store: db}
second: {format: json, store: db}
own_pool: {format: json, store: db, pool: solo}
elsewhere: {format: json, pool: solo}
free: {format: json}
"""
MODULE = f"""
import time

import datanectar


def _slow(name):
    time.sleep({STEP_SECONDS})
    return {{"name": name}}


@datanectar.asset
def first() -> dict:
    return _slow("first")


@datanectar.asset
def second() -> dict:
    return _slow("second")


@datanectar.asset
def own_pool() -> dict:
    return _slow("own_pool")


@datanectar.asset
def elsewhere() -> dict:
    return _slow("elsewhere")


@datanectar.asset
def free() -> dict:
    return _slow("free")
"""
DEFINITIONS = """
from pathlib import Path

import datanectar

defs = datanectar.definitions(Path(__file__).parent)
"""


@pytest.fixture
def project(make_project) -> Path:
    root = make_project(CATALOG, stores=STORES, modules={"pooled": MODULE})
    (root / "definitions.py").write_text(textwrap.dedent(DEFINITIONS))
    return root


def test_an_entry_pool_else_its_store_pool_is_the_asset_pool(project):
    defs = datanectar.definitions(project)
    pools = {
        name: defs.get_assets_def(name).op.pool
        for name in ("first", "second", "own_pool", "elsewhere", "free")
    }
    assert pools == {
        "first": "db_writers",  # the store's
        "second": "db_writers",
        "own_pool": "solo",  # the entry's own, over its store's
        "elsewhere": "solo",
        "free": None,  # neither: no pool, no limit
    }


def test_a_store_pool_comes_from_the_active_environment(project, monkeypatch):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.datanectar.environments.prod.stores.db]\npool = "prod_writers"\n'
    )
    monkeypatch.setenv("DATANECTAR_ENV", "prod")
    assert datanectar.definitions(project).get_assets_def("first").op.pool == "prod_writers"


def materialized_windows(project: Path, home: Path, selection: str) -> dict[str, tuple]:
    """Run `dagster asset materialize` on the instance at `home`; each step's (start, end)
    times, read from the run's event log."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(SRC)}
    env.pop("DATANECTAR_PROJECT", None)
    command = [str(DAGSTER), "asset", "materialize", "-f", "definitions.py", "--select", selection]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-10000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs(limit=1)  # the newest
        assert run.status == dg.DagsterRunStatus.SUCCESS
        starts = {
            record.step_key: record.timestamp
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        }
        ends = {
            record.step_key: record.timestamp
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        }
    assert set(starts) == set(ends) == set(selection.split(","))
    return {step: (starts[step], ends[step]) for step in starts}


def overlap(windows: dict[str, tuple]) -> float:
    (start_a, end_a), (start_b, end_b) = windows.values()
    return min(end_a, end_b) - max(start_a, start_b)


def instance_home(path: Path, concurrency: str) -> Path:
    path.mkdir()
    (path / "dagster.yaml").write_text(f"telemetry:\n  enabled: false\n{concurrency}")
    return path


def test_two_steps_of_one_pool_never_run_at_once(project, tmp_path):
    limited = instance_home(tmp_path / "limited", "concurrency:\n  pools:\n    default_limit: 1\n")
    windows = materialized_windows(project, limited, "first,second")
    assert overlap(windows) < 0, f"steps of pool db_writers overlapped: {windows}"
    # The other pool's steps are limited likewise, whatever their stores.
    windows = materialized_windows(project, limited, "own_pool,elsewhere")
    assert overlap(windows) < 0, f"steps of pool solo overlapped: {windows}"


def test_without_a_limit_the_same_steps_overlap(project, tmp_path):
    free = instance_home(tmp_path / "free", "")
    windows = materialized_windows(project, free, "first,second")
    assert overlap(windows) > 0, f"unlimited steps did not overlap: {windows}"


@pytest.mark.parametrize(
    ("catalog", "stores", "said"),
    [
        (CATALOG.replace("pool: solo}\nelsewhere", "pool: 'has space'}\nelsewhere"), STORES,
         "entry 'own_pool': field 'pool': 'has space' is not a pool name"),
        (CATALOG, STORES.replace('pool = "db_writers"', 'pool = ""'), "'' is not a pool name"),
    ],
)  # fmt: skip
def test_a_bad_pool_name_names_its_file_and_field(make_project, catalog, stores, said):
    root = make_project(catalog, stores=stores, modules={"pooled": MODULE})
    with pytest.raises(DatanectarError) as raised:
        datanectar.definitions(root)
    assert said in str(raised.value)
    assert "main.yaml" in str(raised.value) or "pyproject.toml" in str(raised.value)
