"""The chat assistant's data: FAQ entries, conversations and their messages, support requests, intent models."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


class FaqEntry(models.Model):
    """A service answer managers edit. Its example questions train the intent classifier (intent ``faq:<slug>``).
    The answer may use {placeholders} filled from the shop's settings at answer time (see chatbot.faq)."""

    slug = models.SlugField(max_length=80, unique=True, help_text="Stable name; the classifier's intent is faq:<slug>")
    question = models.CharField(max_length=200, help_text="The question as customers would ask it")
    answer = models.TextField(help_text="Plain text. Placeholders: {shipping_options}, {shipping_flat_rate}, "
                                        "{free_shipping_over}, {free_shipping}, {return_days}, {contact_email}, "
                                        "{payment_methods}, {ship_to_countries}, {vat}, {vat_rate}, {currency}, "
                                        "{shop_name}, {max_line_quantity}, {page_intro} (the first paragraph of the "
                                        "page below)")
    page = models.CharField(max_length=100, blank=True,
                            help_text="One of the shop's pages this answer links to, e.g. /pages/returns/ (Flat "
                                      "pages); the link is shown only while that page exists")
    examples = models.TextField(help_text="Example questions, one per line (at least three); they train the "
                                          "assistant")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "question"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self):
        return self.question

    @property
    def intent(self) -> str:
        return f"faq:{self.slug}"

    def example_list(self) -> list[str]:
        seen, out = set(), []
        for line in [self.question, *self.examples.splitlines()]:
            line = line.strip()
            if line and line.lower() not in seen:
                seen.add(line.lower())
                out.append(line)
        return out

    def clean(self):
        from . import faq

        faq.check_answer(self.answer)
        self.page = faq.check_page(self.page)
        if len(self.example_list()) < 3:
            raise ValidationError({"examples": "Give at least three example questions (with the question itself)."})


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="chat_conversations")
    channel = models.CharField(max_length=8, default="web", choices=[("web", "Web"), ("cli", "Command line")])
    state = models.JSONField(default=dict, blank=True)  # pending confirmation, product choices, last product
    started_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_at"]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.user or 'visitor'}"

    def transcript(self, limit: int = 50, question: str | None = None) -> str:
        """The last `limit` messages as text (plus `question`, the one being answered, not stored yet)."""
        msgs = list(self.messages.order_by("-created_at", "-id")[:limit])[::-1]
        lines = [f"[{m.created_at:%H:%M}] {'Customer' if m.role == 'user' else 'Assistant'}: {m.text}" for m in msgs]
        if question:
            lines.append(f"[{timezone.now():%H:%M}] Customer: {question}")
        return "\n".join(lines)


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Customer"
        BOT = "bot", "Assistant"

    conversation = models.ForeignKey(Conversation, related_name="messages", on_delete=models.CASCADE)
    role = models.CharField(max_length=4, choices=Role.choices)
    text = models.TextField()
    intent = models.CharField(max_length=120, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    answered = models.BooleanField(default=True, help_text="False: the assistant did not know")
    resolved_by = models.ForeignKey(FaqEntry, null=True, blank=True, on_delete=models.SET_NULL,
                                    help_text="The FAQ entry made from this unanswered question")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["answered", "created_at"], name="chatbot_msg_unanswered",
                                condition=Q(answered=False))]

    def __str__(self):
        return self.text[:80]


class UnansweredQuestion(Message):
    """Questions the assistant could not answer (admin list, grouped by similarity)."""

    class Meta:
        proxy = True
        verbose_name = "unanswered question"


class SupportRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="support_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    email = models.EmailField(blank=True)
    transcript = models.TextField(help_text="The conversation when the request was made (kept after the "
                                            "conversation is deleted)")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True, help_text="Managers' notes")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Support request {self.pk} ({self.email or self.user or 'no e-mail yet'})"


class IntentModel(models.Model):
    """One trained intent classifier. At most one serves; a failed training leaves the serving one serving."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        SERVING = "serving", "Serving"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    kind = models.CharField(max_length=16, default="tfidf")
    encoder_id = models.CharField(max_length=32, blank=True, help_text="The ONNX sentence encoder (embedding kind)")
    artifact = models.CharField(max_length=255, blank=True, help_text="Name in the configured storage")
    sha256 = models.CharField(max_length=64, blank=True)
    data_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the examples and config")
    n_examples = models.PositiveIntegerField(default=0)
    n_intents = models.PositiveIntegerField(default=0)
    threshold = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["status"], condition=Q(status="serving"),
                                               name="one_serving_intent_model")]

    def __str__(self):
        return f"intent model {self.pk} ({self.status})"
