"""A real S3 API for tests: moto's server in a subprocess on 127.0.0.1, polled until it
answers, and stopped with its process group. Credentials are moto's throwaway ones."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
def moto_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server running for the duration of the block."""
    port = free_port()
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
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
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {endpoint}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
