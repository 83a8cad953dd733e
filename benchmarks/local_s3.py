"""A moto S3 server on 127.0.0.1 for the benchmarks, with the credentials they use."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench-key",
    "AWS_SECRET_ACCESS_KEY": "bench-secret-0123456789",
    "AWS_REGION": "us-east-1",
}


def start_moto() -> tuple[str, subprocess.Popen]:
    """The endpoint of a fresh moto server and its process (the caller stops it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            return endpoint, server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")
