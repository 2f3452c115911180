"""``depaginate``: every item of a paged ``Client.list_*`` listing, as ZenML's
``zenml.utils.pagination_utils.depaginate``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from kubeline.client._base import Page

T = TypeVar("T")


def depaginate(list_method: Callable[..., Page[T]], **kwargs: Any) -> list[T]:
    """The items of every page of ``list_method(**kwargs)``, first page first.

    Reads pages 1 to the first page's ``total_pages``, never past the last one (a page
    past the last one raises ``PaginationError``, as in ZenML). ``size=`` in ``kwargs``
    sets the page size (default 20); pass ``PAGE_SIZE_MAXIMUM`` for fewer requests.
    """
    kwargs.pop("page", None)
    number = 1
    page = list_method(page=number, **kwargs)
    items = list(page.items)
    while number < page.total_pages:
        number += 1
        page = list_method(page=number, **kwargs)
        items.extend(page.items)
    return items
