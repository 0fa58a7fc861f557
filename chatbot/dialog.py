"""From a message to a reply: intent + entities -> an answer filled from live shop data.

Every shop read goes through `shop.assistant`. The conversation's `state` (a dict stored with it) carries what a
follow-up needs: a cancellation waiting for "yes", products offered for "which one?", the last product talked
about ("how much is it?"), a support request waiting for an e-mail address.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from shop import assistant

from . import faq, forecasts
from .engine import OUT_OF_SCOPE, CatalogIndex, CatalogItem
from .engine.entities import ordinal_choice
from .models import FaqEntry, SupportRequest

PENDING_SECONDS = 300  # a confirmation or a "which one?" question expires after five minutes
FEW_LEFT = 5
PRODUCT_INTENTS = {"product_price", "product_stock", "product_attributes"}
FORECAST_INTENTS = {"forecast_units", "forecast_stockout", "forecast_reorder"}
YES = re.compile(r"^\s*(y|yes|yeah|yep|yup|sure|ok|okay|confirm|do it|go ahead)\b", re.I)
NO = re.compile(r"^\s*(n|no|nope|nah|don'?t|stop|cancel that|never ?mind|keep it)\b", re.I)
FALLBACK = ("Sorry, I don't know the answer to that. I can help with products, prices, stock and sizes, your "
            "orders, shipping and returns, or pass your question to a person.")
ASK_PERSON = {"label": "Talk to a person", "message": "I want to talk to a person"}


@dataclass
class Reply:
    text: str
    intent: str
    confidence: float
    answered: bool = True
    products: list[dict] = field(default_factory=list)  # cards: sku, name, price, list_price, stock, url, ...
    price: str | None = None
    in_stock: bool | None = None
    attribute: dict | None = None  # {"name": ..., "value": ...} (+ "asked", "match" for a yes/no question)
    order_status: str | None = None
    variant: dict | None = None  # the size/colour asked about: sku, size, colour, stock, in_stock
    page: dict | None = None  # the shop page an FAQ answer links to: url, title
    actions: list[dict] = field(default_factory=list)  # quick replies {"label", "message"} or links {"label", "url"}
    faq_id: int | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("faq_id")
        return d


@dataclass
class Asker:
    user: object = None  # a User or None
    session_numbers: list[str] = field(default_factory=list)  # orders placed in this browser session
    state: dict = field(default_factory=dict)
    conversation: object = None  # the Conversation (support requests attach it)
    question: str = ""  # the message being answered (stored with the reply)
    durable: bool = False  # the reply changed something that must survive a crash (an order, a support request)

    @property
    def signed_in(self) -> bool:
        return self.user is not None and getattr(self.user, "is_authenticated", False)

    @property
    def is_staff(self) -> bool:
        return self.signed_in and bool(getattr(self.user, "is_staff", False))


def money(value) -> str:
    return f"{Decimal(value):,.2f} {settings.SHOP_CURRENCY}"


def card(p: assistant.ProductFacts) -> dict:
    return {"id": p.id, "sku": p.sku, "name": p.name, "price": str(p.price), "list_price": str(p.list_price),
            "discount_percent": p.discount_percent, "currency": settings.SHOP_CURRENCY, "stock": p.stock,
            "in_stock": p.in_stock, "url": p.url, "image": p.image_url,
            "variants": [_variant_dict(v) for v in p.variants]}


# -- the live catalog, indexed once per catalog version ----------------------------------------------------------
_index: dict = {"version": None, "index": None, "checked": 0.0}
_index_lock = threading.Lock()


def catalog_index() -> CatalogIndex:
    """The live catalog's names, rebuilt when the catalog changes (checked every CHATBOT_CACHE_SECONDS; prices
    and stock are always read fresh)."""
    now = time.monotonic()
    if _index["index"] is not None and now - _index["checked"] < settings.CHATBOT_CACHE_SECONDS:
        return _index["index"]
    version = assistant.catalog_version()
    _index["checked"] = now
    if _index["version"] != version:
        with _index_lock:
            if _index["version"] != version:
                items = [CatalogItem(e.id, e.name, e.sku, e.category, e.parent_category, e.attributes)
                         for e in assistant.catalog_entries()]
                _index["index"], _index["version"] = CatalogIndex(items), version
    return _index["index"]


# -- the dialog ----------------------------------------------------------------------------------------------------
def answer(text: str, asker: Asker, classifier) -> Reply:
    state = asker.state
    now = time.time()
    index = catalog_index()
    ents = index.extract(text)
    if classifier is None:
        intent, conf = OUT_OF_SCOPE, 0.0
    else:
        pred = classifier.predict_one(index.mask(text, ents.products))
        intent, conf = pred.intent, round(pred.confidence, 4)

    pending = state.pop("confirm", None)
    if pending and pending.get("expires", 0) > now:
        if intent == "affirm" or (YES.match(text) and intent != "deny"):
            return _cancel_confirmed(pending["order"], asker, conf)
        if intent == "deny" or NO.match(text):
            return Reply(f"Alright, order {pending['order']} stays as it is.", "deny", conf)

    choices = state.pop("choices", None)
    if choices and choices.get("expires", 0) > now:
        picked = _pick(text, ents, choices["ids"], index)
        if picked is not None:
            # "do you have the hoodie in M?" - "which one?" - "the valley one": still about size M
            ents.attributes = {**choices.get("attributes", {}), **ents.attributes}
            ents.attribute_keys = list(dict.fromkeys([*choices.get("keys", []), *ents.attribute_keys]))
            asker.question = f"{choices.get('question', '')} {text}".strip()
            return _product_reply(choices["intent"], picked, ents, asker, conf)

    support = state.get("support_request")
    if support and ents.email:
        return _support_email(support, ents.email, asker, conf)

    if intent == OUT_OF_SCOPE:
        # the classifier is unsure, but the message plainly names a product or an order: answer that
        if ents.product is not None and len(ents.leftover) <= 1:
            return _product_reply("product_price", ents.product, ents, asker, conf, overview=True)
        if ents.order_numbers:
            return _order_status(ents, asker, conf)
        return Reply(FALLBACK, OUT_OF_SCOPE, conf, answered=False, actions=[ASK_PERSON])

    if intent in PRODUCT_INTENTS:
        return _product_question(intent, text, ents, asker, conf, index)
    if intent == "product_search":
        return _search(ents, asker, conf, index)
    if intent == "order_status":
        return _order_status(ents, asker, conf)
    if intent == "order_cancel":
        return _order_cancel(ents, asker, conf)
    if intent == "human":
        return _support_request(asker, conf)
    if intent in FORECAST_INTENTS:
        if not asker.is_staff:
            return Reply("That is information for the shop's team only. I can help you with products, prices, "
                         "stock, sizes and your orders.", intent, conf)
        return forecasts.answer(intent, ents, index, conf, text)
    if intent.startswith("faq:"):
        return _faq_reply(intent, conf)
    shop = settings.SHOP_NAME
    small_talk = {
        "greeting": f"Hello! I'm the {shop} assistant. Ask me about a product's price, stock or sizes, find "
                    "products (\"red mugs under 20\"), check your orders, or ask about shipping and returns.",
        "thanks": "You're welcome! Anything else I can help with?",
        "goodbye": f"Goodbye, and thanks for visiting {shop}!",
        "affirm": "OK. What can I help you with?",
        "deny": "Alright. What can I help you with?",
    }
    if intent in small_talk:
        return Reply(small_talk[intent], intent, conf)
    return Reply(FALLBACK, OUT_OF_SCOPE, conf, answered=False, actions=[ASK_PERSON])


def _faq_reply(intent, conf) -> Reply:
    entry = FaqEntry.objects.filter(slug=intent[4:], is_active=True).only("pk", "answer", "page").first()
    if entry is None or not entry.answer.strip():
        return Reply(FALLBACK, OUT_OF_SCOPE, conf, answered=False, actions=[ASK_PERSON])
    page = assistant.shop_page(entry.page) if entry.page else None
    text = faq.render(entry.answer, page)
    if not text:  # an answer made only of the page's words, and the page is gone
        return Reply(FALLBACK, OUT_OF_SCOPE, conf, answered=False, actions=[ASK_PERSON])
    if page is None:
        return Reply(text, intent, conf, faq_id=entry.pk)
    return Reply(f"{text} More on our {page.title} page.", intent, conf, faq_id=entry.pk,
                 page={"url": page.url, "title": page.title},
                 actions=[{"label": f"{page.title} page", "url": page.url}])


def _pick(text, ents, ids, index) -> int | None:
    """Which of the products just offered the answer means: "the second", "the mug", a full name."""
    k = ordinal_choice(text, len(ids))
    if k is not None:
        return ids[k]
    offered = [index.items[i] for i in ids if i in index.items]
    among = CatalogIndex(offered, min_score=0.01, margin=0.01)  # any distinguishing word will do
    return among.the_product(among.match_products(text))


# -- products ------------------------------------------------------------------------------------------------------
def _choices(facts, intent, ents, asker) -> dict:
    """The "which one?" state: the products offered, and what was asked about them."""
    return {"ids": [p.id for p in facts], "intent": intent, "expires": time.time() + PENDING_SECONDS,
            "attributes": dict(ents.attributes), "keys": list(ents.attribute_keys), "question": asker.question[:200]}


def _product_question(intent, text, ents, asker, conf, index) -> Reply:
    if ents.product is not None:
        return _product_reply(intent, ents.product, ents, asker, conf)
    if len(ents.products) > 1:
        ids = [m.id for m in ents.products[:5]]
        facts = assistant.product_facts(ids)
        asker.state["choices"] = _choices(facts, intent, ents, asker)
        return Reply("Several products fit. Which one do you mean?", intent, conf, products=[card(p) for p in facts],
                     actions=[{"label": p.name, "message": p.name} for p in facts])
    last = asker.state.get("last_product")
    if last and not ents.leftover:
        return _product_reply(intent, last, ents, asker, conf)
    if ents.leftover or ents.categories or ents.attributes:
        found, total = _find(ents)
        if found:
            asker.state["choices"] = _choices(found, intent, ents, asker)
            return Reply("I couldn't tell which product you mean. Is it one of these?", intent, conf,
                         products=[card(p) for p in found], actions=[{"label": p.name, "message": p.name}
                                                                     for p in found])
        return Reply(f"I couldn't find a product called \"{' '.join(ents.leftover)}\". Try its name as it appears "
                     "in the shop, or search for it.", intent, conf, answered=False)
    return Reply("Which product do you mean? Tell me its name.", intent, conf)


def _product_reply(intent, product_id, ents, asker, conf, overview=False) -> Reply:
    facts = assistant.product_facts([product_id])
    if not facts:
        asker.state.pop("last_product", None)
        return Reply("That product is no longer sold.", intent, conf)
    p = facts[0]
    asker.state["last_product"] = p.id
    cards = [card(p)]
    if intent == "product_price" or overview:
        text = f"The {p.name} costs {money(p.price)}"
        if p.discount_percent:
            text += f" today: {p.discount_percent}% off the usual {money(p.list_price)}"
            if p.promotion_ends:
                text += f", until {p.promotion_ends:%d %B}"
        text += "."
        if overview:
            text += " " + _stock_sentence(p)
        elif not p.in_stock:
            text += " It is out of stock at the moment."
        return Reply(text, "product_price" if not overview else "product_info", conf, products=cards,
                     price=str(p.price), in_stock=p.in_stock)
    if p.variants:
        return _variant_reply(intent, p, ents, asker, conf, cards)
    if intent == "product_stock":
        return Reply(_stock_sentence(p), intent, conf, products=cards, in_stock=p.in_stock, price=str(p.price))
    return _attribute_reply(p, ents, conf, cards)


def _stock_sentence(p) -> str:
    if p.stock <= 0:
        if p.out_of_stock_since:
            day = timezone.localtime(p.out_of_stock_since).date()
            return (f"Sorry, the {p.name} is out of stock. It was last available on {day:%d %B %Y}; I can't say "
                    "when it will be back.")
        return f"Sorry, the {p.name} is out of stock; I can't say when it will be back."
    if p.stock <= FEW_LEFT:
        return f"The {p.name} is in stock, but only {p.stock} left."
    return f"Yes, the {p.name} is in stock ({p.stock} available)."


# -- variants: sizes (and colours) with their own stock -------------------------------------------------------------
STOCK_WORDS = re.compile(r"\b(in stock|stock|stocked|available|availability|left|sold out|have|got|get|any)\b", re.I)


def _asked_option(ents, p) -> tuple[str | None, str | None]:
    """The size and the colour the message asks about, where the product's variants differ in them."""
    size = next((v for k, v in ents.attributes.items() if "size" in k.lower()), None)
    colour = ents.attributes.get("colour") or ents.attributes.get("color")
    if size and not any(v.size for v in p.variants):
        size = None
    if colour and not any(v.colour for v in p.variants):
        colour = None  # one colour for every variant: an attribute question, not a variant one
    return size, colour


