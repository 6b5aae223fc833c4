"""A page of an in-memory or SQL-aggregated list, shaped like Flask-SQLAlchemy's pagination for the pager macro."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class ListPage:
    page: int
    pages: int
    total: int = 0

    @classmethod
    def of(cls, total: int, requested: int, per_page: int) -> ListPage:
        pages = max(1, math.ceil(total / per_page))
        return cls(min(max(1, requested), pages), pages, total)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1
