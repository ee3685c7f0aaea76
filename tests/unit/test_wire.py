"""The wire module: each shape read case-insensitively and written back as the API writes it."""

from __future__ import annotations

import importlib

import pandas as pd
import pytest

from nexosis_pandas import _wire
from nexosis_pandas._wire import (
    ErrorEnvelope,
    ImportQuery,
    Link,
    Page,
    S3ImportRequest,
    lookup,
)


def test_lookup_matches_any_case_and_falls_back() -> None:
    assert lookup({"IMPORTID": "x"}, "importId") == "x"
    assert lookup({"other": 1}, "importId", "none") == "none"
    assert lookup(None, "importId") is None


def test_page_round_trips_and_reads_any_case() -> None:
    page = Page(
        items=[{"a": 1}],
        page_number=1,
        page_size=1,
        total_count=3,
        total_pages=3,
        links=(Link("next", "http://x/?page=2"),),
    )
    wire = page.to_wire()
    assert set(wire) == {"items", "pageNumber", "pageSize", "totalCount", "totalPages", "links"}
    assert Page.from_wire(wire) == page
    shouted = {k.upper(): v for k, v in wire.items()}
    assert Page.from_wire(shouted) == page


def test_dataset_page_writes_data_and_columns() -> None:
    page = Page(items=[{"x": "1"}], dataset_name="sales", columns={"x": {"dataType": "numeric"}})
    wire = page.to_wire()
    assert wire["dataSetName"] == "sales" and wire["data"] == [{"x": "1"}] and "items" not in wire
    assert Page.from_wire(wire) == page


@pytest.mark.parametrize(
    ("page", "asked", "size", "expected"),
    [
        (Page(items=[1], page_number=0, total_pages=2), 0, 1, True),
        (Page(items=[1], page_number=1, total_pages=2), 1, 1, False),
        (Page(items=[1], links=(Link("self", "s"),)), 0, 1, False),
        (Page(items=[1], links=(Link("Next", "n"),)), 0, 5, True),
        (Page(items=[1, 2]), 0, 2, True),
        (Page(items=[1]), 0, 2, False),
    ],
)
def test_has_next_by_total_pages_then_links_then_fullness(
    page: Page, asked: int, size: int, expected: bool
) -> None:
    assert page.has_next(asked, size) is expected


def test_page_from_wire_of_a_non_object_is_none_and_a_list_is_items() -> None:
    assert Page.from_wire("text") is None
    assert Page.from_wire([1, 2]) == Page(items=[1, 2])


def test_error_envelope_round_trip_and_lenient_details() -> None:
    envelope = ErrorEnvelope(400, "Request is invalid", "RequestValidation", {"bucket": ["x"]})
    assert ErrorEnvelope.from_wire(envelope.to_wire(), 400) == envelope
    assert ErrorEnvelope(401, "denied").to_wire() == {"statusCode": 401, "message": "denied"}
    loose = ErrorEnvelope.from_wire({"ErrorDetails": "just text"}, 500)
    assert loose == ErrorEnvelope(500, "", None, {"details": "just text"})
    assert ErrorEnvelope.from_wire([1], 500) is None


def test_s3_request_writes_credentials_but_keeps_them_out_of_the_repr() -> None:
    request = S3ImportRequest(
        "sales",
        "bucket",
        "a.csv",
        "eu-west-1",
        columns={"x": {"role": "key"}},
        credentials=("AK", "SECRET"),
    )
    assert request.to_wire() == {
        "dataSetName": "sales",
        "bucket": "bucket",
        "path": "a.csv",
        "region": "eu-west-1",
        "columns": {"x": {"role": "key"}},
        "accessKeyId": "AK",
        "secretAccessKey": "SECRET",
    }
    assert "SECRET" not in repr(request)


def test_import_query_writes_only_what_is_set() -> None:
    after = pd.Timestamp("2024-01-01", tz="UTC")
    assert ImportQuery().to_wire() == {}
    assert ImportQuery(requested_after=after, sort_by="current_status_date").to_wire() == {
        "requestedAfterDate": "2024-01-01T00:00:00+00:00",
        "sortBy": "currentStatusDate",
    }


@pytest.mark.parametrize("kind", ["names", "records", "envelope", "requests"])
def test_the_package_exports_each_module_s_names(kind: str) -> None:
    module = importlib.import_module(f"nexosis_pandas._wire.{kind}")
    assert set(module.__all__) <= set(_wire.__all__)
    for name in module.__all__:
        assert getattr(_wire, name) is getattr(module, name)


def test_every_name_of_the_package_comes_from_one_module() -> None:
    kinds = ["names", "records", "envelope", "requests"]
    owners = [importlib.import_module(f"nexosis_pandas._wire.{kind}").__all__ for kind in kinds]
    exported = [name for names in owners for name in names]
    assert sorted(exported) == sorted(_wire.__all__)
