"""Constants of ZenML's documented API that Kubeline keeps (``zenml.constants``)."""

from __future__ import annotations

import os

#: ZenML's switch for the page sizes (either name): a whole number sets both the default
#: and the largest page size, as ``ZENML_PAGINATION_DEFAULT_LIMIT`` does in ZenML.
ENV_PAGINATION_DEFAULT_LIMIT = ("KUBELINE_PAGINATION_DEFAULT_LIMIT",
                                "ZENML_PAGINATION_DEFAULT_LIMIT")


def _page_limit(default: int) -> int:
    """The page size the environment sets, else ``default``; a value that is not a whole
    number of 1 or more is refused naming the variable (ZenML would ignore it)."""
    for name in ENV_PAGINATION_DEFAULT_LIMIT:
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{name}={raw!r}: the page size must be a whole number of 1 or "
                             "more (it sets the default and the largest page size)")
        return int(raw)
    return default


# Listings (``Client.list_*``): the first page, the page size when none is given, and the
# largest page a listing returns (ZenML's ``BaseFilter`` limits).
PAGINATION_STARTING_PAGE: int = 1
PAGE_SIZE_DEFAULT: int = _page_limit(20)
PAGE_SIZE_MAXIMUM: int = _page_limit(10_000)
