"""What-if: start from the published plan, change what a scenario changes for a few SKUs, then
replan and re-simulate only those SKUs and compare.

**Before** is the published plan itself: the snapshot's forecast, policies, recommendations,
risk and allocations of the scenario's SKUs, read as they were exported (nothing is refitted,
so a what-if answers in seconds and never contradicts ``policies.csv`` or
``backorder_risk.csv``). **After**: the scenario adjusts its inputs, and these SKUs are planned
(:func:`forecast.planning.policies.compute_policies`, ``recommend_orders``) and simulated
(:func:`forecast.backorders.simulation.simulate`) again with the published run's settings and
seeds. Each series draws from its own random stream, so with unchanged inputs the after side
reproduces the published numbers: a scenario that changes nothing changes nothing.

- **Demand shock** (``demand_shock_pct`` = X, optionally a window): the published forecast mean
  of the SKUs x (1 + X / 100) inside the window; the distribution's shape (negative-binomial
  size, level error) is kept.
- **Planned campaign** (``campaign``: start, end, kind, discount_pct): the published forecast x
  the uplift the engine estimated from past campaigns for that kind and the SKU's category
  (``campaign_uplift``), else the kind's demand-weighted mean over categories, else (no past
  campaign of that kind) 1 + discount / 100, a unit price elasticity (an assumption, noted).
- **Supplier delay** (``supplier_delay_days`` = N, optionally ``supplier``): every delivery
  takes N days longer. The delayed SKUs (the supplier's, or every SKU of the scenario without a
  supplier) keep the lead time the plan uses (measured from receipts when there are enough, see
  :mod:`forecast.planning.suppliers`, else the configured one) plus N, with the same spread; in
  the simulation their observed lead times are shifted by N. The supplier's open purchase
  orders arrive N days after their expected date (an overdue order N days after the as-of
  date: it was due any day).

Replanning keeps each SKU's published classes, service level and planned fill rate (its share of
a pooled class level; ``compute_policies(keep=...)``): one SKU is not reclassified against the
few others of a scenario. A SKU whose lead time, lead-time demand (mean and s.d.) and order
quantity the scenario leaves as they are keeps its published stock levels. The planner's
overrides that held for the published plan hold for the after side too
(:mod:`forecast.planning.overrides`): a pinned min, max or order quantity stays pinned (the
replanned value goes to ``recommended_*``, the ``override`` text says both), and a service
level or policy set by the planner is the one replanned under (its series keep their published
policy; ``recommended_*`` is then planned at the plan's own level and policy, per SKU). Pre-order first
purchases are carried over from the published plan (they depend on every pre-order launch).

The result shows per SKU and location the comparison (``comparison``: metric, before, after,
change; :func:`comparison_rows` gives the ``sku, location, field, before, after`` table of
``forecast what-if --json``), for a delay the stockout probability, first stockout date and
units short now, under the current policy (``*_unchanged``: the harm if nobody reacts) and with
the plan recomputed (``*_after``), the recommended order before and after (``skus_hit``), the
waiting customer lines whose ETA or status changes (``lines_hit``) and the lines hit per
customer segment (``segments_hit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.backorders import allocation
from forecast.backorders.cancellation import CancellationCurve
from forecast.backorders.simulation import SimulationConfig, simulate
from forecast.config import RunSettings
from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import frequency_from_code
from forecast.ingest.published import (
    published_plan,
    read_last_sales_date,
    read_snapshot,
    run_parameters,
)
from forecast.planning import movements, overrides, sales_models
from forecast.planning.plan_config import plan_config_from
from forecast.planning.policies import (
    PlanConfig,
    compute_policies,
    recommend_orders,
    series_inputs,
    stock_positions,
)
from forecast.planning.suppliers import estimate_lead_times, receipt_lines, sku_suppliers

INPUTS = ("sales", "products", "suppliers", "inventory", "purchase_orders", "customer_orders",
          "stock_movements", "overrides")
#: Read whole (not only the scenario's SKUs): a supplier's lead time pools all of its receipts.
SHARED_INPUTS = ("products", "receipts", "purchase_orders", "campaigns")
KEYS = ["sku", "location"]
#: Policy fields a zero change must leave exactly as published (see the module docstring).
_LEVEL_FIELDS = ("safety_stock", "reorder_point", "max_level", "planned_fill_rate")
_INPUT_FIELDS = ("lead_time_days", "lead_time_demand", "lead_time_demand_sd", "order_quantity")


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
    policies_before: pd.DataFrame = field(default_factory=pd.DataFrame)
    policies_after: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommendations_after: pd.DataFrame = field(default_factory=pd.DataFrame)
    risk_before: pd.DataFrame = field(default_factory=pd.DataFrame)
    risk_after: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class _PlanInputs:
    """What the plan, the simulation and the allocation read, before or after a scenario."""

    products: pd.DataFrame
    suppliers: pd.DataFrame
    purchase_orders: pd.DataFrame
    lead_times: pd.DataFrame  # receipts-based lead times per SKU (forecast.planning.suppliers)
    lead_samples: pd.DataFrame  # their observed lead times, for the simulation
    campaigns: pd.DataFrame | None = None  # the planned campaigns (and the scenario's own)


@dataclass
class _Run:
    """The published run: its settings (plan, simulation, allocation), as-of date, period."""

    plan: PlanConfig
    simulation: SimulationConfig
    allocation_policy: str
    default_lead_time_days: float
    seed: int
    as_of: date
    period_days: float
    #: The last day of stock movements the run counted: its as-of date (a nightly run), or
    #: None for an intraday sync (every movement), as forecast.pipeline.stock_state does.
    stock_until: date | None = None


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
    return _PlanInputs(products, base.suppliers, pos, lead_times, samples, base.campaigns)


def what_if(
    snapshot_dir: str | Path,
    scenario: Scenario,
    *,
    n_paths: int | None = None,
    seed: int | None = None,
    plan: PlanConfig | None = None,
    allocation_policy: str | None = None,
) -> WhatIfResult:
    """Run the scenario on its SKUs from the published plan (see the module docstring).

    ``n_paths``, ``seed``, ``plan`` and ``allocation_policy`` default to the published run's
    (recorded in its ``runs`` row); another value makes the after side differ from the plan for
    that reason alone."""
    if scenario.supplier_delay_days < 0:
        raise ValueError(f"a supplier delay must be >= 0 days, got {scenario.supplier_delay_days:g}")
    if not scenario.skus and not scenario.supplier:
        raise ValueError("a scenario needs at least one sku (or a supplier)")
    shared = read_snapshot(snapshot_dir, SHARED_INPUTS)
    skus = _scenario_skus(snapshot_dir, scenario, shared)
    before = published_plan(snapshot_dir, skus)
    if scenario.locations:
        before = {name: frame[frame["location"].isin(scenario.locations)] if "location" in frame
                  else frame for name, frame in before.items()}
    if before["forecast_models"].empty:
        raise ValueError(f"no published forecast for {', '.join(skus)} in {snapshot_dir}: "
                         "run `forecast run` (or `forecast demo`) first, or check the SKU")
    run = _published_run(snapshot_dir, before["forecast_models"], n_paths, seed, plan,
                         allocation_policy)
    data = read_snapshot(snapshot_dir, INPUTS, skus)
    data.update(read_snapshot(snapshot_dir, ("campaign_uplift", "customers", "cancellation_curve")))
    data["customer_orders"] = allocation.open_order_lines(data["customer_orders"])
    state = movements.current_state(_stock(data, before["forecast_models"][KEYS]),
                                    data["stock_movements"], data["purchase_orders"],
                                    data["customer_orders"], run.as_of, run.stock_until)
    data.update(stock=state.stock, purchase_orders=state.purchase_orders,
                customer_orders=state.customer_orders)

    estimate = estimate_lead_times(shared["receipts"], shared["products"], run.as_of)
    base = _PlanInputs(
        data["products"], data["suppliers"], data["purchase_orders"],
        estimate.per_sku[estimate.per_sku["sku"].isin(skus)],
        estimate.samples[estimate.samples["sku"].isin(skus)],
        _with_campaign(shared["campaigns"], scenario, skus),
    )
    delayed, po_delayed = _delay_targets(scenario, skus, shared, base.purchase_orders, run.as_of)
    after_inputs = _delay(base, skus, delayed, po_delayed, scenario.supplier_delay_days, run.as_of,
                          run.plan)
    notes = _scenario_notes(scenario, delayed, po_delayed)

    fc_before = DemandForecast.from_tables(before["forecasts"], before["forecast_models"])
    fc_after, demand_notes = _scenario_forecast(fc_before, scenario, data)
    notes += demand_notes
    pinned = overrides.active_overrides(data["overrides"], fc_before.keys, run.as_of)
    after = _replan(fc_after, before, data, after_inputs, run, pinned)
    kept = _kept_policies(before["policies"], after["policies"])
    unchanged = _simulate(after["forecast"], kept, after["positions"], after_inputs, run)
    lines_before = _published_lines(before["allocations"], run.allocation_policy)
    lines_after = _allocate(data, after_inputs, after["recommendations"], run)

    outcomes = {
        "before": (fc_before, before["policies"], before["recommendations"], before["risk"],
                   lines_before),
        "after": (fc_after, after["policies"], after["recommendations"], after["risk"],
                  lines_after),
    }
    lines_hit, segments_hit = _lines_hit(lines_before, lines_after)
    return WhatIfResult(
        _compare(outcomes, scenario, run.as_of),
        _forecast_frame(fc_before), _forecast_frame(fc_after), notes,
        skus_hit=_skus_hit(outcomes, unchanged), lines_hit=lines_hit, segments_hit=segments_hit,
        policies_before=before["policies"], policies_after=after["policies"],
        recommendations_after=after["recommendations"],
        risk_before=before["risk"], risk_after=after["risk"],
    )


def comparison_rows(result: WhatIfResult) -> pd.DataFrame:
    """The before/after table for scripts (``forecast what-if --json``): one row per SKU,
    location and field, with columns ``sku, location, field, before, after``."""
    table = result.comparison.rename(columns={"metric": "field"})
    return table[["sku", "location", "field", "before", "after"]].reset_index(drop=True)


def _scenario_skus(
    snapshot_dir: str | Path, scenario: Scenario, shared: dict[str, pd.DataFrame]
) -> list[str]:
    """The scenario's SKUs, or every SKU its supplier delivers."""
    skus = list(scenario.skus)
    if scenario.supplier and not skus:
        last = read_last_sales_date(snapshot_dir)
        if last is None:
            raise ValueError(f"{snapshot_dir}: the snapshot holds no sales")
        skus = supplier_skus(scenario.supplier, shared["products"], shared["receipts"],
                             shared["purchase_orders"], last)
        if not skus:
            known = _known_suppliers(shared)
            raise ValueError(
                f"supplier {scenario.supplier!r} supplies no SKU in {snapshot_dir}"
                + (f"; known suppliers: {', '.join(known)}" if known else "")
            )
    return skus


