"""Celery tasks of the chat assistant the web process may queue (retraining: chatbot.worker_tasks). Emails go
through the shop's outbox (shop.outbox: never lost while the broker is down, never sent twice); each task is safe
to run twice."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shop import outbox


@shared_task
def purge_conversations() -> int:
    """Delete conversations idle for longer than CHATBOT_RETENTION_DAYS (their messages go with them)."""
    from .models import Conversation

    cutoff = timezone.now() - timedelta(days=settings.CHATBOT_RETENTION_DAYS)
    deleted, _ = Conversation.objects.filter(last_at__lt=cutoff).delete()
    return deleted


def support_email_key(request_id: int, email: str = "") -> str:
    """One outbox email per support request and per address the customer gave (the first one goes out at once,
    without an address; another when they give one)."""
    tag = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16] if email else "-"
    return f"chat-support:{request_id}:{tag}"


def queue_support_email(req) -> str:
    """Write the shop's email about support request `req` into the outbox (shop.outbox), in the transaction that
    saves the request: it goes out once the transaction commits, or, if the broker is down, when a worker drains
    the outbox. Returns the outbox key."""
    who = req.email or (req.user.email if req.user else "") or "a visitor (no e-mail address given yet)"
    key = support_email_key(req.pk, req.email)
    outbox.queue_email(
        key, settings.SHOP_CONTACT_EMAIL or settings.DEFAULT_FROM_EMAIL,
        f"{settings.SHOP_NAME}: support request {req.pk} from the chat",
        f"A customer asked to talk to a person.\n\nFrom: {who}\nUser: {req.user or '-'}\n"
        f"Admin: /admin/chatbot/supportrequest/{req.pk}/change/\n\nConversation:\n{req.transcript}\n",
        send_support_request, req.pk, key, reply_to=req.email or (req.user.email if req.user else ""))
    return key


@shared_task(ignore_result=True)
def send_support_request(request_id: int, key: str | None = None) -> bool:
    """Send the outbox email `key` about a support request (once, however often this runs). Without a key (a
    task queued by an older release), the request's email is queued now and sent."""
    if key is None:
        from .models import SupportRequest

        req = SupportRequest.objects.select_related("user").filter(pk=request_id).first()
        if req is None:
            return False
        with transaction.atomic():
            key = queue_support_email(req)
    return outbox.deliver(key)
