"""The S3 source: an import's object read through s3fs, its errors named for the user."""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from nexosis_pandas._wire import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from nexosis_pandas.server.sources import OpenedFile, SourceReadError

__all__ = ["BLOCK_SIZE", "Credentials", "S3ReadError", "S3Settings", "S3Source", "open_s3_object"]

BLOCK_SIZE = 2 << 20
"""Bytes read from S3 at a time (s3fs holds a block or two; larger blocks cost memory, not
speed, once a request's round trip is small beside its transfer)."""


@dataclass(frozen=True)
class S3Settings:
    """How the server reaches S3: endpoint, default region and extra s3fs options."""

    endpoint_url: str | None = None
    region: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Credentials:
    """An import's own S3 credentials: held in memory for that import only, never shown."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)


class S3ReadError(SourceReadError):
    """The object could not be read from S3; the message names the bucket or key and why."""


class S3Source:
    """Opens ``s3://{bucket}/{path}`` of an import's parameters.

    Parameters
    ----------
    settings
        The endpoint, default region and s3fs options.
    """

    label = "S3"

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._filesystems: dict[str, Any] = {}
        self._lock = threading.Lock()

    def region(self, parameters: Mapping[str, str]) -> str:
        """The import's region, else the server's default, else ``us-east-1``."""
        return parameters.get("region") or self.settings.region or "us-east-1"

    def describe(self, parameters: Mapping[str, str]) -> str:
        """``s3://bucket/path``."""
        return f"s3://{parameters.get('bucket', '')}/{parameters.get('path', '')}"

    @contextmanager
    def open(self, parameters: Mapping[str, str], credentials: Any) -> Iterator[OpenedFile]:
        """Open the import's object; :class:`S3ReadError` names what is wrong."""
        region = self.region(parameters)
        fs = self._filesystem(region, credentials)
        path = parameters.get("path", "")
        with open_s3_object(fs, parameters.get("bucket", ""), path, region) as handle:
            yield OpenedFile(handle, path)

    def _filesystem(self, region: str, credentials: Credentials | None) -> Any:
        """The S3 filesystem for an import: shared per region, or its own with credentials.

        Making one costs ~0.2 s of CPU (a new botocore client), more than a small import.
        """
        if credentials is not None:
            return _filesystem(self.settings, region, credentials)
        with self._lock:
            if region not in self._filesystems:
                self._filesystems[region] = _filesystem(self.settings, region, None)
            return self._filesystems[region]


def _filesystem(settings: S3Settings, region: str, credentials: Credentials | None) -> Any:
    import s3fs

    options: dict[str, Any] = dict(settings.storage_options)
    if settings.endpoint_url:
        options["endpoint_url"] = settings.endpoint_url
    client_kwargs = dict(options.get("client_kwargs") or {})
    client_kwargs["region_name"] = region
    options["client_kwargs"] = client_kwargs
    if credentials is not None:
        for name in ("profile", "token", "anon", "session"):
            options.pop(name, None)
        options["key"] = credentials.access_key_id
        options["secret"] = credentials.secret_access_key
    options["skip_instance_cache"] = True
    options["use_listings_cache"] = False
    return s3fs.S3FileSystem(**options)


@contextmanager
def open_s3_object(fs: Any, bucket: str, path: str, region: str) -> Iterator[IO[bytes]]:
    """Open ``s3://bucket/path`` for reading, turning S3's errors into :class:`S3ReadError`."""
    where = f"s3://{bucket}/{path}"
    try:
        handle = fs.open(f"{bucket}/{path.lstrip('/')}", "rb", block_size=BLOCK_SIZE)
    except FileNotFoundError:
        raise S3ReadError(_not_found(fs, bucket, path, region)) from None
    except PermissionError as exc:
        raise S3ReadError(
            f"Access denied reading {where}: {_reason(exc)}. Check the bucket's permissions, or "
            f"pass {ACCESS_KEY_ID} and {SECRET_ACCESS_KEY} that may read it"
        ) from None
    except OSError as exc:
        raise S3ReadError(f"Could not read {where}: {_reason(exc)}") from None
    try:
        yield handle
    finally:
        handle.close()


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _not_found(fs: Any, bucket: str, path: str, region: str) -> str:
    """What a missing object means, by what the bucket shows.

    An upload of the key under way (or abandoned) says it never finished; a key close to it
    in its folder says the path was mistyped; otherwise it is gone or never was, and the path
    is named last, since a file this package uploaded has a path no one typed.
    """
    try:
        bucket_exists = bool(fs.exists(bucket))
    except Exception:  # a HEAD on the bucket may itself be refused; then name the key
        bucket_exists = True
    if not bucket_exists:
        return f"The bucket {bucket!r} does not exist (region {region}); check the bucket name"
    key = path.lstrip("/")
    missing = f"The object {path!r} does not exist in bucket {bucket!r}"
    if _uploading(fs, bucket, key):
        return (
            f"{missing}: its upload started but has not finished (it is under way, or was "
            "abandoned). Wait for the upload to end, or upload the file again, then import it"
        )
    near = _near_keys(fs, bucket, key)
    if near:
        return f"{missing}; check the path: {', '.join(map(repr, near))} exists"
    return (
        f"{missing}: it may have been deleted, or never finished uploading. Upload it again "
        "(to_dataset does, when the object is missing) and import it again; if you typed the "
        "path, check it"
    )


def _uploading(fs: Any, bucket: str, key: str) -> bool:
    """Whether a multipart upload of ``key`` is open (``False`` when S3 will not say)."""
    try:
        found = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=key)
    except Exception:  # listing uploads needs a permission reading does not
        return False
    return any(upload.get("Key") == key for upload in found.get("Uploads", []))


def _near_keys(fs: Any, bucket: str, key: str) -> list[str]:
    """Up to three keys of ``key``'s folder whose names are close to its name."""
    folder, _, name = key.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    try:
        listed = fs.call_s3(
            "list_objects_v2", Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=1000
        )
    except Exception:  # listing needs a permission reading does not
        return []
    names = [item["Key"][len(prefix) :] for item in listed.get("Contents", [])]
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.8)
    return [prefix + lowered[n] for n in close]
