"""Publishing an ML app's results in bulk and swapping them in atomically, for any app whose publication model derives
from ``registry.models.PublicationBase`` and whose row models point at it through ``publication``::

    publications = Publications(Publication, [Forecast, ProductForecast])
    publications.cleanup_abandoned()
    pub = Publication.objects.create(version=version, ...)          # status "writing": no reader sees it
    with publications.writing(pub):                                 # on any error: failed, rows deleted, re-raised
        ...write the rows in short transactions (chunk_rows() rows each)...
        publications.swap(pub)                                      # one short transaction: live, the old one superseded
    publications.delete_old()

The previous publication is kept until the next swap (a reader that fetched the live publication's id just before
it still finds its rows); older ones are deleted. A publication a killed worker left half-written is deleted by the
next publish (``cleanup_abandoned``).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

ABANDONED_AFTER = timedelta(hours=1)


def chunk_rows() -> int:
    """Rows per write (or delete) transaction. SQLite has one writer at a time: keep each write transaction short
    so the web process never waits long."""
    return 50_000 if connection.vendor == "postgresql" else 5_000


class Publications:
    """The life of one app's publications: ``model`` is its publication model, ``row_models`` the models whose rows
    belong to a publication (deleted with it)."""

    def __init__(self, model, row_models):
        self.model = model
        self.row_models = tuple(row_models)

    def live(self):
        return self.model.objects.filter(status=self.model.Status.LIVE).select_related("version").first()

    @contextmanager
    def writing(self, pub):
        """Around writing ``pub``'s rows and swapping it in: on any error (or interrupt) the publication is marked
        failed and deleted with its rows, and the error goes on; the live publication keeps serving."""
        try:
            yield pub
        except BaseException:
            self.model.objects.filter(pk=pub.pk).update(status=self.model.Status.FAILED)
            self.delete(pub.pk)
            raise

    def swap(self, pub, on_swap=None) -> None:
        """One short transaction: the previous live publication is superseded, this one goes live. ``on_swap()``
        runs first inside it (if it raises, nothing changes)."""
        Status = self.model.Status
        with transaction.atomic():
            if on_swap is not None:
                on_swap()
            live = list(self.model.objects.select_for_update().filter(status=Status.LIVE).order_by("pk"))
            self.model.objects.filter(pk__in=[p.pk for p in live]).update(status=Status.SUPERSEDED)
            self.model.objects.filter(pk=pub.pk).update(status=Status.LIVE, published_at=timezone.now())

    def delete(self, pub_id: int) -> None:
        """Delete a publication and its rows. PostgreSQL: one statement per table (readers are never blocked);
        SQLite: in short transactions over id ranges (a publication's rows were written in one run of ids), since
        the web process may be writing too."""
        for row_model in self.row_models:
            rows = row_model.objects.filter(publication_id=pub_id)
            if connection.vendor == "postgresql":
                rows.delete()
                continue
            bounds = rows.aggregate(lo=Min("pk"), hi=Max("pk"))
            if bounds["lo"] is None:
                continue
            chunk = chunk_rows()
            for a in range(bounds["lo"], bounds["hi"] + 1, chunk):
                with transaction.atomic():
                    rows.filter(pk__gte=a, pk__lt=a + chunk).delete()
        self.model.objects.filter(pk=pub_id).delete()

    def delete_old(self) -> None:
        """Keep the live publication and the one before it (for readers that started just before the swap)."""
        older = self.model.objects.filter(status=self.model.Status.SUPERSEDED).order_by("-published_at", "-pk")[1:]
        for pk in list(older.values_list("pk", flat=True)):
            self.delete(pk)

    def cleanup_abandoned(self) -> None:
        """Publications a killed worker left half-written (older than an hour) and failed ones."""
        Status = self.model.Status
        stale = self.model.objects.filter(status=Status.FAILED) | self.model.objects.filter(
            status=Status.WRITING, created_at__lt=timezone.now() - ABANDONED_AFTER)
        for pk in list(stale.values_list("pk", flat=True)):
            self.delete(pk)
