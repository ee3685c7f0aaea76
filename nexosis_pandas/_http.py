"""The transport: one ``requests.Session``, the base URL, auth, timeouts, retries, JSON, errors.

It knows nothing of pandas or of the API's resources: :class:`~nexosis_pandas._client.Client`
builds paths and bodies, this module sends them and turns every failure into a
:class:`~nexosis_pandas.exceptions.NexosisError`.

Retries
-------
Requests the server may safely receive twice (``GET``, ``HEAD``, ``OPTIONS``) are retried on
connection errors, timeouts and the statuses in :data:`RETRY_STATUSES`, waiting a capped
exponential backoff with jitter, or the server's ``Retry-After`` when it sends one. Any other
request (the ``POST`` that starts an import) is retried only when it certainly never left this
machine: the connection was refused or timed out while connecting. Repeating it after it may
have reached the server could start a second import.

Redirects
---------
None is followed, for any method: ``requests`` would send the ``api-key`` header on to whatever
host a redirect names. A 3xx answer raises an ``APIError`` saying the base URL is probably wrong.

Longer than 400 lines because the request loop and the errors it raises belong together: each
message says what only the loop knows (how many attempts, whether a ``POST`` may have left).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
import urllib3.exceptions
from urllib3.util import Retry

from nexosis_pandas._version import __version__
from nexosis_pandas._wire import ErrorEnvelope
from nexosis_pandas.exceptions import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    api_error_for_status,
)

__all__ = [
    "DEFAULT_MAX_RETRIES",
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

Timeout = float | tuple[float, float]
"""Seconds: one number for both the connect and the read timeout, or ``(connect, read)``."""

_SNIPPET = 200


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
    backoff_initial, backoff_max
        The first backoff in seconds, doubled on each retry up to ``backoff_max``.
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
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
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
        self.timeout = _check_timeout(timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}.")
        self.max_retries = max_retries
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.sleep = sleep
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after

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
        attempt = 0
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
                retryable = (idempotent or never_sent) and _retryable_exception(exc)
                if retryable and attempt < self.max_retries:
                    delay = self.retry_delay(attempt)
                    logger.info(
                        "Retrying %s %s in %.2f s after %s (retry %d of %d)",
                        method,
                        url,
                        delay,
                        type(exc).__name__,
                        attempt + 1,
                        self.max_retries,
                    )
                    self.sleep(delay)
                    attempt += 1
                    continue
                raise self._connection_error(
                    exc, method, url, attempts=attempt + 1, maybe_sent=not never_sent
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
                raise self._redirect_error(response, method, url)
            policy = self.retry
            if policy.is_retry(method, response.status_code) and attempt < self.max_retries:
                retry_after = _retry_after(policy, response.headers.get("Retry-After"))
                delay = self.retry_delay(attempt, retry_after)
                logger.info(
                    "Retrying %s %s in %.2f s after HTTP %d (retry %d of %d)",
                    method,
                    url,
                    delay,
                    response.status_code,
                    attempt + 1,
                    self.max_retries,
                )
                response.close()
                self.sleep(delay)
                attempt += 1
                continue
            raise self._api_error(response, method, url)

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
                f"expected a JSON answer but got {_describe_body(response)}; check that the "
                f"base URL {self.base_url!r} points at the Nexosis API",
                status_code=response.status_code,
                method=method,
                url=url,
                headers=dict(response.headers),
                body=self._redact(response.text),
            ) from None

    # -- retry timing ----------------------------------------------------------------------

    @property
    def retry(self) -> Retry:
        """The retry policy as urllib3's ``Retry``.

        It decides which answers are retried (:data:`IDEMPOTENT_METHODS` answered with one of
        :data:`RETRY_STATUSES`) and reads ``Retry-After``. Failures to connect follow this
        module's own, stricter rule for a ``POST``, and the waits go through :attr:`sleep`.

        Examples
        --------
        >>> HTTPTransport("http://localhost/v1", "k").retry.is_retry("POST", 503)
        False
        """
        return Retry(
            total=self.max_retries,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_initial,
            backoff_max=self.backoff_max,
        )

    def retry_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``.

        The backoff doubles from ``backoff_initial`` up to ``backoff_max`` and is jittered by
        :meth:`jitter`; a ``Retry-After`` of at most ``max_retry_after`` seconds is honoured
        when it asks for longer.

        Examples
        --------
        >>> t = HTTPTransport("http://localhost/v1", "k")
        >>> t.jitter = lambda seconds: seconds  # deterministic
        >>> [t.retry_delay(n) for n in range(6)]
        [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
        >>> t.retry_delay(0, retry_after=3.0)
        3.0
        """
        backoff = min(self.backoff_max, self.backoff_initial * 2**attempt)
        delay = self.jitter(backoff)
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            delay = max(delay, retry_after)
        return delay

    def jitter(self, seconds: float) -> float:
        """Spread ``seconds`` randomly over its upper half, so clients do not retry in step."""
        return seconds * (0.5 + random.random() / 2)

    # -- errors ----------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return text.replace(self.__api_key, "***") if self.__api_key in text else text

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, Mapping):
            return {self._redact(str(k)): self._redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact_value(v) for v in value]
        return value

    def _api_error(self, response: requests.Response, method: str, url: str) -> APIError:
        status = response.status_code
        envelope = ErrorEnvelope.from_wire(_json_body(response), status) or ErrorEnvelope(
            status, ""
        )
        message = envelope.message
        if not message:
            reason = f" {response.reason}" if response.reason else ""
            message = f"the server answered HTTP {status}{reason} with {_describe_body(response)}"
        return api_error_for_status(status)(
            self._redact(message),
            status_code=status,
            error_type=envelope.error_type,
            error_details=self._redact_value(envelope.error_details),
            method=method,
            url=url,
            headers=dict(response.headers),
            body=self._redact(response.text),
        )

    def _redirect_error(self, response: requests.Response, method: str, url: str) -> APIError:
        # No redirect is followed: the api-key header would go along to any host, and a POST
        # redirected would lose its body or be sent twice. The API itself never redirects.
        status = response.status_code
        reason = f" {response.reason}" if response.reason else ""
        location = response.headers.get("Location")
        where = f" to {location!r}" if location else " with no Location"
        return APIError(
            self._redact(
                f"the server answered HTTP {status}{reason}, a redirect{where}, instead of "
                f"an answer; the base URL {self.base_url!r} is probably not the API's root "
                "(does it need /v1 at the end, or https://?). Pass the URL the API answers at "
                "as base_url= or in NEXOSIS_BASE_URL"
            ),
            status_code=status,
            method=method,
            url=url,
            headers=dict(response.headers),
            body=self._redact(response.text),
        )

    def _connection_error(
        self,
        exc: requests.RequestException,
        method: str,
        url: str,
        *,
        attempts: int,
        maybe_sent: bool,
    ) -> APIConnectionError:
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            what = f"could not connect within {self.timeout[0]:g} s"
        elif isinstance(exc, requests.Timeout):
            what = f"got no answer within {self.timeout[1]:g} s"
        elif not maybe_sent:
            what = "could not connect"
        else:
            what = "lost the connection"
        text = f"{method} {url} {what}{tries}: {_root_cause(exc)}."
        if maybe_sent and method not in IDEMPOTENT_METHODS:
            text += (
                " The request may have reached the server, so it was not repeated; check its"
                " effect (for an import: import_history(dataset_name=...)) before sending it again."
            )
        elif isinstance(exc, requests.Timeout):
            text += " Try again later, or pass a larger timeout= to the Client."
        else:
            text += (
                f" Check that the API at {self.base_url} is reachable and that base_url= or"
                " NEXOSIS_BASE_URL is right."
            )
        return APIConnectionError(self._redact(text))


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


def _root_cause(exc: BaseException) -> str:
    cause: Any = exc
    for _ in range(5):
        inner = cause.args[0] if cause.args else None
        inner = getattr(inner, "reason", inner)
        if not isinstance(inner, BaseException):
            break
        cause = inner
    text = str(cause)
    # urllib3 prefixes its messages with the connection object's repr, which says nothing.
    if ": " in text and text.startswith("<"):
        text = text.split(": ", 1)[1]
    return text or type(cause).__name__


def _retry_after(policy: Retry, value: str | None) -> float | None:
    """``Retry-After`` in seconds (whole seconds or an HTTP date), as urllib3 reads it."""
    if not value:
        return None
    try:
        return float(policy.parse_retry_after(value.strip()))
    except urllib3.exceptions.InvalidHeader:
        return None


def _json_body(response: requests.Response) -> Any:
    """The decoded JSON body, or ``None`` when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _describe_body(response: requests.Response) -> str:
    if not response.content:
        return "an empty body"
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    text = " ".join(response.text.split())
    if len(text) > _SNIPPET:
        text = text[:_SNIPPET] + "..."
    return f"a {kind} body: {text!r}"
