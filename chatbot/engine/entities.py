"""Entities in a shopper's message: products (fuzzy, against the live catalog), categories, attribute values,
price ranges, order numbers, e-mail addresses.

The catalog comes in as plain records (``CatalogItem``); the Django side builds a ``CatalogIndex`` from the shop's
service functions and rebuilds it when the catalog changes.

Product matching. A product name is a few words ("Harbor Lamp 2"). Each name word is weighted by how rare it is
in the catalog (inverse document frequency: "harbor" tells more than "lamp"). A message word matches a name word
when one of its forms (plural -> singular) equals it or is within a small edit distance (one edit for words of
4-7 letters, two from 8: "harbour", "lamps", "wilow"). A product's score is the weighted share of its name words
found in the message. Products scoring at least ``min_score`` fit; the best one wins alone when it is clearly
ahead (all its name words found and no other product as complete, or ahead by ``margin``), otherwise the caller
asks which one was meant.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Iterable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .text import normalize, singular, word_forms, words

# Words that never identify a product: question words, shop vocabulary, the attribute names.
STOPWORDS = frozenset("""
a about again all also am an and any anything are as at available availability back be been but buy by can
cheap cheaper cheapest colour colours color colors come comes cost costs could currently dear did do does doing
dollar dollars euro euros eur for from get give got had has have hello hey hi how i i'd i'll i'm if in into is it
it's its item items just know left less like look looking many material materials me more most much my need no
not now of off on one ones only or order out over pattern patterns please price priced prices product products
restock right sale sell selling sells show size sizes so some still stock stocked store tell than thanks that
the them then there these they thing things this those to today under up us use want was we what what's when
where whether which who will with would yes you your below above between around least max min cost
something find search looking search recommend suggest got any have has sort kind type types
""".split())

SIZE_WORDS = ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl")
_SIZE_AFTER = re.compile(r"\b(?:in|size|sized|an)\s+(s/m|l/xl|xxxl|xxl|xxs|xs|xl|s|m|l)(?![\w/])", re.I)
_SIZE_UPPER = re.compile(r"(?<![\w/])(XXS|XS|XL|XXL|XXXL|S/M|L/XL|S|M|L)(?![\w/'])")
_NUMBER = r"(\d+(?:[.,]\d{1,2})?)"
_CUR = r"(?:\s*(?:€|\$|£|eur|euros?|dollars?|usd|gbp))?"
_PRE = r"(?:€|\$|£)?\s*"
_BETWEEN = re.compile(rf"\b(?:between|from)\s+{_PRE}{_NUMBER}{_CUR}\s+(?:and|to|-)\s+{_PRE}{_NUMBER}{_CUR}", re.I)
_RANGE = re.compile(rf"(?<![\w-]){_PRE}{_NUMBER}{_CUR}\s*(?:-|–|to)\s*{_PRE}{_NUMBER}{_CUR}(?![\w-])", re.I)
_MAX = re.compile(rf"(?:\bunder|\bbelow|\bless than|\bcheaper than|\bup to|\bmax(?:imum)?|\bat most|\bno more than"
                  rf"|\bbelow|\bwithin|<=?)\s*{_PRE}{_NUMBER}{_CUR}", re.I)
_MIN = re.compile(rf"(?:\bover|\babove|\bmore than|\bat least|\bmin(?:imum)?|\bfrom|\bstarting at|>=?)\s*{_PRE}"
                  rf"{_NUMBER}{_CUR}", re.I)
_ORDER = re.compile(r"(?<![\w-])#?([a-z0-9]{2,12}(?:-[a-z0-9]{2,12}){0,3})(?![\w-])", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
MASK = "product"
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
             "5th": 4, "last": -1}


@dataclass(frozen=True)
class CatalogItem:
    id: int
    name: str
    sku: str = ""
    category: str = ""  # leaf category name ("Mugs")
    parent_category: str = ""  # its parent ("Home"), if any
    attributes: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class ProductMatch:
    id: int
    score: float  # weighted share of the name's words found, 0..1
    complete: bool  # every word of the name was found


@dataclass
class Entities:
    products: list[ProductMatch]  # best first, only those that fit
    product: int | None  # the one product meant, when it is clear
    categories: list[str]  # category names mentioned
    attributes: dict[str, str]  # attribute key -> value mentioned ("colour": "red", "sizes": "M")
    attribute_keys: list[str]  # attribute names asked about ("sizes", "material")
    min_price: Decimal | None
    max_price: Decimal | None
    order_numbers: list[str]
    email: str | None
    leftover: list[str]  # content words not explained by anything above (for a text search)


def _max_edits(word: str) -> int:
    return 0 if len(word) < 4 else (1 if len(word) < 8 else 2)


def _similarity(a: str, b: str) -> float:
    """1.0 for equal words, less for a tolerated typo, 0 otherwise."""
    if a == b:
        return 1.0
    if a[:1] != b[:1] and len(a) < 6:  # short words: the first letter must agree
        return 0.0
    k = min(_max_edits(a), _max_edits(b))
    if k == 0:
        return 0.0
    d = Levenshtein.distance(a, b, score_cutoff=k)
    return 0.0 if d > k else 1.0 - 0.5 * d / max(len(a), len(b))


def parse_price_range(text: str) -> tuple[Decimal | None, Decimal | None]:
    t = normalize(text)

    def num(s):
        try:
            return Decimal(s.replace(",", "."))
        except InvalidOperation:
            return None

    m = _BETWEEN.search(t) or _RANGE.search(t)
    if m:
        a, b = num(m.group(1)), num(m.group(2))
        if a is not None and b is not None:
            return min(a, b), max(a, b)
    lo = hi = None
    m = _MAX.search(t)
    if m:
        hi = num(m.group(1))
    m = _MIN.search(t)
    if m:
        lo = num(m.group(1))
    return lo, hi


def order_numbers(text: str) -> list[str]:
    """Tokens that look like an order number: letters, digits and dashes with at least four digits, not a price
    ("DEMO-0000123", "261122-8F3A01BC", "#1234567")."""
    out = []
    for m in _ORDER.finditer(text):
        token = m.group(1)
        digits = sum(ch.isdigit() for ch in token)
        if digits >= 4 and not re.fullmatch(r"\d{1,4}(?:[.,]\d+)?", token):
            out.append(token.upper())
    return out


def email_address(text: str) -> str | None:
    m = _EMAIL.search(text)
    return m.group(0) if m else None


def ordinal_choice(text: str, n: int) -> int | None:
    """"the second one" / "2" / "last" -> an index into n choices shown, or None."""
    t = normalize(text)
    for w in words(t):
        if w in _ORDINALS:
            k = _ORDINALS[w]
            return (n - 1) if k < 0 else (k if k < n else None)
    m = re.fullmatch(r"(?:number\s*|#|no\.?\s*)?(\d)\.?", t)
    if m and 1 <= int(m.group(1)) <= n:
        return int(m.group(1)) - 1
    return None


class CatalogIndex:
    """The live catalog, prepared for matching. Build once per catalog version; matching takes well under a
    millisecond for a few hundred products."""

    def __init__(self, items: Iterable[CatalogItem], min_score: float = 0.5, margin: float = 0.2):
        self.items = {it.id: it for it in items}
        self.min_score = min_score
        self.margin = margin
        self.name_tokens: dict[int, list[str]] = {}
        df: Counter = Counter()
        for it in self.items.values():
            toks = [singular(w) for w in words(it.name) if w not in STOPWORDS] or [singular(w) for w in words(it.name)]
            self.name_tokens[it.id] = toks
            df.update(set(toks))
        n = max(1, len(self.items))
        self.idf = {t: math.log((n + 1) / (c + 1)) + 1.0 for t, c in df.items()}
        self.vocab = list(self.idf)
        self.by_token: dict[str, list[int]] = defaultdict(list)
        for pid, toks in self.name_tokens.items():
            for t in set(toks):
                self.by_token[t].append(pid)
        self.sku = {it.sku.lower(): it.id for it in self.items.values() if it.sku}
        # categories: name words (singular) -> category name
        self.category_words: dict[str, str] = {}
        for it in self.items.values():
            for cat in (it.category, it.parent_category):
                for w in words(cat):
                    if w not in STOPWORDS and len(w) > 2:
                        self.category_words.setdefault(singular(w), cat)
        # attribute values: key -> {normalised value -> value}; list-valued ("XS,S,M") split
        self.attribute_values: dict[str, dict[str, str]] = defaultdict(dict)
        for it in self.items.values():
            for key, value in (it.attributes or {}).items():
                for part in re.split(r"\s*,\s*", str(value)):
                    if part:
                        self.attribute_values[str(key)][normalize(part)] = part
        self.size_keys = [k for k, vals in self.attribute_values.items()
                          if vals and sum(v in SIZE_WORDS or "/" in v for v in vals) >= len(vals) / 2]
        self.key_words = {}
        for key in self.attribute_values:
            for w in word_forms(normalize(key)) | {singular(normalize(key))}:
                self.key_words[w] = key
        for alias, target in (("color", "colour"), ("colors", "colour"), ("size", "sizes"), ("fabric", "material"),
                              ("made", "material")):
            if target in self.attribute_values:
                self.key_words.setdefault(alias, target)

    # -- products ---------------------------------------------------------------------------------------------
    def _near(self, form: str) -> list[str]:
        """Name words within the largest edit distance any could be forgiven (two), found by rapidfuzz over the
        whole vocabulary in one C loop; ``_similarity`` then applies the exact rules to these few."""
        return [t for t, _, _ in process.extract(form, self.vocab, scorer=Levenshtein.distance, score_cutoff=2,
                                                 limit=None)]

    def match_products(self, text: str) -> list[ProductMatch]:
        tokens = [w for w in words(text) if w not in STOPWORDS]
        found: dict[str, float] = {}
        for w in tokens:
            forms = word_forms(w)
            for f in forms:
                if f in self.idf:
                    found[f] = 1.0
            if len(w) >= 4:
                near = {t for f in forms for t in self._near(f)}
                for t in near:
                    if found.get(t, 0.0) < 1.0:
                        s = max(_similarity(f, t) for f in forms)
                        if s > found.get(t, 0.0):
                            found[t] = s
        skus = {self.sku[w] for w in (normalize(x) for x in re.findall(r"[\w-]+", text)) if w in self.sku}
        candidates = {pid for t in found for pid in self.by_token[t]} | skus
        out = []
        for pid in candidates:
            toks = self.name_tokens[pid]
            total = sum(self.idf[t] for t in toks)
            got = sum(self.idf[t] * found.get(t, 0.0) for t in toks)
            score = 1.0 if pid in skus else got / total
            complete = pid in skus or all(found.get(t, 0.0) > 0 for t in toks)
            if score >= self.min_score:
                out.append(ProductMatch(pid, round(score, 4), complete))
        # complete names first, the most specific (longest) of them first: "harbor lamp 2" is Harbor Lamp 2
        out.sort(key=lambda m: (-m.complete, -len(self.name_tokens[m.id]) if m.complete else 0, -m.score,
                                self.items[m.id].name))
        return out

    def mask(self, text: str, matches: list[ProductMatch] | None = None, token: str = MASK) -> str:
        """The text with the words of the products it names replaced by one ``token`` ("is the harbour lamp in
        stock" -> "is the product in stock"), so the intent classifier sees the question, not the catalog."""
        matches = self.match_products(text) if matches is None else matches
        if not matches:
            return text
        names = set()
        for m in matches[:5]:
            names.update(self.name_tokens[m.id])
            names.add(self.items[m.id].sku.lower())
        spans = []  # [start, end, is a category word ("mugs" alone is a search, not a product)]
        for m in re.finditer(r"\w+(?:'\w+)?", text):
            w = normalize(m.group(0))
            if w in STOPWORDS:
                continue
            forms = word_forms(w)
            if w in names or forms & names or (len(w) >= 4 and any(_similarity(f, t) > 0 for f in forms
                                                                     for t in names)):
                weak = any(singular(f) in self.category_words for f in forms)
                spans.append([m.start(), m.end(), weak])
        runs = []
        for a, b, weak in spans:
            if runs and not text[runs[-1][1]:a].strip(" -"):
                runs[-1][1] = b
                runs[-1][2] = runs[-1][2] and weak
            else:
                runs.append([a, b, weak])
        merged = [r for r in runs if not r[2]]
        if not merged:
            return text
        out, last = [], 0
        for a, b, _ in merged:
            out.append(text[last:a])
            out.append(token)
            last = b
        out.append(text[last:])
        return "".join(out)

    def the_product(self, matches: list[ProductMatch]) -> int | None:
        """The one product meant, or None when there is none or several fit about as well."""
        if not matches:
            return None
        best = matches[0]
        if len(matches) == 1:
            return best.id
        second = matches[1]
        if best.complete and not second.complete:
            return best.id
        if best.complete and second.complete:
            # both names are in the message ("harbor lamp 2" holds Harbor Lamp too): the longer one wins
            if len(self.name_tokens[best.id]) > len(self.name_tokens[second.id]):
                return best.id
            return None
        return best.id if best.score - second.score >= self.margin else None

    # -- everything ---------------------------------------------------------------------------------------------
    def extract(self, text: str) -> Entities:
        norm = normalize(text)
        products = self.match_products(text)
        explained: set[str] = set()
        for m in products[:5]:
            explained.update(self.name_tokens[m.id])
        attributes: dict[str, str] = {}
        # sizes only where they are plainly sizes ("in M", "size xl", "XL"), never the word "s" or "m"
        if self.size_keys:
            m = _SIZE_AFTER.search(text) or _SIZE_UPPER.search(text)
            if m:
                attributes[self.size_keys[0]] = m.group(1).upper()
                explained.update(words(m.group(1)))
        tokens = words(norm)
        for key, values in self.attribute_values.items():
            if key in self.size_keys:
                continue
            best = None
            for value_norm, value in values.items():
                if " " in value_norm:
                    if re.search(rf"\b{re.escape(value_norm)}\b", norm):
                        best = value if best is None or len(value) > len(best) else best
                elif any(value_norm in word_forms(w) for w in tokens):
                    best = best or value
            if best is not None:
                attributes[key] = best
                explained.update(words(best))
        keys = []
        for w in tokens:
            for f in word_forms(w):
                if f in self.key_words and self.key_words[f] not in keys:
                    keys.append(self.key_words[f])
        categories = []
        for w in tokens:
            for f in word_forms(w):
                cat = self.category_words.get(singular(f))
                if cat and cat not in categories:
                    categories.append(cat)
                    explained.add(singular(f))
        lo, hi = parse_price_range(text)
        numbers = order_numbers(text)
        leftover = []
        for w in tokens:
            if w in STOPWORDS or w.isdigit() or any(singular(f) in explained or f in explained for f in word_forms(w)):
                continue
            leftover.append(w)
        return Entities(products=products, product=self.the_product(products), categories=categories,
                        attributes=attributes, attribute_keys=keys, min_price=lo, max_price=hi,
                        order_numbers=numbers, email=email_address(text), leftover=leftover)
