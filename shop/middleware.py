"""Request guards that run before any view."""
from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.http import HttpResponseBadRequest, JsonResponse


class RejectNulBytesMiddleware:
    """Answer 400 to a NUL byte in the path or the query string, whatever the view.

    PostgreSQL cannot store or compare text holding NUL, so such a value reaching a lookup (`/orders/%00/`,
    `?q=%00`) would be a DataError, a 500. Form fields and DRF serializers already refuse NUL in bodies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or (raw and b"\x00" in unquote_to_bytes(raw.replace("+", " "))):
            message = "Bad request: the address holds a NUL byte."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain")
        return self.get_response(request)
