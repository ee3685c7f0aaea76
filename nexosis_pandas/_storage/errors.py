"""What an upload's failure says: a storage error becomes one :class:`UploadError` that names
the cause and the fix (S3 or Azure), and tells a failure of the store from one of the data."""

from __future__ import annotations

from typing import Any

from nexosis_pandas.exceptions import UploadError

__all__ = ["endpoint", "is_storage_error", "upload_error"]


def upload_error(
    exc: BaseException,
    where: str,
    bucket: str,
    key: str,
    endpoint: str | None,
    *,
    looking: bool = False,
) -> UploadError:
    """The :class:`UploadError` for a storage failure at ``where``: the cause and the fix.

    ``looking``: the failure came while looking for an existing object, so nothing was sent.
    """
    azure = where.startswith("az://")
    found = _azure_error(exc) if azure else None
    if found is not None:  # Azure's own text runs to XML; its first line and code say it all
        first_line = str(getattr(found, "message", "") or found).split("\n", 1)[0]
        cause = f"{found.status_code} {found.error_code}: {first_line}"
    else:
        cause = f"{type(exc).__name__}: {exc}"
    missing = found is not None and found.error_code == "ContainerNotFound"
    if isinstance(exc, FileNotFoundError) or missing:
        kind = "container" if azure else "bucket"
        hint = f"The {kind} {bucket!r} does not exist: create it, or check the URL."
    elif azure and (isinstance(exc, PermissionError) or _status(exc) in (401, 403)):
        hint = (
            "Access was denied: check the connection string (storage_options connection_string, "
            f"or AZURE_STORAGE_CONNECTION_STRING) and that it may write to container {bucket!r}."
        )
    elif azure:
        hint = "Check the container, the connection string and its endpoint, then try again."
    elif isinstance(exc, PermissionError):
        hint = (
            "Access was denied: check the credentials (storage_options key/secret, or the AWS "
            f"environment) and that they may write to bucket {bucket!r}."
        )
    elif _is_connection_error(exc):
        target = endpoint or "S3"
        hint = (
            f"{target} could not be reached: check the endpoint_url in storage_options (or "
            "NEXOSIS_S3_ENDPOINT_URL) and the network, then try again."
        )
    else:
        hint = "Check the bucket, the credentials and the endpoint, then try again."
    if looking:
        return UploadError(
            f"Looking for an existing object at {where} failed ({cause}). {hint} Nothing was "
            "uploaded.",
            bucket=bucket,
            key=key,
        )
    return UploadError(
        f"Uploading to {where} failed ({cause}). {hint} The upload was aborted: no object was "
        "written, and an object already at that key is unchanged.",
        bucket=bucket,
        key=key,
    )


def _is_connection_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        name = type(seen).__name__
        if isinstance(seen, ConnectionError | TimeoutError) or any(
            word in name for word in ("Connect", "Connection", "Timeout")
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _azure_error(exc: BaseException) -> Any:
    """The Azure SDK's error behind ``exc`` (adlfs wraps it), if there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "error_code", None) and isinstance(getattr(seen, "status_code", 0), int):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _status(exc: BaseException) -> int | None:
    seen: BaseException | None = exc
    while seen is not None:
        status = getattr(seen, "status_code", None)
        if isinstance(status, int):
            return status
        seen = seen.__cause__ or seen.__context__
    return None


def endpoint(fs: Any) -> str | None:
    """The endpoint URL ``fs`` talks to, when one was given."""
    kwargs = getattr(fs, "client_kwargs", None) or {}
    return getattr(fs, "endpoint_url", None) or kwargs.get("endpoint_url")


def is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from the store or the network, rather than from encoding the data.

    adlfs wraps Azure's errors in a ``RuntimeError``, so the causes are looked at too.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError):
            return True
        module = type(seen).__module__
        if module.startswith(
            ("botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec", "urllib3", "azure", "adlfs")
        ):
            return True
        seen = seen.__cause__
    return False
