"""What-if: change the plan's inputs for a few SKUs and compare forecast, policy and risk.

A scenario adds a planned campaign, delays the SKUs' supplier, or shocks demand; the engine,
the planning step and the simulation then run twice on the same SKUs from the published
snapshot (never the live warehouse, so a running pipeline is not blocked): once as the data
stands ("before"), once with the scenario ("after"). Campaign uplift comes from the published
run's estimate over all series, so a scenario on one SKU uses what was learned from all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from forecast.allocation import open_order_lines
from forecast.distribution import DemandForecast
from forecast.engine import EngineConfig, forecast_panel
from forecast.features import build_covariates
from forecast.planning import PlanConfig, compute_policies, recommend_orders, stock_positions
from forecast.series import build_panel
from forecast.simulation import SimulationConfig, simulate
from forecast.warehouse import read_snapshot

INPUTS = ("sales", "products", "suppliers", "inventory", "purchase_orders", "customer_orders", "events")


@dataclass
class Scenario:
    """What changes. Dates are ISO strings or dates; empty fields change nothing."""

    skus: list[str]
    locations: list[str] | None = None
    campaign: dict | None = None  # {"start", "end", "kind", "discount_pct"}
    supplier_delay_days: float = 0.0  # added to the lead time and to open purchase orders
    demand_shock_pct: float = 0.0  # +30 = demand 30% above the forecast ...
    shock_start: str | date | None = None  # ... from this date (default: the whole horizon)
    shock_end: str | date | None = None


@dataclass
class WhatIfResult:
    comparison: pd.DataFrame  # sku, location, metric, before, after, change
    forecast_before: pd.DataFrame
    forecast_after: pd.DataFrame
    notes: list[str] = field(default_factory=list)


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


def _delay(products: pd.DataFrame, suppliers: pd.DataFrame, pos: pd.DataFrame, days: float):
    if not days:
        return products, suppliers, pos
    products = products.copy()
    if "lead_time_days" in products:
        products["lead_time_days"] = products["lead_time_days"] + days  # NaN stays: falls back
    suppliers = suppliers.copy()
    if "lead_time_days" in suppliers:
        suppliers["lead_time_days"] = suppliers["lead_time_days"].fillna(0) + days
    pos = pos.copy()
    if len(pos):
        pos["expected_date"] = pd.to_datetime(pos["expected_date"]) + pd.Timedelta(days=days)
    return products, suppliers, pos


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
) -> WhatIfResult:
    """Run the scenario on its SKUs and compare with the data as it stands."""
    if not scenario.skus:
        raise ValueError("a scenario needs at least one sku")
    data = read_snapshot(snapshot_dir, INPUTS, scenario.skus)
    data.update(read_snapshot(snapshot_dir, ("campaigns", "campaign_uplift")))
    data["customer_orders"] = open_order_lines(data["customer_orders"])
    sales = data["sales"]
    if scenario.locations:
        sales = sales[sales["location"].isin(scenario.locations)]
    if sales.empty:
        raise ValueError(f"no sales history for {', '.join(scenario.skus)} in {snapshot_dir}")
    panel = build_panel(sales)
    as_of = panel.dates[-1].date()
    plan = plan or PlanConfig()
    cfg = EngineConfig(models=models or EngineConfig().models, seed=seed)
    uplift = data["campaign_uplift"].drop(columns=["run_id"], errors="ignore")
    notes = []
    if scenario.supplier_delay_days:
        notes.append(f"lead times and open purchase orders moved by {scenario.supplier_delay_days:g} days")

    outcomes = {}
    for label in ("before", "after"):
        campaigns = data["campaigns"].drop(columns=["run_id"], errors="ignore")
        products, suppliers, pos = data["products"], data["suppliers"], data["purchase_orders"]
        if label == "after":
            campaigns = _scenario_campaigns(campaigns, scenario, panel.keys)
            products, suppliers, pos = _delay(products, suppliers, pos, scenario.supplier_delay_days)
        covariates = build_covariates(
            panel.keys, panel.dates, horizon, panel.freq, campaigns=campaigns,
            events=data["events"], products=products, price=panel.price, country=country,
        )
        fc = forecast_panel(panel, horizon, cfg, covariates, uplift=uplift if len(uplift) else None).forecast
        if label == "after":
            fc = _shock(fc, scenario)
        policies = compute_policies(fc, panel.demand, products, suppliers, plan, panel.freq.period_days)
        positions = stock_positions(fc.keys, data["inventory"], pos, data["customer_orders"])
        recs = recommend_orders(policies, positions, fc, as_of, plan, panel.freq.period_days)
        risk = simulate(fc, policies, positions, pos, as_of,
                        SimulationConfig(n_paths=n_paths, seed=seed), panel.freq.period_days).risk
        outcomes[label] = (fc, policies, recs, risk)

    comparison = _compare(outcomes, scenario, as_of)
    frames = {label: _forecast_frame(outcomes[label][0]) for label in outcomes}
    return WhatIfResult(comparison, frames["before"], frames["after"], notes)


def _forecast_frame(fc: DemandForecast) -> pd.DataFrame:
    return fc.to_frame()[["sku", "location", "date", "mean", "q05", "q25", "q75", "q95"]]


def _compare(outcomes: dict, scenario: Scenario, as_of: date) -> pd.DataFrame:
    rows = []
    for label, (fc, policies, recs, risk) in outcomes.items():
        keys = fc.keys[["sku", "location"]].reset_index(drop=True)
        metrics = keys.copy()
        metrics["forecast_total"] = fc.mean.sum(axis=1)
        if scenario.campaign:
            start, end = pd.Timestamp(scenario.campaign["start"]), pd.Timestamp(scenario.campaign.get("end", scenario.campaign["start"]))
            window = (fc.dates >= start) & (fc.dates <= end)
            metrics["forecast_in_campaign"] = fc.mean[:, window].sum(axis=1)
        metrics = metrics.merge(
            policies[["sku", "location", "lead_time_demand", "safety_stock", "reorder_point", "max_level"]],
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

