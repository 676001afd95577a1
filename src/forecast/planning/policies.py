"""Stock policy per SKU and location, reorder recommendations and alerts.

Formulas live in :mod:`forecast.planning.inventory`; this module gathers the inputs (forecast, product,
supplier, stock, open orders), applies them to every SKU at once (no per-SKU Python loop) and
explains the result in one line a buyer can read.

Policies (``PlanConfig.policy``; the parameters live in :mod:`forecast.planning.plan_config`):

- ``"sQ"`` continuous review (s, Q): when the inventory position reaches the reorder point s,
  order the smallest multiple of Q that lifts it back above s. max = s + Q.
- ``"sS"`` continuous review (s, S): when the position reaches s, order up to S = s + Q
  (quantity S - position). max = S.
- ``"RS"`` periodic review (R, S): every R days (``review_period_days``; each planning run is
  taken to be a review) order S - position when the position is below S. S covers the lead
  time plus the review period; the minimum is S less the expected demand of one review period
  (the expected position just before a review).

Lead time: measured from received purchase orders when there are enough of them
(:mod:`forecast.planning.suppliers`), else the product's, else its supplier's, else
``PlanConfig.default_lead_time_days``, recorded in ``lead_time_source``. Its spread falls back
the same way (receipts, product, supplier, then ``default_lead_time_cv`` x lead time), recorded
in ``lead_time_sd_source``. Lead-time demand comes
from the forecast distribution over the protection interval (lead time, plus the review period
for (R, S)), so planned campaigns and seasonality inside it count; lead-time variability adds
``d^2 * sigma_L^2`` to its variance (Silver, Pyke & Thomas 2017; Chopra & Meindl Ch. 12).

Inventory position = on hand + on order - backordered - allocated, where the open customer order
quantity (committed) splits into the part covered by stock (*allocated*) and the rest
(*backordered*). A negative on-hand record is flagged (``negative_stock`` alert) and counted as
0: open customer orders already carry the shortage, so counting the negative figure as well would
order the same units twice.
"""

from __future__ import annotations

import warnings
from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.planning import inventory
from forecast.planning.campaign_window import campaign_periods, covered_within
from forecast.planning.explanations import _num, explain
from forecast.planning.plan_config import PlanConfig
from forecast.planning.units import round_up_whole, sold_in_whole_units

KEYS = ["sku", "location"]


def _check_unique(frame: pd.DataFrame, key: str, table: str) -> None:
    if key in frame and frame[key].duplicated().any():
        dup = frame.loc[frame[key].duplicated(), key].iloc[0]
        raise ValueError(f"{table}: {key} {dup!r} appears more than once")


