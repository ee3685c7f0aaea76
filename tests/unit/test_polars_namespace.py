"""``pl_df.nexosis`` and ``lazy.nexosis``: registered once polars is imported, in either order,
with the methods of ``df.nexosis`` (no sockets)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import nexosis_pandas as nxp
from tests.unit.test_api import FakeFS

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
