"""The demo against a sandbox: filtered frames sent as they are, every column checked back."""

from __future__ import annotations

import pandas as pd
import pytest

from nexosis_pandas._demo import check_read_back, run_demo, sample_sales


@pytest.fixture(scope="module")
def back() -> pd.DataFrame:
    """The dataset as the demo reads it back (it checked it against what it imported)."""
    return run_demo(echo=lambda line: None)


def test_the_demo_sends_filtered_frames_without_their_row_labels(back: pd.DataFrame) -> None:
    assert list(back.columns) == list(sample_sales().columns)


@pytest.mark.parametrize("column", ["price", "promo", "temperature"])
def test_the_demos_check_notices_a_changed_value_outside_the_target(
    back: pd.DataFrame, column: str
) -> None:
    values = back[column].copy()
    values.iloc[5] = 99.5 if column != "promo" else not values.iloc[5]
    with pytest.raises(AssertionError, match=f"column '{column}' differs"):
        check_read_back(back.assign(**{column: values}), back)
