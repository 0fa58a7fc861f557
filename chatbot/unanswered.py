"""Unanswered questions for managers: grouped by similarity with counts; a group becomes an FAQ entry whose
example questions are the group's questions (the assistant retrains and then answers them)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from . import faq, training
from .engine import group_texts
from .models import FaqEntry, Message

MAX_QUESTIONS = 2000  # the newest unanswered questions that are grouped
MAX_DISTANCE = 0.85  # cosine distance at which groups stop merging (see chatbot.engine.grouping)


def pending_questions():
    return (Message.objects.filter(role=Message.Role.USER, answered=False, resolved_by__isnull=True)
            .order_by("-created_at", "-id"))


def groups(limit: int = MAX_QUESTIONS) -> list[dict]:
    rows = list(pending_questions().values_list("pk", "text", "created_at")[:limit])
    out = []
    for g in group_texts([text for _, text, _ in rows], max_distance=MAX_DISTANCE):
        members = [rows[k] for k in g.members]
        seen, examples = set(), []
        for _, text, _ in members:
            if text.lower() not in seen:
                seen.add(text.lower())
                examples.append(text)
        out.append({"question": rows[g.representative][1], "count": len(members), "examples": examples[:10],
                    "n_wordings": len(examples), "last_asked": max(m[2] for m in members),
                    "ids": ",".join(str(m[0]) for m in members)})
    return out


def _unique_slug(text: str) -> str:
    base = slugify(text)[:60].strip("-") or "faq"
    slug, k = base, 2
    while FaqEntry.objects.filter(slug=slug).exists():
        slug, k = f"{base}-{k}", k + 1
    return slug


def make_faq(message_ids: list[int], question: str, answer: str) -> FaqEntry:
    """An active FAQ entry from these unanswered questions; they leave the list; the assistant retrains."""
    faq.check_answer(answer)
    with transaction.atomic():
        qs = pending_questions().filter(pk__in=message_ids).select_for_update()
        texts = list(dict.fromkeys(t.strip() for t in qs.values_list("text", flat=True)))
        if not texts:
            raise ValidationError("These questions were already turned into an FAQ entry or deleted.")
        examples = [t for t in texts if t.lower() != question.strip().lower()]
        while len(examples) < 2:  # the entry needs three phrasings; the question itself counts as one
            examples.append(examples[-1].rstrip("?!. ") + "?" if examples else question.strip().rstrip("?") + "?")
        entry = FaqEntry(slug=_unique_slug(question), question=question.strip(), answer=answer.strip(),
                         examples="\n".join(examples))
        entry.full_clean()
        entry.save()
        Message.objects.filter(pk__in=qs.values("pk")).update(resolved_by=entry)
        training.schedule()
    return entry
