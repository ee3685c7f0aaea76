"""Odd DataFrames: each one round-trips through S3 and the server, or fails before upload.

A failure must be a ``ColumnError`` naming the column and the fix, with nothing written to S3
and no import started.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nexosis_pandas import import_dataframe
from nexosis_pandas._client import Client
from nexosis_pandas.exceptions import ColumnError
from tests.reliability.reliability_helpers import BUCKET, fast_client

pytestmark = pytest.mark.reliability


@pytest.fixture
def client(reference_server: Any) -> Iterator[Client]:
    with fast_client(reference_server.url, reference_server.api_key) as made:
        yield made


def send(df: pd.DataFrame, name: str, client: Client, s3: Any) -> pd.DataFrame:
    """Import ``df`` through S3 and the server; return the dataset as read back."""
    import_dataframe(
        df,
        name,
        f"s3://{BUCKET}/frames/{name}.csv.gz",
        client=client,
        storage_options=s3.storage_options,
        progress=False,
        timeout=120,
    )
    return client.read_dataset(name)


def objects(fs: Any) -> list[str]:
    fs.invalidate_cache()
    return list(fs.find(BUCKET))


def _object(values: list[Any]) -> pd.Series:
    return pd.Series(values, dtype=object)


REFUSED: list[tuple[str, pd.DataFrame, str, str]] = [
    (
        "multiindex-columns",
        pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])),
        "MultiIndex",
        "Flatten them first",
    ),
    ("duplicate-names", pd.DataFrame([[1, 2]], columns=["a", "a"]), "appears 2 times", "Rename"),
    ("int-names", pd.DataFrame([[1, 2]]), "Column name 0", "df.columns.astype(str)"),
    (
        "empty-name",
        pd.DataFrame({"": [1]}),
        "is empty",
        "rename it",
    ),
    ("lists", pd.DataFrame({"l": _object([[1, 2], [3], None])}), "'l' holds a list", "json.dumps"),
    ("dicts", pd.DataFrame({"d": _object([None, {"a": 1}])}), "'d' holds a dict at row 1", "JSON"),
    (
        "inf",
        pd.DataFrame({"f": [1.5, np.inf, -np.inf, np.nan]}),
        "'f' holds an infinite value at row 1 (2 in all)",
        ".replace([np.inf, -np.inf], np.nan)",
    ),
    (
        "inf-in-objects",
        pd.DataFrame({"g": _object([1, 2.5, float("-inf")])}),
        "'g' holds an infinite value at row 2",
        "replace",
    ),
    (
        "surrogate-value",
        pd.DataFrame({"s": _object(["ok", "bad\ud800", None])}),
        "'s' holds text with an unpaired surrogate (row 1)",
        ".str.encode('utf-8', 'replace')",
    ),
    (
        "bytes",
        pd.DataFrame({"raw": _object([b"\x00\x01", None])}),
        "'raw' holds bytes (row 0, 1 in all)",
        ".str.decode('utf-8')",
    ),
    (
        "bytes-in-a-category",
        pd.DataFrame({"raw": pd.Categorical(["a", b"b"])}),
        "'raw' holds bytes (row 1, 1 in all)",
        "base64.b64encode",
    ),
    (
        "decimal",
        pd.DataFrame({"d": _object([decimal.Decimal("12345678901234567890.123")])}),
        "'d' holds Decimal('12345678901234567890.123') (row 0)",
        "df['d'] = df['d'].astype(str)",
    ),
    (
        "int-over-64-bits",
        pd.DataFrame({"i": _object([1, 2**70])}),
        "'i' holds the integer 1180591620717411303424 (row 1)",
        "df['i'] = df['i'].astype(str)",
    ),
    (
        "surrogate-name",
        pd.DataFrame([[1]], columns=pd.Index(["bad\udc00"], dtype=object)),
        "unpaired surrogate",
        "rename it",
    ),
]


@pytest.mark.parametrize(("case", "df", "what", "fix"), REFUSED, ids=[case for case, *_ in REFUSED])
def test_frames_that_cannot_be_sent_fail_before_upload(
    client: Client, s3: Any, s3fs_fs: Any, case: str, df: pd.DataFrame, what: str, fix: str
) -> None:
    with pytest.raises(ColumnError) as refused:
        send(df, case, client, s3)
    assert what in str(refused.value) and fix in str(refused.value), str(refused.value)
    assert objects(s3fs_fs) == []
    assert client.import_history().empty


def test_surrogates_in_a_large_upload_abort_it_and_leave_nothing(s3: Any, s3fs_fs: Any) -> None:
    from nexosis_pandas import upload_dataframe

    values = _object([f"row {i} " + "x" * 40 for i in range(300_000)])
    values.iloc[250_000] = "late \udfff"
    df = pd.DataFrame({"s": values, "n": np.arange(len(values))})
    with pytest.raises(ColumnError, match=r"row 250000"):
        upload_dataframe(df, f"s3://{BUCKET}/late.csv.gz", storage_options=s3.storage_options)
    assert objects(s3fs_fs) == []
    assert s3fs_fs.call_s3("list_multipart_uploads", Bucket=BUCKET).get("Uploads", []) == []


def test_odd_values_round_trip(client: Client, s3: Any) -> None:
    paris = pd.Timestamp("2024-01-01 12:00", tz="Europe/Paris")
    new_york = pd.Timestamp("2024-06-01 12:00:00.123456", tz="America/New_York")
    df = pd.DataFrame(
        {
            "id": [0, 1, 2, 3],
            "big": [np.iinfo("int64").max, np.iinfo("int64").min, 0, -1],
            "mixed": _object([1, "a", 2.5, None]),
            "zones": _object([paris, new_york, pd.Timestamp("2024-03-01", tz="UTC"), None]),
            "text": ['quo"te, comma', "new\nline\r\nCRLF", "nul\x00 tab\t", "ünïcödé 🚀 名前"],
            "long": ["x" * 1_000_000, "word " * 60_000, "", None],
            "floats": [0.1, -0.0, 1e300, np.nan],
        }
    )
    back = send(df, "odd", client, s3).sort_values("id", ignore_index=True)

    assert back["big"].tolist() == df["big"].tolist()
    # A mixed column is text: each value as str(), missing stays missing.
    assert back["mixed"].tolist()[:3] == ["1", "a", "2.5"] and pd.isna(back["mixed"][3])
    # Mixed time zones arrive as the same instants, in UTC.
    zones = back["zones"]
    expected = [paris, new_york, pd.Timestamp("2024-03-01", tz="UTC")]
    assert [zones[i] == expected[i] for i in range(3)] == [True, True, True]
    assert pd.isna(zones[3])
    assert back["text"].tolist() == df["text"].tolist()
    assert back["long"][0] == df["long"][0] and back["long"][1] == df["long"][1]
    assert back["long"][2] == "" and pd.isna(back["long"][3])  # "" is no missing value
    assert back["floats"].tolist()[:3] == [0.1, 0.0, 1e300] and np.isnan(back["floats"][3])


def test_sparse_columns_decimals_and_wide_integers_come_back_exactly(
    client: Client, s3: Any
) -> None:
    df = pd.DataFrame(
        {
            "id": [0, 1, 2],
            "sparse": pd.arrays.SparseArray([0.0, 0.1, np.nan]),
            "sparse_int": pd.arrays.SparseArray([0, 0, 2**62]),
            "decimal": _object([decimal.Decimal("1.50"), decimal.Decimal("0.1"), None]),
            "wide": _object([0, 2**64 - 1, 2**63]),
            "exact_floats": _object([2.5, 2**60, None]),
        }
    )
    back = send(df, "exact-values", client, s3).sort_values("id", ignore_index=True)
    assert back["sparse"].dtype == np.float64
    assert back["sparse"].tolist()[:2] == [0.0, 0.1] and np.isnan(back["sparse"][2])
    assert back["sparse_int"].tolist() == [0, 0, 2**62]
    assert back["decimal"].tolist()[:2] == [1.5, 0.1] and np.isnan(back["decimal"][2])
    assert back["wide"].dtype == np.uint64 and back["wide"].tolist() == [0, 2**64 - 1, 2**63]
    assert back["exact_floats"].tolist()[:2] == [2.5, 2.0**60]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1.5, np.nan, 2.0, np.nan]),
        pd.Series(["a", None, "b", None]),
        pd.Series([True, None, False, None], dtype="boolean"),
        pd.Series([pd.Timestamp("2024-01-01"), pd.NaT, pd.Timestamp("2024-01-02"), pd.NaT]),
    ],
    ids=["float", "string", "boolean", "datetime"],
)
def test_a_one_column_frame_keeps_its_missing_rows(
    client: Client, s3: Any, column: pd.Series
) -> None:
    back = send(pd.DataFrame({"v": column}), "one-column", client, s3)
    assert len(back) == 4
    assert back["v"].isna().tolist() == [False, True, False, True]
