"""Deterministic demo data set in the project's input contract.

`generate_demo(out_dir)` writes one file per input table plus ``truth.json``. Everything comes
from ``numpy.random.default_rng(seed)`` and a second stream ``default_rng([seed, 1])`` for the
receipts, order history, pre-orders, dropship and flash sale (no global state, no wall clock),
so the same seed and arguments give byte-identical files. The history ends at ``end_date`` (the
planning "as of" date); open purchase orders, open customer orders and planned campaigns lie
after it.

Tables written (``sales.csv.gz``, the rest plain ``.csv``):

``sales``            date, sku, location, quantity, price, on_hand (one row per SKU x location
                     x day from the SKU's launch date)
``products``         sku, name, category, department, unit_cost, unit_price, supplier,
                     lead_time_days, lead_time_sd_days, moq, pack_size, service_level,
                     preorder, launch_date, dropship
``suppliers``        supplier, name, lead_time_days, lead_time_sd_days, order_cost
``campaigns``        sku, category, location, start_date, end_date, kind, discount_pct,
                     stock_quantity
``events``           date, name, kind, location
``inventory``        sku, location, on_hand, as_of
``purchase_orders``  po_id, sku, location, supplier, quantity, expected_date
``receipts``         po_id, sku, location, supplier, order_date, expected_date, received_date,
                     quantity
``customers``        customer_id, segment, lifetime_value
``customer_orders``  order_id, customer_id, sku, location, quantity, order_date, shipping,
                     promised_date, unit_price, status, status_date

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
- About 20% of products have no lead time of their own (their quoted lead time is the
  supplier's): **lead-time fallback** to the ``suppliers`` table; a few products carry their
  own service level (0.99 or 0.97): **service-level override**.
- Every simulated purchase order delivered by the end is a ``receipts`` row: expected = order
  date + quoted lead time, received = order date + the true lead time drawn from the
  supplier's reliability (:data:`_RELIABILITY`: SUP01 and SUP04 reliably on time, SUP06 often
  late with a long tail), or the day after a stockout spell that held it back. One SKU moves to
  a new supplier (SUP07) 35 days before the end, so SUP07 has only a few receipts:
  **supplier scorecard, real lead-time distributions and the minimum-sample fallback**.
- Customer order history over the last 180 days: lines shipped (mostly on time; late when
  ordered during a stockout spell, after a random handling delay, or when a dropship supplier
  is late) and lines cancelled after a delay with a known Weibull curve; lines still waiting
  past their promise stay open: **backorder book and cancellation risk**.
- Dropship SKUs (1, or 2 from 50 SKUs): sales history and customer orders, no inventory, no
  purchase orders, ``on_hand`` empty: **dropship planning**.
- Pre-order products (1, or 2 from 50 SKUs) launching after the end: no sales, open pre-order
  lines promised on or just after the launch date: **pre-order forecasting and first purchase**.
- A planned 3-day ``flash_sale`` on one SKU-location whose stock set aside is below the
  expected demand of the sale and above the spare stock at its start: **flash-sale cap and the
  largest promisable quantity**.

``truth.json`` records what a test can check against: the campaign multipliers per (kind,
category), the post-campaign dip, the intermittent and new SKUs, event effects, weekly and
yearly profiles, stockout spells, the backorder scenarios, each series' recent mean demand,
each supplier's reliability, the supplier switch, the cancellation curve, the order-history
counts, the dropship SKUs, the pre-order products' demand after launch and the flash sale.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import holidays
import numpy as np
import pandas as pd

from forecast.ingest.contract import FLASH_SALE

__all__ = ["TABLE_FILES", "generate_demo"]

TABLE_FILES = {
    "sales": "sales.csv.gz",
    "products": "products.csv",
    "suppliers": "suppliers.csv",
    "campaigns": "campaigns.csv",
    "events": "events.csv",
    "inventory": "inventory.csv",
    "purchase_orders": "purchase_orders.csv",
    "receipts": "receipts.csv",
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

# supplier, name, lead_time_days, lead_time_sd_days, order_cost (what the master data says)
_SUPPLIERS = (
    ("SUP01", "Northwind Beverages", 5, 1.0, 40.0),
    ("SUP02", "Crunch Foods Co", 7, 1.5, 35.0),
    ("SUP03", "CleanHome Distribution", 14, 3.0, 60.0),
    ("SUP04", "Polar Frozen Logistics", 3, 0.5, 80.0),
    ("SUP05", "PawPlanet Wholesale", 10, 2.0, 50.0),
    ("SUP06", "Global Import Partners", 30, 6.0, 150.0),
    ("SUP07", "Harbor Sourcing Ltd", 8, 1.5, 45.0),  # onboarded late in the history: few receipts
)
_SUPPLIER_INDEX = {row[0]: i for i, row in enumerate(_SUPPLIERS)}
_NEW_SUPPLIER = "SUP07"
_SWITCH_DAYS = 35  # one SKU moves to the new supplier this many days before the end


@dataclass(frozen=True)
class _Reliability:
    """How a supplier really delivers against the lead time it quoted (the receipts' truth).

    actual lead time = rint(quoted + bias + sd * Z + B * E), at least 1 day, with
    Z ~ N(0, 1), B ~ Bernoulli(late_probability), E ~ Exponential(mean late_mean_days):
    a normal spread around the quote plus, now and then, a long late tail.
    """

    bias_days: float
    sd_days: float
    late_probability: float
    late_mean_days: float

    def mean_delay(self) -> float:
        """E[actual - quoted] = bias + p * m (rounding to whole days is unbiased)."""
        return self.bias_days + self.late_probability * self.late_mean_days

    def on_time_probability(self) -> float:
        """P(received on or before the expected date) = P(bias + sd Z + B E < 0.5).

        = (1 - p) Phi(x / sd) + p F(x),  x = 0.5 - bias, with F the exponentially modified
        normal CDF  F(x) = Phi(x / sd) - exp(-x / m + sd^2 / (2 m^2)) Phi(x / sd - sd / m)
        (Grushka 1972, "Characterization of exponentially modified Gaussian peaks").
        """
        x, sd, m, p = 0.5 - self.bias_days, self.sd_days, self.late_mean_days, self.late_probability
        emg = _phi(x / sd) - math.exp(-x / m + sd**2 / (2 * m**2)) * _phi(x / sd - sd / m)
        return (1 - p) * _phi(x / sd) + p * emg


def _phi(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# SUP01 and SUP04 deliver reliably on time; SUP06 (the importer) is often late with a long tail.
_RELIABILITY = {
    "SUP01": _Reliability(bias_days=-1.0, sd_days=0.7, late_probability=0.03, late_mean_days=2.0),
    "SUP02": _Reliability(bias_days=0.0, sd_days=1.0, late_probability=0.08, late_mean_days=3.0),
    "SUP03": _Reliability(bias_days=0.0, sd_days=2.0, late_probability=0.12, late_mean_days=5.0),
    "SUP04": _Reliability(bias_days=-0.5, sd_days=0.5, late_probability=0.05, late_mean_days=1.5),
    "SUP05": _Reliability(bias_days=0.0, sd_days=1.5, late_probability=0.10, late_mean_days=4.0),
    "SUP06": _Reliability(bias_days=1.0, sd_days=3.0, late_probability=0.35, late_mean_days=12.0),
    "SUP07": _Reliability(bias_days=0.0, sd_days=1.5, late_probability=0.15, late_mean_days=4.0),
}

# Customer order history: how lines are shipped, delayed and cancelled.
_HISTORY_DAYS = 180  # shipped and cancelled lines over this many days before the end
_HANDLING_DELAY_PROBABILITY = 0.15  # a warehouse / carrier delay past the promised date ...
_HANDLING_DELAY_MEAN_DAYS = 12.0  # ... of ceil(Exponential(mean)) days
# A waiting line d days past its promised date is cancelled by then with probability
# limit * (1 - exp(-(d / scale)^shape)): a share `limit` of customers would cancel at some
# point, after a Weibull time (shape > 1: their hazard grows with the delay); the rest wait.
_CANCEL_LIMIT = 0.6
_CANCEL_SHAPE = 1.5
_CANCEL_SCALE_DAYS = 15.0
_EARLY_CANCEL_PROBABILITY = 0.01  # change of mind before the promise, whatever the delay

# Pre-order products: launched after the end; orders taken before launch.
_PREORDER_SHARE = 0.15  # pre-orders per day = share * daily demand after launch
# Flash sale: a price cut with extra attention, on the stock set aside for it.
_FLASH_LIFT = 0.5  # multiplier = 1 + lift + elasticity * discount_pct / 100
_FLASH_SET_ASIDE = 0.7  # stock set aside = 0.7 x expected uncapped sale demand: it sells out
_FLASH_SPARE_LOW = 0.3  # and the spare stock at its start is 30-100% of it: promising is tight
_FLASH_HORIZON_DAYS = 28  # preferably over by then: the default forecast horizon (RunSettings)

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
@dataclass(frozen=True)
class _LeadTimePlan:
    """Per (day, series): the quoted lead time of an order placed that day, its supplier
    (index into `_SUPPLIERS`), and the truth around the quote: offset = bias + late tail
    (B * E, drawn in advance) and the normal spread sd."""

    quoted: np.ndarray
    supplier: np.ndarray
    offset: np.ndarray
    sd: np.ndarray


@dataclass(frozen=True)
class _PlacedOrders:
    day: np.ndarray
    series: np.ndarray
    quantity: np.ndarray
    lead_time: np.ndarray


class _StockRun(NamedTuple):
    sales: np.ndarray
    on_hand: np.ndarray
    arrivals: np.ndarray
    held: np.ndarray
    orders: _PlacedOrders


def _reliability_arrays(supplier: np.ndarray) -> tuple[np.ndarray, ...]:
    """bias, sd, late probability, late mean per element of a supplier-index array."""
    table = np.array(
        [
            [r.bias_days, r.sd_days, r.late_probability, r.late_mean_days]
            for r in (_RELIABILITY[row[0]] for row in _SUPPLIERS)
        ]
    )
    return tuple(table[supplier, k] for k in range(4))


def _lead_time_plan(
    rng: np.random.Generator,
    quoted: np.ndarray,
    supplier: np.ndarray,
    days: int,
    switch_series: np.ndarray,
    switch_day: int,
) -> _LeadTimePlan:
    """Quoted lead time and supplier of an order placed on each (day, series).

    `quoted` and `supplier` are per series; from `switch_day` on, `switch_series` order from
    the new supplier at its quoted lead time. The late tail B * E is drawn here.
    """
    n_series = quoted.size
    quoted_ds = np.broadcast_to(quoted, (days, n_series)).copy()
    supplier_ds = np.broadcast_to(supplier, (days, n_series)).copy()
    new = _SUPPLIER_INDEX[_NEW_SUPPLIER]
    quoted_ds[switch_day:, switch_series] = _SUPPLIERS[new][2]
    supplier_ds[switch_day:, switch_series] = new
    bias, sd, p_late, late_mean = _reliability_arrays(supplier_ds)
    late = rng.random((days, n_series)) < p_late
    tail = rng.exponential(size=(days, n_series)) * late_mean
    return _LeadTimePlan(quoted_ds, supplier_ds, bias + np.where(late, tail, 0.0), sd)


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
    lead_times: _LeadTimePlan,
) -> _StockRun:
    """Replenishment sawtooth with forced stockout spells, vectorised across series.

    A buyer who knows the demand mean orders when the inventory position falls to
    ``1.3 * D_P + 3 * sd_P + 1``, where D_P is the mean demand over the protection interval
    (lead time + 2.5 lead-time sd + 1 day) and sd_P its negative-binomial sd, a quantity
    covering 7-21 days, rounded up to packs and at least the MOQ. During a spell deliveries are
    held back and released the day after it (with an emergency delivery if nothing was due);
    on its first day the shelf holds less than that day's demand. Outside spells a same-day
    transfer from the distribution centre tops the shelf up whenever it could not cover the
    day (a long lead-time draw), so the spells are the only censored days.

    The buyer plans with the stated ``lead_time`` / ``lead_time_sd`` (master data); an order
    placed on day d really takes ``rint(quoted + offset + sd * Z)`` days (`lead_times`, the
    supplier's :class:`_Reliability`), at least 1.

    Inputs are (series, day) for demand and (series, grid day) for mu. Returns sales and
    end-of-day on_hand (series, day), the arrivals (series, grid day), goods held back at
    the end (series,) and every order placed (day, series, quantity, lead time).
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
        lead_times.quoted + lead_times.offset + lead_times.sd * rng.normal(size=(days, n_series))
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
    placed: list[tuple[np.ndarray, np.ndarray]] = []
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
            placed.append((np.full(place.size, d), place))
    order_day = np.concatenate([p[0] for p in placed]) if placed else np.zeros(0, np.int64)
    order_series = np.concatenate([p[1] for p in placed]) if placed else np.zeros(0, np.int64)
    orders = _PlacedOrders(
        day=order_day,
        series=order_series,
        quantity=order_qty[order_day, order_series],
        lead_time=lt_draw[order_day, order_series],
    )
    return _StockRun(sales.T, stock.T, arrivals.T, held, orders)


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
    first_number: int,
    no_stock: np.ndarray,
) -> pd.DataFrame:
    """Open POs: the simulated deliveries still due after the end, for ~30% of series.

    Grid day ``days + d`` arrives ``d + 1`` days after the end; goods held back by a spell
    running to the end are due the next day. Expected dates are kept within 1-30 days. The
    "stock 0, no PO" scenario series lose theirs; the "stock 0, PO coming" ones always have one;
    `no_stock` series (dropship) have none. Ids continue after the received POs (`first_number`).
    """
    days = arrivals.shape[1] - _HORIZON
    n_series = arrivals.shape[0]
    due_series, due_day = np.nonzero(arrivals[:, days:])
    open_po = [(int(n), int(d), int(arrivals[n, days + d])) for n, d in zip(due_series, due_day)]
    open_po += [(int(n), 0, int(held[n])) for n in np.flatnonzero(held)]
    keep = set(zero_with_po.tolist())
    rest = sorted(
        {n for n, _, _ in open_po} - keep - set(zero_no_po.tolist()) - set(no_stock.tolist())
    )
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
            "po_id": [f"PO{first_number + i:06d}" for i in range(len(rows))],
            "sku": [series_sku[n] for n, _, _ in rows],
            "location": [locations[n % len(locations)] for n, _, _ in rows],
            "supplier": [series_supplier[n] for n, _, _ in rows],
            "quantity": [q for _, _, q in rows],
            "expected_date": [(end + timedelta(days=d + 1)).isoformat() for _, d, _ in rows],
        }
    )