def series_inputs(
    keys: pd.DataFrame,
    products: pd.DataFrame,
    suppliers: pd.DataFrame,
    cfg: PlanConfig,
    lead_times: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per series: supplier, lead time and spread (each with its source), MOQ, pack size, costs.

    Lead time and its s.d. each come from receipts (``lead_times``: sku, lead_time_days,
    lead_time_sd_days, the SKUs whose received purchase orders suffice, see
    :func:`forecast.planning.suppliers.estimate_lead_times`), else fall back product -> supplier ->
    default (the s.d. default is ``cfg.default_lead_time_cv`` x the lead time used);
    ``lead_time_source`` and ``lead_time_sd_source`` say which.
    """
    _check_unique(products, "sku", "products")
    _check_unique(suppliers, "supplier", "suppliers")
    frame = keys[KEYS].merge(products, on="sku", how="left")
    for col in (
        "supplier",
        "lead_time_days",
        "lead_time_sd_days",
        "moq",
        "pack_size",
        "unit_cost",
        "unit_price",
        "service_level",
        "category",
    ):
        if col not in frame:
            frame[col] = np.nan
    sup = suppliers.rename(columns={"lead_time_days": "sup_lt", "lead_time_sd_days": "sup_lt_sd"})
    for col in ("supplier", "sup_lt", "sup_lt_sd", "order_cost"):
        if col not in sup:
            sup[col] = pd.Series(dtype=object if col == "supplier" else float)
    frame = frame.merge(
        sup[["supplier", "sup_lt", "sup_lt_sd", "order_cost"]], on="supplier", how="left"
    )

    lt_product = frame["lead_time_days"].astype(float)
    lt_supplier = frame["sup_lt"].astype(float)
    frame["lead_time_source"] = _source(lt_product, lt_supplier)
    lead = lt_product.fillna(lt_supplier).fillna(cfg.default_lead_time_days)
    sd_product = frame["lead_time_sd_days"].astype(float)
    sd_supplier = frame["sup_lt_sd"].astype(float)
    frame["lead_time_sd_source"] = _source(sd_product, sd_supplier)
    frame["lead_time_days"] = lead
    frame["lead_time_sd_days"] = sd_product.fillna(sd_supplier).fillna(
        cfg.default_lead_time_cv * lead
    )
    if lead_times is not None and len(lead_times):
        _check_unique(lead_times, "sku", "lead_times")
        measured = frame[["sku"]].merge(
            lead_times[["sku", "lead_time_days", "lead_time_sd_days"]], on="sku", how="left"
        )
        has = measured["lead_time_days"].notna().to_numpy()
        for col, source in (("lead_time_days", "lead_time_source"),
                            ("lead_time_sd_days", "lead_time_sd_source")):
            frame[col] = np.where(has, measured[col].astype(float), frame[col])
            frame[source] = np.where(has, "receipts", frame[source])
    frame["order_cost"] = frame["order_cost"].astype(float).fillna(cfg.default_order_cost)
    frame["unit_cost"] = frame["unit_cost"].astype(float)
    return frame


def _source(product: pd.Series, supplier: pd.Series) -> np.ndarray:
    return np.where(product.notna(), "product", np.where(supplier.notna(), "supplier", "default"))


def baseline_rate(mean: np.ndarray, period_days: float = 1.0) -> np.ndarray:
    """Per-period demand rate without short peaks: the median of weekly block means.

    The forecast horizon is cut into blocks of one week (one period for weekly or coarser data)
    and the median block mean is taken, so a campaign lasting under half the horizon does not
    move it; the plain mean is used when there are fewer than 2 blocks or the median is 0.
    It is the reference for ``campaign_uplift_pct``.

    >>> baseline_rate(np.array([[10.0] * 3 + [20.0] * 4 + [10.0] * 21]))
    array([10.])
    """
    n, h = mean.shape
    block = max(round(7 / period_days), 1) if period_days < 7 else 1
    blocks = h // block
    plain = mean.mean(axis=1) if h else np.zeros(n)
    if blocks < 2:
        return plain
    median = np.median(mean[:, : blocks * block].reshape(n, blocks, block).mean(axis=2), axis=1)
    return np.where(median > 0, median, plain)


def compute_policies(
    forecast: DemandForecast,
    history: np.ndarray,
    products: pd.DataFrame,
    suppliers: pd.DataFrame,
    cfg: PlanConfig,
    period_days: float = 1.0,
    lead_times: pd.DataFrame | None = None,
    keep: pd.DataFrame | None = None,
    campaigns: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Safety stock, reorder point (min), order quantity and max for every series.

    ``keep`` (a published plan's policies of these series, for a what-if): the ABC/XYZ classes,
    service levels and each SKU's ``planned_fill_rate`` (its share of a pooled class level)
    are taken from it, and each SKU is solved alone for that fill rate, so replanning a few
    SKUs neither reclassifies them against each other nor re-spreads a class's stock.

    ``history`` is the (n, T) demand matrix the forecast was fitted on (for XYZ variability);
    ``period_days`` is the length of one forecast period (1 daily, 7 weekly); ``lead_times``
    are the receipts-based lead times that replace the configured ones (see
    :func:`series_inputs`).

    - Mean demand rate d: the forecast mean over its horizon (per period; per day in
      ``mean_daily_demand``). ABC class by annual value d x 365 x unit cost; XYZ by the
      coefficient of variation of the last year of history.
    - Service level: the product's ``service_level``, else its ABC class's from ``cfg``; a value
      outside (0, 1) raises ValueError. Its kind (cycle or fill rate) is ``cfg.service_kind``.
    - Protection interval P = L (+ R for (R,S)). Lead-time demand mu_P and its demand s.d.
      come from the forecast over [0, P); with lead-time s.d. sigma_L,
      sigma_P = sqrt(sigma_demand^2 + d_P^2 sigma_L^2), d_P = mu_P / P (the rate inside it).
      The uplift mu_P / (baseline rate x P) - 1 (:func:`baseline_rate`; 0 when no demand
      falls inside P, e.g. a pre-order product launching after it) is ``campaign_uplift_pct``
      where one of ``campaigns`` (the contract table, planned campaigns) covers a forecast
      period inside P, mapped onto the series as the forecast maps them
      (:mod:`forecast.planning.campaign_window`), else ``seasonal_uplift_pct`` (the forecast's
      own shape: season, events, a lumpy part's repeated peak); the other one is 0.
    - Order quantity: EOQ sqrt(2 K lambda / h) with h = holding_cost_rate x unit cost (infinite
      when h = 0), or d x days_of_cover, capped at d x max_cover_days; or fixed_quantity; for
      (R,S) the expected order d x R. Raised to the MOQ, rounded up to the pack size.
    - Cycle service level alpha: safety stock ss = z sigma_P, z = Phi^-1(alpha), floored at 0.
      Fill rate beta: the level solves the exact fill-rate equation with negative binomial
      demand over P (forecast mean and variance): 1 - [n(s) - n(s + Q)] / Q = beta for (s,Q) and
      (s,S) (Q the rounded order quantity, at least 1), 1 - [n_{L+R}(S) - n_L(S)] / mu_R = beta
      for (R,S); ss = level - mu_P may be negative (a large Q), the level is floored at 0 (see
      :func:`fill_rate_safety_stock`). With ``service_scope`` "class" (the default) the
      (s,Q)/(s,S) SKUs on their class's level share it: the class's demand-weighted fill rate
      is met with the least stock, each SKU getting ``planned_fill_rate`` (see
      :class:`PlanConfig`); otherwise ``planned_fill_rate`` is the SKU's level.
    - (s,Q), (s,S): reorder point s = mu_P + ss, max = s + Q (S for (s,S)).
      (R,S): max = S = mu_{L+R} + ss, minimum = mu_L + ss (S less one review's demand).
    SKUs with no forecast demand (a distribution mean of 0 over the horizon) get zeros. Demand
    rates and moments are the distribution's (:meth:`DemandForecast.expected`: the point
    forecast, or a slow mover's rate floor where that is higher), also where the point forecast
    is 0 over the whole horizon: the simulation draws that demand, and on carparts the 54 such
    floored parts sold 0.78 units each on average over the next 12 months (39% sold at least
    one) where their floors planned 0.63.
    """
    frame = series_inputs(forecast.keys, products, suppliers, cfg, lead_times)
    mean_period = forecast.expected().mean(axis=1)
    sd_period = np.sqrt(forecast.variance().mean(axis=1))
    daily = mean_period / period_days
    demand = daily > 0
    unit_cost = (
        frame["unit_cost"].fillna(frame["unit_price"].astype(float)).fillna(cfg.default_unit_cost)
    ).to_numpy(dtype=float)

    annual_demand = daily * 365.0
    frame["abc_class"], frame["xyz_class"] = _abc_xyz_classes(
        annual_demand * unit_cost, history, period_days, cfg
    )
    level, service_source = _service_levels(frame, cfg)
    targets = None
    if keep is not None:
        frame, level, service_source, targets = _kept_service(frame, level, service_source, keep)
    protection = _protection_demand(forecast, frame, mean_period, period_days, cfg)
    in_campaign = covered_within(campaign_periods(forecast, campaigns, products, period_days),
                                 protection.lead_p + protection.review_days / period_days)
    order_q, basis = _order_quantities(
        frame, daily, annual_demand, unit_cost, demand, protection.review_days, cfg
    )
    safety, planned_fill, reorder_point, max_level = _stock_levels(
        forecast, frame, level, service_source, order_q, demand, daily, unit_cost, protection,
        period_days, cfg, targets,
    )

    return pd.DataFrame(
        {
            "sku": frame["sku"],
            "location": frame["location"],
            "abc_class": frame["abc_class"],
            "xyz_class": frame["xyz_class"],
            "service_level": level,
            "planned_fill_rate": np.where(demand, planned_fill, np.nan),
            "service_kind": cfg.service_kind,
            "service_source": service_source,
            "policy": cfg.policy,
            "review_period_days": protection.review_days,
            "lead_time_days": protection.lead_days,
            "lead_time_sd_days": protection.lead_sd_days,
            "lead_time_source": frame["lead_time_source"],
            "mean_daily_demand": daily,
            "sd_daily_demand": sd_period / np.sqrt(period_days),
            "lead_time_demand": protection.mean,
            "lead_time_demand_sd": protection.sd,
            "campaign_uplift_pct": 100 * np.where(in_campaign, protection.uplift, 0.0),
            "seasonal_uplift_pct": 100 * np.where(in_campaign, 0.0, protection.uplift),
            "safety_stock": safety,
            "reorder_point": reorder_point,
            "order_quantity": order_q,
            "max_level": max_level,
            "unit_cost": unit_cost,
            "supplier": frame["supplier"],
            "moq": frame["moq"].to_numpy(dtype=float),
            "pack_size": frame["pack_size"].to_numpy(dtype=float),
            "lead_time_sd_source": frame["lead_time_sd_source"],
            "order_quantity_basis": basis,
        }
    )


def _abc_xyz_classes(
    annual_value: np.ndarray, history: np.ndarray, period_days: float, cfg: PlanConfig
) -> tuple[np.ndarray, np.ndarray]:
    """ABC class by annual value; XYZ class by the coefficient of variation of the last year of
    ``history`` (NaN, hence "Z", for a series without history)."""
    abc = inventory.abc_classes(annual_value, cfg.abc_thresholds)
    recent = history[:, -min(history.shape[1], max(round(364 / period_days), 4)) :]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no history (a pre-order series): NaN
        cv = np.nanstd(recent, axis=1) / np.nanmean(recent, axis=1)
    return abc, inventory.xyz_classes(cv, cfg.xyz_thresholds)


def _kept_service(
    frame: pd.DataFrame, level: np.ndarray, source: np.ndarray, keep: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Classes, service levels and per-SKU fill-rate targets of ``keep`` where it has the series
    (see :func:`compute_policies`); the computed ones elsewhere."""
    held = frame[KEYS].merge(keep, on=KEYS, how="left")
    known = held["service_level"].notna().to_numpy()
    frame = frame.assign(
        abc_class=np.where(known, held["abc_class"].astype(object), frame["abc_class"]),
        xyz_class=np.where(known, held["xyz_class"].astype(object), frame["xyz_class"]),
    )
    level = np.where(known, held["service_level"].to_numpy(dtype=float), level)
    source = np.where(known, held["service_source"].astype(object), source)
    planned = held["planned_fill_rate"].to_numpy(dtype=float)
    targets = np.where(known & (planned > 0) & (planned < 1), planned, level)
    return frame, level, source, targets


def _service_levels(frame: pd.DataFrame, cfg: PlanConfig) -> tuple[np.ndarray, np.ndarray]:
    """Service level per series, the product's else its ABC class's, and which it is
    (``service_source``); a product level outside (0, 1) raises ValueError."""
    class_level = frame["abc_class"].map(cfg.service_levels).astype(float)
    product_level = frame["service_level"].astype(float)
    bad = product_level.notna() & ~product_level.between(0, 1, inclusive="neither")
    if bad.any():
        sku = frame.loc[bad, "sku"].iloc[0]
        raise ValueError(
            f"products: service level of {sku} must be in (0, 1), got {product_level[bad].iloc[0]}"
            " (a fraction: 95% is 0.95)"
        )
    level = product_level.fillna(class_level).to_numpy(dtype=float)
    service_source = np.where(product_level.notna(), "product", "class")
    return level, service_source


class _ProtectionDemand(NamedTuple):
    """Lead time and the demand over the protection interval P of every series."""

    lead_days: np.ndarray
    lead_sd_days: np.ndarray
    review_days: float  # R for (R,S), else 0
    lead_p: np.ndarray  # the lead time in forecast periods
    mean: np.ndarray  # mu_P
    sd: np.ndarray  # sigma_P, lead-time spread included
    rate: np.ndarray  # d_P = mu_P / P, the demand rate inside P
    uplift: np.ndarray  # mu_P / (baseline rate x P) - 1


def _protection_demand(
    forecast: DemandForecast,
    frame: pd.DataFrame,
    mean_period: np.ndarray,
    period_days: float,
    cfg: PlanConfig,
) -> _ProtectionDemand:
    """Demand over P = L (+ R for (R,S)) from the forecast, with the lead-time spread:
    sigma_P = sqrt(sigma_demand^2 + d_P^2 sigma_L^2); and its campaign uplift."""
    n = len(frame)
    lead_days = frame["lead_time_days"].to_numpy(dtype=float)
    lead_sd_days = frame["lead_time_sd_days"].to_numpy(dtype=float)
    periodic = cfg.policy == "RS"
    review_days = cfg.review_period_days if periodic else 0.0
    lead_p = lead_days / period_days
    protect = lead_p + review_days / period_days
    ltd_mean, ltd_sd_demand = forecast.window_moments(np.zeros(n), protect)
    rate_p = np.divide(ltd_mean, protect, out=mean_period.copy(), where=protect > 0)
    ltd_sd = np.sqrt(ltd_sd_demand**2 + rate_p**2 * (lead_sd_days / period_days) ** 2)
    flat = baseline_rate(forecast.expected(), period_days) * protect
    uplift = np.divide(ltd_mean, flat, out=np.ones(n), where=flat > 0) - 1.0
    uplift = np.where(np.abs(uplift) < 1e-9, 0.0, uplift)  # float noise, not a campaign
    # No demand inside P (a pre-order product launching after it): no uplift to speak of.
    uplift = np.where(ltd_mean > 0, uplift, 0.0)
    return _ProtectionDemand(
        lead_days, lead_sd_days, review_days, lead_p, ltd_mean, ltd_sd, rate_p, uplift
    )


def _order_quantities(
    frame: pd.DataFrame,
    daily: np.ndarray,
    annual_demand: np.ndarray,
    unit_cost: np.ndarray,
    demand: np.ndarray,
    review_days: float,
    cfg: PlanConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Order quantity per series (EOQ or days of cover capped at ``max_cover_days``, fixed, or
    one review's demand for (R,S)), raised to the MOQ and rounded up to the pack size; and
    ``order_quantity_basis``, which of them it is."""
    n = len(frame)
    periodic = cfg.policy == "RS"
    cap = daily * cfg.max_cover_days
    if periodic:
        raw_q = daily * review_days
        basis = np.full(n, "review_period", dtype=object)
    elif cfg.order_quantity_method == "fixed":
        raw_q = np.full(n, float(cfg.fixed_quantity))
        basis = np.full(n, "fixed", dtype=object)
    else:
        if cfg.order_quantity_method == "eoq":
            holding = cfg.holding_cost_rate * unit_cost
            priced = holding > 0
            eoq = inventory.eoq(
                frame["order_cost"].to_numpy(dtype=float),
                np.where(priced, holding, 1.0),
                annual_demand,
            )
            uncapped = np.where(priced, eoq, np.inf)  # free to hold: only the cover cap limits it
        else:
            uncapped = daily * cfg.days_of_cover
        capped = uncapped > cap
        raw_q = np.where(capped, cap, uncapped)
        method = cfg.order_quantity_method
        basis = np.where(capped, f"{method}_capped", method).astype(object)
    raw_q = round_up_whole(np.where(demand, raw_q, 0.0), sold_in_whole_units(frame))
    order_q = np.asarray(
        inventory.round_order_quantity(
            raw_q, frame["moq"].to_numpy(dtype=float), frame["pack_size"].to_numpy(dtype=float)
        ),
        dtype=float,
    )
    return order_q, basis


def _stock_levels(
    forecast: DemandForecast,
    frame: pd.DataFrame,
    level: np.ndarray,
    service_source: np.ndarray,
    order_q: np.ndarray,
    demand: np.ndarray,
    daily: np.ndarray,
    unit_cost: np.ndarray,
    protection: _ProtectionDemand,
    period_days: float,
    cfg: PlanConfig,
    targets: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Safety stock, planned fill rate, reorder point (min) and max per series.

    Cycle service: ss = z sigma_P floored at 0; fill rate: :func:`fill_rate_safety_stock`
    (pooled per class with ``service_scope`` "class", (s,Q)/(s,S) only, no SKU more than
    ``cfg.sku_fill_floor_points`` under its class level; each SKU alone at ``targets`` when
    given). (s,Q), (s,S): min = mu_P + ss, max = min + Q; (R,S): max = mu_{L+R} + ss,
    min = mu_L + ss. Items sold in whole units get whole levels (rounded up,
    :mod:`forecast.planning.units`) and the safety stock that goes with them."""
    n = len(frame)
    periodic = cfg.policy == "RS"
    ltd_mean, ltd_sd, rate_p = protection.mean, protection.sd, protection.rate
    lead_sd_days = protection.lead_sd_days
    if periodic:
        lead_mean, lead_sd_demand = forecast.window_moments(np.zeros(n), protection.lead_p)
    if cfg.service_kind == "cycle":
        z = np.asarray(inventory.safety_factor_cycle_service(level), dtype=float)
        safety = np.where(demand, np.maximum(z * ltd_sd, 0.0), 0.0)
        planned_fill = np.full(n, np.nan)
    else:
        pool = None
        if cfg.service_scope == "class" and not periodic and targets is None:
            pool = np.where(service_source == "class", frame["abc_class"].astype(str), "")
        lead = None
        if periodic:
            lead_var = lead_sd_demand**2 + rate_p**2 * (lead_sd_days / period_days) ** 2
            lead = (lead_mean, np.sqrt(lead_var))
        weight = unit_cost if cfg.pooled_stock == "value" else np.ones(n)
        safety, planned_fill = fill_rate_safety_stock(
            level if targets is None else targets, np.maximum(order_q, 1.0), ltd_mean, ltd_sd,
            demand, lead, pool, daily, weight, floor=cfg.sku_fill_floor_points,
        )
    whole = sold_in_whole_units(frame)
    if periodic:
        max_level = round_up_whole(np.where(demand, ltd_mean + safety, 0.0), whole)
        safety = np.where(demand, max_level - ltd_mean, safety)
        reorder_point = np.where(demand, lead_mean + safety, 0.0)
    else:
        reorder_point = round_up_whole(np.where(demand, ltd_mean + safety, 0.0), whole)
        safety = np.where(demand, reorder_point - ltd_mean, safety)
        max_level = reorder_point + order_q
    return safety, planned_fill, reorder_point, max_level


def fill_rate_safety_stock(
    level: np.ndarray,
    order_q: np.ndarray,
    ltd_mean: np.ndarray,
    ltd_sd: np.ndarray,
    demand: np.ndarray,
    lead: tuple[np.ndarray, np.ndarray] | None = None,
    pool: np.ndarray | None = None,
    rate: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    floor: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Safety stock (level less mu_P) for fill rates ``level``, and each SKU's planned fill.

    Demand over the protection interval is the negative binomial with the forecast's mean and
    variance (lead-time spread included); (s,Q) and (s,S): 1 - [n(s) - n(s + Q)] / Q = beta
    (:func:`forecast.planning.inventory.rq_fill_rate_reorder_point`); (R,S) with ``lead`` = (mean, s.d.)
    of the lead-time demand alone: 1 - [n_{L+R}(S) - n_L(S)] / mu_R = beta
    (:func:`forecast.planning.inventory.rs_fill_rate_order_up_to`). SKUs with a non-empty ``pool`` label
    share their pool's demand-weighted fill rate (demand ``rate``, stock weighted by
    ``weight``; :func:`forecast.planning.inventory.rq_pooled_fill_rate_reorder_points`), none
    planned more than ``floor`` under its own level (and none under 50%). The safety
    stock may be negative (a large Q alone delivers more than the target) but the level never
    falls below 0: an order is not held back until customers wait (under lost sales such a
    level would never trigger).
    """
    n = len(level)
    safety, planned = np.zeros(n), np.full(n, np.nan)
    rows = demand & (ltd_mean > 0)
    planned[demand & ~rows] = 1.0  # demand too small to show over the lead time
    variance = ltd_sd**2
    pooled = rows & (pool != "") if pool is not None else np.zeros(n, dtype=bool)
    alone = rows & ~pooled
    if alone.any():
        if lead is None:
            target = inventory.rq_fill_rate_reorder_point(
                level[alone], order_q[alone], ltd_mean[alone], variance[alone]
            )
        else:
            lead_mean, lead_sd = lead
            target = inventory.rs_fill_rate_order_up_to(
                level[alone],
                ltd_mean[alone],
                variance[alone],
                lead_mean[alone],
                lead_sd[alone] ** 2,
            )
        safety[alone] = np.maximum(np.asarray(target, dtype=float), 0.0) - ltd_mean[alone]
        planned[alone] = level[alone]
    if pooled.any():
        result = inventory.rq_pooled_fill_rate_reorder_points(
            level[pooled],
            order_q[pooled],
            rate[pooled],
            ltd_mean[pooled],
            variance[pooled],
            pool[pooled],
            weight[pooled],
            lowest_fill_rate=np.maximum(level[pooled] - (floor if floor is not None else 1.0), 0.5),
        )
        safety[pooled] = np.asarray(result.reorder_point, dtype=float) - ltd_mean[pooled]
        planned[pooled] = result.fill_rate
    return safety, planned


def stock_positions(
    keys: pd.DataFrame,
    inventory_rows: pd.DataFrame,
    purchase_orders: pd.DataFrame,
    customer_orders: pd.DataFrame,
) -> pd.DataFrame:
    """on_hand, on_order, committed, allocated, backordered and inventory position per series.

    position = on_hand + on_order - backordered - allocated, where committed (open customer
    order quantity) = allocated (covered by stock) + backordered (not covered).

    Negative stock: ``on_hand_recorded`` keeps the figure as given and ``negative_stock`` flags
    it; ``on_hand`` (used for allocation, position and cover) counts it as 0. The shortage a
    negative record reflects is in the open customer orders already, so subtracting it again
    would order it twice; the ``negative_stock`` alert asks for the record to be corrected.

    ``on_hand`` is NaN when no stock figure is known (no recommendation is then made).
    """
    frame = keys[KEYS].copy()
    inv = inventory_rows.groupby(KEYS, as_index=False)["on_hand"].sum()
    frame = frame.merge(inv.rename(columns={"on_hand": "on_hand_recorded"}), on=KEYS, how="left")
    po = purchase_orders.groupby(KEYS, as_index=False)["quantity"].sum()
    frame = frame.merge(po.rename(columns={"quantity": "on_order"}), on=KEYS, how="left")
    co = customer_orders.groupby(KEYS, as_index=False)["quantity"].sum()
    frame = frame.merge(co.rename(columns={"quantity": "committed"}), on=KEYS, how="left")
    recorded = frame["on_hand_recorded"].astype(float)
    frame["on_hand_recorded"] = recorded
    frame["negative_stock"] = (recorded < 0).to_numpy()
    frame["on_hand"] = recorded.clip(lower=0)  # NaN (unknown) stays NaN
    frame["on_order"] = frame["on_order"].astype(float).fillna(0.0)
    frame["committed"] = frame["committed"].astype(float).fillna(0.0)
    frame["allocated"] = np.minimum(frame["on_hand"], frame["committed"])  # NaN stays NaN
    frame["backordered"] = frame["committed"] - frame["allocated"]
    frame["inventory_position"] = (
        frame["on_hand"] + frame["on_order"] - frame["backordered"] - frame["allocated"]
    )
    return frame


def _forecast_rows(forecast: DemandForecast, plan: pd.DataFrame) -> np.ndarray:
    """Row of ``forecast`` for each row of ``plan`` (so callers may pass frames in any order)."""
    index = pd.MultiIndex.from_frame(forecast.keys[KEYS])
    rows = index.get_indexer(pd.MultiIndex.from_frame(plan[KEYS]))
    if (rows < 0).any():
        missing = plan.loc[rows < 0, KEYS].iloc[0].tolist()
        raise ValueError(f"no forecast for series {missing[0]}@{missing[1]}")
    return rows


def _demand_until(cumulative: np.ndarray, mean: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Forecast demand over [0, periods) per row; ``periods`` may be fractional."""
    whole = np.clip(np.floor(periods).astype(int), 0, mean.shape[1])
    frac = periods - whole
    rows = np.arange(len(periods))
    part = mean[rows, np.minimum(whole, mean.shape[1] - 1)] * np.where(
        whole < mean.shape[1], frac, 0
    )
    return cumulative[rows, whole] + part


def recommend_orders(
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    forecast: DemandForecast,
    as_of: date,
    cfg: PlanConfig,
    period_days: float = 1.0,
) -> pd.DataFrame:
    """Orders to place: quantity, order-by date, arrival, cover and a one-line explanation.

    The projected position falls by the forecast mean each period (position after j periods =
    position - demand of periods 1..j). Continuous review ((s,Q), (s,S)): the order-by date is
    as_of + j periods (j x ``period_days`` days) for the first j at which the projected
    position is at or below the reorder point, kept when within ``cfg.lookahead_days``; the reorder point already holds the
    lead-time demand, so the lead time is not subtracted again. (s,Q) orders the smallest
    multiple of Q lifting that projected position above s; (s,S) orders S minus it. (R,S):
    today is a review; order S - position when the position is below S. Quantities are raised
    to the MOQ and rounded up to the pack size. ``urgent``: the position is at or below the
    minimum today. SKUs with no demand, or an unknown stock position, order nothing.

    ``expected_arrival`` = order-by + lead time (days, rounded up). ``days_of_cover_now`` = (on
    hand - allocated) / daily demand; ``days_of_cover_after`` = (position - forecast demand until
    arrival + quantity) / daily demand, the cover when the order arrives.
    """
    plan = policies.merge(positions, on=KEYS, how="left")
    n = len(plan)
    rows = _forecast_rows(forecast, plan)
    lead_periods = plan["lead_time_days"].to_numpy(dtype=float) / period_days
    lookahead = max(int(np.ceil(cfg.lookahead_days / period_days)), 0)
    horizon = max(int(np.ceil(np.nanmax(lead_periods, initial=0))) + lookahead + 1, 1)
    mean = forecast._extend(horizon)[rows]
    cumulative = np.hstack([np.zeros((n, 1)), np.cumsum(mean, axis=1)])

    policy = plan["policy"].to_numpy(dtype=object)
    periodic = policy == "RS"
    position = plan["inventory_position"].to_numpy(dtype=float)
    rop = plan["reorder_point"].to_numpy(dtype=float)
    max_level = plan["max_level"].to_numpy(dtype=float)
    q = plan["order_quantity"].to_numpy(dtype=float)
    daily = plan["mean_daily_demand"].to_numpy(dtype=float)

    projected = position[:, None] - cumulative[:, : lookahead + 1]
    crossing = projected <= rop[:, None]
    first = np.where(periodic, 0, np.where(crossing.any(axis=1), crossing.argmax(axis=1), -1))
    trigger = np.where(periodic, position < max_level, first >= 0)
    needs = trigger & np.isfinite(position) & (daily > 0)
    first = np.maximum(first, 0)
    pos_at_order = projected[np.arange(n), first]
    multiples = np.floor(np.divide(rop - pos_at_order, q, out=np.zeros(n), where=q > 0)) + 1
    raw = np.where(policy == "sQ", multiples * q, max_level - pos_at_order)
    qty = np.asarray(
        inventory.round_order_quantity(
            np.where(needs, raw, 0.0),
            plan["moq"].to_numpy(dtype=float),
            plan["pack_size"].to_numpy(dtype=float),
        ),
        dtype=float,
    )
    plan["order_quantity_policy"] = q
    plan["order_quantity"] = qty
    plan["raw_quantity"] = raw
    plan["multiples"] = multiples
    plan["position_at_order"] = pos_at_order
    start = pd.Timestamp(as_of)
    order_by = start + pd.to_timedelta(first * period_days, unit="D")
    plan["order_by"] = order_by.date
    plan["expected_arrival"] = (
        order_by
        + pd.to_timedelta(np.ceil(np.nan_to_num(plan["lead_time_days"].to_numpy(float))), unit="D")
    ).date
    arrival_periods = first + lead_periods
    at_arrival = position - _demand_until(cumulative, mean, np.nan_to_num(arrival_periods)) + qty
    free = (plan["on_hand"] - plan["allocated"]).to_numpy(dtype=float)
    plan["days_of_cover_now"] = np.divide(free, daily, out=np.full(n, np.inf), where=daily > 0)
    plan["days_of_cover_after"] = np.divide(
        np.maximum(at_arrival, 0.0), daily, out=np.full(n, np.inf), where=daily > 0
    )
    plan["line_value"] = qty * plan["unit_cost"].to_numpy(dtype=float)
    plan["urgent"] = needs & (position <= rop)
    ordered = needs & (qty > 0)
    plan = plan[ordered].copy()
    plan["point_daily_demand"] = forecast.mean[rows[ordered]].mean(axis=1) / period_days
    plan["explanation"] = explain(plan, cfg.sku_fill_floor_points)
    columns = [
        "sku",
        "location",
        "supplier",
        "on_hand",
        "on_order",
        "backordered",
        "allocated",
        "inventory_position",
        "reorder_point",
        "max_level",
        "order_quantity",
        "order_by",
        "expected_arrival",
        "days_of_cover_now",
        "days_of_cover_after",
        "unit_cost",
        "line_value",
        "urgent",
        "explanation",
    ]
    return (
        plan[columns]
        .sort_values(
            ["order_by", "line_value", "sku", "location"], ascending=[True, False, True, True]
        )
        .reset_index(drop=True)
    )


def build_alerts(
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    forecast: DemandForecast,
    as_of: date,
    period_days: float = 1.0,
) -> pd.DataFrame:
    """Alerts, each with a line that says what to do.

    - ``below_min`` (high): position at or below the minimum (reorder point) now.
    - ``will_cross_min`` (medium): not below it now, but the projected position reaches it
      within the lead time; the date is as_of + j days for the first such period j >= 1.
    - ``orders_exceed_stock`` (high): open customer orders exceed usable stock on hand.
    - ``negative_stock`` (high): on hand recorded below 0 (counted as 0, see
      :func:`stock_positions`).
    Series with no demand get no min alerts; unknown stock gets none.
    """
    plan = policies.merge(positions, on=KEYS, how="left")
    rows = _forecast_rows(forecast, plan)
    pos = plan["inventory_position"].to_numpy(dtype=float)
    rop = plan["reorder_point"].to_numpy(dtype=float)
    lead_days = plan["lead_time_days"].to_numpy(dtype=float)
    lead_periods = np.ceil(np.nan_to_num(lead_days) / period_days).astype(int)
    horizon = max(int(lead_periods.max(initial=1)), 1)
    cum = np.cumsum(forecast._extend(horizon)[rows], axis=1)
    projected = pos[:, None] - cum
    within = np.arange(horizon)[None, :] < lead_periods[:, None]
    cross = (projected <= rop[:, None]) & within
    cross_day = np.where(cross.any(axis=1), cross.argmax(axis=1) + 1, -1)

    ix = plan.index
    known = np.isfinite(pos)
    demand = plan["mean_daily_demand"].to_numpy(dtype=float) > 0
    recorded = (
        plan["on_hand_recorded"] if "on_hand_recorded" in plan else plan["on_hand"]
    ).to_numpy(dtype=float)
    committed = plan["committed"].to_numpy(dtype=float)
    usable = np.maximum(np.nan_to_num(recorded), 0.0)
    label = plan["sku"].astype(str) + "@" + plan["location"].astype(str)
    below = known & demand & (pos <= rop)
    crossing = known & demand & ~below & (cross_day > 0)
    today = pd.Series(pd.Timestamp(as_of), index=ix)
    cross_date = pd.Series(
        pd.Timestamp(as_of) + pd.to_timedelta(np.maximum(cross_day, 0) * period_days, unit="D"),
        index=ix,
    )
    parts = [
        (
            recorded < 0,
            "negative_stock",
            "high",
            today,
            label
            + ": on hand is recorded as "
            + _num(recorded, ix)
            + "; this plan counts it as 0. "
            "Count the stock and correct the record",
        ),
        (
            below,
            "below_min",
            "high",
            today,
            label
            + ": position "
            + _num(pos, ix)
            + " is at or below the minimum "
            + _num(rop, ix)
            + "; order today (see reorder recommendations)",
        ),
        (
            crossing,
            "will_cross_min",
            "medium",
            cross_date,
            label
            + ": position will reach the minimum "
            + _num(rop, ix)
            + " around "
            + cross_date.dt.strftime("%Y-%m-%d")
            + ", within the lead time of "
            + _num(lead_days, ix, 1)
            + " days; order by then",
        ),
        (
            known & (committed > usable),
            "orders_exceed_stock",
            "high",
            today,
            label
            + ": open customer orders "
            + _num(committed, ix)
            + " exceed stock "
            + _num(usable, ix)
            + " by "
            + _num(committed - usable, ix)
            + "; expedite supply and tell the waiting customers their new dates",
        ),
    ]
    frames = [
        pd.DataFrame(
            {
                "sku": plan["sku"][mask],
                "location": plan["location"][mask],
                "kind": kind,
                "severity": severity,
                "date": when[mask].dt.date,
                "message": message[mask],
            }
        )
        for mask, kind, severity, when, message in parts
    ]
    columns = ["sku", "location", "kind", "severity", "date", "message"]
    return pd.concat(
        [f for f in frames if len(f)] or [pd.DataFrame(columns=columns)], ignore_index=True
    )
