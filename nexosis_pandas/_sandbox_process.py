"""The background sandbox process: where it keeps everything, how it is found, started, stopped.

:func:`nexosis_pandas.sandbox` starts :func:`~nexosis_pandas.sandbox.run_sandbox` in a
process of its own (``nexosis-pandas sandbox run``) that outlives the kernel. The process holds
``<dir>/lock`` for its whole life (:func:`holding`) and writes ``<dir>/state.json`` (how to
reach it) while it runs (:func:`published`); a kernel finds it through both
(:func:`read_state`), and :func:`stop_sandbox` ends it. This module never builds the sandbox
itself: :mod:`nexosis_pandas.sandbox`, above it, does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nexosis_pandas.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_BUCKET",
    "holding",
    "published",
    "read_state",
    "sandbox_dir",
    "spawn",
    "start_lock",
    "stop_sandbox",
]

DEFAULT_BUCKET = "nexosis-sandbox"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0

_children: list[subprocess.Popen[bytes]] = []  # kept so that their exit is reaped


def sandbox_dir() -> Path:
    """Where :func:`sandbox` keeps its state: ``NEXOSIS_SANDBOX_DIR``, else a per-user directory.

    The per-user directory is ``$XDG_DATA_HOME/nexosis-pandas/sandbox`` (by default
    ``~/.local/share/nexosis-pandas/sandbox``); ``%LOCALAPPDATA%\\nexosis-pandas\\sandbox`` on
    Windows.

    Examples
    --------
    >>> sandbox_dir()  # doctest: +SKIP
    PosixPath('/home/me/.local/share/nexosis-pandas/sandbox')
    """
    explicit = os.environ.get("NEXOSIS_SANDBOX_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":  # pragma: no cover - not run on CI
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "nexosis-pandas" / "sandbox"


def read_state(home: Path) -> dict[str, Any] | None:
    """The running sandbox's state, or ``None`` (a state file left by a killed one is removed)."""
    state_file = home / "state.json"
    if not state_file.exists():
        return None
    if not locked(home):
        state_file.unlink(missing_ok=True)  # its process is gone: stale
        return None
    try:
        state: dict[str, Any] = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return state


def locked(home: Path) -> bool:
    """Whether a live process holds ``<home>/lock`` (a lock dies with its process)."""
    import fcntl

    try:
        fd = os.open(home / "lock", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also releases a lock it took
    return False


@contextlib.contextmanager
def start_lock(home: Path) -> Iterator[None]:
    """Held while one kernel looks for a sandbox and starts one: two kernels start one, not two."""
    import fcntl

    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def spawn(home: Path, *, azure: bool = False) -> dict[str, Any]:
    """Start ``nexosis-pandas sandbox run`` in a session of its own; return its state once ready."""
    for name in ("moto.server", "fastapi", "uvicorn"):  # say what to install here, not in the log
        if not _importable(name):
            raise ConfigurationError(
                "The sandbox needs the 'local' extra (moto's S3 server, FastAPI, uvicorn): "
                f"pip install 'nexosis-pandas[local]' (missing: {name})"
            )
    deadline = time.monotonic() + STOP_TIMEOUT
    while locked(home) and time.monotonic() < deadline:  # one still saving on its way out
        time.sleep(0.05)
    log_path = home / "sandbox.log"
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "nexosis_pandas.cli", "sandbox", "run", "--dir", str(home)]
            + (["--azure"] if azure else []),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not in the kernel's process group: a restart spares it
            close_fds=True,
        )
    _children.append(child)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        state = read_state(home)
        if state is not None and state.get("pid") == child.pid:
            return state
        if child.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise ConfigurationError(
                f"The sandbox process ended at start (exit status {child.returncode}): "
                + " / ".join(tail)
                + f" (log: {log_path})"
            )
        time.sleep(0.05)
    child.terminate()
    raise ConfigurationError(
        f"The sandbox process did not start within {START_TIMEOUT:.0f} s (log: {log_path})"
    )


def _importable(name: str) -> bool:
    import importlib.util

    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def stop_sandbox(home: str | Path | None = None, *, delete: bool = False) -> bool:
    """Stop the background sandbox kept in ``home`` (by default :func:`sandbox_dir`).

    Waits until its process has exited. ``delete=True`` then deletes
    everything it kept, so the next start is a fresh one.

    Returns
    -------
    bool
        Whether a running sandbox was stopped.

    Examples
    --------
    >>> stop_sandbox()  # doctest: +SKIP
    True
    """
    home = Path(home) if home is not None else sandbox_dir()
    state = read_state(home)
    if state is not None:
        pid = int(state["pid"])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while locked(home) and time.monotonic() < deadline:
            time.sleep(0.05)
        if locked(home):  # pragma: no cover - a process that ignores SIGTERM
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while locked(home):
                time.sleep(0.05)
        for child in [c for c in _children if c.pid == pid]:
            child.wait()
            _children.remove(child)
        (home / "state.json").unlink(missing_ok=True)
    if delete:
        for part in ("server", "s3", "state.json", "sandbox.log"):
            path = home / part
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(True)
    return state is not None


@contextlib.contextmanager
def holding(home: Path) -> Iterator[bool]:
    """Hold ``<home>/lock`` for the life of a background sandbox.

    Yields ``False`` at once when another live sandbox already holds it. The lock is released
    when the block ends, and the operating system releases it if the process dies.
    """
    import fcntl

    fd = os.open(home / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def published(home: Path, state: dict[str, Any]) -> Iterator[None]:
    """Write ``state`` to ``<home>/state.json`` for the block, and remove the file after it.

    The file is written whole under another name and then renamed, so a kernel reading it
    never sees half of it; only the user can read it, since it holds the api key.
    """
    temp = home / "state.json.tmp"
    temp.unlink(missing_ok=True)
    with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        json.dump(state, out)
    os.replace(temp, home / "state.json")
    try:
        yield
    finally:
        (home / "state.json").unlink(missing_ok=True)
