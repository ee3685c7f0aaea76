"""Benchmark: upload_dataframe against pandas' ``to_csv("s3://...", compression="gzip")``.

Run from the repository root::

    python benchmarks/bench_upload.py            # 100k, 1M and 3M rows
    python benchmarks/bench_upload.py --rows 1000000 --repeat 3

moto's S3 server runs in a child process, so the objects it keeps in memory do not count, and
each frame size is measured in a fresh process, so memory freed by an earlier run cannot hide
this one's peak. For each size it prints the CSV throughput (MB of uncompressed
CSV per second), rows per second, the compressed size, the peak resident memory above the
frame (RSS sampled every 5 ms in a thread, minus the RSS just before the call) and the ratio of
throughputs. pandas writes without its index (``index=False``) so both write the same columns.

In the same run, the same data as a polars frame and as a pyarrow Table (``--no-frames`` skips
them), each in a fresh process of its own: ours against the obvious polars peer,
``pl_df.write_csv(f)`` into ``fs.open("s3://...csv.gz", "wb", compression="gzip")``. ``x base``
is the ratio of throughputs over ``to_csv`` for the pandas row, over that peer for polars;
``vs pandas`` is ours over our own pandas figure. Every row's MB/s is our CSV's size over its
seconds (ours is byte for byte the pandas frame's; the peer writes the same rows in its own
format, gzipped to the size shown). ``--lazy-rows N`` adds a LazyFrame of N rows scanned
from a Parquet file (written first, in chunks) and its peak memory above the start.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psutil

from nexosis_pandas import upload_dataframe

BUCKET = "bench"
SERVER = """
import sys
from nexosis_pandas._local_s3 import LocalS3
s3 = LocalS3().start()
s3.create_bucket("bench")
print(s3.endpoint_url, flush=True)
sys.stdin.read()
"""


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows x 10 mixed columns, as a data scientist's frame might hold."""
    rng = np.random.default_rng(seed)
    price = rng.normal(100, 15, n).round(2)
    price[rng.random(n) < 0.05] = np.nan
    score = rng.random(n)
    score[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "quantity": rng.integers(0, 1000, n),
            "price": price,
            "score": score,
            "customer": pd.Series(rng.integers(0, 50_000, n)).map("customer-{:05d}".format),
            "region": pd.Categorical(rng.choice(["north", "south", "east", "west", "centre"], n)),
            "product": pd.Categorical(rng.choice([f"sku-{i}" for i in range(200)], n)),
            "ordered_at": pd.Timestamp("2023-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"),
            "returned": rng.random(n) < 0.03,
            "rating": pd.Series(rng.integers(1, 6, n), dtype="Int64").mask(rng.random(n) < 0.2),
        }
    )


