"""Properties 2 and 3: a frame sent to a dataset and read back is the frame that went in.

Upload (moto's S3 server) → import (the reference server, over HTTP) → ``read_dataset``. What
"the same frame" means is the table of the guide's "What round-trips exactly" page:
:func:`expected_dtype` is that table. One S3 server and one reference server serve the whole
module; every example imports into a dataset of its own.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import nexosis_pandas as nxp
from nexosis_pandas import Client, ColumnError
from tests.property.expect import (
    assert_column,
    assert_exact_numbers,
    culprits,
    dense_kind,
    sent_frame,
)
from tests.property.strategies import (
    TEXT_KINDS,
    Case,
    Family,
    Kind,
    Options,
    cases,
    family_cases,
)

BUCKET = "property-bucket"
ACCEPTED = Options(sub_micro=False)
"""Frames whose every value a dataset holds (the others are refused: see the last tests)."""

_TEXT = pd.Series(["text"]).dtype
Test = TypeVar("Test", bound=Callable[..., None])
_names = itertools.count()


def examples(share: float) -> settings:
    """This test's examples: a share of the profile's (an import costs a round of HTTP)."""
    return settings(max_examples=max(5, int(settings().max_examples * share)))


class Sandbox:
    def __init__(self, s3: Any, server: Any) -> None:
        self.s3 = s3
        self.client = Client(server.api_key, server.url, timeout=30)

    def send(self, df: pd.DataFrame, dataset: str, *, fmt: str = "csv", **roles: Any) -> None:
        url = f"s3://{BUCKET}/{dataset}.{fmt}.gz"
        nxp.import_dataframe(
            df,
            dataset,
            url,
            client=self.client,
            storage_options=self.s3.storage_options,
            progress=False,
            timeout=60,
            **roles,
        )

    def read(self, dataset: str) -> pd.DataFrame:
        back = self.client.read_dataset(dataset)
        return back.sort_values("row", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from nexosis_pandas._local_s3 import LocalS3
    from nexosis_pandas.server import ReferenceServer

    with LocalS3() as s3:
        s3.create_bucket(BUCKET)
        with ReferenceServer(
            data_dir=tmp_path_factory.mktemp("server-data"),
            api_keys=["property-key"],
            s3_endpoint_url=s3.endpoint_url,
            s3_storage_options=s3.storage_options,
        ) as server:
            sb = Sandbox(s3, server)
            yield sb
            sb.client.close()


def expected_dtype(kind: Kind, sent: pd.Series) -> Any:
    """The dtype ``read_dataset`` gives a column of ``kind``: the guide's table."""
    missing = bool(sent.isna().any())
    if kind in ("int64", "Int64"):
        if sent.isna().all():
            return np.dtype("float64")  # no value says it is a column of integers
        return pd.Int64Dtype() if missing else np.dtype("int64")
    if kind == "float64":
        return np.dtype("float64")
    if kind in ("bool", "boolean"):
        return pd.BooleanDtype() if missing or sent.empty else np.dtype(bool)
    if kind in TEXT_KINDS or (kind == "date" and sent.isna().all()):
        return _TEXT  # datetime.date objects: only a value says they are dates
    return "datetime64[UTC]"


def assert_frame_back(back: pd.DataFrame, case: Case) -> None:
    sent, kinds = sent_frame(case)
    assert list(back.columns) == list(sent.columns)
    assert len(back) == len(sent)
    for name, kind in kinds.items():
        want = expected_dtype(kind, sent[name])
        got = back[name].dtype
        if want == "datetime64[UTC]":
            assert isinstance(got, pd.DatetimeTZDtype) and str(got.tz) == "UTC", f"{name}: {got}"
        elif want is _TEXT and sent[name].isna().all():
            pass  # no value says which text dtype
        else:
            assert got == want, f"{name} ({kind}): {got} came back, expected {want}"
        assert_column(back[name], sent[name], kind, name)


def dataset_name() -> str:
    return f"prop-{next(_names)}"


def _one(kind: Kind, values: Any) -> Case:
    name = f"{kind}_0"
    frame = pd.DataFrame({"row": np.arange(len(values), dtype="int64"), name: values})
    return Case(frame, {"row": "int64", name: kind})


_FOUND = [
    _one("Int64", pd.array([1, None, 2**63 - 1], dtype="Int64")),
    _one("bool", np.array([True, False])),
    _one("category", pd.Categorical(["b", None, "a"], categories=["b", "a", "unused"])),
    _one(
        "object", pd.array(["08123", "NA", "null", " padded ", "a\r\nb", "lone\rcr"], dtype=object)
    ),
    # "" is the empty text, apart from a missing value, in CSV and JSON
    _one("string", pd.array(["", None, "x", ""], dtype="string")),
    _one("float64", np.array([1.0, -0.0, 5e-324, 2.0**53, 12345678901234567.0])),
    # A JSON file of no records: the dataset has the columns the import declared.
    _one("string", pd.array([], dtype="string")),
    # Local mean time, an offset with seconds (-03:30:52): written as the instant in UTC.
    _one("datetime_tz", pd.array(pd.to_datetime(["1935-03-30 03:30:51"]).tz_localize("UTC"))),
]
_FOUND[-1].frame["datetime_tz_0"] = (
    _FOUND[-1].frame["datetime_tz_0"].dt.tz_convert("America/St_Johns")
)


def _with_examples(test: Test) -> Test:
    for case in _FOUND:
        test = example(case)(test)
    return test


@pytest.mark.parametrize("fmt", ["csv", "json"])
@examples(0.5)
@given(case=cases(ACCEPTED))
@_with_examples
def test_a_frame_comes_back_from_its_dataset(sandbox: Sandbox, fmt: str, case: Case) -> None:
    name = dataset_name()
    sandbox.send(case.frame, name, fmt=fmt)
    assert_frame_back(sandbox.read(name), case)


