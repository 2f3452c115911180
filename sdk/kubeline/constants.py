"""Constants of ZenML's documented API that Kubeline keeps (``zenml.constants``)."""

from __future__ import annotations

# Listings (``Client.list_*``): the first page, the page size when none is given, and the
# largest page a listing returns (ZenML's ``BaseFilter`` limits).
PAGINATION_STARTING_PAGE: int = 1
PAGE_SIZE_DEFAULT: int = 20
PAGE_SIZE_MAXIMUM: int = 10_000
