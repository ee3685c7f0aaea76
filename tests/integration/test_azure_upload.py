"""upload_dataframe to Azure Blob Storage (Azurite over HTTP): the same upload code as S3."""

from __future__ import annotations

import gzip
import io
from typing import Any

import pandas as pd
import pytest

from nexosis_pandas import UploadError, config, upload_dataframe
from nexosis_pandas._encode.encoder import encode_dataframe
from nexosis_pandas._storage import upload as s3_module
from tests.integration.test_upload import Recorder, exploding_frame, noise_frame

CONTAINER = "test-container"


def test_a_frame_goes_to_a_blob_in_a_folder(azure: Any) -> None:
    df = pd.DataFrame({"day": pd.date_range("2017-01-01", periods=3), "units": [3, 5, 8]})
    recorder = Recorder()
    obj = upload_dataframe(
        df,
        f"az://{CONTAINER}/exports/sales.csv.gz",
        storage_options=azure.storage_options,
        progress=recorder,
    )
    assert obj.url == f"az://{CONTAINER}/exports/sales.csv.gz"
    assert (obj.bucket, obj.key, obj.rows, obj.region) == (
        CONTAINER,
        "exports/sales.csv.gz",
        3,
        None,
    )
    stored = azure.filesystem().cat(f"{CONTAINER}/exports/sales.csv.gz")
    assert obj.bytes_written == len(stored)
    back = pd.read_csv(io.BytesIO(gzip.decompress(stored)))
    assert back["units"].tolist() == [3, 5, 8]
    assert recorder.calls[0] == ("start", obj.url, 3) and recorder.calls[-1] == ("end", obj, None)


def test_the_azure_defaults_are_used_for_az_urls(azure: Any) -> None:
    with config.using_defaults(azure_storage_options=azure.storage_options):
        obj = upload_dataframe(pd.DataFrame({"x": [1]}), f"az://{CONTAINER}/x.csv")
    assert azure.filesystem().cat(f"{CONTAINER}/x.csv") == b'"x"\n1\n'
    assert obj.compression is None


@pytest.fixture
def older(azure: Any) -> bytes:
    """A blob already at ``older.csv.gz`` that a failed upload must leave alone."""
    data = b"".join(encode_dataframe(pd.DataFrame({"old": [1, 2, 3]})))
    azure.filesystem().pipe(f"{CONTAINER}/older.csv.gz", data)
    return data


def test_a_failure_after_staged_blocks_commits_nothing(azure: Any, older: bytes) -> None:
    fs = azure.filesystem()
    recorder = Recorder()
    for name in ("older.csv.gz", "new.csv.gz"):
        with pytest.raises(RuntimeError, match="cannot be written"):
            upload_dataframe(
                exploding_frame(400_000, at=350_000),
                f"az://{CONTAINER}/{name}",
                fs=fs,
                progress=recorder,
            )
    sent = [c[2] for c in recorder.calls if c[0] == "update"]
    assert max(sent) >= s3_module.PART_SIZE  # blocks had been staged on Azure
    fs.invalidate_cache()
    assert fs.cat(f"{CONTAINER}/older.csv.gz") == older  # the old blob is as it was
    assert not fs.exists(f"{CONTAINER}/new.csv.gz")  # staged, never committed: no blob
    assert fs.ls(CONTAINER) == [f"{CONTAINER}/older.csv.gz"]


def test_an_interrupted_upload_commits_nothing(azure: Any) -> None:
    class Interrupting(Recorder):
        def upload_update(self, rows_done: int, bytes_sent: int) -> None:
            if bytes_sent > 0:
                raise KeyboardInterrupt

    fs = azure.filesystem()
    with pytest.raises(KeyboardInterrupt):
        upload_dataframe(
            noise_frame(400_000), f"az://{CONTAINER}/big.csv.gz", fs=fs, progress=Interrupting()
        )
    fs.invalidate_cache()
    assert not fs.exists(f"{CONTAINER}/big.csv.gz")


def test_a_missing_container_is_named(azure: Any) -> None:
    with pytest.raises(UploadError, match=r"container 'nope' does not exist") as caught:
        upload_dataframe(
            pd.DataFrame({"x": [1]}), "az://nope/x.csv", storage_options=azure.storage_options
        )
    assert "AccountKey" not in str(caught.value)


def test_a_wrong_key_is_named_without_the_key(azure: Any) -> None:
    from nexosis_pandas.local_azure import ACCOUNT_KEY

    wrong = azure.connection_string.replace(ACCOUNT_KEY, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==")
    with pytest.raises(UploadError, match=r"Access was denied: check the connection string"):
        upload_dataframe(
            pd.DataFrame({"x": [1]}),
            f"az://{CONTAINER}/x.csv",
            storage_options={"connection_string": wrong},
        )