def _fits(asked: str, size: str) -> bool:
    """ "M" is the size M; "S" also fits a one-size-for-two "S/M"."""
    asked, size = asked.lower(), size.lower()
    return asked == size or asked in size.split("/")


def _variant_dict(v) -> dict:
    return {"sku": v.sku, "size": v.size, "colour": v.colour, "stock": v.stock, "in_stock": v.in_stock}


def _labels(variants, counts=False) -> str:
    return ", ".join(f"{v.label} ({v.stock})" if counts else v.label for v in variants)


def _by_size(p) -> str:
    """ "In stock: S (3), M (5); sold out: XL." for a product sold in variants."""
    have = [v for v in p.variants if v.in_stock]
    gone = [v for v in p.variants if not v.in_stock]
    if not have:
        return f"Every {_option_word(p)} is sold out."
    text = f"In stock: {_labels(have, counts=True)}"
    return text + (f"; sold out: {_labels(gone)}." if gone else ".")


def _option_word(p) -> str:
    return "size" if any(v.size for v in p.variants) else "colour" if any(v.colour for v in p.variants) else "variant"


def _variant_reply(intent, p, ents, asker, conf, cards) -> Reply:
    """Stock, sizes and colours of a product sold in variants, from each variant's live stock."""
    size, colour = _asked_option(ents, p)
    options = ",".join(dict.fromkeys(v.size for v in p.variants if v.size)) or _labels(p.variants)
    key = next((k for k in ents.attribute_keys if "size" in k.lower()), None) or \
        next((k for k in ents.attributes if "size" in k.lower()), "sizes")
    if size or colour:
        what = ", ".join(x for x in (colour, size) if x)
        matches = [v for v in p.variants if (size is None or _fits(size, v.size))
                   and (colour is None or v.colour.lower() == colour.lower())]
        attribute = {"name": key if size else "colour", "value": options if size else _labels(p.variants),
                     "asked": what, "match": bool(matches)}
        if not matches:
            return Reply(f"No, the {p.name} doesn't come in {what}. It comes in {_labels(p.variants)}.",
                         "product_attributes" if intent == "product_attributes" else "product_stock", conf,
                         products=cards, in_stock=False, attribute=attribute, price=str(p.price))
        stock = sum(v.stock for v in matches)
        variant = _variant_dict(matches[0]) if len(matches) == 1 else None
        if stock > 0:
            text = (f"Yes, the {p.name} in {what} is in stock, but only {stock} left." if stock <= FEW_LEFT
                    else f"Yes, the {p.name} in {what} is in stock ({stock} available).")
        else:
            others = [v for v in p.variants if v.in_stock]
            text = f"Sorry, the {p.name} in {what} is sold out at the moment."
            text += (f" Still in stock: {_labels(others, counts=True)}." if others else
                     f" Every {_option_word(p)} is sold out; I can't say when it will be back.")
        return Reply(text, "product_stock", conf, products=cards, in_stock=stock > 0, price=str(p.price),
                     attribute=attribute, variant=variant)
    asks_sizes = any("size" in k.lower() for k in ents.attribute_keys)
    if intent == "product_stock" or (asks_sizes and STOCK_WORDS.search(asker.question or "")):
        # "is the hoodie in stock?", "which sizes of the hoodie are in stock?"
        if not p.in_stock:
            text = _stock_sentence(p) if p.out_of_stock_since else \
                f"Sorry, the {p.name} is out of stock in every {_option_word(p)}."
        elif asks_sizes:
            have = [v for v in p.variants if v.in_stock]
            gone = [v for v in p.variants if not v.in_stock]
            text = f"The {p.name} is in stock in these {_option_word(p)}s: {_labels(have, counts=True)}."
            if gone:
                text += f" Sold out: {_labels(gone)}."
        else:
            text = _stock_sentence(p) + " " + _by_size(p)
        return Reply(text, "product_stock", conf, products=cards, in_stock=p.in_stock, price=str(p.price),
                     attribute={"name": key, "value": options})
    colours = list(dict.fromkeys(v.colour for v in p.variants if v.colour))
    if colours and any(k in ("colour", "color") for k in ents.attribute_keys) and not asks_sizes:
        return Reply(f"The {p.name} comes in these colours: {', '.join(colours)}. " + _by_size(p),
                     "product_attributes", conf, products=cards, in_stock=p.in_stock,
                     attribute={"name": "colour", "value": ",".join(colours)})
    if ents.attributes or (ents.attribute_keys and not asks_sizes):
        return _attribute_reply(p, ents, conf, cards)  # "is it cotton?", "what is it made of?"
    text = f"The {p.name} comes in these {_option_word(p)}s: {_labels(p.variants)}. " + _by_size(p)
    if not asks_sizes and p.attributes:
        text += " " + _all_attributes(p)
    return Reply(text, "product_attributes", conf, products=cards, in_stock=p.in_stock,
                 attribute={"name": key, "value": options})


