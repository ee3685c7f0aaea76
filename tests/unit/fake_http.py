"""A fake HTTP seam for unit tests: a ``requests`` adapter that answers from Python, no sockets.

Mounted on a real ``requests.Session``, so the client's requests are prepared exactly as they
would be on the wire (URL, query string, headers, JSON body) and recorded for assertions.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

API_KEY = "unit-secret-key-5f1c"
BASE_URL = "http://api.test/v1"

Handler = Callable[[requests.PreparedRequest], Any]


def response(
    status: int,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    *,
    request: requests.PreparedRequest | None = None,
) -> requests.Response:
    """A ``requests.Response``: ``body`` as JSON unless it is ``bytes`` or ``str``."""
    resp = requests.Response()
    resp.status_code = status
    try:
        resp.reason = http.HTTPStatus(status).phrase
    except ValueError:
        resp.reason = ""
    all_headers: dict[str, str] = {}
    if body is None:
        content = b""
    elif isinstance(body, bytes):
        content = body
    elif isinstance(body, str):
        content = body.encode()
        all_headers["Content-Type"] = "text/html; charset=utf-8"
    else:
        content = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json; charset=utf-8"
    all_headers.update(headers or {})
    resp.headers = CaseInsensitiveDict(all_headers)
    resp._content = content
    resp.encoding = "utf-8"
    if request is not None:
        resp.request = request
        resp.url = request.url or ""
    return resp


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens on the port."""
    reason = urllib3.exceptions.NewConnectionError(
        urllib3.connection.HTTPConnection("api.test", 80),
        "Failed to establish a new connection: [Errno 111] Connection refused",
    )
    pool = urllib3.HTTPConnectionPool("api.test", 80)
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(pool, "/v1", reason))


def reset() -> requests.ConnectionError:
    """What requests raises when the server drops the connection after the request was sent."""
    reason = urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")
    )
    return requests.ConnectionError(reason)


class FakeAdapter(BaseAdapter):
    """Answers each request with ``handler(request)``, or the next queued answer.

    An answer is a ``requests.Response``, an exception to raise, or ``(status, body[, headers])``.
    """

    def __init__(self, handler: Handler | None = None) -> None:
        super().__init__()
        self.handler = handler
        self.queue: list[Any] = []
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []

    def answer(self, *answers: Any) -> FakeAdapter:
        self.queue.extend(answers)
        return self

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self.requests.append(request)
        self.timeouts.append(timeout)
        if self.queue:
            item = self.queue.pop(0)
        elif self.handler is not None:
            item = self.handler(request)
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, requests.Response):
            item.request = request
            item.url = request.url or ""
            return item
        return response(*item, request=request)

    def close(self) -> None:
        pass

    # -- inspecting what was sent --

    @property
    def last(self) -> requests.PreparedRequest:
        return self.requests[-1]

    def query(self, index: int = -1) -> dict[str, str]:
        """The query string of a request, one value per name."""
        query = parse_qs(urlsplit(self.requests[index].url or "").query, keep_blank_values=True)
        return {k: v[-1] for k, v in query.items()}

    def path(self, index: int = -1) -> str:
        return urlsplit(self.requests[index].url or "").path

    def json(self, index: int = -1) -> Any:
        body = self.requests[index].body
        assert body is not None
        return json.loads(body)


def fake_session(adapter: FakeAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def import_wire(
    import_id: str = "11111111-1111-1111-1111-111111111111",
    *,
    status: str = "requested",
    dataset_name: str = "sales",
    requested: str = "2024-01-02T03:04:05.123456+00:00",
    history: Iterable[tuple[str, str]] | None = None,
    messages: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """An Import object as the API sends it."""
    entries = list(history) if history is not None else [(requested, "requested")]
    return {
        "importId": import_id,
        "type": "s3",
        "status": status,
        "dataSetName": dataset_name,
        "parameters": {"bucket": "my-bucket", "path": "sales.csv", "region": "us-east-1"},
        "requestedDate": requested,
        "statusHistory": [{"date": d, "status": s} for d, s in entries],
        "messages": [{"severity": sev, "message": msg} for sev, msg in messages],
        "columns": {},
        "links": [
            {"rel": "self", "href": f"{BASE_URL}/imports/{import_id}"},
            {"rel": "data", "href": f"{BASE_URL}/data/{dataset_name}"},
        ],
    }


def guid(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-000000000000"
