"""Deterministic demo data set in the project's input contract.

`generate_demo(out_dir)` writes one file per input table plus ``truth.json``. Everything comes
from ``numpy.random.default_rng(seed)`` (no global state, no wall clock), so the same seed and
arguments give byte-identical files. The history ends at ``end_date`` (the planning "as of"
date); open purchase orders, open customer orders and planned campaigns lie after it.

Tables written (``sales.csv.gz``, the rest plain ``.csv``):

``sales``            date, sku, location, quantity, price, on_hand (one row per SKU x location
                     x day from the SKU's launch date)
``products``         sku, name, category, department, unit_cost, unit_price, supplier,
                     lead_time_days, lead_time_sd_days, moq, pack_size, service_level
``suppliers``        supplier, name, lead_time_days, lead_time_sd_days, order_cost
``campaigns``        sku, category, location, start_date, end_date, kind, discount_pct
``events``           date, name, kind, location
``inventory``        sku, location, on_hand, as_of
``purchase_orders``  po_id, sku, location, supplier, quantity, expected_date
``customers``        customer_id, segment, lifetime_value
``customer_orders``  order_id, customer_id, sku, location, quantity, order_date, shipping,
                     promised_date, unit_price

How demand is made (the truth, per SKU x location x day)::

    mean = level * location_factor * trend * weekly[category, weekday]
           * yearly[category, day of year] * events[location, category, day]
           * campaign[sku, location, day] * launch_ramp
    demand ~ NegativeBinomial(mean, dispersion)        (sales = min(demand, stock))

Each feature is there to exercise one part of the pipeline:

- Stockout spells (about 25% of SKU-locations, 1-4 spells of 3-14 days with ``on_hand`` 0
  and sales 0, or below demand on the first day): **censored demand** handling.
- Slow SKUs (about 20%, 0.05-0.6 units a day, very overdispersed): **intermittent models**
  (Croston / TSB) and the ABC/XYZ classes.
- Campaigns, past and planned (price promos whose uplift grows with the discount, e-mails,
  feature ads; SKU-level or category-wide; one store or all) and the 7-day, -20% dip after
  price promos (pantry loading): **campaign uplift** features and the planned-uplift term
  of the reorder point.
- Country holidays, retail events (Black Friday, Christmas week, Halloween, Back to school,
  ...) and one local event per store, with category-specific effects; stores closed on
  Christmas Day (sales 0): **event features**.
- Category-specific weekly (weekend peak) and yearly (summer drinks and frozen, winter
  snacks) seasonality and a small per-SKU trend: the **statistical forecasters**.
- New SKUs launched 30-120 days before the end, ramping up: **cold start**.
- Stock follows a replenishment sawtooth (a buyer orders when the inventory position falls
  below a reorder point; deliveries arrive after a random lead time), so ``inventory`` and the
  open ``purchase_orders`` are consistent with the last day of ``sales``.
- Open customer orders from the last 21 days, about 20% express, some already past their
  promised date, and a handful of SKU-locations whose open orders exceed stock (stock 0 with a
  PO coming, stock 0 with no PO at all, small positive stock): **backorders, allocation and
  express priority**.
- About 20% of products have no lead time of their own (their true lead time is the
  supplier's): **lead-time fallback** to the ``suppliers`` table; a few products carry their
  own service level (0.99 or 0.97): **service-level override**.

``truth.json`` records what a test can check against: the campaign multipliers per (kind,
category), the post-campaign dip, the intermittent and new SKUs, event effects, weekly and
yearly profiles, stockout spells, the backorder scenarios and each series' recent mean demand.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import holidays
import numpy as np
import pandas as pd

__all__ = ["TABLE_FILES", "generate_demo"]

TABLE_FILES = {
    "sales": "sales.csv.gz",
    "products": "products.csv",
    "suppliers": "suppliers.csv",
    "campaigns": "campaigns.csv",
    "events": "events.csv",
    "inventory": "inventory.csv",
    "purchase_orders": "purchase_orders.csv",
    "customers": "customers.csv",
    "customer_orders": "customer_orders.csv",
}

_HORIZON = 120  # days of calendar past the end: events ahead, planned campaigns, buyer's look-ahead
_DIP_DAYS = 7
_DIP_MULTIPLIER = 0.8  # pantry loading: -20% for a week after a price promo
_N_CUSTOMERS = 500


@dataclass(frozen=True)
class _Category:
    department: str
    share: float  # share of the SKU range
    weekend: float  # Saturday multiplier relative to Monday-Thursday (Sunday is 95% of it)
    friday: float
    yearly_amplitude: float
    yearly_peak_doy: int
    price_median: float
    promo_elasticity: float  # price_promo multiplier = 1 + elasticity * discount_pct / 100
    email_lift: float
    ad_lift: float
    pack_sizes: tuple[int, ...]
    suppliers: tuple[str, ...]  # first one is the usual supplier
    nouns: tuple[str, ...]


_CATEGORIES: dict[str, _Category] = {
    "beverages": _Category(
        department="grocery",
        share=0.2,
        weekend=1.35,
        friday=1.1,
        yearly_amplitude=0.35,
        yearly_peak_doy=191,
        price_median=2.5,
        promo_elasticity=3.0,
        email_lift=0.1,
        ad_lift=0.25,
        pack_sizes=(6, 12, 24),
        suppliers=("SUP01", "SUP06"),
        nouns=("Cola", "Sparkling Water", "Iced Tea", "Orange Juice", "Lemonade"),
    ),
    "snacks": _Category(
        department="grocery",
        share=0.22,
        weekend=1.3,
        friday=1.15,
        yearly_amplitude=0.12,
        yearly_peak_doy=349,
        price_median=3.0,
        promo_elasticity=3.5,
        email_lift=0.15,
        ad_lift=0.3,
        pack_sizes=(6, 12),
        suppliers=("SUP02",),
        nouns=("Potato Chips", "Pretzels", "Trail Mix", "Chocolate Bar", "Popcorn"),
    ),
    "frozen": _Category(
        department="grocery",
        share=0.14,
        weekend=1.3,
        friday=1.05,
        yearly_amplitude=0.3,
        yearly_peak_doy=201,
        price_median=5.0,
        promo_elasticity=3.0,
        email_lift=0.1,
        ad_lift=0.2,
        pack_sizes=(4, 8),
        suppliers=("SUP04",),
        nouns=("Ice Cream", "Pizza", "Berries", "Dumplings", "Fries"),
    ),
    "household": _Category(
        department="home_and_personal",
        share=0.16,
        weekend=1.2,
        friday=1.05,
        yearly_amplitude=0.08,
        yearly_peak_doy=91,
        price_median=6.0,
        promo_elasticity=2.0,
        email_lift=0.08,
        ad_lift=0.2,
        pack_sizes=(1, 4, 6),
        suppliers=("SUP03", "SUP06"),
        nouns=("Dish Soap", "Paper Towels", "Detergent", "Sponges", "Trash Bags"),
    ),
    "personal_care": _Category(
        department="home_and_personal",
        share=0.16,
        weekend=1.15,
        friday=1.05,
        yearly_amplitude=0.12,
        yearly_peak_doy=182,
        price_median=5.0,
        promo_elasticity=2.5,
        email_lift=0.12,
        ad_lift=0.2,
        pack_sizes=(6, 12),
        suppliers=("SUP03", "SUP06"),
        nouns=("Shampoo", "Toothpaste", "Sunscreen", "Hand Soap", "Deodorant"),
    ),
    "pet": _Category(
        department="pet",
        share=0.12,
        weekend=1.1,
        friday=1.0,
        yearly_amplitude=0.03,
        yearly_peak_doy=1,
        price_median=12.0,
        promo_elasticity=1.5,
        email_lift=0.2,
        ad_lift=0.15,
        pack_sizes=(1, 2, 4),
        suppliers=("SUP05", "SUP06"),
        nouns=("Dog Food", "Cat Litter", "Cat Food", "Dog Treats", "Bird Seed"),
    ),
}
_CATS = tuple(_CATEGORIES)
_BRANDS = ("Acme", "Brightside", "Cedar", "Dunmore", "Evergreen", "Fairway", "Golden", "Harbor")

# supplier, name, lead_time_days, lead_time_sd_days, order_cost
_SUPPLIERS = (
    ("SUP01", "Northwind Beverages", 5, 1.0, 40.0),
    ("SUP02", "Crunch Foods Co", 7, 1.5, 35.0),
    ("SUP03", "CleanHome Distribution", 14, 3.0, 60.0),
    ("SUP04", "Polar Frozen Logistics", 3, 0.5, 80.0),
    ("SUP05", "PawPlanet Wholesale", 10, 2.0, 50.0),
    ("SUP06", "Global Import Partners", 30, 6.0, 150.0),
)
_SUPPLIER_INDEX = {row[0]: i for i, row in enumerate(_SUPPLIERS)}

_STORES = ("STORE_N", "STORE_S", "STORE_E", "STORE_W", "STORE_C")
_TOWNS = ("Northgate", "Southport", "Eastfield", "Westbrook", "Central")

_KINDS = ("price_promo", "email", "feature_ad")
_SEGMENTS = ("vip", "loyal", "regular", "new")


# --------------------------------------------------------------------------- calendar effects
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` (Mon=0) of a month; n = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _thanksgiving(y: int) -> date:
    return _nth_weekday(y, 11, 3, 4)


_BBQ = {"beverages": 1.25, "snacks": 1.15, "frozen": 1.2}

# name, kind, anchor(year), (first, last) day offsets from the anchor, category multipliers.
# kind "holiday" rows come from the `holidays` package; "retail" ones are listed by us.
_EVENT_EFFECTS = (
    ("New Year's Day", "holiday", lambda y: date(y, 1, 1), (0, 0), dict.fromkeys(_CATS, 0.7)),
    (
        "Super Bowl Sunday",
        "retail",
        lambda y: _nth_weekday(y, 2, 6, 2),
        (-1, 0),
        {"snacks": 1.5, "beverages": 1.4},
    ),
    ("Memorial Day", "holiday", lambda y: _nth_weekday(y, 5, 0, -1), (-3, 0), _BBQ),
    (
        "Independence Day",
        "holiday",
        lambda y: date(y, 7, 4),
        (-3, 0),
        {"beverages": 1.4, "snacks": 1.3, "frozen": 1.3},
    ),
    (
        "Back to school",
        "retail",
        lambda y: _nth_weekday(y, 8, 0, 2),
        (0, 13),
        {"snacks": 1.15, "personal_care": 1.15},
    ),
    ("Labor Day", "holiday", lambda y: _nth_weekday(y, 9, 0, 1), (-3, 0), _BBQ),
    ("Halloween", "retail", lambda y: date(y, 10, 31), (-6, 0), {"snacks": 1.5}),
    (
        "Thanksgiving shopping",
        "holiday",
        _thanksgiving,
        (-3, -1),
        {"snacks": 1.3, "frozen": 1.3, "beverages": 1.2},
    ),
    ("Thanksgiving Day", "holiday", _thanksgiving, (0, 0), dict.fromkeys(_CATS, 0.5)),
    (
        "Black Friday",
        "retail",
        lambda y: _thanksgiving(y) + timedelta(days=1),
        (0, 3),
        {
            "household": 1.4,
            "personal_care": 1.4,
            "beverages": 1.2,
            "snacks": 1.2,
            "pet": 1.2,
            "frozen": 1.1,
        },
    ),
    ("Cyber Monday", "retail", lambda y: _thanksgiving(y) + timedelta(days=4), (0, -1), {}),
    (
        "Christmas week",
        "holiday",
        lambda y: date(y, 12, 25),
        (-7, -1),
        {
            "beverages": 1.4,
            "snacks": 1.4,
            "frozen": 1.4,
            "household": 1.2,
            "personal_care": 1.2,
            "pet": 1.1,
        },
    ),
    ("Christmas Day", "holiday", lambda y: date(y, 12, 25), (0, 0), dict.fromkeys(_CATS, 0.0)),
    (
        "New Year's Eve",
        "retail",
        lambda y: date(y, 12, 31),
        (0, 0),
        {"beverages": 1.4, "snacks": 1.2},
    ),
)
_LOCAL_EFFECT = {"beverages": 1.6, "snacks": 1.4}  # local fair: that store, that day and the next
_LOCAL_WINDOW = (0, 1)


def _weekly_profile(cat: _Category) -> np.ndarray:
    raw = np.array([1.0, 1.0, 1.0, 1.0, cat.friday, cat.weekend, 0.95 * cat.weekend])
    return raw / raw.mean()


def _yearly_profile(cat: _Category, doy: np.ndarray) -> np.ndarray:
    return 1.0 + cat.yearly_amplitude * np.cos(2 * np.pi * (doy - cat.yearly_peak_doy) / 365.25)


def _events(
    rng: np.random.Generator, start: date, n_grid: int, locations: list[str]
) -> tuple[np.ndarray, pd.DataFrame, list[dict]]:
    """Event multipliers (location, category, day) over the grid, the events table, the truth."""
    last = start + timedelta(days=n_grid - 1)
    mult = np.ones((len(locations), len(_CATS), n_grid))
    rows: list[tuple[str, str, str, str]] = []
    years = range(start.year, last.year + 1)

    def apply(anchor: date, window: tuple[int, int], effect: dict, loc: slice | int) -> None:
        for offset in range(window[0], window[1] + 1):
            i = (anchor - start).days + offset
            if 0 <= i < n_grid:
                for c, m in effect.items():
                    mult[loc, _CATS.index(c), i] *= m

    for name, kind, anchor_of, window, effect in _EVENT_EFFECTS:
        for y in years:
            anchor = anchor_of(y)
            apply(anchor, window, effect, slice(None))
            if kind == "retail" and start <= anchor <= last:
                rows.append((anchor.isoformat(), name, "retail", ""))
    for d, name in sorted(holidays.US(years=list(years)).items()):
        if start <= d <= last:
            rows.append((d.isoformat(), name, "holiday", ""))

    truth = [
        {"name": n, "kind": k, "window_days": list(w), "multipliers": e, "location": None}
        for n, k, _, w, e in _EVENT_EFFECTS
        if e
    ]
    for li, loc in enumerate(locations):
        town = _TOWNS[li] if li < len(_TOWNS) else f"Town {li + 1}"
        month, day = int(rng.integers(5, 10)), int(rng.integers(1, 29))
        name = f"{town} summer fair"
        for y in years:
            anchor = date(y, month, day)
            apply(anchor, _LOCAL_WINDOW, _LOCAL_EFFECT, li)
            if start <= anchor <= last:
                rows.append((anchor.isoformat(), name, "local", loc))
        truth.append(
            {
                "name": name,
                "kind": "local",
                "window_days": list(_LOCAL_WINDOW),
                "multipliers": _LOCAL_EFFECT,
                "location": loc,
                "month_day": f"{month:02d}-{day:02d}",
            }
        )
    events = pd.DataFrame(rows, columns=["date", "name", "kind", "location"])
    events = events.sort_values(["date", "kind", "location", "name"], kind="stable")
    return mult, events.reset_index(drop=True), truth


# --------------------------------------------------------------------------- products
def _products(rng: np.random.Generator, n_skus: int) -> pd.DataFrame:
    shares = np.array([c.share for c in _CATEGORIES.values()])
    cat_idx = np.sort(rng.choice(len(_CATS), size=n_skus, p=shares / shares.sum()))
    rows = []
    # exact shares, so even a small catalogue has each case: ~20% without their own lead time
    # (the supplier's applies), ~5% at a 0.99 and ~10% at a 0.97 service level
    shuffled = rng.permutation(n_skus)
    no_lead_time = set(shuffled[: round(0.2 * n_skus)].tolist())
    n_99, n_97 = max(1, round(0.05 * n_skus)), max(1, round(0.1 * n_skus))
    service_level = np.full(n_skus, np.nan)
    service_level[rng.permutation(n_skus)[: n_99 + n_97]] = [0.99] * n_99 + [0.97] * n_97
    for s, ci in enumerate(cat_idx):
        cat = _CATEGORIES[_CATS[ci]]
        price = round(float(cat.price_median * np.exp(rng.normal(0.0, 0.35))), 2)
        cost = round(price * float(rng.uniform(0.45, 0.75)), 2)
        supplier = cat.suppliers[0]
        if len(cat.suppliers) > 1 and rng.random() < 0.25:
            supplier = cat.suppliers[1]
        sup = _SUPPLIERS[_SUPPLIER_INDEX[supplier]]
        own_lead_time = s not in no_lead_time
        lt = max(1, sup[2] + int(rng.integers(-1, 4)))
        lt_sd = round(sup[3] * float(rng.uniform(0.7, 1.3)), 2)
        pack = int(rng.choice(cat.pack_sizes))
        moq = pack * int(rng.choice([1, 1, 2, 4]))
        name = (
            f"{_BRANDS[int(rng.integers(len(_BRANDS)))]} "
            f"{cat.nouns[int(rng.integers(len(cat.nouns)))]} #{s + 1}"
        )
        rows.append(
            {
                "sku": f"SKU{s + 1:04d}",
                "name": name,
                "category": _CATS[ci],
                "department": cat.department,
                "unit_cost": cost,
                "unit_price": price,
                "supplier": supplier,
                "lead_time_days": lt if own_lead_time else pd.NA,
                "lead_time_sd_days": lt_sd if own_lead_time else np.nan,
                "moq": moq,
                "pack_size": pack,
                "service_level": service_level[s],
                "_cat": int(ci),
                "_lt_true": lt if own_lead_time else sup[2],
                "_lt_sd_true": lt_sd if own_lead_time else sup[3],
            }
        )
    products = pd.DataFrame(rows)
    products["lead_time_days"] = products["lead_time_days"].astype("Int64")
    return products


# --------------------------------------------------------------------------- campaigns
def _uplift(kind: str, cat: _Category, discount: float) -> float:
    if kind == "price_promo":
        return 1.0 + cat.promo_elasticity * discount / 100.0
    if kind == "email":
        return 1.0 + cat.email_lift
    return 1.0 + cat.ad_lift + cat.promo_elasticity * discount / 100.0


def _draw_kind(rng: np.random.Generator, p: tuple[float, float, float]) -> tuple[str, float]:
    kind = _KINDS[int(rng.choice(3, p=p))]
    if kind == "price_promo":
        return kind, float(rng.choice([10, 15, 20, 25, 30, 35, 40]))
    if kind == "feature_ad":
        return kind, float(rng.choice([0, 0, 5, 10]))
    return kind, 0.0


def _campaign(sku: int, cat: int, loc: int, start: int, dur: int, kind: str, disc: float) -> dict:
    return {
        "sku": sku,
        "cat": cat,
        "loc": loc,
        "start": start,
        "end": start + dur - 1,
        "kind": kind,
        "discount": disc,
    }


def _campaigns(
    rng: np.random.Generator, cat_idx: np.ndarray, launch: np.ndarray, n_loc: int, days: int
) -> list[dict]:
    """Past campaigns (never overlapping for one SKU, dip included) and planned ones.

    Each campaign: sku (index or -1), cat, loc (index or -1), start, end (grid indices), kind,
    discount. Planned ones start 1-60 days after the last history day (index days - 1).
    """
    n_skus = len(cat_idx)
    n_cat = len(_CATS)
    n_grid = days + _HORIZON
    busy = np.zeros((n_cat, n_grid), dtype=bool)  # category-wide campaign days + dip + margin
    out: list[dict] = []

    def pick_loc() -> int:
        return int(rng.integers(n_loc)) if n_loc > 1 and rng.random() < 0.25 else -1

    for c in range(n_cat):
        t = int(rng.integers(10, 60))
        while True:
            dur = int(rng.integers(3, 15))
            if t + dur + _DIP_DAYS >= days:
                break
            kind, disc = _draw_kind(rng, (0.3, 0.4, 0.3))
            out.append(_campaign(-1, c, pick_loc(), t, dur, kind, disc))
            busy[c, max(0, t - 3) : t + dur + _DIP_DAYS + 3] = True
            t += dur + int(rng.integers(60, 150))
        if rng.random() < 0.6:  # a planned category-wide campaign
            t = days + int(rng.integers(0, 60))
            dur = int(rng.integers(3, 15))
            kind, disc = _draw_kind(rng, (0.4, 0.4, 0.2))
            out.append(_campaign(-1, c, -1, t, dur, kind, disc))
            busy[c, t - 3 : t + dur + _DIP_DAYS + 3] = True

    for s in range(n_skus):
        c = int(cat_idx[s])
        t = int(launch[s]) + int(rng.integers(7, 60))
        while True:
            dur = int(rng.integers(3, 15))
            if t + dur + _DIP_DAYS >= days:
                break
            if busy[c, max(0, t - 3) : t + dur + _DIP_DAYS + 3].any():
                t += 7
                continue
            kind, disc = _draw_kind(rng, (0.55, 0.25, 0.2))
            out.append(_campaign(s, c, pick_loc(), t, dur, kind, disc))
            t += dur + _DIP_DAYS + int(rng.integers(20, 110))
        if rng.random() < 0.35:  # a planned SKU campaign
            t = days + int(rng.integers(0, 60))
            dur = int(rng.integers(3, 15))
            if not busy[c, t - 3 : t + dur + _DIP_DAYS + 3].any():
                kind, disc = _draw_kind(rng, (0.55, 0.25, 0.2))
                out.append(_campaign(s, c, pick_loc(), t, dur, kind, disc))
    return out


def _campaign_arrays(
    campaigns: list[dict], cat_idx: np.ndarray, n_loc: int, n_grid: int
) -> tuple[np.ndarray, np.ndarray]:
    """Demand multiplier and discount (sku, location, day) implied by the campaigns."""
    n_skus = len(cat_idx)
    mult = np.ones((n_skus, n_loc, n_grid))
    discount = np.zeros((n_skus, n_loc, n_grid))
    for cp in campaigns:
        skus = np.flatnonzero(cat_idx == cp["cat"]) if cp["sku"] < 0 else np.array([cp["sku"]])
        locs = np.arange(n_loc) if cp["loc"] < 0 else np.array([cp["loc"]])
        ix = (skus[:, None], locs[None, :])
        a, b = cp["start"], cp["end"] + 1
        mult[ix + (slice(a, b),)] *= _uplift(
            cp["kind"], _CATEGORIES[_CATS[cp["cat"]]], cp["discount"]
        )
        if cp["kind"] == "price_promo":
            mult[ix + (slice(b, b + _DIP_DAYS),)] *= _DIP_MULTIPLIER
        if cp["discount"] > 0:
            window = discount[ix + (slice(a, b),)]
            discount[ix + (slice(a, b),)] = np.maximum(window, cp["discount"])
    return mult, discount


# --------------------------------------------------------------------------- stock
def _stockout_spells(
    rng: np.random.Generator,
    launch_series: np.ndarray,
    days: int,
    chosen: np.ndarray,
    terminal: np.ndarray,
) -> list[tuple[int, int, int]]:
    """(series, first day, last day) spells: 1-4 of 3-14 days per chosen series.

    `terminal` series also get a spell that runs to the last day (stock 0 at the as-of date).
    """
    spells = []
    for n in chosen:
        lo = int(launch_series[n]) + 14
        hi = days - 3
        if n in terminal:
            dur = int(rng.integers(4, 11))
            spells.append((int(n), days - dur, days - 1))
            hi = days - dur - 20
        k = int(rng.integers(1, 5)) - (1 if n in terminal else 0)
        while k > 0 and (hi - lo) // k < 20:
            k -= 1
        seg = (hi - lo) // k if k > 0 else 0
        for i in range(k):
            dur = int(rng.integers(3, 15))
            a = lo + i * seg + int(rng.integers(0, seg - dur))
            spells.append((int(n), a, a + dur - 1))
    return sorted(spells)


def _simulate_stock(
    rng: np.random.Generator,
    demand: np.ndarray,
    mu: np.ndarray,
    dispersion: np.ndarray,
    launch_series: np.ndarray,
    spells: list[tuple[int, int, int]],
    lead_time: np.ndarray,
    lead_time_sd: np.ndarray,
    pack: np.ndarray,
    moq: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Replenishment sawtooth with forced stockout spells, vectorised across series.

    A buyer who knows the demand mean orders when the inventory position falls to
    ``1.3 * D_P + 3 * sd_P + 1``, where D_P is the mean demand over the protection interval
    (lead time + 2.5 lead-time sd + 1 day) and sd_P its negative-binomial sd, a quantity
    covering 7-21 days, rounded up to packs and at least the MOQ. During a spell deliveries are
    held back and released the day after it (with an emergency delivery if nothing was due);
    on its first day the shelf holds less than that day's demand. Outside spells a same-day
    transfer from the distribution centre tops the shelf up whenever it could not cover the
    day (a long lead-time draw), so the spells are the only censored days.

    Inputs are (series, day) for demand and (series, grid day) for mu. Returns sales and
    end-of-day on_hand (series, day), the arrivals (series, grid day) and goods held back at
    the end (series,).
    """
    n_series, days = demand.shape
    n_grid = mu.shape[1]
    series = np.arange(n_series)
    cycle = rng.integers(7, 22, size=n_series)
    cs = np.concatenate([np.zeros((n_series, 1)), np.cumsum(mu, axis=1)], axis=1)
    t = np.arange(days)[None, :]
    protection = (lead_time + np.ceil(2.5 * lead_time_sd)).astype(np.int64) + 1
    cover_end = np.minimum(t + 1 + protection[:, None], n_grid)
    cover_demand = cs[series[:, None], cover_end] - cs[:, 1 : days + 1]
    cycle_end = np.minimum(cover_end + cycle[:, None], n_grid)
    cycle_demand = cs[series[:, None], cycle_end] - cs[series[:, None], cover_end]
    cover_sd = np.sqrt(
        cover_demand * (1 + cover_demand / (dispersion[:, None] * protection[:, None]))
    )
    reorder_point = (1.3 * cover_demand + 3.0 * cover_sd + 1.0).T  # (day, series) for the loop
    packs = np.ceil(np.maximum(cycle_demand, 1.0) / pack[:, None])
    order_qty = np.maximum(packs * pack[:, None], moq[:, None]).astype(np.int64).T
    lt_draw = np.rint(
        lead_time[None, :] + lead_time_sd[None, :] * rng.normal(size=(days, n_series))
    )
    lt_draw = np.clip(lt_draw, 1, _HORIZON - 1).astype(np.int64)

    blocked = np.zeros((days, n_series), dtype=bool)
    first = np.zeros((days, n_series), dtype=bool)
    release = np.zeros((days, n_series), dtype=bool)
    for n, a, b in spells:
        blocked[a : b + 1, n] = True
        first[a, n] = True
        if b + 1 < days:
            release[b + 1, n] = True
    demand_t = demand.T
    first_cap = np.floor(demand_t * rng.uniform(0.0, 0.8, size=(days, n_series)))

    arrivals = np.zeros((n_grid, n_series), dtype=np.int64)
    launch = launch_series.astype(np.int64)
    initial = order_qty[launch, series] + np.ceil(reorder_point[launch, series])
    arrivals[launch, series] = initial.astype(np.int64)
    on_order = arrivals.sum(axis=0)
    on_hand = np.zeros(n_series, dtype=np.int64)
    held = np.zeros(n_series, dtype=np.int64)
    sales = np.zeros((days, n_series), dtype=np.int64)
    stock = np.zeros((days, n_series), dtype=np.int64)
    for d in range(days):
        arriving = arrivals[d]
        on_order -= arriving
        held += np.where(blocked[d], arriving, 0)
        received = np.where(blocked[d], 0, arriving) + np.where(release[d], held, 0)
        held = np.where(release[d], 0, held)
        available = on_hand + received
        available = np.where(first[d], np.minimum(available, first_cap[d]), available)
        emergency = release[d] & (available <= 0)
        available = np.where(emergency, order_qty[d], available)
        transfer = ~blocked[d] & (available <= demand_t[d]) & (d >= launch)
        topped_up = available + np.maximum(order_qty[d], demand_t[d] - available + 1)
        available = np.where(transfer, topped_up, available)
        sold = np.minimum(demand_t[d], available)
        on_hand = available - sold
        sales[d], stock[d] = sold, on_hand
        position = on_hand + on_order + held
        place = np.flatnonzero((position <= reorder_point[d]) & (d > launch))
        if place.size:
            qty = order_qty[d, place]
            arrivals[d + lt_draw[d, place], place] += qty
            on_order[place] += qty
    return sales.T, stock.T, arrivals.T, held