def _values(value) -> list[str]:
    return [v.strip() for v in re.split(r"\s*,\s*", str(value)) if v.strip()]


def _attribute_reply(p, ents, conf, cards) -> Reply:
    attrs = p.attributes or {}
    intent = "product_attributes"
    # a yes/no question: "does it come in XL?", "is it cotton?"
    for key, asked in ents.attributes.items():
        if key in attrs:
            have = _values(attrs[key])
            match = any(asked.lower() == v.lower() or asked.lower() in v.lower() for v in have)
            label = key.rstrip("s") if key.endswith("s") else key
            text = (f"Yes, the {p.name} comes in {asked}." if match else
                    f"No, the {p.name} doesn't come in {asked}.")
            text += f" Its {key}: {', '.join(have)}."
            return Reply(text, intent, conf, products=cards,
                         attribute={"name": key, "value": attrs[key], "asked": asked, "match": match,
                                    "label": label})
    keys = [k for k in ents.attribute_keys if k in attrs]
    if keys:
        key = keys[0]
        have = _values(attrs[key])
        if len(have) > 1:
            text = f"The {p.name} comes in these {key}: {', '.join(have)}."
        elif key == "material":
            text = f"The {p.name} is made of {attrs[key]}."
        else:
            text = f"The {p.name}'s {key} is {attrs[key]}."
        return Reply(text, intent, conf, products=cards, attribute={"name": key, "value": attrs[key]})
    if ents.attribute_keys:
        return Reply(f"The {p.name} has no {ents.attribute_keys[0]} listed. " + _all_attributes(p), intent, conf,
                     products=cards)
    return Reply(_all_attributes(p), intent, conf, products=cards,
                 attribute={"name": "all", "value": dict(attrs)} if attrs else None)


