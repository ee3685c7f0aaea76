"""A dataset's resources over the transport: its rows, the account's names, deletion.

:class:`~nexosis_pandas._client.Client` documents these and forwards to them. The rows come as
one Arrow stream when the server offers it (the reference server does) and page by page as
JSON otherwise (the hosted API); :mod:`nexosis_pandas._frames` types them either way.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Hashable, Mapping
from typing import Any

import requests

from nexosis_pandas._backends import Backend, check_backend, from_rows, from_table
from nexosis_pandas._http import HTTPTransport
from nexosis_pandas._options import MAX_PAGE_SIZE, required_text
from nexosis_pandas._paging import pages
from nexosis_pandas._wire import ARROW_STREAM, DATASET_NAME, lookup, page_query
from nexosis_pandas.exceptions import APIError, NexosisError, NotFoundError, warn_user

__all__ = ["ARROW_STREAM", "delete_dataset", "list_datasets", "read_dataset", "warn_no_imports"]


def read_dataset(
    transport: HTTPTransport, dataset_name: str, *, backend: Backend = "pandas"
) -> Any:
    """Every row of the dataset as a typed frame (see :meth:`Client.read_dataset`)."""
    url = transport.url("data", required_text("dataset_name", dataset_name))
    backend = check_backend(backend)
    columns: dict[str, Any] = {}
    try:
        bulk, first_page = _read_arrow(transport, url)
        if bulk is not None:
            return from_table(*bulk, backend)
        rows = [
            row
            for row in pages(
                transport,
                url,
                {},
                MAX_PAGE_SIZE,
                key=None,
                on_page=lambda page: columns.update(page.columns or {}),
                first=first_page,
            )
            if isinstance(row, Mapping)
        ]
    except NotFoundError as exc:
        close = difflib.get_close_matches(dataset_name, _names(transport) or [], n=1)
        if close:
            exc.message = f"{exc.message}; did you mean {close[0]!r}?"
            exc.args = (exc.message,)
        raise
    return from_rows(rows, columns, backend)


def _read_arrow(
    transport: HTTPTransport, url: str
) -> tuple[tuple[Any, Mapping[str, Any]] | None, Any]:
    """The whole dataset in one answer, when the server offers its Arrow stream.

    The reference server sends every row as an Arrow IPC stream to a client that asks for
    it (returned with its column metadata); a server that does not (the hosted API did not)
    answers with its first JSON page, returned (decoded) for the caller to go on page by page.
    """
    response = transport.request(
        "GET",
        url,
        params=page_query(0, MAX_PAGE_SIZE),
        headers={"Accept": f"{ARROW_STREAM}, application/json;q=0.5"},
    )
    if not response.headers.get("Content-Type", "").startswith(ARROW_STREAM):
        try:
            return None, json.loads(response.content) if response.content else None
        except ValueError:
            raise _unreadable(
                transport, response, url, "expected a JSON page of the rows"
            ) from None
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(response.content).read_all()
        metadata = table.schema.metadata or {}
        columns = json.loads(metadata.get(b"nexosis.columns", b"{}"))
    except (pa.ArrowException, ValueError) as exc:
        what = f"the dataset's rows could not be read as an Arrow stream ({exc})"
        raise _unreadable(transport, response, url, what) from None
    return (table, columns if isinstance(columns, Mapping) else {}), None


def list_datasets(transport: HTTPTransport) -> list[str]:
    """The names of the account's datasets (see :meth:`Client.list_datasets`)."""
    names = []
    for item in pages(transport, transport.url("data"), {}, MAX_PAGE_SIZE, key=_dataset_key):
        name = _dataset_key(item)
        if name is not None:
            names.append(str(name))
    return names


def delete_dataset(transport: HTTPTransport, dataset_name: str, *, missing_ok: bool) -> None:
    """Delete a dataset (see :meth:`Client.delete_dataset`)."""
    url = transport.url("data", required_text("dataset_name", dataset_name))
    try:
        transport.request("DELETE", url)
    except NotFoundError:
        if not missing_ok:
            raise


def warn_no_imports(transport: HTTPTransport, dataset_name: str) -> None:
    """Warn that ``dataset_name`` has no imports, naming the datasets it may have meant."""
    names = _names(transport)
    if names is None or dataset_name in names:
        return  # unknown, or it exists and the filters left nothing, which the user asked for
    close = difflib.get_close_matches(dataset_name, names, n=3, cutoff=0.6)
    if close:
        hint = "Did you mean " + " or ".join(repr(name) for name in close) + "?"
    elif names:
        hint = "The datasets are: " + ", ".join(repr(n) for n in names[:10])
        hint += ", ..." if len(names) > 10 else "."
    else:
        hint = "There are no datasets yet."
    warn_user(f"No imports into a dataset named {dataset_name!r}. {hint}")


def _unreadable(
    transport: HTTPTransport, response: requests.Response, url: str, what: str
) -> APIError:
    return APIError(
        f"{what}; check that base_url {transport.base_url!r} points at the Nexosis Imports API",
        status_code=response.status_code,
        method="GET",
        url=url,
    )


def _names(transport: HTTPTransport) -> list[str] | None:
    """The dataset names, or ``None`` when they cannot be listed.

    Only hints are made of them: the error or the empty history stays the answer.
    """
    try:
        return list_datasets(transport)
    except NexosisError:
        return None


def _dataset_key(item: Any) -> Hashable | None:
    if isinstance(item, str):
        return item
    value = lookup(item, DATASET_NAME)
    return str(value) if value else None
