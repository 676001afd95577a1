"""What-if: change the plan's inputs for a few SKUs and compare forecast, policy, risk and customers.

A scenario adds a planned campaign, delays a supplier, or shocks demand; the engine, the
planning step, the simulation and the allocation then run on the same SKUs from the published
snapshot (never the live warehouse, so a running pipeline is not blocked): once as the data
stands ("before"), once with the scenario ("after"). Campaign uplift comes from the published
run's estimate over all series, so a scenario on one SKU uses what was learned from all. The
forecast is fitted once when the scenario has no campaign (a delay does not change demand).

**Supplier delay** (``supplier_delay_days`` = N, optionally ``supplier``): every delivery takes N
days longer. The delayed SKUs (the supplier's, or every SKU of the scenario without a supplier)
keep the lead time the plan uses (measured from receipts when there are enough, see
:mod:`forecast.planning.suppliers`, else the configured one) plus N, with the same spread; in the
simulation their observed lead times are shifted by N. The supplier's open purchase orders
arrive N days after their expected date (an overdue order N days after the as-of date: it was
due any day). The result then shows, per SKU, the stockout probability, first stockout date and
units short now, with the change under the current policy (``*_unchanged``: the harm if nobody
reacts) and with the plan recomputed for it (``*_after``), and the recommended order before and
after (``skus_hit``), per waiting customer line the ETA before and
after and whether it becomes late (``lines_hit``: lines whose ETA or status changes), and the
lines hit per customer segment (``segments_hit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.backorders.allocation import allocate, open_order_lines
from forecast.backorders.simulation import SimulationConfig, simulate
from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.engine import EngineConfig, forecast_panel
from forecast.forecasting.features import build_covariates
from forecast.forecasting.series import build_panel
from forecast.ingest.published import read_last_sales_date, read_snapshot
from forecast.planning.policies import (
    PlanConfig,
    compute_policies,
    recommend_orders,
    series_inputs,
    stock_positions,
)
from forecast.planning.suppliers import estimate_lead_times, receipt_lines, sku_suppliers

INPUTS = ("sales", "products", "suppliers", "inventory", "purchase_orders", "customer_orders", "events")
#: Read whole (not only the scenario's SKUs): a supplier's lead time pools all of its receipts.
SHARED_INPUTS = ("products", "receipts", "purchase_orders")
KEYS = ["sku", "location"]


@dataclass
class Scenario:
    """What changes. Dates are ISO strings or dates; empty fields change nothing.

    ``supplier``: only this supplier's SKUs and open purchase orders are delayed; with no
    ``skus`` the scenario covers every SKU it supplies (or has an open purchase order from).
    """

    skus: list[str]
    locations: list[str] | None = None
    campaign: dict | None = None  # {"start", "end", "kind", "discount_pct"}
    supplier_delay_days: float = 0.0  # added to the lead time and to open purchase orders
    demand_shock_pct: float = 0.0  # +30 = demand 30% above the forecast ...
    shock_start: str | date | None = None  # ... from this date (default: the whole horizon)
    shock_end: str | date | None = None
    supplier: str | None = None


@dataclass
class WhatIfResult:
    comparison: pd.DataFrame  # sku, location, metric, before, after, change
    forecast_before: pd.DataFrame
    forecast_after: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    skus_hit: pd.DataFrame = field(default_factory=pd.DataFrame)
    lines_hit: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments_hit: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class _PlanInputs:
    """What the plan, the simulation and the allocation read, before or after a scenario."""

    products: pd.DataFrame
    suppliers: pd.DataFrame
    purchase_orders: pd.DataFrame
    lead_times: pd.DataFrame  # receipts-based lead times per SKU (forecast.planning.suppliers)
    lead_samples: pd.DataFrame  # their observed lead times, for the simulation


def _scenario_campaigns(campaigns: pd.DataFrame, scenario: Scenario, keys: pd.DataFrame) -> pd.DataFrame:
    if not scenario.campaign:
        return campaigns
    c = scenario.campaign
    rows = pd.DataFrame(
        {
            "sku": keys["sku"].to_numpy(),
            "category": "",
            "location": keys["location"].to_numpy(),
            "start_date": pd.Timestamp(c["start"]),
            "end_date": pd.Timestamp(c.get("end", c["start"])),
            "kind": c.get("kind", "promotion"),
            "discount_pct": float(c.get("discount_pct") or 0.0),
        }
    )
    return pd.concat([campaigns, rows], ignore_index=True) if len(campaigns) else rows


def _shock(fc: DemandForecast, scenario: Scenario) -> DemandForecast:
    if not scenario.demand_shock_pct:
        return fc
    start = pd.Timestamp(scenario.shock_start) if scenario.shock_start else fc.dates[0]
    end = pd.Timestamp(scenario.shock_end) if scenario.shock_end else fc.dates[-1]
    window = (fc.dates >= start) & (fc.dates <= end)
    mean = fc.mean.copy()
    mean[:, window] *= 1 + scenario.demand_shock_pct / 100
    return DemandForecast(fc.keys, fc.dates, mean, fc.size, fc.level_var, fc.model)


def supplier_skus(
    supplier: str, products: pd.DataFrame, receipts: pd.DataFrame, purchase_orders: pd.DataFrame,
    as_of: date,
) -> list[str]:
    """SKUs a supplier delivers: those whose supplier it is (the product's, else the one that
    delivered it last, as in :func:`forecast.planning.suppliers.sku_suppliers`) and those with an open
    purchase order from it."""
    owners = sku_suppliers(products, receipt_lines(receipts, as_of, None))
    skus = set(owners.loc[owners["supplier"] == supplier, "sku"])
    if len(purchase_orders) and "supplier" in purchase_orders:
        skus |= set(purchase_orders.loc[purchase_orders["supplier"] == supplier, "sku"].astype(str))
    return sorted(skus)


def _resolved_lead_times(
    skus: list[str], plan_inputs: _PlanInputs, plan: PlanConfig
) -> pd.DataFrame:
    """sku, lead_time_days, lead_time_sd_days as the plan uses them (receipts, product,
    supplier or default)."""
    keys = pd.DataFrame({"sku": skus, "location": ""})
    products = plan_inputs.products if len(plan_inputs.products) else pd.DataFrame({"sku": []})
    frame = series_inputs(keys, products, plan_inputs.suppliers, plan, plan_inputs.lead_times)
    return frame[["sku", "lead_time_days", "lead_time_sd_days", "supplier"]].reset_index(drop=True)


def _delay(
    base: _PlanInputs,
    skus: list[str],
    delayed: set[str],
    po_delayed: np.ndarray,
    days: float,
    as_of: date,
    plan: PlanConfig,
) -> _PlanInputs:
    """The inputs with ``days`` added to the lead times of the ``delayed`` SKUs and to the open
    purchase orders flagged in ``po_delayed`` (see the module docstring)."""
    if not days:
        return base
    resolved = _resolved_lead_times(skus, base, plan)
    hit = resolved[resolved["sku"].isin(delayed)].set_index("sku")
    products = base.products.copy() if len(base.products) else pd.DataFrame({"sku": []})
    missing = sorted(set(hit.index) - set(products["sku"]))
    if missing:
        products = pd.concat([products, pd.DataFrame({"sku": missing})], ignore_index=True)
    rows = products["sku"].isin(hit.index)
    for col in ("lead_time_days", "lead_time_sd_days"):
        values = products[col].astype(float) if col in products else pd.Series(np.nan, index=products.index)
        shift = days if col == "lead_time_days" else 0.0
        products[col] = values.where(~rows, products["sku"].map(hit[col]) + shift)
    lead_times = base.lead_times[~base.lead_times["sku"].isin(delayed)]
    samples = base.lead_samples.copy()
    if len(samples):
        samples["lead_time_days"] = samples["lead_time_days"] + np.where(
            samples["sku"].isin(delayed), days, 0.0)
    pos = base.purchase_orders.copy()
    if len(pos):
        expected = pd.to_datetime(pos["expected_date"])
        moved = expected.clip(lower=pd.Timestamp(as_of)) + pd.Timedelta(days=days)
        pos["expected_date"] = expected.where(~po_delayed, moved)
    return _PlanInputs(products, base.suppliers, pos, lead_times, samples)


def what_if(
    snapshot_dir: str | Path,
    scenario: Scenario,
    *,
    horizon: int = 28,
    n_paths: int = 300,
    seed: int = 0,
    plan: PlanConfig | None = None,
    models: tuple[str, ...] | None = None,
    country: str | None = "US",
    allocation_policy: str = "priority",
) -> WhatIfResult:
    """Run the scenario on its SKUs and compare with the data as it stands."""
    if scenario.supplier_delay_days < 0:
        raise ValueError(f"a supplier delay must be >= 0 days, got {scenario.supplier_delay_days:g}")
    if not scenario.skus and not scenario.supplier:
        raise ValueError("a scenario needs at least one sku (or a supplier)")
    shared = read_snapshot(snapshot_dir, SHARED_INPUTS)
    as_of_hint = _last_sales_date(snapshot_dir)
    skus = list(scenario.skus)
    if scenario.supplier and not skus:
        skus = supplier_skus(scenario.supplier, shared["products"], shared["receipts"],
                             shared["purchase_orders"], as_of_hint)
        if not skus:
            known = _known_suppliers(shared)
            raise ValueError(
                f"supplier {scenario.supplier!r} supplies no SKU in {snapshot_dir}"
                + (f"; known suppliers: {', '.join(known)}" if known else "")
            )
    data = read_snapshot(snapshot_dir, INPUTS, skus)
    data.update(read_snapshot(snapshot_dir, ("campaigns", "campaign_uplift", "customers")))
    data["customer_orders"] = open_order_lines(data["customer_orders"])
    sales = data["sales"]
    if scenario.locations:
        sales = sales[sales["location"].isin(scenario.locations)]
    if sales.empty:
        raise ValueError(f"no sales history for {', '.join(skus)} in {snapshot_dir}")
    panel = build_panel(sales)
    as_of = panel.dates[-1].date()
    plan = plan or PlanConfig()
    cfg = EngineConfig(models=models or EngineConfig().models, seed=seed)
    uplift = data["campaign_uplift"].drop(columns=["run_id"], errors="ignore")

    estimate = estimate_lead_times(shared["receipts"], shared["products"], as_of)
    base = _PlanInputs(
        data["products"], data["suppliers"], data["purchase_orders"],
        estimate.per_sku[estimate.per_sku["sku"].isin(skus)],
        estimate.samples[estimate.samples["sku"].isin(skus)],
    )
    delayed, po_delayed = _delay_targets(scenario, skus, shared, base.purchase_orders, as_of)
    after = _delay(base, skus, delayed, po_delayed, scenario.supplier_delay_days, as_of, plan)
    notes = []
    planned = _planned_skus(panel.keys, data["products"])
    orders = data["customer_orders"]
    if len(orders) and not orders["sku"].isin(planned).all():
        unplanned = orders.loc[~orders["sku"].isin(planned), "sku"]
        notes.append(
            f"{len(unplanned)} waiting line(s) of {unplanned.nunique()} SKU(s) without sales history "
            f"({', '.join(sorted(unplanned.unique())[:5])}) left out: the what-if cannot plan them"
        )
        data["customer_orders"] = orders[orders["sku"].isin(planned)].reset_index(drop=True)
    if scenario.supplier_delay_days:
        who = f"supplier {scenario.supplier}" if scenario.supplier else "the suppliers of these SKUs"
        notes.append(
            f"{who}: {scenario.supplier_delay_days:g} days added to the lead time of "
            f"{len(delayed)} SKU(s) and to {int(po_delayed.sum())} open purchase order line(s)"
        )

    outcomes = {}
    fitted: DemandForecast | None = None
    for label, inputs in (("before", base), ("after", after)):
        campaigns = data["campaigns"].drop(columns=["run_id"], errors="ignore")
        if label == "after":
            campaigns = _scenario_campaigns(campaigns, scenario, panel.keys)
        if fitted is None or scenario.campaign:
            covariates = build_covariates(
                panel.keys, panel.dates, horizon, panel.freq, campaigns=campaigns,
                events=data["events"], products=inputs.products, price=panel.price, country=country,
            )
            fitted = forecast_panel(panel, horizon, cfg, covariates,
                                    uplift=uplift if len(uplift) else None).forecast
        fc = _shock(fitted, scenario) if label == "after" else fitted
        policies = compute_policies(fc, panel.demand, inputs.products, inputs.suppliers, plan,
                                    panel.freq.period_days, lead_times=inputs.lead_times)
        positions = stock_positions(fc.keys, data["inventory"], inputs.purchase_orders,
                                    data["customer_orders"])
        recs = recommend_orders(policies, positions, fc, as_of, plan, panel.freq.period_days)
        sim_cfg = SimulationConfig(n_paths=n_paths, seed=seed)
        risk = simulate(fc, policies, positions, inputs.purchase_orders, as_of, sim_cfg,
                        panel.freq.period_days, lead_time_samples=inputs.lead_samples).risk
        if label == "after":
            # The same scenario while the current policy stays (nobody replans yet): the harm
            # the change does by itself; ``risk`` is the outcome once the plan reacts.
            kept = _kept_policies(outcomes["before"][1], policies)
            unchanged = simulate(fc, kept, positions, inputs.purchase_orders, as_of, sim_cfg,
                                 panel.freq.period_days, lead_time_samples=inputs.lead_samples).risk
        lines = _allocate(data, inputs, recs, skus, as_of, plan, allocation_policy)
        outcomes[label] = (fc, policies, recs, risk, lines)

    comparison = _compare(outcomes, scenario, as_of)
    frames = {label: _forecast_frame(outcomes[label][0]) for label in outcomes}
    lines_hit, segments_hit = _lines_hit(outcomes["before"][4], outcomes["after"][4])
    return WhatIfResult(
        comparison, frames["before"], frames["after"], notes,
        skus_hit=_skus_hit(outcomes, unchanged), lines_hit=lines_hit, segments_hit=segments_hit,
    )


def _planned_skus(keys: pd.DataFrame, products: pd.DataFrame) -> set[str]:
    """SKUs whose waiting lines the what-if can date: those it forecasts and plans, and dropship
    SKUs (dated by the supplier's lead time)."""
    skus = set(keys["sku"].astype(str))
    if len(products) and "dropship" in products:
        flags = products["dropship"].astype(object).where(products["dropship"].notna(), False)
        skus |= set(products.loc[flags.astype(bool), "sku"].astype(str))
    return skus


def _last_sales_date(snapshot_dir: str | Path) -> date:
    """The as-of date the snapshot stands at (its last sales date)."""
    last = read_last_sales_date(snapshot_dir)
    if last is None:
        raise ValueError(f"{snapshot_dir}: the snapshot holds no sales")
    return pd.Timestamp(last).date()


def _known_suppliers(shared: dict[str, pd.DataFrame]) -> list[str]:
    names: set[str] = set()
    for table in ("products", "receipts", "purchase_orders"):
        frame = shared[table]
        if len(frame) and "supplier" in frame:
            names |= set(frame["supplier"].dropna().astype(str))
    return sorted(n for n in names if n)


def _delay_targets(
    scenario: Scenario, skus: list[str], shared: dict[str, pd.DataFrame], pos: pd.DataFrame,
    as_of: date,
) -> tuple[set[str], np.ndarray]:
    """SKUs whose lead time the delay lengthens and a mask of the open purchase order lines it
    moves: the named supplier's (an order without a supplier belongs to its SKU's), or all of the
    scenario's."""
    if not scenario.supplier_delay_days:
        return set(), np.zeros(len(pos), dtype=bool)
    if not scenario.supplier:
        return set(skus), np.ones(len(pos), dtype=bool)
    owners = sku_suppliers(shared["products"], receipt_lines(shared["receipts"], as_of, None))
    owned = set(owners.loc[owners["supplier"] == scenario.supplier, "sku"]) & set(skus)
    if not len(pos):
        return owned, np.zeros(0, dtype=bool)
    stated = pos["supplier"] if "supplier" in pos else pd.Series(None, index=pos.index, dtype=object)
    named = stated.notna() & (stated.astype(str) != "")
    mask = (named & (stated.astype(str) == scenario.supplier)) | (~named & pos["sku"].isin(owned))
    return owned, mask.to_numpy(dtype=bool)


def _allocate(
    data: dict[str, pd.DataFrame], inputs: _PlanInputs, recs: pd.DataFrame, skus: list[str],
    as_of: date, plan: PlanConfig, policy: str,
) -> pd.DataFrame:
    """The open customer lines of the scenario's SKUs allocated to stock, open purchase orders
    and recommended orders; a dropship line's ETA follows its SKU's lead time (as planned)."""
    orders = data["customer_orders"]
    if orders.empty:
        return pd.DataFrame()
    receipts = pd.concat(
        [
            inputs.purchase_orders.rename(columns={"expected_date": "date"}).reindex(
                columns=[*KEYS, "date", "quantity"]),
            recs.rename(columns={"expected_arrival": "date", "order_quantity": "quantity"})[
                [*KEYS, "date", "quantity"]],
        ],
        ignore_index=True,
    )
    products = inputs.products.copy() if len(inputs.products) else pd.DataFrame({"sku": skus})
    lead = _resolved_lead_times(sorted(set(skus) | set(products["sku"])), inputs, plan)
    products = products.drop(columns=["lead_time_days", "lead_time_sd_days"], errors="ignore").merge(
        lead[["sku", "lead_time_days"]], on="sku", how="outer")
    return allocate(orders, data["customers"], data["inventory"], receipts, as_of, policy,
                    products=products, default_lead_time_days=plan.default_lead_time_days)


def _late(frame: pd.DataFrame, eta: str) -> pd.Series:
    """Late: no supply date, or a date after the promise."""
    when = pd.to_datetime(frame[eta])
    promised = pd.to_datetime(frame["promised_date"])
    return when.isna() | (promised.notna() & (when > promised))


def _lines_hit(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines whose ETA or status the scenario changes, and per segment: open lines, lines
    hit, newly late (on time before, late after), late before and after, mean ETA shift (days,
    over hit lines with a date both times)."""
    line_cols = ["order_id", "customer_id", "segment", "sku", "location", "quantity",
                 "promised_date", "status_before", "status_after", "eta_before", "eta_after",
                 "eta_shift_days", "newly_late"]
    seg_cols = ["segment", "lines", "lines_hit", "newly_late", "late_before", "late_after",
                "mean_shift_days"]
    if before.empty:
        return pd.DataFrame(columns=line_cols), pd.DataFrame(columns=seg_cols)
    key = ["order_id", *KEYS]
    both = before.merge(after[[*key, "eta", "status"]], on=key, suffixes=("_before", "_after"))
    shift = (pd.to_datetime(both["eta_after"]) - pd.to_datetime(both["eta_before"])).dt.days
    both["eta_shift_days"] = shift.astype(float)
    both["late_before"] = _late(both, "eta_before")
    both["late_after"] = _late(both, "eta_after")
    both["newly_late"] = both["late_after"] & ~both["late_before"]
    both["promised_date"] = pd.to_datetime(both["promised_date"]).dt.date
    changed = (
        (both["eta_shift_days"].fillna(0) != 0)
        | (both["status_before"] != both["status_after"])
        | (both["eta_before"].isna() != both["eta_after"].isna())
    )
    both["hit"] = changed
    both["hit_shift"] = both["eta_shift_days"].where(changed)
    lines = both[changed].sort_values(["newly_late", "eta_shift_days"], ascending=[False, False])
    everything = pd.concat([both, both.assign(segment="all")], ignore_index=True)
    segments = everything.groupby("segment").agg(
        lines=("order_id", "size"), lines_hit=("hit", "sum"), newly_late=("newly_late", "sum"),
        late_before=("late_before", "sum"), late_after=("late_after", "sum"),
        mean_shift_days=("hit_shift", "mean"),
    ).reset_index()
    segments = segments.assign(_last=segments["segment"] == "all").sort_values(
        ["_last", "lines_hit", "segment"], ascending=[True, False, True])
    return lines[line_cols].reset_index(drop=True), segments[seg_cols].reset_index(drop=True)


def _kept_policies(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The current policies (thresholds, quantities) with the scenario's lead times."""
    lead = ["lead_time_days", "lead_time_sd_days"]
    return before.drop(columns=lead).merge(after[[*KEYS, *lead]], on=KEYS, how="left")


def _skus_hit(outcomes: dict, unchanged: pd.DataFrame) -> pd.DataFrame:
    """Per series: lead time, reorder point, recommended order and order-by date, stockout
    probability, first stockout date (median path) and expected units short, before and after
    (the plan replanned for the scenario), and the risk figures ``*_unchanged`` of the scenario
    under the current policy; sorted by the rise in stockout probability under the current
    policy (the SKUs the change hits hardest if nobody reacts)."""
    parts = []
    for label, (fc, policies, recs, risk, _) in outcomes.items():
        frame = fc.keys[KEYS].reset_index(drop=True).merge(
            policies[[*KEYS, "lead_time_days", "reorder_point"]], on=KEYS, how="left")
        ordered = recs.groupby(KEYS, as_index=False).agg(
            recommended_order=("order_quantity", "sum"), order_by=("order_by", "min"))
        frame = frame.merge(ordered, on=KEYS, how="left").merge(
            risk[[*KEYS, "stockout_probability", "first_stockout_p50", "expected_backorders"]],
            on=KEYS, how="left")
        frame["recommended_order"] = frame["recommended_order"].fillna(0.0)
        parts.append(frame.set_index(KEYS).add_suffix(f"_{label}"))
    risk_cols = ["stockout_probability", "first_stockout_p50", "expected_backorders"]
    parts.append(unchanged.set_index(KEYS)[risk_cols].add_suffix("_unchanged"))
    table = pd.concat(parts, axis=1).reset_index()
    table["stockout_probability_change"] = (
        table["stockout_probability_unchanged"] - table["stockout_probability_before"])
    table["stockout_moved_days"] = (
        pd.to_datetime(table["first_stockout_p50_unchanged"])
        - pd.to_datetime(table["first_stockout_p50_before"])
    ).dt.days.astype(float)
    return table.sort_values(["stockout_probability_change", "sku", "location"],
                             ascending=[False, True, True]).reset_index(drop=True)


def _forecast_frame(fc: DemandForecast) -> pd.DataFrame:
    return fc.to_frame()[["sku", "location", "date", "mean", "q05", "q25", "q75", "q95"]]


def _compare(outcomes: dict, scenario: Scenario, as_of: date) -> pd.DataFrame:
    rows = []
    for label, (fc, policies, recs, risk, _) in outcomes.items():
        keys = fc.keys[["sku", "location"]].reset_index(drop=True)
        metrics = keys.copy()
        metrics["forecast_total"] = fc.mean.sum(axis=1)
        if scenario.campaign:
            start, end = pd.Timestamp(scenario.campaign["start"]), pd.Timestamp(scenario.campaign.get("end", scenario.campaign["start"]))
            window = (fc.dates >= start) & (fc.dates <= end)
            metrics["forecast_in_campaign"] = fc.mean[:, window].sum(axis=1)
        metrics = metrics.merge(
            policies[["sku", "location", "lead_time_days", "lead_time_demand", "safety_stock",
                      "reorder_point", "max_level"]],
            on=["sku", "location"], how="left",
        )
        ordered = recs.groupby(["sku", "location"], as_index=False).agg(
            recommended_order=("order_quantity", "sum"), order_by=("order_by", "min")
        )
        metrics = metrics.merge(ordered, on=["sku", "location"], how="left")
        metrics["recommended_order"] = metrics["recommended_order"].fillna(0.0)
        metrics["order_by_days"] = (pd.to_datetime(metrics["order_by"]) - pd.Timestamp(as_of)).dt.days
        metrics = metrics.drop(columns="order_by").merge(
            risk[["sku", "location", "stockout_probability", "fill_rate", "expected_backorders"]],
            on=["sku", "location"], how="left",
        )
        long = metrics.melt(id_vars=["sku", "location"], var_name="metric", value_name=label)
        rows.append(long.set_index(["sku", "location", "metric"]))
    table = pd.concat(rows, axis=1).reset_index()
    table["change"] = table["after"] - table["before"]
    return table
