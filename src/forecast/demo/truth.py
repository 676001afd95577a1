"""``truth.json``: what a test can check the generated tables against.

The campaign multipliers per (kind, category), the post-campaign dip, the intermittent and new
SKUs, event effects, weekly and yearly profiles, stockout spells, the backorder scenarios, each
series' recent mean demand, each supplier's reliability, the supplier switch, the cancellation
curve, the order-history counts, the dropship SKUs, the pre-order products' demand after launch
and the flash sale.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from forecast.demo.campaigns import _DIP_DAYS, _DIP_MULTIPLIER, _campaign_truth
from forecast.demo.common import _CATEGORIES, _CATS, _Calendar, _rounded
from forecast.demo.customer_orders import (
    _CANCEL_LIMIT,
    _CANCEL_SCALE_DAYS,
    _CANCEL_SHAPE,
    _EARLY_CANCEL_PROBABILITY,
    _HANDLING_DELAY_MEAN_DAYS,
    _HANDLING_DELAY_PROBABILITY,
    _HISTORY_DAYS,
    _PREORDER_SHARE,
)
from forecast.demo.demand import _Demand
from forecast.demo.flash_sale import _FlashSale
from forecast.demo.products import _Catalogue
from forecast.demo.roles import _Roles
from forecast.demo.stock import _Simulation
from forecast.demo.suppliers import _NEW_SUPPLIER, _supplier_truth


def _truth(
    seed: int,
    sim: _Simulation,
    oversold: np.ndarray,
    campaigns: list[dict],
    event_truth: list[dict],
    tables: dict[str, pd.DataFrame],
    preorders: list[dict],
    all_skus: np.ndarray,
    flash: _FlashSale | None,
) -> dict:
    """The content of ``truth.json`` (written with sorted keys); `tables` are the tables
    written, by name."""
    cal, catalogue, demand, roles = sim.cal, sim.catalogue, sim.demand, sim.roles
    end, skus = cal.end, catalogue.skus
    return {
        "as_of": end.isoformat(),
        "start_date": cal.start.isoformat(),
        "params": {
            "seed": seed,
            "n_skus": catalogue.n_skus,
            "n_locations": cal.n_locations,
            "days": cal.days,
            "end_date": end.isoformat(),
        },
        **_demand_truth(cal, catalogue, demand, campaigns, event_truth),
        **_stock_truth(cal, catalogue, demand, roles, oversold),
        "supplier_reliability": _supplier_truth(tables["receipts"]),
        "supplier_switch": {
            "sku": str(skus[roles.switch_sku]),
            "from": str(catalogue.products.loc[roles.switch_sku, "supplier"]),
            "to": _NEW_SUPPLIER,
            "date": cal.iso(roles.switch_day),
        },
        "cancellation": _cancellation_truth(),
        "order_history": _order_history_truth(tables["customer_orders"], end),
        "dropship_skus": [str(skus[s]) for s in roles.dropship_skus],
        "preorders": _preorder_truth(preorders, all_skus, cal),
        "flash_sale": flash.truth if flash is not None else None,
    }


def _demand_truth(
    cal: _Calendar,
    catalogue: _Catalogue,
    demand: _Demand,
    campaigns: list[dict],
    event_truth: list[dict],
) -> dict:
    """The demand model: campaign uplifts and dip, SKU types, seasonality, events."""
    skus, weekly = catalogue.skus, demand.weekly
    return {
        "demand_model": (
            "mean = level * location_factor * trend * weekly * yearly * events * campaign "
            "* launch_ramp; demand ~ NegBin(mean, dispersion); sales = min(demand, stock)"
        ),
        "campaign_uplift": _campaign_truth(campaigns, cal.days),
        "post_campaign_dip": {
            "after_kinds": ["price_promo"],
            "depth": 1 - _DIP_MULTIPLIER,
            "multiplier": _DIP_MULTIPLIER,
            "length_days": _DIP_DAYS,
        },
        "intermittent_skus": [str(skus[s]) for s in catalogue.intermittent],
        "new_skus": [str(skus[s]) for s in catalogue.new],
        "launch_dates": {str(skus[s]): cal.iso(int(catalogue.launch[s])) for s in catalogue.new},
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
        "closed_dates": [d.isoformat() for d in cal.grid.date if (d.month, d.day) == (12, 25)],
    }


def _stock_truth(
    cal: _Calendar, catalogue: _Catalogue, demand: _Demand, roles: _Roles, oversold: np.ndarray
) -> dict:
    """Stockout spells, the backorder scenarios and each series' recent mean demand."""
    skus, locations, n_locations = catalogue.skus, cal.locations, cal.n_locations

    def series_key(n: int) -> list[str]:
        return [str(skus[n // n_locations]), locations[n % n_locations]]

    return {
        "stockout_spells": [series_key(n) + [cal.iso(a), cal.iso(b)] for n, a, b in roles.spells],
        "scenarios": {
            "zero_stock_with_po": [series_key(int(n)) for n in roles.zero_with_po],
            "zero_stock_no_po": [series_key(int(n)) for n in roles.zero_no_po],
            "oversold_positive_stock": [series_key(int(n)) for n in oversold],
        },
        "mean_demand_last_28_days": {
            str(skus[s]): {
                loc: round(float(demand.recent_mean[s * n_locations + li]), 4)
                for li, loc in enumerate(locations)
            }
            for s in range(catalogue.n_skus)
        },
    }


def _cancellation_truth() -> dict:
    """The cancellation curve of the order history (:func:`forecast.demo.customer_orders._order_history`)."""
    return {
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
    }


def _order_history_truth(customer_orders: pd.DataFrame, end: date) -> dict:
    """How the order history was made, and its shipped / late / cancelled / open counts."""
    history_lines = customer_orders[customer_orders["status"] != "open"]
    late = history_lines["status_date"] > history_lines["promised_date"]
    return {
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
    }


def _preorder_truth(preorders: list[dict], all_skus: np.ndarray, cal: _Calendar) -> dict:
    """Per pre-order product: launch date, pre-order window and true demand after launch."""
    return {
        str(all_skus[p["sku"]]): {
            "launch_date": cal.iso(p["launch_day"]),
            "preorders_from": cal.iso(p["window_start"]),
            "daily_demand_after_launch": {
                loc: round(float(p["level"][li]), 4) for li, loc in enumerate(cal.locations)
            },
            "preorder_share": _PREORDER_SHARE,
            "formula": "pre-orders per day ~ Poisson(preorder_share * daily demand after launch)",
        }
        for p in preorders
    }
