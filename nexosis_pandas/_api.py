"""The functions a data scientist calls: from a DataFrame to a dataset, and back to the imports.

Each is sequencing only: the frame is checked (:mod:`nexosis_pandas._frame`,
:mod:`nexosis_pandas.columns`), named (:mod:`nexosis_pandas._digest`), uploaded
(:mod:`nexosis_pandas._storage`), imported (:class:`~nexosis_pandas.Client`) and followed
(:mod:`nexosis_pandas._polling`, :mod:`nexosis_pandas.progress`). When no client is passed,
the default one is used: ``nexosis_pandas.config.get_defaults().client`` if set (the sandbox
sets it), else a client built from ``NEXOSIS_API_KEY`` and ``NEXOSIS_BASE_URL``.
``df.nexosis`` is a thin face over these functions.

A Dask frame is handed to :mod:`nexosis_pandas._dask` here, the one place that tells the two
apart. The steps both kinds of frame share (the default client, the object already uploaded,
the import and its follow-up) live below, in :mod:`nexosis_pandas._importing`.

Over 400 lines only by its documentation: about half of it is the numpydoc of the public
functions, which the API reference renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Unpack

import pandas as pd

from nexosis_pandas import columns as _columns
from nexosis_pandas import config
from nexosis_pandas._arrow_columns import arrow_column_metadata
from nexosis_pandas._background import check_wait, in_background
from nexosis_pandas._digest import content_url
from nexosis_pandas._encode.encoder import Compression, Format, file_format
from nexosis_pandas._follow import Follow
from nexosis_pandas._frame import frame_to_import
from nexosis_pandas._importing import default_client, existing_object, import_upload, is_dask_frame
from nexosis_pandas._importing import follow as _follow
from nexosis_pandas._inputs import recognise
from nexosis_pandas._options import HistoryFilters, Roles, required_text
from nexosis_pandas._storage.pipeline import filesystem, write_dataframe
from nexosis_pandas._storage.upload import url_store
from nexosis_pandas._wire import ColumnMetadata
from nexosis_pandas.columns import metadata_to_send
from nexosis_pandas.exceptions import user_error
from nexosis_pandas.progress import ProgressArg, resolve_progress

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas._job import ImportJob
    from nexosis_pandas._storage.upload import S3Object

__all__ = [
    "default_client",
    "get_import",
    "import_dataframe",
    "import_history",
    "import_url",
    "infer_column_metadata",
    "upload_dataframe",
]


@user_error
def get_import(import_id: str, *, client: Client | None = None) -> ImportJob:
    """The import with this id, as the server reports it now.

    Use it to come back to an import later, e.g. after a timeout or an interrupted wait.

    Parameters
    ----------
    import_id
        The import's id (a GUID).
    client
        The client to use; by default :func:`default_client`.

    Raises
    ------
    NotFoundError
        No import has this id.

    Examples
    --------
    >>> job = nexosis_pandas.get_import("015d1d17-5d53-4cbe-8c4e-4a6e8a3e7f40")  # doctest: +SKIP
    >>> job.wait()  # doctest: +SKIP
    """
    return default_client(client).get_import(import_id)


@user_error
def import_history(
    dataset_name: str | None = None,
    /,
    *,
    limit: int | None = None,
    client: Client | None = None,
    **filters: Unpack[HistoryFilters],
) -> pd.DataFrame:
    """Every import matching the filters, one row per import (see :meth:`Client.import_history`).

    Parameters
    ----------
    dataset_name
        Only imports into this dataset (by position or by name). When it names no dataset and
        there are no imports, a warning names the datasets it may have meant.
    limit
        At most this many imports, in the server's order (``sort_by``, ``sort_order``).
    client
        The client to use; by default :func:`default_client`.
    **filters
        ``requested_after`` and ``requested_before`` (only imports requested in this range,
        inclusive; naive values are UTC), ``sort_by`` and ``sort_order`` (the server's order,
        e.g. ``"requested_date"``, ``"desc"``, which ``limit`` cuts); see
        :class:`~nexosis_pandas._options.HistoryFilters`.

    Examples
    --------
    >>> history = nexosis_pandas.import_history("sales")  # doctest: +SKIP
    >>> history[history.status == "failed"][["requested", "error"]]  # doctest: +SKIP
    """
    return default_client(client).import_history(dataset_name, limit=limit, **filters)


# -- import_dataframe -------------------------------------------------------------------------


@user_error
def infer_column_metadata(df: pd.DataFrame, **roles: Unpack[Roles]) -> ColumnMetadata:
    """The column metadata an import of ``df`` sends, checked against the frame.

    The frame is taken as :func:`import_dataframe` sends it, index included when it is sent
    (see there): after ``df.set_index("day")``, ``timestamp="day"`` names the index. Data
    types come from the dtypes (see :mod:`nexosis_pandas.columns` for the table and the rule
    for free text); the columns named here get their roles. Every other column carries no
    role, so the server decides: ``feature`` in a new dataset, the role it already has in an
    existing one. The server fills in imputation and aggregation from the data type.

    Parameters
    ----------
    df
        The frame to describe: pandas, or polars, Arrow or any Arrow stream (see
        :func:`import_dataframe`), whose data types come from their Arrow types (see
        :mod:`nexosis_pandas._arrow_columns`).
    **roles
        ``target`` (the column to predict; numeric or logical), ``timestamp`` (the column that
        places rows in time; datetimes) and ``key`` (the column or columns that identify a
        row, with the timestamp when one is given; an import into an existing dataset replaces
        the rows with the same key): see :class:`~nexosis_pandas._options.Roles`.

    Returns
    -------
    dict
        Column name to ``{"dataType": ...}``, with ``"role"`` for the columns named here, in
        the order they are sent.

    Raises
    ------
    ColumnError
        A column name is not a unique, non-empty string; a named column does not exist; the
        target is not numeric or logical; the timestamp is not datetime-like; the key has
        missing values or duplicates; a column is named for two roles; or a column's dtype
        cannot be sent. The message names the column and the fix.

    Examples
    --------
    >>> df = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=3),
    ...                    "store": ["a", "b", "a"], "units": [3, 5, 2]})
    >>> infer_column_metadata(df, target="units", timestamp="day")  # doctest: +NORMALIZE_WHITESPACE
    {'day': {'dataType': 'date', 'role': 'timestamp'},
     'store': {'dataType': 'string'},
     'units': {'dataType': 'numeric', 'role': 'target'}}
    >>> infer_column_metadata(df.set_index("day"), timestamp="day")["day"]
    {'dataType': 'date', 'role': 'timestamp'}
    """
    kind, frame = recognise(df)
    if kind == "arrow":  # polars, Arrow and the Arrow stream: from their Arrow types
        return arrow_column_metadata(frame, **roles)
    return _columns.infer_column_metadata(frame_to_import(df), **roles)


@user_error
def import_dataframe(
    df: pd.DataFrame,
    dataset_name: str,
    s3_url: str | None = None,
    *,
    columns: Literal["infer"] | Mapping[str, Mapping[str, Any]] | None = "infer",
    target: str | None = None,
    timestamp: str | None = None,
    key: str | Sequence[str] | None = None,
    wait: bool = True,
    background: bool = False,
    timeout: float | None = None,
    progress: ProgressArg = "auto",
    client: Client | None = None,
    storage_options: Mapping[str, Any] | None = None,
    fs: Any = None,
) -> ImportJob:
    """Upload a DataFrame to S3, import it into a Nexosis dataset, and wait for the import.

    Before anything is sent, the column metadata is inferred and checked against the frame
    (see :func:`infer_column_metadata`). The frame is then streamed to S3 as gzipped CSV, the
    import is requested, and (unless ``wait=False``) followed until it ends, with a progress
    display: a widget in Jupyter, text lines elsewhere.

    The index is sent as a column when it is data rather than row numbers: when it is named
    (after ``set_index("day")``, say), or when its labels are not integers (an unnamed
    ``DatetimeIndex`` or string labels, sent as a column called ``index`` so roles can name
    it: ``timestamp="index"``; each level of a ``MultiIndex``). An unnamed integer index, the
    default ``RangeIndex`` or the labels left after filtering or slicing rows, numbers the
    rows and is left out. :func:`infer_column_metadata` (and ``df.nexosis.column_metadata``)
    take the frame the same way. The upload alone (:func:`upload_dataframe`,
    ``df.nexosis.to_s3``) differs: it writes any index but the default ``RangeIndex``.

    Parameters
    ----------
    df
        The data: a pandas or Dask DataFrame; a polars ``DataFrame`` or ``LazyFrame`` (collected
        first); a pyarrow ``Table``, ``RecordBatch``, ``RecordBatchReader`` or dataset; or any
        object with ``__arrow_c_stream__`` (a DuckDB relation, an ibis or narwhals frame).
        polars and Arrow data are encoded from their Arrow columns, never through pandas, to
        the bytes the same data gives from pandas.
    dataset_name
        The dataset to create, or to upsert into if it exists.
    s3_url
        Where to write the file (``s3://bucket/path/name.csv.gz``; ``.csv``, ``.json`` and
        ``.json.gz`` choose those formats). An ``az://container/path/name.csv.gz`` URL writes
        to Azure Blob Storage instead (the ``azure`` extra) and imports the blob from there,
        with the connection string of ``storage_options`` (or
        ``AZURE_STORAGE_CONNECTION_STRING``). By default the file goes under ``NEXOSIS_S3_PREFIX``,
        named by the dataset and a hash of the content, and is not uploaded again when that
        object already exists: running the same cell twice uploads once.
    columns
        ``"infer"``: metadata from the dtypes and the roles below. A mapping: the inferred
        metadata with these fields laid over it, e.g. ``{"price": {"dataType":
        "numericMeasure"}}``. ``None``: send no metadata; the server infers it.
    target, timestamp, key
        The columns with those roles (``key`` may be several columns).
    wait
        Wait for the import to end. With ``False`` the job is returned as requested; call
        ``job.wait()`` later.
    background
        Return the job at once and upload and wait in a background thread, while the progress
        display goes on in this cell. The job is a future: ``job.result()``, ``job.done()``,
        ``job.add_done_callback(fn)``, ``await job``; :func:`wait` and :func:`as_completed`
        take several. The frame and the roles are checked before it returns; every later
        error (upload, import, ``timeout``) is raised by ``job.result()``.
    timeout
        Seconds to wait for the import at most (the upload is not counted).
    progress
        ``"auto"``, ``"widget"``, ``"text"``, ``False``, or a
        :class:`~nexosis_pandas.progress.ProgressReporter`.
    client
        The client to use; by default :func:`default_client`.
    storage_options
        Options for ``s3fs.S3FileSystem`` (``endpoint_url``, ``key``, ``secret``,
        ``client_kwargs``...); by default those of :func:`nexosis_pandas.config.storage_options`.
        For ``az://``: options for ``adlfs.AzureBlobFileSystem`` (``connection_string``), by
        default those of :func:`nexosis_pandas.config.azure_storage_options`.
    fs
        A ready fsspec filesystem (``s3fs.S3FileSystem``, ``adlfs.AzureBlobFileSystem``) to
        write with, instead of one built from ``storage_options``.

    Returns
    -------
    ImportJob
        The import: completed when waited for; ``job.upload`` describes the S3 object.

    Raises
    ------
    ColumnError
        The frame or the roles cannot be sent as they are (nothing was uploaded).
    ConfigurationError
        No ``s3_url`` and no ``NEXOSIS_S3_PREFIX``, or no api key.
    UploadError
        Writing to S3 failed.
    ImportFailedError, ImportTimeoutError
        The import failed, or did not end within ``timeout`` (it goes on on the server).

    Examples
    --------
    >>> job = nexosis_pandas.import_dataframe(  # doctest: +SKIP
    ...     df, "sales", "s3://my-bucket/sales.csv.gz", target="units", timestamp="day"
    ... )
    >>> job.status  # doctest: +SKIP
    <ImportStatus.COMPLETED: 'completed'>
    """
    if is_dask_frame(df):
        from nexosis_pandas._dask import import_dask_dataframe

        return import_dask_dataframe(
            df,
            dataset_name,
            s3_url,
            columns=columns,
            target=target,
            timestamp=timestamp,
            key=key,
            wait=wait,
            background=background,
            timeout=timeout,
            progress=progress,
            client=client,
            storage_options=storage_options,
            fs=fs,
        )
    check_wait(wait, background)
    required_text("dataset_name", dataset_name)
    kind, frame = recognise(df)  # polars and Arrow data: a pyarrow Table, never pandas
    df = frame if kind == "arrow" else frame_to_import(df)
    metadata = infer_column_metadata(df, target=target, timestamp=timestamp, key=key)
    sent = metadata_to_send(df, metadata, columns, target=target, timestamp=timestamp, key=key)

    api = default_client(client)
    url = content_url(df, dataset_name) if s3_url is None else s3_url
    fmt, compression = file_format(url)
    azure = url_store(url) == "az"
    connection_string = config.azure_connection_string(storage_options) if azure else None
    reporter = resolve_progress(progress)
    reporter.begin(dataset_name)

    def run(follow: Follow[ImportJob] | None) -> ImportJob:
        files = filesystem(url, storage_options, fs)
        obj = existing_object(df, url, files, reporter) if s3_url is None else None
        if obj is None:
            obj = upload_dataframe(
                df,
                url,
                format=fmt,
                compression=compression,
                index=False,
                fs=files,
                progress=reporter,
            )
        return import_upload(
            api,
            dataset_name,
            obj,
            reporter,
            columns=sent,
            content_type=fmt,
            connection_string=connection_string,
            wait=wait,
            timeout=timeout,
            pending=follow,
        )

    if background:
        return in_background(dataset_name, "azure" if azure else "s3", api, reporter, run)
    return run(None)


@user_error
def import_url(
    dataset_name: str,
    url: str,
    *,
    columns: Mapping[str, Mapping[str, Any]] | None = None,
    content_type: Literal["csv", "json"] | None = None,
    auth: tuple[str, str] | None = None,
    wait: bool = True,
    background: bool = False,
    timeout: float | None = None,
    progress: ProgressArg = "auto",
    client: Client | None = None,
) -> ImportJob:
    """Import a CSV or JSON file at an http(s) URL into a dataset, and wait for the import.

    The server fetches the file itself: nothing is downloaded here. The progress display and
    the waiting are those of :func:`import_dataframe`. A server open to others refuses URLs on
    loopback or private-network addresses (it is no proxy into its own network); the sandbox,
    started for local use, fetches them.

    Parameters
    ----------
    dataset_name
        The dataset to create, or to upsert into if it exists.
    url
        The file's ``http://`` or ``https://`` address.
    columns
        Column metadata for the columns you want to declare, e.g. ``{"day": {"role":
        "timestamp"}, "units": {"dataType": "numeric", "role": "target"}}``; the server infers
        the rest. ``None``: the server infers every column.
    content_type
        ``"csv"`` or ``"json"``; by default the URL's extension decides, then the type the file
        is served with, then its first bytes.
    auth
        ``(user_id, password)`` for a file behind basic authentication; never echoed or logged.
    wait, background, timeout, progress, client
        As for :func:`import_dataframe`.

    Returns
    -------
    ImportJob
        The import: completed when waited for.

    Raises
    ------
    ValueError
        ``url`` is not http(s), or an argument is empty.
    ImportFailedError, ImportTimeoutError
        The import failed (the message says why: a 404, refused credentials, a file too
        large...), or did not end within ``timeout`` (it goes on on the server).

    Examples
    --------
    >>> job = nexosis_pandas.import_url(  # doctest: +SKIP
    ...     "iris", "https://example.com/data/iris.csv", columns={"species": {"role": "target"}}
    ... )
    >>> job.status  # doctest: +SKIP
    <ImportStatus.COMPLETED: 'completed'>
    """
    check_wait(wait, background)
    api = default_client(client)
    reporter = resolve_progress(progress)
    reporter.begin(dataset_name)

    def run(follow: Follow[ImportJob] | None) -> ImportJob:
        return _follow(
            lambda: api.import_from_url(
                dataset_name, url, columns=columns, content_type=content_type, auth=auth
            ),
            reporter,
            wait=wait,
            timeout=timeout,
            pending=follow,
        )

    if background:
        return in_background(dataset_name, "url", api, reporter, run)
    return run(None)


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
    if is_dask_frame(df):
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
    return write_dataframe(
        df,
        s3_url,
        format=format,
        compression=compression,
        index=index,
        storage_options=storage_options,
        fs=fs,
        progress=progress,
    )
