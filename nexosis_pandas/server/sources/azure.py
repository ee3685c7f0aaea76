"""The Azure source: read a blob from Azure Storage for ``POST /imports/azure``.

A blob is named by a connection string, a container and the blob's name (folders included).
The connection string is parsed here, so that a malformed one fails with a message that names
the problem and never repeats the account key or the shared access signature. The blob is read
through ``adlfs`` (fsspec's Azure filesystem, the ``azure`` extra), in blocks, like an S3
object through ``s3fs``.

As for URL imports, a server open to others does not reach loopback or private-network
addresses: the blob endpoint's host must resolve to public addresses only, unless the server
was started for local use (the sandbox, whose Azurite listens on loopback).
"""

from __future__ import annotations

import binascii
import logging
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

from nexosis_pandas.server.sources import OpenedFile, SourceReadError, is_network_error
from nexosis_pandas.server.sources.addresses import private_address_error, refusal

__all__ = [
    "AzureBlob",
    "AzureReadError",
    "AzureSource",
    "AzureTarget",
    "ConnectionStringError",
    "open_blob",
    "parse_connection_string",
]

BLOCK_SIZE = 8 << 20
"""Bytes read from Azure at a time."""

PARSE_ERROR = "Unable to parse Azure blob storage connection string"

_SECRET_NAMES = ("accountkey", "sharedaccesssignature")
_KNOWN = (
    "DefaultEndpointsProtocol",
    "AccountName",
    "AccountKey",
    "SharedAccessSignature",
    "BlobEndpoint",
    "BlobSecondaryEndpoint",
    "QueueEndpoint",
    "QueueSecondaryEndpoint",
    "TableEndpoint",
    "TableSecondaryEndpoint",
    "FileEndpoint",
    "FileSecondaryEndpoint",
    "EndpointSuffix",
    "UseDevelopmentStorage",
    "DevelopmentStorageProxyUri",
)
_CANONICAL = {name.lower(): name for name in _KNOWN}


class ConnectionStringError(SourceReadError, ValueError):
    """The connection string cannot be used; the message names the part, never a secret."""


class AzureReadError(SourceReadError):
    """The blob could not be read; the message names the container and the blob and why."""


@dataclass(frozen=True)
class AzureTarget:
    """An Azure import's connection string: in memory for its run only, never stored."""

    connection_string: str = field(repr=False)


class AzureSource:
    """Reads the blob of a ``POST /imports/azure`` import.

    Parameters
    ----------
    allow_private
        Whether the blob endpoint may be a loopback or private address (a local server).
    """

    label = "Azure Blob Storage"

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    def describe(self, parameters: Mapping[str, str]) -> str:
        """``az://container/blob``."""
        return f"az://{parameters.get('container', '')}/{parameters.get('blob', '')}"

    @contextmanager
    def open(self, parameters: Mapping[str, str], credentials: Any) -> Iterator[OpenedFile]:
        """Open the blob; :class:`AzureReadError` names what is wrong, never the key."""
        from nexosis_pandas.server.sources.url import NOT_RESUMABLE

        if not isinstance(credentials, AzureTarget):
            raise AzureReadError(
                NOT_RESUMABLE.format(what="An Azure import's connection string is")
            )
        blob = parse_connection_string(credentials.connection_string)
        container, name = parameters.get("container", ""), parameters.get("blob", "")
        with open_blob(blob, container, name, allow_private=self.allow_private) as (raw, served):
            try:
                yield OpenedFile(raw, name, served)
            except Exception as exc:
                if not is_network_error(exc):
                    raise
                # The SDK's text may quote the request's URL, shared access signature included.
                raise AzureReadError(
                    f"Reading {self.describe(parameters)} broke off part-way "
                    f"({type(exc).__name__}); nothing was loaded. Check that the storage "
                    "account is reachable, then start the import again"
                ) from None


