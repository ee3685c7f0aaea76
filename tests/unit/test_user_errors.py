"""A mistake in the user's input is raised from the public entry point, not from the internals."""

from __future__ import annotations

import traceback
import warnings
from typing import Any

import pandas as pd
import pytest

import nexosis_pandas as nxp
from nexosis_pandas.exceptions import user_error
from tests.unit.fake_http import API_KEY, BASE_URL, FakeAdapter, fake_session


def _frames(exc: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


def test_a_column_mistake_shows_the_users_line_and_one_package_frame() -> None:
    frame = pd.DataFrame({"units": [1, 2]})
    with pytest.raises(nxp.ColumnError) as info:
        frame.nexosis.to_dataset("sales", target="unit")
    assert _frames(info.value) == [
        "test_a_column_mistake_shows_the_users_line_and_one_package_frame",
        "entry_point",
    ]
    assert "Did you mean 'units'?" in str(info.value)


def test_a_configuration_mistake_is_short_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEXOSIS_API_KEY", raising=False)
    with pytest.raises(nxp.ConfigurationError) as info:
        nxp.import_history()
    assert _frames(info.value)[1:] == ["entry_point"]


def test_an_error_from_another_library_keeps_its_whole_traceback() -> None:
    def from_pandas() -> None:
        pd.to_datetime(["not a date"], format="%Y")

    with pytest.raises(ValueError) as info:
        user_error(from_pandas)()
    assert "from_pandas" in _frames(info.value) and len(_frames(info.value)) > 3


def test_other_errors_keep_their_whole_traceback() -> None:
    def fails() -> None:
        raise nxp.UploadError("disk on fire", bucket="b", key="k")

    with pytest.raises(nxp.UploadError) as info:
        user_error(fails)()
    assert _frames(info.value)[-1] == "fails"


def _client_with(datasets: list[str]) -> nxp.Client:
    """A client whose server has these datasets and no imports."""

    def answer(request: Any) -> Any:
        items = [{"dataSetName": n} for n in datasets] if "/data" in request.url else []
        return (
            200,
            {
                "items": items,
                "pageNumber": 0,
                "pageSize": 1000,
                "totalPages": 1,
                "totalCount": len(items),
            },
        )

    return nxp.Client(API_KEY, BASE_URL, session=fake_session(FakeAdapter(answer)))


def test_history_takes_the_dataset_name_as_its_one_positional_argument() -> None:
    client = _client_with(["sales"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nxp.import_history("sales", client=client)  # no TypeError, and no warning: it exists


def test_an_empty_history_for_a_misspelt_dataset_names_the_close_ones() -> None:
    client = _client_with(["sales", "stores", "weather"])
    with pytest.warns(
        UserWarning, match=r"^No imports into a dataset named 'sale'\. Did you mean 'sales'"
    ) as record:
        history = nxp.import_history(dataset_name="sale", client=client)
    assert history.empty
    assert record[0].filename == __file__  # at the user's line, not the package's
    with pytest.warns(UserWarning, match=r"The datasets are: 'sales', 'stores', 'weather'\."):
        nxp.import_history("zzz", client=client)