def _all_attributes(p) -> str:
    attrs = p.attributes or {}
    if not attrs:
        return f"The {p.name} has no details listed beyond its description."
    parts = [f"{k}: {', '.join(_values(v))}" for k, v in sorted(attrs.items())]
    return f"The {p.name}: " + "; ".join(parts) + "."


def _find(ents, limit=5):
    category = ents.categories[0] if ents.categories else None
    words = " ".join(ents.leftover)
    found, total = assistant.find_products(words, category, ents.min_price, ents.max_price, ents.attributes,
                                           limit=limit)
    if not found and words and (category or ents.attributes or ents.max_price or ents.min_price):
        found, total = assistant.find_products("", category, ents.min_price, ents.max_price, ents.attributes,
                                               limit=limit)
    return found, total


def _search(ents, asker, conf, index) -> Reply:
    if ents.product is not None and not (ents.categories or ents.attributes or ents.max_price or ents.min_price):
        return _product_reply("product_price", ents.product, ents, asker, conf, overview=True)
    if not (ents.leftover or ents.categories or ents.attributes or ents.max_price or ents.min_price):
        return Reply("What are you looking for? For example \"red mugs under 20\" or \"cotton tees in M\".",
                     "product_search", conf)
    found, total = _find(ents)
    what = _describe(ents)
    if not found:
        # logged as unanswered: managers see what shoppers look for and the shop does not have
        return Reply(f"I couldn't find any {what}. Try fewer filters, or browse the categories.", "product_search",
                     conf, answered=False, actions=[ASK_PERSON])
    if total == 1:
        text = f"I found one match for {what}:"
    elif total > len(found):
        text = f"I found {total} {what}; here are the first {len(found)}:"
    else:
        text = f"I found {total} {what}:"
    # picking one of them next answers its price, or, when a size or colour was asked for, whether that is in stock
    then = "product_stock" if any("size" in k.lower() or k in ("colour", "color") for k in ents.attributes) \
        else "product_price"
    asker.state["choices"] = _choices(found, then, ents, asker)
    return Reply(text, "product_search", conf, products=[card(p) for p in found])