def _purchase_orders(
    rng: np.random.Generator,
    arrivals: np.ndarray,
    held: np.ndarray,
    zero_with_po: np.ndarray,
    zero_no_po: np.ndarray,
    moq: np.ndarray,
    end: date,
    series_sku: np.ndarray,
    locations: list[str],
    series_supplier: np.ndarray,
) -> pd.DataFrame:
    """Open POs: the simulated deliveries still due after the end, for ~30% of series.

    Grid day ``days + d`` arrives ``d + 1`` days after the end; goods held back by a spell
    running to the end are due the next day. Expected dates are kept within 1-30 days. The
    "stock 0, no PO" scenario series lose theirs; the "stock 0, PO coming" ones always have one.
    """
    days = arrivals.shape[1] - _HORIZON
    n_series = arrivals.shape[0]
    due_series, due_day = np.nonzero(arrivals[:, days:])
    open_po = [(int(n), int(d), int(arrivals[n, days + d])) for n, d in zip(due_series, due_day)]
    open_po += [(int(n), 0, int(held[n])) for n in np.flatnonzero(held)]
    keep = set(zero_with_po.tolist())
    rest = sorted({n for n, _, _ in open_po} - keep - set(zero_no_po.tolist()))
    target = round(0.3 * n_series)
    if len(keep) + len(rest) > target:
        rest = rng.choice(rest, size=max(0, target - len(keep)), replace=False).tolist()
    keep |= set(rest)
    rows = [(n, min(d, 29), q) for n, d, q in open_po if n in keep]
    for n in zero_with_po:
        if not any(row[0] == n for row in rows):
            rows.append((int(n), int(rng.integers(0, 30)), int(moq[n])))
    rows.sort(key=lambda row: (row[1], row[0]))
    return pd.DataFrame(
        {
            "po_id": [f"PO{i + 1:06d}" for i in range(len(rows))],
            "sku": [series_sku[n] for n, _, _ in rows],
            "location": [locations[n % len(locations)] for n, _, _ in rows],
            "supplier": [series_supplier[n] for n, _, _ in rows],
            "quantity": [q for _, _, q in rows],
            "expected_date": [(end + timedelta(days=d + 1)).isoformat() for _, d, _ in rows],
        }
    )


