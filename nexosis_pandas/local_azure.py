"""A local Azure Blob Storage: Azurite's blob service on a free loopback port.

Azurite is Microsoft's Azure Storage emulator, an npm package (``npm install -g azurite``, Node
20 or later takes version 3.35). It is found as ``NEXOSIS_AZURITE`` (the path of its
``azurite-blob`` program) or as ``azurite-blob`` on ``PATH``. It keeps its data in memory (or in
a ``location``), sends no telemetry, and is stopped with the process that started it.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from nexosis_pandas.exceptions import ConfigurationError

__all__ = ["ACCOUNT_KEY", "ACCOUNT_NAME", "LocalAzure", "find_azurite"]

ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (  # Azurite's published development key, the same for every installation
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
START_TIMEOUT = 60.0
_LISTENING = re.compile(rb"listens on (http://[\w.\[\]:-]+)")


def find_azurite() -> str:
    """The path of Azurite's ``azurite-blob`` program.

    Raises
    ------
    ConfigurationError
        Neither ``NEXOSIS_AZURITE`` nor ``PATH`` has it; the message says how to install it.
    """
    given = os.environ.get("NEXOSIS_AZURITE", "").strip()
    if given:
        if not os.access(given, os.X_OK):
            raise ConfigurationError(
                f"NEXOSIS_AZURITE is {given!r}, which is not an executable file; point it at "
                "Azurite's azurite-blob program"
            )
        return given
    found = shutil.which("azurite-blob")
    if found is None:
        raise ConfigurationError(
            "The local Azure Blob Storage needs Azurite, the Azure Storage emulator: "
            "npm install -g azurite@3.35.0 (with Node 20 or later), or set NEXOSIS_AZURITE to "
            "the path of its azurite-blob program"
        )
    return found


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux: a pre-exec hook that has the kernel stop Azurite when its parent dies.

    A sandbox process that is killed cannot stop its Azurite; without this it would be left
    running, holding its port.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


class LocalAzure:
    """Azurite's blob service in a child process on ``127.0.0.1`` and a free port.

    Examples
    --------
    >>> with LocalAzure() as azure:  # doctest: +SKIP
    ...     azure.create_container("demo")
    ...     df.nexosis.to_dataset("sales", "az://demo/sales.csv.gz",
    ...                           storage_options=azure.storage_options)
    """

    def __init__(self, host: str = "127.0.0.1", *, location: str | Path | None = None) -> None:
        self.host = host
        self.location = Path(location) if location is not None else None
        self.blob_endpoint = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._drain: threading.Thread | None = None

    def start(self) -> LocalAzure:
        """Start Azurite; return once its blob service listens.

        Raises
        ------
        ConfigurationError
            Azurite is not installed, or did not start (its output is quoted).
        """
        if self._process is not None:
            return self
        program = find_azurite()
        command = [
            program,
            "--blobHost",
            self.host,
            "--blobPort",
            "0",
            *self._storage(),
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ]
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(),
        )
        assert self._process.stdout is not None
        seen: list[bytes] = []
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = self._process.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = _LISTENING.search(line)
            if found:
                self.blob_endpoint = f"{found.group(1).decode()}/{ACCOUNT_NAME}"
                break
        if not self.blob_endpoint:
            self.stop()
            output = b"".join(seen).decode("utf-8", "replace").strip()[-2000:]
            raise ConfigurationError(f"Azurite ({program}) did not start: {output or 'no output'}")
        # Keep reading its output so that a full pipe never blocks it.
        stream = self._process.stdout
        self._drain = threading.Thread(
            target=lambda: stream.read(), name="azurite-output", daemon=True
        )
        self._drain.start()
        return self

    def _storage(self) -> list[str]:
        if self.location is None:
            return ["--inMemoryPersistence", "--extentMemoryLimit", "1024"]
        self.location.mkdir(parents=True, exist_ok=True)
        return ["--location", str(self.location)]

    def stop(self) -> None:
        """Stop Azurite (without a ``location``, its data is gone with it)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        self.blob_endpoint = ""

    @property
    def running(self) -> bool:
        """Whether Azurite runs."""
        return self._process is not None and self._process.poll() is None

    @property
    def connection_string(self) -> str:
        """The connection string that reaches it (Azurite's published development key)."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    @property
    def storage_options(self) -> dict[str, Any]:
        """Options for ``adlfs.AzureBlobFileSystem`` (and pandas' ``storage_options``)."""
        return {"connection_string": self.connection_string}

    def filesystem(self) -> Any:
        """An ``adlfs.AzureBlobFileSystem`` on it (needs the ``azure`` extra)."""
        import adlfs

        return adlfs.AzureBlobFileSystem(skip_instance_cache=True, **self.storage_options)

    def create_container(self, name: str) -> None:
        """Create the container ``name`` (no error if it exists)."""
        fs = self.filesystem()
        if not fs.exists(name):
            fs.mkdir(name)

    def reset(self) -> None:
        """Delete every container and blob."""
        fs = self.filesystem()
        for container in fs.ls(""):
            fs.rm(container.rstrip("/"), recursive=True)

    def __enter__(self) -> LocalAzure:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