def _describe(ents) -> str:
    """ "red mugs up to 20.00 EUR", "cotton tees in size M", "products from 50.00 EUR"."""
    words = [v for k, v in ents.attributes.items() if "size" not in k] + ents.leftover
    noun = ents.categories[0].lower() if ents.categories else ("" if ents.leftover else "products")
    text = " ".join(w for w in words + [noun] if w)
    sizes = [v for k, v in ents.attributes.items() if "size" in k]
    if sizes:
        text += f" in size {sizes[0]}"
    if ents.min_price is not None and ents.max_price is not None:
        text += f" between {money(ents.min_price)} and {money(ents.max_price)}"
    elif ents.max_price is not None:
        text += f" up to {money(ents.max_price)}"
    elif ents.min_price is not None:
        text += f" from {money(ents.min_price)}"
    return text


# -- orders --------------------------------------------------------------------------------------------------------
def _not_found(number) -> str:
    # the same words whether the number does not exist or is someone else's
    return (f"I can't find an order {number} for you. Check the number in your confirmation e-mail; if you "
            "ordered as a guest, ask me from the browser you ordered with, or sign in to your account.")


def _order_sentence(o) -> str:
    items = sum(q for _, q in o.lines)
    text = (f"Order {o.number} is {o.status_display.lower()} (placed {timezone.localtime(o.created_at):%d %B %Y}, "
            f"{items} item{'s' if items != 1 else ''}, {money(o.total)}).")
    hints = {"pending": " You can still cancel it.", "paid": " It is paid and being prepared.",
             "shipped": " It is on its way.", "delivered": " It has been delivered.",
             "cancelled": "", "refunded": " It has been refunded."}
    return text + hints.get(o.status, "")


