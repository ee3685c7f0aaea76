"""A real HTTP server on a free loopback port that serves files the way remote hosts do.

Routes: ``/files/<name>`` serves a registered body (``add``); ``/private/<name>`` the same behind
basic auth; ``/redirect/<n>/<path>`` redirects ``n`` times, then to ``<path>``;
``/to?url=...`` redirects to any URL; ``/status/<code>``; ``/slow`` answers after a delay;
``/trickle`` sends a byte at a time; ``/huge`` sends zeros without end (or to its
``Content-Length``); ``/gzip/<name>`` sends a body with ``Content-Encoding: gzip``. Every request's
``Authorization`` header is recorded in ``seen_auth`` by path.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

USER, PASSWORD = "ada", "s3cret-pa55word"


class FileServer:
    """The server; ``url(path)`` gives ``http://127.0.0.1:<port><path>``."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str | None]] = {}
        self.seen_auth: dict[str, str | None] = {}
        self.slow_seconds = 5.0
        self.stop_event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.seen_auth[urlsplit(self.path).path] = self.headers.get("Authorization")
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    outer._route(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, name: str, body: str | bytes, content_type: str | None = None) -> str:
        """Serve ``body`` at ``/files/<name>`` (and ``/private/<name>``); return its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.files[name] = (data, content_type)
        return self.url(f"/files/{name}")

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the routes ----------------------------------------------------------------------------
    def _route(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        segments = parts.path.strip("/").split("/")
        head = segments[0]
        if head == "files" and len(segments) == 2 and segments[1] in self.files:
            body, kind = self.files[segments[1]]
            self._send(h, 200, body, kind)
        elif head == "private" and len(segments) == 2 and segments[1] in self.files:
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if h.headers.get("Authorization") != expected:
                self._send(h, 401, b"who are you?", "text/plain", {"WWW-Authenticate": "Basic"})
                return
            body, kind = self.files[segments[1]]
            self._send(h, 200, body, kind)
        elif head == "redirect" and len(segments) >= 3:
            left = int(segments[1])
            rest = "/".join(segments[2:])
            target = f"/redirect/{left - 1}/{rest}" if left > 1 else f"/{rest}"
            self._send(h, 302, b"", None, {"Location": target})
        elif head == "to":
            target = parse_qs(parts.query)["url"][0]
            self._send(h, 302, b"", None, {"Location": target})
        elif head == "status" and len(segments) == 2:
            self._send(h, int(segments[1]), b"nope", "text/plain")
        elif head == "slow":
            self.stop_event.wait(self.slow_seconds)
            self._send(h, 200, b"a,b\n1,2\n", "text/csv")
        elif head == "trickle":
            h.send_response(200)
            h.send_header("Content-Type", "text/csv")
            h.send_header("Content-Length", "1000000")
            h.end_headers()
            h.wfile.write(b"a,b\n")
            for _ in range(1000):
                if self.stop_event.wait(0.05):
                    return
                h.wfile.write(b"1")
                h.wfile.flush()
        elif head == "huge":
            declared = parse_qs(parts.query).get("length", [None])[0]
            h.send_response(200)
            h.send_header("Content-Type", "text/csv")
            if declared:
                h.send_header("Content-Length", declared)
            else:
                h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(b"a,b\n")
            block = b"1,2\n" * 16384
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not self.stop_event.is_set():
                h.wfile.write(block)
        elif head == "gzip" and len(segments) == 2 and segments[1] in self.files:
            body, kind = self.files[segments[1]]
            self._send(h, 200, gzip.compress(body), kind, {"Content-Encoding": "gzip"})
        else:
            self._send(h, 404, b"no such file", "text/plain")

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        if content_type:
            h.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
