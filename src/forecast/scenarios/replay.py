"""Historical replay: replan on a rolling schedule through a past period, play the real demand.

At each planning date (``start``, then every ``every`` days up to ``end``) the forecast is made
from the sales *before* that date only (:func:`forecast.forecasting.engine.forecast_panel`), and the stock
policy from it (:func:`forecast.planning.policies.compute_policies`); the policy holds until the next
planning date. The actual daily demand is then played against it, SKU by SKU and day by day,
with the timing of :mod:`forecast.backorders.simulation`: receipts arrive at the start of a day, the day's
demand is served from stock, and at the end of the day the policy orders when the inventory
position (net stock + on order) is at or below the reorder point ((s,Q): the smallest multiple
of Q that lifts it above s; (s,S): up to S) or, under (R,S), every R days up to S. An order
arrives after the series' lead time (the plan's, rounded to whole days; deterministic).
Unmet demand is backordered (the planning formulas' assumption) or, with ``unmet="lost"``,
lost.

Starting state (``start``): with "steady" (the default) each SKU starts where a long-running
policy would be on a day picked at random: inventory position s + u (max - s) with u in (0, 1]
fixed per SKU (a hash of sku and location, the same for every rule compared), and the last order
still in transit when it was placed less than a lead time ago (an (s,Q) cycle lasts
(max - s) / d days, d the first plan's daily demand). With "full" every SKU starts at its
maximum level, nothing on order (just replenished): all cycles then start together, which
biases the measures when a cycle is long against the replay (an EOQ of 120 days in 7 months:
the second cycle's shortage at its end falls outside).

Measured per SKU over the replay (after ``warmup_days``): fill rate (units served from stock /
units demanded), stockout days (days ending with no stock), short days (days with unmet
demand), average on-hand (end of day) in units and at unit cost, orders; against the target
(the plan's fill-rate service level, weighted by each day's demand).

The comparison is a simple ERP rule: reorder point = average daily demand (the trailing
``erp_window_days`` before each planning date) x (lead time + c days of cover), order quantity =
the policy's. One c for all SKUs is tuned by bisection to reach (a) the policy's average stock,
(b) the policy's fill rate.

Censored days (recorded ``on_hand`` <= 0: sales understate demand) and days not observed
(before a series' first sale) are played with the recorded sales but left out of the measures;
the forecasts never read them as demand (see :mod:`forecast.forecasting.series`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import Panel, build_panel
from forecast.planning.policies import PlanConfig, compute_policies

Forecaster = Callable[[Panel, int], DemandForecast]
REPLAY_MODELS = ("seasonal_naive", "seasonal_profile", "ets")
RULES = ("policy", "erp_same_stock", "erp_same_fill")


@dataclass(frozen=True)
class ReplayConfig:
    """Replay parameters (all with defaults)."""

    every_days: int = 7
    lead_time_days: float = 7.0  # for products without a lead time (their supplier's, else this)
    lead_time_sd_days: float = 0.0  # the replay's lead times are deterministic
    horizon_days: int = 28  # forecast horizon at each planning date (at least lead + review)
    unmet: Literal["backorder", "lost"] = "backorder"
    warmup_days: int = 0  # days played but not measured at the start
    start: Literal["steady", "full"] = "steady"  # starting stock (module doc)
    erp_window_days: int = 28
    plan: PlanConfig = field(default_factory=PlanConfig)
    models: tuple[str, ...] = REPLAY_MODELS


@dataclass
class ReplayResult:
    per_sku: pd.DataFrame  # one row per rule and series
    summary: pd.DataFrame  # one row per rule
    plans: pd.DataFrame  # per planning date and series: the policy and the ERP rule's inputs
    cover_days: dict[str, float]  # the ERP rule's c for each tuning


def engine_forecaster(models: tuple[str, ...] = REPLAY_MODELS) -> Forecaster:
    """The forecast engine restricted to ``models`` (fast statistical ones by default)."""

    def forecast(panel: Panel, horizon: int) -> DemandForecast:
        from forecast.forecasting.engine import EngineConfig, forecast_panel

        return forecast_panel(panel, horizon, EngineConfig(models=models)).forecast

    return forecast


def replay(
    sales: pd.DataFrame | Panel,
    products: pd.DataFrame,
    start: date | str,
    end: date | str,
    every: int | None = None,
    *,
    config: ReplayConfig | None = None,
    suppliers: pd.DataFrame | None = None,
    forecaster: Forecaster | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Replan every ``every`` days from ``start`` and play the actual demand up to ``end``.

    ``sales``: long rows (date, sku, location, quantity[, price, on_hand]) or a daily Panel;
    history before ``start`` is what the first plan is made from. ``products``: the products
    table (lead times, unit cost, service level when known; unit cost defaults to the last
    price seen before each planning date). ``forecaster(panel, horizon)`` defaults to the
    engine with ``config.models``.
    """
    cfg = config or ReplayConfig()
    every = int(every or cfg.every_days)
    say = progress or (lambda message: None)
    panel = sales if isinstance(sales, Panel) else build_panel(sales)
    if panel.freq.code != "D":
        raise ValueError(f"replay needs daily sales; got {panel.freq.pandas_freq} periods")
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    first = int(panel.dates.searchsorted(start_ts))
    last = int(panel.dates.searchsorted(end_ts, side="right"))
    if first == 0 or first >= last:
        raise ValueError(
            f"replay period {start_ts:%Y-%m-%d}..{end_ts:%Y-%m-%d} must start after the first "
            f"sales date {panel.dates[0]:%Y-%m-%d} and end after it starts "
            f"(sales end {panel.dates[-1]:%Y-%m-%d})"
        )
    forecaster = forecaster or engine_forecaster(cfg.models)
    plan_cfg = _plan_config(cfg)
    suppliers = suppliers if suppliers is not None else pd.DataFrame(
        columns=["supplier", "lead_time_days", "lead_time_sd_days", "order_cost"])

    days = last - first
    starts = list(range(first, last, every))
    horizon = max(cfg.horizon_days, every)
    plans = []
    for k, t0 in enumerate(starts):
        cut = Panel(panel.keys, panel.dates[:t0], panel.demand[:, :t0], panel.sales[:, :t0],
                    panel.censored[:, :t0], panel.price[:, :t0], panel.freq)
        say(f"plan {k + 1}/{len(starts)}: {panel.dates[t0]:%Y-%m-%d}")
        fc = forecaster(cut, horizon)
        policy = compute_policies(fc, cut.demand, _products_at(products, cut), suppliers, plan_cfg)
        policy = policy.set_index(["sku", "location"]).reindex(
            pd.MultiIndex.from_frame(panel.keys)).reset_index()
        recent = cut.demand[:, -cfg.erp_window_days :]
        with np.errstate(invalid="ignore"):
            observed = np.isfinite(recent).sum(axis=1)
            average = np.where(observed > 0, np.nansum(recent, axis=1) / np.maximum(observed, 1),
                               0.0)
        plans.append(policy.assign(plan_date=panel.dates[t0].date(), average_daily_demand=average,
                                   unit_cost=_unit_cost(policy, cut)))
    plan_frame = pd.concat(plans, ignore_index=True)

    # Arrays: plan p holds from day starts[p] - first; per series lead time from the first plan.
    day_plan = np.repeat(np.arange(len(starts)), np.diff([*starts, last]))
    stacked = {col: np.vstack([p[col].to_numpy(dtype=float) for p in plans])
               for col in ("reorder_point", "order_quantity", "max_level", "service_level",
                           "average_daily_demand", "unit_cost", "review_period_days")}
    kinds = np.vstack([p["policy"].map({"sQ": 0, "sS": 1, "RS": 2}).fillna(0).to_numpy(int)
                       for p in plans])
    lead = np.maximum(np.round(np.nan_to_num(plans[0]["lead_time_days"].to_numpy(dtype=float),
                                             nan=cfg.lead_time_days)), 1).astype(int)
    actual = panel.sales[:, first:last]
    measured = np.isfinite(panel.demand[:, first:last]) & ~panel.censored[:, first:last]
    measured[:, : min(cfg.warmup_days, days)] = False
    if cfg.start not in ("steady", "full"):
        raise ValueError(f"start must be 'steady' or 'full', got {cfg.start!r}")
    fraction = _start_fractions(panel.keys) if cfg.start == "steady" else None
    game = _Game(actual, measured, day_plan, lead, stacked["unit_cost"], stacked["service_level"],
                 cfg.unmet, fraction, np.nan_to_num(plans[0]["mean_daily_demand"].to_numpy(float)))

    policy_rule = game.play(np.nan_to_num(stacked["reorder_point"]),
                            np.nan_to_num(stacked["order_quantity"]),
                            np.nan_to_num(stacked["max_level"]), kinds,
                            np.nan_to_num(stacked["review_period_days"]))
    demand_rate = np.nan_to_num(stacked["average_daily_demand"])
    q = np.nan_to_num(stacked["order_quantity"])

    def erp(cover: float) -> dict[str, np.ndarray]:
        s = demand_rate * (lead[None, :] + cover)
        return game.play(s, q, s + q, np.zeros_like(kinds), np.zeros_like(q))

    say("tuning the ERP rule")
    c_stock = _bisect(lambda c: _total(erp(c), "on_hand") - _total(policy_rule, "on_hand"),
                      -float(lead.max()))
    c_fill = _bisect(lambda c: _fill(erp(c)) - _fill(policy_rule), -float(lead.max()))
    outcomes = {"policy": policy_rule, "erp_same_stock": erp(c_stock),
                "erp_same_fill": erp(c_fill)}
    cover = {"policy": np.nan, "erp_same_stock": c_stock, "erp_same_fill": c_fill}
    per_sku = pd.concat(
        [_per_sku(panel.keys, name, out, cover[name]) for name, out in outcomes.items()],
        ignore_index=True,
    )
    summary = pd.DataFrame([_summary(name, out, cover[name]) for name, out in outcomes.items()])
    return ReplayResult(per_sku, summary, plan_frame,
                        {"erp_same_stock": c_stock, "erp_same_fill": c_fill})


