"""The body of every error answer, :class:`ErrorEnvelope`, read and written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexosis_pandas._wire.names import (
    lower_keys,
)

__all__ = [
    "ErrorEnvelope",
]


@dataclass(frozen=True)
class ErrorEnvelope:
    """The body of every error answer: ``{statusCode, message, errorType?, errorDetails?}``.

    Examples
    --------
    >>> ErrorEnvelope(404, "No such import", "NotFound", {"itemType": "import"}).to_wire()
    {'statusCode': 404, 'message': 'No such import', 'errorType': 'NotFound', \
'errorDetails': {'itemType': 'import'}}
    >>> ErrorEnvelope.from_wire({"MESSAGE": "Quota Exceeded"}, 429).message
    'Quota Exceeded'
    """

    status_code: int
    message: str
    error_type: str | None = None
    error_details: Mapping[str, Any] | None = None

    @classmethod
    def from_wire(cls, body: Any, status_code: int) -> ErrorEnvelope | None:
        """Parse an error body answered with HTTP ``status_code``; ``None`` if not an object.

        A missing ``message`` is ``""``; ``errorDetails`` that is not an object is kept as
        ``{"details": ...}``.
        """
        if not isinstance(body, Mapping):
            return None
        w = lower_keys(body)
        details = w.get("errordetails")
        if details and not isinstance(details, Mapping):
            details = {"details": details}
        return cls(
            status_code=status_code,
            message=str(w.get("message") or ""),
            error_type=str(w["errortype"]) if w.get("errortype") else None,
            error_details=details or None,
        )

    def to_wire(self) -> dict[str, Any]:
        """Write the envelope; ``errorType`` and ``errorDetails`` only when set."""
        body: dict[str, Any] = {"statusCode": self.status_code, "message": self.message}
        if self.error_type is not None:
            body["errorType"] = self.error_type
        if self.error_details is not None:
            body["errorDetails"] = dict(self.error_details)
        return body
