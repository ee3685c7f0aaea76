"""The API's error envelope: every error, of ours or of the framework, answers with one shape.

``{"statusCode", "message", "errorType", "errorDetails"}``: :class:`ApiError` is raised by the
routes; :func:`install_error_handlers` turns it, FastAPI's validation errors, unknown paths,
wrong methods and unexpected exceptions into that envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from nexosis_pandas._wire import ITEM_ID, ITEM_TYPE, ErrorEnvelope

__all__ = [
    "ApiError",
    "NexosisJSONResponse",
    "install_error_handlers",
    "invalid_date_range",
    "invalid_metadata",
    "not_found",
    "validation_error",
]


class NexosisJSONResponse(JSONResponse):
    """JSON as the API sent it: ``application/json; charset=utf-8``, UTF-8 text unescaped."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")


class ApiError(Exception):
    """An error the API answers with its envelope.

    Parameters
    ----------
    status_code
        The HTTP status.
    message
        The envelope's ``message``.
    error_type
        The envelope's ``errorType`` (omitted when ``None``).
    error_details
        The envelope's ``errorDetails`` (omitted when ``None``).
    headers
        Extra response headers.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        error_type: str | None = None,
        error_details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.error_type = error_type
        self.error_details = error_details
        self.headers = dict(headers or {})
        super().__init__(message)

    def response(self) -> NexosisJSONResponse:
        """The envelope as a response."""
        envelope = ErrorEnvelope(
            self.status_code, self.message, self.error_type, self.error_details
        )
        return NexosisJSONResponse(
            envelope.to_wire(), status_code=self.status_code, headers=self.headers
        )


def validation_error(details: Mapping[str, list[str]]) -> ApiError:
    """``400 RequestValidation`` with the reasons per field."""
    return ApiError(400, "Request is invalid", "RequestValidation", details)


def invalid_metadata(details: Mapping[str, list[str]]) -> ApiError:
    """``400 InvalidColumnMetadata`` with the reasons per column."""
    return ApiError(400, "The column metadata is invalid", "InvalidColumnMetadata", details)


def invalid_date_range(field: str, reason: str) -> ApiError:
    """``400 InvalidDateRange``, the reason given for ``field``."""
    return ApiError(400, "The date range is invalid", "InvalidDateRange", {field: [reason]})


def not_found(item_type: str, item_id: str) -> ApiError:
    """``404 NotFound`` naming the item."""
    return ApiError(
        404,
        f"No {item_type} with id {item_id!r} was found",
        "NotFound",
        {ITEM_TYPE: item_type, ITEM_ID: item_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` answer with the envelope."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            return ApiError(
                404,
                f"No resource matches {request.method} {request.url.path}",
                "NotFound",
                {ITEM_TYPE: "route", ITEM_ID: request.url.path},
                headers,
            ).response()
        if exc.status_code == 405:
            return ApiError(
                405,
                f"The method {request.method} is not allowed for {request.url.path}"
                + (f"; allowed: {headers['allow']}" if "allow" in headers else ""),
                "MethodNotAllowed",
                None,
                headers,
            ).response()
        if exc.status_code == 400:  # FastAPI's own "There was an error parsing the body"
            return ApiError(
                400,
                "Request is invalid",
                "RequestValidation",
                {"body": [f"The request body could not be read: {exc.detail}."]},
                headers,
            ).response()
        return ApiError(exc.status_code, str(exc.detail), None, None, headers).response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details: dict[str, list[str]] = {}
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ())]
            field = loc[1] if len(loc) > 1 and loc[0] in ("body", "query", "path") else "body"
            if error.get("type") == "json_invalid":
                field = "body"
                reason = (error.get("ctx") or {}).get("error", "")
                message = f"The request body is not valid JSON: {reason}".rstrip(": ")
            elif error.get("type") == "missing":
                message = (
                    "The request body is required."
                    if field == "body"
                    else f"The {field} field is required."
                )
            else:
                message = f"The value of {field} is invalid: {error.get('msg')}."
            details.setdefault(field, []).append(message)
        return validation_error(details).response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return ApiError(
            500,
            f"The server failed while handling the request ({type(exc).__name__})",
            "ServerError",
        ).response()
