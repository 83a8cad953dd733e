"""`make demo-s3`: the demo, unchanged, with its results on S3.

Starts a moto S3 server on 127.0.0.1, creates the demo's bucket, runs `make demo` with
DATANECTAR_ENV=s3 (the `s3` environment of pyproject.toml: the default store becomes the
bucket), checks what landed there with boto3, and stops the server, whatever happened.
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
        return 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
