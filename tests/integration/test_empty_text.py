"""``""`` comes back as ``""`` and a missing value as missing: frame → S3 → import → dataset.

Over moto's S3 server and the reference server on loopback: ``to_dataset`` in CSV and JSON,
an upsert by key, ``GET /data`` (JSON pages and ``text/csv``), ``read_dataset``; a file that
``df.to_csv`` wrote (where ``""`` and missing are one empty field, read back missing); and the
one case refused, ``""`` in a CSV file of one column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import requests

import nexosis_pandas as nxp
from nexosis_pandas import Client, ColumnError

BUCKET = "test-bucket"


@pytest.fixture
def client(reference_server: Any) -> Iterator[Client]:
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        yield c


def send(df: pd.DataFrame, name: str, url: str, client: Client, s3: Any, **roles: Any) -> None:
    nxp.import_dataframe(
        df,
        name,
        url,
        client=client,
        storage_options=s3.storage_options,
        progress=False,
        timeout=60,
        **roles,
    )


def texts(back: pd.DataFrame, column: str) -> list[Any]:
    """A text column by ``id``, ``None`` where missing."""
    ordered = back.sort_values("id").reset_index(drop=True)[column].astype(object)
    return [None if pd.isna(v) else v for v in ordered]


@pytest.mark.parametrize("ext", ["csv.gz", "json.gz", "csv"])
def test_the_empty_text_and_missing_come_back_apart_after_an_upsert(
    client: Client, s3: Any, reference_server: Any, ext: str
) -> None:
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "note": ["", None, "x", ""],
            "code": pd.array(["", "a", None, "b"], dtype="string"),
            "n": [1.5, None, 2.5, 3.5],
        }
    )
    send(df, "notes", f"s3://{BUCKET}/notes.{ext}", client, s3, key="id")
    back = client.read_dataset("notes")
    assert texts(back, "note") == ["", None, "x", ""]
    assert texts(back, "code") == ["", "a", None, "b"]
    assert back.sort_values("id")["n"].isna().tolist() == [False, True, False, False]

    # an upsert turns a text into "", "" into missing, and adds a row with ""
    again = pd.DataFrame({"id": [3, 4, 5], "note": ["", None, ""], "code": ["c", "", None]})
    send(again, "notes", f"s3://{BUCKET}/again.{ext}", client, s3, key="id")
    back = client.read_dataset("notes")
    assert texts(back, "note") == ["", None, "", None, ""]
    assert texts(back, "code") == ["", "a", "c", "", None]

    api = requests.Session()
    api.headers["api-key"] = reference_server.api_key
    url = f"{reference_server.url}/data/notes"
    page = api.get(url, params={"pageSize": 1000}, timeout=10).json()["data"]
    by_id = {row["id"]: row for row in page}
    assert [by_id[i]["note"] for i in range(1, 6)] == ["", None, "", None, ""]
    text = api.get(url, headers={"Accept": "text/csv"}, timeout=10).content.decode()
    lines = {line.split(",")[0]: line for line in text.splitlines()[1:]}
    assert lines["2"].split(",")[1] == "", "missing: an empty field"
    assert lines["1"].split(",")[1] == '""', "the empty text: quoted"
    api.close()


def test_a_file_of_df_to_csv_reads_its_empty_fields_as_missing(
    client: Client, s3: Any, s3fs_fs: Any
) -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "note": ["", None, "x"]})
    s3fs_fs.pipe(f"{BUCKET}/pandas.csv", df.to_csv(index=False).encode())
    # pandas writes "" and a missing value alike, an unquoted empty field, and reads both missing
    assert pd.read_csv(io.StringIO(df.to_csv(index=False)))["note"].isna().tolist()[:2] == [
        True,
        True,
    ]
    job = client.import_from_s3("pandas", BUCKET, "pandas.csv")
    job.wait(timeout=60, progress=False)
    assert texts(client.read_dataset("pandas"), "note") == [None, None, "x"]


def test_csv_of_this_package_quotes_the_empty_text(s3: Any) -> None:
    url = f"s3://{BUCKET}/raw.csv"
    pd.DataFrame({"id": [1, 2], "note": ["", None]}).nexosis.to_s3(
        url, storage_options=s3.storage_options
    )
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)
    raw = fs.cat(f"{BUCKET}/raw.csv").decode()
    assert raw.splitlines()[1:] == ['1,""', "2,"]
    assert list(csv.reader(io.StringIO(raw)))[1:] == [["1", ""], ["2", ""]]


def test_the_empty_text_in_a_csv_of_one_column_is_refused(
    client: Client, s3: Any, s3fs_fs: Any
) -> None:
    df = pd.DataFrame({"note": ["a", None, ""]})
    with pytest.raises(ColumnError, match=r"Column 'note' holds an empty string \(row 2\)") as e:
        send(df, "lone", f"s3://{BUCKET}/lone.csv.gz", client, s3)
    assert e.value.column == "note"
    assert ".json.gz" in str(e.value)
    assert not s3fs_fs.exists(f"{BUCKET}/lone.csv.gz"), "nothing is uploaded"
    # the way out the message names: JSON keeps both
    send(df, "lone", f"s3://{BUCKET}/lone.json.gz", client, s3)
    back = client.read_dataset("lone")["note"].astype(object)
    assert [None if pd.isna(v) else v for v in back] == ["a", None, ""]
