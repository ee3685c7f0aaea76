"""The demo against a sandbox: filtered frames sent as they are, every column checked back."""

from __future__ import annotations

import pandas as pd
import pytest

from nexosis_pandas._client import Client
from nexosis_pandas._demo import run_demo, sample_sales


def test_the_demo_sends_filtered_frames_without_their_row_labels() -> None:
    back = run_demo(echo=lambda line: None)
    assert list(back.columns) == list(sample_sales().columns)


@pytest.mark.parametrize("column", ["price", "promo", "temperature"])
def test_the_demo_notices_a_changed_value_outside_the_target(
    column: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_dataset = Client.read_dataset

    def tampered(self: Client, dataset_name: str) -> pd.DataFrame:
        data = read_dataset(self, dataset_name)
        values = data[column].copy()
        values.iloc[5] = 99.5 if column != "promo" else not values.iloc[5]
        return data.assign(**{column: values})

    monkeypatch.setattr(Client, "read_dataset", tampered)
    with pytest.raises(AssertionError, match=f"column '{column}' differs"):
        run_demo(echo=lambda line: None)
