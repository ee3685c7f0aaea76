"""The transport's failures worded as errors: what happened, with which value, what to do next.

:class:`~nexosis_pandas._http.HTTPTransport` hands each failure here with what only its request
loop knows (how many attempts were made, whether a ``POST`` may have left), and a
:class:`Redactor` that keeps the api key out of every message, body and detail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from nexosis_pandas._wire import ErrorEnvelope
from nexosis_pandas.exceptions import APIConnectionError, APIError, api_error_for_status

__all__ = [
    "Redactor",
    "answer",
    "api_error",
    "connection_error",
    "describe_body",
    "redirect_error",
]

_SNIPPET = 200


class Redactor:
    """Replaces a secret with ``***`` in text and in the strings of JSON-like values.

    Examples
    --------
    >>> Redactor("k3y")({"message": "bad key k3y", "details": ["k3y"]})
    {'message': 'bad key ***', 'details': ['***']}
    """

    def __init__(self, secret: str) -> None:
        self.__secret = secret

    def __repr__(self) -> str:
        return "<Redactor>"

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(self.__secret, "***") if self.__secret in value else value
        if isinstance(value, Mapping):
            return {self(str(k)): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


def api_error(response: requests.Response, method: str, url: str, redact: Redactor) -> APIError:
    """The error for an answer of 400 or more; its class follows the status."""
    status = response.status_code
    envelope = ErrorEnvelope.from_wire(_json_body(response), status) or ErrorEnvelope(status, "")
    message = envelope.message
    if not message:
        reason = f" {response.reason}" if response.reason else ""
        message = f"the server answered HTTP {status}{reason} with {describe_body(response)}"
    return api_error_for_status(status)(
        redact(message),
        error_type=envelope.error_type,
        error_details=redact(envelope.error_details),
        **answer(response, method, url, redact),
    )


def redirect_error(
    response: requests.Response, method: str, url: str, base_url: str, redact: Redactor
) -> APIError:
    """The error for a 3xx answer: none is followed (the api key would go along to any host)."""
    # A POST redirected would also lose its body or be sent twice. The API itself never redirects.
    status = response.status_code
    reason = f" {response.reason}" if response.reason else ""
    location = response.headers.get("Location")
    where = f" to {location!r}" if location else " with no Location"
    return APIError(
        redact(
            f"the server answered HTTP {status}{reason}, a redirect{where}, instead of "
            f"an answer; the base URL {base_url!r} is probably not the API's root "
            "(does it need /v1 at the end, or https://?). Pass the URL the API answers at "
            "as base_url= or in NEXOSIS_BASE_URL"
        ),
        **answer(response, method, url, redact),
    )


def connection_error(
    exc: requests.RequestException,
    method: str,
    url: str,
    *,
    attempts: int,
    maybe_sent: bool,
    idempotent: bool,
    base_url: str,
    timeout: tuple[float, float],
    redact: Redactor,
) -> APIConnectionError:
    """The error for a request that got no answer, after ``attempts`` attempts."""
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        what = f"could not connect within {timeout[0]:g} s"
    elif isinstance(exc, requests.Timeout):
        what = f"got no answer within {timeout[1]:g} s"
    elif not maybe_sent:
        what = "could not connect"
    else:
        what = "lost the connection"
    text = f"{method} {url} {what}{tries}: {_root_cause(exc)}."
    if maybe_sent and not idempotent:
        text += (
            " The request may have reached the server, so it was not repeated; check its"
            " effect (for an import: import_history(dataset_name=...)) before sending it again."
        )
    elif isinstance(exc, requests.Timeout):
        text += " Try again later, or pass a larger timeout= to the Client."
    else:
        text += (
            f" Check that the API at {base_url} is reachable and that base_url= or"
            " NEXOSIS_BASE_URL is right."
        )
    return APIConnectionError(redact(text))


def answer(response: requests.Response, method: str, url: str, redact: Redactor) -> dict[str, Any]:
    """What an :class:`~nexosis_pandas.exceptions.APIError` keeps of the answer it is about."""
    return {
        "status_code": response.status_code,
        "method": method,
        "url": url,
        "headers": dict(response.headers),
        "body": redact(response.text),
    }


def describe_body(response: requests.Response) -> str:
    """An answer's body as a message names it: its content type and the start of its text."""
    if not response.content:
        return "an empty body"
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    text = " ".join(response.text.split())
    if len(text) > _SNIPPET:
        text = text[:_SNIPPET] + "..."
    return f"a {kind} body: {text!r}"


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


def _json_body(response: requests.Response) -> Any:
    """The decoded JSON body, or ``None`` when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None
