"""The starter FAQ entries (chatbot/data/starter_faq.json): what the shop actually does, with placeholders filled
from its settings at answer time. Managers edit them in the admin; an entry that already exists is left alone."""
from django.db import migrations


def create(apps, schema_editor):
    from chatbot.starter import load_starter_faq

    load_starter_faq(apps.get_model("chatbot", "FaqEntry"))


def remove(apps, schema_editor):
    from chatbot.starter import starter_rows

    apps.get_model("chatbot", "FaqEntry").objects.filter(slug__in=[r["slug"] for r in starter_rows()]).delete()


class Migration(migrations.Migration):
    dependencies = [("chatbot", "0001_chat_assistant")]
    operations = [migrations.RunPython(create, remove)]
