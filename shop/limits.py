"""Limits on what can be hammered: the client's real address, the login lockout backend, and rate limits for the
API and for the account pages (login, signup, password reset).

One rule for the client address everywhere (DRF's throttles, django-axes, the page throttles): the TCP peer, or
with NUM_PROXIES=n the n-th address from the right of X-Forwarded-For, the one the outermost trusted proxy saw.
Addresses a client wrote into X-Forwarded-For itself are never used.
Rates live in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings; each from an environment variable) and are
counted in the cache; with the cache down they let requests through (shop.resilience.ResilientRedisCache).
"""
from __future__ import annotations

import functools
import hashlib
import math

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


def client_ip(request) -> str:
    """The client's address as the outermost trusted proxy saw it (see the module docstring)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.NUM_PROXIES
    if proxies:
        chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if chain:
            return chain[-min(proxies, len(chain))]
    return remote


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first in AUTHENTICATION_BACKENDS. Web logins (the login form, the admin, API
    Basic auth) always pass the request; a call without one (a script, `Client.login` in tests) has no client to
    lock out and is left to the next backend instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            inner = getattr(request, "_request", None)  # DRF's Request wraps Django's: flag the one the
            if inner is not None:                       # middleware sees, so the API answers 429 too
                inner.axes_locked_out = True
            raise


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out login gets (AXES_LOCKOUT_CALLABLE): the API answers JSON, pages the lockout page."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": "Too many failed logins; try again later."}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"cooloff_timedelta": cool_off}, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


class _RateFromSettings:
    """Read the rate when the throttle is made, not when the class was imported, so settings changes apply."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    pass


class UserThrottle(_RateFromSettings, UserRateThrottle):
    pass


class ClientThrottle(_RateFromSettings, SimpleRateThrottle):
    """Counted per client address, signed in or not."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CartThrottle(ClientThrottle):
    scope = "cart"


class LoginThrottle(ClientThrottle):
    scope = "login"


class SignupThrottle(ClientThrottle):
    scope = "signup"


class PasswordResetThrottle(ClientThrottle):
    scope = "password_reset"


class PasswordResetEmailThrottle(_RateFromSettings, SimpleRateThrottle):
    """Reset emails per address asked for, whoever asks: nobody can flood one mailbox from many addresses."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        email = (request.POST.get("email") or "").strip().lower()
        if not email:
            return None
        return self.cache_format % {"scope": "password_reset_email",
                                    "ident": hashlib.sha256(email.encode()).hexdigest()[:32]}

    def get_ident(self, request):  # unused; keeps DRF's interface
        return client_ip(request)


def throttle_posts(*throttle_classes):
    """Decorate a page view: its POSTs pass every throttle or get the "too many requests" page (HTTP 429, with
    Retry-After). GETs are never counted."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                waits = []
                for cls in throttle_classes:
                    throttle = cls()
                    if not throttle.allow_request(request, None):
                        waits.append(throttle.wait() or 60)
                if waits:
                    wait = math.ceil(max(waits))
                    response = TemplateResponse(request, "shop/too_many_requests.html",
                                                {"minutes": max(1, math.ceil(wait / 60))}, status=429)
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
