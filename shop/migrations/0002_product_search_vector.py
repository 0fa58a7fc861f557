"""Stored, GIN-indexed search vector for PostgreSQL full-text search.

On PostgreSQL a trigger keeps search_vector in step with name, SKU and description on every insert and update
(bulk imports included) and a GIN index serves the @@ match; shop/search.py ranks with the same weights.
On SQLite the column stays NULL and search uses its plain fallback.
"""
import django.contrib.postgres.search
from django.db import migrations

FORWARD = [
    """
    CREATE FUNCTION shop_product_search_vector() RETURNS trigger AS $$
    BEGIN
      NEW.search_vector :=
          setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A')
       || setweight(to_tsvector('simple', coalesce(NEW.sku, '')), 'A')
       || setweight(to_tsvector('english', coalesce(NEW.description, '')), 'B');
      RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER shop_product_search_vector_trg
      BEFORE INSERT OR UPDATE OF name, sku, description, search_vector ON shop_product
      FOR EACH ROW EXECUTE FUNCTION shop_product_search_vector()
    """,
    "UPDATE shop_product SET search_vector = NULL",  # fires the trigger for existing rows
    "CREATE INDEX shop_product_search_gin ON shop_product USING gin (search_vector)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS shop_product_search_gin",
    "DROP TRIGGER IF EXISTS shop_product_search_vector_trg ON shop_product",
    "DROP FUNCTION IF EXISTS shop_product_search_vector()",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
