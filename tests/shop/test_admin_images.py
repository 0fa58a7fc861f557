"""The admin refuses a product image that is too large or not a picture, and says so instead of "changed
successfully"."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import png_bytes


def _form(p, upload):
    return {"name": p.name, "slug": p.slug, "sku": p.sku, "category": p.category_id, "description": p.description,
            "price": "10.00", "stock": "5", "attributes": "{}", "is_active": "on",
            "images-TOTAL_FORMS": "1", "images-INITIAL_FORMS": "0", "images-0-image": upload,
            "images-0-alt": "", "images-0-position": "0",
            "promotions-TOTAL_FORMS": "0", "promotions-INITIAL_FORMS": "0",
            "variants-TOTAL_FORMS": "0", "variants-INITIAL_FORMS": "0"}


@pytest.mark.parametrize("data,problem", [(png_bytes(size=(400, 400)) + b"\0" * 5000, "the limit is"),
                                          (b"%PDF-1.4 not a picture", "not an image")], ids=["too-large", "not-an-image"])
def test_refused_image_is_a_form_error_not_a_success(client, admin_user, make_product, settings, data, problem):
    settings.MAX_UPLOAD_IMAGE_BYTES = 4000
    p = make_product(stock=5)
    client.force_login(admin_user)
    r = client.post(f"/admin/shop/product/{p.pk}/change/", _form(p, SimpleUploadedFile("big.png", data)), follow=True)
    body = r.content.decode()
    assert problem in body
    assert "changed successfully" not in body
    assert p.images.count() == 0


def test_good_image_is_saved_with_a_thumbnail(client, admin_user, make_product):
    p = make_product(stock=5)
    client.force_login(admin_user)
    r = client.post(f"/admin/shop/product/{p.pk}/change/",
                    _form(p, SimpleUploadedFile("ok.png", png_bytes(size=(300, 200)))), follow=True)
    assert "changed successfully" in r.content.decode()
    pi = p.images.get()
    assert (pi.width, pi.height) == (300, 200) and pi.thumbnail.name.endswith(".jpg")
