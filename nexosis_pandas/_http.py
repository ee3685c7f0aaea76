"""The transport: one ``requests.Session``, the base URL, auth, timeouts, retries, JSON, errors.

It knows nothing of pandas or of the API's resources: :class:`~nexosis_pandas._client.Client`
builds paths and bodies, this module sends them, and :mod:`nexosis_pandas._http_errors` words
every failure as a :class:`~nexosis_pandas.exceptions.NexosisError`.

Retries
-------
The mechanics are urllib3's :class:`~urllib3.util.Retry` (:data:`DEFAULT_RETRY`): how many
retries, which methods and statuses (:data:`IDEMPOTENT_METHODS` answered with one of
:data:`RETRY_STATUSES`), the capped exponential backoff with jitter, and the ``Retry-After``
header. What is ours is the rule for a request the server must not receive twice (the
``POST`` that starts an import): it is repeated only when it certainly never left this machine,
because the connection was refused or timed out while connecting. Repeating it after it may
have reached the server could start a second import. The waits go through an injectable
``sleep``.

Redirects
---------
None is followed, for any method: ``requests`` would send the ``api-key`` header on to whatever
host a redirect names. A 3xx answer raises an ``APIError`` saying the base URL is probably wrong.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
import urllib3.exceptions
from urllib3.util import Retry

from nexosis_pandas._http_errors import (
    Redactor,
    answer,
    api_error,
    connection_error,
    describe_body,
    redirect_error,
)
from nexosis_pandas._version import __version__
from nexosis_pandas.exceptions import APIError, ConfigurationError

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "USER_AGENT",
    "HTTPTransport",
    "Timeout",
]

logger = logging.getLogger("nexosis_pandas.http")

USER_AGENT = f"nexosis-pandas/{__version__}"
DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for the connection and, separately, for each read of the answer."""
DEFAULT_MAX_RETRIES = 3
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

DEFAULT_RETRY = Retry(
    total=DEFAULT_MAX_RETRIES,
    allowed_methods=IDEMPOTENT_METHODS,
    status_forcelist=RETRY_STATUSES,
    backoff_factor=0.5,
    backoff_max=8.0,
    backoff_jitter=0.5,
)
"""The retry policy: up to 3 retries, waiting 0, 1 and 2 seconds (doubling up to 8), each plus
up to half a second of jitter so that clients do not retry in step. ``DEFAULT_RETRY.new(...)``
makes another (``backoff_jitter=0`` for tests that count the waits)."""

Timeout = float | tuple[float, float]
"""Seconds: one number for both the connect and the read timeout, or ``(connect, read)``."""


