"""Deterministic demo shop: catalog, photos, customers and two years of behaviour.

Pure Python (numpy, pandas, Pillow); no Django import, so the ML engines' benchmarks can use the very data
`manage.py seed_demo` loads into the shop (`python -m shop.demo.export`).

How demand is made (so a model has real signal to find, and we know the truth):

    rate[p, t] = level[p]                      # what the product is
               * trend[p, t] * weekly[cat, dow] * yearly[cat, doy] * holiday[t]
               * (price_paid[p, t] / list_price_at_launch[p]) ** -ELASTICITY     # price and promotions
    units[p, t] = min(Poisson(rate[p, t]), stock on hand)                       # stock-outs cut sales

    log level[p] = category effect + COLOUR_EFFECT[colour] + PATTERN_EFFECT[pattern]   # visible only in the photo
                 + sum(PHRASE_EFFECT[phrase] for phrase in description)                 # visible only in the text
                 + noise

The colour and the pattern are drawn into the product photo and never written into the name or description;
the phrases are in the description only. Views and add-to-carts follow the same rate (views also while out of
stock). Purchases are split into order lines and given to customers whose tastes (category, colour) match the
product, so a recommender also has something to learn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

ELASTICITY = 1.8
MEAN_UNITS_PER_DAY = 0.45
VIEWS_PER_UNIT = 4.0

CATEGORY_TREE = [
    # (slug, name, parent slug or None)
    ("apparel", "Apparel", None),
    ("t-shirts", "T-Shirts", "apparel"),
    ("hoodies", "Hoodies", "apparel"),
    ("dresses", "Dresses", "apparel"),
    ("home", "Home & Living", None),  # not "Home": that is the front page's name
    ("mugs", "Mugs", "home"),
    ("cushions", "Cushions", "home"),
    ("lamps", "Lamps", "home"),
    ("accessories", "Accessories", None),
    ("bags", "Bags", "accessories"),
    ("hats", "Hats", "accessories"),
    ("scarves", "Scarves", "accessories"),
    ("stationery", "Stationery", None),
    ("notebooks", "Notebooks", "stationery"),
]

# leaf slug -> noun, price range, log-level effect, yearly peak day (None = flat), yearly amplitude, shape, sized
LEAVES = {
    "t-shirts": ("Tee", (14, 35), 0.3, 190, 0.35, "shirt", True),
    "hoodies": ("Hoodie", (35, 80), 0.0, 10, 0.45, "hoodie", True),
    "dresses": ("Dress", (40, 120), -0.2, 180, 0.4, "dress", True),
    "mugs": ("Mug", (8, 22), 0.35, 345, 0.3, "mug", False),
    "cushions": ("Cushion", (18, 45), -0.1, 320, 0.2, "square", False),
    "lamps": ("Lamp", (30, 150), -0.45, 330, 0.25, "lamp", False),
    "bags": ("Tote", (20, 90), 0.1, None, 0.0, "bag", False),
    "hats": ("Cap", (12, 40), -0.05, 160, 0.3, "hat", True),
    "scarves": ("Scarf", (15, 60), -0.15, 0, 0.5, "scarf", False),
    "notebooks": ("Notebook", (5, 25), 0.2, 245, 0.3, "book", False),
}

COLOURS = {  # name -> (rgb, demand effect)
    "blue": ((40, 90, 200), 0.5),
    "black": ((25, 25, 25), 0.4),
    "red": ((200, 35, 40), 0.2),
    "green": ((40, 150, 70), 0.0),
    "white": ((245, 245, 240), -0.1),
    "pink": ((240, 130, 180), -0.25),
    "yellow": ((245, 210, 40), -0.45),
    "orange": ((245, 130, 30), -0.55),
}
PATTERNS = {"solid": 0.0, "stripes": 0.4, "checks": 0.15, "stars": -0.2, "dots": -0.4}
PHRASES = {
    "handmade": 0.35, "organic cotton": 0.3, "limited edition": 0.25, "waterproof": 0.2, "recycled": 0.1,
    "lightweight": 0.05, "classic fit": 0.0, "heavy-duty": -0.1, "glossy finish": -0.2, "fragile": -0.25,
    "hand wash only": -0.35, "dry clean only": -0.4,
}
# How each phrase reads on each kind of product, so no description contradicts itself or its material
# ("heavy-duty, lightweight", "organic cotton. Made of stoneware", "hand wash only, dry clean only"). A phrase keeps
# its demand effect whatever its wording, so the words of a description still carry the truth (truth.csv lists
# the phrase keys, items.csv the worded descriptions).
_TEXTILE = {
    "organic cotton": "organic cotton", "waterproof": "water-repellent", "recycled": "made with recycled fibres",
    "classic fit": "classic fit", "heavy-duty": "reinforced seams", "glossy finish": "glossy print",
    "fragile": "delicate print", "hand wash only": "hand wash cold", "dry clean only": "dry clean recommended",
}
_HARD = {"classic fit": "classic shape", "hand wash only": "hand wash only"}
WORDING = {
    "shirt": _TEXTILE,
    "hoodie": _TEXTILE,
    "dress": {**_TEXTILE, "organic cotton": "organic cotton lining", "waterproof": "stain-resistant",
              "glossy finish": "satin sheen", "fragile": "delicate lace trim"},
    "hat": {**_TEXTILE, "organic cotton": "organic cotton twill", "waterproof": "waterproof",
            "classic fit": "classic shape", "glossy finish": "glossy satin band", "fragile": "delicate embroidery"},
    "scarf": {**_TEXTILE, "organic cotton": "organic wool", "classic fit": "classic length",
              "glossy finish": "silky sheen", "fragile": "delicate open knit"},
    "bag": {**_TEXTILE, "organic cotton": "organic cotton canvas", "waterproof": "waterproof",
            "recycled": "recycled canvas", "classic fit": "classic shape", "heavy-duty": "reinforced handles",
            "glossy finish": "glossy coated finish", "fragile": "delicate beadwork"},
    "square": {**_TEXTILE, "organic cotton": "organic linen", "waterproof": "stain-resistant",
               "classic fit": "classic square shape", "glossy finish": "satin sheen",
               "fragile": "delicate embroidery", "dry clean only": "dry clean the cover"},
    "mug": {**_HARD, "organic cotton": "lead-free glaze", "waterproof": "stain-proof glaze",
            "recycled": "recycled clay", "heavy-duty": "chip-resistant", "glossy finish": "glossy glaze",
            "fragile": "delicate hand-painted rim", "dry clean only": "not microwave-safe"},
    "lamp": {**_HARD, "organic cotton": "braided organic cotton cable", "waterproof": "splash-proof",
             "recycled": "recycled steel", "heavy-duty": "sturdy base", "glossy finish": "glossy enamel finish",
             "fragile": "delicate glass diffuser", "hand wash only": "wipe with a damp cloth",
             "dry clean only": "bulb not included"},
    "book": {**_HARD, "organic cotton": "organic cotton bookmark ribbon", "waterproof": "water-resistant cover",
             "recycled": "recycled cover board", "classic fit": "classic A5 format", "heavy-duty": "sturdy binding",
             "glossy finish": "glossy cover", "fragile": "delicate deckled edges",
             "hand wash only": "spot clean the cover", "dry clean only": "pages not refillable"},
}


def phrase_text(shape: str, phrase: str) -> str:
    return WORDING.get(shape, {}).get(phrase, phrase)


ADJECTIVES = [
    "Aurora", "Harbor", "Meadow", "Summit", "Coastal", "Nordic", "Urban", "Willow", "Cedar", "Atlas", "Breeze",
    "Canyon", "Delta", "Ember", "Fjord", "Glacier", "Haven", "Iris", "Juniper", "Kestrel", "Lagoon", "Maple",
    "Nimbus", "Orchard", "Pebble", "Quartz", "Ridge", "Sierra", "Tundra", "Valley", "Wren", "Zephyr",
]
FILLER = [
    "Designed in our studio and made to last.", "A favourite with our regulars.",
    "Pairs well with the rest of the collection.", "Carefully packed and shipped within two days.",
    "Every piece is checked by hand before it leaves us.", "A simple shape that works everywhere.",
    "Made in a small workshop by people who care.", "Comes in our plastic-free packaging.",
]
MATERIALS = {"shirt": "cotton", "hoodie": "cotton", "dress": "viscose", "mug": "stoneware", "square": "linen",
             "lamp": "steel", "bag": "canvas", "hat": "cotton twill", "scarf": "wool", "book": "recycled paper"}
FIRST = ["Alex", "Sam", "Jo", "Maria", "Chen", "Priya", "Liam", "Emma", "Noah", "Olivia", "Mia", "Lucas",
         "Amara", "Yusuf", "Elena", "Hugo", "Ines", "Kai", "Lena", "Omar", "Rosa", "Theo", "Uma", "Zoe"]
LAST = ["Smith", "Garcia", "Kowalski", "Nguyen", "Okafor", "Rossi", "Silva", "Tanaka", "Weber", "Yilmaz",
        "Brown", "Dubois", "Jensen", "Khan", "Lopez", "Murphy", "Novak", "Petrov", "Schmidt", "Virtanen"]
SOURCES = np.array(["list", "search", "recommendation", "direct"])
SOURCE_P = [0.5, 0.2, 0.1, 0.2]
WEEKLY = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.15])  # Monday..Sunday


@dataclass
class DemoData:
    start: date
    end: date
    categories: list[tuple[str, str, str | None]]
    products: pd.DataFrame      # one row per product (item_id = SKU)
    daily: pd.DataFrame         # date,item_id,units,price,views,add_to_carts,promo,stockout (truth)
    promotions: pd.DataFrame    # item_id,starts_on,ends_on,discount_percent
    stockouts: pd.DataFrame     # item_id,started_at,ended_at (UTC datetimes)
    customers: pd.DataFrame     # customer_id,email,first_name,last_name,date_joined
    events: pd.DataFrame        # timestamp,customer_id(-1 = guest),session_id,item_id,event,quantity,source,unit_price,order_key
    seed: int = 0
    truth: dict = field(default_factory=dict)
    variants: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VARIANT_COLUMNS))

    def event_variants(self) -> np.ndarray:
        """The variant SKU of each add-to-cart and purchase event of a sized product ("" elsewhere), drawn from
        the size curve with the seed's own stream (the events themselves stay as they were)."""
        out = np.full(len(self.events), "", dtype=object)
        if self.variants.empty:
            return out
        rng = np.random.default_rng([self.seed, 17])
        draws = rng.random(len(self.events))
        by_item = {item: (g.sku.to_numpy(), np.cumsum(g.weight.to_numpy()) / g.weight.sum())
                   for item, g in self.variants.groupby("item_id", sort=False)}
        items = self.events.item_id.to_numpy()
        # pandas' isin hashes; np.isin on these object arrays compares every event with every sized SKU (hours for
        # a 10,000-product catalog)
        wanted = (self.events.event.isin(["cart", "purchase"]) & self.events.item_id.isin(list(by_item))).to_numpy()
        for k in np.nonzero(wanted)[0]:
            skus, cum = by_item[items[k]]
            out[k] = skus[min(int(np.searchsorted(cum, draws[k], side="right")), len(skus) - 1)]
        return out

    def draw_image(self, item_id: str, size: int = 256) -> Image.Image:
        row = self.products.loc[self.products.item_id == item_id].iloc[0]
        return draw_product(row["shape"], row["colour"], row["pattern"], int(row["image_seed"]), size)

    def draw_gallery(self, item_id: str, size: int = 800) -> list[Image.Image]:
        row = self.products.loc[self.products.item_id == item_id].iloc[0]
        return draw_gallery(row["shape"], row["colour"], row["pattern"], int(row["image_seed"]), size)


