"""Every error nexosis-pandas raises.

The tree::

    NexosisError
    ├── APIError                    the server answered with an error envelope
    │   ├── BadRequestError         400: a field, a filter or the column metadata is invalid
    │   ├── AuthenticationError     401/403: missing or wrong api key
    │   ├── NotFoundError           404: no such import or dataset
    │   ├── QuotaExceededError      429: the account's quota is used up
    │   └── ServerError             5xx: the server failed
    ├── APIConnectionError          the server could not be reached, or did not answer in time
    ├── ImportFailedError           the import ended ``failed`` or ``cancelled``
    ├── ImportTimeoutError (TimeoutError)  waiting for an import passed its deadline
    ├── UploadError                 writing the DataFrame to S3 failed
    ├── ColumnError (ValueError)    the DataFrame or its column metadata cannot be sent as it is
    └── ConfigurationError          a setting (api key, S3 prefix, ...) is missing or invalid

``api_error_for_status`` is the one table from HTTP status to error class. The public entry
points are wrapped in :func:`user_error`, so a mistake in the user's input shows the user's line
and the message, not the package's internals.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from nexosis_pandas._wire import ITEM_TYPE, ImportStatus, Message

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ColumnError",
    "ConfigurationError",
    "ImportFailedError",
    "ImportTimeoutError",
    "NexosisError",
    "NotFoundError",
    "QuotaExceededError",
    "ServerError",
    "UploadError",
    "api_error_for_status",
    "user_error",
    "warn_user",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_PACKAGE = str(Path(__file__).resolve().parent)


def user_error(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Make ``func`` a public entry point: the user's mistakes are raised from here, short.

    A :class:`ColumnError`, :class:`ConfigurationError` or ``ValueError`` that this package
    raised about the arguments is raised again from here without the package's frames: the
    traceback is the user's line, this one, and the message. An error raised by pandas or
    another library, and every other error (a failed upload, an API error), keeps its full
    traceback. (IPython never hides the last frame, even one that sets ``__tracebackhide__``;
    so the last frame is this short one.)

    Examples
    --------
    >>> import traceback
    >>> import pandas as pd, nexosis_pandas
    >>> try:
    ...     pd.DataFrame({"units": [1]}).nexosis.column_metadata(target="unit")
    ... except ValueError as exc:
    ...     print([frame.name for frame in traceback.extract_tb(exc.__traceback__)])
    ['<module>', 'entry_point']
    """

    @functools.wraps(func)
    def entry_point(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        __tracebackhide__ = True  # read by IPython and pytest
        try:
            return func(*args, **kwargs)
        except (ColumnError, ConfigurationError, ValueError) as exc:
            if not _raised_here(exc):
                raise
            # A mistake in the arguments: the message says what to fix.
            raise exc.with_traceback(None) from exc.__cause__

    return entry_point


def warn_user(message: str) -> None:
    """Warn with ``message`` (a ``UserWarning``) at the user's line: the first frame not ours."""
    import sys
    import warnings

    level, frame = 2, sys._getframe(1)  # stacklevel 2: the caller of warn_user
    while frame is not None and _ours(frame.f_code.co_filename):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(message, UserWarning, stacklevel=level)


def _ours(filename: str) -> bool:
    return str(Path(filename).resolve()).startswith(_PACKAGE)


def _raised_here(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by this package's own code (its innermost frame is ours)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return _ours(tb.tb_frame.f_code.co_filename)


class NexosisError(Exception):
    """Base class of every error raised by nexosis-pandas."""


class ConfigurationError(NexosisError):
    """A required setting is missing or invalid; the message says how to set it."""


class APIError(NexosisError):
    """The Nexosis API answered with an error.

    Parameters
    ----------
    message
        The server's message, or a description of the failure when the body had none.
    status_code
        The HTTP status code.
    error_type
        The envelope's ``errorType`` (``"RequestValidation"``, ``"NotFound"``, ...), if any.
    error_details
        The envelope's ``errorDetails``: field or column name to reasons, or item type and id.
    method, url
        The request that failed.
    headers
        The response headers.
    body
        The raw response body, as text.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str | None = None,
        error_details: Mapping[str, Any] | None = None,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.error_type = error_type
        self.error_details: dict[str, Any] = dict(error_details or {})
        self.method = method
        self.url = url
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.method} {self.url}" if self.method and self.url else "the request"
        kind = f" {self.error_type}" if self.error_type else ""
        text = f"{where} failed with HTTP {self.status_code}{kind}: {self.message}"
        if self.error_details:
            details = "; ".join(
                f"{name}: {_describe(reasons)}" for name, reasons in self.error_details.items()
            )
            text += f" ({details})"
        hint = self._hint()
        return f"{text}. {hint}" if hint else text

    def _hint(self) -> str:
        return ""


def _describe(reasons: Any) -> str:
    if isinstance(reasons, list | tuple):
        return ", ".join(str(r) for r in reasons)
    return str(reasons)


class BadRequestError(APIError):
    """400: the request was invalid; ``error_details`` names the fields or columns."""

    def _hint(self) -> str:
        return "Fix the named fields and send the request again."


class AuthenticationError(APIError):
    """401 or 403: the api key is missing, wrong or not allowed."""

    def _hint(self) -> str:
        return "Check the api key passed to Client(api_key=...) or set in NEXOSIS_API_KEY."


class NotFoundError(APIError):
    """404: the import or dataset does not exist; ``error_details["itemType"]`` says which."""

    def _hint(self) -> str:
        item_type = str(self.error_details.get(ITEM_TYPE, "")).lower()
        if item_type == "dataset":
            return "Check the dataset name; Client.list_datasets() lists this account's datasets."
        if item_type == "import":
            return "Check the import id; import_history() lists the imports this account has."
        return (
            "Check the id or name; import_history() lists the imports this account has, "
            "Client.list_datasets() its datasets."
        )


class QuotaExceededError(APIError):
    """429: the account's quota is exceeded."""

    def _hint(self) -> str:
        return "Wait and try again, or delete datasets you no longer need."


class ServerError(APIError):
    """5xx: the server failed while handling the request."""

    def _hint(self) -> str:
        return "This is a server-side failure; try again later."


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    429: QuotaExceededError,
}


def api_error_for_status(status_code: int) -> type[APIError]:
    """Return the error class for an HTTP status code.

    Examples
    --------
    >>> api_error_for_status(404).__name__
    'NotFoundError'
    >>> api_error_for_status(503).__name__
    'ServerError'
    """
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code]
    if status_code >= 500:
        return ServerError
    return APIError


