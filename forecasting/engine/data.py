"""Input validation, the dense daily panel, and per-day features.

Documented format (see README.md):

* sales (daily, long): ``date,item_id,units[,price,views,add_to_carts,promo,stockout]``.
  One row per (date, item_id). Missing days are zero sales unless the row is flagged ``stockout=1``.
* items: ``item_id,name,description[,category,image_path]``.

Everything here is plain numpy/pandas and never looks past the ``until`` date it is given.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ForecastInputError

SALES_REQUIRED = ["date", "item_id", "units"]
SALES_OPTIONAL = ["price", "views", "add_to_carts", "promo", "stockout"]
ITEMS_REQUIRED = ["item_id", "name", "description"]
ITEMS_OPTIONAL = ["category", "image_path"]

# per-day feature layout of the temporal model (order matters; documented in README)
DYNAMIC_FEATURES = [
    "units", "views", "add_to_carts", "price_rel", "promo", "stockout", "active",
    "dow_sin", "dow_cos", "month_sin", "month_cos", "holiday",
]
CALENDAR_FEATURES = ["dow_0", "dow_1", "dow_2", "dow_3", "dow_4", "dow_5", "dow_6",
                     "month_sin", "month_cos", "holiday"]


# ----------------------------------------------------------------------------------------------- validation
def _parse_dates(series: pd.Series, where: str) -> pd.Series:
    if series.isna().any():
        row = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise ForecastInputError(f"{where}: column 'date' has a missing value (row {row})")
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series).dt.normalize()
    s = series.astype(str).str.strip()
    parsed = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ForecastInputError(
            f"{where}: column 'date' has unparsable value {s.iloc[row]!r} (row {row}); expected YYYY-MM-DD")
    return parsed


def parse_date(value, what: str = "date") -> pd.Timestamp:
    """Parse one YYYY-MM-DD date (CLI arguments, ``as_of``) or raise ForecastInputError."""
    if isinstance(value, (pd.Timestamp, _dt.date)):
        return pd.Timestamp(value).normalize()
    try:
        return pd.Timestamp(_dt.datetime.strptime(str(value).strip(), "%Y-%m-%d"))
    except ValueError:
        raise ForecastInputError(f"{what}: unparsable date {value!r}; expected YYYY-MM-DD") from None


def _checked_frame(frame, required, optional, where: str, expected: str) -> pd.DataFrame:
    """The checks both inputs share: a DataFrame, the required columns, some rows, an item_id on every row.
    Returns a copy with the known columns and item_id as text."""
    if not isinstance(frame, pd.DataFrame):
        raise ForecastInputError(f"{where}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ForecastInputError(f"{where}: missing required column(s) {missing}; expected {expected}")
    if len(frame) == 0:
        raise ForecastInputError(f"{where}: no rows (empty input)")
    df = frame[[c for c in list(required) + list(optional) if c in frame.columns]].copy()
    if df["item_id"].isna().any():
        row = int(np.flatnonzero(df["item_id"].isna().to_numpy())[0])
        raise ForecastInputError(f"{where}: column 'item_id' has a missing value (row {row})")
    df["item_id"] = df["item_id"].astype(str)
    return df


def validate_sales(sales: pd.DataFrame, where: str = "sales") -> pd.DataFrame:
    """Return a clean copy of ``sales`` or raise :class:`ForecastInputError` naming the problem."""
    df = _checked_frame(sales, SALES_REQUIRED, SALES_OPTIONAL, where,
                        f"date,item_id,units[,{','.join(SALES_OPTIONAL)}]")
    df["date"] = _parse_dates(df["date"], where)
    for col in ["units"] + [c for c in SALES_OPTIONAL if c in df.columns]:
        num = pd.to_numeric(df[col], errors="coerce")
        bad_text = num.isna() & df[col].notna()
        if bad_text.any():
            row = int(np.flatnonzero(bad_text.to_numpy())[0])
            raise ForecastInputError(f"{where}: column {col!r} has non-numeric value {df[col].iloc[row]!r} (row {row})")
        if col != "price" and num.isna().any():
            row = int(np.flatnonzero(num.isna().to_numpy())[0])
            raise ForecastInputError(f"{where}: column {col!r} has a NaN/missing value (row {row})")
        if not np.isfinite(num.fillna(0).to_numpy(dtype=float)).all():
            raise ForecastInputError(f"{where}: column {col!r} has an infinite value")
        df[col] = num.astype(float)
    if (df["units"] < 0).any():
        row = int(np.flatnonzero((df["units"] < 0).to_numpy())[0])
        raise ForecastInputError(f"{where}: column 'units' has a negative value (row {row})")
    dup = df.duplicated(["date", "item_id"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise ForecastInputError(f"{where}: duplicate (date, item_id) = ({df['date'].iloc[row].date()}, "
                                 f"{df['item_id'].iloc[row]!r}) (row {row}); aggregate to one row per day")
    return df.sort_values(["item_id", "date"]).reset_index(drop=True)


def validate_items(items: pd.DataFrame, where: str = "items") -> pd.DataFrame:
    df = _checked_frame(items, ITEMS_REQUIRED, ITEMS_OPTIONAL, where,
                        "item_id,name,description[,category,image_path]")
    dup = df["item_id"].duplicated()
    if dup.any():
        raise ForecastInputError(f"{where}: duplicate item_id {df['item_id'][dup].iloc[0]!r}")
    for col in ["name", "description", "category", "image_path"]:
        if col not in df.columns:
            df[col] = ""
        df[col] = df[col].fillna("").astype(str)
    return df.reset_index(drop=True)


def check_known_items(sales: pd.DataFrame, items: pd.DataFrame) -> None:
    unknown = sorted(set(sales["item_id"]) - set(items["item_id"]))
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ForecastInputError(f"sales: unknown item_id(s) {unknown[:5]}{more} not present in items")


# ----------------------------------------------------------------------------------------------- holidays
def _easter(year: int) -> _dt.date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = ((h + l_ - 7 * m + 114) % 31) + 1
    return _dt.date(year, month, day)


def builtin_holidays(years) -> set:
    """A small generic retail holiday calendar (fixed dates, Easter, Black Friday, UK bank Mondays)."""
    out = set()
    for y in years:
        for m, d in [(1, 1), (2, 14), (10, 31), (12, 24), (12, 25), (12, 26), (12, 31), (7, 4)]:
            out.add(_dt.date(y, m, d))
        e = _easter(y)
        out.update({e - _dt.timedelta(days=2), e, e + _dt.timedelta(days=1)})
        nov = [_dt.date(y, 11, d) for d in range(1, 31) if _dt.date(y, 11, d).weekday() == 3]
        out.add(nov[3] + _dt.timedelta(days=1))  # Black Friday
        for m in (5, 8):  # UK early May (first Monday) and summer bank holiday (last Monday)
            days = [_dt.date(y, m, d) for d in range(1, 32) if _dt.date(y, m, d).weekday() == 0]
            out.add(days[0] if m == 5 else days[-1])
        may_mondays = [_dt.date(y, 5, d) for d in range(1, 32) if _dt.date(y, 5, d).weekday() == 0]
        out.add(may_mondays[-1])
        # Mother's day UK (4th Sunday of Lent = Easter - 21 days) matters for a gift shop
        out.add(e - _dt.timedelta(days=21))
    return out


def calendar_frame(dates: pd.DatetimeIndex, extra_holidays=()) -> np.ndarray:
    """Known-in-advance calendar features for ``dates``: (len(dates), len(CALENDAR_FEATURES))."""
    years = range(dates.min().year - 1, dates.max().year + 2)
    hol = builtin_holidays(years) | {pd.Timestamp(h).date() for h in extra_holidays}
    dow = dates.dayofweek.to_numpy()
    out = np.zeros((len(dates), len(CALENDAR_FEATURES)), dtype=np.float32)
    out[np.arange(len(dates)), dow] = 1.0
    ang = 2 * np.pi * (dates.month.to_numpy() - 1) / 12.0
    out[:, 7] = np.sin(ang)
    out[:, 8] = np.cos(ang)
    out[:, 9] = np.array([d.date() in hol for d in dates], dtype=np.float32)
    return out


# ----------------------------------------------------------------------------------------------- panel
@dataclass
class Panel:
    """Dense (items x days) arrays from ``start`` to ``end`` inclusive."""

    item_ids: list
    dates: pd.DatetimeIndex
    units: np.ndarray        # (N, T) float32, 0 on missing days
    views: np.ndarray
    add_to_carts: np.ndarray
    price: np.ndarray        # forward/back filled per item, NaN only if never known
    promo: np.ndarray
    stockout: np.ndarray
    active: np.ndarray       # 1 from the item's first sales row on
    first_day: np.ndarray    # (N,) index of first row, T if the item has no rows (cold start)
    has_col: dict


def build_panel(sales: pd.DataFrame, item_ids, start, end) -> Panel:
    """Pivot validated ``sales`` to dense arrays over [start, end] (rows after ``end`` are ignored)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    dates = pd.date_range(start, end, freq="D")
    item_ids = [str(i) for i in item_ids]
    idx = {it: k for k, it in enumerate(item_ids)}
    N, T = len(item_ids), len(dates)
    s = sales[(sales["date"] >= start) & (sales["date"] <= end) & sales["item_id"].isin(idx)]
    rows = s["item_id"].map(idx).to_numpy()
    cols = ((s["date"] - start).dt.days).to_numpy()

    def dense(col, fill=0.0):
        a = np.full((N, T), fill, dtype=np.float32)
        if col in s.columns:
            a[rows, cols] = s[col].to_numpy(dtype=np.float32)
        return a

    units = dense("units")
    price = dense("price", np.nan) if "price" in s.columns else np.full((N, T), np.nan, np.float32)
    if "price" in s.columns:
        price = pd.DataFrame(price.T).ffill().bfill().to_numpy(dtype=np.float32).T
    first_day = np.full(N, T, dtype=np.int64)
    if len(s):
        fd = pd.Series(cols).groupby(rows).min()
        first_day[fd.index.to_numpy()] = fd.to_numpy()
    active = (np.arange(T)[None, :] >= first_day[:, None]).astype(np.float32)
    return Panel(item_ids=item_ids, dates=dates, units=units, views=dense("views"),
                 add_to_carts=dense("add_to_carts"), price=price, promo=dense("promo"),
                 stockout=dense("stockout"), active=active, first_day=first_day,
                 has_col={c: c in sales.columns for c in SALES_OPTIONAL})


