"""The demo on a real distributed executor: dagster-dask on a dask.distributed cluster.

A dask scheduler and two workers run as subprocesses on 127.0.0.1; the Dagster instance is
PostgreSQL (a throwaway database on the server DATANECTAR_TEST_POSTGRES_URL names); the demo's
results go to S3 (a moto server, DATANECTAR_ENV=s3); `dagster asset materialize` runs with
DATANECTAR_EXECUTOR=dask. The run is read back from PostgreSQL with Dagster's instance API,
the steps' process ids from its event log, the outputs from the bucket with boto3 and pyarrow.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

import datanectar
from s3_server import CREDENTIALS, moto_server
from servers import free_port
from test_cli import REPO, TABLES, copy_demo

DAGSTER = Path(sys.executable).parent / "dagster"
SRC = Path(datanectar.__file__).resolve().parents[1]  # the datanectar under test
BUCKET, PREFIX = "datanectar-demo", "demo"  # the demo's s3 environment (pyproject.toml)
SELECTION = "observations,daily_means"  # a Delta table and a parquet file, both on S3


@pytest.fixture
def instance_url(postgres_url: str) -> Iterator[str]:
    """The URL of a fresh database on the test server, dropped afterwards."""
    import psycopg2

    server = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    name = f"dn_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        # dagster-postgres's queries are psycopg2's (SQLAlchemy 2.1 defaults to psycopg 3).
        yield (
            postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
            + f"/{name}"
        )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def endpoint() -> Iterator[str]:
    import boto3

    with moto_server() as url:
        boto3.client("s3", endpoint_url=url, **boto_credentials()).create_bucket(Bucket=BUCKET)
        yield url


def boto_credentials() -> dict[str, str]:
    return {
        "region_name": CREDENTIALS["AWS_REGION"],
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def start(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def test_the_demo_materializes_on_a_dask_cluster(tmp_path, instance_url, endpoint, monkeypatch):
    from distributed import Client

    # Each process resolves the instance's URL from its own environment (this one reads the
    # run back), the workers too.
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", instance_url)

    project = copy_demo(tmp_path)
    shutil.copy2(REPO / "dagster_home" / "postgres" / "dagster.yaml", project.home)
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {
        **project.env(),
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "DATANECTAR_ENV": "s3",
        "DAGSTER_POSTGRES_URL": instance_url,
        "DATANECTAR_EXECUTOR": "dask",
        "DATANECTAR_DASK_ADDRESS": address,
        "PYTHONPATH": str(SRC),  # the workers import datanectar and, from their cwd, the demo
    }
    python = [sys.executable, "-m"]
    port = address.rsplit(":", 1)[1]
    scheduler = start(
        [
            *python,
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--no-dashboard",
        ],
        cwd=project.root,
        env=env,
        log=tmp_path / "scheduler.log",
    )
    workers: list[subprocess.Popen] = []
    try:
        for index in range(2):
            workers.append(
                start(
                    # No nanny: the worker's own process runs the steps, whose pid it is.
                    [
                        *python,
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--name",
                        f"worker-{index}",
                    ],
                    cwd=project.root,
                    env=env,
                    log=tmp_path / f"worker-{index}.log",
                )
            )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)

        command = [str(DAGSTER), "asset", "materialize", "-f", "definitions.py"]
        cli = subprocess.Popen(
            [*command, "--select", SELECTION],
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output, _ = cli.communicate()
        logs = "".join(
            f"--- {log.name} ---\n{log.read_text(errors='replace')[-5000:]}\n"
            for log in sorted(tmp_path.glob("*.log"))
        )
        assert cli.returncode == 0, output[-15000:] + logs
    finally:
        for process in [*workers, scheduler]:
            stop(process)

    # The run, read from the PostgreSQL instance.
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        materialized = {
            record.asset_materialization.asset_key.to_user_string()
            for record in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
        }
    assert materialized == set(SELECTION.split(","))
    # Every step ran in a worker process, none in the CLI's.
    step_pids = {record.step_key: record.dagster_event.pid for record in starts}
    assert set(step_pids) == set(SELECTION.split(","))
    worker_pids = {worker.pid for worker in workers}
    assert set(step_pids.values()) <= worker_pids, (step_pids, worker_pids, cli.pid)
    assert cli.pid not in step_pids.values()

    # The outputs, read from the bucket.
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, **boto_credentials())
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for item in page.get("Contents", [])
    ]
    assert any(key.startswith(f"{PREFIX}/silver/observations/_delta_log/") for key in keys)
    body = client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/gold/daily_means.parquet")["Body"]
    assert pq.read_table(io.BytesIO(body.read())).num_rows == TABLES["daily_means"]
    assert not (project.data / "gold").exists()  # nothing on the workers' local disk


def test_no_scheduler_is_a_run_failure_naming_the_address(tmp_path, instance_url):
    project = copy_demo(tmp_path)
    shutil.copy2(REPO / "dagster_home" / "postgres" / "dagster.yaml", project.home)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        **project.env(),
        "DAGSTER_POSTGRES_URL": instance_url,
        "DATANECTAR_EXECUTOR": "dask",
        "DATANECTAR_DASK_ADDRESS": address,
        "PYTHONPATH": str(SRC),
    }
    command = [str(DAGSTER), "asset", "materialize", "-f", "definitions.py", "--select", "report"]
    result = subprocess.run(command, cwd=project.root, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"no dask scheduler answers at {address} (DATANECTAR_DASK_ADDRESS" in output
    assert "dask scheduler --host 127.0.0.1" in output


@pytest.mark.parametrize(
    ("setting", "field", "said"),
    [
        (
            'executor = "celery"',
            "tool.datanectar.executor",
            "'multiprocess', 'in_process' or 'dask'",
        ),
        ('dask_address = "127.0.0.1:8786"', "tool.datanectar.dask_address", "tcp://127.0.0.1:8786"),
    ],
)
def test_a_bad_executor_setting_names_its_file_and_field(make_project, setting, field, said):
    from datanectar.config import load_project
    from datanectar.errors import ConfigError

    project = make_project(settings=setting)
    with pytest.raises(ConfigError) as info:
        load_project(project)
    assert info.value.file == str(project / "pyproject.toml")
    assert info.value.field == field
    assert said in str(info.value)