def _start_fractions(keys: pd.DataFrame) -> np.ndarray:
    """u in (0, 1] per series from a hash of its sku and location (independent of row order)."""
    text = keys["sku"].astype(str) + "\x1f" + keys["location"].astype(str)
    digest = [int(hashlib.blake2b(t.encode(), digest_size=8).hexdigest(), 16) for t in text]
    return 1.0 - np.asarray(digest, dtype=float) / 2.0**64


def _plan_config(cfg: ReplayConfig) -> PlanConfig:
    """The planning parameters with the replay's lead-time defaults."""
    base = cfg.plan
    values = {f: getattr(base, f) for f in base.__dataclass_fields__}
    values["default_lead_time_days"] = cfg.lead_time_days
    values["default_lead_time_cv"] = (
        cfg.lead_time_sd_days / cfg.lead_time_days if cfg.lead_time_days > 0 else 0.0)
    return PlanConfig(**values)


def _products_at(products: pd.DataFrame, cut: Panel) -> pd.DataFrame:
    """Products with unit cost = the last price seen (median over locations) when none given."""
    prices = pd.DataFrame({"sku": cut.keys["sku"].to_numpy(), "price": _last_price(cut)})
    last = prices.groupby("sku")["price"].median()
    frame = products.copy()
    if "unit_cost" not in frame:
        frame["unit_cost"] = np.nan
    frame["unit_cost"] = frame["unit_cost"].astype(float).fillna(frame["sku"].map(last))
    return frame


