"""Benchmark: the reference server's import and read-back paths against ``pandas.read_csv``.

Run ``python benchmarks/bench_server_import.py [--rows 1000000 3000000] [--file to_csv nexosis]
[--process serve sandbox]``. For each number of rows and each file it uploads a gzipped CSV of
N rows x 10 mixed columns (``to_csv``: written by ``DataFrame.to_csv``; ``nexosis``: the frame
of ``bench_upload.py`` as ``upload_dataframe`` writes it, every name and text quoted and dates
with their offsets) to moto's S3, reads it with ``pandas.read_csv`` (in a child process, so
that its memory is measured on its own) as the yardstick, and imports it into the reference
server as each process runs it: ``nexosis-pandas serve`` (moto's S3 in a process of its own)
and ``nexosis-pandas sandbox run`` (the background process of ``nexosis_pandas.sandbox()``,
its own local S3 inside). It prints, in one run:

- append, keyed (key + timestamp columns, into a new dataset) and upsert (the same rows
  again: every row replaces one) import rows/s, POST to completed, as a multiple of
  ``read_csv``, and the p99 of ``GET /imports/{id}`` meanwhile;
- the server process's peak RSS growth over each import (sampled with psutil), and its RSS
  after it (a one-row import first loads what every import needs, measured apart);
- DuckDB on the same file (2 threads), when it is installed: ``read_csv`` into a table, a
  keyed insert into a table with the same primary key, and ``INSERT OR REPLACE`` of the rows;
- for ``serve``: ``GET /data/{name}`` latency of a 1000-row page at offsets 0, middle and end,
  and ``read_dataset`` rows/s (the client's bulk read);
- ``import_history()`` of ``--history`` imports, half of them failed with a message;
- a summary table of every run's multiples and memory.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import requests

BUCKET = "bench-bucket"
KEY = "bench/rows.csv.gz"
MOTO = """
import sys
from nexosis_pandas._local_s3 import LocalS3
s3 = LocalS3().start()
s3.create_bucket("bench-bucket")
print(s3.endpoint_url, flush=True)
sys.stdin.read()
"""


class PeakRSS:
    """Samples a process's RSS every few milliseconds and keeps the peak."""

    def __init__(self, pid: int | None = None, interval: float = 0.005) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(self._interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_csv_gz(rows: int) -> bytes:
    from isal import igzip

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "when": pd.date_range("2000-01-01", periods=rows, freq="min"),
            "store": rng.choice(["north", "south", "east", "west, inner"], rows),
            "sales": rng.normal(1000, 250, rows).round(2),
            "units": rng.integers(0, 500, rows),
            "open": rng.choice([True, False], rows),
            "temperature": rng.normal(15, 8, rows).round(3),
            "note": rng.choice(["plain", 'with "quotes"', "two\nlines", "ünïcode"], rows),
            "code": [f"C{i % 9973:05d}" for i in range(rows)],
            "ratio": rng.random(rows),
        }
    )
    return bytes(igzip.compress(frame.to_csv(index=False).encode("utf-8"), 1))


def make_file(rows: int, kind: str) -> tuple[bytes, dict[str, Any]]:
    """The gzipped file, and the column metadata that keys it (key and timestamp)."""
    if kind == "to_csv":
        return make_csv_gz(rows), {"id": {"role": "key"}, "when": {"role": "timestamp"}}
    import bench_upload

    from nexosis_pandas._encode.encoder import encode_dataframe

    payload = b"".join(encode_dataframe(bench_upload.make_frame(rows)))
    return payload, {"id": {"role": "key"}, "ordered_at": {"role": "timestamp"}}


def pandas_yardstick(storage_options: dict[str, Any], queue: Any) -> None:
    process = psutil.Process()
    with PeakRSS() as rss:
        start = time.perf_counter()
        frame = pd.read_csv(f"s3://{BUCKET}/{KEY}", storage_options=storage_options)
        seconds = time.perf_counter() - start
    queue.put((len(frame), seconds, rss.baseline, rss.peak, process.memory_info().rss))


