"""Stock policy per SKU and location, reorder recommendations and alerts.

Formulas live in :mod:`forecast.inventory`; this module gathers the inputs (forecast, product,
supplier, stock, open orders), applies them to every SKU at once and explains the result.

Lead time: the product's, else its supplier's, else ``PlanConfig.default_lead_time_days``; the
source is recorded in ``lead_time_source``. Lead-time demand comes from the forecast
distribution over the protection interval (lead time, plus the review period for periodic
review), so planned campaigns and seasonality inside it count; lead-time variability adds
``d^2 * sigma_L^2`` to its variance (Silver, Pyke & Thomas 2017, eq. 6.7).

Inventory position = on hand + on order - committed, where committed is the open customer order
quantity (the part covered by stock is *allocated*, the rest *backordered*).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from forecast import inventory
from forecast.distribution import DemandForecast

ServiceKind = Literal["cycle", "fill_rate"]


@dataclass(frozen=True)
class PlanConfig:
    """Planning parameters with their documented defaults."""

    service_levels: dict[str, float] = field(
        default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90}
    )
    service_kind: ServiceKind = "fill_rate"
    abc_thresholds: tuple[float, float] = (0.8, 0.95)
    xyz_thresholds: tuple[float, float] = (0.5, 1.0)
    default_lead_time_days: float = 14.0
    default_lead_time_cv: float = 0.25  # lead-time s.d. = cv x lead time when nothing is given
    review_period_days: float = 0.0  # 0 = continuous review (s,Q); > 0 = periodic (R,S)
    order_quantity_method: Literal["eoq", "days_of_cover", "fixed"] = "eoq"
    days_of_cover: float = 14.0
    fixed_quantity: float = 0.0
    holding_cost_rate: float = 0.25  # per year, fraction of unit cost
    default_order_cost: float = 50.0
    default_unit_cost: float = 1.0
    lookahead_days: int = 14  # recommend orders whose order-by date falls within this window

    def __post_init__(self) -> None:
        for cls, level in self.service_levels.items():
            if not 0 < level < 1:
                raise ValueError(f"service level for class {cls} must be in (0, 1), got {level}")


def series_inputs(
    keys: pd.DataFrame,
    products: pd.DataFrame,
    suppliers: pd.DataFrame,
    cfg: PlanConfig,
) -> pd.DataFrame:
    """Per series: supplier, lead time (+ source), MOQ, pack size, unit cost, service level."""
    frame = keys[["sku", "location"]].merge(products, on="sku", how="left")
    for col in ("supplier", "lead_time_days", "lead_time_sd_days", "moq", "pack_size",
                "unit_cost", "unit_price", "service_level", "category"):
        if col not in frame:
            frame[col] = np.nan
    sup = suppliers.rename(
        columns={"lead_time_days": "sup_lt", "lead_time_sd_days": "sup_lt_sd", "name": "supplier_name"}
    )
    if sup.empty:
        sup = pd.DataFrame(columns=["supplier", "sup_lt", "sup_lt_sd", "order_cost"])
    frame = frame.merge(sup[["supplier", "sup_lt", "sup_lt_sd", "order_cost"]], on="supplier", how="left")
    lt_product = frame["lead_time_days"].astype(float)
    lt_supplier = frame["sup_lt"].astype(float)
    frame["lead_time_source"] = np.where(
        lt_product.notna(), "product", np.where(lt_supplier.notna(), "supplier", "default")
    )
    lead = lt_product.fillna(lt_supplier).fillna(cfg.default_lead_time_days)
    sd = frame["lead_time_sd_days"].astype(float)
    sd = sd.where(lt_product.notna() | sd.notna(), frame["sup_lt_sd"].astype(float))
    frame["lead_time_days"] = lead
    frame["lead_time_sd_days"] = sd.fillna(cfg.default_lead_time_cv * lead)
    frame["order_cost"] = frame["order_cost"].astype(float).fillna(cfg.default_order_cost)
    frame["unit_cost"] = frame["unit_cost"].astype(float)
    return frame


def compute_policies(
    forecast: DemandForecast,
    history: np.ndarray,
    products: pd.DataFrame,
    suppliers: pd.DataFrame,
    cfg: PlanConfig,
    period_days: float = 1.0,
) -> pd.DataFrame:
    """Safety stock, reorder point (min), order quantity and max for every series.

    ``history`` is the (n, T) demand matrix the forecast was fitted on (for XYZ variability).
    """
    frame = series_inputs(forecast.keys, products, suppliers, cfg)
    n = len(frame)
    mean_period = forecast.mean.mean(axis=1)
    sd_period = np.sqrt(forecast.variance().mean(axis=1))
    daily = mean_period / period_days
    unit_cost = frame["unit_cost"].fillna(frame["unit_price"].astype(float)).fillna(cfg.default_unit_cost)

    annual_value = daily * 365.0 * unit_cost.to_numpy()
    frame["abc_class"] = inventory.abc_classes(annual_value, cfg.abc_thresholds)
    recent = history[:, -min(history.shape[1], max(round(364 / period_days), 4)) :]
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.nanstd(recent, axis=1) / np.nanmean(recent, axis=1)
    frame["xyz_class"] = inventory.xyz_classes(cv, cfg.xyz_thresholds)

    class_level = frame["abc_class"].map(cfg.service_levels).astype(float)
    product_level = frame["service_level"].astype(float)
    bad = product_level.notna() & ~product_level.between(0, 1, inclusive="neither")
    if bad.any():
        sku = frame.loc[bad, "sku"].iloc[0]
        raise ValueError(f"service level of {sku} must be in (0, 1), got {product_level[bad].iloc[0]}")
    frame["service_level"] = product_level.fillna(class_level)
    frame["service_source"] = np.where(product_level.notna(), "product", "class")
    frame["service_kind"] = cfg.service_kind

    lead_days = frame["lead_time_days"].to_numpy(dtype=float)
    lead_sd_days = frame["lead_time_sd_days"].to_numpy(dtype=float)
    review_days = cfg.review_period_days
    protect = (lead_days + review_days) / period_days
    ltd_mean, ltd_sd_demand = forecast.window_moments(np.zeros(n), protect)
    # sigma_LTD^2 = L sigma_d^2 + d^2 sigma_L^2 with the first term taken from the forecast.
    sd_equiv = np.divide(ltd_sd_demand, np.sqrt(protect), out=np.zeros(n), where=protect > 0)
    ltd_sd = inventory.lead_time_demand_sd(mean_period, sd_equiv, protect, lead_sd_days / period_days)
    flat = mean_period * protect
    uplift = np.divide(ltd_mean - flat, flat, out=np.zeros(n), where=flat > 0)

    annual_demand = daily * 365.0
    holding = cfg.holding_cost_rate * unit_cost.to_numpy()
    if cfg.order_quantity_method == "eoq":
        raw_q = inventory.eoq(frame["order_cost"].to_numpy(), holding, annual_demand)
    elif cfg.order_quantity_method == "days_of_cover":
        raw_q = daily * cfg.days_of_cover
    else:
        raw_q = np.full(n, cfg.fixed_quantity)
    if review_days > 0:
        raw_q = np.maximum(raw_q, daily * review_days)
    raw_q = np.where(daily > 0, raw_q, 0.0)
    order_q = inventory.round_order_quantity(
        raw_q, frame["moq"].to_numpy(dtype=float), frame["pack_size"].to_numpy(dtype=float)
    )

    level = frame["service_level"].to_numpy(dtype=float)
    if cfg.service_kind == "cycle":
        z = inventory.safety_factor_cycle_service(level)
    else:
        z = inventory.safety_factor_fill_rate(level, np.maximum(order_q, 1.0), ltd_sd)
    safety = np.where(daily > 0, np.maximum(z * ltd_sd, 0.0), 0.0)
    reorder_point = np.where(daily > 0, ltd_mean + safety, 0.0)
    if review_days > 0:
        max_level = reorder_point  # order-up-to S covers lead time + review period
        policy = "RS"
    else:
        max_level = reorder_point + order_q
        policy = "sQ"

    return pd.DataFrame(
        {
            "sku": frame["sku"],
            "location": frame["location"],
            "abc_class": frame["abc_class"],
            "xyz_class": frame["xyz_class"],
            "service_level": level,
            "service_kind": cfg.service_kind,
            "service_source": frame["service_source"],
            "policy": policy,
            "review_period_days": review_days,
            "lead_time_days": lead_days,
            "lead_time_sd_days": lead_sd_days,
            "lead_time_source": frame["lead_time_source"],
            "mean_daily_demand": daily,
            "sd_daily_demand": sd_period / np.sqrt(period_days),
            "lead_time_demand": ltd_mean,
            "lead_time_demand_sd": ltd_sd,
            "campaign_uplift_pct": 100 * uplift,
            "safety_stock": safety,
            "reorder_point": reorder_point,
            "order_quantity": order_q,
            "max_level": max_level,
            "unit_cost": unit_cost.to_numpy(),
            "supplier": frame["supplier"],
            "moq": frame["moq"].to_numpy(dtype=float),
            "pack_size": frame["pack_size"].to_numpy(dtype=float),
        }
    )


def stock_positions(
    keys: pd.DataFrame,
    inventory_rows: pd.DataFrame,
    purchase_orders: pd.DataFrame,
    customer_orders: pd.DataFrame,
) -> pd.DataFrame:
    """on_hand, on_order, allocated, backordered and inventory position per series.

    ``on_hand`` is NaN when no stock figure is known (no recommendation is then made).
    """
    frame = keys[["sku", "location"]].copy()
    inv = inventory_rows.groupby(["sku", "location"], as_index=False)["on_hand"].sum()
    frame = frame.merge(inv, on=["sku", "location"], how="left")
    po = purchase_orders.groupby(["sku", "location"], as_index=False)["quantity"].sum()
    frame = frame.merge(po.rename(columns={"quantity": "on_order"}), on=["sku", "location"], how="left")
    co = customer_orders.groupby(["sku", "location"], as_index=False)["quantity"].sum()
    frame = frame.merge(co.rename(columns={"quantity": "committed"}), on=["sku", "location"], how="left")
    frame["on_order"] = frame["on_order"].fillna(0.0)
    frame["committed"] = frame["committed"].fillna(0.0)
    usable = frame["on_hand"].clip(lower=0)
    with np.errstate(invalid="ignore"):  # unknown stock (NaN) stays unknown
        frame["allocated"] = np.minimum(usable, frame["committed"])
    frame["backordered"] = frame["committed"] - frame["allocated"]
    frame["inventory_position"] = (
        frame["on_hand"] + frame["on_order"] - frame["backordered"] - frame["allocated"]
    )
    return frame


def recommend_orders(
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    forecast: DemandForecast,
    as_of: date,
    cfg: PlanConfig,
    period_days: float = 1.0,
) -> pd.DataFrame:
    """Orders to place: quantity, order-by date, arrival, cover and a one-line explanation.

    The projected position falls by the forecast mean each period; the order-by date is the first
    day it reaches the reorder point (today when it already has). Under (s,Q) the quantity is the
    smallest multiple of Q that lifts the position above the reorder point; under (R,S) it is
    S minus the position. Both are rounded to MOQ and pack size.
    """
    plan = policies.merge(positions, on=["sku", "location"], how="left")
    n = len(plan)
    lookahead = int(np.ceil(cfg.lookahead_days / period_days))
    demand = forecast._extend(max(lookahead, 1))
    cumulative = np.cumsum(demand, axis=1)
    position = plan["inventory_position"].to_numpy(dtype=float)
    rop = plan["reorder_point"].to_numpy(dtype=float)
    projected = position[:, None] - np.hstack([np.zeros((n, 1)), cumulative])
    crossing = projected <= rop[:, None]
    crosses = crossing.any(axis=1) & np.isfinite(position)
    first = np.where(crosses, crossing.argmax(axis=1), -1)
    needs = crosses & (plan["mean_daily_demand"].to_numpy() > 0)

    q = plan["order_quantity"].to_numpy(dtype=float)
    pos_at_order = np.where(needs, projected[np.arange(n), np.maximum(first, 0)], position)
    if cfg.review_period_days > 0:
        raw = plan["max_level"].to_numpy() - pos_at_order
    else:
        multiples = np.floor(np.divide(rop - pos_at_order, q, out=np.zeros(n), where=q > 0)) + 1
        raw = multiples * q
    qty = inventory.round_order_quantity(
        np.where(needs, raw, 0.0), plan["moq"].to_numpy(dtype=float), plan["pack_size"].to_numpy(dtype=float)
    )
    plan["order_quantity"] = qty
    offset_days = np.maximum(first, 0) * period_days
    plan["order_by"] = [as_of + timedelta(days=float(d)) for d in offset_days]
    plan["expected_arrival"] = [
        o + timedelta(days=float(np.ceil(lt))) for o, lt in zip(plan["order_by"], plan["lead_time_days"])
    ]
    daily = plan["mean_daily_demand"].to_numpy(dtype=float)
    free = (plan["on_hand"].clip(lower=0) - plan["allocated"]).to_numpy(dtype=float)
    plan["days_of_cover_now"] = np.divide(free, daily, out=np.full(n, np.inf), where=daily > 0)
    plan["days_of_cover_after"] = np.divide(position + qty, daily, out=np.full(n, np.inf), where=daily > 0)
    plan["line_value"] = qty * plan["unit_cost"].to_numpy()
    plan["urgent"] = needs & (first == 0)
    plan = plan[needs & (qty > 0)].copy()
    plan["explanation"] = _explain(plan)
    columns = [
        "sku", "location", "supplier", "on_hand", "on_order", "backordered", "allocated",
        "inventory_position", "reorder_point", "max_level", "order_quantity", "order_by",
        "expected_arrival", "days_of_cover_now", "days_of_cover_after", "unit_cost",
        "line_value", "urgent", "explanation",
    ]
    return plan[columns].sort_values(["order_by", "line_value"], ascending=[True, False]).reset_index(drop=True)


def _explain(plan: pd.DataFrame) -> list[str]:
    kind = {"fill_rate": "fill rate", "cycle": "cycle service"}
    lines = []
    for r in plan.itertuples(index=False):
        uplift = f" incl. campaign {r.campaign_uplift_pct:+.0f}%" if abs(r.campaign_uplift_pct) >= 5 else ""
        rounding = f", round to pack of {r.pack_size:g}" if r.pack_size and r.pack_size > 1 else ""
        moq = f", MOQ {r.moq:g}" if r.moq and r.moq > 0 else ""
        lines.append(
            f"lead-time demand {r.lead_time_demand:.0f} over {r.lead_time_days:g} d{uplift}, "
            f"safety stock {r.safety_stock:.0f} for {r.service_level:.0%} {kind[r.service_kind]} "
            f"(class {r.abc_class}), position {r.inventory_position:.0f} vs reorder point "
            f"{r.reorder_point:.0f}{moq}{rounding} -> order {r.order_quantity:.0f}"
        )
    return lines


def build_alerts(
    policies: pd.DataFrame, positions: pd.DataFrame, forecast: DemandForecast, as_of: date,
    period_days: float = 1.0,
) -> pd.DataFrame:
    """Alerts: stock below the minimum now, crossing it within the lead time, open orders
    exceeding stock, negative stock. Each with a line that says what to do."""
    plan = policies.merge(positions, on=["sku", "location"], how="left")
    pos = plan["inventory_position"].to_numpy(dtype=float)
    rop = plan["reorder_point"].to_numpy(dtype=float)
    lead_periods = np.ceil(plan["lead_time_days"].to_numpy(dtype=float) / period_days).astype(int)
    horizon = max(int(lead_periods.max(initial=1)), 1)
    cum = np.cumsum(forecast._extend(horizon), axis=1)
    projected = pos[:, None] - cum
    within = np.arange(horizon)[None, :] < lead_periods[:, None]
    cross = (projected <= rop[:, None]) & within
    cross_day = np.where(cross.any(axis=1), cross.argmax(axis=1) + 1, -1)

    known = np.isfinite(pos)
    demand = plan["mean_daily_demand"].to_numpy(dtype=float) > 0
    on_hand = plan["on_hand"].to_numpy(dtype=float)
    committed = plan["committed"].to_numpy(dtype=float)
    usable = np.maximum(np.nan_to_num(on_hand), 0.0)
    label = plan["sku"].astype(str) + "@" + plan["location"].astype(str)
    fmt = np.vectorize(lambda x: f"{x:.0f}", otypes=[object])
    below = known & demand & (pos <= rop)
    crossing = known & demand & ~below & (cross_day > 0)
    cross_date = pd.to_datetime(as_of) + pd.to_timedelta(np.maximum(cross_day, 0) * period_days, unit="D")
    parts = [
        (known & (on_hand < 0), "negative_stock", "high", pd.Series(pd.Timestamp(as_of), index=plan.index),
         label + ": on hand is " + fmt(on_hand) + " (negative); count the stock and correct the record "
         "before trusting this plan"),
        (below, "below_min", "high", pd.Series(pd.Timestamp(as_of), index=plan.index),
         label + ": position " + fmt(pos) + " is below the minimum " + fmt(rop)
         + "; order today (see reorder recommendations)"),
        (crossing, "will_cross_min", "medium", pd.Series(cross_date, index=plan.index),
         label + ": position will reach the minimum " + fmt(rop) + " around "
         + pd.Series(cross_date, index=plan.index).dt.strftime("%Y-%m-%d")
         + ", within the lead time of " + fmt(plan["lead_time_days"].to_numpy()) + " days; order by then"),
        (known & (committed > usable), "orders_exceed_stock", "high", pd.Series(pd.Timestamp(as_of), index=plan.index),
         label + ": open customer orders " + fmt(committed) + " exceed stock " + fmt(usable) + " by "
         + fmt(committed - usable) + "; expedite supply and tell the waiting customers their new dates"),
    ]
    frames = [
        pd.DataFrame({"sku": plan["sku"][mask], "location": plan["location"][mask], "kind": kind,
                      "severity": severity, "date": when[mask].dt.date, "message": message[mask]})
        for mask, kind, severity, when, message in parts
    ]
    columns = ["sku", "location", "kind", "severity", "date", "message"]
    return pd.concat([f for f in frames if len(f)] or [pd.DataFrame(columns=columns)], ignore_index=True)
