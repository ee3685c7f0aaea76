"""Settings, each resolved the same way: explicit argument, then defaults set in this process
(by :func:`set_defaults`, which :func:`nexosis_pandas.sandbox` uses), then the ``NEXOSIS_*``
environment, then the built-in default.

=====================  ====================================  ===============================
setting                environment variable                  built-in default
=====================  ====================================  ===============================
api key                ``NEXOSIS_API_KEY``                   none: required
base URL               ``NEXOSIS_BASE_URL``                  ``https://ml.nexosis.com/v1``
S3 prefix              ``NEXOSIS_S3_PREFIX``                 none: pass ``s3_url``
S3 storage options     ``NEXOSIS_S3_ENDPOINT_URL``           s3fs's own (AWS, default credentials)
Azure storage options  ``AZURE_STORAGE_CONNECTION_STRING``   adlfs's own ``AZURE_STORAGE_*``
=====================  ====================================  ===============================
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from nexosis_pandas.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "Defaults",
    "api_key",
    "azure_connection_string",
    "azure_storage_options",
    "base_url",
    "get_defaults",
    "s3_prefix",
    "set_defaults",
    "storage_options",
    "using_defaults",
]

DEFAULT_BASE_URL = "https://ml.nexosis.com/v1"


@dataclass(frozen=True)
class Defaults:
    """Process-wide defaults that take precedence over the environment.

    ``client`` is the :class:`~nexosis_pandas.Client` the helper functions use when none is
    passed; ``stopped`` says why there is none (e.g. the sandbox was stopped), in place of "no
    api key". The settings sit below the client in the package, so the field is typed ``Any``:
    the sandbox, above both, sets it, and :func:`nexosis_pandas._importing.default_client`
    returns it as a client.
    """

    client: Any = None
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    s3_prefix: str | None = None
    storage_options: Mapping[str, Any] | None = field(default=None, repr=False)
    azure_storage_options: Mapping[str, Any] | None = field(default=None, repr=False)
    stopped: str | None = None


_defaults = Defaults()


def get_defaults() -> Defaults:
    """Return the defaults in force."""
    return _defaults


def set_defaults(defaults: Defaults) -> Defaults:
    """Make ``defaults`` the process-wide defaults; return the previous ones."""
    global _defaults
    previous, _defaults = _defaults, defaults
    return previous


@contextmanager
def using_defaults(**changes: Any) -> Iterator[Defaults]:
    """Apply ``changes`` to the defaults for the duration of a ``with`` block."""
    previous = set_defaults(replace(_defaults, **changes))
    try:
        yield _defaults
    finally:
        set_defaults(previous)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def api_key(explicit: str | None = None) -> str | None:
    """The api key: argument, defaults, then ``NEXOSIS_API_KEY``; ``None`` when unset."""
    return explicit or _defaults.api_key or _env("NEXOSIS_API_KEY")


def base_url(explicit: str | None = None) -> str:
    """The API base URL, without a trailing slash."""
    url = explicit or _defaults.base_url or _env("NEXOSIS_BASE_URL") or DEFAULT_BASE_URL
    return url.rstrip("/")


def s3_prefix(explicit: str | None = None) -> str | None:
    """Where uploads go when no ``s3_url`` is given (``s3://bucket/prefix/``), if set."""
    return explicit or _defaults.s3_prefix or _env("NEXOSIS_S3_PREFIX")


def storage_options(explicit: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The options given to ``s3fs.S3FileSystem``: argument, defaults, then environment."""
    if explicit is not None:
        return dict(explicit)
    if _defaults.storage_options is not None:
        return dict(_defaults.storage_options)
    endpoint = _env("NEXOSIS_S3_ENDPOINT_URL")
    return {"endpoint_url": endpoint} if endpoint else {}


def azure_storage_options(explicit: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The options given to ``adlfs.AzureBlobFileSystem``: argument, defaults, then environment.

    From the environment: ``{"connection_string": AZURE_STORAGE_CONNECTION_STRING}`` when it is
    set, else nothing (adlfs then reads its other ``AZURE_STORAGE_*`` variables itself).
    """
    if explicit is not None:
        return dict(explicit)
    if _defaults.azure_storage_options is not None:
        return dict(_defaults.azure_storage_options)
    connection_string = _env("AZURE_STORAGE_CONNECTION_STRING")
    return {"connection_string": connection_string} if connection_string else {}


def azure_connection_string(storage_options: Mapping[str, Any] | None) -> str:
    """The connection string the server reads an ``az://`` upload with.

    From :func:`azure_storage_options`: its ``connection_string``, else one made of
    ``account_name`` and ``account_key``.

    Raises
    ------
    ConfigurationError
        Neither is set; the message says where to set one.

    Examples
    --------
    >>> azure_connection_string({"account_name": "acct", "account_key": "k3y"})
    'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k3y;'
    """
    options = azure_storage_options(storage_options)
    given = options.get("connection_string")
    if isinstance(given, str) and given.strip():
        return given.strip()
    name, key = options.get("account_name"), options.get("account_key")
    if isinstance(name, str) and name and isinstance(key, str) and key:
        return f"DefaultEndpointsProtocol=https;AccountName={name};AccountKey={key};"
    raise ConfigurationError(
        "An az:// import needs the storage account's connection string, which the server reads "
        "the blob with: pass storage_options={'connection_string': ...}, or set "
        "AZURE_STORAGE_CONNECTION_STRING (nexosis_pandas.sandbox(azure=True) sets it for its "
        "local Azure)."
    )
