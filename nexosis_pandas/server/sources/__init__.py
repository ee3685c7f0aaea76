"""Where an import's file comes from: one module per source type, each a :class:`Source`.

::

    s3.py          POST /imports/s3: an object read from S3 through s3fs
    url.py         POST /imports/url: a file fetched over http(s), bounded every way
    azure.py       POST /imports/azure: a blob read from Azure Storage through adlfs
    addresses.py   the rule that keeps URL and Azure sources off private addresses
    kinds.py       csv or json: contentType, extension, served type, then first bytes

The pool looks a source up by the import's ``type`` and calls :meth:`Source.open` with the
import's parameters; everything after that (deciding the format, parsing, checking, loading,
status) is shared.

What may hold a secret (S3 credentials, a URL import's address and password, an Azure
connection string) reaches a source as ``credentials``: it lives in memory for that run only and
is never stored, so an import that the server's restart interrupted can be resumed only by a
source that needs none (S3 with the server's own credentials).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any, Protocol

__all__ = ["OpenedFile", "Source", "SourceReadError", "is_network_error"]


@dataclass(frozen=True)
class OpenedFile:
    """An import's file, opened: its bytes (seekable), its name, and the type it was served as.

    ``name`` gives the extension the format is decided by when the request names none;
    ``served_type`` (a media type, e.g. ``text/csv``) comes next, then the first bytes.
    """

    raw: IO[bytes]
    name: str
    served_type: str | None = None


class SourceReadError(Exception):
    """The file could not be opened; the message names it and says why and what to do."""


class Source(Protocol):
    """A place imports read files from."""

    label: str
    """What the source is called in messages (``"S3"``)."""

    def open(
        self, parameters: Mapping[str, str], credentials: Any
    ) -> AbstractContextManager[OpenedFile]:
        """Open the import's file as a seekable binary stream.

        Raises
        ------
        SourceReadError
            The file does not exist, may not be read, or cannot be reached.
        """
        ...

    def describe(self, parameters: Mapping[str, str]) -> str:
        """The file's address for messages (``s3://bucket/path``), without any secret."""
        ...


def is_network_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the connection to the source failing part-way (after its retries)."""
    if isinstance(exc, OSError):
        return True
    return type(exc).__module__.startswith(
        ("aiohttp", "botocore", "aiobotocore", "urllib3", "requests", "azure")
    )
