"""Text normalisation shared by the classifier, the entity matcher and the grouping of unanswered questions."""
from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalize(text: str) -> str:
    """Lower case, compatibility-normalised (full-width, ligatures), apostrophes unified, spaces collapsed."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _SPACE.sub(" ", text).strip()


def for_classifier(text: str) -> str:
    """What the intent classifier sees: normalised, every run of digits one token ("order 0", "under 0"), so
    order numbers and prices do not become vocabulary."""
    return _DIGITS.sub(" 0 ", normalize(text)).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def word_forms(word: str) -> set[str]:
    """The word and its plausible singulars: mugs -> mug, dresses -> dress, scarves -> scarf, hoodies -> hoodie."""
    forms = {word}
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
        if word.endswith("es"):
            forms.add(word[:-2])
        if word.endswith("ies"):
            forms.add(word[:-3] + "y")
        if word.endswith("ves"):
            forms.add(word[:-3] + "f")
    return forms


def singular(word: str) -> str:
    """One canonical form for catalog words (names are mostly singular already)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