def _import(session: Any, url: str, body: dict[str, Any]) -> tuple[float, list[float], Any]:
    """POST the import and poll it to the end: (seconds, poll latencies, final body)."""
    latencies: list[float] = []
    start = time.perf_counter()
    response = session.post(f"{url}/imports/s3", json=body, timeout=60)
    response.raise_for_status()
    import_id = response.json()["importId"]
    while True:
        asked = time.perf_counter()
        answer = session.get(f"{url}/imports/{import_id}", timeout=60).json()
        latencies.append(time.perf_counter() - asked)
        if answer["status"] in ("completed", "failed"):
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if answer["status"] != "completed":
        raise SystemExit(f"import failed: {answer['messages']}")
    return seconds, latencies, answer


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


def _record_history(store: Any, count: int) -> None:
    from nexosis_pandas._wire import ImportStatus

    for i in range(count):
        import_id = f"{i:08x}-0000-4000-8000-000000000000"
        store.create_import(
            import_id=import_id,
            dataset_name=f"history-{i % 50}",
            parameters={"bucket": BUCKET, "path": f"h/{i}.csv", "region": "us-east-1"},
            columns={},
            content_type=None,
        )
        store.set_status(import_id, ImportStatus.STARTED)
        if i % 2:
            message = f"Malformed row at line {i}: the value 'x' in column 'a' does not fit"
            store.set_status(import_id, ImportStatus.FAILED, messages=[("error", message)])
        else:
            store.set_status(
                import_id, ImportStatus.COMPLETED, messages=[("informational", "Imported 1 rows")]
            )


MIB = 2**20


