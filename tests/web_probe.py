"""Run by tests/test_web_no_torch.py in a fresh interpreter: load the web app as gunicorn would, request every
named URL of the URL conf as a signed-in superuser (storefront, API, admin), and print what happened and which
heavy ML modules got imported, as JSON. Not a test module itself (pytest does not collect it).

    python -m tests.web_probe '{"slug": [...], "number": [...], ...}'
"""
import json
import os
import re
import sys

# The chat assistant answers in the web process by design (issue 9: its sentence encoder runs on ONNX Runtime,
# its classifier is scikit-learn; no torch), so chatbot.engine and sklearn may load; what would pull torch in may
# not (transformers, sentence-transformers, the chat's encoder export).
HEAVY = ("torch", "torchvision", "forecasting.engine", "recommender.engine", "chatbot.engine.export", "lightgbm",
         "statsforecast", "transformers", "sentence_transformers")


def _patterns(patterns, ns=()):
    from django.urls import URLPattern, URLResolver

    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p.url_patterns, ns + ((p.namespace,) if p.namespace else ()))
        elif isinstance(p, URLPattern) and p.name:
            params = list(getattr(p.pattern, "converters", {})) or list(p.pattern.regex.groupindex)
            yield ":".join(ns + (p.name,)), params


def _admin_object(name: str):
    """First primary key of the model an admin URL name is about (admin:shop_product_change -> Product)."""
    from django.apps import apps
    from django.contrib import admin

    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            obj = model._default_manager.order_by("pk").first()
            return [str(obj.pk)] if obj else []
    return []


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import config.wsgi  # noqa: F401 - what gunicorn loads
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, get_resolver, reverse

    pool = json.loads(sys.argv[1])
    client = Client()
    client.force_login(get_user_model().objects.filter(is_superuser=True).order_by("pk").first())
    pages, skipped = [], []
    for name, params in _patterns(get_resolver().url_patterns):
        if re.search(r"logout|view_on_site|delete|cancel", name):
            skipped.append(name)        # state-changing or off-site: not pages to render
            continue
        candidates = [{}]
        for param in params:
            if param == "format":
                values = ["json"]
            elif param == "object_id":
                values = _admin_object(name)
            else:
                values = pool.get(param, [])
            candidates = [dict(c, **{param: v}) for c in candidates for v in values]
        best = None
        for kwargs in candidates:
            try:
                url = reverse(name, kwargs=kwargs)
            except NoReverseMatch:
                continue
            status = client.get(url, HTTP_ACCEPT="text/html,application/json").status_code
            best = (url, status)
            if status != 404:
                break
        if best is None:
            skipped.append(name)
        else:
            pages.append({"name": name, "url": best[0], "status": best[1]})
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    print(json.dumps({"pages": pages, "skipped": skipped, "heavy": heavy}))


if __name__ == "__main__":
    main()