class APIConnectionError(NexosisError):
    """The API could not be reached, the connection broke, or it did not answer in time."""


class ReportedJob(Protocol):
    """What the import errors read of the import they are about.

    :class:`nexosis_pandas.ImportJob` is one. The errors name this protocol rather than the
    job class so that this module, at the bottom of the package, imports nothing above it.
    """

    @property
    def import_id(self) -> str:
        """The import's id."""
        ...

    @property
    def dataset_name(self) -> str:
        """The dataset the import loads into."""
        ...

    @property
    def status(self) -> ImportStatus:
        """The status at the last report."""
        ...

    @property
    def messages(self) -> Sequence[Message]:
        """The messages the server attached to the import."""
        ...

    def wait(self, timeout: float | None = None) -> ReportedJob:
        """Poll the import until it ends."""
        ...


class ImportFailedError(NexosisError):
    """An import ended ``failed`` or ``cancelled``.

    ``job`` is the import as the server last reported it; the message carries its messages.
    """

    def __init__(self, job: ReportedJob) -> None:
        self.job = job
        errors = [m.message for m in job.messages if m.severity in ("error", "warning")]
        reason = "; ".join(errors) or "the server gave no reason"
        super().__init__(
            f"Import {job.import_id} into dataset {job.dataset_name!r} ended "
            f"{job.status.value}: {reason}"
        )


class ImportTimeoutError(NexosisError, TimeoutError):
    """Waiting for an import passed its deadline; the import itself goes on on the server.

    ``job`` is the import as last seen; ``job.wait()`` resumes waiting. It is also a
    ``TimeoutError``, so ``except TimeoutError`` catches it as it catches other deadlines.
    """

    def __init__(self, job: ReportedJob, timeout: float) -> None:
        self.job = job
        self.timeout = timeout
        super().__init__(
            f"Import {job.import_id} into dataset {job.dataset_name!r} was still "
            f"{job.status.value} after {timeout:g} s. It continues on the server; resume with "
            f'nexosis_pandas.get_import("{job.import_id}").wait()'
        )


class UploadError(NexosisError):
    """Writing a DataFrame to S3 failed; nothing was left at the destination.

    Parameters
    ----------
    message
        What failed and what to do.
    bucket, key
        The destination.
    """

    def __init__(self, message: str, *, bucket: str, key: str) -> None:
        self.bucket = bucket
        self.key = key
        super().__init__(message)


class ColumnError(NexosisError, ValueError):
    """The DataFrame or its column metadata cannot be sent as it is.

    ``column`` names the offending column when there is one.
    """

    def __init__(self, message: str, *, column: object = None) -> None:
        self.column = column
        super().__init__(message)
