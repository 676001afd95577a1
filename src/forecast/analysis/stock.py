"""3. Stock policy and risk: policy by class, the service-level / safety-stock trade-off curve,
the risk ranking, allocation by customer segment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.analysis.snapshot import KEYS
from forecast.backorders.allocation import summarise_allocation
from forecast.planning import inventory

#: Service levels of the trade-off curve.
SERVICE_LEVEL_GRID = (*np.round(np.linspace(0.80, 0.98, 19), 3), 0.985, 0.99, 0.995, 0.998, 0.999)
SEGMENT_ORDER = ("vip", "loyal", "regular", "new")


def with_category(frame: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with a sku column) plus the product category ('uncategorised' when unknown)."""
    cats = products.reindex(columns=["sku", "category"]) if len(products) else None
    if cats is None:
        return frame.assign(category="uncategorised")
    out = frame.drop(columns="category", errors="ignore").merge(cats, on="sku", how="left")
    out["category"] = (
        out["category"]
        .astype(object)
        .where(out["category"].notna() & (out["category"] != ""), "uncategorised")
    )
    return out


def main_category(policies: pd.DataFrame) -> str:
    """The category holding the most stock value at the max level (max_level x unit cost)."""
    value = (policies["max_level"] * policies["unit_cost"]).groupby(policies["category"]).sum()
    if value.empty:
        raise ValueError("no policies with a category")
    return str(value.sort_values(ascending=False, kind="stable").index[0])


def policy_by_class(policies: pd.DataFrame, by: str | Sequence[str] = "abc_class") -> pd.DataFrame:
    """Per class: series, mean service level, safety stock (units and value), cycle stock value
    (order quantity / 2 x unit cost: the average stock between orders), median reorder point
    (the minimum), median max level and median safety stock in days of demand."""
    by = [by] if isinstance(by, str) else list(by)
    daily = policies["mean_daily_demand"].to_numpy(dtype=float)
    frame = policies.assign(
        safety_stock_value=policies["safety_stock"] * policies["unit_cost"],
        cycle_stock_value=policies["order_quantity"] / 2.0 * policies["unit_cost"],
        safety_days=np.divide(
            policies["safety_stock"].to_numpy(dtype=float),
            daily,
            out=np.full(len(policies), np.nan),
            where=daily > 0,
        ),
    )
    return frame.groupby(by, as_index=False).agg(
        series=("sku", "size"),
        service_level=("service_level", "mean"),
        safety_stock=("safety_stock", "sum"),
        safety_stock_value=("safety_stock_value", "sum"),
        cycle_stock_value=("cycle_stock_value", "sum"),
        median_reorder_point=("reorder_point", "median"),
        median_max_level=("max_level", "median"),
        median_safety_days=("safety_days", "median"),
    )