def _receipts(
    orders: _PlacedOrders,
    plan: _LeadTimePlan,
    spells: list[tuple[int, int, int]],
    days: int,
    no_stock: np.ndarray,
) -> pd.DataFrame:
    """Received purchase orders: every simulated order delivered by the end.

    expected = order day + quoted lead time; received = order day + the true lead time, or,
    when that day falls in a stockout spell (deliveries held back), the day after the spell.
    Orders still due (or still held) at the end are open POs, not receipts; `no_stock`
    (dropship) series have none. Columns hold series and day indices, sorted by order day.
    """
    n_series = plan.quoted.shape[1]
    receive_day = np.tile(np.arange(days + _HORIZON), (n_series, 1))
    for n, a, b in spells:
        receive_day[n, a : b + 1] = b + 1
    arrival = orders.day + orders.lead_time
    received = receive_day[orders.series, arrival]
    keep = (received < days) & ~np.isin(orders.series, no_stock)
    out = pd.DataFrame(
        {
            "series": orders.series[keep],
            "order_day": orders.day[keep],
            "expected_day": orders.day[keep] + plan.quoted[orders.day[keep], orders.series[keep]],
            "received_day": received[keep],
            "supplier": plan.supplier[orders.day[keep], orders.series[keep]],
            "quantity": orders.quantity[keep],
        }
    )
    return out.sort_values(["order_day", "series"], kind="stable").reset_index(drop=True)


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


