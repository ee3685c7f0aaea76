"""Dask DataFrames to S3 and to a dataset: a real LocalCluster (worker processes), moto's S3
server and the reference server, all on loopback."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nexosis_pandas
from nexosis_pandas import Client, ColumnError, ImportStatus, config
from nexosis_pandas._encode.encoder import encode_dataframe
from nexosis_pandas._storage.upload import Multipart, S3Object
from nexosis_pandas.progress import ProgressReporter

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

BUCKET = "test-bucket"
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes, one thread each; the client is the default for the module."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture
def nexosis(reference_server: Any) -> Iterator[Client]:
    with Client(reference_server.api_key, reference_server.url, timeout=30) as c:
        yield c


def rows_of(number: int, start: int, n: int) -> pd.DataFrame:
    """Partition ``number``: ``n`` rows from row ``start``, the same on every call."""
    rng = np.random.default_rng(number)
    ids = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "id": ids,
            "value": rng.random(n),
            "group": rng.choice(["north", "south, east", 'the "big" one'], n),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(ids, unit="s"),
        },
        index=pd.RangeIndex(start, start + n),
    )


def frame(sizes: list[int]) -> Any:
    """A Dask frame made on the workers, one partition per size (the client holds no rows)."""
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    meta = rows_of(0, 0, 0)
    return dd.from_map(rows_of, range(len(sizes)), starts, sizes, meta=meta, enforce_metadata=False)


def read_object(s3: Any, key: str) -> bytes:
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)
    return gzip.decompress(fs.cat(f"{BUCKET}/{key}"))


def multipart_uploads(s3: Any) -> list[Any]:
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)
    return list(fs.call_s3("list_multipart_uploads", Bucket=BUCKET).get("Uploads", []))


class Recorder(ProgressReporter):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def upload_start(self, url: str, total_rows: int | None) -> None:
        self.events.append(("start", url, total_rows))

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        self.events.append(("update", rows_done, bytes_sent))

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        self.events.append(("end", obj, error))


def test_partitions_become_the_bytes_of_the_computed_frame(cluster: Any, s3: Any) -> None:
    # big partitions (parts of their own), small ones and an empty one, out of order in size
    sizes = [700_000, 3, 0, 60_000, 1, 50_000]
    ddf = frame(sizes)
    progress = Recorder()
    obj = ddf.nexosis.to_s3(
        f"s3://{BUCKET}/all.csv.gz", storage_options=s3.storage_options, progress=progress
    )
    expected = b"".join(encode_dataframe(ddf.compute(), index=False, compression=None))
    assert read_object(s3, "all.csv.gz") == expected
    assert obj.rows == sum(sizes) and obj.bytes_uncompressed == len(expected)
    assert multipart_uploads(s3) == []
    kinds = [e[0] for e in progress.events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("update") >= len(sizes)
    assert progress.events[0][2] is None  # one pass: the rows are counted as partitions end
    assert progress.events[-1][1].rows == sum(sizes)


def whole_in_partition_one(part: pd.DataFrame) -> pd.DataFrame:
    """Partition 1's floats are whole and its times whole seconds; partition 2 has milliseconds."""
    if not len(part):
        return part
    first = part["id"].iloc[0]
    if first == 1000:
        return part.assign(value=part["value"].round())
    if first == 2000:
        return part.assign(day=part["day"] + pd.Timedelta(milliseconds=5))
    return part


def test_a_partition_scanned_otherwise_is_encoded_again(cluster: Any, s3: Any) -> None:
    # alone, partition 1 would write its floats as "3.0" and partition 0 its times without
    # milliseconds; together, every partition follows the whole frame's rules
    ddf = frame([1000, 1000, 1000]).map_partitions(whole_in_partition_one, meta=rows_of(0, 0, 0))
    ddf.nexosis.to_s3(f"s3://{BUCKET}/again.csv.gz", storage_options=s3.storage_options)
    expected = b"".join(encode_dataframe(ddf.compute(), index=False, compression=None))
    assert read_object(s3, "again.csv.gz") == expected
    assert b".005" in expected and multipart_uploads(s3) == []


