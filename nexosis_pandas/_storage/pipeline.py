"""From a pandas frame to an object in storage: the upload, composing the parts.

:func:`write_dataframe` checks the frame and chooses its formatting
(:class:`~nexosis_pandas._encode.encoder.Encoding`), resolves the progress display and the
filesystem (:func:`filesystem`, the one place a filesystem is built from settings), and hands
the encoder's blocks (made and compressed by a few threads, in order) to
:func:`~nexosis_pandas._storage.upload.write_object`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from nexosis_pandas import config
from nexosis_pandas._encode.encoder import Compression, Encoding, Format, file_format
from nexosis_pandas._frame import validate_column_names
from nexosis_pandas._inputs import recognise, table_names
from nexosis_pandas._storage.upload import (
    S3Object,
    find_object,
    split_url,
    write_object,
)
from nexosis_pandas.exceptions import ConfigurationError
from nexosis_pandas.progress import ProgressArg, resolve_progress

__all__ = ["filesystem", "find_existing", "write_dataframe"]


def filesystem(url: str, storage_options: Mapping[str, Any] | None = None, fs: Any = None) -> Any:
    """``fs`` if given, else the fsspec filesystem that writes ``url``.

    s3fs for ``s3://``, adlfs for ``az://``: the one place the package builds a filesystem.
    ``storage_options`` are merged over :func:`nexosis_pandas.config.storage_options` (S3) or
    :func:`nexosis_pandas.config.azure_storage_options` (Azure).

    Raises
    ------
    ConfigurationError
        An ``az://`` URL without the ``azure`` extra installed.
    """
    if fs is not None:
        return fs
    if split_url(url)[0] == "az":
        try:
            import adlfs
        except ImportError as exc:
            raise ConfigurationError(
                "Writing to az:// needs the 'azure' extra: pip install 'nexosis-pandas[azure]'"
            ) from exc
        options = config.azure_storage_options(storage_options)
        return adlfs.AzureBlobFileSystem(**{"skip_instance_cache": True, **options})
    import s3fs

    return s3fs.S3FileSystem(**config.storage_options(storage_options))


def write_dataframe(
    df: pd.DataFrame,
    s3_url: str,
    *,
    format: Format | None = None,
    compression: Compression | Literal["infer"] = "infer",
    index: bool | None = None,
    storage_options: Mapping[str, Any] | None = None,
    fs: Any = None,
    progress: ProgressArg = None,
) -> S3Object:
    """Write ``df`` to ``s3_url``; see :func:`nexosis_pandas.upload_dataframe`.

    The public function hands Dask frames to :mod:`nexosis_pandas._dask` and every other frame
    to this one, with its arguments unchanged: a pandas frame is encoded as it is, polars and
    Arrow data as the pyarrow Table :func:`~nexosis_pandas._inputs.recognise` makes of them.
    """
    _, df = recognise(df)  # a polars frame or Arrow data: a pyarrow Table
    started = time.perf_counter()
    format, compression = file_format(s3_url, format, compression)
    scheme, bucket, key = split_url(s3_url)
    url = f"{scheme}://{bucket}/{key}"
    reporter = resolve_progress(progress)
    encoding = Encoding(df, format=format, index=index)  # ColumnError before any byte is sent
    fs = filesystem(url, storage_options, fs)
    reporter.upload_start(url, encoding.rows)
    # threads encode and compress the chunks (both release the GIL), the caller uploads
    blocks = encoding.blocks(compression)
    return write_object(
        encoding,
        blocks,
        fs=fs,
        url=url,
        compression=compression,
        reporter=reporter,
        started=started,
        stop=blocks.close,
    )


def find_existing(
    df: pd.DataFrame,
    s3_url: str,
    *,
    index: bool | None = None,
    storage_options: Mapping[str, Any] | None = None,
    fs: Any = None,
) -> S3Object | None:
    """The object already at ``s3_url``, described as if ``df`` had been uploaded there.

    For content-addressed keys (named by a hash of the frame, see
    :func:`nexosis_pandas._digest.content_url`), an object at the key already holds ``df``'s data,
    so :func:`nexosis_pandas.import_dataframe` imports it instead of uploading again. Only the
    object's size and ETag are read: rows and columns are ``df``'s (by the index rule of
    :func:`write_dataframe`), and ``bytes_uncompressed`` and ``sha256`` are unknown (``0``
    and ``""``).

    Parameters
    ----------
    df
        The frame the object holds.
    s3_url
        ``s3://bucket/key``; the suffix gives the format and compression.
    index, storage_options, fs
        As for :func:`write_dataframe`.

    Returns
    -------
    S3Object or None
        ``None`` when there is no object at ``s3_url`` (or no such bucket: the upload says so).

    Raises
    ------
    UploadError
        S3 could not be asked (endpoint unreachable, access denied, ...); the message names the
        bucket, the key and the cause.

    Examples
    --------
    >>> find_existing(df, "s3://my-bucket/nexosis/sales-1f2e3d4c5b6a7988.csv.gz")  # doctest: +SKIP
    S3Object(url='s3://my-bucket/nexosis/sales-1f2e3d4c5b6a7988.csv.gz', rows=10000, ...)
    """
    format, compression = file_format(s3_url)
    if isinstance(df, pa.Table):
        columns = tuple(table_names(df))
        rows = df.num_rows
    else:
        columns, rows = tuple(validate_column_names(df, index=index)), len(df)
    return find_object(
        filesystem(s3_url, storage_options, fs),
        s3_url,
        format=format,
        compression=compression,
        rows=rows,
        columns=columns,
    )
