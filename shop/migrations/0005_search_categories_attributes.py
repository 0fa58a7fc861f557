"""Search that finds products by their category names and attribute values, on both databases.

PostgreSQL: the stored search_vector (migration 0002) now also holds the category and its parent's names and the
attribute values (weight B; the description drops to C). The product trigger fires on changes of the category and
the attributes too, and renaming or moving a category refreshes its products' vectors.

SQLite: an FTS5 table shop_product_fts (Porter stemmer, so "mugs" finds "Mug") with the same five columns, kept
in step by triggers on every insert, update and delete of a product (bulk imports included) and on category
renames. Its rank is BM25 with the same weights (name and SKU 10, category and attributes 4, description 1).
"""
from django.db import migrations

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION shop_product_search_vector() RETURNS trigger AS $$
    DECLARE
      category_names text;
      attribute_values text;
    BEGIN
      SELECT concat_ws(' ', c.name, p.name) INTO category_names
        FROM shop_category c LEFT JOIN shop_category p ON p.id = c.parent_id WHERE c.id = NEW.category_id;
      SELECT string_agg(value, ' ') INTO attribute_values
        FROM jsonb_each_text(CASE WHEN jsonb_typeof(NEW.attributes) = 'object' THEN NEW.attributes
                                  ELSE '{}'::jsonb END);
      NEW.search_vector :=
          setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A')
       || setweight(to_tsvector('simple', coalesce(NEW.sku, '')), 'A')
       || setweight(to_tsvector('english', coalesce(category_names, '')), 'B')
       || setweight(to_tsvector('english', coalesce(attribute_values, '')), 'B')
       || setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
      RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS shop_product_search_vector_trg ON shop_product",
    """
    CREATE TRIGGER shop_product_search_vector_trg
      BEFORE INSERT OR UPDATE OF name, sku, description, category_id, attributes, search_vector ON shop_product
      FOR EACH ROW EXECUTE FUNCTION shop_product_search_vector()
    """,
    """
    CREATE FUNCTION shop_category_search_refresh() RETURNS trigger AS $$
    BEGIN
      UPDATE shop_product SET search_vector = NULL
       WHERE category_id IN (SELECT id FROM shop_category WHERE id = NEW.id OR parent_id = NEW.id);
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER shop_category_search_refresh_trg
      AFTER UPDATE OF name, parent_id ON shop_category
      FOR EACH ROW EXECUTE FUNCTION shop_category_search_refresh()
    """,
    "UPDATE shop_product SET search_vector = NULL",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS shop_category_search_refresh_trg ON shop_category",
    "DROP FUNCTION IF EXISTS shop_category_search_refresh()",
    "DROP TRIGGER IF EXISTS shop_product_search_vector_trg ON shop_product",
    """
    CREATE OR REPLACE FUNCTION shop_product_search_vector() RETURNS trigger AS $$
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
    "UPDATE shop_product SET search_vector = NULL",
]

# The five indexed values of product NEW (SQLite).
_SQLITE_VALUES = """
    NEW.id, NEW.name, NEW.sku,
    (SELECT c.name || ' ' || coalesce(p.name, '') FROM shop_category c
       LEFT JOIN shop_category p ON p.id = c.parent_id WHERE c.id = NEW.category_id),
    (SELECT group_concat(value, ' ') FROM json_each(CASE WHEN json_valid(NEW.attributes)
                                                         THEN NEW.attributes ELSE '{}' END)),
    NEW.description
"""
SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE shop_product_fts USING fts5(
        name, sku, category, attributes, description, tokenize = 'porter unicode61 remove_diacritics 2')
    """,
    "INSERT INTO shop_product_fts(shop_product_fts, rank) VALUES ('rank', 'bm25(10.0, 10.0, 4.0, 4.0, 1.0)')",
    f"""
    CREATE TRIGGER shop_product_fts_insert AFTER INSERT ON shop_product BEGIN
      INSERT INTO shop_product_fts(rowid, name, sku, category, attributes, description) VALUES ({_SQLITE_VALUES});
    END
    """,
    f"""
    CREATE TRIGGER shop_product_fts_update AFTER UPDATE OF name, sku, description, category_id, attributes
    ON shop_product BEGIN
      DELETE FROM shop_product_fts WHERE rowid = OLD.id;
      INSERT INTO shop_product_fts(rowid, name, sku, category, attributes, description) VALUES ({_SQLITE_VALUES});
    END
    """,
    """
    CREATE TRIGGER shop_product_fts_delete AFTER DELETE ON shop_product BEGIN
      DELETE FROM shop_product_fts WHERE rowid = OLD.id;
    END
    """,
    """
    CREATE TRIGGER shop_category_fts_update AFTER UPDATE OF name, parent_id ON shop_category BEGIN
      UPDATE shop_product SET category_id = category_id
       WHERE category_id IN (SELECT id FROM shop_category WHERE id = NEW.id OR parent_id = NEW.id);
    END
    """,
    # Existing products: an update of category_id to itself fires the update trigger, which indexes them.
    "UPDATE shop_product SET category_id = category_id",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS shop_category_fts_update",
    "DROP TRIGGER IF EXISTS shop_product_fts_delete",
    "DROP TRIGGER IF EXISTS shop_product_fts_update",
    "DROP TRIGGER IF EXISTS shop_product_fts_insert",
    "DROP TABLE IF EXISTS shop_product_fts",
]


def _run(pg, sqlite):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        statements = pg if vendor == "postgresql" else sqlite if vendor == "sqlite" else []
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_event_data_and_impressions")]

    operations = [migrations.RunPython(_run(PG_FORWARD, SQLITE_FORWARD), _run(PG_BACKWARD, SQLITE_BACKWARD))]
