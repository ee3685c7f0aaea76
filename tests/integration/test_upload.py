"""upload_dataframe against moto's S3 server over HTTP."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import threading
import zlib
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nexosis_pandas import S3Object, UploadError, config, upload_dataframe
from nexosis_pandas._encode.encoder import encode_dataframe
from nexosis_pandas._local_s3 import LocalS3
from nexosis_pandas._storage import upload as s3_module
from nexosis_pandas.exceptions import ColumnError
from nexosis_pandas.progress import ProgressReporter
from tests.pandas_compat import EXACT_FLOATS

BUCKET = "test-bucket"


class Recorder(ProgressReporter):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def upload_start(self, url: str, total_rows: int | None) -> None:
        self.calls.append(("start", url, total_rows))

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        self.calls.append(("update", rows_done, bytes_sent))

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        self.calls.append(("end", obj, error))


def mixed_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    floats = rng.normal(size=n)
    floats[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "price": floats,
            "name": [f'item {i}, "{i % 7}"' for i in range(n)],
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "when": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="s"),
            "flag": rng.random(n) < 0.5,
            "count": pd.array(
                [
                    None if m else int(v)
                    for m, v in zip(rng.random(n) < 0.1, rng.integers(0, 99, n), strict=True)
                ],
                dtype="Int64",
            ),
        }
    )


def noise_frame(n: int) -> pd.DataFrame:
    """Random doubles: compresses poorly, so a few hundred thousand rows fill several parts."""
    rng = np.random.default_rng(5)
    return pd.DataFrame({f"x{i}": rng.random(n) for i in range(4)})


def get(fs: Any, key: str) -> bytes:
    data: bytes = fs.cat(f"{BUCKET}/{key}")
    return data


def encoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nexosis-encode"]


def pending_uploads(fs: Any) -> list[Any]:
    return list(fs.list_multipart_uploads(BUCKET))


def test_round_trip_of_every_dtype(s3: Any, s3fs_fs: Any) -> None:
    df = mixed_frame(1000)
    df["naive"] = pd.date_range("2024-01-01", periods=len(df), freq="min")
    df["paris"] = df["when"].dt.tz_convert("Europe/Paris")
    df["nbool"] = pd.array([True, None, False, True] * 250, dtype="boolean")
    df["word"] = pd.Series(["ünï", None, "x\ny", ""] * 250, dtype="str")
    obj = upload_dataframe(df, f"s3://{BUCKET}/all.csv.gz", storage_options=s3.storage_options)

    back = pd.read_csv(
        f"s3://{BUCKET}/all.csv.gz",
        storage_options=s3.storage_options,
        dtype={"count": "Int64", "nbool": "boolean"},
        **EXACT_FLOATS,
    )
    assert list(back.columns) == list(df.columns)
    pd.testing.assert_series_equal(back["id"], df["id"])
    pd.testing.assert_series_equal(back["price"], df["price"], check_exact=True)
    assert back["name"].tolist() == df["name"].tolist()
    assert back["colour"].tolist() == df["colour"].astype(str).tolist()
    for col in ("when", "naive"):
        parsed = pd.to_datetime(back[col], format="ISO8601")
        pd.testing.assert_series_equal(parsed, df[col], check_dtype=False)
    paris = pd.to_datetime(back["paris"], format="ISO8601", utc=True).dt.tz_convert("Europe/Paris")
    pd.testing.assert_series_equal(paris, df["paris"], check_dtype=False)
    pd.testing.assert_series_equal(back["flag"], df["flag"])
    pd.testing.assert_series_equal(back["count"], df["count"])
    pd.testing.assert_series_equal(back["nbool"], df["nbool"])
    assert back["word"][0] == "ünï" and back["word"][2] == "x\ny"

    stored = get(s3fs_fs, "all.csv.gz")
    assert stored == b"".join(encode_dataframe(df))
    assert obj == S3Object(
        url=f"s3://{BUCKET}/all.csv.gz",
        bucket=BUCKET,
        key="all.csv.gz",
        region="us-east-1",
        format="csv",
        compression="gzip",
        rows=1000,
        columns=tuple(df.columns),
        bytes_uncompressed=len(gzip.decompress(stored)),
        bytes_written=len(stored),
        etag=obj.etag,
        sha256=hashlib.sha256(gzip.decompress(stored)).hexdigest(),
        seconds=0.0,
    )
    assert obj.etag and obj.seconds > 0


def gunzip_prefix(data: bytes) -> bytes:
    """The text of the first bytes of a gzip file of several members (one per chunk)."""
    text = b""
    while data:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        text += member.decompress(data)
        data = member.unused_data
    return text


def test_multipart_upload_of_a_large_frame(s3: Any, s3fs_fs: Any) -> None:
    df = noise_frame(400_000)
    recorder = Recorder()
    obj = upload_dataframe(
        df, f"s3://{BUCKET}/big.csv.gz", storage_options=s3.storage_options, progress=recorder
    )
    assert obj.bytes_written > s3_module.PART_SIZE
    assert obj.etag is not None and int(obj.etag.rsplit("-", 1)[1]) >= 2  # a multipart upload
    back = pd.read_csv(io.BytesIO(gzip.decompress(get(s3fs_fs, "big.csv.gz"))), **EXACT_FLOATS)
    pd.testing.assert_frame_equal(back, df, check_exact=True)

    kinds = [c[0] for c in recorder.calls]
    assert kinds[0] == "start" and kinds[-1] == "end" and set(kinds[1:-1]) == {"update"}
    assert recorder.calls[0] == ("start", f"s3://{BUCKET}/big.csv.gz", 400_000)
    updates = [c[1:] for c in recorder.calls if c[0] == "update"]
    assert [u[0] for u in updates] == sorted(u[0] for u in updates)
    assert [u[1] for u in updates] == sorted(u[1] for u in updates)
    assert 0 < updates[0][1] < obj.bytes_written  # bytes arrive as parts are sent
    assert updates[-1] == (400_000, obj.bytes_written)
    assert recorder.calls[-1] == ("end", obj, None)
    # the rows reported with a part are rows whose bytes S3 had taken: all only at the end
    stored = get(s3fs_fs, "big.csv.gz")
    for rows, sent in updates[:-1]:
        text = gunzip_prefix(stored[:sent])
        assert 0 < rows <= text.count(b"\n") - 1 < 400_000  # the header is a line


def test_progress_takes_the_same_values_as_everywhere_else(
    s3: Any, s3fs_fs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{BUCKET}/p.csv.gz"
    df = mixed_frame(10)
    df.nexosis.to_s3(url, storage_options=s3.storage_options, progress="text")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"nexosis: uploading 10 rows to {url}"
    assert lines[-1].startswith(f"nexosis: uploaded {url} (")
    for quiet in (None, False):
        upload_dataframe(df, url, fs=s3fs_fs, progress=quiet)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="progress must be"):
        upload_dataframe(df, url, fs=s3fs_fs, progress="loud")  # type: ignore[arg-type]


def test_json_without_compression(s3: Any, s3fs_fs: Any) -> None:
    df = mixed_frame(50)
    obj = upload_dataframe(df, f"s3://{BUCKET}/d.json", format="json", compression=None, fs=s3fs_fs)
    records = json.loads(get(s3fs_fs, "d.json"))
    assert len(records) == 50 and records[0]["id"] == 0 and records[0]["when"].endswith("+00:00")
    assert obj.format == "json" and obj.compression is None
    assert obj.bytes_written == obj.bytes_uncompressed


@pytest.mark.parametrize(
    ("name", "fmt", "compression"),
    [
        ("a.csv.gz", "csv", "gzip"),
        ("a.csv", "csv", None),
        ("a.json.gz", "json", "gzip"),
        ("a.json", "json", None),
    ],
)
def test_the_suffix_chooses_format_and_compression(
    s3: Any, s3fs_fs: Any, name: str, fmt: str, compression: str | None
) -> None:
    obj = upload_dataframe(mixed_frame(5), f"s3://{BUCKET}/{name}", fs=s3fs_fs)
    assert (obj.format, obj.compression) == (fmt, compression)
    raw = get(s3fs_fs, name)
    assert raw.startswith(b"\x1f\x8b") == (compression == "gzip")


def test_a_key_without_a_known_suffix_needs_format_and_compression(s3: Any, s3fs_fs: Any) -> None:
    with pytest.raises(ValueError, match="pass both format= and compression="):
        upload_dataframe(mixed_frame(5), f"s3://{BUCKET}/data", fs=s3fs_fs)
    assert not s3fs_fs.exists(f"{BUCKET}/data")
    obj = upload_dataframe(
        mixed_frame(5), f"s3://{BUCKET}/data", format="csv", compression="gzip", fs=s3fs_fs
    )
    assert obj.rows == 5


def test_index_rules_on_s3(s3: Any, s3fs_fs: Any) -> None:
    df = pd.DataFrame({"v": [1, 2]}, index=pd.date_range("2024-01-01", periods=2, name="day"))
    upload_dataframe(df, f"s3://{BUCKET}/i.csv", compression=None, fs=s3fs_fs)
    assert get(s3fs_fs, "i.csv").decode().splitlines()[0] == '"day","v"'
    upload_dataframe(df, f"s3://{BUCKET}/i.csv", compression=None, index=False, fs=s3fs_fs)
    assert get(s3fs_fs, "i.csv").decode() == '"v"\n1\n2\n'


def test_empty_frame_writes_a_header(s3: Any, s3fs_fs: Any) -> None:
    df = pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="float64")})
    obj = upload_dataframe(df, f"s3://{BUCKET}/e.csv.gz", fs=s3fs_fs)
    assert gzip.decompress(get(s3fs_fs, "e.csv.gz")) == b'"a","b"\n'
    assert obj.rows == 0 and obj.columns == ("a", "b")


def test_identical_frames_give_identical_objects(s3: Any, s3fs_fs: Any) -> None:
    first = upload_dataframe(mixed_frame(500), f"s3://{BUCKET}/1.csv.gz", fs=s3fs_fs)
    second = upload_dataframe(mixed_frame(500), f"s3://{BUCKET}/2.csv.gz", fs=s3fs_fs)
    assert get(s3fs_fs, "1.csv.gz") == get(s3fs_fs, "2.csv.gz")
    assert first.sha256 == second.sha256 and first.etag == second.etag


def test_storage_options_come_from_the_defaults(s3: Any, s3fs_fs: Any) -> None:
    with config.using_defaults(storage_options=s3.storage_options):
        upload_dataframe(pd.DataFrame({"a": [1]}), f"s3://{BUCKET}/d.csv.gz")
    assert s3fs_fs.exists(f"{BUCKET}/d.csv.gz")


def test_bad_column_names_send_nothing(s3: Any, s3fs_fs: Any) -> None:
    recorder = Recorder()
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ColumnError, match="'a'"):
        upload_dataframe(df, f"s3://{BUCKET}/bad.csv.gz", fs=s3fs_fs, progress=recorder)
    assert recorder.calls == []
    assert not s3fs_fs.exists(f"{BUCKET}/bad.csv.gz")


def test_bad_url(s3: Any) -> None:
    for url in ("https://x/y", "s3://bucket-only", "s3://bucket/dir/"):
        with pytest.raises(ValueError, match="s3://bucket/"):
            upload_dataframe(pd.DataFrame({"a": [1]}), url, storage_options=s3.storage_options)


# ------------------------------------------------------------------------ failures leave nothing


class Explosive:
    """A value whose text cannot be made: the encoding fails when it reaches it."""

    def __str__(self) -> str:
        raise RuntimeError("this value cannot be written")


def exploding_frame(n: int, at: int) -> pd.DataFrame:
    df = noise_frame(n)
    values = df["x0"].astype(object)
    values[at] = Explosive()
    df["bad"] = values
    return df


@pytest.fixture
def older(s3: Any, s3fs_fs: Any) -> bytes:
    """An object already at ``older.csv.gz`` that a failed upload must leave alone."""
    data = b"".join(encode_dataframe(pd.DataFrame({"old": [1, 2, 3]})))
    s3fs_fs.pipe(f"{BUCKET}/older.csv.gz", data)
    return data


def test_encoding_error_after_a_part_aborts_the_upload(s3: Any, s3fs_fs: Any, older: bytes) -> None:
    recorder = Recorder()
    with pytest.raises(RuntimeError, match="cannot be written"):
        upload_dataframe(
            exploding_frame(400_000, at=350_000),
            f"s3://{BUCKET}/older.csv.gz",
            fs=s3fs_fs,
            progress=recorder,
        )
    sent = [c[2] for c in recorder.calls if c[0] == "update"]
    assert max(sent) >= s3_module.PART_SIZE  # at least one part had been sent
    assert recorder.calls[-1][0] == "end" and isinstance(recorder.calls[-1][2], RuntimeError)
    assert encoder_threads() == []
    s3fs_fs.invalidate_cache()
    assert get(s3fs_fs, "older.csv.gz") == older
    assert pending_uploads(s3fs_fs) == []


def test_encoding_error_in_a_small_upload_writes_nothing(s3: Any, s3fs_fs: Any) -> None:
    with pytest.raises(RuntimeError, match="cannot be written"):
        upload_dataframe(exploding_frame(10, at=5), f"s3://{BUCKET}/small.csv.gz", fs=s3fs_fs)
    assert not s3fs_fs.exists(f"{BUCKET}/small.csv.gz")


def test_keyboard_interrupt_aborts_the_upload(s3: Any, s3fs_fs: Any, older: bytes) -> None:
    class Interrupting(Recorder):
        def upload_update(self, rows_done: int, bytes_sent: int) -> None:
            super().upload_update(rows_done, bytes_sent)
            if bytes_sent > 0:
                raise KeyboardInterrupt

    recorder = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        upload_dataframe(
            noise_frame(400_000), f"s3://{BUCKET}/older.csv.gz", fs=s3fs_fs, progress=recorder
        )
    assert isinstance(recorder.calls[-1][2], KeyboardInterrupt)
    assert encoder_threads() == []
    s3fs_fs.invalidate_cache()
    assert get(s3fs_fs, "older.csv.gz") == older
    assert pending_uploads(s3fs_fs) == []


def test_server_stopped_mid_upload(local_s3: Any) -> None:
    import s3fs

    own = LocalS3().start()
    try:
        own.create_bucket("stop-bucket")
        fs = s3fs.S3FileSystem(
            skip_instance_cache=True,
            config_kwargs={"retries": {"max_attempts": 1}},
            **own.storage_options,
        )
        fs.pipe("stop-bucket/data.csv.gz", b"older")

        class Stopping(ProgressReporter):
            def upload_update(self, rows_done: int, bytes_sent: int) -> None:
                if bytes_sent > 0:
                    own.stop()

        with pytest.raises(UploadError) as info:
            upload_dataframe(
                noise_frame(600_000), "s3://stop-bucket/data.csv.gz", fs=fs, progress=Stopping()
            )
        message = str(info.value)
        assert "s3://stop-bucket/data.csv.gz" in message and "could not be reached" in message
        assert info.value.bucket == "stop-bucket" and info.value.key == "data.csv.gz"
    finally:
        own.stop()
    # moto's state lives in the process: another server shows what the stopped one held
    check = s3fs.S3FileSystem(skip_instance_cache=True, **local_s3.storage_options)
    assert check.cat("stop-bucket/data.csv.gz") == b"older"


def test_no_such_bucket(s3: Any) -> None:
    with pytest.raises(UploadError) as info:
        upload_dataframe(
            pd.DataFrame({"a": [1]}),
            "s3://no-such-bucket/k.csv.gz",
            storage_options=s3.storage_options,
        )
    assert "'no-such-bucket' does not exist" in str(info.value)
    assert "s3://no-such-bucket/k.csv.gz" in str(info.value)
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_endpoint_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        "key": "k",
        "secret": "s",
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2},
        "client_kwargs": {"region_name": "us-east-1"},
    }
    with pytest.raises(UploadError, match="could not be reached") as info:
        upload_dataframe(pd.DataFrame({"a": [1]}), "s3://b/k.csv.gz", storage_options=options)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "s3://b/k.csv.gz" in str(info.value)