@examples(0.3)
@given(case=cases(ACCEPTED))
def test_importing_twice_with_a_key_changes_nothing(sandbox: Sandbox, case: Case) -> None:
    name = dataset_name()
    sandbox.send(case.frame, name, key="row")
    once = sandbox.read(name)
    sandbox.send(case.frame, name, key="row")
    pd.testing.assert_frame_equal(sandbox.read(name), once)
    assert_frame_back(once, case)


@examples(0.3)
@given(case=cases(ACCEPTED))
# The second half's object column holds no value: it must not make the dataset's dates text.
@example(case=_one("date", pd.array([dt.date(2000, 1, 1), None], dtype=object)))
def test_two_halves_make_the_whole(sandbox: Sandbox, case: Case) -> None:
    whole = dataset_name()
    sandbox.send(case.frame, whole)
    halves = dataset_name()
    middle = len(case.frame) // 2
    sandbox.send(case.frame.iloc[:middle], halves)
    sandbox.send(case.frame.iloc[middle:], halves)
    pd.testing.assert_frame_equal(sandbox.read(halves), sandbox.read(whole))


def _refused(sandbox: Sandbox, df: pd.DataFrame, column: str, words: str) -> None:
    name = dataset_name()
    with pytest.raises(ColumnError, match=words) as caught:
        sandbox.send(df, name)
    assert caught.value.column == column
    assert repr(column) in str(caught.value)
    assert not _uploaded(sandbox, f"{name}.csv.gz"), "nothing is uploaded"


def _uploaded(sandbox: Sandbox, key: str) -> bool:
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **sandbox.s3.storage_options)
    return bool(fs.exists(f"{BUCKET}/{key}"))


@examples(0.2)
@given(case=cases(Options(kinds=TEXT_KINDS, max_rows=6)), at=st.integers(0, 5))
def test_an_empty_string_alone_in_a_csv_is_refused_before_upload(
    sandbox: Sandbox, case: Case, at: int
) -> None:
    """In a CSV file of one column ``""`` is how a missing value is written: ``""`` is refused."""
    column = next(c for c, k in case.kinds.items() if k in TEXT_KINDS)
    values = case.frame[column].astype(object).tolist() or [None]
    values[at % len(values)] = ""
    _refused(
        sandbox, pd.DataFrame({column: pd.Series(values, dtype=object)}), column, "empty string"
    )


def test_values_a_dataset_cannot_hold_are_refused_before_upload(sandbox: Sandbox) -> None:
    ns = pd.DataFrame({"row": [0], "t": pd.to_datetime(["2024-01-01T00:00:00.000000001"])})
    _refused(sandbox, ns, "t", "nanoseconds")
    far = np.array([10_000 * 366 * 86_400], dtype="int64").astype("datetime64[s]")
    _refused(sandbox, pd.DataFrame({"row": [0], "t": far}), "t", "years 1 to 9999")
    _refused(sandbox, pd.DataFrame({"row": [0, 1], "x": [1.0, -np.inf]}), "x", "infinite")


_FAMILY_EXAMPLES: list[tuple[Family, Any]] = [
    ("bytes", pd.array(["a", None, b"\x00\x01"], dtype=object)),
    ("decimal", pd.array([Decimal("12345678901234567890.123"), None], dtype=object)),
    ("decimal", pd.array([Decimal("0.1"), Decimal("-0"), Decimal("2.5"), None], dtype=object)),
    ("pyint", pd.array([2**70, 1, None], dtype=object)),
    ("pyint", pd.array([2**64 - 1, 0, None], dtype=object)),
    ("pyint", pd.array([-1, 2**63], dtype=object)),
    ("sparse_float64", pd.arrays.SparseArray([1.5, np.nan, -0.0])),
    ("sparse_int64", pd.arrays.SparseArray([0, 2**63 - 1, 0], fill_value=0)),
    ("sparse_bool", pd.arrays.SparseArray([False, True], fill_value=False)),
]


def _with_family_examples(test: Test) -> Test:
    for column in _FAMILY_EXAMPLES:
        test = example(column=column)(test)
    return test


@pytest.mark.parametrize("fmt", ["csv", "json"])
@examples(0.4)
@given(column=family_cases())
@_with_family_examples
def test_a_column_comes_back_exactly_or_is_refused_naming_its_row(
    sandbox: Sandbox, fmt: str, column: tuple[Family, Any]
) -> None:
    """bytes, Decimals, Python integers and sparse columns: exact, or refused before upload."""
    family, values = column
    name = f"{family}_0"
    n = len(values)
    df = pd.DataFrame({"row": np.arange(n, dtype="int64"), name: values})
    sent = [] if isinstance(values, pd.arrays.SparseArray) else list(values)
    words, rows = culprits(family, sent)
    dataset = dataset_name()
    if rows:
        with pytest.raises(ColumnError, match=words) as caught:
            sandbox.send(df, dataset, fmt=fmt)
        message = str(caught.value)
        assert caught.value.column == name and repr(name) in message
        named = re.search(r"\(row (\d+)", message)
        assert named is not None and int(named[1]) in rows, f"{message!r} names none of {rows}"
        assert not _uploaded(sandbox, f"{dataset}.{fmt}.gz"), "nothing is uploaded"
        return
    sandbox.send(df, dataset, fmt=fmt)
    back = sandbox.read(dataset)
    if family.startswith("sparse"):
        kind = dense_kind(family)
        assert_column(back[name], df[name], kind, name)
        assert back[name].dtype == np.dtype(kind), f"{name}: {back[name].dtype}"
    else:
        assert_exact_numbers(back[name], sent, name)