def _published_run(
    snapshot_dir: str | Path, models: pd.DataFrame, n_paths: int | None, seed: int | None,
    plan: PlanConfig | None, allocation_policy: str | None,
) -> _Run:
    """The published run's settings (its ``runs`` parameters; the defaults when absent),
    as-of date (the forecast origin) and period length."""
    params = run_parameters(snapshot_dir)
    known = {k: v for k, v in params.items() if k in RunSettings.model_fields and v is not None}
    settings = RunSettings(**{"data_dir": ".", **known})
    seed = settings.seed if seed is None else seed
    as_of = pd.Timestamp(models["history_end"].max()).date()
    return _Run(
        plan=plan or plan_config_from(settings),
        simulation=SimulationConfig(horizon_days=settings.simulation_days,
                                    n_paths=settings.n_paths if n_paths is None else n_paths,
                                    seed=seed, workers=1),
        allocation_policy=allocation_policy or settings.allocation_policy,
        default_lead_time_days=settings.default_lead_time_days,
        seed=seed,
        as_of=as_of,
        period_days=frequency_from_code(str(models["frequency"].iloc[0])).period_days,
        stock_until=None if params.get("sync_of") else as_of,
    )


def _stock(data: dict[str, pd.DataFrame], keys: pd.DataFrame) -> pd.DataFrame:
    """Stock on hand as the plan read it: the inventory rows, else each series' last
    ``on_hand`` in sales; a pre-order series without a record holds 0 (as ``forecast.pipeline``
    does)."""
    stock = data["inventory"]
    sales = data["sales"]
    if stock.empty and "on_hand" in sales and sales["on_hand"].notna().any():
        last = sales.dropna(subset=["on_hand"]).sort_values("date").groupby(
            KEYS, as_index=False).last()
        stock = last.rename(columns={"date": "as_of"})[["sku", "location", "on_hand", "as_of"]]
    if stock.empty:
        stock = pd.DataFrame(columns=["sku", "location", "on_hand"])
    return sales_models.preorder_stock(stock, keys, data["products"])