def service_level_curve(
    policies: pd.DataFrame,
    levels: Sequence[float] = SERVICE_LEVEL_GRID,
    kinds: Sequence[str] | None = None,
    scope: str = "class",
) -> pd.DataFrame:
    """Safety stock (units and value) of ``policies`` if every series had each service level.

    Same formulas as the plan (:func:`forecast.planning.policies.compute_policies`), from the stored
    lead-time demand mean mu_P and s.d. sigma_P, order quantity Q and unit cost: for a
    ``cycle`` service level ss = max(z sigma_P, 0) with z = Phi^-1(level); for a ``fill_rate``
    the exact negative binomial fill-rate level (:func:`forecast.planning.policies.fill_rate_safety_stock`),
    with the SKUs the plan pooled by class (``service_source`` "class", ``scope`` "class", not
    (R,S)) sharing their class's demand-weighted level; 0 for series without forecast demand.
    For (R,S) rows the lead-time part of the protection interval is taken as L/(L+R) of it.
    ``kinds`` defaults to the kind(s) the plan used. One row per kind and level: level, kind,
    safety_stock, safety_stock_value, series.

    >>> p = pd.DataFrame({"lead_time_demand_sd": [707.1068], "lead_time_demand": [1000.0],
    ...     "order_quantity": [10000.0], "unit_cost": [2.0], "mean_daily_demand": [100.0],
    ...     "service_kind": ["cycle"]})
    >>> service_level_curve(p, [0.975])[["safety_stock", "safety_stock_value"]].round(1).values.tolist()
    [[1385.9, 2771.8]]
    """
    levels = np.asarray(levels, dtype=float)
    sd = np.nan_to_num(policies["lead_time_demand_sd"].to_numpy(dtype=float))
    cost = np.nan_to_num(policies["unit_cost"].to_numpy(dtype=float))
    demand = policies["mean_daily_demand"].to_numpy(dtype=float) > 0
    if kinds is None:
        kinds = list(pd.unique(policies["service_kind"].dropna())) or ["fill_rate"]
    frames = []
    for kind in kinds:
        if kind == "cycle":
            z = np.asarray(inventory.safety_factor_cycle_service(levels), dtype=float)[:, None]
            z = np.broadcast_to(z, (len(levels), len(sd)))
            safety = np.where(demand[None, :], np.maximum(z * sd[None, :], 0.0), 0.0)
        elif kind == "fill_rate":
            safety = np.stack([_fill_rate_curve_row(policies, level, scope) for level in levels])
        else:
            raise ValueError(f"kind must be 'cycle' or 'fill_rate', got {kind!r}")
        safety = _held_in_whole_units(policies, safety, demand)
        frames.append(
            pd.DataFrame(
                {
                    "level": levels,
                    "kind": kind,
                    "safety_stock": safety.sum(axis=1),
                    "safety_stock_value": (safety * cost[None, :]).sum(axis=1),
                    "series": len(sd),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _held_in_whole_units(policies: pd.DataFrame, safety: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """The safety stock the plan holds: the reorder point mu_P + ss rounded up to a whole unit
    (:func:`forecast.planning.units.round_up_whole`) for the series whose planned reorder point
    is whole (items sold in whole units), less mu_P; unchanged without a ``reorder_point``."""
    from forecast.planning.units import round_up_whole, sold_in_whole_units

    if "fractional" in policies:  # the products' own flag, when the frame carries it
        whole = sold_in_whole_units(policies)
        ltd = np.nan_to_num(policies["lead_time_demand"].to_numpy(dtype=float))
        held = np.stack([round_up_whole(ltd + row, whole) - ltd for row in safety])
        return np.where(demand[None, :], held, safety)
    if "reorder_point" not in policies:
        return safety
    ltd = np.nan_to_num(policies["lead_time_demand"].to_numpy(dtype=float))
    planned = policies["reorder_point"].to_numpy(dtype=float)
    whole = np.isfinite(planned) & (planned == np.round(planned))
    held = np.stack([round_up_whole(ltd + row, whole) - ltd for row in safety])
    return np.where(demand[None, :], held, safety)


def _fill_rate_curve_row(policies: pd.DataFrame, level: float, scope: str) -> np.ndarray:
    """Safety stock per series at fill rate ``level``, as the plan computes it."""
    from forecast.planning.plan_config import PlanConfig
    from forecast.planning.policies import fill_rate_safety_stock

    n = len(policies)

    def col(name: str, default: float = np.nan) -> np.ndarray:
        if name not in policies:
            return np.full(n, default)
        return pd.to_numeric(policies[name], errors="coerce").to_numpy(dtype=float)

    ltd_mean, ltd_sd = np.nan_to_num(col("lead_time_demand")), np.nan_to_num(col("lead_time_demand_sd"))
    daily = np.nan_to_num(col("mean_daily_demand"))
    order_q = np.maximum(np.nan_to_num(col("order_quantity")), 1.0)
    policy = policies["policy"].astype(str).to_numpy() if "policy" in policies else np.full(n, "sQ")
    periodic = policy == "RS"
    lead_days, review = np.nan_to_num(col("lead_time_days")), np.nan_to_num(col("review_period_days"))
    share = np.where(lead_days + review > 0, lead_days / np.maximum(lead_days + review, 1e-12), 1.0)
    source = policies["service_source"].astype(str).to_numpy() if "service_source" in policies else np.full(n, "class")
    pool = None
    if scope == "class" and "abc_class" in policies:
        pool = np.where((source == "class") & ~periodic, policies["abc_class"].astype(str).to_numpy(), "")
    safety = np.zeros(n)
    for rows in (~periodic, periodic):
        if not rows.any():
            continue
        lead = (ltd_mean[rows] * share[rows], ltd_sd[rows] * np.sqrt(share[rows])) if rows is periodic else None
        safety[rows], _ = fill_rate_safety_stock(
            np.full(int(rows.sum()), level), order_q[rows], ltd_mean[rows], ltd_sd[rows], daily[rows] > 0,
            lead, None if pool is None else pool[rows], daily[rows], np.ones(int(rows.sum())),
            floor=PlanConfig.sku_fill_floor_points,
        )
    return safety


def risk_ranking(
    risk: pd.DataFrame,
    policies: pd.DataFrame,
    products: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
    n: int = 15,
) -> pd.DataFrame:
    """The ``n`` series most likely to stock out in the simulation, with their class, category,
    thresholds and the order recommended for them (if any)."""
    columns = [*KEYS, "abc_class", "xyz_class", "reorder_point", "max_level", "safety_stock"]
    frame = risk.merge(policies.reindex(columns=columns), on=KEYS, how="left")
    if products is not None and len(products):
        frame = with_category(frame, products)
    if recommendations is not None and len(recommendations):
        ordered = recommendations.groupby(KEYS, as_index=False).agg(
            order_quantity=("order_quantity", "sum"),
            order_by=("order_by", "min"),
            urgent=("urgent", "max"),
        )
        frame = frame.merge(ordered, on=KEYS, how="left")
    frame = frame.dropna(subset=["stockout_probability"])
    return frame.sort_values(
        ["stockout_probability", "expected_backorders", "sku", "location"],
        ascending=[False, False, True, True],
        ignore_index=True,
    ).head(n)


def allocation_by_segment(
    allocations: pd.DataFrame, orders: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Outcome per customer segment under each allocation policy, side by side: the measures
    of :func:`forecast.backorders.allocation.summarise_allocation` (lines, share on time, mean and
    90th-percentile days late, lines without planned supply ...; ``orders`` gives it the unit
    prices for revenue at risk). Columns are (measure, policy); known segments come first."""
    frame = allocations.assign(
        segment=allocations["segment"]
        .astype(object)
        .where(allocations["segment"].notna(), "unknown")
    )
    summary = summarise_allocation(frame) if orders is None else summarise_allocation(frame, orders)
    wide = summary.pivot(index="segment", columns="policy")
    known = [s for s in SEGMENT_ORDER if s in wide.index]
    others = sorted(s for s in wide.index if s not in SEGMENT_ORDER and s != "all")
    return wide.reindex(known + others + (["all"] if "all" in wide.index else []))
