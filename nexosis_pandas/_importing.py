"""What every import shares, below the public functions: the client, the upload, the follow-up.

:mod:`nexosis_pandas._api` (pandas frames) and :mod:`nexosis_pandas._dask` (Dask frames) both
end an import the same way: they find the client (:func:`default_client`), skip an upload whose
content-addressed object is already there (:func:`existing_object`), then request the import
and follow it on the progress display (:func:`import_upload`, :func:`follow`). Those steps live
here so that the Dask package can use them without importing :mod:`nexosis_pandas._api`, which
imports the Dask package (lazily) to hand it Dask frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

import pandas as pd

from nexosis_pandas import config
from nexosis_pandas._encode.encoder import Compression, Format
from nexosis_pandas._options import Roles
from nexosis_pandas._polling import wait_for_import
from nexosis_pandas._storage.pipeline import find_existing
from nexosis_pandas._wire import ColumnMetadata
from nexosis_pandas.exceptions import ConfigurationError
from nexosis_pandas.progress import ProgressArg, ProgressReporter

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas._follow import Follow
    from nexosis_pandas._job import ImportJob
    from nexosis_pandas._storage.upload import S3Object

__all__ = [
    "ImportOptions",
    "UploadOptions",
    "default_client",
    "existing_object",
    "follow",
    "import_upload",
    "is_dask_frame",
]


class UploadOptions(TypedDict, total=False):
    """The options of :func:`nexosis_pandas.upload_dataframe` after the frame and the URL;
    they are described there."""

    format: Format | None
    compression: Compression | Literal["infer"]
    index: bool | None
    storage_options: Mapping[str, Any] | None
    fs: Any
    progress: ProgressArg


class ImportOptions(Roles, total=False):
    """The options of :func:`nexosis_pandas.import_dataframe` after the frame, the dataset
    and the S3 URL; they are described there."""

    columns: Literal["infer"] | Mapping[str, Mapping[str, Any]] | None
    wait: bool
    background: bool
    timeout: float | None
    progress: ProgressArg
    client: Client | None
    storage_options: Mapping[str, Any] | None
    fs: Any


def is_dask_frame(df: object) -> bool:
    """Whether ``df`` is a Dask DataFrame, told without importing dask."""
    return type(df).__module__.partition(".")[0] == "dask" and hasattr(df, "npartitions")


_env_clients: dict[tuple[str | None, str], Client] = {}


def default_client(client: Client | None = None) -> Client:
    """``client`` if given, else the process default, else one built from the environment.

    The client built from the environment is kept and reused while ``NEXOSIS_API_KEY`` and
    ``NEXOSIS_BASE_URL`` stay the same, so repeated calls share one HTTP session.

    Raises
    ------
    ConfigurationError
        No client was given or set as default, and ``NEXOSIS_API_KEY`` is not set.

    Examples
    --------
    >>> default_client().base_url  # doctest: +SKIP
    'https://ml.nexosis.com/v1'
    """
    if client is not None:
        return client
    defaults = config.get_defaults()
    if defaults.client is not None:
        return cast("Client", defaults.client)
    if defaults.stopped and not config.api_key():
        raise ConfigurationError(defaults.stopped)
    from nexosis_pandas._client import Client

    settings = (config.api_key(), config.base_url())
    if settings not in _env_clients:
        _env_clients[settings] = Client()
    return _env_clients[settings]


def existing_object(
    df: pd.DataFrame, url: str, fs: Any, reporter: ProgressReporter, *, rows: int | None = None
) -> S3Object | None:
    """The object already at the content-addressed ``url`` holding ``df``'s data, or ``None``.

    When there is one, ``reporter`` hears that the upload is done (with ``rows`` rows, when
    ``df`` stands for more rows than it holds, as a Dask frame's meta does).
    """
    try:
        obj = find_existing(df, url, index=False, fs=fs)
    except BaseException as exc:  # UploadError: S3 could not be asked; or an interrupt
        reporter.upload_end(None, exc)
        raise
    if obj is not None:
        obj = obj if rows is None else replace(obj, rows=rows)
        reporter.upload_end(obj)
    return obj


def import_upload(
    api: Client,
    dataset_name: str,
    obj: S3Object,
    reporter: ProgressReporter,
    *,
    columns: ColumnMetadata | None,
    content_type: Format,
    connection_string: str | None = None,
    wait: bool,
    timeout: float | None,
    pending: Follow[ImportJob] | None = None,
) -> ImportJob:
    """Import the uploaded ``obj`` (from Azure when a connection string is given) and follow it.

    With ``pending`` (in its background thread), the import fills in its pending job.
    """

    def start() -> ImportJob:
        if connection_string is not None:
            return api.import_from_azure(
                dataset_name,
                connection_string,
                obj.bucket,
                obj.key,
                columns=columns,
                content_type=content_type,
            )
        return api.import_from_s3(
            dataset_name,
            obj.bucket,
            obj.key,
            region=obj.region or "us-east-1",
            columns=columns,
            content_type=content_type,
        )

    return follow(start, reporter, upload=obj, wait=wait, timeout=timeout, pending=pending)


def follow(
    start: Callable[[], ImportJob],
    reporter: ProgressReporter,
    *,
    upload: S3Object | None = None,
    wait: bool,
    timeout: float | None,
    pending: Follow[ImportJob] | None = None,
) -> ImportJob:
    """Request the import, then follow it on ``reporter`` until it ends (unless ``wait=False``).

    With ``pending``, the request fills in its pending job and the wait sleeps on its stop event.
    """
    try:
        if pending is not None:
            pending.check()  # the wait was cancelled during the upload: request nothing
        job = start()
    except BaseException as exc:
        reporter.import_end(None, exc)
        raise
    job.upload = upload
    if pending is not None:
        job = pending.job._adopt(job)
        return wait_for_import(job, timeout=timeout, progress=reporter, sleep=pending.sleep)
    if not wait:
        reporter.import_update(job)
        reporter.detached(job)  # the display ends here; job.wait() starts a new one
        return job
    return job.wait(timeout, progress=reporter)
