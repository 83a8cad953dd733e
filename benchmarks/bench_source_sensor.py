"""Source-change sensor ticks on a big watched store, against listing it with public tools.

A throwaway project declares a source entry, a produced asset downstream of it and a sensor
watching the source (automation.yaml). One tick is evaluated as the daemon would, through
Dagster's `build_sensor_context` and the sensor's `evaluate_tick`; the steady state is timed
(nothing changed since the previous tick's cursor: a listing, a comparison, a skip), and so is
a tick after one file changed (the listing, an observation with the changed file's row count,
the run requests: the changed namespace's checks, and the unpartitioned follower).

* local folder: a `files` entry, a folder of 10,000 files in 100 subfolders;
* local namespaces: a csv entry with 10,000 namespaces (one file each, one location each);

each against `os.walk` + `os.stat` of every file of the same tree (what any listing of it must
at least do); target: a tick < 2 s.

* S3 (moto server on 127.0.0.1): a csv entry with 2,500 namespaces: the S3 requests one tick
  makes, counted by operation, against the pages one paginated ListObjectsV2 of the prefix
  takes (boto3's paginator); and the tick's time against that boto3 listing's.

Medians of interleaved runs after one untimed warm-up. Nothing asserts on time.

    python benchmarks/bench_source_sensor.py            # 10,000 files, 2,500 S3 keys
    python benchmarks/bench_source_sensor.py --quick    # 1,000 files, 1,100 S3 keys
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import dagster as dg

import datanectar
from local_s3 import CREDENTIALS, start_moto

TARGET_SECONDS = 2.0
PIPELINE = """\
import datanectar

@datanectar.asset
def follower(watched) -> dict:
    return {"seen": True}
"""


def make_project(root: Path, catalog: str, stores: str = "") -> Path:
    """pyproject.toml (a local store `data`, the pipeline module), the catalog, automation.yaml
    watching `watched`."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "bench"
            version = "0"

            [tool.datanectar]
            catalog = "catalog"
            configuration = "configuration"
            local_cache = "{root / "local_cache"}"
            modules = ["bench_sensor_pipeline"]

            [tool.datanectar.stores.local]
            type = "local"
            root = "data"
            """
        )
        + stores
    )
    (root / "catalog").mkdir()
    (root / "configuration").mkdir()
    (root / "catalog" / "main.yaml").write_text(catalog + "follower:\n  format: json\n")
    (root / "bench_sensor_pipeline.py").write_text(PIPELINE)
    (root / "automation.yaml").write_text("sensors:\n  changed: {watch: watched}\n")
    sys.modules.pop("bench_sensor_pipeline", None)
    return root


def write_rows(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id"])
        writer.writerows([i] for i in range(rows))


def walk_and_stat(root: Path) -> int:
    """Every file under `root`, stat'ed: the least a listing of the tree does."""
    files = 0
    for folder, _, names in os.walk(root):
        for name in names:
            os.stat(os.path.join(folder, name))
            files += 1
    return files


class Sensor:
    """One sensor of a project's definitions, ticked on one instance with the last cursor."""

    def __init__(self, project: Path, instance: dg.DagsterInstance) -> None:
        started = time.perf_counter()
        self.defs = datanectar.definitions(project)
        self.load_seconds = time.perf_counter() - started
        self.sensor = self.defs.resolve_sensor_def("changed")
        self.instance = instance
        self.cursor: str | None = None

    def tick(self) -> Any:
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, definitions=self.defs
        ) as context:
            result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return result


def first_ticks(sensor: Sensor) -> None:
    """Tick until everything new was taken (row-count reads come in turns of 500 a tick)."""
    ticks, started = 0, time.perf_counter()
    first = None
    while True:
        seconds, result = timed(sensor.tick)
        first = seconds if first is None else first
        ticks += 1
        if not result.run_requests:
            break
    total = time.perf_counter() - started
    print(
        f"  definitions load {sensor.load_seconds:8.3f} s;  first tick {first:.3f} s; "
        f"{ticks - 1} tick(s) to take everything new, {total:.2f} s in all"
    )


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def side_by_side(
    sensor: Sensor, direct: Callable[[], Any], repeat: int
) -> tuple[list[float], list[float]]:
    """Steady-state ticks and direct listings, interleaved, the side going first rotating."""
    ticks, directs = [], []
    for run in range(repeat):
        order = [("tick", sensor.tick), ("direct", direct)]
        for name, function in order if run % 2 == 0 else order[::-1]:
            seconds, value = timed(function)
            if name == "tick":
                assert not value.run_requests, "nothing changed, yet the tick requested runs"
                ticks.append(seconds)
            else:
                directs.append(seconds)
    return ticks, directs


def report(title: str, ticks: list[float], directs: list[float], direct_name: str) -> None:
    tick, direct = statistics.median(ticks), statistics.median(directs)
    verdict = "ok" if tick < TARGET_SECONDS else "OVER TARGET"
    print(f"  steady tick      {tick:8.3f} s   (target < {TARGET_SECONDS:.0f} s: {verdict})")
    print(f"  {direct_name:<16} {direct:8.3f} s")
    print(f"  ratio            {tick / direct:8.2f} x   ({title})")


def changed_tick(sensor: Sensor, change: Callable[[], None]) -> None:
    change()
    seconds, result = timed(sensor.tick)
    assert len(result.asset_events) == 1 and result.run_requests, result
    print(
        f"  tick, one change {seconds:8.3f} s   ({len(result.run_requests)} run(s) requested, "
        "1 observation)"
    )


