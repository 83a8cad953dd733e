"""The s3 store against the storage libraries called directly, on the same S3 API.

A moto S3 server runs on 127.0.0.1 for the whole run. For each format the same value is
written and read back, two ways, against that one server:

* datanectar: `catalog.save` then `catalog.load` of an entry on an `s3` store (staging and
  a server-side copy for parquet, a pointer replaced for zarr, deltalake's commit for delta);
* direct: the library call a user would write by hand (pyarrow.parquet with s3fs,
  deltalake.write_deltalake, xarray's to_zarr / open_zarr with s3fs).

Runs are interleaved (A, B, A, B, ...) after one untimed warm-up of each; the table shows the
medians and the ratio datanectar / direct (targets: parquet and delta <= 1.10, zarr <= 1.15).

    python benchmarks/bench_s3.py            # 1M-row frames, ~200 MB grid
    python benchmarks/bench_s3.py --quick    # small data, a smoke run
    python benchmarks/bench_s3.py --retire-at-once   # replaced zarr versions removed at once

A replaced zarr version stays readable for an hour (`RETIRED_GRACE_SECONDS`), so datanectar's
side leaves one 200 MB version per run in moto, which keeps every object in its own memory and
slows down as they pile up (the direct side overwrites one); `--retire-at-once` removes each
at the next publish instead, which is what S3 itself, indifferent to what it holds, measures.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import deltalake
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import s3fs
import xarray as xr

import datanectar
from local_s3 import CREDENTIALS, start_moto
from throwaway import make_project

TARGETS = {"parquet": 1.10, "delta": 1.10, "zarr": 1.15}


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "station": rng.integers(0, 500, rows),
            "temp": rng.normal(12, 8, rows),
            "when": pd.date_range("2020-01-01", periods=rows, freq="min"),
            "name": rng.choice(["paris", "lyon", "oslo", "lima"], rows),
        }
    )


def grid(megabytes: int) -> xr.Dataset:
    times = max(megabytes * 1_000_000 // (8 * 250 * 100), 1)
    values = np.random.default_rng(0).normal(size=(times, 250, 100))
    dataset = xr.Dataset(
        {"air": (("time", "lat", "lon"), values)},
        coords={"time": pd.date_range("2000-01-01", periods=times, freq="D")},
    )
    return dataset.chunk({"time": max(times // 8, 1)})


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, a smoke run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each side")
    parser.add_argument(
        "--retire-at-once",
        action="store_true",
        help="remove a replaced zarr version at the next publish, not an hour later",
    )
    arguments = parser.parse_args()
    if arguments.retire_at_once:
        from datanectar.stores import s3 as s3_store

        s3_store.RETIRED_GRACE_SECONDS = 0.0
    rows = 10_000 if arguments.quick else 1_000_000
    megabytes = 5 if arguments.quick else 200

    os.environ.update(CREDENTIALS)
    endpoint, server = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        project = make_project(
            Path(tempfile.mkdtemp(prefix="bench-s3-")),
            "t_parquet: {format: parquet, store: lake}\n"
            "t_delta: {format: delta, store: lake}\n"
            "t_zarr: {format: zarr, store: lake}\n",
        )
        with (project / "pyproject.toml").open("a") as pyproject:
            pyproject.write(
                f'\n[tool.datanectar.stores.lake]\ntype = "s3"\nbucket = "{bucket}"\n'
                f'prefix = "datanectar"\nendpoint_url = "{endpoint}"\n'
            )
        catalog = datanectar.catalog(project)
        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
        delta_options = {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true"}
        table, dataset = frame(rows), grid(megabytes)

        def direct_parquet() -> None:
            path = f"{bucket}/direct/t.parquet"
            pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path, filesystem=fs)
            pq.read_table(path, filesystem=fs).to_pandas()

        def direct_delta() -> None:
            uri = f"s3://{bucket}/direct/t_delta"
            deltalake.write_deltalake(uri, table, mode="overwrite", storage_options=delta_options)
            deltalake.DeltaTable(uri, storage_options=delta_options).to_pandas()

        def direct_zarr() -> None:
            uri = f"s3://{bucket}/direct/t.zarr"
            options = {"client_kwargs": {"endpoint_url": endpoint}}
            dataset.to_zarr(
                uri, mode="w", storage_options=options, zarr_format=2, consolidated=True
            )
            xr.open_zarr(uri, storage_options=options).load()

        def through(name: str, value: object) -> Callable[[], None]:
            def run() -> None:
                catalog.save(name, value)
                loaded = catalog.load(name)
                if hasattr(loaded, "load"):
                    loaded.load()

            return run

        cases = {
            "parquet": (through("t_parquet", table), direct_parquet),
            "delta": (through("t_delta", table), direct_delta),
            "zarr": (through("t_zarr", dataset), direct_zarr),
        }
        print(f"{rows:,} rows, a {megabytes} MB grid, {arguments.repeat} interleaved runs each")
        print(f"{'format':8} {'datanectar s':>13} {'direct s':>9} {'ratio':>6} {'target':>7}")
        for name, (ours, theirs) in cases.items():
            ours(), theirs()  # warm-up: connections, imports, the first table version
            mine, direct = [], []
            for _ in range(arguments.repeat):
                mine.append(timed(ours))
                direct.append(timed(theirs))
            a, b = statistics.median(mine), statistics.median(direct)
            print(f"{name:8} {a:13.3f} {b:9.3f} {a / b:6.2f} {TARGETS[name]:7.2f}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