_LINE_COLUMNS = [
    "_day", "_src", "_order", "sku", "location", "customer", "quantity", "express",
    "promised_day", "unit_price", "status", "status_day",
]  # fmt: skip


def _open_book(
    rng: np.random.Generator,
    days: int,
    weight: np.ndarray,
    on_hand: np.ndarray,
    price: np.ndarray,
    scenario_lines: list[tuple[int, int, int]],
    dropship_lead_time: np.ndarray,
) -> pd.DataFrame:
    """Open order lines at the end date; `weight`, `on_hand` are (sku, location).

    Most open lines are from the last 4 days and not yet due; about 15% of orders are 6-20 days
    old, open only because they are backordered, so they lean to SKU-locations without stock.
    `scenario_lines` = (sku, location, quantity) lines added on purpose, one order each.
    Promises: express 1-2 days, standard 3-7; a dropship SKU (``dropship_lead_time`` >= 0, the
    supplier's quoted days) is promised that lead time + 1 (express) or + 3 days.
    Returns unnumbered lines (:data:`_LINE_COLUMNS`, indices for SKU, location and days).
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
    for k in sorted(range(len(orders)), key=lambda k: (-orders[k][0], k)):
        age, loc, customer, express, lines = orders[k]
        day = days - 1 - age
        promise = int(rng.integers(1, 3)) if express else int(rng.integers(3, 8))
        for s, qty in lines:
            own = int(dropship_lead_time[s])
            days_promised = own + (1 if express else 3) if own >= 0 else promise
            rows.append(
                (day, 1, k, s, loc, customer, qty, express, day + days_promised,
                 float(price[s, loc, day]), "open", -1)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=_LINE_COLUMNS)


#: Above this many (order x SKU) cells the order lines are drawn by successive sampling.
_GUMBEL_CELLS = 500_000_000


def _lines_gumbel(
    rng: np.random.Generator, mu: np.ndarray, loc: np.ndarray, o_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lines per order and up to 4 distinct SKUs per order (Gumbel top-k over every SKU), in
    blocks of orders (the Gumbel draws run block by block in the same order: the same bytes as
    one draw)."""
    n_skus, n_orders = mu.shape[0], o_day.size
    block = max(1, 20_000_000 // max(n_skus, 1))
    starts = range(0, n_orders, block)
    live = np.concatenate(
        [(mu[:, loc[a : a + block], o_day[a : a + block]] > 0).sum(axis=0) for a in starts]
        or [np.zeros(0, dtype=np.int64)]
    )
    n_lines = np.minimum(1 + rng.binomial(3, 0.25, size=n_orders), live)
    k = min(4, n_skus)
    top = np.zeros((n_orders, k), dtype=np.int64)
    for a in starts:
        w = np.sqrt(mu[:, loc[a : a + block], o_day[a : a + block]].T)  # (order, sku)
        with np.errstate(divide="ignore"):
            keys = np.log(w) + rng.gumbel(size=w.shape)
        part = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(keys, part, axis=1)
        rank = np.argsort(-best, axis=1, kind="stable")
        top[a : a + block] = np.take_along_axis(part, rank, axis=1)
    return n_lines, top


def _lines_successive(
    rng: np.random.Generator, mu: np.ndarray, loc: np.ndarray, o_day: np.ndarray, first: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same distribution as :func:`_lines_gumbel` (successive sampling without
    replacement: draws with replacement, duplicates skipped) without an (order x SKU) array:
    8 draws per order by inverse CDF of the order's (day, location) weights; an order whose 8
    draws hold fewer distinct SKUs than its lines gets fewer lines (rare)."""
    n_skus, n_loc = mu.shape[:2]
    n_orders = o_day.size
    group = (o_day - first) * n_loc + loc
    n_groups = (int(o_day.max()) - first + 1) * n_loc if n_orders else 0
    days = first + np.arange(n_groups) // n_loc
    w = np.sqrt(mu[:, np.arange(n_groups) % n_loc, days].T)  # (group, sku)
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1:]
    cum = np.divide(cum, total, out=np.zeros_like(cum), where=total > 0)
    live = (w > 0).sum(axis=1)[group]
    n_lines = np.minimum(1 + rng.binomial(3, 0.25, size=n_orders), live)
    draws = rng.random((n_orders, 8))
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    pick = np.searchsorted(flat, draws + group[:, None], side="right")
    pick = np.clip(pick - group[:, None] * n_skus, 0, n_skus - 1)
    fresh = np.ones(pick.shape, dtype=bool)
    for j in range(1, pick.shape[1]):
        fresh[:, j] = ~(pick[:, :j] == pick[:, j : j + 1]).any(axis=1)
    rank = np.cumsum(fresh, axis=1) - 1
    k = min(4, n_skus)
    top = np.zeros((n_orders, k), dtype=np.int64)
    rows, cols = np.nonzero(fresh & (rank < k))
    top[rows, rank[rows, cols]] = pick[rows, cols]
    n_lines = np.minimum(n_lines, fresh.sum(axis=1))
    return n_lines, top


def _order_history(
    rng: np.random.Generator,
    days: int,
    mu: np.ndarray,
    price: np.ndarray,
    on_hand: np.ndarray,
    dropship: np.ndarray,
    plan: _LeadTimePlan,
) -> pd.DataFrame:
    """Customer order lines of the last `_HISTORY_DAYS` days with their outcome.

    Orders arrive ~ Poisson(max(4, 0.15 x series)) a day, at a random location, 1-4 lines
    picked with probability ~ sqrt(mean demand that day); promises as in the open book.
    A stocked line ships 0-2 days after the order, or, if the SKU-location is out of stock
    (a stockout spell: on_hand 0), on the first day it has stock again; with probability
    `_HANDLING_DELAY_PROBABILITY` a warehouse / carrier delay pushes it to
    ``promised + ceil(Exponential(_HANDLING_DELAY_MEAN_DAYS))``. A dropship line ships when the
    supplier does: order day + its true lead time (:class:`_Reliability`).

    Cancellation (a mixture cure model, Boag 1949): with probability `_CANCEL_LIMIT` a line's
    customer would cancel C ~ scale * Weibull(shape) days past the promise, else never; a line
    late by D > C days is cancelled on ``promised + ceil(C)``, so
    P(cancelled by t days late) = limit * (1 - exp(-(t / scale)^shape)). Apart from that, with
    probability `_EARLY_CANCEL_PROBABILITY` a customer changes their mind on a day between the
    order and the promise, before the line ships (not caused by a delay). Lines resolved by
    the end are shipped / cancelled with that date; lines still waiting past their promise are
    open (backordered); lines not yet due are left to the open book. `mu` and `price` are
    (sku, location, grid day), `on_hand` (series, day).
    """
    n_skus, n_loc = mu.shape[:2]
    first = days - _HISTORY_DAYS
    per_day = rng.poisson(max(4.0, 0.15 * n_skus * n_loc), size=_HISTORY_DAYS)
    o_day = np.repeat(np.arange(first, days), per_day)
    n_orders = o_day.size
    loc = rng.integers(n_loc, size=n_orders)
    customer = rng.integers(_N_CUSTOMERS, size=n_orders)
    express = rng.random(n_orders) < 0.2
    promise = np.where(express, rng.integers(1, 3, n_orders), rng.integers(3, 8, n_orders))

    # 1-4 distinct SKUs per order, weighted by sqrt(mean demand), without replacement.
    if n_orders * n_skus <= _GUMBEL_CELLS:
        n_lines, top = _lines_gumbel(rng, mu, loc, o_day)
    else:  # a large catalogue (the 10,000-SKU pipeline bench)
        n_lines, top = _lines_successive(rng, mu, loc, o_day, first)
    order, slot = np.nonzero(np.arange(top.shape[1])[None, :] < n_lines[:, None])
    sku = top[order, slot]
    line = pd.DataFrame({"order": order, "sku": sku}).sort_values(["order", "sku"], kind="stable")
    order, sku = line["order"].to_numpy(), line["sku"].to_numpy()
    n = order.size
    day, lc = o_day[order], loc[order]
    series = sku * n_loc + lc
    quantity = np.where(rng.random(n) < 0.05, rng.integers(6, 25, n), 1 + rng.poisson(1.2, n))

    # stocked lines: ship when picked and in stock, sometimes held up past the promise
    stocked_day = np.where(on_hand > 0, np.arange(days)[None, :], days + _HORIZON)
    next_stocked = np.minimum.accumulate(stocked_day[:, ::-1], axis=1)[:, ::-1]
    promised = day + promise[order]
    ship = np.maximum(
        day + rng.integers(0, np.where(express[order], 2, 3)), next_stocked[series, day]
    )
    held_up = rng.random(n) < _HANDLING_DELAY_PROBABILITY
    extra = np.ceil(rng.exponential(_HANDLING_DELAY_MEAN_DAYS, n)).astype(np.int64)
    ship = np.where(held_up, np.maximum(ship, promised + extra), ship)
    # dropship lines: the supplier ships after its true lead time
    quoted, supplier = plan.quoted[day, series], plan.supplier[day, series]
    bias, sd, p_late, late_mean = _reliability_arrays(supplier)
    late = rng.random(n) < p_late
    actual = np.rint(
        quoted + bias + sd * rng.normal(size=n) + late * rng.exponential(size=n) * late_mean
    )
    is_dropship = dropship[sku]
    promised = np.where(is_dropship, day + quoted + np.where(express[order], 1, 3), promised)
    ship = np.where(is_dropship, day + np.clip(actual, 1, _HORIZON - 1).astype(np.int64), ship)

    would = rng.random(n) < _CANCEL_LIMIT
    wait = np.where(would, _CANCEL_SCALE_DAYS * rng.weibull(_CANCEL_SHAPE, n), np.inf)
    delay = ship - promised
    cancelled = (delay > 0) & (wait < delay)
    cancel_day = promised + np.maximum(np.ceil(np.where(cancelled, wait, 1.0)), 1).astype(np.int64)
    status_day = np.where(cancelled, cancel_day, ship)
    # changes of mind: a day from the order to the promise, before the line ships
    before = np.minimum(ship, promised + 1) - day  # days on which it can still happen
    early = (rng.random(n) < _EARLY_CANCEL_PROBABILITY) & (before > 0)
    early_day = day + (rng.random(n) * np.maximum(before, 1)).astype(np.int64)
    cancelled |= early
    status_day = np.where(early, early_day, status_day)
    resolved = status_day <= days - 1
    waiting = ~resolved & (promised < days - 1)
    status = np.where(resolved, np.where(cancelled, "cancelled", "shipped"), "open")
    keep = resolved | waiting
    out = pd.DataFrame(
        {
            "_day": day,
            "_src": 0,
            "_order": order,
            "sku": sku,
            "location": lc,
            "customer": customer[order],
            "quantity": quantity,
            "express": express[order],
            "promised_day": promised,
            "unit_price": price[sku, lc, day],
            "status": status,
            "status_day": np.where(resolved, status_day, -1),
        }
    )
    return out[keep].reset_index(drop=True)


def _preorder_lines(
    rng: np.random.Generator, days: int, preorders: list[dict], n_loc: int
) -> pd.DataFrame:
    """Open pre-order lines: from `window_start` to the end, ~ Poisson(`_PREORDER_SHARE` x the
    daily demand after launch) orders a day per location, one line of 1 + Poisson(0.3) units,
    promised on the launch date or up to 3 days after. SKU indices come from `preorders`."""
    rows = []
    k = 0
    for p in preorders:
        for day in range(p["window_start"], days):
            counts = rng.poisson(_PREORDER_SHARE * p["level"])  # per location
            for loc in range(n_loc):
                for _ in range(int(counts[loc])):
                    express = bool(rng.random() < 0.2)
                    rows.append(
                        (day, 2, k, p["sku"], loc, int(rng.integers(_N_CUSTOMERS)),
                         1 + int(rng.poisson(0.3)), express,
                         p["launch_day"] + int(rng.integers(0, 4)), p["price"], "open", -1)
                    )  # fmt: skip
                    k += 1
    return pd.DataFrame(rows, columns=_LINE_COLUMNS)


def _number_orders(
    lines: list[pd.DataFrame],
    start: date,
    skus: np.ndarray,
    locations: list[str],
) -> pd.DataFrame:
    """One ``customer_orders`` table: orders numbered by order date (SO000001, ...), dates and
    names filled in."""
    df = pd.concat(lines, ignore_index=True)
    df = df.sort_values(["_day", "_src", "_order", "sku"], kind="stable").reset_index(drop=True)
    number = pd.factorize(df["_src"].to_numpy() * 10**9 + df["_order"].to_numpy())[0]
    dates = np.array(
        [
            (start + timedelta(days=i)).isoformat()
            for i in range(
                int(max(df["_day"].max(), df["promised_day"].max(), df["status_day"].max())) + 1
            )
        ]
    )
    return pd.DataFrame(
        {
            "order_id": [f"SO{i + 1:06d}" for i in number],
            "customer_id": [f"C{c + 1:05d}" for c in df["customer"]],
            "sku": skus[df["sku"].to_numpy()],
            "location": np.array(locations)[df["location"].to_numpy()],
            "quantity": df["quantity"].to_numpy(dtype=np.int64),
            "order_date": dates[df["_day"].to_numpy()],
            "shipping": np.where(df["express"].to_numpy(dtype=bool), "express", "standard"),
            "promised_date": dates[df["promised_day"].to_numpy()],
            "unit_price": df["unit_price"].to_numpy(dtype=float),
            "status": df["status"].to_numpy(),
            "status_date": np.where(
                df["status_day"] >= 0, dates[df["status_day"].clip(lower=0)], ""
            ),
        }
    )


# --------------------------------------------------------------------------- new products, flash sale
def _preorder_products(
    rng: np.random.Generator, n: int, first_number: int, days: int, loc_weight: np.ndarray
) -> tuple[pd.DataFrame, list[dict]]:
    """`n` pre-order products, launched 7-21 days after their supplier's lead time from the end.

    Each has a true daily demand after launch (per location: level ~ LogNormal(log 6, 0.4)
    clipped to 2-20, times the location weight) and takes pre-orders from 14-28 days before the
    end. Returns the product rows and, per product, what :func:`_preorder_lines` needs.
    """
    shares = np.array([c.share for c in _CATEGORIES.values()])
    rows, info = [], []
    for j in range(n):
        ci = int(rng.choice(len(_CATS), p=shares / shares.sum()))
        cat = _CATEGORIES[_CATS[ci]]
        sup = _SUPPLIERS[_SUPPLIER_INDEX[cat.suppliers[0]]]
        lt = max(1, sup[2] + int(rng.integers(-1, 4)))
        price = round(float(cat.price_median * np.exp(rng.normal(0.0, 0.35))), 2)
        pack = int(rng.choice(cat.pack_sizes))
        launch_day = days - 1 + lt + int(rng.integers(7, 22))
        level = float(np.clip(np.exp(rng.normal(np.log(6.0), 0.4)), 2.0, 20.0))
        number = first_number + j
        rows.append(
            {
                "sku": f"SKU{number:04d}",
                "name": f"{_BRANDS[int(rng.integers(len(_BRANDS)))]} "
                f"{cat.nouns[int(rng.integers(len(cat.nouns)))]} #{number} (new)",
                "category": _CATS[ci],
                "department": cat.department,
                "unit_cost": round(price * float(rng.uniform(0.45, 0.75)), 2),
                "unit_price": price,
                "supplier": sup[0],
                "lead_time_days": lt,
                "lead_time_sd_days": round(sup[3] * float(rng.uniform(0.7, 1.3)), 2),
                "moq": pack * int(rng.choice([1, 2, 4])),
                "pack_size": pack,
                "service_level": np.nan,
                "_launch_day": launch_day,
            }
        )
        info.append(
            {
                "sku": number - 1,
                "level": level * loc_weight,
                "launch_day": launch_day,
                "window_start": days - int(rng.integers(14, 29)),
                "price": price,
            }
        )
    return pd.DataFrame(rows), info


def _flash_windows(campaigns: list[dict], sku: int, cat: int, loc: int, days: int) -> list[int]:
    """Start days, 10-90 days after the end, of a 3-day flash sale that keeps 3 days clear of
    every campaign (and its dip) on that SKU, its category or that location."""
    starts = []
    for start in range(days + 9, days + 90):
        stop = start + 2
        clash = any(
            (cp["sku"] == sku or (cp["sku"] < 0 and cp["cat"] == cat))
            and (cp["loc"] < 0 or cp["loc"] == loc)
            and cp["start"] - 3 <= stop
            and start <= cp["end"] + _DIP_DAYS + 3
            for cp in campaigns
        )
        if not clash:
            starts.append(start)
    return starts


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
    The catalogue holds `n_skus` products with history plus the pre-order products.

    >>> import tempfile
    >>> summary = generate_demo(tempfile.mkdtemp(), n_skus=10, n_locations=1, days=200)
    >>> summary["as_of"], summary["products"], summary["customers"], summary["suppliers"]
    ('2026-10-31', 11, 500, 7)
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
    # the new features draw from a second stream, so the first one stays as it was
    rng_x = np.random.default_rng([seed, 1])
    # dropship SKUs (shipped by the supplier: no stock, no spells) and the SKU that moves to a
    # new supplier late in the history, both steady SKUs outside the scenarios
    free = np.setdiff1d(steady, scen_skus)
    n_dropship = min(1 if n_skus < 50 else 2, len(free) - 1)
    # prefer SKUs whose supplier also delivers stocked SKUs: its receipts then show the risk
    sup_of = products["supplier"].to_numpy()
    shared = np.array([(sup_of == sup_of[s]).sum() > 1 for s in free])
    pool = free[shared] if shared.sum() >= n_dropship + 1 else free
    dropship_skus = np.sort(rng_x.choice(pool, size=n_dropship, replace=False))
    switch_sku = int(rng_x.choice(np.setdiff1d(free, dropship_skus)))
    is_dropship = np.zeros(n_skus, dtype=bool)
    is_dropship[dropship_skus] = True
    dropship_series = np.flatnonzero(np.repeat(is_dropship, n_locations))
    others = np.setdiff1d(np.arange(n_series), np.concatenate([terminal, dropship_series]))
    n_chosen = max(len(terminal), round(0.25 * n_series)) - len(terminal)
    chosen = np.sort(np.concatenate([terminal, rng.choice(others, n_chosen, replace=False)]))
    spells = _stockout_spells(rng, launch_series, days, chosen, terminal)

    sku_rep = np.repeat(np.arange(n_skus), n_locations)
    lead_time = products["_lt_true"].to_numpy(dtype=np.int64)[sku_rep]
    lead_time_sd = products["_lt_sd_true"].to_numpy(dtype=float)[sku_rep]
    pack = products["pack_size"].to_numpy()[sku_rep]
    moq = products["moq"].to_numpy()[sku_rep]
    supplier_idx = products["supplier"].map(_SUPPLIER_INDEX).to_numpy()[sku_rep]
    switch_day = days - 1 - _SWITCH_DAYS
    switch_series = switch_sku * n_locations + np.arange(n_locations)
    plan = _lead_time_plan(rng_x, lead_time, supplier_idx, days, switch_series, switch_day)
    run = _simulate_stock(
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
        plan,
    )
    on_hand = run.on_hand

    # --- sales table (dropship SKUs: sales = demand, no stock kept, on_hand unknown)
    unit_price = products["unit_price"].to_numpy()
    price = np.round(unit_price[:, None, None] * (1.0 - discount / 100.0), 2)
    price_series = price.reshape(n_series, n_grid)[:, :days]
    live = np.arange(days)[None, :] >= launch_series[:, None]
    ser_idx, day_idx = np.nonzero(live)
    stocked = ~is_dropship[ser_idx // n_locations]
    sales = pd.DataFrame(
        {
            "date": date_str[day_idx],
            "sku": skus[ser_idx // n_locations],
            "location": np.array(locations)[ser_idx % n_locations],
            "quantity": np.where(stocked, run.sales[ser_idx, day_idx], demand[ser_idx, day_idx]),
            "price": price_series[ser_idx, day_idx],
            "on_hand": pd.array(np.where(stocked, on_hand[ser_idx, day_idx], 0), dtype="Int64"),
        }
    )
    sales.loc[~stocked, "on_hand"] = pd.NA

    # --- inventory, received and open purchase orders
    final = on_hand[:, -1]
    stocked_series = np.flatnonzero(~np.repeat(is_dropship, n_locations))
    inventory = pd.DataFrame(
        {
            "sku": skus[sku_rep][stocked_series],
            "location": np.tile(locations, n_skus)[stocked_series],
            "on_hand": final[stocked_series],
            "as_of": end.isoformat(),
        }
    )
    received = _receipts(run.orders, plan, spells, days, dropship_series)
    supplier_names = np.array([row[0] for row in _SUPPLIERS])
    receipts = pd.DataFrame(
        {
            "po_id": [f"PO{i + 1:06d}" for i in range(len(received))],
            "sku": skus[received["series"].to_numpy() // n_locations],
            "location": np.array(locations)[received["series"].to_numpy() % n_locations],
            "supplier": supplier_names[received["supplier"].to_numpy()],
            "order_date": date_str[received["order_day"].to_numpy()],
            "expected_date": [_iso_day(start, d) for d in received["expected_day"]],
            "received_date": date_str[received["received_day"].to_numpy()],
            "quantity": received["quantity"].to_numpy(),
        }
    )
    series_supplier = products["supplier"].to_numpy()[sku_rep].copy()
    series_supplier[switch_series] = _NEW_SUPPLIER
    purchase_orders = _purchase_orders(
        rng,
        run.arrivals,
        run.held,
        zero_with_po,
        zero_no_po,
        moq,
        end,
        skus[sku_rep],
        locations,
        series_supplier,
        len(receipts) + 1,
        dropship_series,
    )

    # --- customers and customer orders: the open book, the history, the pre-orders
    customers = _customers(rng)
    recent_mean = mu_hist[:, -28:].mean(axis=1)
    final_sl = final.reshape(n_skus, n_locations)
    weight = np.sqrt(recent_mean).reshape(n_skus, n_locations)
    # six SKU-locations with a little stock get orders for more than they hold, from several
    # customers at once: who is served first then depends on the allocation policy
    candidates = np.setdiff1d(steady[:, None] * n_locations + np.arange(n_locations), chosen)
    candidates = np.setdiff1d(candidates, dropship_series)
    candidates = candidates[final[candidates] > 0]
    oversold = np.sort(candidates[np.argsort(final[candidates], kind="stable")[:6]])
    scenario_lines = [
        (int(n) // n_locations, int(n) % n_locations, int(rng.integers(2, 9))) for n in terminal
    ]
    scenario_lines += [
        (
            int(n) // n_locations,
            int(n) % n_locations,
            max(1, (int(final[n]) + int(rng.integers(3, 13))) // 4),
        )
        for n in oversold
        for _ in range(4)
    ]
    quoted_by_sku = products["_lt_true"].to_numpy(dtype=np.int64)
    open_book = _open_book(
        rng,
        days,
        weight,
        final_sl,
        price.reshape(n_skus, n_locations, n_grid),
        scenario_lines,
        np.where(is_dropship, quoted_by_sku, -1),
    )
    history = _order_history(
        rng_x,
        days,
        mu,
        price.reshape(n_skus, n_locations, n_grid),
        on_hand,
        is_dropship,
        plan,
    )
    n_preorder = 1 if n_skus < 50 else 2
    preorder_products, preorders = _preorder_products(
        rng_x, n_preorder, n_skus + 1, days, loc_weight
    )
    all_skus = np.concatenate([skus, preorder_products["sku"].to_numpy()])
    customer_orders = _number_orders(
        [history, open_book, _preorder_lines(rng_x, days, preorders, n_locations)],
        start,
        all_skus,
        locations,
    )

    # --- a planned flash sale on a popular SKU-location whose spare stock is tight
    open_lines = customer_orders[customer_orders["status"] == "open"]
    open_qty = open_lines.groupby(["sku", "location"])["quantity"].sum()
    series_keys = list(zip(skus[sku_rep], np.tile(locations, n_skus)))
    open_series = np.array([open_qty.get(k, 0) for k in series_keys])
    # popular steady series with open lines first, outside the other scenarios; then any
    pool = np.setdiff1d(
        np.flatnonzero(np.repeat(~is_intermittent & (launch == 0) & ~is_dropship, n_locations)),
        terminal,
    )
    first_pick = np.setdiff1d(pool, np.concatenate([oversold, switch_series]))
    first_pick = first_pick[
        (open_series[first_pick] > 0) & (final[first_pick] > open_series[first_pick])
    ]
    eligible = np.concatenate(
        [
            first_pick[np.argsort(-recent_mean[first_pick], kind="stable")],
            (rest := np.setdiff1d(pool, first_pick))[np.argsort(-recent_mean[rest], kind="stable")],
        ]
    )
    disc = float(rng_x.choice([30, 40, 50]))
    flash, fallback = None, None
    # first within the default 28-day forecast horizon (so the forecast shows the cap), then later
    for last_start in (days - 1 + _FLASH_HORIZON_DAYS - 2, days + 90):
        for n in eligible:
            s_idx, l_idx = int(n) // n_locations, int(n) % n_locations
            cat = _CATEGORIES[_CATS[int(cat_idx[s_idx])]]
            multiplier = 1.0 + _FLASH_LIFT + cat.promo_elasticity * disc / 100.0
            mine = purchase_orders[
                (purchase_orders["sku"] == skus[s_idx])
                & (purchase_orders["location"] == locations[l_idx])
            ]
            for fstart in _flash_windows(campaigns, s_idx, int(cat_idx[s_idx]), l_idx, days):
                if fstart > last_start:
                    break
                uncapped = float(mu_series[n, fstart : fstart + 3].sum()) * multiplier
                stock_q = math.ceil(_FLASH_SET_ASIDE * uncapped)
                due = int(
                    mine.loc[mine["expected_date"] < _iso_day(start, fstart), "quantity"].sum()
                )
                before = float(mu_series[n, days:fstart].sum())
                spare = int(final[n]) + due - int(open_series[n]) - before
                candidate = (int(n), fstart, multiplier, uncapped, stock_q, due, before, spare)
                fallback = fallback or candidate
                if _FLASH_SPARE_LOW * stock_q <= spare < stock_q:
                    flash = candidate
                    break
            if flash is not None:
                break
        if flash is not None:
            break
    flash = flash or fallback
    flash_truth = None
    stock_quantity = np.full(len(campaigns), np.nan)
    if flash is not None:
        n, fstart, multiplier, uncapped, stock_q, due, before, spare = flash
        s_idx, l_idx = n // n_locations, n % n_locations
        cat = _CATEGORIES[_CATS[int(cat_idx[s_idx])]]
        campaigns.append(_campaign(s_idx, int(cat_idx[s_idx]), l_idx, fstart, 3, FLASH_SALE, disc))
        stock_quantity = np.append(stock_quantity, stock_q)
        flash_truth = {
            "sku": str(skus[s_idx]),
            "location": locations[l_idx],
            "start_date": _iso_day(start, fstart),
            "end_date": _iso_day(start, fstart + 2),
            "discount_pct": disc,
            "multiplier": round(multiplier, 4),
            "multiplier_formula": "1 + lift + elasticity * discount_pct / 100",
            "lift": _FLASH_LIFT,
            "elasticity": cat.promo_elasticity,
            "expected_uncapped_sale_demand": round(uncapped, 2),
            "stock_quantity": stock_q,
            "stock_quantity_rule": f"ceil({_FLASH_SET_ASIDE} * expected uncapped sale demand)",
            "on_hand": int(final[n]),
            "po_quantity_due_before_start": due,
            "open_order_quantity": int(open_series[n]),
            "expected_demand_before_start": round(before, 2),
            "spare_stock_at_start": round(spare, 2),
            "spare_rule": "on_hand + POs due before the start - open lines - expected demand "
            "before the start; chosen so that 0.3 * stock_quantity <= spare < stock_quantity",
            "note": "planned after the simulated history: the buyer and the sales never saw it",
        }

    # --- campaigns table
    def iso(i: int) -> str:
        return _iso_day(start, i)

    campaigns_df = pd.DataFrame(
        {
            "sku": [skus[c["sku"]] if c["sku"] >= 0 else "" for c in campaigns],
            "category": [_CATS[c["cat"]] if c["sku"] < 0 else "" for c in campaigns],
            "location": [locations[c["loc"]] if c["loc"] >= 0 else "" for c in campaigns],
            "start_date": [iso(c["start"]) for c in campaigns],
            "end_date": [iso(c["end"]) for c in campaigns],
            "kind": [c["kind"] for c in campaigns],
            "discount_pct": [c["discount"] for c in campaigns],
            "stock_quantity": pd.array(stock_quantity, dtype="Int64"),
        }
    )
    campaigns_df = campaigns_df.sort_values(
        ["start_date", "category", "sku", "location"], kind="stable"
    ).reset_index(drop=True)

    # --- product master: the switched SKU names its new supplier (whose lead time applies)
    products_out = products.drop(columns=["_cat", "_lt_true", "_lt_sd_true"])
    products_out.loc[switch_sku, ["supplier", "lead_time_days", "lead_time_sd_days"]] = [
        _NEW_SUPPLIER,
        pd.NA,
        np.nan,
    ]
    products_out["preorder"] = "no"
    products_out["launch_date"] = ""
    products_out["dropship"] = np.where(is_dropship, "yes", "no")
    preorder_out = preorder_products.drop(columns=["_launch_day"]).assign(
        preorder="yes",
        launch_date=[iso(d) for d in preorder_products["_launch_day"]],
        dropship="no",
    )
    products_out = pd.concat([products_out, preorder_out], ignore_index=True)
    products_out["lead_time_days"] = products_out["lead_time_days"].astype("Int64")

    suppliers = pd.DataFrame(
        _SUPPLIERS,
        columns=["supplier", "name", "lead_time_days", "lead_time_sd_days", "order_cost"],
    )
    tables = {
        "sales": sales,
        "products": products_out,
        "suppliers": suppliers,
        "campaigns": campaigns_df,
        "events": events,
        "inventory": inventory,
        "purchase_orders": purchase_orders,
        "receipts": receipts,
        "customers": customers,
        "customer_orders": customer_orders,
    }
    for name, df in tables.items():
        _write_csv(df, out / TABLE_FILES[name])

    def series_key(n: int) -> list[str]:
        return [str(skus[n // n_locations]), locations[n % n_locations]]

    history_lines = customer_orders[customer_orders["status"] != "open"]
    late = history_lines["status_date"] > history_lines["promised_date"]
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
        "supplier_reliability": _supplier_truth(receipts),
        "supplier_switch": {
            "sku": str(skus[switch_sku]),
            "from": str(products.loc[switch_sku, "supplier"]),
            "to": _NEW_SUPPLIER,
            "date": iso(switch_day),
        },
        "cancellation": {
            "model": "mixture cure model with a Weibull latency, in days past the promised date",
            "formula": "P(cancelled by t days late) = limit * (1 - exp(-(t / scale_days) ** shape))",
            "limit": _CANCEL_LIMIT,
            "shape": _CANCEL_SHAPE,
            "scale_days": _CANCEL_SCALE_DAYS,
            "cancelled_on": "promised_date + ceil(C), C ~ scale_days * Weibull(shape), "
            "for a share `limit` of lines (the others never cancel)",
            "before_promise": {
                "probability": _EARLY_CANCEL_PROBABILITY,
                "note": "a change of mind between the order and the promise, before shipping; "
                "not caused by a delay",
            },
        },
        "order_history": {
            "history_days": _HISTORY_DAYS,
            "handling_delay": {
                "probability": _HANDLING_DELAY_PROBABILITY,
                "days_late": f"ceil(Exponential(mean {_HANDLING_DELAY_MEAN_DAYS}))",
            },
            "stockout_delay": "a line ordered in a stockout spell ships when stock is back",
            "dropship_delay": "a dropship line ships after the supplier's true lead time",
            "shipped": int((history_lines["status"] == "shipped").sum()),
            "shipped_late": int((late & (history_lines["status"] == "shipped")).sum()),
            "cancelled": int((history_lines["status"] == "cancelled").sum()),
            "open_past_promise": int(
                (
                    (customer_orders["status"] == "open")
                    & (customer_orders["promised_date"] < end.isoformat())
                ).sum()
            ),
        },
        "dropship_skus": [str(skus[s]) for s in dropship_skus],
        "preorders": {
            str(all_skus[p["sku"]]): {
                "launch_date": iso(p["launch_day"]),
                "preorders_from": iso(p["window_start"]),
                "daily_demand_after_launch": {
                    loc: round(float(p["level"][li]), 4) for li, loc in enumerate(locations)
                },
                "preorder_share": _PREORDER_SHARE,
                "formula": "pre-orders per day ~ Poisson(preorder_share * daily demand after launch)",
            }
            for p in preorders
        },
        "flash_sale": flash_truth,
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    summary: dict = {name: len(df) for name, df in tables.items()}
    summary["as_of"] = end.isoformat()
    return summary


def _iso_day(start: date, i: int) -> str:
    """ISO date of grid day `i` (day 0 = `start`)."""
    return (start + timedelta(days=int(i))).isoformat()


def _supplier_truth(receipts: pd.DataFrame) -> dict:
    """Per supplier: the reliability parameters, what they imply, and the receipts behind them."""
    counts = receipts["supplier"].value_counts()
    on_time = (
        (receipts["received_date"] <= receipts["expected_date"])
        .groupby(receipts["supplier"])
        .mean()
    )
    out = {}
    for sup, rel in _RELIABILITY.items():
        out[sup] = {
            "quoted_lead_time_days": _SUPPLIERS[_SUPPLIER_INDEX[sup]][2],
            "bias_days": rel.bias_days,
            "sd_days": rel.sd_days,
            "late_probability": rel.late_probability,
            "late_mean_days": rel.late_mean_days,
            "formula": "actual = max(1, rint(quoted + bias + sd * Z + B * E)), "
            "B ~ Bernoulli(late_probability), E ~ Exponential(mean late_mean_days)",
            "mean_delay_days": round(rel.mean_delay(), 4),
            "on_time_probability": round(rel.on_time_probability(), 4),
            "receipts": int(counts.get(sup, 0)),
            "observed_on_time_rate": round(float(on_time[sup]), 4) if sup in on_time else None,
        }
    return out


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
