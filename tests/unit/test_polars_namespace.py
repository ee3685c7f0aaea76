"""``pl_df.nexosis`` and ``lazy.nexosis``: registered once polars is imported, in either order,
with the methods of ``df.nexosis`` (no sockets)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import nexosis_pandas as nxp
from tests.unit.fake_jobs import IMPORT_ID, FakeClient, record
from tests.unit.test_api import FakeFS
from tests.unit.test_background import GatedFS

pl = pytest.importorskip("polars")


@pytest.mark.parametrize(
    "imports",
    ["import nexosis_pandas; import polars as pl", "import polars as pl; import nexosis_pandas"],
)
def test_the_namespaces_appear_whichever_is_imported_first(imports: str) -> None:
    code = (
        f"{imports}\n"
        "frame = pl.DataFrame({'units': [3, 5]})\n"
        "assert frame.nexosis.column_metadata(target='units') == "
        "{'units': {'dataType': 'numeric', 'role': 'target'}}\n"
        "assert frame.lazy().nexosis.column_metadata() == {'units': {'dataType': 'numeric'}}\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)


def test_to_s3_writes_the_bytes_the_pandas_frame_writes() -> None:
    frame = pl.DataFrame({"id": ["a", "b"], "n": [1, None], "x": [0.5, 2.0]})
    same = pd.DataFrame(
        {"id": ["a", "b"], "n": pd.array([1, None], dtype="Int64"), "x": [0.5, 2.0]}
    )
    fs = FakeFS()
    lazy = frame.lazy().nexosis.to_s3("s3://b/lazy.csv.gz", fs=fs)
    eager = frame.nexosis.to_s3("s3://b/eager.csv.gz", fs=fs)
    pandas = same.nexosis.to_s3("s3://b/pandas.csv.gz", fs=fs)
    assert lazy.rows == eager.rows == 2
    assert lazy.sha256 == eager.sha256 == pandas.sha256
    assert fs.objects["b/lazy.csv.gz"] == fs.objects["b/pandas.csv.gz"]


def test_column_metadata_is_infer_column_metadata() -> None:
    frame = pl.DataFrame({"day": ["2024-01-01"], "units": [3]}).with_columns(
        pl.col("day").str.to_date()
    )
    assert frame.nexosis.column_metadata(timestamp="day") == nxp.infer_column_metadata(
        frame, timestamp="day"
    )


@pytest.mark.parametrize("lazy", [False, True], ids=["DataFrame", "LazyFrame"])
def test_background_returns_at_once_and_the_thread_uploads_and_imports(lazy: bool) -> None:
    frame = pl.DataFrame({"id": ["a", "b"], "n": [1, None]})
    fs, client = GatedFS(), FakeClient([record("started"), record("completed")])
    job = (frame.lazy() if lazy else frame).nexosis.to_dataset(
        "sales", "s3://b/k.csv.gz", background=True, client=client, fs=fs, progress=False
    )
    pending = not job.requested and not job.done()  # returned while the upload waits
    assert pending and fs.uploads == []
    fs.gate.set()
    assert job.result(timeout=5) is job
    assert job.import_id == IMPORT_ID and job.status.value == "completed"
    assert job.upload is not None and job.upload.rows == 2
    assert fs.uploads == ["b/k.csv.gz"]
    assert client.requests[0]["dataset_name"] == "sales"
    same = pd.DataFrame({"id": ["a", "b"], "n": pd.array([1, None], dtype="Int64")})
    assert job.upload.sha256 == same.nexosis.to_s3("s3://b/p.csv.gz", fs=FakeFS()).sha256
