"""From a frame to an object in storage: the public upload functions, composing the parts.

:func:`upload_dataframe` checks the frame and chooses its formatting
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
from nexosis_pandas._storage.upload import S3Object, find_object, split_url, write_object
from nexosis_pandas.exceptions import ConfigurationError, user_error
from nexosis_pandas.progress import ProgressArg, resolve_progress

__all__ = ["filesystem", "find_existing", "is_dask_frame", "upload_dataframe"]


def is_dask_frame(df: object) -> bool:
    """Whether ``df`` is a Dask DataFrame, told without importing dask."""
    return type(df).__module__.partition(".")[0] == "dask" and hasattr(df, "npartitions")


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


@user_error
def upload_dataframe(
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
    """Write ``df`` to ``s3_url`` as compressed CSV (or JSON), streamed as a multipart upload.

    The frame is encoded chunk by chunk (Arrow's CSV writer, formatted by the rules of
    :mod:`nexosis_pandas._encode.encoder`), compressed with ISA-L gzip (a few chunks at once,
    in threads), and sent in parts of :data:`~nexosis_pandas._storage.upload.PART_SIZE` bytes,
    so memory above the frame stays bounded. If anything fails or the user interrupts, the multipart
    upload is aborted: no partial object appears and an object already at ``s3_url`` is left
    as it was.

    Parameters
    ----------
    df
        The frame: pandas, Dask or polars (a ``LazyFrame`` too), a pyarrow ``Table``,
        ``RecordBatch``, ``RecordBatchReader`` or dataset, or any object with
        ``__arrow_c_stream__`` (a DuckDB relation, ...). polars and Arrow data are encoded
        from their Arrow columns, never through pandas, to the bytes the same data gives from
        pandas. Column names must be unique non-empty strings.
    s3_url
        ``s3://bucket/key``.
    format
        ``"csv"`` or ``"json"`` (an array of flat objects); by default from the suffix of
        ``s3_url`` (``.csv.gz``, ``.csv``, ``.json.gz``, ``.json``), see
        :func:`~nexosis_pandas._encode.encoder.file_format`.
    compression
        ``"gzip"`` or ``None``; ``"infer"`` (the default) takes it from the suffix.
    index
        ``None`` writes the index only when it carries information (it is named, or is not the
        default ``RangeIndex``); ``True`` always; ``False`` never.
    storage_options
        Options for ``s3fs.S3FileSystem``, as pandas takes them (``endpoint_url``, ``key``,
        ``secret``, ``client_kwargs``, ``anon``, ...); by default those of
        :func:`nexosis_pandas.config.storage_options`.
    fs
        A ready ``s3fs.S3FileSystem`` (or other fsspec filesystem) to use instead.
    progress
        ``None`` or ``False`` (the default): nothing. ``"auto"``, ``"widget"`` or ``"text"``:
        a display, as for :func:`nexosis_pandas.import_dataframe`. A
        :class:`~nexosis_pandas.progress.ProgressReporter` receives ``upload_start``;
        ``upload_update`` each time S3 takes a part, with the rows and bytes sent so far (all
        the rows only once the object is complete); and ``upload_end``.

    Returns
    -------
    S3Object
        What was written: sizes, row count, ETag, SHA-256 of the uncompressed bytes, time.

    Raises
    ------
    TypeError
        ``df`` is none of the frames above.
    ColumnError
        Before anything is sent, when the column names are invalid or the frame has none, or
        an Arrow column's type is one no dataset holds (durations, binary, nested).
    UploadError
        S3 failed (no such bucket, access denied, endpoint unreachable, ...). Errors raised
        while encoding the data propagate as they are, after the upload is aborted.

    Examples
    --------
    >>> obj = upload_dataframe(df, "s3://my-bucket/data/sales.csv.gz")  # doctest: +SKIP
    >>> obj.url, obj.rows  # doctest: +SKIP
    ('s3://my-bucket/data/sales.csv.gz', 1000000)
    """
    kind, df = recognise(df)  # a polars frame or Arrow data: a pyarrow Table
    if kind == "dask":
        from nexosis_pandas._dask import upload_dask_dataframe

        return upload_dask_dataframe(
            df,
            s3_url,
            format=format,
            compression=compression,
            index=index,
            storage_options=storage_options,
            fs=fs,
            progress=progress,
        )
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
    :func:`upload_dataframe`), and ``bytes_uncompressed`` and ``sha256`` are unknown (``0``
    and ``""``).

    Parameters
    ----------
    df
        The frame the object holds.
    s3_url
        ``s3://bucket/key``; the suffix gives the format and compression.
    index, storage_options, fs
        As for :func:`upload_dataframe`.

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
