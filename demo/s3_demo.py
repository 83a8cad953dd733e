"""`make demo-s3`: the demo, unchanged, with its results on S3.

Starts a moto S3 server on 127.0.0.1, creates the demo's bucket, runs `make demo` with
DATANECTAR_ENV=s3 (the `s3` environment of pyproject.toml: the default store becomes the
bucket), checks what landed there with boto3, materializes the versioned model_coefficients
once more (the same content: the new version reuses the stored bytes, nothing is uploaded
again), and stops the server, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUCKET = "datanectar-demo"
BUCKET_PREFIX = "demo"  # the lake store's prefix (pyproject.toml)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "demo-key",
    "AWS_SECRET_ACCESS_KEY": "demo-secret-not-a-real-one",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(endpoint: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"moto_server did not start on {endpoint}") from None
            time.sleep(0.1)


def check_versions(env: dict[str, str]) -> int:
    """Materialize model_coefficients again: a second version, deduplicated against the first."""
    again = [str(BIN / "dagster"), "asset", "materialize", "-f", "definitions.py"]
    run = subprocess.run(
        [*again, "--select", "model_coefficients"], cwd=ROOT, env=env, capture_output=True
    )
    if run.returncode != 0:
        sys.stderr.write(run.stdout.decode() + run.stderr.decode())
        return run.returncode
    listing = [str(BIN / "datanectar"), "versions", "model_coefficients"]
    subprocess.run(listing, cwd=ROOT, env=env, check=True)
    versions = json.loads(
        subprocess.run(
            [*listing, "--json"], cwd=ROOT, env=env, check=True, capture_output=True
        ).stdout
    )
    newest = max(versions, key=lambda version: version["created"])
    if len(versions) < 2 or newest["stored_with"] is None:
        print("demo-s3: the second model_coefficients did not reuse the first", file=sys.stderr)
        return 1
    print(f"demo-s3: model_coefficients {newest['label']} reuses {newest['stored_with']}")
    return 0


def main() -> int:
    import boto3

    endpoint = f"http://127.0.0.1:{free_port()}"
    port = endpoint.rsplit(":", 1)[1]
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", port],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(endpoint, server)
        env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "DATANECTAR_ENV": "s3"}
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=BUCKET)
        print(f"demo-s3: moto S3 on {endpoint}, bucket {BUCKET}; make demo with DATANECTAR_ENV=s3")
        run = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, env=env)
        if run.returncode != 0:
            return run.returncode
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for item in page.get("Contents", [])
        ]
        tops = sorted({key.split("/")[1] for key in keys if key.startswith("demo/")})
        print(f"demo-s3: {len(keys)} objects under s3://{BUCKET}/demo/: {', '.join(tops)}")
        pointers = [key for key in keys if key.endswith(".datanectar-pointer")]
        for key in pointers:
            prefix = json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())["prefix"]
            print(f"demo-s3: {key} -> {prefix}")
        if not keys or not any("_delta_log/" in key for key in keys) or not pointers:
            print("demo-s3: expected Delta tables and published zarr stores on S3", file=sys.stderr)
            return 1
        report = f"{BUCKET_PREFIX}/reports/stations.datanectar-pointer"
        if report not in pointers or not any(
            key.startswith(f"{BUCKET_PREFIX}/models/coefficients/_manifests/") for key in keys
        ):
            print("demo-s3: expected the station_report folder and a version of", file=sys.stderr)
            print("model_coefficients on S3", file=sys.stderr)
            return 1
        return check_versions(env)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
