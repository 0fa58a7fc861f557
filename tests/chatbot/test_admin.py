"""Managers: unanswered questions grouped in the admin, one click makes an FAQ entry that is then answered;
retraining that fails leaves the serving model serving; the web process never imports torch."""
import json
import subprocess
import sys

import pytest
from django.test import Client

from chatbot import training
from chatbot.models import FaqEntry, IntentModel, Message
from tests.conftest import ROOT, db_env

pytestmark = pytest.mark.django_db


def ask(client, message):
    return client.post("/api/chat/", data=json.dumps({"message": message}), content_type="application/json").json()


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123456")


@pytest.mark.slow
def test_unanswered_group_becomes_an_faq_entry_that_is_answered(chat_model, manager,
                                                                 django_capture_on_commit_callbacks):
    shopper = Client()
    for q in ["do you sell gift cards?", "Do you sell gift cards", "can I buy a gift card", "gift cards?"]:
        assert ask(shopper, q)["answered"] is False
    ask(shopper, "what's the weather tomorrow")
    admin = Client()
    admin.force_login(manager)
    page = admin.get("/admin/chatbot/unansweredquestion/")
    html = page.content.decode()
    assert page.status_code == 200 and "5 questions" in html and "(4 times" in html
    group = page.context["groups"][0]
    assert group["count"] == 4 and "can I buy a gift card" in group["examples"]
    with django_capture_on_commit_callbacks(execute=True):  # the retraining task runs on commit
        r = admin.post("/admin/chatbot/unansweredquestion/", {
            "ids": group["ids"], "question": "Do you sell gift cards?",
            "answer": "Not yet, sorry. Write to {contact_email} and we'll tell you when we do."}, follow=True)
    assert r.status_code == 200 and "FAQ entry" in r.content.decode()
    entry = FaqEntry.objects.get(question="Do you sell gift cards?")
    assert "can I buy a gift card" in entry.examples
    assert Message.objects.filter(resolved_by=entry).count() == 4
    new = IntentModel.objects.get(status="serving")
    assert new.pk != chat_model.pk and new.kind == "embedding" and new.encoder_id == chat_model.encoder_id
    data = ask(Client(), "do you sell gift cards?")
    assert data["answered"] is True and data["intent"] == f"faq:{entry.slug}"
    assert data["reply"].startswith("Not yet, sorry. Write to ") and "{contact_email}" not in data["reply"]
    assert "gift card" not in admin.get("/admin/chatbot/unansweredquestion/").content.decode()


def test_unknown_placeholder_is_refused(chat_model, manager):
    ask(Client(), "do you do gift wrapping?")
    admin = Client()
    admin.force_login(manager)
    group = admin.get("/admin/chatbot/unansweredquestion/").context["groups"][0]
    r = admin.post("/admin/chatbot/unansweredquestion/", {"ids": group["ids"], "question": "Gift wrapping?",
                                                          "answer": "Ask {manager_name}"}, follow=True)
    assert "Unknown placeholder" in r.content.decode() and not FaqEntry.objects.filter(question="Gift wrapping?")


def test_admin_pages_are_staff_only(client, user):
    for url in ["/admin/chatbot/unansweredquestion/", "/admin/chatbot/faqentry/", "/admin/chatbot/supportrequest/",
                "/admin/chatbot/intentmodel/"]:
        assert client.get(url).status_code == 302
    client.force_login(user)
    assert client.get("/admin/chatbot/unansweredquestion/").status_code == 302
    assert client.post("/admin/chatbot/intentmodel/retrain/").status_code == 302


def test_failed_training_leaves_the_serving_model_serving(chat_model, monkeypatch):
    from chatbot.engine import IntentClassifier

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(IntentClassifier, "fit", broken)
    with pytest.raises(MemoryError):
        training.train(force=True)
    assert IntentModel.objects.get(status="failed").error.startswith("MemoryError")
    assert IntentModel.objects.get(status="serving").pk == chat_model.pk
    assert ask(Client(), "hello")["intent"] == "greeting"


@pytest.mark.django_db(transaction=True)
def test_the_web_process_never_imports_torch(chat_model, shop_catalog):
    """A fresh process answers chat questions (ONNX encoder loaded) and renders pages without torch."""
    from django.conf import settings

    code = f"""
import json, sys, django
django.setup()
from django.test import Client
c = Client()
assert c.get("/").status_code == 200
for q in ["how much is the harbor lamp", "red mugs under 20", "what is your return policy"]:
    r = c.post("/api/chat/", data=json.dumps({{"message": q}}), content_type="application/json")
    assert r.status_code == 200, r.content
    print(r.json()["intent"])
print("TORCH" if any(m == "torch" or m.startswith("torch.") for m in sys.modules) else "NO-TORCH")
print("ONNX" if "onnxruntime" in sys.modules else "NO-ONNX")
"""
    env = db_env()
    env.update(MEDIA_ROOT=str(settings.MEDIA_ROOT), CHATBOT_ENCODER_CACHE=str(settings.CHATBOT_ENCODER_CACHE),
               DJANGO_SETTINGS_MODULE="config.settings")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.split()
    assert lines[:3] == ["product_price", "product_search", "faq:returns"]
    assert "NO-TORCH" in lines and "ONNX" in lines


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_new_faq_entry_is_trained_by_a_real_worker(chat_model, manager, proc_cleanup, settings):
    """The admin saves an FAQ entry; a real Celery worker (queued by task name) trains the new model; the web
    side then serves it and answers the entry's questions."""
    import time

    from tests.conftest import celery_worker

    admin = Client()
    admin.force_login(manager)
    with celery_worker(proc_cleanup, CHATBOT_ENCODER_CACHE=str(settings.CHATBOT_ENCODER_CACHE)) as worker:
        r = admin.post("/admin/chatbot/faqentry/add/", {
            "slug": "gift-wrap", "question": "Do you offer gift wrapping?", "is_active": "on", "position": "0",
            "answer": "No, we don't wrap gifts yet; every order ships in our plastic-free packaging.",
            "examples": "can you gift wrap my order\nis gift wrapping available\ndo you wrap presents"})
        assert r.status_code == 302, r.content.decode()[-2000:]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not IntentModel.objects.filter(status="serving").exclude(
                pk=chat_model.pk).exists():
            assert worker.poll() is None, worker.stdout.read()[-3000:]
            time.sleep(1)
    new = IntentModel.objects.get(status="serving")
    assert new.pk != chat_model.pk and new.kind == "embedding"
    data = ask(Client(), "is gift wrapping available?")
    assert data["intent"] == "faq:gift-wrap" and data["reply"].startswith("No, we don't wrap gifts")
