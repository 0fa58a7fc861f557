"""The A/B split and the labels of recommendation links.

Visitors are split by their visitor id (the ``vid`` cookie, see ``shop.events``), deterministically: the first
eight bytes of ``sha256(RECOMMENDER_EXPERIMENT + ":" + visitor id)`` read as a number in [0, 1); below
``RECOMMENDER_CONTROL_SHARE`` (default 0.10) the visitor is in the **control** arm and every slot shows the
popular products, otherwise in the **model** arm (the published recommendations, falling back to popularity
where there is nothing personal). The same visitor always lands in the same arm; renaming the experiment
reshuffles everyone. A signed-in customer keeps their browser's arm (the split is by visitor, not by account).

Every slot shown is logged as an impression and every link in it carries a label (``ref``)::

    <slot>.<arm>.<model version id, 0 for none>.<basis>      e.g. home.model.12.personal, cart.control.0.popular

``basis`` says where the list came from: ``personal`` (the customer's published rows), ``session`` (built from the
products viewed or carted in this browser session), ``related`` (the product's or the cart's related products),
``popular`` (popularity: the control arm, or the fallback).
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
import re
from dataclasses import dataclass

from django.conf import settings

SOURCE = "recommendation"  # the event source impressions and clicks are logged under (shop.models.Event.Source)
SLOTS = ("home", "product", "cart")
ARMS = ("model", "control")
BASES = ("personal", "session", "related", "popular")
MODEL, CONTROL = ARMS
_REF = re.compile(r"(?P<slot>[a-z]+)\.(?P<arm>model|control)\.(?P<version>\d{1,12})\.(?P<basis>[a-z]+)")


def bucket(visitor_id: str, experiment: str | None = None) -> float:
    """Where a visitor falls in [0, 1) for the experiment (uniform over random visitor ids)."""
    return _bucket(settings.RECOMMENDER_EXPERIMENT if experiment is None else experiment, visitor_id)


@lru_cache(maxsize=16384)  # every slot of every page asks; a visitor's pages come from the same few processes
def _bucket(name: str, visitor_id: str) -> float:
    digest = hashlib.sha256(f"{name}:{visitor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def arm(visitor_id: str, control_share: float | None = None, experiment: str | None = None) -> str:
    share = settings.RECOMMENDER_CONTROL_SHARE if control_share is None else control_share
    return CONTROL if bucket(visitor_id, experiment) < share else MODEL


@dataclass(frozen=True)
class Ref:
    slot: str
    arm: str
    version: int  # 0: no model version (popularity)
    basis: str

    def __str__(self) -> str:
        return f"{self.slot}.{self.arm}.{self.version}.{self.basis}"


def parse_ref(text: str | None) -> Ref | None:
    """The label of a recommendation link, or None for anything else (a malformed or foreign label)."""
    m = _REF.fullmatch(text or "")
    if m is None or m["slot"] not in SLOTS or m["basis"] not in BASES:
        return None
    return Ref(m["slot"], m["arm"], int(m["version"]), m["basis"])
