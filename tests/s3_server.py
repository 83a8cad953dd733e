"""A real S3 API for tests: moto's server in a subprocess on 127.0.0.1, polled until it
answers, and stopped with its process group. Credentials are moto's throwaway ones."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from servers import free_port

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "datanectar-test-key",
    "AWS_SECRET_ACCESS_KEY": "datanectar-test-secret-0123456789",
    "AWS_REGION": "us-east-1",
}


@contextmanager
def moto_server(*, checking_credentials: bool = False) -> Iterator[str]:
    """The endpoint URL of a moto S3 server running for the duration of the block;
    `checking_credentials`: it refuses any access key it did not issue (403), as S3 does."""
    port = free_port()
    env = dict(os.environ)
    if checking_credentials:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except urllib.error.HTTPError:  # it answers: refusing an unsigned request
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {endpoint}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


_SHARED: list[str] = []


def shared_endpoint() -> str:
    """One moto server for the whole test process, started on first use and stopped when the
    process exits (tests that need S3 share it; each uses a bucket of its own)."""
    if not _SHARED:
        import atexit

        # The AWS chain of this test process: moto's throwaway credentials, unless a test
        # sets its own (an undone monkeypatch must not leave a store without any).
        for name, value in CREDENTIALS.items():
            os.environ.setdefault(name, value)

        server = moto_server()
        _SHARED.append(server.__enter__())
        atexit.register(server.__exit__, None, None, None)
    return _SHARED[0]


def fresh_bucket(endpoint: str) -> str:
    import uuid

    import boto3

    bucket = f"dn-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["AWS_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=bucket)
    return bucket
