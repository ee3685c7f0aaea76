"""Benchmark: a Dask DataFrame to S3 by ``ddf.nexosis.to_s3`` against Dask's own ``to_csv``.

Run from the repository root::

    python benchmarks/bench_dask_upload.py                       # 10M rows, 1 and 2 workers
    python benchmarks/bench_dask_upload.py --rows 2000000 --workers 2 --import

In one run, for a ``distributed.LocalCluster`` of each size (worker processes, one thread
each), the frame of ``benchmarks/bench_upload.py`` (ten mixed columns) is made on the workers
in partitions of ``--partition-rows`` and persisted there, then written three ways:

- ``ddf.nexosis.to_s3`` (one object: the workers check, encode and upload their partitions
  in one pass),
- ``ddf.to_csv("s3://.../*.csv.gz", compression="gzip", index=False)`` (one object per
  partition, pandas' writer on each worker),
- and, once, the pandas path on the computed frame (``upload_dataframe(ddf.compute())``, the
  compute not counted).

It prints seconds, rows/s, the ratio to ``to_csv`` on the same cluster, the scaling from one
worker to two, the peak resident memory of each worker above its memory before the call
(the persisted partitions are in the baseline), sampled every 10 ms, and the CPU seconds the
workers used (on a busy machine the CPU ratio says more than the wall-clock one).
``--import`` also imports the object into the reference server and prints its rate. moto's
S3 server runs in a child process, so the objects it holds are not counted anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_upload  # the frame and the local S3 of the pandas benchmark

cloudpickle.register_pickle_by_value(bench_upload)  # the workers build the partitions with it

BUCKET = bench_upload.BUCKET


def make_partition(number: int, rows: int) -> pd.DataFrame:
    df = bench_upload.make_frame(rows, seed=number)
    df["id"] += number * rows
    return df.set_axis(pd.RangeIndex(number * rows, (number + 1) * rows))


class WorkerPeaks:
    """Samples the resident memory of each worker process; ``peaks`` are above the start."""

    def __init__(self, pids: list[int], interval: float = 0.01) -> None:
        self._procs = [psutil.Process(pid) for pid in pids]
        self._start = [p.memory_info().rss for p in self._procs]
        self._cpu = [sum(p.cpu_times()[:2]) for p in self._procs]
        self.cpu = 0.0
        """CPU seconds the workers used (user and system), all of them together."""
        self.peaks = [0] * len(pids)
        self.s3_cpu = 0.0
        """CPU seconds the S3 server used meanwhile (set by :func:`timed`)."""
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for i, proc in enumerate(self._procs):
            try:
                above = proc.memory_info().rss - self._start[i]
            except psutil.Error:
                continue
            self.peaks[i] = max(self.peaks[i], above)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self._interval)

    def __enter__(self) -> WorkerPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu = sum(
            sum(p.cpu_times()[:2]) - c for p, c in zip(self._procs, self._cpu, strict=True)
        )


def s3_server_cpu() -> float:
    """CPU seconds used so far by the S3 server (moto, in a child process of this one)."""
    for child in psutil.Process().children():
        if "LocalS3" in " ".join(child.cmdline()):
            return float(sum(child.cpu_times()[:2]))
    return 0.0


def timed(action: Callable[[], object], pids: list[int]) -> tuple[float, WorkerPeaks]:
    s3_cpu = s3_server_cpu()
    with WorkerPeaks(pids) as peaks:
        started = time.perf_counter()
        action()
        seconds = time.perf_counter() - started
    peaks.s3_cpu = s3_server_cpu() - s3_cpu
    return seconds, peaks


def line(who: str, workers: int | str, rows: int, seconds: float, extra: str = "") -> str:
    return f"{who:<26} {workers!s:>7} {seconds:8.2f} {rows / seconds:11,.0f}  {extra}"


def bench_cluster(
    workers: int, args: argparse.Namespace, options: dict[str, Any], fs: Any
) -> tuple[float, list[str], Any]:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    import nexosis_pandas  # noqa: F401 - registers ddf.nexosis

    lines: list[str] = []
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit=0,
        ) as cluster,
        Client(cluster) as client,
    ):
        parts = -(-args.rows // args.partition_rows)
        ddf = dd.from_map(make_partition, range(parts), rows=args.partition_rows)
        ddf = ddf.persist()
        wait(ddf)
        pids = list(client.run(os.getpid).values())
        # warm: botocore's models, fsspec's IO thread, on every worker
        small = dd.from_pandas(bench_upload.make_frame(1000), npartitions=workers)
        small.nexosis.to_s3(f"s3://{BUCKET}/warm.csv.gz", storage_options=options)
        small.to_csv(f"s3://{BUCKET}/warm-*.csv.gz", storage_options=options, index=False)

        url = f"s3://{BUCKET}/dask-{workers}.csv.gz"
        result: list[Any] = []
        ours, peaks = timed(
            lambda: result.append(ddf.nexosis.to_s3(url, storage_options=options)), pids
        )
        obj = result[0]
        theirs, their_peaks = timed(
            lambda: ddf.to_csv(
                f"s3://{BUCKET}/to_csv-{workers}/part-*.csv.gz",
                compression="gzip",
                storage_options=options,
                index=False,
            ),
            pids,
        )
        mib = ", ".join(f"{p / 2**20:.0f}" for p in peaks.peaks)
        their_mib = ", ".join(f"{p / 2**20:.0f}" for p in their_peaks.peaks)
        lines.append(
            line(
                "ddf.nexosis.to_s3",
                workers,
                obj.rows,
                ours,
                f"x{theirs / ours:5.1f} to_csv   peak MiB/worker {mib}   "
                f"worker CPU {peaks.cpu:.1f} s, S3 server {peaks.s3_cpu:.1f} s   "
                f"{obj.bytes_written / 1e6:.0f} MB gzip, {parts} partitions",
            )
        )
        lines.append(
            line(
                "ddf.to_csv (gzip)",
                workers,
                obj.rows,
                theirs,
                f"peak MiB/worker {their_mib}   worker CPU {their_peaks.cpu:.1f} s, "
                f"S3 server {their_peaks.s3_cpu:.1f} s",
            )
        )
        computed = ddf.compute() if args.pandas and workers == args.workers[-1] else None
    return ours, lines, (computed, obj)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--partition-rows", type=int, default=500_000)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--no-pandas", dest="pandas", action="store_false")
    parser.add_argument("--import", dest="import_", action="store_true")
    args = parser.parse_args()

    import s3fs

    from nexosis_pandas import upload_dataframe

    print(
        f"pandas {pd.__version__}, {os.cpu_count()} CPUs, {args.rows:,} rows, "
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{'writer':<26} {'workers':>7} {'seconds':>8} {'rows/s':>11}", flush=True)
    with bench_upload.local_s3_process() as options:
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
        seconds: dict[int, float] = {}
        last: Any = None
        for workers in args.workers:
            seconds[workers], lines, last = bench_cluster(workers, args, options, fs)
            print("\n".join(lines), flush=True)
        if len(seconds) > 1:
            one, most = min(seconds), max(seconds)
            print(f"scaling {one} -> {most} workers: x{seconds[one] / seconds[most]:.2f}")
        computed, obj = last
        if computed is not None:
            url = f"s3://{BUCKET}/pandas.csv.gz"
            upload_dataframe(computed.head(1000), url, storage_options=options)  # warm
            with bench_upload.PeakRSS() as rss:
                started = time.perf_counter()
                upload_dataframe(computed, url, storage_options=options)
                took = time.perf_counter() - started
            print(
                line(
                    "upload_dataframe (pandas)",
                    "client",
                    len(computed),
                    took,
                    f"peak MiB above the frame {rss.peak / 2**20:.0f}",
                )
            )
        if args.import_:
            import_rate(obj, options)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def import_rate(obj: Any, options: dict[str, Any]) -> None:
    import tempfile

    from nexosis_pandas import Client
    from nexosis_pandas.server import ReferenceServer

    with (
        tempfile.TemporaryDirectory() as data_dir,
        ReferenceServer(
            data_dir=data_dir,
            api_keys=["bench"],
            s3_endpoint_url=options["endpoint_url"],
            s3_storage_options=options,
        ) as server,
        Client("bench", server.url, timeout=60) as client,
    ):
        started = time.perf_counter()
        job = client.import_from_s3("bench", obj.bucket, obj.key, content_type="csv")
        job.wait(3600, progress=False)
        took = time.perf_counter() - started
    print(line("import (reference server)", "-", obj.rows, took, job.status.value))


if __name__ == "__main__":
    main()
