"""The shop's information pages (shipping, returns, contact, privacy, terms) as flatpages at /pages/<slug>/.

Managers edit them in the admin (Flat pages); the footer links to every flatpage under /pages/, and the chat
assistant reads the same content. Pages that already exist at these URLs are left as they are. The shipping
page uses a template that adds the live rates and countries from the settings.
"""
from django.conf import settings
from django.db import migrations


def pages():
    days = settings.SHOP_RETURN_DAYS
    email = settings.SHOP_CONTACT_EMAIL
    name = settings.SHOP_NAME
    return [
        ("/pages/shipping/", "Shipping", "flatpages/shipping.html", f"""
<p>We pack and ship orders within two working days. Delivery takes two to four working days within Germany and
three to seven working days to the other countries we ship to.</p>
<p>You choose the delivery option at checkout, where its cost is shown before you place the order. You receive an
email when your order is placed, and you can follow its status under <a href="/account/">your orders</a>.</p>
<p>Questions about a delivery? Write to <a href="mailto:{email}">{email}</a> with your order number.</p>"""),
        ("/pages/returns/", "Returns", "", f"""
<p>You may return anything you bought from {name} within <strong>{days} days</strong> of delivery, for any
reason, free of charge. Items must be unused and in their original packaging.</p>
<p>To return an item, write to <a href="mailto:{email}">{email}</a> with your order number; we send you a
prepaid return label. Once the parcel reaches us we refund the price of the returned items, and the delivery
cost if you return the whole order, to your original payment method within 14 days.</p>
<p>An order that has not shipped yet can be cancelled from its page under <a href="/account/">your orders</a>.</p>"""),
        ("/pages/contact/", "Contact", "", f"""
<p>We are happy to help with orders, deliveries, returns and questions about our products.</p>
<p>Email: <a href="mailto:{email}">{email}</a>. We answer within one working day (Monday to Friday, 9:00 to
17:00).</p>
<p>Please include your order number when you write about an order.</p>"""),
        ("/pages/privacy/", "Privacy", "", f"""
<p>{name} keeps the personal data needed to run the shop: your account (user name, email), the addresses and
contents of your orders, and which products were viewed or added to a cart in your browser (a random visitor
cookie, not linked to your name unless you log in). We use them to deliver orders, to keep the shop running, and
to suggest products and plan stock.</p>
<p>We do not sell your data. Payment and delivery partners receive only what they need for your order.</p>
<p>You may ask for a copy of your data or its deletion at <a href="mailto:{email}">{email}</a>. Orders are kept
as long as the law requires for accounting.</p>"""),
        ("/pages/terms/", "Terms", "", f"""
<p>These terms apply to orders placed at {name}. A contract is made when we confirm your order by email.
Prices are shown in the shop's currency and include the taxes stated at checkout; delivery costs are shown
before you order.</p>
<p>You may withdraw from a purchase within {days} days of delivery (see <a href="/pages/returns/">Returns</a>).
If an item arrives damaged or faulty, contact us and we replace or refund it.</p>
<p>Questions: <a href="mailto:{email}">{email}</a>.</p>"""),
    ]


def create(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    FlatPage = apps.get_model("flatpages", "FlatPage")
    site, _ = Site.objects.get_or_create(pk=settings.SITE_ID, defaults={"domain": "localhost",
                                                                        "name": settings.SHOP_NAME})
    for url, title, template, content in pages():
        if FlatPage.objects.filter(url=url).exists():
            continue
        page = FlatPage.objects.create(url=url, title=title, content=content.strip(), template_name=template)
        page.sites.add(site)


def remove(apps, schema_editor):
    FlatPage = apps.get_model("flatpages", "FlatPage")
    FlatPage.objects.filter(url__in=[url for url, *_ in pages()]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0005_search_categories_attributes"),
        ("flatpages", "0001_initial"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(create, remove)]
