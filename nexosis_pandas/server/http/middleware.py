"""The API's middleware: canonical paths and queries, the ``api-key`` check, account headers.

Paths, query parameter names and JSON property names are matched case-insensitively, as the
hosted API did: the middleware rewrites the path's fixed segments and the known query names to
their canonical case before routing.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from nexosis_pandas._wire import QUERY_NAMES
from nexosis_pandas.server.http.envelope import ApiError

__all__ = ["ACCESS_DENIED", "ALLOTTED", "NexosisMiddleware", "canonical_path", "canonical_query"]

ACCESS_DENIED = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
    "active subscription."
)
ALLOTTED = 10_000
PUBLIC_PATHS = ("/docs", "/openapi.json", "/docs/", "/")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_QUERY_NAMES = {name.lower(): name for name in QUERY_NAMES}


_SOURCES = ("s3", "url", "azure")


def canonical_path(path: str) -> str:
    """The path with the API's fixed segments in their canonical case, without a trailing ``/``.

    Examples
    --------
    >>> canonical_path("/V1/Imports/S3/"), canonical_path("/v1/imports/Azure")
    ('/v1/imports/s3', '/v1/imports/azure')
    >>> canonical_path("/v1/DATA/MyData")
    '/v1/data/MyData'
    """
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    parts = path.split("/")
    if len(parts) > 1 and parts[1].lower() in ("v1", "docs", "openapi.json"):
        parts[1] = parts[1].lower()
    if len(parts) > 2 and parts[1] == "v1" and parts[2].lower() in ("imports", "data"):
        parts[2] = parts[2].lower()
        if len(parts) == 4 and parts[2] == "imports" and parts[3].lower() in _SOURCES:
            parts[3] = parts[3].lower()
    return "/".join(parts)


def canonical_query(query: bytes) -> bytes:
    """Known query parameter names in their canonical case; empty values dropped."""
    if not query:
        return query
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode(
        [(_QUERY_NAMES.get(k.lower(), k), v) for k, v in pairs if v.strip() != ""]
    ).encode("latin-1")


class NexosisMiddleware:
    """Canonical paths and queries, the ``api-key`` check, and the account headers.

    Parameters
    ----------
    app
        The application.
    api_keys
        The accepted keys, each compared in constant time.
    dataset_count
        Counts the datasets for the ``DataSetCount-Current`` header (cached for a second).
    """

    def __init__(
        self, app: ASGIApp, *, api_keys: Sequence[str], dataset_count: Callable[[], int]
    ) -> None:
        self.app = app
        self._keys = [k.encode("utf-8") for k in api_keys]
        self._dataset_count = dataset_count
        self._count: tuple[float, int] = (-math.inf, 0)

    def _account_headers(self) -> list[tuple[bytes, bytes]]:
        stamp, count = self._count
        if time.monotonic() - stamp > 1.0:
            try:
                count = self._dataset_count()
            except Exception:  # the headers are informational; never fail a response for them
                count = 0
            self._count = (time.monotonic(), count)
        values = {
            "DataSetCount-Allotted": ALLOTTED,
            "DataSetCount-Current": count,
            "PredictionCount-Allotted": ALLOTTED,
            "PredictionCount-Current": 0,
            "SessionCount-Allotted": ALLOTTED,
            "SessionCount-Current": 0,
        }
        return [(f"Nexosis-Account-{k}".encode(), str(v).encode()) for k, v in values.items()]

    def _authorised(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"api-key":
                given = value.strip()
                break
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(given, key)
        return matched and bool(given)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["path"] = canonical_path(scope["path"])
        scope["query_string"] = canonical_query(scope.get("query_string", b""))
        extra = self._account_headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        path: str = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith("/docs/")
        if not public and not self._authorised(scope):
            response = ApiError(401, ACCESS_DENIED).response()
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
