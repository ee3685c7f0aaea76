"""Property: the same data held by pandas, by Arrow and by polars gives the same bytes.

Every frame the pandas strategies draw (each column kind, missing values, every datetime unit
and the zones with odd offsets) is turned into the Arrow table ``pyarrow.Table.from_pandas``
makes of it and into the polars frame ``polars.from_arrow`` makes of that; the encoder, which
formats Arrow columns without pandas, must write byte for byte what it writes for the pandas
frame, in CSV and in JSON. No sockets.

From 2037 on, where the tzdata tables stop, the Arrow path takes a zone's offsets from
``zoneinfo``, which goes on applying the zone's rule, as polars and pandas 3 do; pandas 2's
``pytz`` stops at the last transition, so there such values are left out of the comparison.
"""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import assume, example, given

from nexosis_pandas._encode.encoder import encode_dataframe
from tests.pandas_compat import PANDAS_2
from tests.property.strategies import Case, cases
from tests.property.test_file_round_trip import _lmt, _one, written

pl = pytest.importorskip("polars")


def _text(frame: Any, fmt: str) -> bytes:
    return gzip.decompress(b"".join(encode_dataframe(frame, format=fmt)))  # type: ignore[arg-type]


_LATE = pd.Timestamp("2037-01-01", tz="UTC")


def _late_zoned(df: pd.DataFrame) -> bool:
    zoned = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
    return any(bool((df[c].dropna() >= _LATE).any()) for c in zoned)


def assert_same_bytes(case: Case, fmt: str) -> None:
    df = written(case)[0].reset_index(drop=True)  # the index as the file writes it: columns
    if PANDAS_2:
        assume(not _late_zoned(df))
    expected = _text(case.frame, fmt)
    table = pa.Table.from_pandas(df, preserve_index=False)
    assert _text(table, fmt) == expected, "arrow"
    assert _text(pl.from_arrow(table), fmt) == expected, "polars"


@given(cases())
@example(_one("float64", np.array([1.0, -0.0, 5e-324, 0.1, np.nan, 12345678901234567.0])))
@example(_one("Int64", pd.array([2**63 - 1, None, -(2**63)], dtype="Int64")))
@example(_one("object", pd.array(["08123", "", None, "NA", "a\r\nb", ' "q" '], dtype=object)))
@example(_lmt())
def test_csv_bytes_are_the_same_from_pandas_arrow_and_polars(case: Case) -> None:
    assert_same_bytes(case, "csv")


@given(cases())
@example(_one("object", pd.array(["", None, "null", "\u2028", "\x00"], dtype=object)))
@example(_lmt())
def test_json_bytes_are_the_same_from_pandas_arrow_and_polars(case: Case) -> None:
    assert_same_bytes(case, "json")