def _order_status(ents, asker, conf) -> Reply:
    if ents.order_numbers:
        number = ents.order_numbers[0]
        o = assistant.own_order(number, asker.user, asker.session_numbers)
        if o is None:
            return Reply(_not_found(number), "order_status", conf)
        return Reply(_order_sentence(o), "order_status", conf, order_status=o.status,
                     actions=[{"label": f"Open order {o.number}", "url": o.url}])
    orders = assistant.own_orders(asker.user, asker.session_numbers, limit=3)
    if not orders:
        text = "I don't see any orders for you yet. If you have an order number, tell me and I'll look it up."
        if not asker.signed_in:
            text += " If you ordered with an account, sign in first."
        return Reply(text, "order_status", conf)
    if len(orders) == 1:
        o = orders[0]
        return Reply(_order_sentence(o), "order_status", conf, order_status=o.status,
                     actions=[{"label": f"Open order {o.number}", "url": o.url}])
    lines = "; ".join(f"{o.number}: {o.status_display.lower()}" for o in orders)
    return Reply(f"Your latest orders: {lines}. Ask me about one by its number for details.", "order_status", conf,
                 actions=[{"label": f"Open order {o.number}", "url": o.url} for o in orders])


def _order_cancel(ents, asker, conf) -> Reply:
    if ents.order_numbers:
        o = assistant.own_order(ents.order_numbers[0], asker.user, asker.session_numbers)
        if o is None:
            return Reply(_not_found(ents.order_numbers[0]), "order_cancel", conf)
    else:
        pending = [o for o in assistant.own_orders(asker.user, asker.session_numbers, limit=10) if o.can_cancel]
        if len(pending) != 1:
            return Reply("Which order do you want to cancel? Tell me its number (it is in your confirmation "
                         "e-mail).", "order_cancel", conf)
        o = pending[0]
    if not o.can_cancel:
        return Reply(f"Order {o.number} is {o.status_display.lower()}, so it can't be cancelled any more. For a "
                     "return, ask me about returns or talk to a person.", "order_cancel", conf,
                     order_status=o.status, actions=[ASK_PERSON])
    asker.state["confirm"] = {"order": o.number, "expires": time.time() + PENDING_SECONDS}
    items = ", ".join(f"{q} x {name}" for name, q in o.lines)
    return Reply(f"Do you want to cancel order {o.number} ({items}; {money(o.total)})? This can't be undone. "
                 "Reply yes to cancel it, or no to keep it.", "order_cancel", conf, order_status=o.status,
                 actions=[{"label": f"Yes, cancel {o.number}", "message": "yes"},
                          {"label": "No, keep it", "message": "no"}])