def local_folder(base: Path, files: int, repeat: int) -> None:
    print(f"\nlocal folder: a files entry of {files:,} files in 100 subfolders")
    project = make_project(base / "folder", "watched:\n  format: files\n  path: incoming\n")
    incoming = project / "data" / "incoming"
    for index in range(files):
        path = incoming / f"part-{index % 100:02d}" / f"{index:05d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"id\n{index}\n")
    with dg.DagsterInstance.ephemeral() as instance:
        sensor = Sensor(project, instance)
        first_ticks(sensor)
        assert walk_and_stat(incoming) == files
        ticks, directs = side_by_side(sensor, lambda: walk_and_stat(incoming), repeat)
        report("tick / os.walk + os.stat", ticks, directs, "os.walk + stat")
        changed_tick(sensor, lambda: (incoming / "part-07" / "00007.csv").write_text("id\n1\n2\n"))


def local_namespaces(base: Path, files: int, repeat: int) -> None:
    print(f"\nlocal namespaces: a csv entry of {files:,} namespaces, one file each")
    values = ", ".join(f"s{index:05d}" for index in range(files))
    project = make_project(
        base / "namespaces",
        "watched:\n  format: csv\n  path: 'stations/{station}.csv'\n"
        f"  namespaces: [{{name: station, values: [{values}]}}]\n",
    )
    folder = project / "data" / "stations"
    for index in range(files):
        write_rows(folder / f"s{index:05d}.csv", 2)
    # the source's checks run per namespace changed; the follower (unpartitioned, an
    # aggregate of every namespace) once per tick of changes
    catalog = project / "catalog" / "main.yaml"
    catalog.write_text(
        catalog.read_text().replace(
            "  path: 'stations/", "  checks:\n    - row_count: {min: 1}\n  path: 'stations/"
        )
    )
    with dg.DagsterInstance.ephemeral() as instance:
        sensor = Sensor(project, instance)
        first_ticks(sensor)
        ticks, directs = side_by_side(sensor, lambda: walk_and_stat(folder), repeat)
        report("tick / os.walk + os.stat", ticks, directs, "os.walk + stat")
        changed_tick(sensor, lambda: write_rows(folder / "s00042.csv", 5))


@contextmanager
def counting_s3_calls() -> Iterator[Counter[str]]:
    """Every S3 API call of this process (s3fs's aiobotocore client, boto3's), by operation."""
    from aiobotocore.client import AioBaseClient
    from botocore.client import BaseClient

    calls: Counter[str] = Counter()
    async_call, sync_call = AioBaseClient._make_api_call, BaseClient._make_api_call

    async def counted_async(self, operation_name, api_params):
        calls[operation_name] += 1
        return await async_call(self, operation_name, api_params)

    def counted_sync(self, operation_name, api_params):
        calls[operation_name] += 1
        return sync_call(self, operation_name, api_params)

    AioBaseClient._make_api_call = counted_async
    BaseClient._make_api_call = counted_sync
    try:
        yield calls
    finally:
        AioBaseClient._make_api_call = async_call
        BaseClient._make_api_call = sync_call


def s3_namespaces(base: Path, keys: int, repeat: int) -> None:
    print(f"\nS3 (moto): a csv entry of {keys:,} namespaces, one key each")
    os.environ.update(CREDENTIALS)
    endpoint, server = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=bucket)
        names = [f"s{index:05d}" for index in range(keys)]
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda name: client.put_object(
                        Bucket=bucket, Key=f"raw/stations/{name}.csv", Body=b"id\n1\n2\n"
                    ),
                    names,
                )
            )
        project = make_project(
            base / "s3",
            "watched:\n  format: csv\n  store: lake\n  path: 'stations/{station}.csv'\n"
            "  checks:\n    - row_count: {min: 1}\n"
            f"  namespaces: [{{name: station, values: [{', '.join(names)}]}}]\n",
            stores=f'\n[tool.datanectar.stores.lake]\ntype = "s3"\nbucket = "{bucket}"\n'
            f'prefix = "raw"\nendpoint_url = "{endpoint}"\n',
        )
        paginator = client.get_paginator("list_objects_v2")

        def boto3_listing() -> int:
            return sum(
                len(page.get("Contents", []))
                for page in paginator.paginate(Bucket=bucket, Prefix="raw/stations/")
            )

        pages = sum(1 for _ in paginator.paginate(Bucket=bucket, Prefix="raw/stations/"))
        with dg.DagsterInstance.ephemeral() as instance:
            sensor = Sensor(project, instance)
            first_ticks(sensor)
            with counting_s3_calls() as calls:
                sensor.tick()
            requests = ", ".join(f"{name} x {count}" for name, count in sorted(calls.items()))
            print(f"  requests / steady tick: {requests}")
            print(f"  one paginated ListObjectsV2 of the prefix: {pages} page(s)")
            print(f"  list requests / pages {sum(calls.values()) / pages:8.2f}")
            ticks, directs = side_by_side(sensor, boto3_listing, repeat)
            report("tick / boto3 paginated listing", ticks, directs, "boto3 listing")
            with counting_s3_calls() as calls:
                changed_tick(
                    sensor,
                    lambda: client.put_object(
                        Bucket=bucket, Key="raw/stations/s00000.csv", Body=b"id\n9\n"
                    ),
                )
            requests = ", ".join(f"{name} x {count}" for name, count in sorted(calls.items()))
            print(f"  requests / tick with one change: {requests} (the put included)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small trees, a smoke run")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each side")
    arguments = parser.parse_args()
    files = 1_000 if arguments.quick else 10_000
    keys = 1_100 if arguments.quick else 2_500
    base = Path(tempfile.mkdtemp(prefix="bench-source-sensor-"))
    try:
        local_folder(base, files, arguments.repeat)
        local_namespaces(base, files, arguments.repeat)
        s3_namespaces(base, keys, arguments.repeat)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
