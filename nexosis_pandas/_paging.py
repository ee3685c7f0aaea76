"""Paging through a list: one page at a time, as the items are needed, until the last.

Lists end in three ways across the API's versions, and some servers ignore ``page``; the
loop here handles all of them so :class:`~nexosis_pandas.Client` only says what to list.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

from nexosis_pandas._http import HTTPTransport
from nexosis_pandas._wire import Page, page_query

__all__ = ["pages"]


def pages(
    transport: HTTPTransport,
    url: str,
    params: Mapping[str, Any],
    page_size: int,
    *,
    key: Callable[[Any], Hashable | None] | None,
    on_page: Callable[[Page], None] | None = None,
    first: Any = None,
) -> Iterator[Any]:
    """Yield the items of every page of a list, requesting pages as they are needed.

    The end is the last page by ``totalPages``; else, when the server sends ``links``, a
    page without a ``next`` link; else (the original API sent only ``items``) a page shorter
    than ``page_size``. A server that ignores ``page`` and repeats a page ends the loop:
    an echoed ``pageNumber`` other than the one asked for, a page of items all seen before
    (by ``key``), or, without a key, a page equal to the one before. ``first``, when given,
    is the first page's body, already fetched.
    """
    seen: set[Hashable] = set()
    previous: list[Any] | None = None
    for page in itertools.count():
        if page == 0 and first is not None:
            body = first
        else:
            body = transport.request_json(
                "GET", url, params={**params, **page_query(page, page_size)}
            )
        parsed = Page.from_wire(body)
        if parsed is None:
            return
        if on_page is not None:
            on_page(parsed)
        items, number = parsed.items, parsed.page_number
        if not items:
            return
        if number is not None and number != page:
            return
        if key is not None:
            keys = [key(item) for item in items]
            fresh = [
                item for item, k in zip(items, keys, strict=True) if k is None or k not in seen
            ]
            if not fresh:
                return
            seen.update(k for k in keys if k is not None)
            yield from fresh
        else:
            if number is None and items == previous:
                return
            previous = items
            yield from items
        if not parsed.has_next(page, page_size):
            return
