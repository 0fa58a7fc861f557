"""Payment methods behind one small interface. Only "pay on delivery" is built in (no card processing)."""
from __future__ import annotations

from dataclasses import dataclass


class PaymentError(Exception):
    pass


@dataclass
class PaymentResult:
    captured: bool          # True: the order is paid now; False: payment comes later (on delivery)
    reference: str = ""


class PaymentMethod:
    code: str = ""
    label: str = ""

    def authorize(self, order) -> PaymentResult:  # pragma: no cover - interface
        raise NotImplementedError


class PayOnDelivery(PaymentMethod):
    code = "cod"
    label = "Pay on delivery"

    def authorize(self, order) -> PaymentResult:
        return PaymentResult(captured=False, reference=f"COD-{order.number}")


METHODS: dict[str, PaymentMethod] = {m.code: m for m in (PayOnDelivery(),)}


def get_method(code: str) -> PaymentMethod:
    try:
        return METHODS[code]
    except KeyError:
        raise PaymentError(f"Unknown payment method {code!r}.") from None


def choices() -> list[tuple[str, str]]:
    return [(m.code, m.label) for m in METHODS.values()]
