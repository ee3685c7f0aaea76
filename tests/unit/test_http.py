"""The transport: request building, error translation, retries, and the api key kept secret."""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import time
import traceback
from typing import Any

import pytest
import requests

from nexosis_pandas._http import DEFAULT_RETRY, USER_AGENT, HTTPTransport
from nexosis_pandas._version import __version__
from nexosis_pandas.exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NexosisError,
    NotFoundError,
    QuotaExceededError,
    ServerError,
)
from tests.unit.fake_http import API_KEY, BASE_URL, FakeAdapter, fake_session, refused, reset


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("unit tests must not open sockets")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def transport(adapter: FakeAdapter, sleeps: list[float]) -> HTTPTransport:
    return HTTPTransport(
        BASE_URL,
        API_KEY,
        session=fake_session(adapter),
        sleep=sleeps.append,
        retry=DEFAULT_RETRY.new(backoff_jitter=0),  # the waits counted exactly
    )


# -- request building ---------------------------------------------------------------------


def test_request_carries_key_user_agent_timeout_and_json(
    transport: HTTPTransport, adapter: FakeAdapter
) -> None:
    adapter.answer((200, {"ok": True}))
    body = transport.request_json(
        "POST", transport.url("imports", "s3"), json_body={"dataSetName": "sales"}
    )
    assert body == {"ok": True}
    sent = adapter.last
    assert sent.method == "POST"
    assert sent.url == "http://api.test/v1/imports/s3"
    assert sent.headers["api-key"] == API_KEY
    assert sent.headers["User-Agent"] == f"nexosis-pandas/{__version__}" == USER_AGENT
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Content-Type"] == "application/json"
    assert adapter.json() == {"dataSetName": "sales"}
    assert adapter.timeouts == [(30.0, 30.0)]


def test_query_parameters_and_path_segments_are_encoded(
    transport: HTTPTransport, adapter: FakeAdapter
) -> None:
    adapter.answer((200, {}))
    transport.request_json(
        "GET", transport.url("data", "my data/2024"), params={"dataSetName": "a&b", "page": 0}
    )
    assert adapter.path() == "/v1/data/my%20data%2F2024"
    assert adapter.query() == {"dataSetName": "a&b", "page": "0"}


def test_base_url_trailing_slash_and_timeout_pair(adapter: FakeAdapter) -> None:
    t = HTTPTransport(
        "http://api.test/v1/", API_KEY, timeout=(2, 7.5), session=fake_session(adapter)
    )
    adapter.answer((200, {}))
    t.request_json("GET", t.url("imports"))
    assert adapter.last.url == "http://api.test/v1/imports"
    assert adapter.timeouts == [(2.0, 7.5)]


def test_a_given_session_is_not_changed_or_closed(adapter: FakeAdapter) -> None:
    session = fake_session(adapter)
    closed: list[bool] = []
    session.close = lambda: closed.append(True)  # type: ignore[method-assign]
    t = HTTPTransport(BASE_URL, API_KEY, session=session)
    t.close()
    assert closed == []
    assert "api-key" not in session.headers


def test_an_own_session_is_closed() -> None:
    t = HTTPTransport(BASE_URL, API_KEY)
    closed: list[bool] = []
    t.session.close = lambda: closed.append(True)  # type: ignore[method-assign]
    t.close()
    assert closed == [True]


def test_empty_success_body_is_none(transport: HTTPTransport, adapter: FakeAdapter) -> None:
    adapter.answer((204, None))
    assert transport.request_json("GET", transport.url("x")) is None