# --------------------------------------------------------------------------- customers
def _customers(rng: np.random.Generator) -> pd.DataFrame:
    seg = rng.choice(len(_SEGMENTS), size=_N_CUSTOMERS, p=[0.05, 0.2, 0.5, 0.25])
    scale = np.array([4000.0, 1200.0, 300.0, 40.0])[seg]
    spread = np.array([0.4, 0.5, 0.6, 0.7])[seg]
    return pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:05d}" for i in range(_N_CUSTOMERS)],
            "segment": np.array(_SEGMENTS)[seg],
            "lifetime_value": np.round(scale * np.exp(rng.normal(0.0, spread)), 2),
        }
    )


def _customer_orders(
    rng: np.random.Generator,
    end: date,
    days: int,
    weight: np.ndarray,
    on_hand: np.ndarray,
    price: np.ndarray,
    scenario_lines: list[tuple[int, int, int]],
) -> pd.DataFrame:
    """Open order lines at the end date; `weight`, `on_hand` are (sku, location).

    Most open lines are from the last 4 days and not yet due; about 15% of orders are 6-20 days
    old, open only because they are backordered, so they lean to SKU-locations without stock. `scenario_lines` = (sku, location, quantity) lines added on
    purpose, one order each. SKU and location come back as indices.
    """
    n_skus, n_loc = weight.shape
    n_orders = max(15, round(0.75 * n_skus * n_loc))
    orders: list[tuple[int, int, int, bool, list[tuple[int, int]]]] = []
    for _ in range(n_orders):
        old = rng.random() < 0.15
        age = int(rng.integers(6, 21)) if old else int(rng.integers(0, 4))
        loc = int(rng.integers(n_loc))
        w = weight[:, loc] * (np.where(on_hand[:, loc] == 0, 20.0, 1.0) if old else 1.0)
        n_lines = min(1 + int(rng.binomial(3, 0.25)), int(np.count_nonzero(w)))
        picked = np.sort(rng.choice(n_skus, size=n_lines, replace=False, p=w / w.sum()))
        lines = [
            (int(s), int(rng.integers(6, 25)) if rng.random() < 0.05 else 1 + int(rng.poisson(1.2)))
            for s in picked
        ]
        orders.append((age, loc, int(rng.integers(_N_CUSTOMERS)), rng.random() < 0.2, lines))
    for s, loc, qty in scenario_lines:
        age = int(rng.integers(2, 11))
        orders.append((age, loc, int(rng.integers(_N_CUSTOMERS)), rng.random() < 0.3, [(s, qty)]))

    rows = []
    for number, k in enumerate(sorted(range(len(orders)), key=lambda k: (-orders[k][0], k))):
        age, loc, customer, express, lines = orders[k]
        order_date = end - timedelta(days=age)
        promise = int(rng.integers(1, 3)) if express else int(rng.integers(3, 8))
        for s, qty in lines:
            rows.append(
                {
                    "order_id": f"SO{number + 1:06d}",
                    "customer_id": f"C{customer + 1:05d}",
                    "sku": s,
                    "location": loc,
                    "quantity": qty,
                    "order_date": order_date.isoformat(),
                    "shipping": "express" if express else "standard",
                    "promised_date": (order_date + timedelta(days=promise)).isoformat(),
                    "unit_price": float(price[s, loc, days - 1 - age]),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- writing
def _write_csv(df: pd.DataFrame, path: Path) -> None:
    text = df.to_csv(index=False, lineterminator="\n", float_format="%.2f")
    data = text.encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)  # mtime=0: byte-identical reruns
    path.write_bytes(data)


def generate_demo(
    out_dir: str | Path,
    *,
    seed: int = 42,
    n_skus: int = 200,
    n_locations: int = 2,
    days: int = 1095,
    end_date: str = "2026-10-31",
) -> dict:
    """Write the demo data set (one file per table, plus ``truth.json``) into `out_dir`.

    Returns ``{table: row count, ..., "as_of": end_date}``. Same arguments, same bytes.

    >>> import tempfile
    >>> summary = generate_demo(tempfile.mkdtemp(), n_skus=10, n_locations=1, days=200)
    >>> summary["as_of"], summary["products"], summary["customers"]
    ('2026-10-31', 10, 500)
    """
    if n_skus < 10:
        raise ValueError(f"n_skus must be at least 10, got {n_skus}")
    if n_locations < 1:
        raise ValueError(f"n_locations must be at least 1, got {n_locations}")
    if days < 180:
        raise ValueError(
            f"days must be at least 180 (a new SKU launches up to 120 days before "
            f"the end and stockout spells need room), got {days}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    end = date.fromisoformat(str(end_date))
    start = end - timedelta(days=days - 1)
    n_grid = days + _HORIZON
    grid = pd.date_range(start, periods=n_grid, freq="D")
    date_str = np.array([d.isoformat() for d in grid.date[:days]])
    locations = [_STORES[i] if i < len(_STORES) else f"STORE_{i + 1}" for i in range(n_locations)]

    # --- catalogue and SKU types
    products = _products(rng, n_skus)
    cat_idx = products["_cat"].to_numpy()
    skus = products["sku"].to_numpy()
    order = rng.permutation(n_skus)
    n_intermittent = round(0.2 * n_skus)
    n_new = max(1, round(0.05 * n_skus))
    intermittent = np.sort(order[:n_intermittent])
    new = np.sort(order[n_intermittent : n_intermittent + n_new])
    is_intermittent = np.zeros(n_skus, dtype=bool)
    is_intermittent[intermittent] = True
    launch = np.zeros(n_skus, dtype=np.int64)
    launch[new] = days - 1 - rng.integers(30, 121, size=n_new)  # 30-120 days before the end

    level = np.clip(np.exp(rng.normal(np.log(12.0), 0.8, size=n_skus)), 2.0, 60.0)
    level[intermittent] = rng.uniform(0.05, 0.6, size=n_intermittent)
    dispersion = rng.uniform(4.0, 20.0, size=n_skus)
    dispersion[intermittent] = rng.uniform(0.4, 1.2, size=n_intermittent)
    slope = np.clip(rng.normal(0.0, 0.12, size=n_skus), -0.3, 0.3)  # log-change per year
    slope[new] = 0.0
    loc_weight = np.ones(n_locations)
    loc_weight[1:] = 0.7
    if n_locations > 2:
        loc_weight[2:] = rng.uniform(0.5, 1.0, size=n_locations - 2)
    loc_factor = loc_weight[None, :] * np.exp(rng.normal(0.0, 0.2, size=(n_skus, n_locations)))

    # --- calendar effects
    event_mult, events, event_truth = _events(rng, start, n_grid, locations)
    dow = grid.day_of_week.to_numpy()
    doy = grid.day_of_year.to_numpy()
    weekly = np.stack([_weekly_profile(_CATEGORIES[c]) for c in _CATS])  # (cat, weekday)
    yearly = np.stack([_yearly_profile(_CATEGORIES[c], doy) for c in _CATS])  # (cat, day)

    # --- campaigns
    campaigns = _campaigns(rng, cat_idx, launch, n_locations, days)
    camp_mult, discount = _campaign_arrays(campaigns, cat_idx, n_locations, n_grid)

    # --- demand truth (sku, location, grid day)
    t = np.arange(n_grid)
    trend = np.exp(slope[:, None] * (t[None, :] - (days - 1)) / 365.25)
    age = t[None, :] - launch[:, None]
    ramp = np.where(age >= 0, 1.0 - np.exp(-(age + 1) / 10.0), 0.0)
    seasonal = weekly[:, dow] * yearly  # (cat, day)
    mu = (
        (level[:, None] * trend * ramp * seasonal[cat_idx])[:, None, :]
        * loc_factor[:, :, None]
        * event_mult[:, cat_idx, :].transpose(1, 0, 2)
        * camp_mult
    )
    mu_series = mu.reshape(n_skus * n_locations, n_grid)
    disp_series = np.repeat(dispersion, n_locations)
    mu_hist = mu_series[:, :days]
    r = disp_series[:, None]
    demand = rng.negative_binomial(r, r / (r + mu_hist))

    # --- stockouts and the stock sawtooth
    n_series = n_skus * n_locations
    launch_series = np.repeat(launch, n_locations)
    steady = np.flatnonzero(~is_intermittent & (launch == 0))
    # four SKU-locations end the history out of stock: two with a PO coming, two without
    scen_skus = rng.choice(steady, size=4, replace=False)
    scen_series = scen_skus * n_locations + rng.integers(n_locations, size=4)
    zero_with_po, zero_no_po = np.sort(scen_series[:2]), np.sort(scen_series[2:])
    terminal = np.concatenate([zero_with_po, zero_no_po])
    others = np.setdiff1d(np.arange(n_series), terminal)
    n_chosen = max(len(terminal), round(0.25 * n_series)) - len(terminal)
    chosen = np.sort(np.concatenate([terminal, rng.choice(others, n_chosen, replace=False)]))
    spells = _stockout_spells(rng, launch_series, days, chosen, terminal)

    sku_rep = np.repeat(np.arange(n_skus), n_locations)
    lead_time = products["_lt_true"].to_numpy(dtype=np.int64)[sku_rep]
    lead_time_sd = products["_lt_sd_true"].to_numpy(dtype=float)[sku_rep]
    pack = products["pack_size"].to_numpy()[sku_rep]
    moq = products["moq"].to_numpy()[sku_rep]
    sales_q, on_hand, arrivals, held = _simulate_stock(
        rng,
        demand,
        mu_series,
        disp_series,
        launch_series,
        spells,
        lead_time,
        lead_time_sd,
        pack,
        moq,
    )

    # --- sales table
    unit_price = products["unit_price"].to_numpy()
    price = np.round(unit_price[:, None, None] * (1.0 - discount / 100.0), 2)
    price_series = price.reshape(n_series, n_grid)[:, :days]
    live = np.arange(days)[None, :] >= launch_series[:, None]
    ser_idx, day_idx = np.nonzero(live)
    sales = pd.DataFrame(
        {
            "date": date_str[day_idx],
            "sku": skus[ser_idx // n_locations],
            "location": np.array(locations)[ser_idx % n_locations],
            "quantity": sales_q[ser_idx, day_idx],
            "price": price_series[ser_idx, day_idx],
            "on_hand": on_hand[ser_idx, day_idx],
        }
    )

    # --- inventory and open purchase orders
    final = on_hand[:, -1]
    inventory = pd.DataFrame(
        {
            "sku": skus[sku_rep],
            "location": np.tile(locations, n_skus),
            "on_hand": final,
            "as_of": end.isoformat(),
        }
    )
    purchase_orders = _purchase_orders(
        rng,
        arrivals,
        held,
        zero_with_po,
        zero_no_po,
        moq,
        end,
        skus[sku_rep],
        locations,
        products["supplier"].to_numpy()[sku_rep],
    )

    # --- customers and open customer orders
    customers = _customers(rng)
    recent_mean = mu_hist[:, -28:].mean(axis=1)
    final_sl = final.reshape(n_skus, n_locations)
    weight = np.sqrt(recent_mean).reshape(n_skus, n_locations)
    # six SKU-locations with a little stock get orders for more than they hold, from several
    # customers at once: who is served first then depends on the allocation policy
    candidates = np.setdiff1d(steady[:, None] * n_locations + np.arange(n_locations), chosen)
    candidates = candidates[final[candidates] > 0]
    oversold = np.sort(candidates[np.argsort(final[candidates], kind="stable")[:6]])
    scenario_lines = [
        (int(n) // n_locations, int(n) % n_locations, int(rng.integers(2, 9))) for n in terminal
    ]
    scenario_lines += [
        (int(n) // n_locations, int(n) % n_locations, max(1, (int(final[n]) + int(rng.integers(3, 13))) // 4))
        for n in oversold
        for _ in range(4)
    ]
    customer_orders = _customer_orders(
        rng,
        end,
        days,
        weight,
        final_sl,
        price.reshape(n_skus, n_locations, n_grid),
        scenario_lines,
    )
    customer_orders["sku"] = skus[customer_orders["sku"].to_numpy()]
    customer_orders["location"] = np.array(locations)[customer_orders["location"].to_numpy()]

    # --- campaigns table
    def iso(i: int) -> str:
        return (start + timedelta(days=i)).isoformat()

    campaigns_df = pd.DataFrame(
        {
            "sku": [skus[c["sku"]] if c["sku"] >= 0 else "" for c in campaigns],
            "category": [_CATS[c["cat"]] if c["sku"] < 0 else "" for c in campaigns],
            "location": [locations[c["loc"]] if c["loc"] >= 0 else "" for c in campaigns],
            "start_date": [iso(c["start"]) for c in campaigns],
            "end_date": [iso(c["end"]) for c in campaigns],
            "kind": [c["kind"] for c in campaigns],
            "discount_pct": [c["discount"] for c in campaigns],
        }
    )
    campaigns_df = campaigns_df.sort_values(
        ["start_date", "category", "sku", "location"], kind="stable"
    ).reset_index(drop=True)

    suppliers = pd.DataFrame(
        _SUPPLIERS,
        columns=["supplier", "name", "lead_time_days", "lead_time_sd_days", "order_cost"],
    )
    tables = {
        "sales": sales,
        "products": products.drop(columns=["_cat", "_lt_true", "_lt_sd_true"]),
        "suppliers": suppliers,
        "campaigns": campaigns_df,
        "events": events,
        "inventory": inventory,
        "purchase_orders": purchase_orders,
        "customers": customers,
        "customer_orders": customer_orders,
    }
    for name, df in tables.items():
        _write_csv(df, out / TABLE_FILES[name])

    def series_key(n: int) -> list[str]:
        return [str(skus[n // n_locations]), locations[n % n_locations]]

    truth = {
        "as_of": end.isoformat(),
        "start_date": start.isoformat(),
        "params": {
            "seed": seed,
            "n_skus": n_skus,
            "n_locations": n_locations,
            "days": days,
            "end_date": end.isoformat(),
        },
        "demand_model": (
            "mean = level * location_factor * trend * weekly * yearly * events * campaign "
            "* launch_ramp; demand ~ NegBin(mean, dispersion); sales = min(demand, stock)"
        ),
        "campaign_uplift": _campaign_truth(campaigns, days),
        "post_campaign_dip": {
            "after_kinds": ["price_promo"],
            "depth": 1 - _DIP_MULTIPLIER,
            "multiplier": _DIP_MULTIPLIER,
            "length_days": _DIP_DAYS,
        },
        "intermittent_skus": [str(skus[s]) for s in intermittent],
        "new_skus": [str(skus[s]) for s in new],
        "launch_dates": {str(skus[s]): iso(int(launch[s])) for s in new},
        "launch_ramp": "1 - exp(-(days since launch + 1) / 10)",
        "weekly_profile": {c: _rounded(weekly[i].tolist()) for i, c in enumerate(_CATS)},
        "yearly_seasonality": {
            c: {
                "formula": "1 + amplitude * cos(2 pi (day_of_year - peak_day_of_year) / 365.25)",
                "amplitude": p.yearly_amplitude,
                "peak_day_of_year": p.yearly_peak_doy,
            }
            for c, p in _CATEGORIES.items()
        },
        "event_effects": event_truth,
        "closed_dates": [d.isoformat() for d in grid.date if (d.month, d.day) == (12, 25)],
        "stockout_spells": [series_key(n) + [iso(a), iso(b)] for n, a, b in spells],
        "scenarios": {
            "zero_stock_with_po": [series_key(int(n)) for n in zero_with_po],
            "zero_stock_no_po": [series_key(int(n)) for n in zero_no_po],
            "oversold_positive_stock": [series_key(int(n)) for n in oversold],
        },
        "mean_demand_last_28_days": {
            str(skus[s]): {
                loc: round(float(recent_mean[s * n_locations + li]), 4)
                for li, loc in enumerate(locations)
            }
            for s in range(n_skus)
        },
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    summary: dict = {name: len(df) for name, df in tables.items()}
    summary["as_of"] = end.isoformat()
    return summary


def _rounded(values: list[float], ndigits: int = 4) -> list[float]:
    return [round(v, ndigits) for v in values]


def _campaign_truth(campaigns: list[dict], days: int) -> dict:
    """Multiplier per (kind, category), with the mean over the past campaigns that used it."""
    truth: dict = {kind: {} for kind in _KINDS}
    for ci, c in enumerate(_CATS):
        cat = _CATEGORIES[c]
        past = [cp for cp in campaigns if cp["cat"] == ci and cp["end"] < days]
        for kind in _KINDS:
            used = [cp for cp in past if cp["kind"] == kind]
            mults = [_uplift(kind, cat, cp["discount"]) for cp in used]
            entry: dict = {
                "n_past_campaigns": len(used),
                "mean_multiplier": round(float(np.mean(mults)), 4) if mults else None,
            }
            if kind == "price_promo":
                entry |= {
                    "formula": "1 + elasticity * discount_pct / 100",
                    "elasticity": cat.promo_elasticity,
                    "mean_discount_pct": round(float(np.mean([cp["discount"] for cp in used])), 4)
                    if used
                    else None,
                }
            elif kind == "email":
                entry |= {
                    "formula": "1 + lift",
                    "lift": cat.email_lift,
                    "multiplier": round(1 + cat.email_lift, 4),
                }
            else:
                entry |= {
                    "formula": "1 + lift + elasticity * discount_pct / 100",
                    "lift": cat.ad_lift,
                    "elasticity": cat.promo_elasticity,
                }
            truth[kind][c] = entry
    return truth
