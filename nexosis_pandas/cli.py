"""The ``nexosis-pandas`` command.

Each subcommand is a function that adds its parser to :data:`SUBCOMMANDS`'s list; ``main``
dispatches to the handler it sets.

Examples
--------
``nexosis-pandas serve --port 8111`` runs the reference server until Ctrl+C;
``nexosis-pandas demo`` runs the embedded demo; ``nexosis-pandas sandbox stop`` stops the
background sandbox that ``nexosis_pandas.sandbox()`` started (``--delete`` also deletes what it
kept); ``nexosis-pandas --version`` prints the version.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from nexosis_pandas._version import __version__

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

DEFAULT_PORT = 8111


def _add_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the reference Nexosis Imports API server",
        description="Run the reference Nexosis Imports API until SIGINT or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for a free one ({DEFAULT_PORT})"
    )
    parser.add_argument("--data-dir", help="where the store lives (a temporary directory)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="an accepted api key (repeatable); default NEXOSIS_API_KEY, else a generated one",
    )
    parser.add_argument("--s3-endpoint-url", help="S3 endpoint, e.g. a local S3 (AWS)")
    parser.add_argument("--s3-region", help="region for imports that name none (us-east-1)")
    parser.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="let URL and Azure imports reach loopback and private-network addresses; only for "
        "a server used locally, or anyone who may import could reach the network it sits in",
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from nexosis_pandas.exceptions import NexosisError
    from nexosis_pandas.server import DataDirInUseError, ListenError, ReferenceServer
    from nexosis_pandas.server.runner import return_freed_memory

    return_freed_memory()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = ReferenceServer(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        api_keys=args.api_keys,
        s3_endpoint_url=args.s3_endpoint_url,
        s3_region=args.s3_region,
        allow_private_addresses=args.allow_private_addresses,
    )
    try:
        try:
            with _quiet_uvicorn_start():
                server.start()
        except ListenError as exc:
            return _fail(
                f"cannot listen on {exc.host}:{exc.port} (is the port in use?); choose another "
                "with --port, or --port 0 for a free one"
            )
        except DataDirInUseError as exc:
            return _fail(f"{exc}: pass --data-dir another directory, or stop the other server")
        except OSError as exc:
            where = f"--data-dir {args.data_dir}" if args.data_dir else "a temporary data directory"
            return _fail(
                f"cannot create or write {where}: {exc.strerror or exc}; pass --data-dir a "
                "directory you can write to"
            )
        except NexosisError as exc:
            return _fail(str(exc))
        shown = f" (api key: {server.api_key})" if server.api_key_generated else ""
        print(f"Nexosis reference server listening on {server.url}{shown}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _fail(message: str) -> int:
    print(f"nexosis-pandas serve: {message}", file=sys.stderr)
    return 1


@contextlib.contextmanager
def _quiet_uvicorn_start() -> Iterator[None]:
    """Keep uvicorn's own start-up error lines out: the failure is reported in one line."""
    logger = logging.getLogger("uvicorn.error")

    def drop(record: logging.LogRecord) -> bool:
        return False

    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _add_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole journey offline in a sandbox (needs the 'local' extra)",
        description="Import sample sales data into a dataset through a local S3 and the "
        "reference server, show the history and read the dataset back.",
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from nexosis_pandas._demo import run_demo
    from nexosis_pandas.exceptions import NexosisError

    try:
        run_demo()
    except (NexosisError, AssertionError) as exc:
        print(f"nexosis-pandas demo failed: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_sandbox(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="start, stop or look at the background sandbox of nexosis_pandas.sandbox()",
        description="The sandbox that nexosis_pandas.sandbox() runs in the background, kept in "
        "NEXOSIS_SANDBOX_DIR or a per-user directory.",
    )
    parser.add_argument(
        "action",
        choices=["status", "start", "stop", "run"],
        help="status: is it running; start: in the background; stop: stop it; "
        "run: in the foreground until Ctrl+C",
    )
    parser.add_argument(
        "--dir", help="the sandbox's directory (NEXOSIS_SANDBOX_DIR, else per user)"
    )
    parser.add_argument(
        "--delete", action="store_true", help="with stop: also delete everything it kept"
    )
    parser.add_argument(
        "--azure",
        action="store_true",
        help="with start or run: also a local Azure Blob Storage (Azurite, from npm)",
    )
    parser.set_defaults(handler=_sandbox)


def _sandbox(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nexosis_pandas._sandbox_process import read_state, sandbox_dir, stop_sandbox
    from nexosis_pandas.exceptions import NexosisError
    from nexosis_pandas.sandbox import run_sandbox, sandbox

    home = sandbox_dir() if args.dir is None else Path(args.dir)
    if args.action == "run":
        from nexosis_pandas.server.runner import return_freed_memory

        return_freed_memory()  # a process of its own, as ``serve``'s: memory flat after imports
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, request_stop)
        return run_sandbox(home, stop=stop, azure=args.azure)
    if args.action == "stop":
        stopped = stop_sandbox(home, delete=args.delete)
        print(
            f"sandbox in {home}: "
            + ("stopped" if stopped else "was not running")
            + (", its data deleted" if args.delete else "")
        )
        return 0
    if args.action == "start":
        try:
            sb = sandbox(data_dir=home, azure=args.azure)
        except NexosisError as exc:
            print(f"nexosis-pandas sandbox: {exc}", file=sys.stderr)
            return 1
        print(f"sandbox in {home}: running at {sb.api_url}")
        return 0
    state = read_state(home)
    if state is None:
        print(f"sandbox in {home}: not running")
        return 3
    print(f"sandbox in {home}: running at {state['api_url']} (pid {state['pid']})")
    return 0


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    _add_serve,
    _add_demo,
    _add_sandbox,
]
"""Functions that each add one subcommand; append to add another."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nexosis-pandas", description="nexosis-pandas: tools around the Nexosis Imports API."
    )
    parser.add_argument("--version", action="version", version=f"nexosis-pandas {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nexosis-pandas`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
