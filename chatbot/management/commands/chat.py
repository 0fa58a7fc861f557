"""manage.py chat "question" [--user USERNAME] [--json]: ask the assistant from the command line."""
from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chatbot import services


class Command(BaseCommand):
    help = "Answer a question the way the chat widget does (as a visitor, or as --user)."

    def add_arguments(self, parser):
        parser.add_argument("question")
        parser.add_argument("--user", help="answer as this user (their orders; staff get forecasts)")
        parser.add_argument("--conversation", help="continue this conversation id (follow-ups, confirmations)")
        parser.add_argument("--json", action="store_true", help="print the API's JSON reply")

    def handle(self, *args, question, user=None, conversation=None, **opts):
        who = None
        if user:
            who = get_user_model().objects.filter(username=user).first()
            if who is None:
                raise CommandError(f"no user {user!r}")
        try:
            reply, conv = services.respond(question, user=who, conversation_id=conversation, channel="cli")
        except services.MessageRejected as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            data = reply.as_dict()
            data["reply"] = data.pop("text")
            data["conversation"] = str(conv.pk)
            self.stdout.write(_json_dumps(data))
            return
        self.stdout.write(reply.text)
        for p in reply.products:
            stock = "in stock" if p["in_stock"] else "out of stock"
            self.stdout.write(f"  - {p['name']} ({p['sku']}): {p['price']} {p['currency']}, {stock}  {p['url']}")
        for a in reply.actions:
            self.stdout.write(f"  [{a['label']}]")
        self.stderr.write(f"intent={reply.intent} confidence={reply.confidence:.2f} conversation={conv.pk}")


def _json_dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
