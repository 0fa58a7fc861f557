"""POST /api/chat/: one question in, the reply and its machine-readable fields out. GET /api/chat/: the CSRF token
the widget sends with a session cookie."""
from __future__ import annotations

import math

from django.conf import settings
from django.middleware.csrf import get_token
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from shop.authentication import BasicAuthentication
from shop.limits import client_ip

from . import services


class ChatSessionAuthentication(SessionAuthentication):
    """Session authentication that checks the CSRF token whenever the browser sends a session cookie, signed in
    or not: a visitor's session holds their guest orders, which the chat can cancel."""

    def authenticate(self, request):
        if settings.SESSION_COOKIE_NAME in request._request.COOKIES:
            self.enforce_csrf(request)
        user = getattr(request._request, "user", None)
        if not user or not user.is_active or not user.is_authenticated:
            return None
        return (user, None)


class ChatSessionScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema documents ChatSessionAuthentication: the session cookie (with the CSRF header)."""

    target_class = "chatbot.api.ChatSessionAuthentication"
    name = "chatSessionAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class _SettingsRate(SimpleRateThrottle):
    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)


class VisitorRateThrottle(_SettingsRate):
    """CHATBOT_RATE_VISITOR per signed-in user or per visitor session."""

    scope = "chat_visitor"
    setting = "CHATBOT_RATE_VISITOR"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            session = request._request.session
            if not session.session_key:
                session.save()
            ident = f"s{session.session_key}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AddressRateThrottle(_SettingsRate):
    """CHATBOT_RATE_ADDRESS per client address (catches clients that drop their cookies); the address as
    shop.limits.client_ip gives it (NUM_PROXIES)."""

    scope = "chat_address"
    setting = "CHATBOT_RATE_ADDRESS"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request._request)}


class ChatRequestSerializer(serializers.Serializer):
    message = serializers.RegexField(r"\S", max_length=settings.CHATBOT_MAX_MESSAGE_CHARS, trim_whitespace=True,
                                     help_text="The shopper's question: some text, CHATBOT_MAX_MESSAGE_CHARS at most")


class ChatVariantSerializer(serializers.Serializer):
    sku = serializers.CharField()
    size = serializers.CharField(allow_blank=True)
    colour = serializers.CharField(allow_blank=True)
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()


class PageSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="A path on this site")
    title = serializers.CharField()


class ProductCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Today's price (promotion applied)")
    list_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_percent = serializers.IntegerField()
    currency = serializers.CharField()
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    url = serializers.CharField(help_text="The product page (a path on this site)")
    image = serializers.CharField(help_text="Thumbnail URL, empty when the product has no photo")
    variants = ChatVariantSerializer(many=True, help_text="Its sizes/colours with their own stock (empty: none)")


class ActionSerializer(serializers.Serializer):
    label = serializers.CharField()
    message = serializers.CharField(required=False, help_text="Send this as the next message (quick reply)")
    url = serializers.CharField(required=False, help_text="Or open this path")


class ChatTokenSerializer(serializers.Serializer):
    csrf_token = serializers.CharField()


class ChatReplySerializer(serializers.Serializer):
    reply = serializers.CharField(help_text="The answer as plain text (render it escaped)")
    intent = serializers.CharField(help_text="What the question was understood as; out_of_scope when unsure")
    confidence = serializers.FloatField()
    answered = serializers.BooleanField(help_text="False when the assistant did not know")
    products = ProductCardSerializer(many=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    in_stock = serializers.BooleanField(allow_null=True)
    attribute = serializers.JSONField(allow_null=True, help_text='{"name": ..., "value": ...} for an attribute '
                                                                 'answer ("asked", "match" for a yes/no one)')
    order_status = serializers.CharField(allow_null=True)
    variant = ChatVariantSerializer(allow_null=True, help_text="The size/colour asked about, with its stock")
    page = PageSerializer(allow_null=True, help_text="The shop page a service answer links to")
    actions = ActionSerializer(many=True)


_ERROR = inline_serializer("ChatError", {"detail": serializers.CharField(), "reply": serializers.CharField()})


class ChatView(APIView):
    authentication_classes = [ChatSessionAuthentication,
                              *([BasicAuthentication] if settings.API_BASIC_AUTH else [])]
    throttle_classes = [VisitorRateThrottle, AddressRateThrottle]

    @extend_schema(
        operation_id="chat_token", responses={200: ChatTokenSerializer, 429: _ERROR},
        description="The CSRF token a browser sends (X-CSRFToken) with its session cookie; also set as the "
                    "csrftoken cookie. The chat widget asks for it when the cookie is missing. Rate limited per "
                    "address (429 with Retry-After), not counted as a message.",
    )
    def get(self, request):
        return Response({"csrf_token": get_token(request)})

    def get_throttles(self):
        # the token is no message: it counts against the address's limit only, not the visitor's messages
        if getattr(self.request, "method", None) == "GET":
            return [AddressRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="chat", request=ChatRequestSerializer,
        responses={200: ChatReplySerializer, 400: _ERROR, 403: _ERROR, 429: _ERROR},
        description="Ask the shop's assistant. Browsers send the CSRF token (X-CSRFToken) with their session "
                    "cookie. Rate limited per visitor and per address (429 with Retry-After).",
        examples=[OpenApiExample("price", request_only=True, value={"message": "how much is the harbor lamp?"})],
    )
    def post(self, request):
        message = request.data.get("message") if hasattr(request.data, "get") else None
        if not isinstance(message, str):
            return _error("Send a JSON object with a \"message\" string.", status.HTTP_400_BAD_REQUEST)
        try:
            reply = services.respond_to_request(request, message)
        except services.MessageRejected as exc:
            return _error(str(exc), status.HTTP_400_BAD_REQUEST)
        data = reply.as_dict()
        data["reply"] = data.pop("text")
        return Response(data)

    def handle_exception(self, exc):
        if isinstance(exc, Throttled):
            wait = max(1, math.ceil(exc.wait)) if exc.wait is not None else 60
            text = (f"You're sending messages faster than I can answer. Please wait {wait} second"
                    f"{'s' if wait != 1 else ''} and try again.")
            response = _error(text, status.HTTP_429_TOO_MANY_REQUESTS)
            response["Retry-After"] = str(wait)
            return response
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "detail" in response.data:
            response.data["reply"] = str(response.data["detail"])
        return response


def _error(text: str, code: int) -> Response:
    return Response({"detail": text, "reply": text}, status=code)
