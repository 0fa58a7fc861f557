"""PostgreSQL through Django's own backend, with a connection health check that costs no round trip (base.py)."""
