"""Benchmark: the reference server's import and read-back paths against ``pandas.read_csv``.

Run ``python benchmarks/bench_server_import.py [--rows N] [--file nexosis]``. It starts moto's
S3 and the reference server (``nexosis-pandas serve``) each in a child process, as they run in
use, uploads a gzipped CSV of N rows x 10 mixed columns (``--file to_csv``, the default: written
by ``DataFrame.to_csv``; ``--file nexosis``: the frame of ``bench_upload.py`` as
``upload_dataframe`` writes it, every name and text quoted and dates with their offsets), and
prints, in one run, beside ``pandas.read_csv`` of
the same S3 object (in a child process, so that its memory is measured on its own) as the
yardstick:

- append import rows/s (POST to completed), and the p99 of ``GET /imports/{id}`` meanwhile;
- upsert import rows/s: the same rows imported twice into a dataset keyed by key + timestamp
  columns; the second import replaces every row;
- the server process's peak RSS growth over each import (sampled with psutil), and its RSS
  after the import (a one-row import first loads what every import needs, measured apart);
- ``GET /data/{name}`` latency of a 1000-row page at offsets 0, middle and end;
- ``read_dataset`` rows/s (the client's bulk read);
- ``import_history()`` of ``--history`` imports (recorded straight into the store).
"""

from __future__ import annotations

import argparse
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
        store.set_status(
            import_id, ImportStatus.COMPLETED, messages=[("informational", "Imported 1 rows")]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--file", choices=("to_csv", "nexosis"), default="to_csv")
    args = parser.parse_args()

    import s3fs
    from bench_poll_latency import start_server

    from nexosis_pandas._client import Client
    from nexosis_pandas._local_s3 import storage_options
    from nexosis_pandas.server.store import Store

    mib = 2**20
    moto = subprocess.Popen(
        [sys.executable, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert moto.stdout is not None and moto.stdin is not None
    endpoint = moto.stdout.readline().strip()
    options = storage_options(endpoint)
    server: subprocess.Popen[str] | None = None
    try:
        start = time.perf_counter()
        payload, key_columns = make_file(args.rows, args.file)
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
        fs.pipe(f"{BUCKET}/{KEY}", payload)
        print(
            f"file ({args.file}): {args.rows:,} rows x 10 columns, "
            f"{len(payload) / mib:.1f} MiB gzipped "
            f"(made and uploaded in {time.perf_counter() - start:.1f} s)"
        )
        del payload

        queue: Any = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=pandas_yardstick, args=(options, queue)
        )
        child.start()
        rows, pd_seconds, pd_base, pd_peak, _ = queue.get(timeout=600)
        child.join()
        pd_rate = rows / pd_seconds
        print(
            f"pandas.read_csv (yardstick): {pd_rate:,.0f} rows/s ({pd_seconds:.1f} s); "
            f"peak RSS {pd_peak / mib:,.0f} MiB (+{(pd_peak - pd_base) / mib:,.0f} MiB)"
        )

        with tempfile.TemporaryDirectory() as data_dir:
            server, url = start_server(data_dir, endpoint)
            server_process = psutil.Process(server.pid)
            session = requests.Session()
            session.headers["api-key"] = "bench"
            body = {"dataSetName": "bench", "bucket": BUCKET, "path": KEY}
            keyed = {"dataSetName": "keyed", "columns": key_columns}
            # The server's first import loads s3fs and botocore: measured apart, once.
            fs.pipe(f"{BUCKET}/warmup.csv", b"a,b\n1,x\n")
            with PeakRSS(server.pid) as rss:
                _import(
                    session, url, {"dataSetName": "warmup", "bucket": BUCKET, "path": "warmup.csv"}
                )
            print(
                f"first import (one row, loads s3fs and botocore once): server RSS "
                f"+{(rss.peak - rss.baseline) / mib:,.0f} MiB "
                f"(idle server {rss.baseline / mib:,.0f} MiB)"
            )
            for label, extra in (
                ("append", {}),
                ("keyed import into a new dataset", keyed),
                ("upsert (every row replaces one)", keyed),
            ):
                with PeakRSS(server.pid) as rss:
                    seconds, latencies, _ = _import(session, url, {**body, **extra})
                rate = args.rows / seconds
                print(
                    f"{label} import: {rate:,.0f} rows/s ({seconds:.1f} s, POST to completed) = "
                    f"{rate / pd_rate:.2f}x read_csv; server RSS +"
                    f"{(rss.peak - rss.baseline) / mib:,.0f} MiB (peak {rss.peak / mib:,.0f} MiB, "
                    f"after {server_process.memory_info().rss / mib:,.0f} MiB); "
                    f"GET /imports/{{id}} meanwhile: {len(latencies)} polls, median "
                    f"{statistics.median(latencies) * 1000:.1f} ms, p99 "
                    f"{_percentile(latencies, 0.99):.1f} ms"
                )
            count = session.get(f"{url}/data/bench", params={"pageSize": 1}).json()
            total = count["totalCount"]
            assert total == args.rows, total
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
            print("GET /data/bench, 1000-row page (median of 5): " + ", ".join(pages))

            client = Client(api_key="bench", base_url=url)
            start = time.perf_counter()
            frame = client.read_dataset("bench")
            seconds = time.perf_counter() - start
            assert len(frame) == args.rows
            rate = args.rows / seconds
            print(
                f"read_dataset: {rate:,.0f} rows/s ({seconds:.1f} s) = {rate / pd_rate:.2f}x "
                "read_csv"
            )
            del frame

            store = Store(Path(data_dir))  # beside the server: SQLite takes both
            try:
                _record_history(store, args.history)
            finally:
                store.close()
            start = time.perf_counter()
            history = client.import_history()
            seconds = time.perf_counter() - start
            print(f"import_history: {len(history):,} imports in {seconds:.2f} s")
            server.terminate()
            server.wait(timeout=60)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=60)
        moto.stdin.close()
        moto.wait(timeout=60)


if __name__ == "__main__":
    main()
