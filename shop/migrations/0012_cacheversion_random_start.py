"""The change counters' sequence moves to a random start (between 2**32 and 2**52), different in every database.

Pages shared between web processes through Redis (shop/pagecache.py) are served only under the counter values they
were rendered under; a database made anew (a wiped volume, a dropped and recreated database) beside a Redis that
kept its pages would otherwise count again from 1 and could meet an old page's values. A database already counting
only moves forward (values never go back), which the readers of the counters allow for (shop/versions.py)."""
from django.db import migrations


def _random_start(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "SELECT setval('shop_cacheversion_seq', GREATEST((SELECT last_value FROM shop_cacheversion_seq), "
            "4294967296 + floor(random() * 4503595332403200)::bigint))")


class Migration(migrations.Migration):
    dependencies = [("shop", "0011_sessions_with_cart")]

    operations = [migrations.RunPython(_random_start, migrations.RunPython.noop)]