def _last_price(cut: Panel) -> np.ndarray:
    price = cut.price
    seen = np.isfinite(price)
    idx = np.where(seen.any(axis=1), price.shape[1] - 1 - np.argmax(seen[:, ::-1], axis=1), 0)
    return np.where(seen.any(axis=1), price[np.arange(len(price)), idx], np.nan)


def _unit_cost(policy: pd.DataFrame, cut: Panel) -> np.ndarray:
    cost = policy["unit_cost"].to_numpy(dtype=float) if "unit_cost" in policy else np.full(
        cut.n_series, np.nan)
    return np.where(np.isfinite(cost), cost, np.nan_to_num(_last_price(cut), nan=0.0))


@dataclass
class _Game:
    """The actual demand of the replay period and how it is measured; ``play`` runs a rule."""

    demand: np.ndarray  # (n, D) recorded sales per day
    measured: np.ndarray  # (n, D) days that count
    day_plan: np.ndarray  # (D,) plan in force each day
    lead: np.ndarray  # (n,) whole days
    unit_cost: np.ndarray  # (P, n)
    target: np.ndarray  # (P, n) fill-rate target of each plan
    unmet: str
    start_fraction: np.ndarray | None = None  # (n,) u: start at s + u (max - s); None = max
    start_rate: np.ndarray | None = None  # (n,) daily demand that times the order in transit

    def play(self, s: np.ndarray, q: np.ndarray, big_s: np.ndarray, kind: np.ndarray,
             review: np.ndarray) -> dict[str, np.ndarray]:
        """Per-series totals of one rule; s, q, big_s, kind, review are (P, n) per plan."""
        n, days = self.demand.shape
        demand = np.nan_to_num(self.demand)
        arrivals = np.zeros((n, days + int(self.lead.max()) + 1))
        rows = np.arange(n)
        net, position = self._start(s[0], q[0], big_s[0], kind[0], arrivals)
        totals = {k: np.zeros(n) for k in ("demand", "served", "on_hand", "on_hand_value",
                                           "stockout_days", "short_days", "days", "orders",
                                           "target_units")}
        plan_start = 0
        for t in range(days):
            p = self.day_plan[t]
            if t == 0 or p != self.day_plan[t - 1]:
                plan_start = t
            net += arrivals[:, t]
            d = demand[:, t]
            served = np.minimum(d, np.maximum(net, 0.0))
            lost = self.unmet == "lost"
            net -= served if lost else d
            position -= served if lost else d
            m = self.measured[:, t]
            totals["demand"] += np.where(m, d, 0.0)
            totals["served"] += np.where(m, served, 0.0)
            totals["target_units"] += np.where(m, d * np.nan_to_num(self.target[p]), 0.0)
            totals["on_hand"] += np.where(m, np.maximum(net, 0.0), 0.0)
            totals["on_hand_value"] += np.where(m, np.maximum(net, 0.0) * self.unit_cost[p], 0.0)
            totals["stockout_days"] += m & (net <= 0)
            totals["short_days"] += m & (served < d - 1e-9)
            totals["days"] += m
            # End of the day: the rule in force looks at the inventory position.
            qp, sp, kp = q[p], s[p], kind[p]
            with np.errstate(invalid="ignore", divide="ignore"):
                multiple = np.floor((sp - position) / qp) + 1
                reorder = np.where(kp == 0, multiple * qp, big_s[p] - position)
            trigger = np.where(kp == 2, False, position <= sp) & np.where(kp == 0, qp > 0, True)
            due = (kp == 2) & (review[p] > 0) & (
                (t - plan_start) % np.maximum(np.round(review[p]), 1).astype(int) == 0)
            order = np.where(trigger | due, np.maximum(np.nan_to_num(reorder), 0.0), 0.0)
            placed = order > 0
            arrivals[rows[placed], t + self.lead[placed]] += order[placed]
            position += order
            totals["orders"] += m & placed
        return totals


    def _start(self, s: np.ndarray, q: np.ndarray, big_s: np.ndarray, kind: np.ndarray,
               arrivals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Net stock and inventory position on day 0; an order in transit goes to ``arrivals``.

        Position s + u (max - s); the cycle of max - s units lasts T = (max - s) / d days and
        began (1 - u) T days ago with an order of that size, still in transit (arriving on day
        L - (1 - u) T) when placed less than a lead time L ago. u = 1 (or no fraction): at the
        maximum, nothing on order. (R,S): the same with R days between orders.
        """
        top = big_s.astype(float)
        if self.start_fraction is None:
            return top.copy(), top.copy()
        u = self.start_fraction
        span = np.maximum(top - s, 0.0)
        position = top - (1.0 - u) * span
        rate = np.nan_to_num(self.start_rate) if self.start_rate is not None else np.zeros(len(u))
        with np.errstate(divide="ignore", invalid="ignore"):
            since = np.where(rate > 0, (1.0 - u) * span / rate, np.inf)  # days since the order
        due = np.ceil(self.lead - since)  # arrival day of that order, if still to come
        transit = (span > 0) & np.isfinite(since) & (due >= 1) & (due < arrivals.shape[1])
        arrivals[np.flatnonzero(transit), due[transit].astype(int)] += span[transit]
        net = position - np.where(transit, span, 0.0)
        return net, position


def _bisect(gap: Callable[[float], float], low: float, high: float = 30.0,
            tol: float = 0.01) -> float:
    """Root of an increasing function of the days of cover (doubling ``high`` to bracket it)."""
    if gap(low) >= 0:
        return low
    while gap(high) < 0 and high < 3650:
        low, high = high, high * 2
    for _ in range(60):
        if high - low <= tol:
            break
        mid = 0.5 * (low + high)
        if gap(mid) < 0:
            low = mid
        else:
            high = mid
    return high


def _total(out: dict[str, np.ndarray], name: str) -> float:
    """Total over series of a per-series average per measured day (units held on average)."""
    return float(np.sum(np.divide(out[name], out["days"], out=np.zeros_like(out[name]),
                                  where=out["days"] > 0)))


def _fill(out: dict[str, np.ndarray]) -> float:
    total = out["demand"].sum()
    return float(out["served"].sum() / total) if total > 0 else 1.0


def _per_sku(keys: pd.DataFrame, rule: str, out: dict[str, np.ndarray], cover: float):
    days = np.maximum(out["days"], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(out["demand"] > 0, out["served"] / out["demand"], np.nan)
        target = np.where(out["demand"] > 0, out["target_units"] / out["demand"], np.nan)
    return pd.DataFrame({
        "rule": rule,
        "sku": keys["sku"].to_numpy(),
        "location": keys["location"].to_numpy(),
        "target_fill_rate": target,
        "fill_rate": fill,
        "demand": out["demand"],
        "served": out["served"],
        "stockout_days": out["stockout_days"],
        "short_days": out["short_days"],
        "days": out["days"],
        "average_on_hand": out["on_hand"] / days,
        "average_stock_value": out["on_hand_value"] / days,
        "orders": out["orders"],
        "cover_days": cover,
    })


def _summary(rule: str, out: dict[str, np.ndarray], cover: float) -> dict[str, float | str]:
    demand = out["demand"]
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(demand > 0, out["served"] / demand, np.nan)
        target = np.where(demand > 0, out["target_units"] / demand, np.nan)
    sold = demand > 0
    return {
        "rule": rule,
        "fill_rate": _fill(out),
        "target_fill_rate": float(out["target_units"].sum() / demand.sum()) if demand.sum() else
        np.nan,
        "skus_meeting_target": float(np.mean(fill[sold] >= target[sold] - 1e-9)) if sold.any()
        else np.nan,
        "stockout_days": float(out["stockout_days"].sum()),
        "stockout_day_share": float(out["stockout_days"].sum() / max(out["days"].sum(), 1)),
        "short_days": float(out["short_days"].sum()),
        "average_on_hand": _total(out, "on_hand"),
        "average_stock_value": _total(out, "on_hand_value"),
        "orders": float(out["orders"].sum()),
        "cover_days": cover,
    }
