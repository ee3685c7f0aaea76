"""import_dataframe, the helpers and df.nexosis, with S3 and the API replaced by fakes."""

from __future__ import annotations

import gzip
import io
import re
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import EndpointConnectionError

import nexosis_pandas
from nexosis_pandas import _api as api
from nexosis_pandas import _importing, config
from nexosis_pandas._digest import content_url, frame_digest
from nexosis_pandas._job import ImportJob
from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.exceptions import ColumnError, ConfigurationError, UploadError
from tests.unit.fake_jobs import FakeClient, RecordingReporter, record


class FakeFile:
    """A multipart upload in memory: the parts taken as written, the object made on close."""

    def __init__(self, fs: FakeFS, path: str) -> None:
        self.fs, self.path, self.buffer, self.closed = fs, path, bytearray(), False

    offset = 0  # bytes of the parts S3 has taken: a small file is one part, taken on close

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.fs.objects[self.path] = bytes(self.buffer)
            self.fs.uploads.append(self.path)

    def discard(self) -> None:
        self.closed = True


class FakeFS:
    """S3 in memory, handed to the API as ``fs=``: what the upload and the reuse check use."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: list[str] = []  # paths written, in order
        self.client_kwargs: dict[str, Any] = {}
        self.error: Exception | None = None

    def open(self, path: str, mode: str, block_size: int) -> FakeFile:
        assert mode == "wb"
        return FakeFile(self, path)

    def invalidate_cache(self, path: str) -> None:
        pass

    def info(self, path: str) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        if path not in self.objects:
            raise FileNotFoundError(path)
        return {"size": len(self.objects[path]), "ETag": '"abc"'}

    def sent(self, number: int = 0) -> pd.DataFrame:
        """The frame the ``number``-th upload holds, read back as text."""
        path = self.uploads[number]
        data = self.objects[path]
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        if ".json" in path:
            return pd.read_json(io.BytesIO(data), dtype=False)
        return pd.read_csv(io.BytesIO(data), dtype=str)


@pytest.fixture
def fs() -> FakeFS:
    return FakeFS()


@pytest.fixture
def client() -> Any:
    return FakeClient([record("completed")])


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEXOSIS_API_KEY", "NEXOSIS_BASE_URL", "NEXOSIS_S3_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    # A call that forgets fs= fails at once on a closed port instead of reaching for AWS.
    monkeypatch.setenv("NEXOSIS_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(_importing, "_env_clients", {})


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=3),
            "store": ["a", "b", "c"],
            "units": [3, 5, 2],
        }
    )


def test_to_dataset_uploads_imports_and_waits(sales: pd.DataFrame, fs: FakeFS, client: Any) -> None:
    fs.client_kwargs = {"region_name": "eu-west-1"}
    job = sales.nexosis.to_dataset(
        "sales",
        "s3://bucket/in/sales.csv.gz",
        target="units",
        timestamp="day",
        progress=False,
        client=client,
        fs=fs,
    )
    assert isinstance(job, ImportJob)
    assert job.status is ImportStatus.COMPLETED
    assert job.upload is not None and job.upload.url == "s3://bucket/in/sales.csv.gz"
    assert fs.uploads == ["bucket/in/sales.csv.gz"]
    assert fs.objects["bucket/in/sales.csv.gz"][:2] == b"\x1f\x8b"  # gzip
    assert list(fs.sent().columns) == ["day", "store", "units"]  # the index left out
    [request] = client.requests
    assert request == {
        "dataset_name": "sales",
        "bucket": "bucket",
        "path": "in/sales.csv.gz",
        "region": "eu-west-1",
        "columns": {
            "day": {"dataType": "date", "role": "timestamp"},
            "store": {"dataType": "string"},
            "units": {"dataType": "numeric", "role": "target"},
        },
        "content_type": "csv",
    }


def test_the_reporter_sees_the_whole_journey(sales: pd.DataFrame, fs: FakeFS, client: Any) -> None:
    reporter = RecordingReporter()
    sales.nexosis.to_dataset("sales", "s3://b/k.csv.gz", progress=reporter, client=client, fs=fs)
    assert [name for name, _ in reporter.calls] == [
        "upload_start",
        "upload_update",
        "upload_end",
        "import_update",
        "import_update",
        "import_end",
    ]


def test_a_refused_import_request_ends_the_display_with_the_error(
    sales: pd.DataFrame, fs: FakeFS, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = nexosis_pandas.AuthenticationError("Access denied", status_code=401)

    def refuse(*args: Any, **kwargs: Any) -> ImportJob:
        raise refused

    monkeypatch.setattr(client, "import_from_s3", refuse)
    reporter = RecordingReporter()
    with pytest.raises(nexosis_pandas.AuthenticationError):
        sales.nexosis.to_dataset(
            "sales", "s3://b/k.csv.gz", progress=reporter, client=client, fs=fs
        )
    assert reporter.calls[-1] == ("import_end", "AuthenticationError")


def test_bad_column_metadata_fails_before_the_upload(
    sales: pd.DataFrame, fs: FakeFS, client: Any
) -> None:
    with pytest.raises(ColumnError, match="dataType='money'"):
        sales.nexosis.to_dataset(
            "sales",
            "s3://b/k.csv.gz",
            columns={"units": {"dataType": "money"}},
            client=client,
            fs=fs,
        )
    assert fs.uploads == [] and client.requests == []


def test_the_suffix_chooses_the_format(sales: pd.DataFrame, fs: FakeFS, client: Any) -> None:
    job = api.import_dataframe(sales, "s", "s3://b/k.json", progress=False, client=client, fs=fs)
    assert fs.objects["b/k.json"][:1] in (b"[", b"{")  # plain JSON, not gzipped
    assert client.requests[0]["content_type"] == "json"
    assert job.upload is not None
    with pytest.raises(ValueError, match=r"end the key in \.csv\.gz"):
        api.import_dataframe(sales, "s", "s3://b/k.parquet", progress=False, client=client, fs=fs)


def test_without_s3_url_or_prefix_says_how_to_set_one(
    sales: pd.DataFrame, fs: FakeFS, client: Any
) -> None:
    with pytest.raises(ConfigurationError) as info:
        sales.nexosis.to_dataset("sales", progress=False, client=client, fs=fs)
    message = str(info.value)
    assert "NEXOSIS_S3_PREFIX" in message and "s3_url=" in message
    assert message.endswith("Or, to try it locally, start a sandbox: nexosis_pandas.sandbox().")
    assert fs.uploads == [] and client.requests == []


def test_a_bad_prefix_is_a_configuration_error(sales: pd.DataFrame) -> None:
    with pytest.raises(ConfigurationError, match="must look like"):
        content_url(sales, "sales", prefix="bucket/nexosis")


def test_content_addressed_upload_happens_once(
    sales: pd.DataFrame, fs: FakeFS, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXOSIS_S3_PREFIX", "s3://bucket/nexosis/")
    first = sales.nexosis.to_dataset("My sales 2024", progress=False, client=client, fs=fs)
    assert first.upload is not None
    assert re.fullmatch(
        r"s3://bucket/nexosis/My-sales-2024-[0-9a-f]{16}\.csv\.gz", first.upload.url
    )

    reporter = RecordingReporter()
    again = sales.copy().nexosis.to_dataset(
        "My sales 2024", progress=reporter, client=client, fs=fs
    )
    assert len(fs.uploads) == 1  # the same data is not uploaded twice
    assert again.upload is not None and again.upload.url == first.upload.url
    assert again.upload.rows == 3 and again.upload.bytes_written == first.upload.bytes_written
    assert reporter.calls[0] == ("upload_end", None)  # the reporter hears of the reuse
    assert client.requests[1]["path"] == client.requests[0]["path"]

    changed = sales.assign(units=[3, 5, 9]).nexosis.to_dataset(
        "My sales 2024",
        progress=False,
        client=client,
        fs=fs,
    )
    assert len(fs.uploads) == 2
    assert changed.upload is not None and changed.upload.url != first.upload.url


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "could not be reached"),
        (PermissionError("Access Denied"), "Access was denied"),
    ],
)
def test_a_failed_existence_check_is_an_upload_error_the_display_hears_of(
    sales: pd.DataFrame,
    fs: FakeFS,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    hint: str,
) -> None:
    monkeypatch.setenv("NEXOSIS_S3_PREFIX", "s3://bucket/nexosis/")
    fs.error = error
    reporter = RecordingReporter()
    with pytest.raises(UploadError) as info:
        sales.nexosis.to_dataset("sales", progress=reporter, client=client, fs=fs)
    message = str(info.value)
    assert message.startswith("Looking for an existing object at s3://bucket/nexosis/sales-")
    assert hint in message and "Nothing was uploaded" in message
    assert (info.value.bucket, info.value.__cause__) == ("bucket", error)
    assert reporter.calls == [("upload_end", info.value)]
    assert fs.uploads == [] and client.requests == []


def test_the_prefix_can_come_from_the_defaults(sales: pd.DataFrame) -> None:
    with config.using_defaults(s3_prefix="s3://other/p"):
        assert content_url(sales, "sales").startswith("s3://other/p/sales-")


def test_column_errors_come_before_any_upload(sales: pd.DataFrame, fs: FakeFS, client: Any) -> None:
    with pytest.raises(ColumnError, match="target='unit'"):
        sales.nexosis.to_dataset("s", "s3://b/k.csv.gz", target="unit", client=client, fs=fs)
    assert fs.uploads == []


def test_columns_mapping_none_and_invalid(sales: pd.DataFrame, fs: FakeFS, client: Any) -> None:
    api.import_dataframe(
        sales,
        "s",
        "s3://b/k.csv.gz",
        columns={"units": {"dataType": "numericMeasure"}},
        progress=False,
        client=client,
        fs=fs,
    )
    assert client.requests[-1]["columns"]["units"] == {"dataType": "numericMeasure"}
    api.import_dataframe(
        sales, "s", "s3://b/k.csv.gz", columns=None, progress=False, client=client, fs=fs
    )
    assert client.requests[-1]["columns"] is None
    with pytest.raises(ValueError, match="columns=None sends no column metadata"):
        api.import_dataframe(sales, "s", "s3://b/k.csv.gz", columns=None, target="units")
    with pytest.raises(ValueError, match="columns must be"):
        api.import_dataframe(sales, "s", "s3://b/k.csv.gz", columns="guess")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dataset_name"):
        api.import_dataframe(sales, " ", "s3://b/k.csv.gz")


def test_wait_false_returns_the_requested_job(sales: pd.DataFrame, fs: FakeFS, client: Any) -> None:
    job = sales.nexosis.to_dataset(
        "s", "s3://b/k.csv.gz", wait=False, progress=False, client=client, fs=fs
    )
    assert job.status is ImportStatus.REQUESTED
    assert client.calls == 0


def test_wait_false_ends_the_display_with_how_to_wait(
    sales: pd.DataFrame, fs: FakeFS, client: Any
) -> None:
    reporter = RecordingReporter()
    ended: list[str] = []
    reporter.detached = lambda job: ended.append(job.status.value)  # type: ignore[method-assign]
    sales.nexosis.to_dataset(
        "s", "s3://b/k.csv.gz", wait=False, progress=reporter, client=client, fs=fs
    )
    assert reporter.calls[-1] == ("import_update", "requested")
    assert ended == ["requested"]


def test_a_named_index_becomes_a_column(fs: FakeFS, client: Any) -> None:
    frame = pd.DataFrame(
        {"units": [1, 2]}, index=pd.date_range("2024-01-01", periods=2, name="day")
    )
    frame.nexosis.to_dataset(
        "s", "s3://b/k.csv.gz", timestamp="day", progress=False, client=client, fs=fs
    )
    assert list(fs.sent().columns) == ["day", "units"]
    assert client.requests[0]["columns"]["day"]["role"] == "timestamp"


def test_an_unnamed_index_with_information_becomes_a_column_as_upload_names_it(
    fs: FakeFS, client: Any
) -> None:
    days = pd.date_range("2024-01-01", periods=2)
    frame = pd.DataFrame({"units": [1, 2]}, index=days)
    frame.nexosis.to_dataset(
        "s", "s3://b/k.csv.gz", timestamp="index", progress=False, client=client, fs=fs
    )
    sent = fs.sent()
    assert list(sent.columns) == ["index", "units"]
    assert pd.to_datetime(sent["index"]).tolist() == list(days)
    assert client.requests[0]["columns"]["index"] == {"dataType": "date", "role": "timestamp"}


def test_a_default_range_index_is_left_out(sales: pd.DataFrame, fs: FakeFS, client: Any) -> None:
    sales.nexosis.to_dataset("s", "s3://b/k.csv.gz", progress=False, client=client, fs=fs)
    assert list(fs.sent().columns) == list(sales.columns)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(lambda f: f[f["store"] != "b"], id="filtered"),
        pytest.param(lambda f: f.iloc[1:], id="sliced"),
        pytest.param(lambda f: f.set_axis([10, 20, 30]), id="int-labels"),
        pytest.param(lambda f: f.set_axis(pd.Index([7, 8, 9], dtype="uint64")), id="uint"),
    ],
)
def test_an_unnamed_integer_index_numbers_rows_and_is_left_out(
    sales: pd.DataFrame, fs: FakeFS, client: Any, rows: Any
) -> None:
    frame = rows(sales)
    frame.nexosis.to_dataset("s", "s3://b/k.csv.gz", progress=False, client=client, fs=fs)
    assert list(fs.sent().columns) == ["day", "store", "units"]
    assert list(client.requests[0]["columns"]) == ["day", "store", "units"]
    assert list(frame.nexosis.column_metadata()) == ["day", "store", "units"]


@pytest.mark.parametrize(
    ("index", "sent"),
    [
        pytest.param(pd.Index(["x", "y", "z"]), ["index"], id="string-labels"),
        pytest.param(pd.Index([1, 2, 3], name="row"), ["row"], id="named-int"),
        pytest.param(pd.RangeIndex(3, name="n"), ["n"], id="named-range"),
        pytest.param(pd.Index([0.5, 1.5, 2.5]), ["index"], id="float"),
        pytest.param(
            pd.MultiIndex.from_tuples([(1, "a"), (1, "b"), (2, "a")], names=["g", None]),
            ["g", "level_1"],
            id="multi",
        ),
    ],
)
def test_an_index_that_is_data_is_sent_and_shown_in_the_preview(
    sales: pd.DataFrame, fs: FakeFS, client: Any, index: pd.Index, sent: list[str]
) -> None:
    frame = sales.set_axis(index)
    expected = [*sent, "day", "store", "units"]
    assert list(frame.nexosis.column_metadata()) == expected
    assert list(nexosis_pandas.infer_column_metadata(frame)) == expected
    frame.nexosis.to_dataset("s", "s3://b/k.csv.gz", progress=False, client=client, fs=fs)
    assert list(fs.sent().columns) == expected
    assert list(client.requests[0]["columns"]) == expected


def test_the_preview_names_a_set_index_as_the_import_does(
    sales: pd.DataFrame, fs: FakeFS, client: Any
) -> None:
    by_day = sales.set_index("day")
    preview = by_day.nexosis.column_metadata(timestamp="day", key="store")
    assert nexosis_pandas.infer_column_metadata(by_day, timestamp="day", key="store") == preview
    by_day.nexosis.to_dataset(
        "s", "s3://b/k.csv.gz", timestamp="day", key="store", progress=False, client=client, fs=fs
    )
    assert client.requests[0]["columns"] == preview
    assert preview["day"] == {"dataType": "date", "role": "timestamp"}


def test_an_index_named_like_a_column_is_a_column_error_in_the_preview_too(
    fs: FakeFS,
) -> None:
    frame = pd.DataFrame({"units": [1, 2]}, index=pd.Index([5, 6], name="units"))
    with pytest.raises(ColumnError, match="'units' appears 2 times"):
        frame.nexosis.column_metadata()


def test_an_index_named_like_a_column_is_a_column_error(fs: FakeFS, client: Any) -> None:
    frame = pd.DataFrame({"units": [1, 2]}, index=pd.Index([5, 6], name="units"))
    with pytest.raises(ColumnError, match="'units' appears 2 times") as info:
        frame.nexosis.to_dataset("s", "s3://b/k.csv.gz", progress=False, client=client, fs=fs)
    assert "index.name" in str(info.value) and info.value.column == "units"
    assert fs.uploads == []


def test_to_s3_and_column_metadata_delegate(sales: pd.DataFrame, fs: FakeFS) -> None:
    obj = sales.nexosis.to_s3(
        "s3://b/k.csv.gz", format="csv", compression="gzip", fs=fs, progress=RecordingReporter()
    )
    assert obj.rows == 3 and len(fs.sent()) == 3
    assert sales.nexosis.column_metadata(key="store")["store"]["role"] == "key"


def test_the_accessor_checks_the_frame_when_accessed() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ColumnError, match="'a' appears 2 times"):
        _ = frame.nexosis
    assert "nexosis" in dir(pd.DataFrame)


def test_default_client_from_defaults_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="NEXOSIS_API_KEY"):
        api.default_client()
    configured: Any = FakeClient([record("completed")])
    with config.using_defaults(client=configured):
        assert api.default_client() is configured
        assert nexosis_pandas.get_import(record("completed").import_id).status.value == "completed"
    monkeypatch.setenv("NEXOSIS_API_KEY", "k")
    monkeypatch.setenv("NEXOSIS_BASE_URL", "http://127.0.0.1:9/v1")
    built = api.default_client()
    assert built.base_url == "http://127.0.0.1:9/v1"
    assert api.default_client() is built  # reused while the settings stay the same
    passed: Any = FakeClient([])
    assert api.default_client(passed) is passed


def test_import_history_delegates() -> None:
    class HistoryClient:
        def import_history(self, name: str | None = None, /, **kwargs: Any) -> pd.DataFrame:
            return pd.DataFrame([{"dataset_name": name, **kwargs}])

    history_client: Any = HistoryClient()
    frame = nexosis_pandas.import_history(dataset_name="sales", limit=5, client=history_client)
    assert frame.loc[0, "dataset_name"] == "sales" and frame.loc[0, "limit"] == 5


def test_frame_digest_depends_on_content_not_identity() -> None:
    a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    assert frame_digest(a) == frame_digest(a.copy())
    assert frame_digest(a) != frame_digest(a.rename(columns={"y": "z"}))
    assert frame_digest(a) != frame_digest(a.astype({"x": "float64"}))
    assert frame_digest(a) != frame_digest(a.iloc[::-1].reset_index(drop=True))
    frame_digest(pd.DataFrame({"l": [[1], [2]]}))  # unhashable cells still digest


def test_job_html_repr() -> None:
    failed = ImportJob(
        record("failed", messages=[("error", "bad <file>")]),
        FakeClient([]),
    )
    html = failed._repr_html_()
    assert "sales" in html and "failed" in html and "#c62828" in html
    assert "bad &lt;file&gt;" in html
    assert "s3://test-bucket/nexosis/sales.csv.gz" in html
    assert "requested</span> <small>+0.0 s" in html and "failed</span> <small>+2.0 s" in html
    assert "2.0 s" in html  # duration