def _scenario_notes(scenario: Scenario, delayed: set[str], po_delayed: np.ndarray) -> list[str]:
    if not scenario.supplier_delay_days:
        return []
    who = f"supplier {scenario.supplier}" if scenario.supplier else "the suppliers of these SKUs"
    note = (f"{who}: {scenario.supplier_delay_days:g} days added to the lead time of "
            f"{len(delayed)} SKU(s) and to {int(po_delayed.sum())} open purchase order line(s)")
    return [note]


def _window(dates: pd.DatetimeIndex, start: object, end: object) -> np.ndarray:
    first = pd.Timestamp(start) if start else dates[0]
    last = pd.Timestamp(end) if end else dates[-1]
    return np.asarray((dates >= first) & (dates <= last))


def campaign_factor(
    kind: str, categories: pd.Series, uplift: pd.DataFrame, discount_pct: float
) -> tuple[np.ndarray, str]:
    """Demand multiplier of a planned campaign per series (``categories``: each series'
    category) and where it comes from: the engine's uplift for the kind and category, else the
    kind's mean over its categories weighted by their past campaigns, else 1 + discount / 100.

    >>> up = pd.DataFrame({"kind": ["promo", "promo"], "category": ["a", "b"],
    ...                    "campaigns": [3, 1], "uplift": [1.4, 2.2]})
    >>> factor, source = campaign_factor("promo", pd.Series(["a", "c"]), up, 20)
    >>> factor.round(2).tolist(), source
    ([1.4, 1.6], 'estimated uplift of promo campaigns')
    """
    rows = uplift[uplift["kind"] == kind] if len(uplift) else uplift
    if rows.empty:
        note = (f"no past {kind} campaign: assumed +{discount_pct:g}% demand for a "
                f"{discount_pct:g}% discount (unit price elasticity)")
        return np.full(len(categories), 1.0 + discount_pct / 100.0), note
    weights = rows["campaigns"].astype(float).clip(lower=1.0)
    pooled = float(np.average(rows["uplift"].astype(float), weights=weights))
    by_category = rows.set_index("category")["uplift"].astype(float)
    factor = categories.astype(str).map(by_category).fillna(pooled).to_numpy(dtype=float)
    return factor, f"estimated uplift of {kind} campaigns"