@contextmanager
def local_s3_process() -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().strip()
        yield {
            "endpoint_url": endpoint,
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"region_name": "us-east-1"},
        }
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak`` is above the start."""

    def __init__(self, interval: float = 0.005) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.start = self._process.memory_info().rss
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss - self.start)
            time.sleep(self._interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss - self.start)


@dataclass
class Run:
    seconds: float
    peak_rss: int
    written: int


def measure(action: Callable[[], int]) -> Run:
    gc.collect()
    with PeakRSS() as rss:
        started = time.perf_counter()
        written = action()
        seconds = time.perf_counter() - started
    return Run(seconds, rss.peak, written)


def best(action: Callable[[], int], repeat: int) -> Run:
    """The fastest of ``repeat`` runs, with the highest peak memory of them."""
    runs = [measure(action) for _ in range(repeat)]
    run = min(runs, key=lambda r: r.seconds)
    return Run(run.seconds, max(r.peak_rss for r in runs), run.written)


def row(n: int, who: str, csv_mb: float, run: Run, ratio: str, note: str = "") -> str:
    return (
        f"{n:>9} {who:<7} {csv_mb:7.1f} {run.seconds:6.2f} {csv_mb / run.seconds:6.1f} "
        f"{n / run.seconds:10.0f} {run.written / 1e6:8.1f} {run.peak_rss / 1e6:8.1f} "
        f"{ratio:>8}{note}"
    )


def bench_library(
    n: int, who: str, options: dict[str, Any], fs: Any, *, repeat: int, pandas_rate: float
) -> str:
    """The same data as a polars frame (``who="polars"``, with the peer) or a pyarrow Table."""
    import polars as pl
    import pyarrow as pa

    table = pa.Table.from_pandas(make_frame(n), preserve_index=False)
    data: Any = table
    size = table.nbytes
    if who == "polars":
        data = pl.from_arrow(table)
        del table
        size = data.estimated_size()
    gc.collect()
    result: list[Any] = []

    def ours() -> int:
        result.append(
            upload_dataframe(data, f"s3://{BUCKET}/{who}-{n}.csv.gz", storage_options=options)
        )
        return int(result[-1].bytes_written)

    run = best(ours, repeat)  # first, so that no freed memory of the peer hides its peak
    csv_mb = result[0].bytes_uncompressed / 1e6
    note = f"   vs pandas {csv_mb / run.seconds / pandas_rate:.2f} (frame {size / 1e6:.0f} MB)"
    if who != "polars":
        return row(n, "ours-pa", csv_mb, run, "", note)
    peer_url = f"s3://{BUCKET}/polars-{n}.csv.gz"

    def peer() -> int:
        with fs.open(peer_url, "wb", compression="gzip") as f:
            data.write_csv(f)
        return int(fs.info(peer_url)["size"])

    base = measure(peer)
    return "\n".join(
        [
            row(n, "pl.csv", csv_mb, base, "1.0", f"   (frame {size / 1e6:.0f} MB)"),
            row(n, "ours-pl", csv_mb, run, f"{base.seconds / run.seconds:.1f}", note),
        ]
    )


def write_parquet(path: str, n: int, chunk: int = 1_000_000) -> None:
    """The benchmark's ten columns, ``n`` rows, written ``chunk`` rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, n, chunk):
        part = make_frame(min(chunk, n - start), seed=start)
        part["id"] += start
        table = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def bench_lazy(n: int, path: str, options: dict[str, Any]) -> str:
    """A LazyFrame scanned from Parquet, uploaded: its time and peak memory above the start."""
    import polars as pl

    lazy: Any = pl.scan_parquet(path)
    sizes: list[float] = []

    def upload() -> int:
        obj = upload_dataframe(lazy, f"s3://{BUCKET}/lazy-{n}.csv.gz", storage_options=options)
        sizes.append(obj.bytes_uncompressed / 1e6)
        return int(obj.bytes_written)

    run = measure(upload)
    note = "   (LazyFrame from Parquet; peak above the start)"
    return row(n, "ours-lz", sizes[0], run, "", note)


