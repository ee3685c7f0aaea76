"""Property: where the server infers a column's type, a value's text survives the trip.

A file written by ``upload_dataframe`` is imported with no column metadata, so the reference
server infers each column's data type; ``read_dataset`` then gives the values back. In CSV a
text column may become numeric, logical or date, but only when that type reads every value as
the value it was: a code with a leading zero (``08123``) keeps the column ``string``. In JSON a
value keeps its JSON type: numbers are numeric, ``true`` is logical, a string stays a string.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import nexosis_pandas as nxp
from nexosis_pandas import Client
from nexosis_pandas._wire import parse_logical

BUCKET = "inference-bucket"
_names = itertools.count()

_PIECES = st.sampled_from(
    ["0", "1", "7", "08123", "007", "-1", "+2", "0.5", "1.50", "1e3", "-0", " 3", "true", "No"]
)
_TEXTS = st.one_of(_PIECES, st.text("0123456789.-+e ", min_size=1, max_size=6))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Client]]:
    from nexosis_pandas._local_s3 import LocalS3
    from nexosis_pandas.server import ReferenceServer

    with LocalS3() as s3:
        s3.create_bucket(BUCKET)
        with (
            ReferenceServer(
                data_dir=tmp_path_factory.mktemp("inference-data"),
                api_keys=["inference-key"],
                s3_endpoint_url=s3.endpoint_url,
                s3_storage_options=s3.storage_options,
            ) as reference,
            Client(reference.api_key, reference.url, timeout=30) as client,
        ):
            yield s3, client


def inferred(server: tuple[Any, Client], df: pd.DataFrame, fmt: str) -> tuple[pd.DataFrame, Any]:
    """Upload ``df``, import it with no column metadata, read it back (ordered by ``row``)."""
    s3, client = server
    name = f"inferred-{next(_names)}"
    key = f"{name}.{fmt}.gz"
    nxp.upload_dataframe(df, f"s3://{BUCKET}/{key}", storage_options=s3.storage_options)
    job = client.import_from_s3(name, BUCKET, key)
    job.wait(timeout=60, progress=False)
    back = client.read_dataset(name).sort_values("row").reset_index(drop=True)
    return back, job.columns


def _examples(share: float) -> settings:
    return settings(max_examples=max(5, int(settings().max_examples * share)))


@_examples(0.5)
@given(columns=st.lists(st.lists(_TEXTS, min_size=1, max_size=6), min_size=1, max_size=3))
@example(columns=[["08123", "1", "2"]])
@example(columns=[["1", "007"], ["true", "No"]])
def test_csv_text_survives_inference(server: tuple[Any, Client], columns: list[list[str]]) -> None:
    rows = max(map(len, columns))
    df = pd.DataFrame({"row": np.arange(rows, dtype="int64")})
    for i, values in enumerate(columns):
        df[f"t{i}"] = pd.Series(values + [None] * (rows - len(values)), dtype=object)
    back, metadata = inferred(server, df, "csv")
    for name in df.columns[1:]:
        data_type = metadata[name]["dataType"]
        sent = df[name].dropna()
        got = back[name][sent.index]
        if data_type == "string":
            assert got.tolist() == sent.tolist(), name
        elif data_type == "numeric":
            assert not sent.str.match(r"\s*[+-]?0[0-9]").any(), f"{name}: {sent.tolist()}"
            assert got.astype(float).tolist() == sent.astype(float).tolist(), name
        elif data_type == "logical":
            assert got.tolist() == [parse_logical(v) for v in sent], name
        else:
            pytest.fail(f"{name}: {sent.tolist()} inferred as {data_type}")


@_examples(0.3)
@given(
    numbers=st.lists(st.integers(-(2**53), 2**53), min_size=1, max_size=5),
    texts=st.lists(_TEXTS, min_size=1, max_size=5),
    flags=st.lists(st.booleans(), min_size=1, max_size=5),
)
@example(numbers=[1], texts=["08123", "1"], flags=[True])
def test_json_values_keep_their_json_types(
    server: tuple[Any, Client], numbers: list[int], texts: list[str], flags: list[bool]
) -> None:
    rows = max(len(numbers), len(texts), len(flags))

    def pad(values: list[Any]) -> list[Any]:
        return values + [None] * (rows - len(values))

    df = pd.DataFrame(
        {
            "row": np.arange(rows, dtype="int64"),
            "number": pd.array(pad(numbers), dtype="Int64"),
            "text": pd.Series(pad(texts), dtype="object"),
            "flag": pd.array(pad(flags), dtype="boolean"),
        }
    )
    back, metadata = inferred(server, df, "json")
    assert {n: metadata[n]["dataType"] for n in ("number", "text", "flag")} == {
        "number": "numeric",
        "text": "string",
        "flag": "logical",
    }
    assert back["number"].tolist()[: len(numbers)] == numbers
    assert back["text"].tolist()[: len(texts)] == texts
    assert back["flag"].tolist()[: len(flags)] == flags