def _with_campaign(campaigns: pd.DataFrame, scenario: Scenario, skus: list[str]) -> pd.DataFrame:
    """The campaigns table with the scenario's campaign added for its SKUs (at its locations,
    else at every one), so the replanned lead-time demand names the campaign as its cause."""
    if not scenario.campaign:
        return campaigns
    c = scenario.campaign
    where = list(scenario.locations) if scenario.locations else [""]
    added = pd.DataFrame([{"sku": sku, "category": "", "location": loc,
                           "start_date": pd.Timestamp(c["start"]),
                           "end_date": pd.Timestamp(c.get("end", c["start"])),
                           "kind": c.get("kind", "promotion"),
                           "discount_pct": float(c.get("discount_pct") or 0.0)}
                          for sku in skus for loc in where])
    if campaigns.empty:
        return added
    dated = campaigns.assign(start_date=pd.to_datetime(campaigns["start_date"]),
                             end_date=pd.to_datetime(campaigns["end_date"]))
    return pd.concat([dated, added], ignore_index=True)


def _scenario_forecast(
    fc: DemandForecast, scenario: Scenario, data: dict[str, pd.DataFrame]
) -> tuple[DemandForecast, list[str]]:
    """The published forecast with the scenario's demand change (shock or campaign) applied
    to its distribution's mean in the window: the point forecast and a slow mover's rate floor
    (:meth:`DemandForecast.expected`) alike, so that the lead-time demand the plan protects
    changes as the forecast total does."""
    factor = np.ones(fc.mean.shape)
    notes = []
    if scenario.demand_shock_pct:
        window = _window(fc.dates, scenario.shock_start, scenario.shock_end)
        factor[:, window] *= 1 + scenario.demand_shock_pct / 100
    if scenario.campaign:
        c = scenario.campaign
        window = _window(fc.dates, c["start"], c.get("end", c["start"]))
        products = data["products"]
        category = fc.keys["sku"].map(
            products.set_index("sku")["category"] if len(products) and "category" in products
            else pd.Series(dtype=str)).fillna("uncategorised")
        uplift = data["campaign_uplift"].drop(columns=["run_id"], errors="ignore")
        uplift_factor, source = campaign_factor(c.get("kind", "promotion"), category, uplift,
                                                float(c.get("discount_pct") or 0.0))
        factor[:, window] *= uplift_factor[:, None]
        notes.append(f"campaign {c.get('kind', 'promotion')} {c['start']}..{c.get('end', c['start'])}: "
                     f"{source} (x{', x'.join(f'{f:.2f}' for f in np.unique(uplift_factor))})")
    floor = None
    if fc.floor is not None:
        floor = fc.floor if (factor == 1).all() else fc.floor_by_period(fc.mean.shape[1]) * factor
    return DemandForecast(fc.keys, fc.dates, fc.mean * factor, fc.size, fc.level_var, fc.model, floor), notes