def test_non_json_success_body_is_a_useful_error(
    transport: HTTPTransport, adapter: FakeAdapter
) -> None:
    adapter.answer((200, "<html><body>Sign in to the proxy</body></html>"))
    with pytest.raises(APIError) as info:
        transport.request_json("GET", transport.url("imports"))
    text = str(info.value)
    assert "expected a JSON answer" in text
    assert "text/html" in text
    assert "Sign in to the proxy" in text
    assert "base URL" in text


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_that_is_not_followed_is_an_api_error(
    transport: HTTPTransport, adapter: FakeAdapter, method: str, status: int
) -> None:
    adapter.answer((status, None))
    with pytest.raises(APIError) as info:
        transport.request_json(method, transport.url("imports"))
    assert type(info.value) is APIError
    assert info.value.status_code == status
    text = str(info.value)
    assert f"{method} {BASE_URL}/imports failed with HTTP {status}" in text
    assert "a redirect with no Location" in text
    assert "need /v1 at the end, or https://" in text
    assert len(adapter.requests) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_api_key_never_follows_a_redirect_to_another_host(
    transport: HTTPTransport, adapter: FakeAdapter, method: str
) -> None:
    adapter.answer((302, None, {"Location": "http://elsewhere.test/v1/imports"}), (200, {}))
    with pytest.raises(APIError, match=re.escape("a redirect to 'http://elsewhere.test/")):
        transport.request_json(method, transport.url("imports"))
    assert [request.url for request in adapter.requests] == [f"{BASE_URL}/imports"]


def test_a_redirect_names_where_it_points(transport: HTTPTransport, adapter: FakeAdapter) -> None:
    adapter.answer((308, None, {"Location": "https://api.test/v1/imports"}))
    with pytest.raises(APIError, match=re.escape("a redirect to 'https://api.test/v1/imports'")):
        transport.request_json("POST", transport.url("imports"), json_body={})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_url": "ml.nexosis.com/v1"}, "not an http"),
        ({"api_key": ""}, "api key is empty"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, Any], match: str) -> None:
    args = {"base_url": BASE_URL, "api_key": API_KEY, **kwargs}
    with pytest.raises(ConfigurationError, match=match):
        HTTPTransport(args["base_url"], args["api_key"])


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"timeout": -1.0}, {"timeout": (1, 2, 3)}, {"max_retries": -1}],
)
def test_bad_timeouts_and_retry_counts_are_value_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        HTTPTransport(BASE_URL, API_KEY, **kwargs)


# -- error translation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "expected"),
    [
        (
            400,
            {
                "statusCode": 400,
                "message": "Request is invalid",
                "errorType": "RequestValidation",
                "errorDetails": {"bucket": ["The bucket field is required."]},
            },
            BadRequestError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 400 RequestValidation: "
            "Request is invalid (bucket: The bucket field is required.). "
            "Fix the named fields and send the request again.",
        ),
        (
            401,
            {
                "statusCode": 401,
                "message": "Access denied due to invalid subscription key. Make sure to "
                "provide a valid key for an active subscription.",
            },
            AuthenticationError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 401: Access denied due to "
            "invalid subscription key. Make sure to provide a valid key for an active "
            "subscription.. Check the api key passed to Client(api_key=...) or set in "
            "NEXOSIS_API_KEY.",
        ),
        (
            403,
            {"message": "Forbidden"},
            AuthenticationError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 403: Forbidden. Check the api "
            "key passed to Client(api_key=...) or set in NEXOSIS_API_KEY.",
        ),
        (
            404,
            {
                "statusCode": 404,
                "message": "Item not found",
                "errorType": "NotFound",
                "errorDetails": {"itemType": "import", "itemId": "abc"},
            },
            NotFoundError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 404 NotFound: Item not found "
            "(itemType: import; itemId: abc). Check the import id; import_history() lists the "
            "imports this account has.",
        ),
        (
            429,
            {"statusCode": 429, "message": "Quota Exceeded"},
            QuotaExceededError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 429: Quota Exceeded. Wait and "
            "try again, or delete datasets you no longer need.",
        ),
        (
            500,
            {"statusCode": 500, "message": "Something broke", "errorType": "ServerError"},
            ServerError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 500 ServerError: Something "
            "broke. This is a server-side failure; try again later.",
        ),
        (
            503,
            {"message": "Down for maintenance"},
            ServerError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 503: Down for maintenance. "
            "This is a server-side failure; try again later.",
        ),
        (
            418,
            {"message": "I'm a teapot"},
            APIError,
            "POST http://api.test/v1/imports/s3 failed with HTTP 418: I'm a teapot",
        ),
    ],
)
def test_error_envelope_becomes_the_right_error(
    transport: HTTPTransport,
    adapter: FakeAdapter,
    status: int,
    body: dict[str, Any],
    cls: type[APIError],
    expected: str,
) -> None:
    adapter.answer((status, body, {"Nexosis-Account-DataSetCount-Current": "3"}))
    with pytest.raises(APIError) as info:
        transport.request_json("POST", transport.url("imports", "s3"), json_body={})
    err = info.value
    assert type(err) is cls
    assert isinstance(err, NexosisError)
    assert err.status_code == status
    assert err.message == body["message"]
    assert err.error_type == body.get("errorType")
    assert err.error_details == body.get("errorDetails", {})
    assert err.method == "POST"
    assert err.url == "http://api.test/v1/imports/s3"
    assert err.headers["Nexosis-Account-DataSetCount-Current"] == "3"
    assert str(err) == expected
    assert len(adapter.requests) == 1


