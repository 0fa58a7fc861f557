"""The chat assistant's entry point: one message in, one reply out, the conversation stored.

`respond()` is what the API view and `manage.py chat` call. It keeps the conversation (and its state) in the
database, logs each question with its intent and confidence (unanswered ones feed the admin's list), and answers
through `chatbot.dialog` with the serving classifier. It never trains.
"""
from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from shop import assistant

from . import dialog, training
from .models import Conversation, Message

SESSION_KEY = "chatbot_conversation"


class MessageRejected(ValueError):
    """The message is empty or too long (the text says which)."""


def clean_message(text) -> str:
    """The message as stored and answered: NUL bytes and lone surrogates (which PostgreSQL text cannot hold) made
    visible as replacement characters, surrounding space trimmed; empty or too long raises MessageRejected."""
    text = text if isinstance(text, str) else ""
    text = text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8").strip()
    if not text:
        raise MessageRejected("Please type a question.")
    limit = settings.CHATBOT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise MessageRejected(f"Please keep your message under {limit} characters (this one has {len(text)}).")
    return text


def respond(text: str, *, user=None, session=None, conversation_id=None, channel: str = "web"
            ) -> tuple[dialog.Reply, Conversation]:
    """Answer `text` for `user` (or a visitor) in the given conversation (a new one when it is missing or
    belongs to someone else). `session`: the visitor's session, for the orders placed in this browser."""
    text = clean_message(text)
    classifier = training.serving_classifier()
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    with transaction.atomic():
        conv = None
        if conversation_id:
            conv = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
            if conv is not None and conv.user_id != (user.pk if signed_in else None):
                conv = None  # signed in or out since: start afresh, never continue someone else's
        if conv is None:
            conv = Conversation.objects.create(user=user if signed_in else None, channel=channel)
        asker = dialog.Asker(user=user, session_numbers=assistant.orders_in_session(session),
                             state=dict(conv.state or {}), conversation=conv, question=text)
        reply = dialog.answer(text, asker, classifier)
        if not asker.durable and connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
            # Only the conversation log is written: commit without waiting for the WAL to reach the disk (a
            # crash could lose the last fraction of a second of chat, never corrupt anything). Replies that
            # cancelled an order or opened a support request (with its outbox email) commit durably, and so
            # does a caller's own transaction around this one.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        now = timezone.now()
        Message.objects.bulk_create([
            Message(conversation=conv, role=Message.Role.USER, text=text, intent=reply.intent[:120],
                    confidence=reply.confidence, answered=reply.answered, created_at=now),
            Message(conversation=conv, role=Message.Role.BOT, text=reply.text, intent=reply.intent[:120],
                    created_at=now),
        ])
        conv.state = asker.state
        conv.last_at = now
        conv.save(update_fields=["state", "last_at"])
    return reply, conv


def respond_to_request(request, text: str) -> dialog.Reply:
    """`respond` for a web request: the conversation lives in the visitor's session."""
    user = request.user if request.user.is_authenticated else None
    reply, conv = respond(text, user=user, session=request.session,
                          conversation_id=request.session.get(SESSION_KEY))
    if request.session.get(SESSION_KEY) != str(conv.pk):
        request.session[SESSION_KEY] = str(conv.pk)
    return reply