def _replan(
    fc: DemandForecast, before: dict[str, pd.DataFrame], data: dict[str, pd.DataFrame],
    inputs: _PlanInputs, run: _Run, pinned: overrides.Overrides,
) -> dict[str, object]:
    """Policies, recommendations and risk of the scenario's series, planned and simulated again
    as the pipeline's plan and simulate steps do (the planner's overrides applied, pre-order
    first purchases carried over)."""
    flash = before["flash_sales"]
    planning = sales_models.planning_forecast(fc, flash, inputs.products, run.period_days,
                                              sales_models.SalesModelConfig(seed=run.seed))
    published = before["policies"]
    policies = _plan_kept(planning, inputs, run, published)
    recommended = policies
    redo = np.nonzero(overrides.changes_level_or_policy(planning.keys, pinned))[0]
    if len(redo) and "recommended_service_level" in published:
        # the recommended values: the plan's own service level and policy for these series,
        # each SKU held to that level (the published fill rate is the override's)
        own = published.assign(service_level=published["recommended_service_level"],
                               policy=published["recommended_policy"], planned_fill_rate=np.nan)
        sub = _plan_kept(planning.take(redo), inputs, run, own)
        recommended = policies.copy()
        levels = ["reorder_point", "max_level", "order_quantity"]
        recommended.loc[redo, levels] = sub[levels].to_numpy()
    policies = overrides.repin(policies, recommended, pinned, published)
    policies = _hold_unchanged(policies, published)
    positions = stock_positions(planning.keys, data["stock"], inputs.purchase_orders,
                                data["customer_orders"])
    recs = recommend_orders(policies, positions, planning, run.as_of, run.plan, run.period_days)
    recs, _ = overrides.annotate(recs, pd.DataFrame(), policies)
    recs = _with_published_first_purchases(recs, planning, before["recommendations"])
    simulated = fc.take(sales_models.stocked_rows(fc.keys, inputs.products))
    risk = _simulate(simulated, policies, positions, inputs, run)
    return {"forecast": simulated, "policies": policies, "positions": positions,
            "recommendations": recs, "risk": risk}