def test_envelope_names_are_matched_case_insensitively(
    transport: HTTPTransport, adapter: FakeAdapter
) -> None:
    adapter.answer((400, {"Message": "Bad", "ErrorType": "InvalidDateRange", "ErrorDetails": {}}))
    with pytest.raises(BadRequestError) as info:
        transport.request_json("GET", transport.url("imports"))
    assert info.value.message == "Bad"
    assert info.value.error_type == "InvalidDateRange"


def test_details_that_are_not_a_mapping_are_kept(
    transport: HTTPTransport, adapter: FakeAdapter
) -> None:
    adapter.answer((400, {"message": "Bad", "errorDetails": ["one", "two"]}))
    with pytest.raises(BadRequestError) as info:
        transport.request_json("GET", transport.url("imports"))
    assert info.value.error_details == {"details": ["one", "two"]}
    assert "details: one, two" in str(info.value)


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        ((502, "<html><h1>502 Bad Gateway</h1></html>"), ["HTTP 502", "text/html", "Bad Gateway"]),
        ((500, None), ["HTTP 500", "Internal Server Error", "an empty body"]),
        ((400, b"not json at all"), ["HTTP 400", "no content type", "not json at all"]),
        ((404, ["a", "list"]), ["HTTP 404", "application/json"]),
    ],
)
def test_error_without_an_envelope_is_still_useful(
    adapter: FakeAdapter, answer: tuple[int, Any], fragments: list[str]
) -> None:
    t = HTTPTransport(BASE_URL, API_KEY, session=fake_session(adapter), max_retries=0)
    adapter.answer(answer)
    with pytest.raises(APIError) as info:
        t.request_json("GET", t.url("imports"))
    text = str(info.value)
    assert text.startswith("GET http://api.test/v1/imports failed with HTTP")
    for fragment in fragments:
        assert fragment in text
    assert info.value.status_code == answer[0]


def test_long_error_bodies_are_cut_in_the_message(adapter: FakeAdapter) -> None:
    t = HTTPTransport(BASE_URL, API_KEY, session=fake_session(adapter), max_retries=0)
    adapter.answer((500, "x" * 5000))
    with pytest.raises(ServerError) as info:
        t.request_json("GET", t.url("imports"))
    assert len(str(info.value)) < 400
    assert info.value.body == "x" * 5000


# -- retries ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_retries_transient_statuses_with_backoff(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float], status: int
) -> None:
    adapter.answer((status, {"message": "busy"}), (status, None), (200, {"ok": 1}))
    assert transport.request_json("GET", transport.url("imports")) == {"ok": 1}
    assert len(adapter.requests) == 3
    assert sleeps == [0.0, 1.0]


