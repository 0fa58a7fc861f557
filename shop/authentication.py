"""API authentication classes (REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"])."""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's Basic authentication, refusing credentials that hold a NUL byte (401) before they reach a database
    lookup, where PostgreSQL would fail on them (a 500). Enabled by API_BASIC_AUTH (default: off in production)."""

    def authenticate_credentials(self, userid, password, request=None):
        if "\x00" in userid or "\x00" in password:
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        return super().authenticate_credentials(userid, password, request)


class BasicAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema documents the class above (the same as DRF's own Basic authentication)."""

    target_class = "shop.authentication.BasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}
