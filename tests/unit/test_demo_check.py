"""The demo's read-back check: names, row count and every column's values; dtypes may differ."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from nexosis_pandas._demo import check_read_back, sample_sales


@pytest.fixture
def sent() -> pd.DataFrame:
    return sample_sales(end="2026-01-10", stores=2)


def read_back(sent: pd.DataFrame) -> pd.DataFrame:
    """As Client.read_dataset types it: UTC dates, float numbers, nullable booleans, object text."""
    return pd.DataFrame(
        {
            "date": sent["date"].dt.tz_localize("UTC"),
            "store": sent["store"].astype(object),
            "units": sent["units"].astype("float64"),
            "price": sent["price"],
            "promo": sent["promo"].astype("boolean"),
            "temperature": sent["temperature"],
        }
    )


def test_the_same_data_in_the_dtypes_a_dataset_reads_back_passes(sent: pd.DataFrame) -> None:
    check_read_back(read_back(sent), sent)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("date", pd.Timestamp("2027-01-01", tz="UTC")),
        ("store", "store-9"),
        ("units", 1000.0),
        ("price", 0.5),
        ("promo", pd.NA),
        ("temperature", 99.5),
    ],
)
def test_a_changed_value_in_any_column_is_named(
    sent: pd.DataFrame, column: str, value: Any
) -> None:
    back = read_back(sent)
    back.loc[3, column] = value
    with pytest.raises(AssertionError, match=f"column '{column}' differs"):
        check_read_back(back, sent)


def test_a_missing_column_or_row_is_named(sent: pd.DataFrame) -> None:
    with pytest.raises(AssertionError, match="expected the columns"):
        check_read_back(read_back(sent).drop(columns="price"), sent)
    with pytest.raises(AssertionError, match=f"expected {len(sent)} rows, read back"):
        check_read_back(read_back(sent).iloc[1:], sent)