def test_get_gives_up_after_max_retries(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float]
) -> None:
    adapter.handler = lambda request: (503, {"message": "still down"})
    with pytest.raises(ServerError, match="still down"):
        transport.request_json("GET", transport.url("imports"))
    assert len(adapter.requests) == 4
    assert sleeps == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_other_errors_are_not_retried(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float], status: int
) -> None:
    adapter.handler = lambda request: (status, {"message": "no"})
    with pytest.raises(APIError):
        transport.request_json("GET", transport.url("imports"))
    assert len(adapter.requests) == 1
    assert sleeps == []


def test_retry_after_seconds_is_honoured(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float]
) -> None:
    adapter.answer((429, {"message": "slow down"}, {"Retry-After": "7"}), (200, {}))
    transport.request_json("GET", transport.url("imports"))
    assert sleeps == [7.0]


def test_retry_after_shorter_than_the_backoff_keeps_the_backoff(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float]
) -> None:
    adapter.answer((503, None, {"Retry-After": "0"}), (200, {}))
    transport.request_json("GET", transport.url("imports"))
    assert sleeps == [0.0]


def test_retry_after_http_date_is_honoured(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    adapter.answer((503, None, {"Retry-After": when}), (200, {}))
    transport.request_json("GET", transport.url("imports"))
    assert 17 <= sleeps[0] <= 20


@pytest.mark.parametrize("value", ["3600", "soon"])
def test_unusable_retry_after_falls_back_to_the_backoff(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float], value: str
) -> None:
    adapter.answer((429, None, {"Retry-After": value}), (200, {}))
    transport.request_json("GET", transport.url("imports"))
    assert sleeps == [0.0]


@pytest.mark.parametrize(
    "error",
    [refused(), reset(), requests.exceptions.ConnectTimeout(), requests.exceptions.ReadTimeout()],
    ids=["refused", "reset", "connect-timeout", "read-timeout"],
)
def test_get_retries_connection_failures(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float], error: Exception
) -> None:
    adapter.answer(error, error, (200, {"ok": 1}))
    assert transport.request_json("GET", transport.url("imports")) == {"ok": 1}
    assert sleeps == [0.0, 1.0]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_post_is_not_retried_after_an_answer(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float], status: int
) -> None:
    adapter.handler = lambda request: (status, {"message": "busy"})
    with pytest.raises(APIError):
        transport.request_json("POST", transport.url("imports", "s3"), json_body={})
    assert len(adapter.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [reset(), requests.exceptions.ReadTimeout()],
    ids=["reset", "read-timeout"],
)
def test_post_is_not_retried_once_it_may_have_been_sent(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float], error: Exception
) -> None:
    adapter.handler = lambda request: error
    with pytest.raises(APIConnectionError) as info:
        transport.request_json("POST", transport.url("imports", "s3"), json_body={})
    assert len(adapter.requests) == 1
    assert sleeps == []
    text = str(info.value)
    assert text.startswith("POST http://api.test/v1/imports/s3 ")
    assert "may have reached the server" in text
    assert "import_history(dataset_name=...)" in text


@pytest.mark.parametrize(
    "error",
    [refused(), requests.exceptions.ConnectTimeout()],
    ids=["refused", "connect-timeout"],
)
def test_post_is_retried_when_it_never_left(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float], error: Exception
) -> None:
    adapter.answer(error, (200, {"importId": "x"}))
    body = transport.request_json("POST", transport.url("imports", "s3"), json_body={"a": 1})
    assert body == {"importId": "x"}
    assert [r.method for r in adapter.requests] == ["POST", "POST"]
    assert adapter.json(0) == adapter.json(1) == {"a": 1}
    assert sleeps == [0.0]