def test_one_text_display_names_partitions_and_dashboard(
    cluster: Any, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{BUCKET}/text.csv.gz"
    frame([1000, 2000, 0]).nexosis.to_s3(url, storage_options=s3.storage_options, progress="text")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"nexosis: uploading to {url}"
    assert lines[1] == (
        f"nexosis: the Dask workers upload 3 partitions; Dask dashboard: {cluster.dashboard_link}"
    )
    assert lines[-1].startswith(f"nexosis: uploaded {url}")


def test_two_million_rows_imported_exactly(
    cluster: Any, s3: Any, nexosis: Client, reference_server: Any
) -> None:
    sizes = [250_000] * 8
    ddf = frame(sizes)
    job = ddf.nexosis.to_dataset(
        "big",
        f"s3://{BUCKET}/big.csv.gz",
        key="id",
        client=nexosis,
        storage_options=s3.storage_options,
        progress=False,
        timeout=240,
    )
    assert job.status is ImportStatus.COMPLETED
    assert job.upload is not None and job.upload.rows == 2_000_000
    assert job.columns["id"]["role"] == "key"

    from nexosis_pandas.server.store import Store

    store = Store(reference_server.data_dir)
    try:
        record = store.get_dataset("big")
        assert record is not None
        back = pd.DataFrame(store.dataset_rows(record.id, offset=0, limit=3_000_000))
    finally:
        store.close()
    assert len(back) == 2_000_000
    back = back.sort_values("id", key=lambda s: s.astype("int64")).reset_index(drop=True)
    sent = ddf.compute().reset_index(drop=True)
    assert back["id"].astype("int64").tolist() == sent["id"].tolist()
    # the checksum of the values read back: every float exactly, every text, every date
    assert np.array_equal(back["value"].astype("float64").to_numpy(), sent["value"].to_numpy())
    assert (
        hashlib.sha256("\n".join(back["group"]).encode()).hexdigest()
        == hashlib.sha256("\n".join(sent["group"]).encode()).hexdigest()
    )
    days = pd.to_datetime(back["day"], utc=True).dt.tz_localize(None)
    assert (days.to_numpy() == sent["day"].to_numpy()).all()


class SlowSends(Multipart):
    """A multipart upload whose parts take half a second each to go out (a slow link)."""

    def send(self, number: int, body: bytes, fs: Any = None) -> tuple[int, str]:
        time.sleep(0.5)
        return super().send(number, body, fs)


def test_a_worker_encodes_the_next_partition_while_the_last_parts_go_out(
    cluster: Any, s3: Any
) -> None:
    import s3fs

    from nexosis_pandas._dask.worker import Plan, upload_partition

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)
    started = Multipart.start(fs, f"s3://{BUCKET}/slow.csv.gz")
    plan = Plan(2, None, upload=SlowSends(**dataclasses.asdict(started)))
    worker = next(iter(cluster.scheduler_info()["workers"]))  # one thread
    try:
        with distributed.get_task_stream(cluster) as stream:
            parts = [  # about 8 MB of gzip each, sent as one part at the end
                cluster.submit(rows_of, i, i * 500_000, 500_000, workers=[worker]) for i in range(2)
            ]
            distributed.wait(parts)  # both partitions held: the second task can start at once
            pieces = [
                cluster.submit(upload_partition, part, i, plan, workers=[worker], pure=False)
                for i, part in enumerate(parts)
            ]
            assert all(piece.result().head is not None for piece in pieces)
    finally:
        started.abort(fs)
    (first, second) = sorted(
        (s["start"], s["stop"])
        for task in stream.data
        if "upload_partition" in str(task["key"])
        for s in task["startstops"]
        if s["action"] == "compute"
    )
    # the second partition began while the first one's last part was still going out
    assert second[0] < first[1] - 0.05, (first, second)


