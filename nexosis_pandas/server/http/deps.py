"""What the routes depend on, through FastAPI's ``Depends``: the store, the pool, paging.

The application keeps its store and its import pool on ``app.state``; a route names what it
needs by type (``store: StoreDep``), so the routes are plain functions a reader can follow and a
test can call with its own parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from nexosis_pandas._wire import PAGE_SIZE, Link, Page
from nexosis_pandas.server.columns import ColumnSpec
from nexosis_pandas.server.http.envelope import NexosisJSONResponse
from nexosis_pandas.server.pool import ImportWorker
from nexosis_pandas.server.store import Store

__all__ = [
    "API_PREFIX",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "Paging",
    "PagingDep",
    "PoolDep",
    "StoreDep",
    "api_base",
]

API_PREFIX = "/v1"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 10**9
"""The largest page number: page * pageSize must fit a 64-bit offset."""


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _pool(request: Request) -> ImportWorker:
    pool: ImportWorker = request.app.state.pool
    return pool


StoreDep = Annotated[Store, Depends(_store)]
PoolDep = Annotated[ImportWorker, Depends(_pool)]


def api_base(request: Request) -> str:
    """The API's base URL as the client reached it, ``http://HOST:PORT/v1``."""
    return str(request.base_url).rstrip("/") + API_PREFIX


@dataclass(frozen=True)
class Paging:
    """The ``page`` and ``pageSize`` a list request asked for."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        """The first item's position."""
        return self.page * self.page_size

    def response(
        self,
        request: Request,
        items: list[Any],
        total: int,
        *,
        dataset_name: str | None = None,
        columns: Mapping[str, ColumnSpec] | None = None,
    ) -> NexosisJSONResponse:
        """The page as the API sends it, with the ``links`` to its neighbours."""
        total_pages = math.ceil(total / self.page_size) if total else 0

        def href(number: int) -> str:
            return str(request.url.include_query_params(page=number))

        links = [Link("self", str(request.url)), Link("first", href(0))]
        if self.page + 1 < total_pages:
            links.append(Link("next", href(self.page + 1)))
        links.append(Link("last", href(max(total_pages - 1, 0))))
        page = Page(
            items=items,
            page_number=self.page,
            page_size=self.page_size,
            total_count=total,
            total_pages=total_pages,
            links=tuple(links),
            dataset_name=dataset_name,
            columns=None if columns is None else dict(columns),  # type: ignore[arg-type]
        )
        return NexosisJSONResponse(page.to_wire())


def _paging(
    page: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Zero-based page number")] = 0,
    page_size: Annotated[
        int,
        Query(alias=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page (max 1000)"),
    ] = DEFAULT_PAGE_SIZE,
) -> Paging:
    return Paging(page, page_size)


PagingDep = Annotated[Paging, Depends(_paging)]