def test_connection_refused_after_retries_says_what_to_check(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float]
) -> None:
    adapter.handler = lambda request: refused()
    with pytest.raises(APIConnectionError) as info:
        transport.request_json("GET", transport.url("imports"))
    text = str(info.value)
    assert text.startswith("GET http://api.test/v1/imports could not connect (4 attempts): ")
    assert "Connection refused" in text
    assert "NEXOSIS_BASE_URL" in text
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_read_timeout_says_how_long_and_what_to_do(adapter: FakeAdapter) -> None:
    t = HTTPTransport(
        BASE_URL, API_KEY, session=fake_session(adapter), timeout=(3, 12), max_retries=0
    )
    adapter.handler = lambda request: requests.exceptions.ReadTimeout("read timed out")
    with pytest.raises(APIConnectionError) as info:
        t.request_json("GET", t.url("imports"))
    assert str(info.value) == (
        "GET http://api.test/v1/imports got no answer within 12 s: read timed out. "
        "Try again later, or pass a larger timeout= to the Client."
    )


def test_invalid_url_is_not_retried(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float]
) -> None:
    adapter.handler = lambda request: requests.exceptions.InvalidURL("bad url")
    with pytest.raises(APIConnectionError):
        transport.request_json("GET", transport.url("imports"))
    assert sleeps == []


def test_backoff_is_urllib3s_doubling_up_to_the_cap(
    adapter: FakeAdapter, sleeps: list[float]
) -> None:
    policy = DEFAULT_RETRY.new(total=6, backoff_factor=0.25, backoff_max=2.0, backoff_jitter=0)
    t = HTTPTransport(
        BASE_URL, API_KEY, session=fake_session(adapter), sleep=sleeps.append, retry=policy
    )
    adapter.handler = lambda request: (503, None)
    with pytest.raises(ServerError):
        t.request_json("GET", t.url("imports"))
    assert sleeps == [0.0, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert len(adapter.requests) == 7


def test_retry_after_longer_than_the_cap_keeps_the_backoff(
    transport: HTTPTransport, adapter: FakeAdapter, sleeps: list[float]
) -> None:
    adapter.answer((503, None, {"Retry-After": "61"}), (200, {}))
    transport.request_json("GET", transport.url("imports"))
    assert sleeps == [0.0]


def test_the_default_policy_jitters_the_backoff(adapter: FakeAdapter) -> None:
    sleeps: list[float] = []
    t = HTTPTransport(BASE_URL, API_KEY, session=fake_session(adapter), sleep=sleeps.append)
    adapter.handler = lambda request: (503, None)
    for _ in range(20):
        with pytest.raises(ServerError):
            t.request_json("GET", t.url("imports"))
    seconds = sleeps[1::3]  # each second retry: 1 s of backoff plus up to 0.5 s of jitter
    assert all(1.0 <= s <= 1.5 for s in seconds) and len(set(seconds)) > 1


def test_zero_retries_sends_once(adapter: FakeAdapter, sleeps: list[float]) -> None:
    t = HTTPTransport(
        BASE_URL, API_KEY, session=fake_session(adapter), max_retries=0, sleep=sleeps.append
    )
    adapter.handler = lambda request: (503, None)
    with pytest.raises(ServerError):
        t.request_json("GET", t.url("imports"))
    assert len(adapter.requests) == 1
    assert sleeps == []


# -- the api key stays secret -------------------------------------------------------------


def test_api_key_never_shows(
    transport: HTTPTransport, adapter: FakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    echo = {"message": f"bad key {API_KEY}", "errorDetails": {"api-key": [API_KEY]}}
    for answer in [(401, echo), (503, f"<p>{API_KEY}</p>"), reset(), refused()]:
        adapter.queue.clear()
        adapter.handler = lambda request, a=answer: a
        with pytest.raises(NexosisError) as info:
            transport.request_json("GET", transport.url("imports"))
        errors.append(info.value)
    texts = [repr(transport), *caplog.messages]
    for err in errors:
        texts += [str(err), repr(err), "".join(traceback.format_exception(err))]
        if isinstance(err, APIError):
            texts += [err.message, err.body or "", repr(err.error_details)]
    assert caplog.messages, "the retries should have been logged"
    for text in texts:
        assert API_KEY not in text
    assert "***" in str(errors[0])
