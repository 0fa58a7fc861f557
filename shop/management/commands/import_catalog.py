import time

from django.core.management.base import BaseCommand, CommandError

from shop.imports import ImportFailed, load_catalog, parse_catalog


class Command(BaseCommand):
    help = ("Import products from a CSV: sku,name,category,price[,description,stock,image,attributes,active]. "
            "Every row is checked first; one bad row imports nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **opts):
        t0 = time.perf_counter()
        try:
            result = load_catalog(parse_catalog(opts["file"]))
        except ImportFailed as exc:
            raise CommandError(f"{opts['file']}, {exc}. Nothing was imported.") from None
        self.stdout.write(self.style.SUCCESS(
            f"Imported in {time.perf_counter() - t0:.1f}s: " + ", ".join(f"{v} {k}" for k, v in result.items())))
