"""API pagination (REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"])."""
from __future__ import annotations

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page numbers, where `?page=` present but empty is an invalid page (404) like `?page=abc`, instead of
    silently page 1."""

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        return paginator.num_pages if raw in self.last_page_strings else raw