def dynamic_features(panel: Panel, units_scale: np.ndarray, views_scale: np.ndarray,
                     carts_scale: np.ndarray, price_ref: np.ndarray, extra_holidays=()) -> np.ndarray:
    """Per-day features (N, T, len(DYNAMIC_FEATURES)), scaled per series with the given scalers."""
    N, T = panel.units.shape
    F = np.zeros((N, T, len(DYNAMIC_FEATURES)), dtype=np.float32)
    F[:, :, 0] = panel.units / units_scale[:, None]
    F[:, :, 1] = panel.views / views_scale[:, None]
    F[:, :, 2] = panel.add_to_carts / carts_scale[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.log(panel.price / price_ref[:, None])
    F[:, :, 3] = np.clip(np.nan_to_num(rel, nan=0.0, posinf=0.0, neginf=0.0), -3, 3)
    F[:, :, 4] = panel.promo
    F[:, :, 5] = panel.stockout
    F[:, :, 6] = panel.active
    cal = calendar_frame(panel.dates, extra_holidays)
    dow = panel.dates.dayofweek.to_numpy()
    F[:, :, 7] = np.sin(2 * np.pi * dow / 7)[None]
    F[:, :, 8] = np.cos(2 * np.pi * dow / 7)[None]
    F[:, :, 9] = cal[None, :, 7]
    F[:, :, 10] = cal[None, :, 8]
    F[:, :, 11] = cal[None, :, 9]
    return F


def series_scalers(panel: Panel, until_idx: int):
    """Per-series scalers from days [first_day, until_idx] (inclusive). Items without history get NaN."""
    N, T = panel.units.shape
    upto = min(until_idx + 1, T)
    act = panel.active[:, :upto]
    n = act.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (panel.units[:, :upto] * act).sum(1) / n
        v = (panel.views[:, :upto] * act).sum(1) / n
        c = (panel.add_to_carts[:, :upto] * act).sum(1) / n
        p = np.nanmedian(np.where(act > 0, panel.price[:, :upto], np.nan), axis=1) if upto else np.full(N, np.nan)
    return u + 1.0, v + 1.0, c + 1.0, p


_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list:
    return _TOKEN.findall(str(text).lower())
