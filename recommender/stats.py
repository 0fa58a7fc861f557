"""95 % intervals for the A/B dashboard (plain numpy; no Django). The visitor is the unit of the split, so every
interval treats visitors as the independent observations:

- ``ratio``: a ratio of sums over visitors (clicks per impression, add-to-carts per impression), by the delta
  method: Var(R) = (s_y^2 - 2 R s_xy + R^2 s_x^2) / (n * mean(x)^2), with the sample (co)variances of the visitors'
  sums. Impressions of one visitor are not independent, which a plain binomial interval would pretend. Where the
  delta method has nothing to go on (no event at all, or every visitor with the same rate: a zero-width interval)
  the Wilson interval of the pooled counts is given instead, so 0 clicks in 4 impressions reads [0 %, 49 %], not
  [0 %, 0 %].
- ``proportion``: a share of visitors (conversion), Wilson score interval.
- ``mean``: a mean over visitors (revenue per visitor), normal interval with the sample standard deviation
  (never below 0 for values that cannot be negative).
- ``lift``: model / control - 1 for two independent estimates, interval from the delta method on the log of the
  ratio: se^2 = var_model / model^2 + var_control / control^2 (undefined when either value is 0).

Each returns ``Estimate(value, low, high, var)``; ``var`` is the variance of the estimate (used by ``lift``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    var: float | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("var")
        return d


NONE = Estimate(None, None, None, None)


def ratio(y, x) -> Estimate:
    y, x = np.asarray(y, float), np.asarray(x, float)
    n, sx = len(x), float(x.sum())
    if n == 0 or sx == 0:
        return NONE
    r = float(y.sum()) / sx
    if n < 2:
        return Estimate(r, None, None, None)
    vy, vx = y.var(ddof=1), x.var(ddof=1)
    cxy = float(np.cov(y, x, ddof=1)[0, 1])
    var = max((vy - 2 * r * cxy + r * r * vx) / (n * (sx / n) ** 2), 0.0)
    if var == 0 and r <= 1 and float(y.sum()).is_integer() and sx.is_integer():
        w = proportion(int(y.sum()), int(sx))
        return Estimate(r, w.low, w.high, w.var)
    half = Z95 * math.sqrt(var)
    return Estimate(r, max(r - half, 0.0), r + half, var)


def proportion(k: int, n: int) -> Estimate:
    if n == 0:
        return NONE
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Estimate(p, max(centre - half, 0.0), min(centre + half, 1.0), p * (1 - p) / n)


def mean(values) -> Estimate:
    v = np.asarray(values, float)
    n = len(v)
    if n == 0:
        return NONE
    m = float(v.mean())
    if n < 2:
        return Estimate(m, None, None, None)
    var = float(v.var(ddof=1)) / n
    half = Z95 * math.sqrt(var)
    low = m - half if (v < 0).any() else max(m - half, 0.0)
    return Estimate(m, low, m + half, var)


def lift(model: Estimate, control: Estimate) -> Estimate:
    if not model.value or not control.value or model.value <= 0 or control.value <= 0:
        return NONE
    value = model.value / control.value - 1
    if model.var is None or control.var is None:
        return Estimate(value, None, None, None)
    se = math.sqrt(model.var / model.value ** 2 + control.var / control.value ** 2)
    log_r = math.log(model.value / control.value)
    return Estimate(value, math.exp(log_r - Z95 * se) - 1, math.exp(log_r + Z95 * se) - 1, None)
