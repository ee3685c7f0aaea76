"""``Client``: the Nexosis Imports API in Python terms.

It checks arguments (:mod:`nexosis_pandas._options`), builds the wire's shapes
(:mod:`nexosis_pandas._wire` writes and reads them), pages through lists
(:mod:`nexosis_pandas._paging`), and returns jobs and frames; a dataset's resources are in
:mod:`nexosis_pandas._datasets`, and sending, retrying and error translation are the
transport's (:mod:`nexosis_pandas._http`). Over 400 lines only by its documentation: each
method is a few lines, and about half the module is the numpydoc of the public methods, which
the API reference renders.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Hashable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Unpack, overload

import pandas as pd
import requests

from nexosis_pandas import _datasets, _options, config
from nexosis_pandas._backends import Backend
from nexosis_pandas._datasets import ARROW_STREAM
from nexosis_pandas._history import history_frame, history_table_frame
from nexosis_pandas._http import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, HTTPTransport, Timeout
from nexosis_pandas._job import ImportJob
from nexosis_pandas._options import (
    MAX_PAGE_SIZE,
    DateLike,
    HistoryFilters,
    S3Credentials,
    history_query,
    required_text,
    s3_credentials,
)
from nexosis_pandas._paging import pages
from nexosis_pandas._wire import (
    IMPORT_ID,
    SORT_FIELDS,
    AzureImportRequest,
    Import,
    S3ImportRequest,
    UrlImportRequest,
    lookup,
    page_query,
)
from nexosis_pandas.columns import columns_to_wire
from nexosis_pandas.exceptions import APIError, ConfigurationError

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = ["ARROW_STREAM", "MAX_PAGE_SIZE", "SORT_FIELDS", "Client", "DateLike", "S3Credentials"]


class Client:
    """A connection to the Nexosis Imports API.

    Parameters
    ----------
    api_key
        The api key; by default ``NEXOSIS_API_KEY`` (see :mod:`nexosis_pandas.config`). It is
        sent as the ``api-key`` header and never shown in a repr, a log line or an error.
    base_url
        The API root; by default ``NEXOSIS_BASE_URL``, else ``https://ml.nexosis.com/v1``.
    timeout
        Seconds to connect and to wait for each read, or a ``(connect, read)`` pair.
    max_retries
        How often a read (``GET``) is retried after a connection error, a timeout, or HTTP 429,
        502, 503 or 504. Starting an import is retried only if it never reached the server.
    session
        A ``requests.Session`` to send through (proxies, certificates, adapters); by default the
        client makes its own and :meth:`close` closes it.
    transport
        A ready :class:`~nexosis_pandas._http.HTTPTransport` to send through instead, with its
        own base URL, key, timeouts, retries and ``sleep``: the seam tests replace. With it,
        ``api_key``, ``base_url`` and ``session`` are not given.

    Raises
    ------
    ConfigurationError
        No api key was given or set, or the base URL is not an http(s) URL.
    ValueError
        ``transport`` was given together with ``api_key``, ``base_url`` or ``session``.

    Examples
    --------
    >>> client = Client(api_key="my-key", base_url="http://127.0.0.1:8000/v1")
    >>> client
    <Client base_url='http://127.0.0.1:8000/v1'>
    >>> job = client.import_from_s3("sales", "my-bucket", "sales.csv.gz")  # doctest: +SKIP
    >>> client.import_history(dataset_name="sales").tail()  # doctest: +SKIP
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        session: requests.Session | None = None,
        transport: HTTPTransport | None = None,
    ) -> None:
        if transport is not None:
            if api_key is not None or base_url is not None or session is not None:
                raise ValueError(
                    "Pass either transport= or api_key/base_url/session, not both: the "
                    "transport carries its own base URL, key and session."
                )
            self._transport = transport
            return
        key = config.api_key(api_key)
        if not key:
            raise ConfigurationError(
                "No Nexosis api key: pass Client(api_key=...) or set the NEXOSIS_API_KEY "
                "environment variable (e.g. export NEXOSIS_API_KEY=...); or, to try it locally, "
                "start a sandbox: nexosis_pandas.sandbox()."
            )
        self._transport = HTTPTransport(
            config.base_url(base_url),
            key,
            timeout=timeout,
            max_retries=max_retries,
            session=session,
        )

    @property
    def base_url(self) -> str:
        """The API root requests go to, without a trailing slash."""
        return self._transport.base_url

    @property
    def transport(self) -> HTTPTransport:
        """The HTTP transport (timeouts, retries and the ``sleep`` between them)."""
        return self._transport

    def __repr__(self) -> str:
        return f"<Client base_url={self.base_url!r}>"

    def close(self) -> None:
        """Close the HTTP session if the client created it."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- imports ---------------------------------------------------------------------------

    def import_from_s3(
        self,
        dataset_name: str,
        bucket: str,
        path: str,
        *,
        region: str = "us-east-1",
        columns: Mapping[str, Mapping[str, Any]] | None = None,
        content_type: Literal["csv", "json"] | None = None,
        credentials: S3Credentials | None = None,
    ) -> ImportJob:
        """Ask the API to import an S3 object into a dataset; return the requested import.

        The request is sent once: a failure after it may have reached the server is not
        retried, because a retry could start a second import. Problems reading the object
        (missing key, access denied, unreadable content) do not fail this call; the import
        ends ``failed`` and :meth:`ImportJob.wait` raises.

        Parameters
        ----------
        dataset_name
            The dataset to create or upsert into.
        bucket, path
            Where the object is (``path`` is the key inside the bucket).
        region
            The bucket's AWS region.
        columns
            Column metadata: column name to ``{"dataType", "role", "imputation",
            "aggregation"}`` (enum members or their wire text; ``data_type`` is accepted too).
        content_type
            ``"csv"`` or ``"json"``; by default the server goes by the extension.
        credentials
            For a private object: ``(access_key_id, secret_access_key)`` or a mapping (see
            :data:`S3Credentials`). Sent only in this request, never echoed or logged.

        Raises
        ------
        ValueError
            An argument is empty or not one of the allowed values.
        BadRequestError
            The server rejected a field or the column metadata.

        Examples
        --------
        >>> job = client.import_from_s3(  # doctest: +SKIP
        ...     "sales", "my-bucket", "exports/sales.csv.gz", columns={"day": {"role": "timestamp"}}
        ... )
        >>> job.status  # doctest: +SKIP
        <ImportStatus.REQUESTED: 'requested'>
        """
        request = S3ImportRequest(
            dataset_name=required_text("dataset_name", dataset_name),
            bucket=required_text("bucket", bucket),
            path=required_text("path", path),
            region=required_text("region", region),
            columns=columns_to_wire(columns),
            content_type=_options.content_type(content_type),
            credentials=None if credentials is None else s3_credentials(credentials),
        )
        return self._start_import("s3", request.to_wire())

    def import_from_url(
        self,
        dataset_name: str,
        url: str,
        *,
        columns: Mapping[str, Mapping[str, Any]] | None = None,
        content_type: Literal["csv", "json"] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> ImportJob:
        """Ask the API to import a CSV or JSON file at an http(s) URL; return the requested import.

        The server fetches the file itself. As with :meth:`import_from_s3`, the request is sent
        once, and problems fetching the file (a 404, refused credentials, too large, too slow)
        end the import ``failed`` with a message rather than failing this call. The import's
        ``parameters`` echo the URL's scheme and host only.

        Parameters
        ----------
        dataset_name
            The dataset to create or upsert into.
        url
            The file's ``http://`` or ``https://`` address. A server open to others refuses
            loopback and private-network addresses; the sandbox fetches them.
        columns
            Column metadata, as for :meth:`import_from_s3`.
        content_type
            ``"csv"`` or ``"json"``; by default the server goes by the URL's extension, then
            the type the file is served with, then its first bytes.
        auth
            ``(user_id, password)`` for a file behind basic authentication. Sent only in this
            request (the server sends it to the URL's own host only), never echoed or logged.

        Raises
        ------
        ValueError
            An argument is empty, ``url`` is not http(s), or ``auth`` is not a pair of strings.
        BadRequestError
            The server rejected a field or the column metadata.

        Examples
        --------
        >>> job = client.import_from_url(  # doctest: +SKIP
        ...     "iris", "https://example.com/data/iris.csv"
        ... )
        >>> job.wait().status  # doctest: +SKIP
        <ImportStatus.COMPLETED: 'completed'>
        """
        request = UrlImportRequest(
            dataset_name=required_text("dataset_name", dataset_name),
            url=_options.http_url(url),
            columns=columns_to_wire(columns),
            content_type=_options.content_type(content_type),
            auth=None if auth is None else _options.basic_auth(auth),
        )
        return self._start_import("url", request.to_wire())

    def import_from_azure(
        self,
        dataset_name: str,
        connection_string: str,
        container: str,
        blob: str,
        *,
        columns: Mapping[str, Mapping[str, Any]] | None = None,
        content_type: Literal["csv", "json"] | None = None,
    ) -> ImportJob:
        """Ask the API to import a blob from Azure Storage; return the requested import.

        Problems reading the blob (no such container or blob, a refused key, a malformed
        connection string) end the import ``failed`` with a message. The import's
        ``parameters`` show the container and the blob, and the connection string as
        ``"redacted"``.

        Parameters
        ----------
        dataset_name
            The dataset to create or upsert into.
        connection_string
            The storage account's connection string (``AccountName=...;AccountKey=...`` or
            with a ``SharedAccessSignature``). Sent only in this request, never echoed or logged.
        container
            The blob's container.
        blob
            The blob's name, folders included (``exports/2017/sales.csv.gz``).
        columns, content_type
            As for :meth:`import_from_url`.

        Raises
        ------
        ValueError
            An argument is empty.
        BadRequestError
            The server rejected a field or the column metadata.

        Examples
        --------
        >>> job = client.import_from_azure(  # doctest: +SKIP
        ...     "sales", connection_string, "exports", "2017/sales.csv.gz"
        ... )
        >>> job.parameters  # doctest: +SKIP
        {'connectionString': 'redacted', 'container': 'exports', 'blob': '2017/sales.csv.gz'}
        """
        secret = required_text("connection_string", connection_string, secret=True)
        request = AzureImportRequest(
            dataset_name=required_text("dataset_name", dataset_name),
            connection_string=secret.strip(),
            container=required_text("container", container),
            blob=required_text("blob", blob),
            columns=columns_to_wire(columns),
            content_type=_options.content_type(content_type),
        )
        return self._start_import("azure", request.to_wire())

    def _start_import(self, source: str, body: dict[str, Any]) -> ImportJob:
        url = self._transport.url("imports", source)
        wire = self._transport.request_json("POST", url, json_body=body)
        return self._job(wire, "POST", url)

    def get_import(self, import_id: str) -> ImportJob:
        """Fetch an import's current state.

        Raises
        ------
        ValueError
            ``import_id`` is not a GUID (a dataset name, say); raised before any request.
        NotFoundError
            No import has this id.

        Examples
        --------
        >>> client.get_import("015d1d17-5d53-4cbe-8c4e-4a6e8a3e7f40").status  # doctest: +SKIP
        <ImportStatus.COMPLETED: 'completed'>
        """
        url = self._transport.url("imports", _options.import_id(import_id))
        return self._job(self._transport.request_json("GET", url), "GET", url)

    def iter_imports(
        self, *, page_size: int = MAX_PAGE_SIZE, **filters: Unpack[HistoryFilters]
    ) -> Iterator[ImportJob]:
        """Yield every import matching the filters, fetching one page at a time as needed.

        Parameters
        ----------
        page_size
            Imports per request, 1 to 1000.
        **filters
            ``dataset_name``, ``requested_after``, ``requested_before``, ``sort_by``,
            ``sort_order``: see :class:`~nexosis_pandas._options.HistoryFilters`.

        Raises
        ------
        ValueError
            A filter is invalid; raised before any request, when the iterator is created.

        Examples
        --------
        >>> for job in client.iter_imports(dataset_name="sales", page_size=100):  # doctest: +SKIP
        ...     print(job.import_id, job.status)
        """
        params = history_query(filters, page_size)
        return self._iter_imports(params, page_size)

    def _iter_imports(self, params: dict[str, Any], page_size: int) -> Iterator[ImportJob]:
        for wire in self._import_objects(params, page_size):
            yield ImportJob(Import.from_wire(wire), self)

    def _import_objects(
        self, params: dict[str, Any], page_size: int, first: Any = None
    ) -> Iterator[Mapping[str, Any]]:
        url = self._transport.url("imports")
        for wire in pages(self._transport, url, params, page_size, key=_import_key, first=first):
            yield self._import_object(wire, "GET", url)

    def _history_table(
        self, params: dict[str, Any], page_size: int, limit: int | None
    ) -> tuple[pd.DataFrame | None, Any]:
        """The history in one answer, when the server offers it as an Arrow stream.

        The reference server sends every matching import as a row of an Arrow table to a
        client that asks for it; another server answers with its first JSON page, returned
        (decoded) for the caller to go on page by page, as it does when a date needs the exact
        parser.
        """
        response = self._transport.request(
            "GET",
            self._transport.url("imports"),
            params={**params, **page_query(0, page_size)},
            headers={"Accept": f"{ARROW_STREAM}, application/json;q=0.5"},
        )
        if not response.headers.get("Content-Type", "").startswith(ARROW_STREAM):
            try:
                return None, json.loads(response.content) if response.content else None
            except ValueError:
                return None, None  # the pages ask again, and word what comes
        import pyarrow as pa

        try:
            table = pa.ipc.open_stream(response.content).read_all()
            frame = history_table_frame(table if limit is None else table.slice(0, limit))
        except (pa.ArrowException, KeyError):
            return None, None
        return frame, None

    def import_history(
        self,
        dataset_name: str | None = None,
        /,
        *,
        page_size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        **filters: Unpack[HistoryFilters],
    ) -> pd.DataFrame:
        """Every import matching the filters as a DataFrame, one row per import.

        The filters are those of :meth:`iter_imports` (the dataset name may be passed as the
        one positional argument); ``limit`` keeps the first ``limit``
        imports in the server's order (``sort_by="requested_date", sort_order="desc"`` for the
        latest). The rows are sorted by ``requested``; the columns, always the same even when
        there are no imports, are ``import_id``, ``dataset_name``, ``type``, ``status``,
        ``bucket``, ``path``, ``region`` (strings), ``requested``, ``started``, ``finished``
        (UTC timestamps), ``duration`` (timedelta, ``NaT`` while running), ``error`` (the
        error messages joined, ``""`` when none) and ``n_messages``.

        When ``dataset_name`` names no dataset and there are no imports, a ``UserWarning``
        names the datasets it may have meant (a typo gives an empty table otherwise).

        Raises
        ------
        ValueError
            A filter or ``limit`` is invalid; raised before any request.

        Examples
        --------
        >>> history = client.import_history(requested_after="2024-01-01")  # doctest: +SKIP
        >>> history[history.status == "failed"][["dataset_name", "error"]]  # doctest: +SKIP
        >>> history.set_index("requested").duration.dt.total_seconds().plot()  # doctest: +SKIP
        """
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValueError(f"limit must be None or an integer >= 0, got {limit!r}.")
        if limit is not None and limit < page_size:
            page_size = max(limit, 1)
        if dataset_name is not None:
            if "dataset_name" in filters:
                raise TypeError("import_history() got dataset_name twice, by position and by name")
            filters["dataset_name"] = dataset_name
        query = history_query(filters, page_size)
        history, first = (
            (None, None) if limit == 0 else self._history_table(query, page_size, limit)
        )
        if history is None:
            imports = self._import_objects(query, page_size, first)
            history = history_frame(itertools.islice(imports, limit))
        named = filters.get("dataset_name")
        if history.empty and named is not None:
            _datasets.warn_no_imports(self._transport, named)
        return history

    # -- datasets --------------------------------------------------------------------------

    @overload
    def read_dataset(
        self, dataset_name: str, *, backend: Literal["pandas"] = "pandas"
    ) -> pd.DataFrame: ...
    @overload
    def read_dataset(self, dataset_name: str, *, backend: Literal["polars"]) -> pl.DataFrame: ...
    @overload
    def read_dataset(self, dataset_name: str, *, backend: Literal["pyarrow"]) -> pa.Table: ...

    def read_dataset(self, dataset_name: str, *, backend: Backend = "pandas") -> Any:
        """Read a whole dataset (every page) into a DataFrame.

        Column dtypes follow the dataset's column metadata: ``numeric`` and ``numericMeasure``
        become numbers, ``logical`` the nullable ``boolean``, ``date`` UTC timestamps;
        ``string`` and ``text`` stay text. Columns without metadata become numbers when every
        value is one (see :func:`~nexosis_pandas._frames.dataset_frame`).

        Parameters
        ----------
        dataset_name
            The dataset.
        backend
            ``"pandas"`` (the default), ``"polars"`` or ``"pyarrow"`` (a ``pyarrow.Table``);
            polars and Arrow are typed from the Arrow data, never through pandas (see
            :func:`nexosis_pandas.read_dataset` for their types).

        Raises
        ------
        NotFoundError
            No dataset has this name; the message suggests a close one when there is one.
        ValueError
            ``backend`` is none of the three.

        Examples
        --------
        >>> client.read_dataset("sales").dtypes  # doctest: +SKIP
        >>> client.read_dataset("sales", backend="polars").schema  # doctest: +SKIP
        """
        return _datasets.read_dataset(self._transport, dataset_name, backend=backend)

    def list_datasets(self) -> list[str]:
        """The names of the account's datasets.

        Examples
        --------
        >>> "sales" in client.list_datasets()  # doctest: +SKIP
        True
        """
        return _datasets.list_datasets(self._transport)

    def delete_dataset(self, dataset_name: str, *, missing_ok: bool = False) -> None:
        """Delete a dataset and its data.

        Parameters
        ----------
        dataset_name
            The dataset to delete.
        missing_ok
            Return quietly when there is no such dataset, instead of raising.

        Raises
        ------
        NotFoundError
            No dataset has this name and ``missing_ok`` is false.

        Examples
        --------
        >>> client.delete_dataset("scratch", missing_ok=True)  # doctest: +SKIP
        """
        _datasets.delete_dataset(self._transport, dataset_name, missing_ok=missing_ok)

    # -- helpers ---------------------------------------------------------------------------

    def _job(self, wire: Any, method: str, url: str) -> ImportJob:
        """The import ``method url`` answered with; an ``APIError`` when it is not an object."""
        return ImportJob(Import.from_wire(self._import_object(wire, method, url)), self)

    def _import_object(self, wire: Any, method: str, url: str) -> Mapping[str, Any]:
        """``wire``, an Import JSON object; an ``APIError`` when it is not an object."""
        if not isinstance(wire, Mapping):
            got = _describe_json(wire)
            # The transport returns only success answers; the API's success status is 200.
            raise APIError(
                f"expected an import (a JSON object) but got {got}; check that base_url "
                f"{self.base_url!r} points at the Nexosis Imports API",
                status_code=200,
                method=method,
                url=url,
                body=json.dumps(wire),
            )
        return wire


def _describe_json(value: Any) -> str:
    """A JSON value as an error message names it: its kind and the start of its text."""
    if value is None:
        return "an empty body"
    kind = {list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
    text = json.dumps(value)
    return f"{kind}: {text[:200] + '...' if len(text) > 200 else text}"


def _import_key(item: Any) -> Hashable | None:
    value = lookup(item, IMPORT_ID)
    return str(value) if value else None