class HTTPTransport:
    """Sends requests to the API and returns decoded answers or raises a ``NexosisError``.

    Parameters
    ----------
    base_url
        The API root, e.g. ``https://ml.nexosis.com/v1``; paths are appended to it.
    api_key
        Sent as the ``api-key`` header; never shown in a repr, a log line or an error.
    timeout
        Seconds to connect and to wait for each read, or ``(connect, read)``.
    max_retries
        How many times a retryable failure is retried (0 sends each request once).
    session
        A ``requests.Session`` to send through (its adapters are the seam tests replace); one
        is created, and closed by :meth:`close`, when none is given.
    sleep
        Called with the seconds to wait between attempts.
    retry
        The retry policy (a urllib3 ``Retry``), by default :data:`DEFAULT_RETRY` with
        ``max_retries`` retries. A ``POST`` is retried only when it never left, whatever the
        policy says of its method.
    max_retry_after
        The longest ``Retry-After`` honoured; a longer one falls back to the backoff.

    Examples
    --------
    >>> transport = HTTPTransport("http://127.0.0.1:8000/v1", "my-key")
    >>> transport
    <HTTPTransport base_url='http://127.0.0.1:8000/v1'>
    >>> transport.url("imports", "a b")
    'http://127.0.0.1:8000/v1/imports/a%20b'
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: Retry | None = None,
        max_retry_after: float = 60.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"The base URL {base_url!r} is not an http(s) URL; pass one like "
                "'https://ml.nexosis.com/v1' as base_url= or in NEXOSIS_BASE_URL."
            )
        if not api_key:
            raise ConfigurationError("The api key is empty; pass api_key= or set NEXOSIS_API_KEY.")
        self.base_url = base_url.rstrip("/")
        self.__api_key = api_key
        self._redact = Redactor(api_key)
        self.timeout = _check_timeout(timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}.")
        self.retry = retry if retry is not None else DEFAULT_RETRY.new(total=max_retries)
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.sleep = sleep
        self.max_retry_after = max_retry_after

    @property
    def max_retries(self) -> int:
        """How many times a retryable failure is retried."""
        return int(self.retry.total or 0)

    def __repr__(self) -> str:
        return f"<HTTPTransport base_url={self.base_url!r}>"

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session:
            self.session.close()

    def url(self, *segments: str) -> str:
        """The absolute URL of a path made of ``segments``, each percent-encoded."""
        from urllib.parse import quote

        return "/".join([self.base_url, *(quote(str(s), safe="") for s in segments)])

    # -- sending ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send a request, retrying what is safe to retry; return a successful response.

        Raises
        ------
        APIError
            The server answered with a status of 400 or more (the subclass follows the status),
            or with a redirect (3xx): none is followed, so the api key goes to no other host.
        APIConnectionError
            The server could not be reached or did not answer in time, after the retries.
        """
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS
        all_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        all_headers["api-key"] = self.__api_key
        policy = self.retry
        while True:
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=all_headers,
                    timeout=self.timeout,
                    # requests re-sends custom headers (api-key) to wherever a redirect points;
                    # following none keeps the key with the base URL's host.
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                never_sent = _never_sent(exc)
                if (idempotent or never_sent) and _retryable_exception(exc):
                    after = self._next_attempt(policy, method, url, type(exc).__name__)
                    if after is not None:
                        policy, delay = after
                        self.sleep(delay)
                        continue
                raise connection_error(
                    exc,
                    method,
                    url,
                    attempts=len(policy.history) - len(self.retry.history) + 1,
                    maybe_sent=not never_sent,
                    idempotent=idempotent,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    redact=self._redact,
                ) from exc
            logger.debug(
                "%s %s -> %d in %.3f s",
                method,
                url,
                response.status_code,
                time.monotonic() - started,
            )
            if response.status_code < 300:
                return response
            if response.status_code < 400:
                raise redirect_error(response, method, url, self.base_url, self._redact)
            retry_after = _retry_after(policy, response.headers.get("Retry-After"))
            if policy.is_retry(method, response.status_code, retry_after is not None):
                cause = f"HTTP {response.status_code}"
                after = self._next_attempt(policy, method, url, cause, retry_after)
                if after is not None:
                    policy, delay = after
                    response.close()
                    self.sleep(delay)
                    continue
            raise api_error(response, method, url, self._redact)

    def _next_attempt(
        self, policy: Retry, method: str, url: str, cause: str, retry_after: float | None = None
    ) -> tuple[Retry, float] | None:
        """The policy after one more retry and the seconds to wait first; ``None`` when the
        retries are used up. A ``Retry-After`` of at most :attr:`max_retry_after` seconds is
        honoured when it asks for longer than the backoff."""
        try:
            after = policy.increment(method, url)
        except urllib3.exceptions.MaxRetryError:
            return None
        delay = after.get_backoff_time()
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            delay = max(delay, retry_after)
        logger.info(
            "Retrying %s %s in %.2f s after %s (retry %d of %d)",
            method,
            url,
            delay,
            cause,
            len(after.history) - len(self.retry.history),
            self.max_retries,
        )
        return after, delay

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send a request and return its decoded JSON body (``None`` for an empty one).

        Raises
        ------
        APIError
            As :meth:`request`, or the success body was not JSON.
        """
        response = self.request(method, url, params=params, json_body=json_body)
        if not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            raise APIError(
                f"expected a JSON answer but got {describe_body(response)}; check that the "
                f"base URL {self.base_url!r} points at the Nexosis API",
                **answer(response, method, url, self._redact),
            ) from None


def _check_timeout(timeout: Timeout) -> tuple[float, float]:
    pair = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    if len(pair) != 2 or not all(
        isinstance(t, int | float) and not isinstance(t, bool) and t > 0 for t in pair
    ):
        raise ValueError(
            f"timeout must be a positive number of seconds or a (connect, read) pair, "
            f"got {timeout!r}."
        )
    return float(pair[0]), float(pair[1])


def _never_sent(exc: requests.RequestException) -> bool:
    """Whether the request certainly never reached the server (no connection was made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.SSLError
    ):
        cause = exc.args[0] if exc.args else None
        reason = getattr(cause, "reason", cause)
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


def _retryable_exception(exc: requests.RequestException) -> bool:
    # A malformed URL or a bad TLS certificate fails the same way every time.
    return not isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.InvalidSchema
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidHeader
        | requests.exceptions.SSLError,
    )


def _retry_after(policy: Retry, value: str | None) -> float | None:
    """``Retry-After`` in seconds (whole seconds or an HTTP date), as urllib3 reads it."""
    if not value:
        return None
    try:
        return float(policy.parse_retry_after(value.strip()))
    except urllib3.exceptions.InvalidHeader:
        return None