@pytest.mark.parametrize("named", [True, False], ids=["s3_url", "content-addressed"])
def test_a_partition_that_raises_aborts_everything(
    cluster: Any, s3: Any, nexosis: Client, tmp_path: Path, named: bool
) -> None:
    # with s3_url, one pass: partition 1 raises while the others upload; without, the
    # partitions are digested first and partition 1 raises in the upload pass
    ddf = frame([200_000, 200_000, 200_000]).map_partitions(
        fail_partition_one, str(tmp_path), 0 if named else 1, meta=rows_of(0, 0, 0)
    )
    with (
        config.using_defaults(s3_prefix=f"s3://{BUCKET}/nexosis/"),
        pytest.raises(RuntimeError, match="partition 1 broke"),
    ):
        ddf.nexosis.to_dataset(
            "broken",
            f"s3://{BUCKET}/broken.csv.gz" if named else None,
            client=nexosis,
            storage_options=s3.storage_options,
            progress=False,
        )
    assert multipart_uploads(s3) == []
    assert not s3_exists(s3, "broken.csv.gz")
    assert not s3_exists(s3, "nexosis")
    assert "broken" not in nexosis.list_datasets()
    assert nexosis.import_history().empty


def fail_partition_one(part: pd.DataFrame, folder: str, passes: int) -> pd.DataFrame:
    """Partition 1 raises once it has been computed ``passes`` times."""
    if len(part) and part["id"].iloc[0] == 200_000:
        seen = len(list(Path(folder).iterdir()))
        if seen >= passes:
            raise RuntimeError("partition 1 broke")
        (Path(folder) / str(seen)).touch()
    return part


def s3_exists(s3: Any, key: str) -> bool:
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)
    return bool(fs.exists(f"{BUCKET}/{key}"))


def test_an_error_names_the_partition_the_column_and_the_value(
    cluster: Any, s3: Any, nexosis: Client
) -> None:
    ddf = frame([10, 10, 10]).map_partitions(
        lambda p: p.assign(value=p["value"].where(p["id"] != 25, np.inf)), meta=rows_of(0, 0, 0)
    )
    with pytest.raises(ColumnError) as caught:
        ddf.nexosis.to_dataset(
            "inf", client=nexosis, storage_options=s3.storage_options, progress=False
        )
    message = str(caught.value)
    assert message.startswith("Partition 2 of 3: Column 'value' holds an infinite value at row 25")
    assert caught.value.column == "value"
    assert multipart_uploads(s3) == []


SIGINT_SCRIPT = """
import json, sys
import numpy as np, pandas as pd
import nexosis_pandas
import dask.dataframe as dd
from distributed import Client
from nexosis_pandas.progress import ProgressReporter

args = json.loads(sys.argv[1])

def rows(number, n):
    rng = np.random.default_rng(number)
    return pd.DataFrame({"id": np.arange(number * n, (number + 1) * n), "value": rng.random(n),
                         "text": rng.choice(["north", "south"], n)})

class Told(ProgressReporter):
    def upload_partitions(self, done, total, dashboard=None):
        if done >= 1:
            print("partition done", flush=True)

with Client(args["scheduler"]):
    ddf = dd.from_map(rows, range(16), n=400_000, meta=rows(0, 0))
    try:
        ddf.nexosis.to_dataset("stopped", args["url"], key="id", client=nexosis_pandas.Client(
            args["api_key"], args["api_url"]), storage_options=args["storage"], progress=Told())
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
print("finished", flush=True)
"""


