import time

from django.core.management.base import BaseCommand, CommandError

from shop.imports import ImportFailed, load_sales, parse_sales


class Command(BaseCommand):
    help = ("Import historic order lines. --format shop: date,sku,quantity,unit_price[,customer,order]; "
            "--format uci: the UCI Online Retail file (.csv or .csv.gz). One bad row imports nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", choices=["shop", "uci"], default="shop")
        parser.add_argument("--create-products", action="store_true",
                            help="create unknown SKUs (named from the file) instead of failing; implied by uci")

    def handle(self, *args, **opts):
        t0 = time.perf_counter()
        try:
            batch = parse_sales(opts["file"], opts["format"])
            t_parse = time.perf_counter() - t0
            result = load_sales(batch, create_products=opts["create_products"] or opts["format"] == "uci")
        except ImportFailed as exc:
            raise CommandError(f"{opts['file']}, {exc}. Nothing was imported.") from None
        dt = time.perf_counter() - t0
        self.stdout.write(self.style.SUCCESS(
            f"Read {batch.rows} rows in {dt:.1f}s ({batch.rows / dt:,.0f} rows/s; parsing {t_parse:.1f}s): "
            + ", ".join(f"{v} {k}" for k, v in result.items())))