def bench_size(
    n: int,
    options: dict[str, Any],
    fs: Any,
    *,
    repeat: int,
    with_pandas: bool,
    with_frames: bool = False,
) -> str:
    """Upload an ``n``-row frame both ways; return the table's lines."""
    df = make_frame(n)
    frame_mb = df.memory_usage(deep=True).sum() / 1e6
    url = f"s3://{BUCKET}/ours-{n}.csv.gz"
    runs = []
    for _ in range(repeat):
        result: list[Any] = []

        def ours(result: list[Any] = result) -> int:
            result.append(upload_dataframe(df, url, storage_options=options))
            return int(result[-1].bytes_written)

        runs.append((measure(ours), result[0]))
    run, obj = min(runs, key=lambda r: r[0].seconds)
    run.peak_rss = max(r.peak_rss for r, _ in runs)
    csv_mb = obj.bytes_uncompressed / 1e6
    ours_rate = csv_mb / run.seconds
    lines = []
    ratio = ""
    if with_pandas:
        pandas_url = f"s3://{BUCKET}/pandas-{n}.csv.gz"

        def theirs() -> int:
            df.to_csv(pandas_url, compression="gzip", storage_options=options, index=False)
            return int(fs.info(pandas_url)["size"])

        base = measure(theirs)
        pandas_rate = csv_mb / base.seconds
        ratio = f"{ours_rate / pandas_rate:8.1f}"
        lines.append(
            f"{n:>9} {'pandas':<7} {csv_mb:7.1f} {base.seconds:6.2f} {pandas_rate:6.1f} "
            f"{n / base.seconds:10.0f} {base.written / 1e6:8.1f} "
            f"{base.peak_rss / 1e6:8.1f} {'1.0':>8}"
        )
    lines.append(
        f"{n:>9} {'ours':<7} {csv_mb:7.1f} {run.seconds:6.2f} {ours_rate:6.1f} "
        f"{n / run.seconds:10.0f} {run.written / 1e6:8.1f} {run.peak_rss / 1e6:8.1f} "
        f"{ratio}   (frame {frame_mb:.0f} MB)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000, 3_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs of ours; the best is shown")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--no-frames", action="store_true", help="skip the polars and Arrow rows")
    parser.add_argument("--lazy-rows", type=int, nargs="*", default=[], help="LazyFrame sizes")
    parser.add_argument("--lazy-path", help=argparse.SUPPRESS)  # set for the LazyFrame child
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)  # set for the per-size child
    parser.add_argument("--who", default="pandas", help=argparse.SUPPRESS)  # the child's library
    parser.add_argument("--pandas-rate", type=float, help=argparse.SUPPRESS)  # ours, MB/s
    args = parser.parse_args()

    if args.endpoint:
        run_child(args)
        return
    print(
        f"pandas {pd.__version__}, {os.cpu_count()} CPUs, "
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"{'rows':>9} {'who':<7} {'CSV MB':>7} {'s':>6} {'MB/s':>6} {'rows/s':>10} "
        f"{'gzip MB':>8} {'peak MB':>8} {'x base':>8}",
        flush=True,
    )
    with local_s3_process() as options:
        for n in args.rows:
            command = [sys.executable, __file__, "--endpoint", options["endpoint_url"]]
            command += ["--rows", str(n), "--repeat", str(args.repeat)]
            command += ["--no-pandas"] if args.no_pandas else []
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            print(out, end="", flush=True)
            ours = next(line.split() for line in out.splitlines() if line.split()[1] == "ours")
            for who in [] if args.no_frames else ["polars", "arrow"]:
                more = [*command, "--who", who, "--pandas-rate", ours[4]]
                subprocess.run(more, check=True)
        for n in args.lazy_rows:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, f"bench-{n}.parquet")
                write_parquet(path, n)
                command = [sys.executable, __file__, "--endpoint", options["endpoint_url"]]
                command += ["--rows", str(n), "--lazy-path", path]
                subprocess.run(command, check=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run_child(args: argparse.Namespace) -> None:
    import s3fs

    options = {
        "endpoint_url": args.endpoint,
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"region_name": "us-east-1"},
    }
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    if args.lazy_path:
        for n in args.rows:
            print(bench_lazy(n, args.lazy_path, options), flush=True)
        return
    # first calls load botocore's service models and start fsspec's IO thread: not measured
    warm = make_frame(1000)
    upload_dataframe(warm, f"s3://{BUCKET}/warm.csv.gz", storage_options=options)
    warm.to_csv(f"s3://{BUCKET}/warm-pandas.csv.gz", storage_options=options, index=False)
    if args.who != "pandas":
        import polars as pl

        warm_pl = pl.from_pandas(warm)
        upload_dataframe(warm_pl, f"s3://{BUCKET}/warm-pl.csv.gz", storage_options=options)  # type: ignore[arg-type]
        with fs.open(f"s3://{BUCKET}/warm-peer.csv.gz", "wb", compression="gzip") as f:
            warm_pl.write_csv(f)
        for n in args.rows:
            rate = args.pandas_rate
            print(bench_library(n, args.who, options, fs, repeat=args.repeat, pandas_rate=rate))
        return
    for n in args.rows:
        print(bench_size(n, options, fs, repeat=args.repeat, with_pandas=not args.no_pandas))


if __name__ == "__main__":
    main()