def _plan_kept(planning: DemandForecast, inputs: _PlanInputs, run: _Run, keep: pd.DataFrame
               ) -> pd.DataFrame:
    """``compute_policies`` with the classes and service levels of ``keep`` (the published
    policies), each series under its published policy and review period (a planner's policy
    override), in the rows' order."""
    held = planning.keys[KEYS].merge(keep.reindex(columns=[*KEYS, "policy", "review_period_days"]),
                                     on=KEYS, how="left")
    policy = held["policy"].fillna(run.plan.policy).astype(str)
    review = np.where(policy == "RS", held["review_period_days"].astype(float)
                      .fillna(run.plan.review_period_days), 0.0)
    history = np.full((len(planning.keys), 1), np.nan)  # classes are the published ones
    parts = []
    for (kind, days), group in pd.DataFrame({"p": policy, "r": review}).groupby(["p", "r"], sort=False):
        own = kind == run.plan.policy and days == (run.plan.review_period_days if kind == "RS" else 0.0)
        cfg = run.plan if own else replace(run.plan, policy=kind, review_period_days=float(days))
        rows = group.index.to_numpy()
        part = compute_policies(planning.take(rows), history[rows], inputs.products, inputs.suppliers,
                                cfg, run.period_days, lead_times=inputs.lead_times, keep=keep,
                                campaigns=inputs.campaigns)
        parts.append(part.set_axis(rows))
    return pd.concat(parts).sort_index().reset_index(drop=True)


