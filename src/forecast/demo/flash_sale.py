"""The planned flash sale: a row of the ``campaigns`` table with the stock set aside for it.

A 3-day ``flash_sale`` on one popular SKU-location, planned after the simulated history (the
buyer and the sales never saw it), whose stock set aside is below the expected demand of the
sale and above the spare stock at its start: **flash-sale cap and the largest promisable
quantity**.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from forecast.demo.campaigns import _DIP_DAYS, _campaign
from forecast.demo.common import _CATEGORIES, _CATS
from forecast.demo.stock import _Simulation
from forecast.ingest.contract import FLASH_SALE

# Flash sale: a price cut with extra attention, on the stock set aside for it.
_FLASH_LIFT = 0.5  # multiplier = 1 + lift + elasticity * discount_pct / 100
_FLASH_SET_ASIDE = 0.7  # stock set aside = 0.7 x expected uncapped sale demand: it sells out
_FLASH_SPARE_LOW = 0.3  # and the spare stock at its start is 30-100% of it: promising is tight
_FLASH_HORIZON_DAYS = 28  # preferably over by then: the default forecast horizon (RunSettings)


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


class _FlashSale(NamedTuple):
    campaign: dict  # as :func:`forecast.demo.campaigns._campaign`
    stock_quantity: int
    truth: dict  # for truth.json


def _flash_pool(
    sim: _Simulation, oversold: np.ndarray, customer_orders: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """The series that may hold the sale, best first, and the open order quantity per series.

    Popular steady series with open lines (and more stock than they have open lines) first,
    outside the other scenarios; then any steady stocked series.
    """
    catalogue, roles, final = sim.catalogue, sim.roles, sim.final
    n_skus, locations, n_locations = catalogue.n_skus, sim.cal.locations, sim.cal.n_locations
    skus, recent_mean = catalogue.skus, sim.demand.recent_mean
    sku_rep = np.repeat(np.arange(n_skus), n_locations)
    open_lines = customer_orders[customer_orders["status"] == "open"]
    open_qty = open_lines.groupby(["sku", "location"])["quantity"].sum()
    series_keys = list(zip(skus[sku_rep], np.tile(locations, n_skus)))
    open_series = np.array([open_qty.get(k, 0) for k in series_keys])
    steady_stocked = ~catalogue.is_intermittent & (catalogue.launch == 0) & ~roles.is_dropship
    pool = np.setdiff1d(np.flatnonzero(np.repeat(steady_stocked, n_locations)), roles.terminal)
    first_pick = np.setdiff1d(pool, np.concatenate([oversold, roles.switch_series]))
    first_pick = first_pick[
        (open_series[first_pick] > 0) & (final[first_pick] > open_series[first_pick])
    ]
    eligible = np.concatenate(
        [
            first_pick[np.argsort(-recent_mean[first_pick], kind="stable")],
            (rest := np.setdiff1d(pool, first_pick))[np.argsort(-recent_mean[rest], kind="stable")],
        ]
    )
    return eligible, open_series


def _find_flash_window(
    sim: _Simulation,
    eligible: np.ndarray,
    open_series: np.ndarray,
    disc: float,
    campaigns: list[dict],
    purchase_orders: pd.DataFrame,
) -> tuple | None:
    """The first (series, start day) whose spare stock at the start lies in
    [`_FLASH_SPARE_LOW` x stock set aside, stock set aside); else the first one tried.

    Returns (series, start, multiplier, uncapped demand, stock set aside, PO quantity due
    before the start, expected demand before the start, spare stock), or None.
    """
    cal, mu_series, final = sim.cal, sim.demand.mu_series, sim.final
    days, locations, n_locations = cal.days, cal.locations, cal.n_locations
    skus, cat_idx = sim.catalogue.skus, sim.catalogue.cat_idx
    fallback = None
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
                due = int(mine.loc[mine["expected_date"] < cal.iso(fstart), "quantity"].sum())
                before = float(mu_series[n, days:fstart].sum())
                spare = int(final[n]) + due - int(open_series[n]) - before
                candidate = (int(n), fstart, multiplier, uncapped, stock_q, due, before, spare)
                fallback = fallback or candidate
                if _FLASH_SPARE_LOW * stock_q <= spare < stock_q:
                    return candidate
    return fallback


def _choose_flash_sale(
    rng: np.random.Generator,
    sim: _Simulation,
    oversold: np.ndarray,
    campaigns: list[dict],
    customer_orders: pd.DataFrame,
    purchase_orders: pd.DataFrame,
) -> _FlashSale | None:
    """A planned flash sale on a popular SKU-location whose spare stock is tight (a 30, 40 or
    50% discount drawn from `rng`), or None if no SKU-location has a free window."""
    eligible, open_series = _flash_pool(sim, oversold, customer_orders)
    disc = float(rng.choice([30, 40, 50]))
    flash = _find_flash_window(sim, eligible, open_series, disc, campaigns, purchase_orders)
    if flash is None:
        return None
    n, fstart, multiplier, uncapped, stock_q, due, before, spare = flash
    cal, final = sim.cal, sim.final
    n_locations, cat_idx, skus = cal.n_locations, sim.catalogue.cat_idx, sim.catalogue.skus
    s_idx, l_idx = n // n_locations, n % n_locations
    cat = _CATEGORIES[_CATS[int(cat_idx[s_idx])]]
    campaign = _campaign(s_idx, int(cat_idx[s_idx]), l_idx, fstart, 3, FLASH_SALE, disc)
    flash_truth = {
        "sku": str(skus[s_idx]),
        "location": cal.locations[l_idx],
        "start_date": cal.iso(fstart),
        "end_date": cal.iso(fstart + 2),
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
    return _FlashSale(campaign, stock_q, flash_truth)


def _with_flash_sale(
    campaigns: list[dict], flash: _FlashSale | None
) -> tuple[list[dict], np.ndarray]:
    """The campaigns with the flash sale (if any) last, and the stock set aside per campaign
    (NaN but for the flash sale)."""
    stock_quantity = np.full(len(campaigns), np.nan)
    if flash is None:
        return campaigns, stock_quantity
    return campaigns + [flash.campaign], np.append(stock_quantity, flash.stock_quantity)
