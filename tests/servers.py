"""Dagster's servers in tests: `dagster dev` or `dagster-webserver` in a process group of its
own, polled until ready, queried through GraphQL as the UI queries them, and stopped whole."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SERVER_TIMEOUT = 120  # seconds for a server to answer and load its code location


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _new_group_with_default_sigint() -> None:
    # Its own process group, so teardown reaches the webserver, daemon, code servers and run
    # workers; and Ctrl-C semantics even when pytest itself runs with SIGINT ignored (as a
    # background job does), since dagster dev stops on SIGINT/SIGTERM through KeyboardInterrupt.
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class DevServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-20000:]

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    def wait(self, what: str, ready, timeout: float) -> Any:
        """Poll `ready()` until it returns a truthy value; fail with the server's output."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"dagster dev exited ({self.process.returncode}) while waiting for {what}\n"
                    f"{self.output()}"
                )
            value = ready()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}\n{self.output()}")
            time.sleep(0.5)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C the whole group, then kill whatever is left of it; wait for the leader."""
    pgid = process.pid
    try:
        os.killpg(pgid, signal.SIGINT)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@contextmanager
def running(
    command: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path
) -> Iterator[DevServer]:
    """Start a server command (given `-h 127.0.0.1 -p PORT` by this helper) and stop it after."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_new_group_with_default_sigint,
        )
    server = DevServer(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        yield server
    finally:
        stop_group(process)


def ready(server: DevServer) -> dict[str, Any]:
    """Wait until the server answers and its code location is loaded; the location."""
    server.wait(
        "the webserver's /server_info", lambda: answers(f"{server.url}/server_info"), SERVER_TIMEOUT
    )
    return server.wait("the code location to load", lambda: loaded_location(server), SERVER_TIMEOUT)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


def loaded_location(server: DevServer) -> dict[str, Any] | None:
    """The code location once it is LOADED; fails at once on a load error."""
    workspace = server.graphql(WORKSPACE_QUERY)["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", workspace
    entries = workspace["locationEntries"]
    for entry in entries:
        location = entry["locationOrLoadError"]
        if location and location["__typename"] == "PythonError":
            pytest.fail(f"code location {entry['name']} failed to load: {location}")
    if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
        assert len(entries) == 1, entries
        return entries[0]["locationOrLoadError"]
    return None
