"""Benchmark: latency of ``GET /imports/{id}`` while a 1,000,000-row import runs.

Run from the repository root::

    python benchmarks/bench_poll_latency.py                 # 1,000,000 rows
    python benchmarks/bench_poll_latency.py --rows 200000 --interval 0.01

moto's S3 and the reference server (``nexosis-pandas serve``) each run in a child process, as
they would in use, so this process only polls. It uploads a gzipped CSV of ``--rows`` rows x 10
mixed columns, measures ``GET /imports/{id}`` on an idle server, then starts the import and
polls the same URL every ``--interval`` seconds until the import ends. It prints p50, p99 and
the maximum of each, and whether the p99 during the import meets the 100 ms target.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd
import requests

BUCKET = "bench-bucket"
KEY = "bench/poll.csv.gz"
TARGET_P99_MS = 100.0
MOTO = """
import sys
from nexosis_pandas._local_s3 import LocalS3
s3 = LocalS3().start()
s3.create_bucket("bench-bucket")
print(s3.endpoint_url, flush=True)
sys.stdin.read()
"""


def make_frame(rows: int) -> pd.DataFrame:
    """``rows`` rows x 10 mixed columns."""
    rng = np.random.default_rng(7)
    return pd.DataFrame(
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


def percentile(sorted_ms: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of sorted values, nearest rank."""
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def summary(name: str, seconds: list[float]) -> float:
    ms = sorted(s * 1000 for s in seconds)
    p99 = percentile(ms, 0.99)
    print(
        f"{name}: {len(ms)} requests, p50 {percentile(ms, 0.5):.1f} ms, p99 {p99:.1f} ms, "
        f"max {ms[-1]:.1f} ms"
    )
    return p99


def start_server(data_dir: str, endpoint: str) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nexosis_pandas.cli",
            "serve",
            "--port",
            "0",
            "--data-dir",
            data_dir,
            "--api-key",
            "bench",
            "--s3-endpoint-url",
            endpoint,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"listening on (\S+/v1)", line)
        if match:
            return process, match.group(1)
    raise SystemExit("the reference server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between polls")
    args = parser.parse_args()

    from nexosis_pandas import upload_dataframe

    moto = subprocess.Popen(
        [sys.executable, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert moto.stdout is not None
    endpoint = moto.stdout.readline().strip()
    options: dict[str, Any] = {
        "endpoint_url": endpoint,
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"region_name": "us-east-1"},
    }
    server: subprocess.Popen[str] | None = None
    try:
        obj = upload_dataframe(
            make_frame(args.rows), f"s3://{BUCKET}/{KEY}", storage_options=options
        )
        print(f"file: {obj.rows:,} rows x 10 columns, {obj.bytes_written / 2**20:.1f} MiB gzipped")
        with tempfile.TemporaryDirectory() as data_dir:
            server, url = start_server(data_dir, endpoint)
            session = requests.Session()
            session.headers["api-key"] = "bench"

            def import_file(name: str) -> str:
                response = session.post(
                    f"{url}/imports/s3",
                    json={"dataSetName": name, "bucket": BUCKET, "path": KEY},
                    timeout=30,
                )
                response.raise_for_status()
                return str(response.json()["importId"])

            def timed_get(import_id: str) -> tuple[float, str]:
                asked = time.perf_counter()
                response = session.get(f"{url}/imports/{import_id}", timeout=30)
                took = time.perf_counter() - asked
                response.raise_for_status()
                return took, str(response.json()["status"])

            idle_id = import_file("idle")
            while timed_get(idle_id)[1] not in ("completed", "failed"):
                time.sleep(0.2)
            idle = [timed_get(idle_id)[0] for _ in range(200)]

            busy: list[float] = []
            started = time.perf_counter()
            import_id = import_file("bench")
            while True:
                took, status = timed_get(import_id)
                busy.append(took)
                if status in ("completed", "failed"):
                    break
                time.sleep(args.interval)
            seconds = time.perf_counter() - started
            print(f"import: {status} in {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s)")
            summary("GET /imports/{id}, idle server", idle)
            p99 = summary("GET /imports/{id}, during the import", busy)
            verdict = "meets" if p99 < TARGET_P99_MS else "MISSES"
            print(f"p99 {p99:.1f} ms {verdict} the {TARGET_P99_MS:.0f} ms target")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        assert moto.stdin is not None
        moto.stdin.close()
        moto.wait(timeout=60)


if __name__ == "__main__":
    main()
