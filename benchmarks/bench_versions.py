"""Versioned entries: what a new version of unchanged content costs, and what verifying costs.

Two figures, each side by side in one run (medians of interleaved runs):

* on S3 (a moto server on 127.0.0.1): `catalog.save` of a versioned pickle whose content is
  unchanged (hashed on this machine's disk, nothing uploaded) vs the first write of it
  (target <= 0.3x);
* on local disk: `catalog.load` of that versioned pickle, every byte checked against the
  manifest's sha256, vs the load of the same value as an entry that is not versioned
  (nothing checked; aim <= 1.3x).

    python benchmarks/bench_versions.py           # a 500 MB artifact
    python benchmarks/bench_versions.py --quick   # 20 MB, a smoke run
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import numpy as np

import datanectar
from bench_s3 import CREDENTIALS, start_moto, timed
from throwaway import make_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 MB, a smoke run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each side")
    arguments = parser.parse_args()
    megabytes = 20 if arguments.quick else 500
    artifact = {"weights": np.random.default_rng(0).normal(size=megabytes * 1_000_000 // 8)}

    os.environ.update(CREDENTIALS)
    endpoint, server = start_moto()
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        project = make_project(
            Path(tempfile.mkdtemp(prefix="bench-versions-")),
            "".join(
                f"on_s3_{run}: {{format: pickle, store: lake, versioned: true}}\n"
                for run in range(arguments.repeat)
            )
            + "kept: {format: pickle, versioned: true}\n"
            "plain: {format: pickle}\n",
        )
        with (project / "pyproject.toml").open("a") as pyproject:
            pyproject.write(
                f'\n[tool.datanectar.stores.lake]\ntype = "s3"\nbucket = "{bucket}"\n'
                f'endpoint_url = "{endpoint}"\n'
            )
        catalog = datanectar.catalog(project)

        firsts, agains = [], []
        for run in range(arguments.repeat):  # a fresh entry each run: a first write each time
            name = f"on_s3_{run}"
            firsts.append(timed(lambda name=name: catalog.save(name, artifact)))
            start = time.perf_counter()
            report = catalog.save(name, artifact)
            agains.append(time.perf_counter() - start)
            assert report.deduplicated
        first, unchanged = statistics.median(firsts), statistics.median(agains)

        catalog.save("kept", artifact)
        catalog.save("plain", artifact)
        verified, plain = [], []
        for _ in range(arguments.repeat):
            verified.append(timed(lambda: catalog.load("kept")))
            plain.append(timed(lambda: catalog.load("plain")))
        checked, unchecked = statistics.median(verified), statistics.median(plain)

        print(f"a {megabytes} MB pickle, {arguments.repeat} runs each")
        print(f"{'figure':44} {'datanectar s':>13} {'baseline s':>11} {'ratio':>6} {'target':>7}")
        print(
            f"{'unchanged new version on S3 vs first write':44} {unchanged:13.3f} {first:11.3f}"
            f" {unchanged / first:6.2f} {0.3:7.2f}"
        )
        print(
            f"{'verified load vs unverified load':44} {checked:13.3f} {unchecked:11.3f}"
            f" {checked / unchecked:6.2f} {1.3:7.2f}"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