@dataclass(frozen=True)
class AzureBlob:
    """What a parsed connection string says about the blob service, secrets kept out of repr."""

    connection_string: str = field(repr=False)
    account_name: str | None
    blob_endpoint: str
    secrets: tuple[str, ...] = field(repr=False, default=())

    def scrub(self, text: str) -> str:
        """``text`` with every secret of the connection string replaced by ``redacted``."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "redacted")
        return text


def parse_connection_string(text: str) -> AzureBlob:
    """Check an Azure Storage connection string and find its blob endpoint.

    Raises
    ------
    ConnectionStringError
        A part is malformed or missing; the message begins ``Unable to parse Azure blob storage
        connection string`` and names the part, never its secret value.

    Examples
    --------
    >>> blob = parse_connection_string(
    ...     "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;"
    ... )
    >>> blob.blob_endpoint, blob.account_name
    ('https://acme.blob.core.windows.net', 'acme')
    >>> blob
    AzureBlob(account_name='acme', blob_endpoint='https://acme.blob.core.windows.net')
    """
    parts: dict[str, str] = {}
    for position, segment in enumerate(text.strip().split(";"), start=1):
        if not segment.strip():
            continue
        name, equals, value = segment.partition("=")
        name = name.strip()
        if not equals or not name:
            raise ConnectionStringError(
                f"{PARSE_ERROR}: part {position} is not of the form Name=value"
            )
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            raise ConnectionStringError(
                f"{PARSE_ERROR}: unknown setting {name[:40]!r}; expected names such as "
                "AccountName, AccountKey, BlobEndpoint, EndpointSuffix"
            )
        parts[canonical] = value.strip()
    secrets = tuple(v for k, v in parts.items() if k.lower() in _SECRET_NAMES)
    if parts.get("UseDevelopmentStorage", "").lower() == "true":
        return AzureBlob(
            connection_string=text,
            account_name="devstoreaccount1",
            blob_endpoint="http://127.0.0.1:10000/devstoreaccount1",
            secrets=secrets,
        )
    key = parts.get("AccountKey")
    if key is not None:
        try:
            binascii.a2b_base64(key.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ConnectionStringError(
                f"{PARSE_ERROR}: the AccountKey is not valid base64 (copy it again from the "
                "storage account's access keys)"
            ) from None
    account = parts.get("AccountName")
    endpoint = parts.get("BlobEndpoint")
    if endpoint:
        scheme = urlsplit(endpoint).scheme.lower()
        if scheme not in ("http", "https") or not urlsplit(endpoint).hostname:
            raise ConnectionStringError(
                f"{PARSE_ERROR}: BlobEndpoint must be an http:// or https:// URL"
            )
    elif account:
        protocol = parts.get("DefaultEndpointsProtocol", "https").lower()
        if protocol not in ("http", "https"):
            raise ConnectionStringError(
                f"{PARSE_ERROR}: DefaultEndpointsProtocol must be http or https"
            )
        suffix = parts.get("EndpointSuffix") or "core.windows.net"
        endpoint = f"{protocol}://{account}.blob.{suffix}"
    else:
        raise ConnectionStringError(
            f"{PARSE_ERROR}: it names neither an AccountName nor a BlobEndpoint"
        )
    return AzureBlob(
        connection_string=text,
        account_name=account,
        blob_endpoint=endpoint.rstrip("/"),
        secrets=secrets,
    )


def check_endpoint(blob: AzureBlob, *, allow_private: bool) -> None:
    """Refuse a blob endpoint on a loopback or private address, unless ``allow_private``.

    Raises
    ------
    AzureReadError
        The endpoint's host resolves to an address the server may not reach, or to none.
    """
    if allow_private:
        return
    host = urlsplit(blob.blob_endpoint).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise AzureReadError(
            f"The blob endpoint's host {host!r} could not be found (no address for that name); "
            "check the connection string's AccountName, EndpointSuffix or BlobEndpoint"
        ) from None
    for info in infos:
        address = str(info[4][0])
        kind = refusal(address)
        if kind is not None:
            raise AzureReadError(private_address_error(host, address, kind))


def _filesystem(blob: AzureBlob) -> Any:
    try:
        import adlfs
    except ImportError:
        raise AzureReadError(
            "This server cannot read Azure blobs: it needs the 'azure' extra "
            "(pip install 'nexosis-pandas[azure]')"
        ) from None
    # azure-core logs each request at INFO; keep its lines (and any header) out of the log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    return adlfs.AzureBlobFileSystem(
        connection_string=blob.connection_string,
        skip_instance_cache=True,
        use_listings_cache=False,
    )


@contextmanager
def open_blob(
    blob: AzureBlob, container: str, name: str, *, allow_private: bool
) -> Iterator[tuple[IO[bytes], str | None]]:
    """Open ``name`` in ``container`` for reading; yield it with its stored content type.

    Raises
    ------
    AzureReadError
        The endpoint is refused or unreachable, the container or the blob does not exist, or
        access is denied; the message names the container and blob, never a secret.
    """
    check_endpoint(blob, allow_private=allow_private)
    fs = _filesystem(blob)
    path = f"{container}/{name.lstrip('/')}"
    try:
        info = fs.info(path)
        if info.get("type") != "file":
            raise FileNotFoundError(path)
        handle = fs.open(path, "rb", block_size=BLOCK_SIZE)
    except Exception as exc:
        raise AzureReadError(blob.scrub(_describe(exc, fs, container, name))) from None
    settings = info.get("content_settings")
    served = getattr(settings, "content_type", None) or (
        settings.get("content_type") if isinstance(settings, Mapping) else None
    )
    try:
        yield handle, served
    finally:
        handle.close()


def _describe(exc: BaseException, fs: Any, container: str, name: str) -> str:
    where = f"blob {name!r} in container {container!r}"
    if isinstance(exc, FileNotFoundError):
        try:
            container_exists = bool(fs.exists(container))
        except Exception:  # the account may not allow listing; then name the blob
            container_exists = True
        if not container_exists:
            return (
                f"Response status code does not indicate success: 404 (The specified container "
                f"does not exist.). The container {container!r} was not found; check its name"
            )
        return (
            f"Response status code does not indicate success: 404 (The specified blob does not "
            f"exist.). No {where}; check the blob's name (folders included)"
        )
    status = getattr(exc, "status_code", None)
    if status in (401, 403) or isinstance(exc, PermissionError):
        return (
            f"Response status code does not indicate success: {status or 403} (Forbidden). "
            f"Access to {where} was denied: check the connection string's AccountKey or "
            "SharedAccessSignature"
        )
    if status is not None:
        reason = getattr(exc, "reason", None) or "no reason given"
        return f"Response status code does not indicate success: {status} ({reason}) for {where}"
    return (
        f"Could not read {where}: the blob service could not be reached "
        f"({type(exc).__name__}); check the connection string's endpoint and the network"
    )
