"""What every demo table generator shares: the file names, the day grid, the category table.

The grid runs from the first history day (day 0 = ``start``) to ``end`` (the as-of date, day
``days - 1``) and then `_HORIZON` days further, for events ahead, planned campaigns and the
buyer's look-ahead. Days are grid indices everywhere; :meth:`_Calendar.iso` turns them into
ISO dates. Tables are written by :func:`_write_csv` (byte-identical reruns).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

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
    "stock_movements": "stock_movements.csv",
}

_HORIZON = 120  # days of calendar past the end: events ahead, planned campaigns, buyer's look-ahead
_N_CUSTOMERS = 500

_STORES = ("STORE_N", "STORE_S", "STORE_E", "STORE_W", "STORE_C")


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


@dataclass(frozen=True)
class _Calendar:
    """The day grid: `days` days of history from `start` to `end`, then `_HORIZON` days ahead,
    and the store names (index = location)."""

    start: date
    end: date
    days: int
    grid: pd.DatetimeIndex
    date_str: np.ndarray  # ISO date of each history day
    locations: list[str]

    @property
    def n_grid(self) -> int:
        return self.days + _HORIZON

    @property
    def n_locations(self) -> int:
        return len(self.locations)

    def iso(self, i: int) -> str:
        """ISO date of grid day `i`."""
        return _iso_day(self.start, i)


def _calendar(end_date: str, days: int, n_locations: int) -> _Calendar:
    """The grid of a history of `days` days ending on `end_date`, and `n_locations` stores."""
    end = date.fromisoformat(str(end_date))
    start = end - timedelta(days=days - 1)
    n_grid = days + _HORIZON
    grid = pd.date_range(start, periods=n_grid, freq="D")
    date_str = np.array([d.isoformat() for d in grid.date[:days]])
    locations = [_STORES[i] if i < len(_STORES) else f"STORE_{i + 1}" for i in range(n_locations)]
    return _Calendar(start, end, days, grid, date_str, locations)


def _iso_day(start: date, i: int) -> str:
    """ISO date of grid day `i` (day 0 = `start`)."""
    return (start + timedelta(days=int(i))).isoformat()


def _rounded(values: list[float], ndigits: int = 4) -> list[float]:
    return [round(v, ndigits) for v in values]


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    text = df.to_csv(index=False, lineterminator="\n", float_format="%.2f")
    data = text.encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)  # mtime=0: byte-identical reruns
    path.write_bytes(data)
