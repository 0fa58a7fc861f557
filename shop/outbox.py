"""The email outbox: an email is a row written with the order, sent by a worker, marked sent once.

    queue_email(...)   inside the order's transaction: the row commits (or rolls back) with the order; after the
                       commit a Celery task is asked to send it now. Asking can fail (broker down or hung): the
                       request goes on regardless, and the row waits.
    deliver(key)       send it unless it was sent; the row is locked while sending (SKIP LOCKED), so two workers
                       never both send it and a task that runs twice sends one email.
    drain()            send every waiting email: the `drain-outbox` beat task every minute, and each worker start.

Delivery is at least once at the SMTP boundary only: a crash after the SMTP server accepted the message and before
the row commits as sent would send it again. Failures are counted on the row (`attempts`, `last_error`, shown in
the admin) and retried by the next drain.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from . import resilience
from .models import OutboxEmail

log = logging.getLogger(__name__)


def enqueue(task, *args) -> bool:
    """Ask Celery to run `task(*args)` now; never raise. For use in transaction.on_commit: the request that
    committed must not fail because the broker is down or hung. Returns whether the task was handed over."""
    app = task.app
    if app.conf.task_always_eager:  # in-process (local mode, tests): no broker to fail
        try:
            task.apply(args=args, throw=True)
            return True
        except Exception:  # noqa: BLE001
            log.exception("task %s%r failed in-process; the outbox keeps its email", task.name, args)
            return False
    try:
        if not resilience.available():
            return False  # Redis failed a moment ago: leave it to the outbox drain
        timeout = settings.REDIS_TIMEOUT
        with app.connection_for_write(connect_timeout=timeout, transport_options={
                "socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}) as conn:
            task.apply_async(args=args, connection=conn, retry=False, ignore_result=True)
        return True
    except Exception as exc:  # noqa: BLE001 - whatever the broker or an eager task raised
        resilience.failed(exc, "celery broker")
        log.warning("could not enqueue %s%r (%s: %s); the outbox keeps it", task.name, args,
                    exc.__class__.__name__, exc)
        return False


def queue_email(key: str, to: str, subject: str, body: str, task, *task_args, reply_to: str = "") -> OutboxEmail:
    """Write the email into the outbox (idempotent on `key`) and, once the transaction commits, ask `task` to send
    it. Call inside the transaction that creates what the email reports."""
    row, _ = OutboxEmail.objects.get_or_create(key=key, defaults={"to": to, "subject": subject[:200], "body": body,
                                                                  "reply_to": reply_to or ""})
    transaction.on_commit(lambda: enqueue(task, *task_args))
    return row


def deliver(key: str) -> bool:
    """Send the outbox email `key` if it is still unsent; True if this call sent it."""
    with transaction.atomic():
        row = OutboxEmail.objects.select_for_update(skip_locked=True).filter(key=key, sent_at=None).first()
        if row is None:
            return False  # sent already, or another worker is sending it right now
        try:
            EmailMessage(row.subject, row.body, settings.DEFAULT_FROM_EMAIL, [row.to],
                         reply_to=[row.reply_to] if row.reply_to else None).send()
        except Exception as exc:  # noqa: BLE001 - an SMTP failure is recorded and retried by the next drain
            row.attempts += 1
            row.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            row.save(update_fields=["attempts", "last_error"])
            log.warning("email %s not sent (attempt %d): %s", key, row.attempts, row.last_error)
            return False
        row.attempts += 1
        row.sent_at = timezone.now()
        row.last_error = ""
        row.save(update_fields=["attempts", "sent_at", "last_error"])
    return True


def drain(limit: int = 500) -> int:
    """Send waiting emails, oldest first; returns how many this call sent."""
    keys = list(OutboxEmail.objects.filter(sent_at=None).order_by("created_at", "id").values_list("key", flat=True)
                [:limit])
    return sum(deliver(key) for key in keys)


def purge_sent(days: int = 90) -> int:
    deleted, _ = OutboxEmail.objects.filter(sent_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
