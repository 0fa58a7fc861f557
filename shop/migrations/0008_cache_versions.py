"""Change counters for the page cache (shop/versions.py). On PostgreSQL their values come from a sequence, so two
bumps never hand out the same value, however they interleave."""
from django.db import migrations, models


def _sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS shop_cacheversion_seq")


def _drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS shop_cacheversion_seq")


class Migration(migrations.Migration):
    dependencies = [("shop", "0007_product_variants_and_order_totals")]

    operations = [
        migrations.CreateModel(
            name="CacheVersion",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField(db_index=True)),
            ],
        ),
        migrations.RunPython(_sequence, _drop_sequence),
    ]
