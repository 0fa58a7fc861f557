"""manage.py chat_train [--if-missing] [--force] [--enqueue]: train the assistant's intent classifier."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from chatbot import trainer, training
from chatbot.models import IntentModel


class Command(BaseCommand):
    help = ("Train the intent classifier on the shipped phrases and the FAQ entries, and serve it (here, in this "
            "process; --enqueue hands it to a Celery worker instead).")

    def add_arguments(self, parser):
        parser.add_argument("--if-missing", action="store_true", help="only when no model serves yet")
        parser.add_argument("--force", action="store_true", help="train even if nothing changed")
        parser.add_argument("--enqueue", action="store_true", help="run as a Celery task in a worker")
        parser.add_argument("--starter-faq", action="store_true",
                            help="first recreate the starter FAQ entries that were deleted (edits are kept)")

    def handle(self, *args, if_missing=False, force=False, enqueue=False, starter_faq=False, **opts):
        if starter_faq:
            from chatbot.models import FaqEntry
            from chatbot.starter import load_starter_faq

            self.stdout.write(f"chat assistant: {load_starter_faq(FaqEntry)} starter FAQ entries recreated")
        serving = IntentModel.objects.filter(status=IntentModel.Status.SERVING).first()
        if if_missing and serving is not None:
            self.stdout.write(f"chat assistant: model {serving.pk} serves already")
            return
        if enqueue:
            training.enqueue(force=force)
            self.stdout.write("chat assistant: training queued for a worker")
            return
        try:
            run = trainer.train(force=force)
        except training.TrainingBusy as exc:
            raise CommandError(str(exc)) from None
        if run is None:
            self.stdout.write(f"chat assistant: model {serving.pk} already has these examples (--force to retrain)")
            return
        self.stdout.write(f"chat assistant: model {run.pk} serving; validation {json.dumps(run.metrics)}")
