"""FAQ entries link to the shop's own pages (flatpages such as /pages/returns/) and may quote them
({page_intro}). The starter entries get their page; those still worded as shipped get the new wording (which
agrees with the pages and with shop.shipping: "free on orders of X or more", delivery times from the shipping
page); entries managers edited keep their words. New starter entries (privacy, terms) are created."""
from django.db import migrations, models

# The answers as migration 0002 shipped them: an entry still worded so was never edited.
SHIPPED_0002 = {
    'shipping-cost': 'Shipping is a flat {shipping_flat_rate} per order. {free_shipping}',
    'shipping-countries': 'We ship to these countries: {ship_to_countries}.',
    'delivery-time': 'I can\'t promise a delivery date here. Once you have ordered, ask me about your order with its number (for example "where is order 240101-ABCD1234") and I\'ll tell you its status, or ask for a person.',
    'returns': "Yes: returns are free within {return_days} days. Write to {contact_email} with your order number and we'll arrange it.",
    'change-order': "An order can't be changed once it is placed. While it is still pending you can cancel it (ask me, with its number) and order again.",
}


def forwards(apps, schema_editor):
    from chatbot.starter import load_starter_faq, starter_rows

    FaqEntry = apps.get_model("chatbot", "FaqEntry")
    for row in starter_rows():
        entry = FaqEntry.objects.filter(slug=row["slug"]).first()
        if entry is None:
            continue
        fields = []
        if not entry.page and row.get("page"):
            entry.page = row["page"]
            fields.append("page")
        if SHIPPED_0002.get(row["slug"]) == entry.answer:
            entry.answer = row["answer"]
            fields.append("answer")
        if fields:
            entry.save(update_fields=fields)
    load_starter_faq(FaqEntry)


def backwards(apps, schema_editor):
    FaqEntry = apps.get_model("chatbot", "FaqEntry")
    FaqEntry.objects.filter(slug__in=["privacy", "terms"]).delete()
    for slug, answer in SHIPPED_0002.items():
        FaqEntry.objects.filter(slug=slug).update(answer=answer)


class Migration(migrations.Migration):

    dependencies = [
        ("chatbot", "0002_starter_faq"),
    ]

    operations = [
        migrations.AddField(
            model_name="faqentry",
            name="page",
            field=models.CharField(blank=True, help_text="One of the shop's pages this answer links to, e.g. /pages/returns/ (Flat pages); the link is shown only while that page exists", max_length=100),
        ),
        migrations.AlterField(
            model_name="faqentry",
            name="answer",
            field=models.TextField(help_text="Plain text. Placeholders: {shipping_options}, {shipping_flat_rate}, {free_shipping_over}, {free_shipping}, {return_days}, {contact_email}, {payment_methods}, {ship_to_countries}, {vat}, {vat_rate}, {currency}, {shop_name}, {max_line_quantity}, {page_intro} (the first paragraph of the page below)"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