def test_ctrl_c_while_uploading_leaves_nothing(
    cluster: Any, s3: Any, nexosis: Client, reference_server: Any
) -> None:
    """A real SIGINT to a process uploading from the cluster: the upload is aborted, and
    neither an object nor an import remains."""
    import json
    import signal

    args = {
        "scheduler": cluster.scheduler.address,
        "url": f"s3://{BUCKET}/stopped.csv.gz",
        "api_key": reference_server.api_key,
        "api_url": reference_server.url,
        "storage": s3.storage_options,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_SCRIPT, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "partition done\n", proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 3, err
    assert "interrupted" in out and "finished" not in out
    assert multipart_uploads(s3) == []
    assert not s3_exists(s3, "stopped.csv.gz")
    assert "stopped" not in nexosis.list_datasets()
    assert nexosis.import_history().empty


def test_json_partitions_become_the_json_of_the_computed_frame(cluster: Any, s3: Any) -> None:
    # partition 0 is empty (its "[" alone), so partition 2's leading separator goes; small and
    # big partitions; the last partition is empty and writes the closing bracket
    sizes = [0, 0, 120_000, 3, 200_000, 1, 0]
    ddf = frame(sizes)
    obj = ddf.nexosis.to_s3(f"s3://{BUCKET}/all.json.gz", storage_options=s3.storage_options)
    expected = b"".join(
        encode_dataframe(ddf.compute(), format="json", index=False, compression=None)
    )
    assert read_object(s3, "all.json.gz") == expected
    assert obj.format == "json" and obj.rows == sum(sizes)
    assert multipart_uploads(s3) == []


def test_json_to_a_dataset(cluster: Any, s3: Any, nexosis: Client) -> None:
    job = frame([3000, 0, 2000]).nexosis.to_dataset(
        "as-json",
        f"s3://{BUCKET}/as.json.gz",
        key="id",
        client=nexosis,
        storage_options=s3.storage_options,
        progress=False,
    )
    assert job.status is ImportStatus.COMPLETED
    back = nexosis.read_dataset("as-json")
    assert len(back) == 5000
    assert sorted(back["id"].astype("int64")) == list(range(5000))


def repeat_a_key(part: pd.DataFrame) -> pd.DataFrame:
    """Partition 2's first id becomes partition 0's id 7."""
    if len(part) and part["id"].iloc[0] == 2000:
        part = part.copy()
        part.loc[part.index[0], "id"] = 7
    return part


@pytest.mark.parametrize("named", [True, False], ids=["s3_url", "content-addressed"])
def test_a_key_repeated_across_partitions_is_refused(
    cluster: Any, s3: Any, nexosis: Client, named: bool
) -> None:
    ddf = frame([1000, 1000, 1000]).map_partitions(repeat_a_key, meta=rows_of(0, 0, 0))
    with (
        config.using_defaults(s3_prefix=f"s3://{BUCKET}/nexosis/"),
        pytest.raises(ColumnError) as caught,
    ):
        ddf.nexosis.to_dataset(
            "repeated",
            f"s3://{BUCKET}/repeated.csv.gz" if named else None,
            key="id",
            client=nexosis,
            storage_options=s3.storage_options,
            progress=False,
        )
    assert caught.value.column == "id"
    assert "the key value 7 is in partitions 0 and 2 (of 3)" in str(caught.value)
    assert "ddf[ddf['id'] == 7].compute()" in str(caught.value)
    assert multipart_uploads(s3) == []
    assert not s3_exists(s3, "repeated.csv.gz") and not s3_exists(s3, "nexosis")
    assert nexosis.import_history().empty


def test_keys_whose_ranges_overlap_are_checked_by_value(cluster: Any) -> None:
    # text keys interleave across partitions, so the ranges settle nothing: hashes do
    ddf = frame([500, 500, 500]).assign(code=lambda d: "k" + d["id"].astype(str))
    metadata = ddf.nexosis.column_metadata(key="code")
    assert metadata["code"]["role"] == "key"
    repeated = ddf.assign(code=lambda d: "k" + (d["id"] % 1400).astype(str))
    in_two = r"the key value 'k\d+' is in partitions 0 and 2 \(of 3\)"
    with pytest.raises(ColumnError, match=in_two):
        repeated.nexosis.column_metadata(key="code")
    combination = r"the \(id, day\) combination \(\d, Timestamp\('2024-01-01 00:00:00'\)\) is in"
    with pytest.raises(ColumnError, match=combination + " partitions 0 and 1"):
        frame([10, 10]).map_partitions(
            lambda p: p.assign(id=p["id"] % 10, day=pd.Timestamp("2024-01-01")),
            meta=rows_of(0, 0, 0),
        ).nexosis.column_metadata(key="id", timestamp="day")


def test_content_addressed_upload_happens_once(cluster: Any, s3: Any, nexosis: Client) -> None:
    ddf = frame([1000, 1000, 500])
    with config.using_defaults(s3_prefix=f"s3://{BUCKET}/nexosis/"):
        first, second = Recorder(), Recorder()
        a = ddf.nexosis.to_dataset(
            "small", key="id", client=nexosis, storage_options=s3.storage_options, progress=first
        )
        b = nexosis_pandas.import_dataframe(
            ddf, "small", client=nexosis, storage_options=s3.storage_options, progress=second
        )
    assert a.upload is not None and b.upload is not None
    assert a.upload.url == b.upload.url and a.upload.url.startswith(f"s3://{BUCKET}/nexosis/small-")
    assert [e[0] for e in first.events].count("start") == 1
    assert [e[0] for e in second.events] == ["end"]  # found, not uploaded
    assert b.upload.rows == 2500
    assert b.status is ImportStatus.COMPLETED


def test_sandbox_with_the_users_dask_client(cluster: Any) -> None:
    with nexosis_pandas.sandbox(bucket="dask-sandbox") as sb:
        job = frame([100, 200]).nexosis.to_dataset("sandboxed", key="id", progress=False)
        assert job.status is ImportStatus.COMPLETED
        assert len(sb.client.read_dataset("sandboxed")) == 300


def test_without_a_distributed_client_local_threads_do_the_work(s3: Any) -> None:
    ddf = frame([5000, 0, 7000])
    obj = nexosis_pandas.upload_dataframe(
        ddf, f"s3://{BUCKET}/local.csv.gz", storage_options=s3.storage_options
    )
    assert obj.rows == 12000
    expected = b"".join(encode_dataframe(ddf.compute(), index=False, compression=None))
    assert read_object(s3, "local.csv.gz") == expected


@pytest.mark.parametrize("first", ["nexosis_pandas", "dask.dataframe"])
def test_ddf_nexosis_whichever_is_imported_first(first: str) -> None:
    other = "dask.dataframe" if first == "nexosis_pandas" else "nexosis_pandas"
    code = (
        f"import sys, {first}, {other}, pandas\n"
        "import dask.dataframe as dd\n"
        "ddf = dd.from_pandas(pandas.DataFrame({'x': [1]}), npartitions=1)\n"
        "print(type(ddf.nexosis).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "DaskAccessor"


def test_importing_the_package_does_not_import_dask() -> None:
    code = (
        "import sys, nexosis_pandas\n"
        "print([m for m in sys.modules if m.startswith(('dask', 'distributed'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_encoder_threads_fill_the_hosts_cores(cluster: Any) -> None:
    from nexosis_pandas._dask.runner import Runner
    from nexosis_pandas._encode.encoder import ENCODE_THREADS

    # two one-thread workers on this host share its cores
    with Runner() as runner:
        assert runner.threads_per_task() == max(1, min(ENCODE_THREADS, (os.cpu_count() or 1) // 2))


def test_a_dask_frame_in_the_background(cluster: Any, s3: Any, nexosis: Client) -> None:
    ddf = frame([3000, 2000, 1000])
    job = ddf.nexosis.to_dataset(
        "dask-background",
        f"s3://{BUCKET}/dask-background.csv.gz",
        client=nexosis,
        storage_options=s3.storage_options,
        progress=False,
        background=True,
    )
    assert not job.requested  # returned before the workers' first pass ended
    assert job.result(timeout=120).status is ImportStatus.COMPLETED
    assert job.upload is not None and job.upload.rows == 6000
    assert len(nexosis.read_dataset("dask-background")) == 6000
