"""Product images: refuse what is not a picture or is too large, store it with a thumbnail and a content hash."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

from .models import ProductImage

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
THUMB_SIZE = (400, 400)
MAX_PIXELS = 40_000_000


def validate_image_bytes(data: bytes, name: str = "upload") -> str:
    """Return the image format, or raise ValidationError saying why the file is refused."""
    limit = settings.MAX_UPLOAD_IMAGE_BYTES
    if len(data) > limit:
        raise ValidationError(f"{name} is {len(data) / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            if img.width * img.height > MAX_PIXELS:
                raise ValidationError(f"{name} is {img.width}x{img.height} pixels; that is too large.")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(f"{name} is not an image we can read (JPEG, PNG, WebP or GIF).") from None
    if fmt not in ALLOWED_FORMATS:
        raise ValidationError(f"{name} is a {fmt} image; use JPEG, PNG, WebP or GIF.")
    return fmt


def make_thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", THUMB_SIZE)  # a JPEG decodes straight at a reduced scale: several times faster
        img = img.convert("RGB")
        img.thumbnail(THUMB_SIZE)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue()


def add_product_image(product, data: bytes, filename: str, alt: str = "", position: int | None = None) -> ProductImage:
    fmt = validate_image_bytes(data, filename)
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
    stem = Path(filename).stem[:60] or "image"
    digest = hashlib.sha256(data).hexdigest()
    if position is None:
        position = product.images.count()
    pi = ProductImage(product=product, alt=alt or product.name, position=position, content_hash=digest,
                      width=width, height=height)
    pi.image.save(f"{stem}.{ALLOWED_FORMATS[fmt]}", ContentFile(data), save=False)
    pi.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(make_thumbnail(data)), save=False)
    pi.save()
    return pi