def start_sandbox(home: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``nexosis-pandas sandbox run`` in ``home``, as ``nexosis_pandas.sandbox()`` starts it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nexosis_pandas.cli", "sandbox", "run", "--dir", home],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    state_file = Path(home) / "state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state_file.exists():
            try:
                state = json.loads(state_file.read_text())
            except ValueError:
                state = {}
            if state.get("pid") == process.pid:
                return process, state
        time.sleep(0.1)
    process.terminate()
    raise SystemExit("the sandbox did not start")


def run_imports(
    session: Any,
    url: str,
    pid: int,
    bucket: str,
    key_columns: dict[str, Any],
    rows: int,
    pd_rate: float,
    fs: Any,
) -> dict[str, tuple[float, float]]:
    """The three imports of the file at ``bucket/KEY``: {label: (x read_csv, MiB above start)}."""
    server_process = psutil.Process(pid)
    body = {"dataSetName": "bench", "bucket": bucket, "path": KEY}
    keyed = {"dataSetName": "keyed", "columns": key_columns}
    # The server's first import loads s3fs and botocore: measured apart, once.
    fs.pipe(f"{bucket}/warmup.csv", b"a,b\n1,x\n")
    with PeakRSS(pid) as rss:
        _import(session, url, {"dataSetName": "warmup", "bucket": bucket, "path": "warmup.csv"})
    print(
        f"  first import (one row, loads s3fs and botocore once): server RSS "
        f"+{(rss.peak - rss.baseline) / MIB:,.0f} MiB (idle server {rss.baseline / MIB:,.0f} MiB)"
    )
    results: dict[str, tuple[float, float]] = {}
    for label, extra in (("append", {}), ("keyed", keyed), ("upsert", keyed)):
        with PeakRSS(pid) as rss:
            seconds, latencies, _ = _import(session, url, {**body, **extra})
        rate = rows / seconds
        growth = (rss.peak - rss.baseline) / MIB
        results[label] = (rate / pd_rate, growth)
        print(
            f"  {label} import: {rate:,.0f} rows/s ({seconds:.2f} s, POST to completed) = "
            f"{rate / pd_rate:.2f}x read_csv; server RSS +{growth:,.0f} MiB (peak "
            f"{rss.peak / MIB:,.0f} MiB, after {server_process.memory_info().rss / MIB:,.0f} MiB); "
            f"GET /imports/{{id}} meanwhile: {len(latencies)} polls, median "
            f"{statistics.median(latencies) * 1000:.1f} ms, p99 "
            f"{_percentile(latencies, 0.99):.1f} ms"
        )
    return results


def read_back(session: Any, url: str, rows: int, pd_rate: float) -> None:
    """Pages of the appended dataset at three offsets, and the client's bulk read."""
    from nexosis_pandas._client import Client

    count = session.get(f"{url}/data/bench", params={"pageSize": 1}).json()
    total = count["totalCount"]
    assert total == rows, total
    pages = []
    for where, page in (("0", 0), ("middle", total // 2000), ("end", total // 1000 - 1)):
        timings = []
        for _ in range(5):
            asked = time.perf_counter()
            session.get(
                f"{url}/data/bench", params={"page": page, "pageSize": 1000}, timeout=60
            ).raise_for_status()
            timings.append((time.perf_counter() - asked) * 1000)
        pages.append(f"{where} {statistics.median(timings):.1f} ms")
    print("  GET /data/bench, 1000-row page (median of 5): " + ", ".join(pages))
    client = Client(api_key=session.headers["api-key"], base_url=url)
    start = time.perf_counter()
    frame = client.read_dataset("bench")
    seconds = time.perf_counter() - start
    assert len(frame) == rows
    print(
        f"  read_dataset: {rows / seconds:,.0f} rows/s ({seconds:.1f} s) = "
        f"{rows / seconds / pd_rate:.2f}x read_csv"
    )


def duckdb_row(
    payload: bytes, key_columns: dict[str, Any], rows: int, pd_rate: float
) -> dict[str, float]:
    """DuckDB on the same gzipped file: typed load, keyed insert, ``INSERT OR REPLACE``.

    Returns each one's multiple of ``read_csv`` (nothing when DuckDB is not installed).
    """
    try:
        duckdb = importlib.import_module("duckdb")
    except ImportError:
        print("  DuckDB: not installed (pip install duckdb), row skipped")
        return {}
    keys = ", ".join(f'"{name}"' for name in key_columns)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rows.csv.gz"
        path.write_bytes(payload)
        db = duckdb.connect(str(Path(directory) / "bench.duckdb"))
        db.execute("SET threads = 2")
        source = f"read_csv('{path}')"
        timings = {}
        start = time.perf_counter()
        db.execute(f"CREATE TABLE loaded AS SELECT * FROM {source}")
        timings["read_csv"] = time.perf_counter() - start
        db.execute("CREATE TABLE keyed AS SELECT * FROM loaded LIMIT 0")
        db.execute(f"ALTER TABLE keyed ADD PRIMARY KEY ({keys})")
        start = time.perf_counter()
        db.execute(f"INSERT INTO keyed SELECT * FROM {source}")
        timings["keyed insert"] = time.perf_counter() - start
        start = time.perf_counter()
        db.execute(f"INSERT OR REPLACE INTO keyed SELECT * FROM {source}")
        timings["INSERT OR REPLACE"] = time.perf_counter() - start
        db.close()
    print(
        "  DuckDB (2 threads): "
        + "; ".join(
            f"{name} {rows / seconds / pd_rate:.2f}x read_csv ({seconds:.2f} s)"
            for name, seconds in timings.items()
        )
    )
    return {name: rows / seconds / pd_rate for name, seconds in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument(
        "--file", nargs="+", choices=("to_csv", "nexosis"), default=["to_csv", "nexosis"]
    )
    parser.add_argument(
        "--process", nargs="+", choices=("serve", "sandbox"), default=["serve", "sandbox"]
    )
    args = parser.parse_args()

    import s3fs
    from bench_poll_latency import start_server

    from nexosis_pandas._client import Client
    from nexosis_pandas._local_s3 import storage_options
    from nexosis_pandas.server.store import Store

    moto = subprocess.Popen(
        [sys.executable, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert moto.stdout is not None and moto.stdin is not None
    endpoint = moto.stdout.readline().strip()
    options = storage_options(endpoint)
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    summary: list[str] = []
    try:
        for rows in args.rows:
            for kind in args.file:
                start = time.perf_counter()
                payload, key_columns = make_file(rows, kind)
                fs.pipe(f"{BUCKET}/{KEY}", payload)
                print(
                    f"file ({kind}): {rows:,} rows x 10 columns, {len(payload) / MIB:.1f} MiB "
                    f"gzipped (made and uploaded in {time.perf_counter() - start:.1f} s)",
                    flush=True,
                )
                queue: Any = multiprocessing.get_context("spawn").Queue()
                child = multiprocessing.get_context("spawn").Process(
                    target=pandas_yardstick, args=(options, queue)
                )
                child.start()
                counted, pd_seconds, pd_base, pd_peak, _ = queue.get(timeout=900)
                child.join()
                assert counted == rows, counted
                pd_rate = rows / pd_seconds
                print(
                    f"  pandas.read_csv (yardstick): {pd_rate:,.0f} rows/s ({pd_seconds:.2f} s); "
                    f"peak RSS {pd_peak / MIB:,.0f} MiB (+{(pd_peak - pd_base) / MIB:,.0f} MiB)"
                )
                duck = duckdb_row(payload, key_columns, rows, pd_rate)
                for process in args.process:
                    print(f"  -- {process}", flush=True)
                    with tempfile.TemporaryDirectory() as data_dir:
                        server: subprocess.Popen[str]
                        session = requests.Session()
                        if process == "serve":
                            server, url = start_server(data_dir, endpoint)
                            session.headers["api-key"] = "bench"
                            bucket, target = BUCKET, fs
                        else:
                            server, state = start_sandbox(data_dir)
                            url, bucket = state["api_url"], state["bucket"]
                            session.headers["api-key"] = state["api_key"]
                            target = s3fs.S3FileSystem(
                                skip_instance_cache=True,
                                **storage_options(state["s3_endpoint_url"]),
                            )
                            target.pipe(f"{bucket}/{KEY}", payload)
                        try:
                            results = run_imports(
                                session,
                                url,
                                server.pid,
                                bucket,
                                key_columns,
                                rows,
                                pd_rate,
                                target,
                            )
                            if process == "serve":
                                read_back(session, url, rows, pd_rate)
                        finally:
                            server.terminate()
                            server.wait(timeout=60)
                    summary.append(
                        f"| {rows:,} | {kind} | {process} | "
                        + " | ".join(
                            f"{results[k][0]:.2f}x (+{results[k][1]:,.0f} MiB)"
                            for k in ("append", "keyed", "upsert")
                        )
                        + " |"
                    )
                if duck:
                    summary.append(
                        f"| {rows:,} | {kind} | DuckDB: read_csv, keyed insert, "
                        "INSERT OR REPLACE | "
                        + " | ".join(f"{multiple:.2f}x" for multiple in duck.values())
                        + " |"
                    )
                del payload

        with tempfile.TemporaryDirectory() as data_dir:
            store = Store(Path(data_dir))
            try:
                _record_history(store, args.history)
            finally:
                store.close()
            server, url = start_server(data_dir, endpoint)
            try:
                client = Client(api_key="bench", base_url=url)
                timings = []
                for _ in range(3):
                    start = time.perf_counter()
                    history = client.import_history()
                    timings.append(time.perf_counter() - start)
                print(
                    f"import_history: {len(history):,} imports (half failed, with their "
                    f"messages) in {min(timings):.3f} s (best of 3; "
                    + ", ".join(f"{t:.3f}" for t in timings)
                    + " s)"
                )
            finally:
                server.terminate()
                server.wait(timeout=60)
    finally:
        moto.stdin.close()
        moto.wait(timeout=60)
    print()
    print("| rows | file | process | append | keyed, new dataset | upsert, every row |")
    print("|---|---|---|---|---|---|")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
