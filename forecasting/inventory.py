"""Stock against a forecast: stock-out dates, days of cover, reorder quantities. Plain numpy, no Django.

For every product (row) with a daily forecast ``p10 <= p50 <= p90`` over the horizon (columns, day 1 = the first
forecast day) and its stock now:

- units = sum of p50; units_p10 / units_p90 likewise; revenue = sum of p50 x that day's selling price.
- stock-out day = the first day on which cumulative p50 reaches the stock (the day the last unit is expected to
  sell; day 1 when the stock is already 0); pessimistic = the same against cumulative p90. None when the stock
  lasts beyond the horizon.
- days of cover = stock / mean daily p50 (None when no demand is forecast: cover is unlimited).
- reorder quantity, an order-up-to rule: an order placed today arrives after the lead time ``L`` and must last until
  the next order's delivery, ``R`` (review period) days later. Target = forecast p50 demand over ``L + R`` days +
  safety stock ``z * sigma``, with ``z`` the normal quantile of the service level and ``sigma`` the demand
  uncertainty over those days, read from the forecast band (p90 - p10 = 2 x 1.2816 sigma for a normal day, days
  taken as independent). Reorder = max(0, ceil(target - stock)). Orders already placed with suppliers are not
  known to the shop, so they are not subtracted.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

Z90 = NormalDist().inv_cdf(0.9)  # p90 - p50 of a normal = 1.2816 sigma


@dataclass(frozen=True)
class Policy:
    lead_time_days: int = 14
    review_days: int = 7
    service_level: float = 0.95

    def __post_init__(self):
        if self.lead_time_days < 0 or self.review_days < 0:
            raise ValueError("lead time and review period must be >= 0 days")
        if not 0.5 <= self.service_level < 1:
            raise ValueError(f"service level must be in [0.5, 1), got {self.service_level}")

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(self.service_level)


def _first_day_reaching(cumulative: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Index (0-based) of the first day cumulative demand >= stock; -1 if never within the horizon."""
    reached = cumulative >= (stock[:, None] - 1e-9)
    idx = np.where(reached.any(1), reached.argmax(1), -1)
    return np.where(stock <= 0, 0, idx)


def summarise(p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, stock: np.ndarray, price: np.ndarray,
              policy: Policy) -> dict[str, np.ndarray]:
    """Arrays per product: units, units_p10, units_p90, revenue, stockout_day, stockout_day_pessimistic (-1 =
    none), days_of_cover (nan = unlimited), reorder_qty. ``price`` is (products, days) or (products,)."""
    p10, p50, p90 = (np.asarray(a, float) for a in (p10, p50, p90))
    stock = np.asarray(stock, float)
    H = p50.shape[1]
    price = np.asarray(price, float)
    if price.ndim == 1:
        price = price[:, None]
    units = p50.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(units > 0, stock / (units / H), np.nan)
    n = min(policy.lead_time_days + policy.review_days, H)
    demand = p50[:, :n].sum(1)
    sigma_day = np.clip(p90 - p10, 0, None) / (2 * Z90)
    sigma = np.sqrt((sigma_day[:, :n] ** 2).sum(1))
    target = demand + policy.z * sigma
    reorder = np.ceil(np.clip(target - stock, 0, None) - 1e-9).astype(np.int64)
    return {
        "units": units, "units_p10": p10.sum(1), "units_p90": p90.sum(1), "revenue": (p50 * price).sum(1),
        "stockout_day": _first_day_reaching(np.cumsum(p50, 1), stock),
        "stockout_day_pessimistic": _first_day_reaching(np.cumsum(p90, 1), stock),
        "days_of_cover": cover, "reorder_qty": reorder,
    }


def projected_stock(p50: np.ndarray, stock: float) -> np.ndarray:
    """Stock left at the end of each forecast day if p50 sells (never below 0)."""
    return np.clip(stock - np.cumsum(np.asarray(p50, float)), 0, None)
