"""Helpers of the reliability suite: fast-retrying clients, S3 objects, a server process."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from nexosis_pandas._client import Client
from nexosis_pandas._http import DEFAULT_RETRY, HTTPTransport

BUCKET = "test-bucket"
READY = re.compile(r"listening on (http://127\.0\.0\.1:(\d+)/v1)")


def port_of(url: str) -> int:
    """The port of ``http://127.0.0.1:PORT/...``."""
    match = re.match(r"https?://127\.0\.0\.1:(\d+)", url)
    assert match, url
    return int(match.group(1))


def fast_client(base_url: str, api_key: str, **kwargs: Any) -> Client:
    """A client whose retries back off in tens of milliseconds, not seconds."""
    retry = DEFAULT_RETRY.new(backoff_factor=0.02, backoff_max=0.2)
    transport = HTTPTransport(base_url, api_key, retry=retry, **kwargs)
    return Client(transport=transport)


def put_csv(fs: Any, path: str, rows: int, *, start: int = 0) -> str:
    """Write ``id,value`` rows to ``test-bucket/path``; return ``path``."""
    lines = ["id,value", *(f"{i},{i * 0.5}" for i in range(start, start + rows))]
    fs.pipe(f"{BUCKET}/{path}", ("\n".join(lines) + "\n").encode())
    return path


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.02)


class ServerProcess:
    """``nexosis-pandas serve`` in a subprocess (so it can be killed with SIGKILL)."""

    def __init__(self, data_dir: Path, api_key: str, s3_endpoint_url: str) -> None:
        self.data_dir = data_dir
        self.api_key = api_key
        self.s3_endpoint_url = s3_endpoint_url
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout: float = 60) -> ServerProcess:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        env.pop("NEXOSIS_API_KEY", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nexosis_pandas.cli",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(self.data_dir),
                "--api-key",
                self.api_key,
                "--s3-endpoint-url",
                self.s3_endpoint_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read(stream: Any) -> None:
            for line in stream:
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"the server did not start: {''.join(self.output)}"
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, f"the server exited: {''.join(self.output)}"
            match = READY.search(line)
            if match:
                self.url = match.group(1)
                return self

    @property
    def port(self) -> int:
        return port_of(self.url)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(
            self.url + path, headers={"api-key": self.api_key}, timeout=30, **kwargs
        )
