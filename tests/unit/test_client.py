"""The client: settings, paths and bodies, paging, filters, history and datasets (no sockets)."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

import nexosis_pandas
from nexosis_pandas import (
    APIConnectionError,
    APIError,
    BadRequestError,
    Client,
    ConfigurationError,
    DataType,
    ImportJob,
    ImportStatus,
    NotFoundError,
    Role,
)
from nexosis_pandas._history import HISTORY_DTYPES, ImportHistory
from nexosis_pandas._http import HTTPTransport
from nexosis_pandas.config import DEFAULT_BASE_URL, using_defaults
from nexosis_pandas.server.columns import fits
from tests.unit.fake_http import (
    API_KEY,
    BASE_URL,
    FakeAdapter,
    fake_session,
    guid,
    import_wire,
    refused,
)


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("unit tests must not open sockets")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEXOSIS_API_KEY", raising=False)
    monkeypatch.delenv("NEXOSIS_BASE_URL", raising=False)


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture
def client(adapter: FakeAdapter) -> Client:
    no_sleep = HTTPTransport(BASE_URL, API_KEY, session=fake_session(adapter), sleep=lambda s: None)
    return Client(transport=no_sleep)


# -- construction -------------------------------------------------------------------------


def test_client_is_exported() -> None:
    assert nexosis_pandas.Client is Client
    assert "Client" in nexosis_pandas.__all__


def test_a_transport_carries_its_own_settings(adapter: FakeAdapter) -> None:
    transport = HTTPTransport(BASE_URL, API_KEY, session=fake_session(adapter))
    assert Client(transport=transport).transport is transport
    with pytest.raises(ValueError, match="either transport= or api_key"):
        Client(API_KEY, transport=transport)


def test_missing_key_says_how_to_set_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        Client()
    assert "Client(api_key=...)" in str(info.value)
    assert "NEXOSIS_API_KEY" in str(info.value)
    assert str(info.value).endswith("to try it locally, start a sandbox: nexosis_pandas.sandbox().")


def test_key_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, adapter: FakeAdapter
) -> None:
    monkeypatch.setenv("NEXOSIS_API_KEY", "env-key")
    monkeypatch.setenv("NEXOSIS_BASE_URL", "http://env.test/v1/")
    client = Client(session=fake_session(adapter))
    assert client.base_url == "http://env.test/v1"
    adapter.answer((200, import_wire()))
    client.get_import(guid(1))
    assert adapter.last.headers["api-key"] == "env-key"
    assert adapter.last.url == f"http://env.test/v1/imports/{guid(1)}"


def test_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXOSIS_API_KEY", "env-key")
    monkeypatch.setenv("NEXOSIS_BASE_URL", "http://env.test/v1")
    assert Client("arg-key", "http://arg.test/v1").base_url == "http://arg.test/v1"


def test_default_base_url() -> None:
    assert Client("k").base_url == DEFAULT_BASE_URL == "https://ml.nexosis.com/v1"


def test_process_defaults_are_used() -> None:
    with using_defaults(api_key="default-key", base_url="http://sandbox.test/v1"):
        assert Client().base_url == "http://sandbox.test/v1"


def test_repr_hides_the_key(client: Client) -> None:
    assert repr(client) == "<Client base_url='http://api.test/v1'>"
    assert API_KEY not in repr(client) + str(client) + repr(client.transport)


def test_client_passes_timeout_and_retries(adapter: FakeAdapter) -> None:
    client = Client(API_KEY, BASE_URL, timeout=5, max_retries=0, session=fake_session(adapter))
    adapter.handler = lambda request: (503, None)
    with pytest.raises(nexosis_pandas.ServerError):
        client.get_import(guid(1))
    assert len(adapter.requests) == 1
    assert adapter.timeouts == [(5.0, 5.0)]


def test_context_manager_closes_its_session() -> None:
    with Client("k") as client:
        session = client.transport.session
        closed: list[bool] = []
        session.close = lambda: closed.append(True)  # type: ignore[method-assign]
    assert closed == [True]


# -- import_from_s3 -----------------------------------------------------------------------


def test_import_from_s3_sends_the_wire_body(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, import_wire(guid(7)), {"Nexosis-Import-Status": "Requested"}))
    job = client.import_from_s3("sales", "my-bucket", "exports/sales.csv.gz")
    assert adapter.last.method == "POST"
    assert adapter.path() == "/v1/imports/s3"
    assert adapter.json() == {
        "dataSetName": "sales",
        "bucket": "my-bucket",
        "path": "exports/sales.csv.gz",
        "region": "us-east-1",
    }
    assert isinstance(job, ImportJob)
    assert job.client is client
    assert job.import_id == guid(7)
    assert job.status is ImportStatus.REQUESTED
    assert job.dataset_name == "sales"
    assert job.parameters == {"bucket": "my-bucket", "path": "sales.csv", "region": "us-east-1"}
    assert job.requested_date == pd.Timestamp("2024-01-02T03:04:05.123456", tz="UTC")


def test_import_from_s3_options(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, import_wire()))
    client.import_from_s3(
        "sales",
        "b",
        "p.json",
        region="eu-west-1",
        columns={
            "day": {"dataType": DataType.DATE, "role": Role.TIMESTAMP},
            "amount": {"data_type": "numeric", "role": "target", "imputation": None},
        },
        content_type="json",
        credentials=("AKIA123", "s3cr3t"),
    )
    assert adapter.json() == {
        "dataSetName": "sales",
        "bucket": "b",
        "path": "p.json",
        "region": "eu-west-1",
        "columns": {
            "day": {"dataType": "date", "role": "timestamp"},
            "amount": {"dataType": "numeric", "role": "target"},
        },
        "contentType": "json",
        "accessKeyId": "AKIA123",
        "secretAccessKey": "s3cr3t",
    }


@pytest.mark.parametrize(
    "credentials",
    [
        {"access_key_id": "AKIA123", "secret_access_key": "s3cr3t"},
        {"key": "AKIA123", "secret": "s3cr3t", "endpoint_url": "http://x"},
        {"aws_access_key_id": "AKIA123", "aws_secret_access_key": "s3cr3t"},
    ],
)
def test_credentials_mappings(
    client: Client, adapter: FakeAdapter, credentials: dict[str, str]
) -> None:
    adapter.answer((200, import_wire()))
    client.import_from_s3("sales", "b", "p.csv", credentials=credentials)
    body = adapter.json()
    assert (body["accessKeyId"], body["secretAccessKey"]) == ("AKIA123", "s3cr3t")


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("", "b", "p"), {}, "dataset_name must be a non-empty string"),
        (("d", " ", "p"), {}, "bucket must be a non-empty string"),
        (("d", "b", None), {}, "path must be a non-empty string"),
        (("d", "b", "p"), {"content_type": "xml"}, "content_type must be 'csv' or 'json'"),
        (("d", "b", "p"), {"credentials": {"key": "only"}}, "credentials must be"),
        (("d", "b", "p"), {"credentials": ("a",)}, "credentials must be"),
        (("d", "b", "p"), {"columns": {"x": "numeric"}}, r"columns\['x'\] must be a mapping"),
        (("d", "b", "p"), {"columns": {"x": {"kind": "a"}}}, "unknown field 'kind'"),
    ],
)
def test_import_from_s3_checks_arguments_before_sending(
    client: Client, adapter: FakeAdapter, args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        client.import_from_s3(*args, **kwargs)
    assert adapter.requests == []


def test_bad_credentials_message_does_not_echo_the_secret(client: Client) -> None:
    with pytest.raises(ValueError) as info:
        client.import_from_s3("d", "b", "p", credentials={"key": "", "secret": "hunter2"})
    assert "hunter2" not in str(info.value)


def test_import_from_s3_400_names_the_fields(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer(
        (
            400,
            {
                "statusCode": 400,
                "message": "Request is invalid",
                "errorType": "InvalidColumnMetadata",
                "errorDetails": {"amount": ["Only one column can be the target."]},
            },
        )
    )
    with pytest.raises(BadRequestError) as info:
        client.import_from_s3("sales", "b", "p.csv")
    assert "amount: Only one column can be the target." in str(info.value)


def test_import_from_s3_is_not_sent_twice(client: Client, adapter: FakeAdapter) -> None:
    adapter.handler = lambda request: requests.exceptions.ReadTimeout("read timed out")
    with pytest.raises(APIConnectionError, match="may have reached the server"):
        client.import_from_s3("sales", "b", "p.csv")
    assert len(adapter.requests) == 1


def test_import_from_s3_is_retried_when_refused(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer(refused(), (200, import_wire(guid(3))))
    assert client.import_from_s3("sales", "b", "p.csv").import_id == guid(3)
    assert len(adapter.requests) == 2


# -- get_import and ImportJob ------------------------------------------------------------


def test_get_import(client: Client, adapter: FakeAdapter) -> None:
    wire = import_wire(
        guid(5),
        status="failed",
        history=[
            ("2024-01-02T03:04:05.1234567+00:00", "requested"),
            ("2024-01-02T03:04:06+00:00", "started"),
            ("2024-01-02T03:04:09+00:00", "failed"),
        ],
        messages=[
            ("informational", "reading"),
            ("error", "Couldn't determine the type of content (json / csv) for the Import job"),
        ],
    )
    adapter.answer((200, wire))
    job = client.get_import(guid(5))
    assert adapter.last.method == "GET"
    assert adapter.path() == f"/v1/imports/{guid(5)}"
    assert job.status is ImportStatus.FAILED and job.done()
    assert [c.status for c in job.status_history] == ["requested", "started", "failed"]
    assert job.status_history[0].date.tzinfo is not None
    assert job.messages[1].severity == "error"
    assert job.error.startswith("Couldn't determine the type")
    assert [link.rel for link in job.links] == ["self", "data"]
    assert job.to_dict()["importId"] == guid(5)


def test_get_import_not_found(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer(
        (
            404,
            {
                "statusCode": 404,
                "message": "Item not found",
                "errorType": "NotFound",
                "errorDetails": {"itemType": "import", "itemId": guid(9)},
            },
        )
    )
    with pytest.raises(NotFoundError) as info:
        client.get_import(guid(9))
    assert info.value.error_details == {"itemType": "import", "itemId": guid(9)}
    assert guid(9) in str(info.value)


def test_get_import_needs_an_id(client: Client) -> None:
    with pytest.raises(ValueError, match="import_id must be a non-empty string"):
        client.get_import("")


def test_get_import_of_a_dataset_name_says_what_an_id_is_before_any_request(
    client: Client, adapter: FakeAdapter
) -> None:
    with pytest.raises(ValueError) as info:
        client.get_import("sales")
    assert str(info.value) == (
        "'sales' is not an import id (a GUID such as 015d1d17-2a45-4f61-aa97-f21cc4fd656c); "
        "to find the imports of a dataset, use import_history(dataset_name='sales')"
    )
    assert not isinstance(info.value, nexosis_pandas.NexosisError)
    assert adapter.requests == []


@pytest.mark.parametrize(
    ("status", "name", "terminal"),
    [
        ("cancellationPending", "CANCELLATION_PENDING", False),
        ("Cancelled", "CANCELLED", True),
        ("somethingNew", "UNKNOWN", False),
    ],
)
def test_unknown_and_odd_statuses_do_not_crash(
    client: Client, adapter: FakeAdapter, status: str, name: str, terminal: bool
) -> None:
    adapter.answer((200, import_wire(status=status)))
    job = client.get_import(guid(1))
    assert job.status.name == name
    assert job.status.is_terminal is terminal
    assert job.status.value.lower() == status.lower()


def test_status_history_entries_without_a_date_are_skipped(
    client: Client, adapter: FakeAdapter
) -> None:
    wire = import_wire(guid(3), status="completed")
    wire["statusHistory"] = [
        {"status": "requested"},
        {"date": None, "status": "started"},
        {"date": "not a date", "status": "started"},
        {"date": "2024-01-02T03:04:09+00:00"},
        "junk",
        {"Date": "2024-01-02T03:04:10+00:00", "Status": "completed"},
    ]
    adapter.answer((200, wire))
    job = client.get_import(guid(3))
    assert [(str(h.date), h.status) for h in job.status_history] == [
        ("2024-01-02 03:04:10+00:00", ImportStatus.COMPLETED)
    ]
    assert job.status is ImportStatus.COMPLETED
    assert job.started is None
    assert "completed" in job._repr_html_()


def test_the_job_labels_its_time_as_the_servers(client: Client, adapter: FakeAdapter) -> None:
    wire = import_wire(
        guid(4),
        status="completed",
        history=[
            ("2024-01-02T03:04:05+00:00", "requested"),
            ("2024-01-02T03:04:09+00:00", "completed"),
        ],
    )
    adapter.answer((200, wire))
    html = client.get_import(guid(4))._repr_html_()
    assert re.search(r">Import</th><td [^>]*>3\.9 s<", html)
    assert "Duration" not in html


def test_refresh_asks_again(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, import_wire(guid(2))), (200, import_wire(guid(2), status="completed")))
    job = client.get_import(guid(2))
    assert job.refresh() is job
    assert job.status is ImportStatus.COMPLETED
    assert [adapter.path(i) for i in range(2)] == [f"/v1/imports/{guid(2)}"] * 2


@pytest.mark.parametrize(
    ("body", "got"),
    [
        (["not", "an", "import"], 'a list: ["not"'),
        (b'"hello"', 'a string: "hello"'),
        (None, "an empty body"),
    ],
)
def test_a_non_object_answer_is_an_api_error(
    client: Client, adapter: FakeAdapter, body: Any, got: str
) -> None:
    adapter.answer((200, body))
    with pytest.raises(APIError) as info:
        client.get_import(guid(1))
    text = str(info.value)
    assert text.startswith(f"GET {BASE_URL}/imports/{guid(1)} failed")
    assert "expected an import (a JSON object)" in text
    assert got in text
    assert "base_url" in text


def test_a_non_object_answer_to_the_post_names_the_post(
    client: Client, adapter: FakeAdapter
) -> None:
    adapter.answer((200, [1, 2]))
    with pytest.raises(
        APIError, match=r"^POST http://api.test/v1/imports/s3 failed.*a list: \[1, 2\]"
    ):
        client.import_from_s3("sales", "b", "p.csv")


def test_a_non_object_item_in_an_import_page_is_an_api_error(
    client: Client, adapter: FakeAdapter
) -> None:
    adapter.answer((200, {"items": [import_wire(guid(1)), 7]}))
    with pytest.raises(APIError, match=r"^GET http://api.test/v1/imports failed.*a number: 7"):
        list(client.iter_imports())


def test_a_redirected_post_says_the_base_url_is_wrong(adapter: FakeAdapter) -> None:
    client = Client(API_KEY, "http://api.test", session=fake_session(adapter))
    adapter.answer((301, None, {"Location": "https://api.test/v1/imports/s3"}))
    with pytest.raises(APIError) as info:
        client.import_from_s3("sales", "b", "p.csv")
    assert len(adapter.requests) == 1  # not followed, not retried
    assert info.value.status_code == 301
    text = str(info.value)
    assert "HTTP 301 Moved Permanently, a redirect to 'https://api.test/v1/imports/s3'" in text
    assert "/v1" in text and "https://" in text and "base_url=" in text


# -- paging -------------------------------------------------------------------------------


def paged_server(
    wires: list[dict[str, Any]], *, fields: str = "all", ignore_page: bool = False
) -> Any:
    """A handler serving ``wires`` in pages; ``fields`` picks which paging fields are sent."""

    def handle(request: requests.PreparedRequest) -> tuple[int, Any]:
        from urllib.parse import parse_qs, urlsplit

        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.url or "").query).items()}
        size = int(query.get("pageSize", 50))
        page = 0 if ignore_page else int(query.get("page", 0))
        items = wires[page * size : (page + 1) * size]
        total_pages = max(1, -(-len(wires) // size))
        body: dict[str, Any] = {"items": items}
        if fields in ("all", "numbers"):
            body.update(
                pageNumber=page, pageSize=size, totalCount=len(wires), totalPages=total_pages
            )
        if fields in ("all", "links"):
            links = [{"rel": "self", "href": "x"}, {"rel": "first", "href": "x"}]
            if page + 1 < total_pages:
                links.append({"rel": "next", "href": "x"})
            body["links"] = links
        return 200, body

    return handle


WIRES = [
    import_wire(guid(n), requested=f"2024-01-0{n + 1}T00:00:00+00:00", dataset_name=f"d{n}")
    for n in range(5)
]


@pytest.mark.parametrize("fields", ["all", "numbers", "links", "items-only"])
@pytest.mark.parametrize(("page_size", "requests_sent"), [(2, 3), (5, 1), (1000, 1)])
def test_paging_with_and_without_paging_fields(
    client: Client, adapter: FakeAdapter, fields: str, page_size: int, requests_sent: int
) -> None:
    adapter.handler = paged_server(WIRES, fields=fields)
    ids = [job.import_id for job in client.iter_imports(page_size=page_size)]
    assert ids == [guid(n) for n in range(5)]
    expected = requests_sent
    if fields == "items-only" and page_size == 5:
        expected = 2  # a full last page cannot be told from a middle one: one empty page more
    assert len(adapter.requests) == expected
    assert [adapter.query(i)["page"] for i in range(expected)] == [str(n) for n in range(expected)]
    assert {adapter.query(i)["pageSize"] for i in range(expected)} == {str(page_size)}


@pytest.mark.parametrize("fields", ["all", "numbers", "links", "items-only"])
def test_a_server_repeating_a_page_does_not_loop_forever(
    client: Client, adapter: FakeAdapter, fields: str
) -> None:
    adapter.handler = paged_server(WIRES, fields=fields, ignore_page=True)
    ids = [job.import_id for job in client.iter_imports(page_size=2)]
    assert ids == [guid(0), guid(1)]
    assert len(adapter.requests) == 2


def test_a_server_repeating_a_page_with_lying_paging_fields_stops(
    client: Client, adapter: FakeAdapter
) -> None:
    adapter.handler = lambda request: (
        200,
        {"items": WIRES[:2], "totalPages": 10**9, "links": [{"rel": "next", "href": "x"}]},
    )
    assert len(list(client.iter_imports(page_size=2))) == 2
    assert len(adapter.requests) == 2


def test_overlapping_pages_yield_each_import_once(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer(
        (200, {"items": WIRES[0:2], "links": [{"rel": "next", "href": "x"}]}),
        (200, {"items": WIRES[1:3], "links": [{"rel": "next", "href": "x"}]}),
        (200, {"items": WIRES[3:4], "links": []}),
    )
    ids = [job.import_id for job in client.iter_imports(page_size=2)]
    assert ids == [guid(0), guid(1), guid(2), guid(3)]


def test_a_bare_list_answer_is_read_as_items(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, WIRES[:2]))
    assert len(list(client.iter_imports())) == 2


def test_iter_imports_is_lazy(client: Client, adapter: FakeAdapter) -> None:
    adapter.handler = paged_server(WIRES)
    jobs = client.iter_imports(page_size=2)
    assert adapter.requests == []
    assert next(jobs).import_id == guid(0)
    assert len(adapter.requests) == 1


def test_no_imports(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, {"items": [], "pageNumber": 0, "totalPages": 0}))
    assert list(client.iter_imports()) == []


# -- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("2024-01-31", "2024-01-31T00:00:00+00:00"),
        ("2024-01-31T12:30:00", "2024-01-31T12:30:00+00:00"),
        ("2024-01-31T12:30:00+02:00", "2024-01-31T10:30:00+00:00"),
        (dt.date(2024, 1, 31), "2024-01-31T00:00:00+00:00"),
        (dt.datetime(2024, 1, 31, 8, 15), "2024-01-31T08:15:00+00:00"),
        (
            dt.datetime(2024, 1, 31, 8, 15, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            "2024-01-31T13:15:00+00:00",
        ),
        (
            pd.Timestamp("2024-01-31 08:15:00.5", tz="Europe/Berlin"),
            "2024-01-31T07:15:00.500000+00:00",
        ),
        (np.datetime64("2024-01-31T08:15"), "2024-01-31T08:15:00+00:00"),
    ],
)
def test_dates_are_sent_as_iso_with_offset(
    client: Client, adapter: FakeAdapter, value: Any, sent: str
) -> None:
    adapter.answer((200, {"items": []}), (200, {"items": []}))
    list(client.iter_imports(requested_after=value))
    list(client.iter_imports(requested_before=value))
    assert adapter.query(0)["requestedAfterDate"] == sent
    assert adapter.query(1)["requestedBeforeDate"] == sent
    assert "requestedBeforeDate" not in adapter.query(0)


def test_all_filters_use_the_wire_names(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, {"items": []}))
    list(
        client.iter_imports(
            dataset_name="sales",
            requested_after="2024-01-01",
            requested_before="2024-02-01",
            sort_by="requested_date",
            sort_order="desc",
            page_size=10,
        )
    )
    assert adapter.path() == "/v1/imports"
    assert adapter.query() == {
        "dataSetName": "sales",
        "requestedAfterDate": "2024-01-01T00:00:00+00:00",
        "requestedBeforeDate": "2024-02-01T00:00:00+00:00",
        "sortBy": "requestedDate",
        "sortOrder": "desc",
        "page": "0",
        "pageSize": "10",
    }


@pytest.mark.parametrize(
    ("sort_by", "sent"),
    [
        ("id", "id"),
        ("dataset_name", "dataSetName"),
        ("dataSetName", "dataSetName"),
        ("current_status_date", "currentStatusDate"),
        ("RequestedDate", "requestedDate"),
    ],
)
def test_sort_by_names(client: Client, adapter: FakeAdapter, sort_by: str, sent: str) -> None:
    adapter.answer((200, {"items": []}))
    list(client.iter_imports(sort_by=sort_by))
    assert adapter.query()["sortBy"] == sent


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"page_size": 0}, "page_size must be from 1 to 1000, got 0"),
        ({"page_size": 1001}, "page_size must be from 1 to 1000, got 1001"),
        ({"page_size": True}, "page_size must be an integer"),
        ({"page_size": 2.5}, "page_size must be an integer"),
        ({"sort_by": "size"}, "sort_by must be one of 'id', 'dataset_name'.*got 'size'"),
        ({"sort_order": "up"}, "sort_order must be 'asc' or 'desc', got 'up'"),
        (
            {"requested_after": "2024-02-01", "requested_before": "2024-01-01"},
            r"requested_after \(2024-02-01T00:00:00\+00:00\) is later than requested_before",
        ),
        ({"requested_after": "last tuesday"}, "requested_after='last tuesday' is not a date"),
        ({"requested_before": ""}, "requested_before='' is not a date"),
        ({"requested_before": "NaT"}, "requested_before='NaT' is not a date"),
        ({"requested_after": pd.NaT}, "requested_after=NaT is not a date"),
        ({"dataset_name": ""}, "dataset_name must be a non-empty string"),
    ],
)
def test_invalid_filters_fail_before_any_request(
    client: Client, adapter: FakeAdapter, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        client.iter_imports(**kwargs)
    with pytest.raises(ValueError, match=match):
        client.import_history(**kwargs)
    assert adapter.requests == []


def test_a_misspelt_filter_is_refused_not_dropped(client: Client, adapter: FakeAdapter) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'dataset_nme'"):
        client.import_history(dataset_nme="sales")  # type: ignore[call-arg]
    assert adapter.requests == []


def test_a_number_is_not_a_date(client: Client, adapter: FakeAdapter) -> None:
    with pytest.raises(TypeError, match="requested_after must be a str, datetime"):
        client.iter_imports(requested_after=20240101)  # type: ignore[arg-type]
    assert adapter.requests == []


def test_equal_after_and_before_is_allowed(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, {"items": []}))
    list(client.iter_imports(requested_after="2024-01-01", requested_before="2024-01-01"))
    assert len(adapter.requests) == 1


# -- import_history -----------------------------------------------------------------------


def test_import_history_frame(client: Client, adapter: FakeAdapter) -> None:
    done = import_wire(
        guid(1),
        status="completed",
        dataset_name="sales",
        requested="2024-03-01T10:00:00+00:00",
        history=[
            ("2024-03-01T10:00:00+00:00", "requested"),
            ("2024-03-01T10:00:02+00:00", "started"),
            ("2024-03-01T10:00:05.5+00:00", "completed"),
        ],
        messages=[("informational", "12 rows")],
    )
    failed = import_wire(
        guid(2),
        status="failed",
        dataset_name="costs",
        requested="2024-02-01T10:00:00+00:00",
        history=[
            ("2024-02-01T10:00:00+00:00", "requested"),
            ("2024-02-01T10:00:01+00:00", "started"),
            ("2024-02-01T10:00:03+00:00", "failed"),
        ],
        messages=[("error", "No such key"), ("warning", "retrying"), ("error", "gave up")],
    )
    running = import_wire(
        guid(3),
        status="started",
        requested="2024-04-01T10:00:00+00:00",
        history=[
            ("2024-04-01T10:00:00+00:00", "requested"),
            ("2024-04-01T10:00:01+00:00", "started"),
        ],
    )
    adapter.answer((200, {"items": [running, done, failed]}))
    history = client.import_history()
    assert history.dtypes.astype(str).to_dict() == HISTORY_DTYPES
    assert list(history.import_id) == [guid(2), guid(1), guid(3)]
    assert list(history.index) == [0, 1, 2]
    row = history.iloc[1]
    assert row.dataset_name == "sales"
    assert row.type == "s3"
    assert row.status == "completed"
    assert (row.bucket, row.path, row.region) == ("my-bucket", "sales.csv", "us-east-1")
    assert row.requested == pd.Timestamp("2024-03-01T10:00:00", tz="UTC")
    assert row.started == pd.Timestamp("2024-03-01T10:00:02", tz="UTC")
    assert row.finished == pd.Timestamp("2024-03-01T10:00:05.5", tz="UTC")
    assert row.duration == pd.Timedelta(seconds=5.5)
    assert row.error == ""
    assert row.n_messages == 1
    assert history.iloc[0].error == "No such key; gave up"
    assert history.iloc[0].n_messages == 3
    assert pd.isna(history.iloc[2].finished)
    assert pd.isna(history.iloc[2].duration)
    assert list(history[history.status == "failed"].dataset_name) == ["costs"]
    assert history.duration.dt.total_seconds().sum() == 8.5


def test_empty_history_has_stable_columns_and_dtypes(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, {"items": []}), (200, {"items": []}))  # no imports, no datasets
    with pytest.warns(UserWarning, match="'nothing'. There are no datasets yet."):
        history = client.import_history(dataset_name="nothing")
    assert history.empty
    assert history.dtypes.astype(str).to_dict() == HISTORY_DTYPES
    assert list(history.columns) == [
        "import_id",
        "dataset_name",
        "type",
        "status",
        "bucket",
        "path",
        "region",
        "url",
        "container",
        "blob",
        "requested",
        "started",
        "finished",
        "duration",
        "error",
        "n_messages",
    ]


def test_history_with_an_unknown_status(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, {"items": [import_wire(status="cancellationPending")]}))
    history = client.import_history()
    assert list(history.status) == ["cancellationPending"]
    assert pd.isna(history.finished.iloc[0])


def test_history_limit_stops_paging(client: Client, adapter: FakeAdapter) -> None:
    adapter.handler = paged_server(WIRES)
    history = client.import_history(limit=3, sort_by="requested_date", sort_order="desc")
    assert len(history) == 3
    assert len(adapter.requests) == 1
    assert adapter.query()["pageSize"] == "3"


def test_history_limit_larger_than_a_page(client: Client, adapter: FakeAdapter) -> None:
    adapter.handler = paged_server(WIRES)
    assert len(client.import_history(limit=3, page_size=2)) == 3
    assert len(adapter.requests) == 2


def test_history_limit_zero_sends_nothing(client: Client, adapter: FakeAdapter) -> None:
    history = client.import_history(limit=0)
    assert history.empty and adapter.requests == []


@pytest.mark.parametrize("limit", [-1, 1.5, True])
def test_history_limit_is_checked(client: Client, limit: Any) -> None:
    with pytest.raises(ValueError, match="limit must be None or an integer >= 0"):
        client.import_history(limit=limit)


# -- datasets -----------------------------------------------------------------------------


def dataset_page(
    rows: list[dict[str, Any]], page: int = 0, total_pages: int = 1, **extra: Any
) -> dict[str, Any]:
    return {
        "dataSetName": "sales",
        "columns": {
            "day": {"dataType": "date", "role": "timestamp"},
            "amount": {"dataType": "numeric", "role": "target"},
            "price": {"dataType": "numericMeasure", "role": "feature"},
            "promo": {"dataType": "logical", "role": "feature"},
            "store": {"dataType": "string", "role": "feature"},
        },
        "data": rows,
        "pageNumber": page,
        "pageSize": 1000,
        "totalPages": total_pages,
        **extra,
    }


def test_read_dataset_reads_every_page_with_dtypes(client: Client, adapter: FakeAdapter) -> None:
    first = [
        {
            "day": "2024-01-01T00:00:00+00:00",
            "amount": "3",
            "price": "1.5",
            "promo": "True",
            "store": "a",
        },
        {"day": "2024-01-02T00:00:00Z", "amount": "4", "price": "", "promo": "0", "store": "b"},
    ]
    second = [
        {"day": "2024-01-03", "amount": "5", "price": "2", "promo": "", "store": "c", "note": "x"}
    ]
    adapter.answer((200, dataset_page(first, 0, 2)), (200, dataset_page(second, 1, 2)))
    frame = client.read_dataset("sales")
    assert [adapter.path(i) for i in range(2)] == ["/v1/data/sales"] * 2
    assert [adapter.query(i)["page"] for i in range(2)] == ["0", "1"]
    assert list(frame.columns) == ["day", "amount", "price", "promo", "store", "note"]
    assert str(frame.day.dtype).startswith("datetime64") and str(frame.day.dt.tz) == "UTC"
    assert frame.amount.dtype == "int64"
    assert frame.price.dtype == "float64"
    assert frame.promo.dtype == "boolean"
    assert frame.amount.tolist() == [3, 4, 5]
    assert frame.price.isna().tolist() == [False, True, False]
    assert frame.promo.tolist() == [True, False, pd.NA]
    assert frame.store.tolist() == ["a", "b", "c"]
    assert frame.day.iloc[2] == pd.Timestamp("2024-01-03", tz="UTC")


def test_read_dataset_reads_logical_values_as_the_spec_and_the_server_do(
    client: Client, adapter: FakeAdapter
) -> None:
    # spec: logical values accept True/False, 1/0, On/Off, Yes/No (any case); nothing else.
    values: list[Any] = ["True", "off", " YES ", "0", "No", 1, 0.0, False, "t", "y", "n", 2, "x"]
    expected = [True, False, True, False, False, True, False, False] + [pd.NA] * 5
    adapter.answer((200, dataset_page([{"promo": v} for v in values])))
    frame = client.read_dataset("sales")
    assert frame.promo.dtype == "boolean"
    assert frame.promo.tolist() == expected
    # The server accepts into a logical column exactly the values the client reads back.
    assert [fits(v, "logical") for v in values] == [e is not pd.NA for e in expected]


def test_read_dataset_infers_numbers_without_metadata(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer(
        (
            200,
            {
                "data": [{"x": "1", "y": "a", "z": 2.5}, {"x": "2", "y": "b", "z": None}],
                "columns": {},
            },
        )
    )
    frame = client.read_dataset("raw")
    assert frame.x.dtype == "int64"
    assert frame.z.dtype == "float64"
    assert frame.y.tolist() == ["a", "b"]
    assert len(adapter.requests) == 1


def test_read_dataset_repeated_pages_stop(client: Client, adapter: FakeAdapter) -> None:
    rows = [{"x": str(n)} for n in range(1000)]
    adapter.handler = lambda request: (200, {"data": rows})
    assert len(client.read_dataset("raw")) == 1000
    assert len(adapter.requests) == 2


def test_read_empty_dataset(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, dataset_page([], 0, 0)))
    frame = client.read_dataset("sales")
    assert frame.empty
    assert list(frame.columns) == ["day", "amount", "price", "promo", "store"]
    assert frame.amount.dtype == "float64"


def test_read_dataset_quotes_the_name(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, {"data": []}))
    client.read_dataset("my sales/2024")
    assert adapter.path() == "/v1/data/my%20sales%2F2024"


def test_read_missing_dataset(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer(
        (404, {"message": "Item not found", "errorType": "NotFound"}),
        (200, {"items": [{"dataSetName": "sales"}], "totalPages": 1}),
    )
    with pytest.raises(NotFoundError) as info:
        client.read_dataset("nope")
    assert "did you mean" not in str(info.value)


def test_read_a_misspelt_dataset_suggests_the_name_and_lists_datasets(
    client: Client, adapter: FakeAdapter
) -> None:
    details = {"itemType": "dataSet", "itemId": "sale"}
    adapter.answer(
        (404, {"message": "No dataSet with id 'sale' was found", "errorDetails": details}),
        (200, {"items": [{"dataSetName": "sales"}, {"dataSetName": "stores"}], "totalPages": 1}),
    )
    with pytest.raises(NotFoundError) as info:
        client.read_dataset("sale")
    text = str(info.value)
    assert "No dataSet with id 'sale' was found; did you mean 'sales'?" in text
    assert text.endswith(
        "Check the dataset name; Client.list_datasets() lists this account's datasets."
    )
    assert "import_history" not in text


def test_a_failed_suggestion_leaves_the_not_found_error(
    client: Client, adapter: FakeAdapter
) -> None:
    adapter.answer((404, {"message": "Item not found"}), (500, {"message": "broken"}))
    once = Client(
        transport=HTTPTransport(BASE_URL, API_KEY, session=fake_session(adapter), max_retries=0)
    )
    with pytest.raises(NotFoundError, match="Item not found"):
        once.read_dataset("sale")


def test_list_datasets(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer(
        (
            200,
            {
                "items": [{"dataSetName": "a"}, {"DataSetName": "b"}],
                "pageNumber": 0,
                "totalPages": 2,
            },
        ),
        (200, {"items": [{"dataSetName": "c"}], "pageNumber": 1, "totalPages": 2}),
    )
    assert client.list_datasets() == ["a", "b", "c"]
    assert adapter.path() == "/v1/data"


def test_delete_dataset(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((204, None))
    client.delete_dataset("sales")
    assert adapter.last.method == "DELETE"
    assert adapter.path() == "/v1/data/sales"


def test_delete_missing_dataset(client: Client, adapter: FakeAdapter) -> None:
    missing = (404, {"message": "Item not found", "errorType": "NotFound"})
    adapter.answer(missing, missing)
    with pytest.raises(NotFoundError):
        client.delete_dataset("nope")
    client.delete_dataset("nope", missing_ok=True)


def test_delete_is_not_retried_after_it_may_have_been_sent(
    client: Client, adapter: FakeAdapter
) -> None:
    adapter.handler = lambda request: (503, None)
    with pytest.raises(nexosis_pandas.ServerError):
        client.delete_dataset("sales")
    assert len(adapter.requests) == 1


def test_api_key_is_not_in_bodies_or_urls(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, import_wire()), (200, {"items": []}))
    client.import_from_s3("sales", "b", "p.csv")
    list(client.iter_imports(dataset_name="sales"))
    for request in adapter.requests:
        assert API_KEY not in (request.url or "")
        body = request.body or b""
        assert API_KEY not in (body.decode() if isinstance(body, bytes) else body)
    assert json.dumps(adapter.json(0)).count("sales") == 1


def test_the_history_reads_at_a_glance_and_keeps_its_data(
    client: Client, adapter: FakeAdapter
) -> None:
    wire = import_wire(
        guid(5),
        status="completed",
        history=[
            ("2024-01-02T03:04:05+00:00", "requested"),
            ("2024-01-02T03:04:09.5+00:00", "completed"),
        ],
    )
    adapter.answer((200, {"items": [wire]}))
    history = client.import_history()
    assert isinstance(history, ImportHistory)
    html = history._repr_html_() or ""
    assert guid(5)[:8] + "…" in html and guid(5) not in html  # a short id
    assert ">s3://my-bucket/sales.csv<" in html  # the form the job and the summary show
    assert ">Import (s)</th>" in html and re.search(r">4\.\d</span></td>", html)
    assert history.loc[0, "import_id"] == guid(5)  # the data stays full and typed
    assert history.dtypes.astype(str).to_dict() == HISTORY_DTYPES
    assert type(history[["status"]]) is pd.DataFrame  # what is taken from it is plain
