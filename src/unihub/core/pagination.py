"""The one pagination mechanism: `pageNumber` (>= 0) and `pageSize` (1-100) in, `Page` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageParams:
    page_number: int
    page_size: int

    @property
    def offset(self) -> int:
        return self.page_number * self.page_size


async def _page_params(  # async: a plain def would run on FastAPI's thread pool
    page_number: Annotated[int, Query(alias="pageNumber", ge=0, le=10_000_000)] = 0,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 50,
) -> PageParams:
    return PageParams(page_number, page_size)


Paging = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    """Documented shape of a paginated answer."""

    pageNumber: int
    pageSize: int
    total: int
    results: list[T]


def page_body(params: PageParams, total: int, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pageNumber": params.page_number,
        "pageSize": params.page_size,
        "total": total,
        "results": list(results),
    }
