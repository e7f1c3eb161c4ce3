"""The `page` and `limit` query parameters shared by every list route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from {{ package_name }}.shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest

# Past this page an offset scan is too slow to serve; callers should filter instead.
MAX_PAGE = 100_000


def page_request(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page")] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="items per page")
    ] = DEFAULT_LIMIT,
) -> PageRequest:
    return PageRequest(page=page, limit=limit)


PageDep = Annotated[PageRequest, Depends(page_request)]
