"""Benchmark: import a gzipped CSV of 1,000,000 rows x 10 mixed columns via the reference server.

Run ``python benchmarks/bench_server_import.py [--rows N]``. It starts moto's S3 and the
reference server in this process, uploads the file, imports it, and prints rows per second,
peak memory (RSS, sampled with psutil) and the latency of ``GET /imports/{id}`` while the import
runs, beside ``pandas.read_csv`` of the same S3 object (in a child process, so that its
memory is measured on its own) as the yardstick.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import psutil
import requests

BUCKET = "bench-bucket"
KEY = "bench/rows.csv.gz"


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


def pandas_yardstick(storage_options: dict[str, Any], queue: Any) -> None:
    process = psutil.Process()
    with PeakRSS() as rss:
        start = time.perf_counter()
        frame = pd.read_csv(f"s3://{BUCKET}/{KEY}", storage_options=storage_options)
        seconds = time.perf_counter() - start
    queue.put((len(frame), seconds, rss.baseline, rss.peak, process.memory_info().rss))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    import s3fs

    from nexosis_pandas._local_s3 import LocalS3
    from nexosis_pandas.server import ReferenceServer

    with LocalS3() as s3, tempfile.TemporaryDirectory() as data_dir:
        s3.create_bucket(BUCKET)
        start = time.perf_counter()
        payload = make_csv_gz(args.rows)
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)
        fs.pipe(f"{BUCKET}/{KEY}", payload)
        print(
            f"file: {args.rows:,} rows x 10 columns, {len(payload) / 2**20:.1f} MiB gzipped "
            f"(made and uploaded in {time.perf_counter() - start:.1f} s)"
        )

        with ReferenceServer(
            data_dir=data_dir,
            api_keys=["bench"],
            s3_endpoint_url=s3.endpoint_url,
            s3_storage_options=s3.storage_options,
        ) as server:
            session = requests.Session()
            session.headers["api-key"] = "bench"
            latencies: list[float] = []
            with PeakRSS() as rss:
                start = time.perf_counter()
                response = session.post(
                    f"{server.url}/imports/s3",
                    json={"dataSetName": "bench", "bucket": BUCKET, "path": KEY},
                    timeout=30,
                )
                response.raise_for_status()
                import_id = response.json()["importId"]
                while True:
                    asked = time.perf_counter()
                    body = session.get(f"{server.url}/imports/{import_id}", timeout=30).json()
                    latencies.append(time.perf_counter() - asked)
                    if body["status"] in ("completed", "failed"):
                        break
                    time.sleep(0.05)
                seconds = time.perf_counter() - start
            if body["status"] != "completed":
                raise SystemExit(f"import failed: {body['messages']}")
            count = session.get(f"{server.url}/data/bench", params={"pageSize": 1}).json()
            assert count["totalCount"] == args.rows, count["totalCount"]

        queue: Any = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=pandas_yardstick, args=(s3.storage_options, queue)
        )
        child.start()
        rows, pd_seconds, pd_base, pd_peak, _ = queue.get(timeout=600)
        child.join()

    mib = 2**20
    latencies_ms = sorted(x * 1000 for x in latencies)
    p95 = latencies_ms[int(0.95 * (len(latencies_ms) - 1))]
    print(
        f"reference server import: {args.rows / seconds:,.0f} rows/s ({seconds:.1f} s, "
        f"POST to completed); peak RSS {rss.peak / mib:,.0f} MiB "
        f"(+{(rss.peak - rss.baseline) / mib:,.0f} MiB over the {rss.baseline / mib:,.0f} MiB "
        "before the import; the process also holds moto's copy of the file)"
    )
    print(
        f"  GET /imports/{{id}} during the import: {len(latencies_ms)} requests, median "
        f"{statistics.median(latencies_ms):.1f} ms, p95 {p95:.1f} ms, max {latencies_ms[-1]:.1f} ms"
    )
    print(
        f"pandas.read_csv (yardstick): {rows / pd_seconds:,.0f} rows/s ({pd_seconds:.1f} s); "
        f"peak RSS {pd_peak / mib:,.0f} MiB (+{(pd_peak - pd_base) / mib:,.0f} MiB)"
    )


if __name__ == "__main__":
    main()
