"""The pipeline's hooks: what :mod:`forecast.pipeline` calls in its forecast step
(:func:`adjust_forecast`), its plan and simulate steps (:func:`planning_forecast`,
:func:`adjust_plan`, :func:`plan_counts`) and what readers of a stored plan use
(:func:`first_purchases`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import Panel
from forecast.planning.sales_models.common import ALERT_COLUMNS, KEYS, SalesModelConfig
from forecast.planning.sales_models.dropship import dropship_skus, stocked_rows
from forecast.planning.sales_models.flash_sales import (
    cap_flash_sales,
    flash_sale_alerts,
    flash_sale_promise,
    flash_sale_windows,
    restore_caps,
)
from forecast.planning.sales_models.preorders import (
    PREORDER_MODEL,
    PREORDER_PREFIX,
    add_preorder_series,
    first_purchase_orders,
    planned_preorders,
    preorder_alerts,
)

#: Alerts that make no sense for a pre-order product before launch (its orders wait for the
#: launch by design): replaced by one ``preorder_first_purchase`` alert.
_PREORDER_REPLACED_ALERTS = ("below_min", "will_cross_min", "orders_exceed_stock",
                             "stockout_before_receipt")


def adjust_forecast(
    forecast: DemandForecast,
    inputs: dict[str, pd.DataFrame],
    as_of: date,
    period_days: float = 1.0,
    cfg: SalesModelConfig | None = None,
    panel: Panel | None = None,
) -> tuple[DemandForecast, pd.DataFrame]:
    """Forecast step: add the pre-order series, then cap every flash sale by its stock.

    ``inputs``: products, campaigns, customer_orders (open lines) and order_history (every
    line). Returns the forecast to store and the forecast part of the ``flash_sales`` rows."""
    cfg = cfg or SalesModelConfig()
    products = inputs["products"]
    forecast, _ = add_preorder_series(
        forecast, products, inputs.get("order_history", inputs["customer_orders"]),
        inputs["customer_orders"], as_of, period_days, cfg, panel)
    windows = flash_sale_windows(inputs["campaigns"], forecast.keys, products, forecast.dates,
                                 period_days, as_of)
    return cap_flash_sales(forecast, windows, cfg)


def planning_forecast(
    forecast: DemandForecast, flash_sales: pd.DataFrame, products: pd.DataFrame,
    period_days: float = 1.0, cfg: SalesModelConfig | None = None,
) -> DemandForecast:
    """Plan and simulate steps: the stored forecast with its flash-sale caps restored and
    without the dropship series (they get no stock policy)."""
    forecast = restore_caps(forecast, flash_sales, period_days, cfg)
    return forecast.take(stocked_rows(forecast.keys, products))


@dataclass
class PlanAdjustment:
    """What :func:`adjust_plan` returns."""

    recommendations: pd.DataFrame
    alerts: pd.DataFrame
    flash_sales: pd.DataFrame
    preorders: pd.DataFrame  # the pre-order signal (PREORDER_COLUMNS)
    first_purchases: pd.DataFrame


def adjust_plan(
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    recommendations: pd.DataFrame,
    alerts: pd.DataFrame,
    forecast: DemandForecast,
    inputs: dict[str, pd.DataFrame],
    flash_sales: pd.DataFrame,
    as_of: date,
    period_days: float = 1.0,
    cfg: SalesModelConfig | None = None,
    panel: Panel | None = None,
) -> PlanAdjustment:
    """Plan step: a pre-order series' first purchase replaces its regular recommendation, and
    its below-min / will-cross-min / orders-exceed-stock alerts (its orders wait for the
    launch by design) give way to one ``preorder_first_purchase`` alert; every flash sale gets
    its promise check (:func:`flash_sale_promise`, with the final recommendations as receipts)
    and, when over-committed, a ``flash_sale_overcommitted`` alert."""
    cfg = cfg or SalesModelConfig()
    signal = planned_preorders(forecast, inputs, as_of, period_days, cfg, panel)
    firsts = first_purchase_orders(signal, forecast, policies, positions, as_of, period_days, cfg)
    preorder_keys = pd.MultiIndex.from_frame(signal[KEYS].astype(str)) if len(signal) else None

    def regular(frame: pd.DataFrame) -> np.ndarray:
        if preorder_keys is None or frame.empty:
            return np.ones(len(frame), dtype=bool)
        return ~pd.MultiIndex.from_frame(frame[KEYS].astype(str)).isin(preorder_keys)

    parts = [recommendations[regular(recommendations)], firsts]
    recs = pd.concat([p for p in parts if len(p)] or [recommendations.iloc[0:0]], ignore_index=True)
    recs = recs.sort_values(["order_by", "line_value", "sku", "location"],
                            ascending=[True, False, True, True]).reset_index(drop=True)
    kept = alerts[regular(alerts) | ~alerts["kind"].isin(_PREORDER_REPLACED_ALERTS).to_numpy()]
    flash = flash_sale_promise(
        flash_sales, forecast, policies, positions, inputs["purchase_orders"], recs, as_of,
        period_days, dropship_skus(inputs["products"]))
    parts = [kept, preorder_alerts(firsts, signal), flash_sale_alerts(flash)]
    merged = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=ALERT_COLUMNS)],
                       ignore_index=True)
    return PlanAdjustment(recs, merged, flash, signal, firsts)


def plan_counts(adjustment: PlanAdjustment, products: pd.DataFrame) -> dict[str, float]:
    """Counts for the plan step's summary (the CLI prints them)."""
    flash = adjustment.flash_sales
    return {
        "flash_sales": len(flash),
        "flash_sales_overcommitted": int((flash["shortfall"].fillna(0) > 0).sum()) if len(flash) else 0,
        "preorder_series": len(adjustment.preorders),
        "first_purchases": len(adjustment.first_purchases),
        "first_purchase_units": float(adjustment.first_purchases["order_quantity"].sum())
        if len(adjustment.first_purchases) else 0.0,
        "dropship_skus": len(dropship_skus(products)),
    }


def first_purchases(recommendations: pd.DataFrame) -> pd.DataFrame:
    """The pre-order first purchases among stored recommendations."""
    if recommendations.empty:
        return recommendations
    return recommendations[recommendations["explanation"].astype(str).str.startswith(PREORDER_PREFIX)]


def series_counts(keys: pd.DataFrame, models: np.ndarray, products: pd.DataFrame) -> dict[str, int]:
    """How the series are counted everywhere (CLI, report, exports): ``series`` = every
    forecast series (``forecast.csv``), of which ``preorder_series`` pre-order series forecast
    early without sales history and ``dropship_series`` dropship series (forecast only: no
    stock policy, recommendation or simulation); ``stocked_series`` = series - dropship, the
    rows of ``policies.csv`` and ``backorder_risk.csv``.

    >>> keys = pd.DataFrame({"sku": ["A", "D", "P"], "location": "x"})
    >>> flags = pd.DataFrame({"sku": ["D"], "dropship": [True]})
    >>> series_counts(keys, np.array(["ets", "ets", "preorder_category_profile"]), flags)
    {'series': 3, 'preorder_series': 1, 'dropship_series': 1, 'stocked_series': 2}
    """
    dropship = int(keys["sku"].astype(str).isin(dropship_skus(products)).sum()) if len(products) else 0
    return {
        "series": len(keys),
        "preorder_series": int((np.asarray(models, dtype=object) == PREORDER_MODEL).sum()),
        "dropship_series": dropship,
        "stocked_series": len(keys) - dropship,
    }
