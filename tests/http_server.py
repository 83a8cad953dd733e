"""A static file server on 127.0.0.1 for the http store's tests: GET and HEAD of the files
under a folder (no listings), Range requests (206 with Content-Range), ETag and Last-Modified,
and bearer or basic auth."""

from __future__ import annotations

import base64
import email.utils
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

PREFIX = "/data/"


@dataclass
class Served:
    """What the server serves and how it answers; the tests change it while it runs."""

    root: Path
    port: int = 0
    authorization: str | None = None
    """The Authorization header every request must carry (None: no auth)."""
    delay: float = 0.0
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Range header) of every request."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    def bearer(self, token: str) -> None:
        self.authorization = f"Bearer {token}"

    def basic(self, user: str, password: str) -> None:
        self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _fail(self, status: int, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _answer(self, *, body: bool) -> None:
            served.requests.append((self.command, self.path, self.headers.get("Range")))
            if served.delay:
                time.sleep(served.delay)
            if served.authorization is not None:
                if self.headers.get("Authorization") != served.authorization:
                    self._fail(401, {"WWW-Authenticate": 'Bearer realm="test"'})
                    return
            path = unquote(urlsplit(self.path).path)
            if not path.startswith(PREFIX) or ".." in path.split("/"):
                self._fail(404)
                return
            file = served.root / path[len(PREFIX) :]
            if not file.is_file():
                self._fail(404)
                return
            data = file.read_bytes()
            stat = file.stat()
            start, end, status = 0, len(data) - 1, 200
            asked = self.headers.get("Range")
            if asked and asked.startswith("bytes="):
                first, _, last = asked[len("bytes=") :].partition("-")
                if first:
                    start, end = int(first), min(int(last) if last else end, end)
                else:
                    start = max(0, len(data) - int(last))
                if start > end:
                    self._fail(416, {"Content-Range": f"bytes */{len(data)}"})
                    return
                status = 206
            self.send_response(status)
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"')
            self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.end_headers()
            if body:
                self.wfile.write(data[start : end + 1])

    return Handler


@contextmanager
def serving(root: Path) -> Iterator[Served]:
    """Serve the files under `root` at http://127.0.0.1:<a free port>/data/ while inside."""
    served = Served(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    server.daemon_threads = True
    served.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def touch_later(path: Path) -> None:
    """Move `path`'s modification time on, as rewriting it a second later would."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