def _hold_unchanged(after: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """The published stock levels, and the published inputs themselves (with the
    ``recommended_*`` levels and the override text), for series whose planning inputs (after the
    planner's pins) the scenario leaves as they are within rounding (the pooled class solution
    is not re-solved for one SKU alone; a recomputed lead-time demand may differ from the
    published one in the last bits, and a zero change must show no change at all)."""
    merged = after[KEYS].merge(before, on=KEYS, how="left")
    same = np.ones(len(after), dtype=bool)
    for col in _INPUT_FIELDS:
        new, old = after[col].to_numpy(dtype=float), merged[col].to_numpy(dtype=float)
        same &= np.isclose(new, old, rtol=1e-12, atol=1e-12) | (np.isnan(new) & np.isnan(old))
    out = after.copy()
    held = [c for c in overrides.RECOMMENDED[:3] if c in before and c in after]
    for col in (*_INPUT_FIELDS, *_LEVEL_FIELDS, *held):
        out[col] = np.where(same, merged[col].to_numpy(dtype=float), after[col].to_numpy(dtype=float))
    if "override" in before and "override" in after:  # its "recommended" figures held with them
        out["override"] = np.where(same, merged["override"].fillna("").to_numpy(dtype=object),
                                   after["override"].to_numpy(dtype=object))
    return out


def _with_published_first_purchases(
    recs: pd.DataFrame, forecast: DemandForecast, published: pd.DataFrame
) -> pd.DataFrame:
    """Pre-order series keep the published first purchase instead of a regular order."""
    preorder = np.asarray(forecast.model, dtype=object) == sales_models.PREORDER_MODEL
    if not preorder.any():
        return recs
    keys = forecast.keys.loc[preorder, KEYS]
    index = pd.MultiIndex.from_frame(keys)
    regular = ~pd.MultiIndex.from_frame(recs[KEYS]).isin(index) if len(recs) else np.array([], bool)
    firsts = published[pd.MultiIndex.from_frame(published[KEYS]).isin(index)] if len(published) \
        else published
    return pd.concat([recs[regular], firsts], ignore_index=True)


def _simulate(
    fc: DemandForecast, policies: pd.DataFrame, positions: pd.DataFrame, inputs: _PlanInputs,
    run: _Run,
) -> pd.DataFrame:
    return simulate(fc, policies, positions, inputs.purchase_orders, run.as_of, run.simulation,
                    run.period_days, lead_time_samples=inputs.lead_samples).risk


def _published_lines(allocations: pd.DataFrame, policy: str) -> pd.DataFrame:
    """The published allocation of the scenario's lines under the policy in use."""
    if allocations.empty:
        return pd.DataFrame()
    lines = allocations[allocations["policy"] == policy].reset_index(drop=True)
    for col in ("order_date", "promised_date", "eta"):  # dates, as the allocation gives them
        lines[col] = pd.to_datetime(lines[col]).dt.date.where(lines[col].notna(), None)
    return lines


def _allocate(
    data: dict[str, pd.DataFrame], inputs: _PlanInputs, recs: pd.DataFrame, run: _Run,
) -> pd.DataFrame:
    """The open customer lines of the scenario's SKUs allocated as the simulate step does: to
    stock, open purchase orders and recommended orders, with the published cancellation curve;
    a dropship line's ETA follows its SKU's lead time."""
    orders = data["customer_orders"]
    if orders.empty:
        return pd.DataFrame()
    products = allocation.products_for_allocation(inputs.products, inputs.suppliers,
                                                  inputs.lead_times)
    return allocation.allocate(
        orders, data["customers"], data["stock"],
        allocation.planned_receipts(inputs.purchase_orders, recs), run.as_of,
        run.allocation_policy, products=products,  # type: ignore[arg-type]
        curve=CancellationCurve.from_frame(data["cancellation_curve"]),
        default_lead_time_days=run.default_lead_time_days,
    )


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
    return fc.to_frame()[["sku", "location", "date", "mean", "planned_mean", "q05", "q25", "q75", "q95"]]


#: What the comparison shows per series: (metric, table, column); "forecast" metrics are
#: computed from the forecast, "orders" from the recommendations.
_RISK_METRICS = ("stockout_probability", "fill_rate", "expected_backorders")
_POLICY_METRICS = ("lead_time_days", "lead_time_demand", "safety_stock", "reorder_point",
                   "max_level", "planned_fill_rate")


def _compare(outcomes: dict, scenario: Scenario, as_of: date) -> pd.DataFrame:
    """Per series and metric: the published value (before), the scenario's (after), change."""
    rows = []
    for label, (fc, policies, recs, risk, _) in outcomes.items():
        metrics = fc.keys[KEYS].reset_index(drop=True).copy()
        metrics["forecast_total"] = fc.mean.sum(axis=1)
        if scenario.campaign:
            c = scenario.campaign
            window = _window(fc.dates, c["start"], c.get("end", c["start"]))
            metrics["forecast_in_campaign"] = fc.mean[:, window].sum(axis=1)
        metrics = metrics.merge(policies[[*KEYS, *_POLICY_METRICS]], on=KEYS, how="left")
        ordered = recs.groupby(KEYS, as_index=False).agg(
            recommended_order=("order_quantity", "sum"), order_by=("order_by", "min")
        ) if len(recs) else pd.DataFrame(columns=[*KEYS, "recommended_order", "order_by"])
        metrics = metrics.merge(ordered, on=KEYS, how="left")
        metrics["recommended_order"] = metrics["recommended_order"].astype(float).fillna(0.0)
        metrics["order_by_days"] = (
            pd.to_datetime(metrics["order_by"]) - pd.Timestamp(as_of)).dt.days.astype(float)
        risk_cols = [c for c in (*_RISK_METRICS, "stockout_before_receipt_probability")
                     if c in risk]
        metrics = metrics.drop(columns="order_by").merge(risk[[*KEYS, *risk_cols]], on=KEYS,
                                                         how="left")
        long = metrics.melt(id_vars=KEYS, var_name="metric", value_name=label)
        long[label] = long[label].astype(float)
        rows.append(long.set_index([*KEYS, "metric"]))
    table = pd.concat(rows, axis=1).reset_index()
    table["change"] = table["after"] - table["before"]
    return table