def _cancel_confirmed(number, asker, conf) -> Reply:
    asker.durable = True
    try:
        o = assistant.cancel_own_order(number, asker.user, asker.session_numbers)
    except assistant.OrderNotFound:
        return Reply(_not_found(number), "order_cancel", conf)
    except assistant.CannotCancel as exc:
        return Reply(f"{exc} Nothing was changed.", "order_cancel", conf)
    return Reply(f"Done: order {o.number} is cancelled.", "order_cancel", conf, order_status=o.status,
                 actions=[{"label": f"Open order {o.number}", "url": o.url}])


# -- a person ------------------------------------------------------------------------------------------------------
def _support_request(asker, conf) -> Reply:
    from .tasks import queue_support_email

    asker.durable = True
    conv = asker.conversation
    email = getattr(asker.user, "email", "") if asker.signed_in else ""
    recent = SupportRequest.objects.filter(conversation=conv, status=SupportRequest.Status.OPEN,
                                           created_at__gte=timezone.now() - timedelta(minutes=30)).first() \
        if conv is not None and conv.pk else None
    contact = assistant.shop_facts()["contact_email"]
    if recent is None:
        recent = SupportRequest.objects.create(conversation=conv if conv is not None and conv.pk else None,
                                               user=asker.user if asker.signed_in else None, email=email,
                                               transcript=conv.transcript(question=asker.question)
                                               if conv is not None and conv.pk else asker.question)
        queue_support_email(recent)  # in this transaction: the outbox keeps it if the broker is down
    if recent.email:
        return Reply(f"I've passed our conversation to the team; a person will reply to {recent.email}.", "human",
                     conf)
    asker.state["support_request"] = recent.pk
    return Reply("I've passed our conversation to the team. So a person can answer you, tell me your e-mail "
                 f"address here, or write to {contact}.", "human", conf)


def _support_email(request_id, email, asker, conf) -> Reply:
    from .tasks import queue_support_email

    asker.durable = True
    asker.state.pop("support_request", None)
    conv = asker.conversation
    req = SupportRequest.objects.select_related("user").filter(pk=request_id).first()
    if req is None:
        return Reply("Thanks. Your request was already closed; say \"talk to a person\" to open a new one.", "human",
                     conf)
    req.email = email[:254]
    if conv is not None and conv.pk:
        req.transcript = conv.transcript(question=asker.question)
    req.save(update_fields=["email", "transcript"])
    queue_support_email(req)
    return Reply(f"Thank you: a person will reply to {req.email}.", "human", conf)
