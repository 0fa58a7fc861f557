"""Container healthcheck: GET /readyz (database and Redis reachable) with a Host header Django accepts.

Django answers 400 to a Host outside ALLOWED_HOSTS, so the check sends the first allowed host name rather than
127.0.0.1. /readyz is exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT). Exit 0 when ready, 1 otherwise.
"""
import http.client
import os
import sys

hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
try:
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=5)
    conn.request("GET", "/readyz", headers={"Host": host, "X-Forwarded-Proto": "https"})
    status = conn.getresponse().status
except OSError as exc:
    print(f"readyz: {exc}", file=sys.stderr)
    sys.exit(1)
print(f"readyz: HTTP {status}")
sys.exit(0 if status == 200 else 1)