def _silhouette(shape: str, s: int) -> Image.Image:
    """The product's outline as an antialiased mask (drawn at twice the size, then reduced)."""
    big = 2 * s
    mask = Image.new("L", (big, big), 0)
    md = ImageDraw.Draw(mask)

    def pts(*xy):
        return [(x * big, y * big) for x, y in xy]

    def box(x0, y0, x1, y1):
        return [x0 * big, y0 * big, x1 * big, y1 * big]

    if shape == "shirt":  # short sleeves
        md.polygon(pts((0.3, 0.15), (0.7, 0.15), (0.92, 0.35), (0.8, 0.45), (0.72, 0.4), (0.72, 0.88), (0.28, 0.88),
                       (0.28, 0.4), (0.2, 0.45), (0.08, 0.35)), fill=255)
    elif shape == "hoodie":  # long sleeves and a hood
        md.polygon(pts((0.36, 0.2), (0.64, 0.2), (0.76, 0.25), (0.93, 0.8), (0.82, 0.83), (0.72, 0.47), (0.72, 0.9),
                       (0.28, 0.9), (0.28, 0.47), (0.18, 0.83), (0.07, 0.8), (0.24, 0.25)), fill=255)
        md.ellipse(box(0.35, 0.05, 0.65, 0.33), fill=255)
    elif shape == "dress":
        md.polygon(pts((0.38, 0.1), (0.62, 0.1), (0.66, 0.4), (0.85, 0.9), (0.15, 0.9), (0.34, 0.4)), fill=255)
    elif shape == "mug":
        md.rectangle(box(0.25, 0.25, 0.65, 0.8), fill=255)
        md.ellipse(box(0.55, 0.38, 0.82, 0.66), outline=255, width=max(4, big // 20))
    elif shape == "square":
        md.rounded_rectangle(box(0.15, 0.15, 0.85, 0.85), radius=big // 10, fill=255)
    elif shape == "lamp":
        md.polygon(pts((0.3, 0.15), (0.7, 0.15), (0.82, 0.45), (0.18, 0.45)), fill=255)
        md.rectangle(box(0.47, 0.45, 0.53, 0.82), fill=255)
        md.ellipse(box(0.3, 0.78, 0.7, 0.9), fill=255)
    elif shape == "bag":
        md.rectangle(box(0.2, 0.35, 0.8, 0.88), fill=255)
        md.arc(box(0.32, 0.12, 0.68, 0.55), 180, 360, fill=255, width=max(4, big // 25))
    elif shape == "hat":
        md.pieslice(box(0.2, 0.25, 0.8, 0.85), 180, 360, fill=255)
        md.rectangle(box(0.12, 0.53, 0.88, 0.62), fill=255)
    elif shape == "scarf":  # a loop with two tails and their fringes
        md.ellipse(box(0.3, 0.08, 0.7, 0.4), outline=255, width=int(0.09 * big))
        md.polygon(pts((0.36, 0.3), (0.5, 0.3), (0.46, 0.86), (0.3, 0.84)), fill=255)
        md.polygon(pts((0.5, 0.32), (0.64, 0.3), (0.7, 0.8), (0.55, 0.82)), fill=255)
        for k in range(6):
            x = 0.31 + k * 0.027
            md.line(pts((x, 0.84), (x - 0.005, 0.92)), fill=255, width=max(2, big // 200))
            x = 0.56 + k * 0.024
            md.line(pts((x, 0.81), (x + 0.005, 0.89)), fill=255, width=max(2, big // 200))
    else:  # book
        md.rectangle(box(0.22, 0.12, 0.78, 0.88), fill=255)
    return mask.reduce(2)


def _fabric(rgb, pattern: str, s: int, step: int) -> Image.Image:
    """A square of the product's colour with its pattern."""
    layer = Image.new("RGB", (s, s), rgb)
    pd_ = ImageDraw.Draw(layer)
    contrast = (250, 250, 250) if sum(rgb) < 450 else (30, 30, 30)
    if pattern == "stripes":
        for y in range(0, s, step):
            pd_.rectangle([0, y, s, y + step // 3], fill=contrast)
    elif pattern == "dots":
        for y in range(step // 2, s, step):
            for x in range(step // 2, s, step):
                r = step // 5
                pd_.ellipse([x - r, y - r, x + r, y + r], fill=contrast)
    elif pattern == "checks":
        for y in range(0, s, step):
            for x in range(0, s, step):
                if (x // step + y // step) % 2 == 0:
                    pd_.rectangle([x, y, x + step - 1, y + step - 1], fill=contrast)
    elif pattern == "stars":
        for y in range(step // 2, s, step * 2):
            for x in range(step // 2, s, step * 2):
                r = step * 0.45
                pts = [(x + (r if k % 2 == 0 else r / 2.5) * math.cos(math.pi / 2 + k * math.pi / 5),
                        y - (r if k % 2 == 0 else r / 2.5) * math.sin(math.pi / 2 + k * math.pi / 5))
                       for k in range(10)]
                pd_.polygon(pts, fill=contrast)
    return layer


def _details(img: Image.Image, shape: str, rgb) -> None:
    """Seams that tell the products apart: a tee's neckline, a hoodie's hood opening, pocket and cuffs, a
    notebook's spine and elastic band."""
    s = img.width
    shade = tuple(int(v * 0.6) for v in rgb) if sum(rgb) > 200 else tuple(min(255, int(v + 70)) for v in rgb)
    w = max(1, s // 160)
    d = ImageDraw.Draw(img)

    def box(x0, y0, x1, y1):
        return [x0 * s, y0 * s, x1 * s, y1 * s]

    if shape == "shirt":
        d.chord(box(0.41, 0.1, 0.59, 0.22), 0, 180, fill=shade)
    elif shape == "hoodie":
        d.ellipse(box(0.41, 0.1, 0.59, 0.3), fill=shade)
        d.line([(0.48 * s, 0.3 * s), (0.47 * s, 0.42 * s)], fill=shade, width=w)  # drawstrings
        d.line([(0.52 * s, 0.3 * s), (0.53 * s, 0.42 * s)], fill=shade, width=w)
        d.polygon([(0.38 * s, 0.64 * s), (0.62 * s, 0.64 * s), (0.66 * s, 0.8 * s), (0.34 * s, 0.8 * s)],
                  outline=shade, width=w)  # the front pocket
        d.line([(0.28 * s, 0.86 * s), (0.72 * s, 0.86 * s)], fill=shade, width=w)  # hem band
        for x0, x1 in ((0.08, 0.18), (0.82, 0.92)):
            d.line([(x0 * s, 0.76 * s), (x1 * s, 0.79 * s)], fill=shade, width=w)  # cuffs
    elif shape == "book":
        d.rectangle(box(0.22, 0.12, 0.28, 0.88), fill=shade)  # the spine
        d.rectangle(box(0.68, 0.12, 0.7, 0.88), fill=shade)  # the elastic band


def _outline(img: Image.Image, mask: Image.Image) -> None:
    """A thin grey edge, so a white product stands out from a light background."""
    edge = mask.filter(ImageFilter.FIND_EDGES).point(lambda v: 90 if v > 60 else 0)
    img.paste((120, 120, 120), (0, 0), edge)


def draw_product(shape: str, colour: str, pattern: str, image_seed: int, size: int = 256) -> Image.Image:
    """A product photo: a light studio background, the product's silhouette in its colour, its pattern on top."""
    rng = np.random.default_rng(image_seed)
    rgb = COLOURS[colour][0]
    bg = tuple(int(v) for v in rng.integers(225, 250, size=3))
    img = Image.new("RGB", (size, size), bg)
    step = max(6, size // int(rng.integers(8, 12)))
    mask = _silhouette(shape, size)
    img.paste(_fabric(rgb, pattern, size, step), (0, 0), mask)
    _details(img, shape, rgb)
    if sum(rgb) > 500:  # light products (white, pink) on a light background
        _outline(img, mask)
    ImageDraw.Draw(img).rectangle([0, 0, size - 1, size - 1], outline=(200, 200, 200))
    return img


def draw_gallery(shape: str, colour: str, pattern: str, image_seed: int, size: int = 800) -> list[Image.Image]:
    """The shop's photos of one product: the front view (the same picture as draw_product), a close-up of the
    material, and the product on a styled backdrop."""
    front = draw_product(shape, colour, pattern, image_seed, size)
    rng = np.random.default_rng([image_seed, 7])
    rgb = COLOURS[colour][0]
    close = _fabric(rgb, pattern, size, max(24, size // 4))
    grain = ImageDraw.Draw(close)
    dark = tuple(max(0, int(v) - 18) for v in rgb)
    for y in range(0, size, 6):  # the weave
        grain.line([(0, y), (size, y)], fill=dark, width=1)
    ImageDraw.Draw(close).rectangle([0, 0, size - 1, size - 1], outline=(200, 200, 200))
    wall = tuple(int(v) for v in rng.integers(200, 240, size=3))
    styled = Image.new("RGB", (size, size), wall)
    floor = tuple(int(v) for v in (rng.integers(150, 190), rng.integers(115, 140), rng.integers(80, 100)))
    ImageDraw.Draw(styled).rectangle([0, int(size * 0.72), size, size], fill=floor)
    inner = int(size * 0.7)
    item = draw_product(shape, colour, pattern, image_seed, inner)
    mask = _silhouette(shape, inner)
    left, top, right, bottom = mask.getbbox() or (0, 0, inner, inner)
    x0, y0 = (size - inner) // 2, int(size * 0.8) - bottom  # standing on the floor
    ImageDraw.Draw(styled).ellipse([x0 + left, y0 + bottom - inner * 0.04, x0 + right, y0 + bottom + inner * 0.04],
                                   fill=tuple(int(v * 0.75) for v in floor))  # its shadow
    styled.paste(item, (x0, y0), mask)
    return [front, close, styled]


def _yearly(doy: np.ndarray, peak: int | None, amp: float) -> np.ndarray:
    if peak is None:
        return np.ones_like(doy, dtype=float)
    return 1.0 + amp * np.cos(2 * np.pi * (doy - peak) / 365.25)


def generate(seed: int = 0, end: date | None = None, days: int = 730, n_products: int = 300,
             n_customers: int = 2000) -> DemoData:
    """Build the whole demo shop. Same seed and end date, same data."""
    rng = np.random.default_rng(seed)
    end = end or (date.today() - timedelta(days=1))
    start = end - timedelta(days=days - 1)
    dates = pd.date_range(start, end, freq="D")
    T = len(dates)
    dow = dates.dayofweek.to_numpy()
    doy = dates.dayofyear.to_numpy()
    month_day = dates.month.to_numpy() * 100 + dates.day.to_numpy()
    holiday = np.where((month_day >= 1120) & (month_day <= 1222), 1.35, 1.0)
    holiday = np.where((month_day >= 1225) & (month_day <= 1231), 0.8, holiday)

    leaves = list(LEAVES)
    parent = {slug: par for slug, _, par in CATEGORY_TREE}
    rows = []
    used_names = set()
    for i in range(n_products):
        leaf = leaves[i % len(leaves)]
        noun, (plo, phi), cat_eff, _, _, shape, sized = LEAVES[leaf]
        colour = rng.choice(list(COLOURS))
        pattern = rng.choice(list(PATTERNS))
        phrases = list(rng.choice(list(PHRASES), size=2, replace=False))
        adj = ADJECTIVES[int(rng.integers(len(ADJECTIVES)))]
        name = f"{adj} {noun}"
        k = 2
        while name in used_names:
            name = f"{adj} {noun} {k}"
            k += 1
        used_names.add(name)
        filler = list(rng.choice(FILLER, size=2, replace=False))
        material = MATERIALS[shape]
        description = (f"{name}: {phrase_text(shape, phrases[0])}, {phrase_text(shape, phrases[1])}. "
                       f"Made of {material}. " + " ".join(filler))
        price0 = float(np.round(rng.uniform(plo, phi), 0) - 0.01)
        eff = cat_eff + COLOURS[colour][1] + PATTERNS[pattern] + sum(PHRASES[p] for p in phrases)
        attributes = {"colour": colour, "pattern": pattern, "material": material}
        if sized:
            attributes["sizes"] = "XS,S,M,L,XL" if leaf != "hats" else "S/M,L/XL"
        launch_lo = min(60, T // 3)
        launch = 0 if rng.random() < 0.8 else int(rng.integers(launch_lo, max(launch_lo + 1, T - 45)))
        rows.append(dict(
            item_id=f"DS-{i + 1:04d}", name=name, slug=f"{name.lower().replace(' ', '-')}-{i + 1}",
            description=description, category=leaf, parent_category=parent[leaf], price0=price0, colour=colour,
            pattern=pattern, shape=shape, phrases="|".join(phrases), attributes=attributes, effect=eff,
            launch_index=launch, image_seed=int(rng.integers(1 << 30)),
        ))
    products = pd.DataFrame(rows)
    P = len(products)
    noise = rng.normal(0, 0.3, size=P)
    level = np.exp(products.effect.to_numpy() + noise)
    level *= MEAN_UNITS_PER_DAY / level.mean()
    growth = rng.normal(0.1, 0.25, size=P)

    # Prices: permanent changes and promotions.
    list_price = np.repeat(products.price0.to_numpy()[:, None], T, axis=1)
    promo = np.zeros((P, T), dtype=bool)
    discount = np.zeros((P, T))
    promo_rows = []
    for p in range(P):
        for _ in range(int(rng.integers(0, 3))):
            d = int(rng.integers(min(30, T - 1), T))
            list_price[p, d:] = np.round(list_price[p, d] * rng.uniform(0.85, 1.2), 0) - 0.01
        for _ in range(int(rng.integers(2, 6))):
            s = int(rng.integers(0, max(1, T - 10)))
            length = int(rng.integers(7, 15))
            pct = int(rng.choice([10, 15, 20, 25, 30, 40]))
            if promo[p, s:s + length].any():
                continue
            promo[p, s:s + length] = True
            discount[p, s:s + length] = pct / 100
            promo_rows.append(dict(item_id=products.item_id[p], starts_on=dates[s].date(),
                                   ends_on=dates[min(s + length, T) - 1].date(), discount_percent=pct))
    paid = np.round(list_price * (1 - discount), 2)

    rate = np.zeros((P, T))
    for p in range(P):
        leaf = products.category[p]
        _, _, _, peak, amp, _, _ = LEAVES[leaf]
        t_years = (np.arange(T) - T) / 365.25
        rate[p] = (level[p] * np.exp(growth[p] * t_years) * WEEKLY[dow] * _yearly(doy, peak, amp) * holiday
                   * (paid[p] / products.price0[p]) ** -ELASTICITY)
        rate[p, :products.launch_index[p]] = 0.0

    demand = rng.poisson(rate)
    units = np.zeros((P, T), dtype=np.int64)
    stockout = np.zeros((P, T), dtype=bool)
    stock_now = np.zeros(P, dtype=np.int64)
    for p in range(P):
        daily_mean = max(rate[p, products.launch_index[p]:].mean(), 0.05)
        reorder_point = max(2, int(round(daily_mean * 10)))
        batch = max(5, int(round(daily_mean * 45)))
        stock = batch
        arrival, incoming = -1, 0
        for t in range(products.launch_index[p], T):
            if t == arrival:
                stock += incoming
                arrival, incoming = -1, 0
            sold = min(int(demand[p, t]), stock)
            units[p, t] = sold
            stock -= sold
            if stock == 0:
                stockout[p, t] = True
            if stock <= reorder_point and arrival < 0:
                lead = int(rng.integers(5, 12)) + (int(rng.integers(10, 30)) if rng.random() < 0.15 else 0)
                arrival, incoming = t + lead, batch
        stock_now[p] = stock
    views = rng.poisson(rate * VIEWS_PER_UNIT + np.where(rate > 0, 0.3, 0.0)) + units
    carts = np.where(stockout & (units == 0), 0, units + rng.poisson(rate * 0.8))
    views = np.maximum(views, carts)

    products["price"] = list_price[:, -1]
    products["stock"] = stock_now
    products["launch_date"] = [dates[i].date() for i in products.launch_index]

    # The truth per product and day, in the engines' long format.
    alive = np.arange(T)[None, :] >= products.launch_index.to_numpy()[:, None]
    pi, ti = np.nonzero(alive)
    daily = pd.DataFrame({
        "date": dates[ti].date, "item_id": products.item_id.to_numpy()[pi], "units": units[pi, ti],
        "price": paid[pi, ti], "views": views[pi, ti], "add_to_carts": carts[pi, ti],
        "promo": promo[pi, ti].astype(int), "stockout": stockout[pi, ti].astype(int),
    })

    stockouts = []
    for p in range(P):
        flags = stockout[p]
        t = 0
        while t < T:
            if flags[t]:
                u = t
                while u + 1 < T and flags[u + 1]:
                    u += 1
                began = datetime.combine(dates[t].date(), time(18, 0), tzinfo=timezone.utc)
                ended = (None if u == T - 1 and stock_now[p] == 0 else
                         datetime.combine(dates[u].date(), time(23, 59, 59), tzinfo=timezone.utc))
                stockouts.append(dict(item_id=products.item_id[p], started_at=began, ended_at=ended))
                t = u + 1
            else:
                t += 1
    stockouts = pd.DataFrame(stockouts, columns=["item_id", "started_at", "ended_at"])

    # Customers and their tastes.
    C = n_customers
    first = rng.choice(FIRST, size=C)
    last = rng.choice(LAST, size=C)
    customers = pd.DataFrame({
        "customer_id": np.arange(C),
        "first_name": first, "last_name": last,
        "email": [f"{f.lower()}.{l.lower()}.{i}@example.com" for i, (f, l) in enumerate(zip(first, last))],
        "date_joined": [dates[int(i)].date() for i in rng.integers(0, max(1, T - 30), size=C)],
    })
    fav_leaf = rng.integers(len(leaves), size=C)
    fav_colour = rng.integers(len(COLOURS), size=C)
    activity = rng.lognormal(0, 0.8, size=C)
    leaf_idx = np.array([leaves.index(c) for c in products.category])
    top_of = {leaf: parent[leaf] for leaf in leaves}
    same_top = np.array([[top_of[leaves[a]] == top_of[leaves[b]] for b in range(len(leaves))]
                         for a in range(len(leaves))])
    colour_idx = np.array([list(COLOURS).index(c) for c in products.colour])
    score = (1.6 * (fav_leaf[None, :] == leaf_idx[:, None]) + 0.7 * same_top[leaf_idx][:, fav_leaf]
             + 1.1 * (fav_colour[None, :] == colour_idx[:, None]) + np.log(activity)[None, :])
    prob = np.exp(score)
    prob /= prob.sum(axis=1, keepdims=True)
    cum = np.cumsum(prob, axis=1)

    events = _events(rng, products, dates, units, views, carts, paid, cum)
    return DemoData(start=start, end=end, categories=CATEGORY_TREE, products=products, daily=daily,
                    promotions=pd.concat([pd.DataFrame(promo_rows, columns=PROMOTION_COLUMNS),
                                          current_promotions(seed, products.item_id.tolist(), end)],
                                         ignore_index=True),
                    stockouts=stockouts, customers=customers, events=events, seed=seed,
                    truth={"level": level, "growth": growth}, variants=make_variants(seed, products))


PROMOTION_COLUMNS = ["item_id", "starts_on", "ends_on", "discount_percent"]
VARIANT_COLUMNS = ["item_id", "sku", "size", "stock", "position", "weight"]
SIZE_CURVE = {"XS": 0.1, "S": 0.2, "M": 0.3, "L": 0.25, "XL": 0.15, "S/M": 0.5, "L/XL": 0.5}


def make_variants(seed: int, products: pd.DataFrame) -> pd.DataFrame:
    """One variant per size of each sized product (SKU = product SKU + size, "DS-0001-M", "DS-0008-SM"), the
    product's stock split over them along the size curve (the sizes add up to the product's stock)."""
    rng = np.random.default_rng([seed, 13])
    rows = []
    for r in products.itertuples():
        sizes = [x for x in str(r.attributes.get("sizes", "")).split(",") if x]
        if not sizes:
            continue
        weights = np.array([SIZE_CURVE.get(x, 1.0) for x in sizes])
        split = rng.multinomial(int(r.stock), weights / weights.sum())
        for position, (size, n, w) in enumerate(zip(sizes, split, weights)):
            rows.append(dict(item_id=r.item_id, sku=f"{r.item_id}-{size.replace('/', '')}", size=size,
                             stock=int(n), position=position, weight=float(w)))
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS)
CURRENT_PROMOTION_SHARE = 0.15


def current_promotions(seed: int, item_ids: list[str], end: date) -> pd.DataFrame:
    """Promotions that start the day after the history (the day `seed_demo` runs, by default), so a shopper of
    the demo sees sale prices. They come from their own random stream and lie after the history, so the sales,
    events and every earlier figure of a seed stay exactly as they were."""
    rng = np.random.default_rng([seed, 11])
    pick = rng.random(len(item_ids)) < CURRENT_PROMOTION_SHARE
    lengths = rng.integers(7, 22, size=len(item_ids))
    pcts = rng.choice([10, 15, 20, 25, 30], size=len(item_ids))
    first = end + timedelta(days=1)
    return pd.DataFrame([dict(item_id=item, starts_on=first, ends_on=first + timedelta(days=int(n) - 1),
                              discount_percent=int(pct))
                         for item, chosen, n, pct in zip(item_ids, pick, lengths, pcts) if chosen],
                        columns=PROMOTION_COLUMNS)


def _events(rng, products, dates, units, views, carts, paid, cum) -> pd.DataFrame:
    """Individual events consistent with the daily counts: the buyers also viewed and carted what they bought."""
    P, T = units.shape
    C = cum.shape[1]
    item_ids = products.item_id.to_numpy()
    day0 = np.array([int(pd.Timestamp(d).tz_localize("UTC").timestamp()) for d in dates])
    out = {k: [] for k in ("ts", "cust", "sess", "item", "event", "qty", "price", "order")}

    def pick_customers(p, n):
        return np.searchsorted(cum[p], rng.random(n) * cum[p, -1]).clip(0, C - 1)

    for p in range(P):
        for t in np.nonzero(views[p])[0]:
            n_units, n_views, n_carts = int(units[p, t]), int(views[p, t]), int(carts[p, t])
            # Purchases: one line per unit, 75% to registered customers, merged when the same one buys twice.
            buyers = np.where(rng.random(n_units) < 0.75, pick_customers(p, n_units), -1)
            buy_ts = day0[t] + rng.integers(8 * 3600, 23 * 3600, size=n_units)
            guest_sess = np.array([f"g{p}x{t}x{k}" for k in range(n_units)], dtype=object)
            lines = {}
            for k in range(n_units):
                key = (int(buyers[k]), guest_sess[k] if buyers[k] < 0 else "")
                if key in lines:
                    lines[key][1] += 1
                else:
                    lines[key] = [int(buy_ts[k]), 1]
            for (cust, sess), (ts, qty) in lines.items():
                order = f"c{cust}d{t}" if cust >= 0 else sess
                sess = sess or f"u{cust}d{t}"
                for ev, dt in (("view", -int(rng.integers(300, 1800))), ("cart", -int(rng.integers(30, 290))),
                               ("purchase", 0)):
                    out["ts"].append(ts + dt); out["cust"].append(cust); out["sess"].append(sess)
                    out["item"].append(p); out["event"].append(ev); out["qty"].append(qty if ev != "view" else 1)
                    out["price"].append(paid[p, t]); out["order"].append(order if ev == "purchase" else "")
            # The remaining views and carts: half by customers with matching tastes, half by anonymous visitors.
            used_v, used_c = len(lines), n_units  # one view per buyer; add-to-carts count units
            for ev, n in (("view", n_views - used_v), ("cart", n_carts - used_c)):
                if n <= 0:
                    continue
                who = np.where(rng.random(n) < 0.5, pick_customers(p, n), -1)
                ts = day0[t] + rng.integers(7 * 3600, 24 * 3600, size=n)
                pool = max(4, int(views[:, t].sum() // 6))
                anon = rng.integers(pool, size=n)
                for k in range(n):
                    cust = int(who[k])
                    out["ts"].append(int(ts[k])); out["cust"].append(cust)
                    out["sess"].append(f"u{cust}d{t}" if cust >= 0 else f"a{t}x{anon[k]}")
                    out["item"].append(p); out["event"].append(ev); out["qty"].append(1)
                    out["price"].append(paid[p, t]); out["order"].append("")
    n = len(out["ts"])
    ev = pd.DataFrame({
        "timestamp": pd.to_datetime(np.array(out["ts"], dtype=np.int64), unit="s", utc=True),
        "customer_id": np.array(out["cust"], dtype=np.int64), "session_id": out["sess"],
        "item_id": item_ids[np.array(out["item"], dtype=np.int64)], "event": out["event"],
        "quantity": np.array(out["qty"], dtype=np.int64), "source": rng.choice(SOURCES, size=n, p=SOURCE_P),
        "unit_price": np.array(out["price"]), "order_key": out["order"],
    })
    # Events never cross the day they were counted in (truth stays exact per day).
    return ev.sort_values(["timestamp", "event"], kind="stable").reset_index(drop=True)
