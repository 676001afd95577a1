"""The nightly pipeline as library steps: ingest -> forecast -> plan -> simulate -> publish.

Each step reads what it needs from the warehouse and writes its output tables, so a step can run
alone (the Prefect flows in ``pipelines/`` call exactly these functions, one task each) and the
CLI runs them in sequence with a progress display.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.backorders import allocation, cancellation, messages, notifications
from forecast.backorders import book as backorders
from forecast.backorders.simulation import SimulationConfig, SimulationResult, simulate
from forecast.config import RunSettings
from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.engine import EngineConfig, chunk_rows, forecast_panel
from forecast.forecasting.series import Frequency, Panel, build_panel, frequency_from_code
from forecast.ingest.contract import LOAD_ORDER, TABLES, ContractError, find_table_files
from forecast.ingest.warehouse import LOCK_WAIT_SECONDS, LoadResult, Warehouse
from forecast.planning import movements, overrides, sales_models
from forecast.planning.plan_config import plan_config_from
from forecast.planning.policies import (
    PlanConfig,
    build_alerts,
    compute_policies,
    recommend_orders,
    stock_positions,
)
from forecast.planning.receipt_alerts import stockout_before_receipt_alerts
from forecast.planning.suppliers import estimate_lead_times, supplier_scorecard
from forecast.publish import exports as export
from forecast.publish import staging

Progress = Callable[[str], None]
#: Runs ``fn(*args)`` for every args tuple and returns the results in order: sequentially here,
#: through a Prefect task runner (threads, processes, Dask) in the flows.
Mapper = Callable[[Callable[..., Any], list[tuple]], list[Any]]


def sequential_map(fn: Callable[..., Any], items: list[tuple]) -> list[Any]:
    return [fn(*args) for args in items]


def new_run_id() -> str:
    return f"{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class IngestSummary:
    results: list[LoadResult]
    fingerprints: dict[str, str] = field(default_factory=dict)
    #: Files of optional tables that could not load: one message each (the run went on).
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def loaded(self) -> dict[str, int]:
        return {r.table: r.loaded for r in self.results}

    @property
    def rejected(self) -> dict[str, int]:
        return {r.table: r.rejected for r in self.results}

    @property
    def warnings(self) -> list[str]:
        columns = [f"{r.file}: {c}: every value has the wrong type; the column is ignored"
                   for r in self.results for c in r.column_errors]
        return [*self.skipped.values(), *columns]


def ingest(settings: RunSettings, run_id: str | None = None) -> IngestSummary:
    """Load every table file of ``settings.data_dir`` into the warehouse (validated, idempotent).

    A file of an optional table that cannot load (a required column missing, an unreadable
    body) is skipped with one reject and one warning; the run goes on with that table's
    documented default (a snapshot table is emptied) and every other file is still loaded.
    A ``sales`` file that cannot load stops the ingest (ContractError)."""
    files = find_table_files(settings.data_dir)
    results, skipped = [], {}
    with Warehouse(settings.warehouse_path) as wh:
        for name in LOAD_ORDER:
            table = TABLES[name]
            if name not in files:
                wh.clear_snapshot_table(table)
                continue
            try:
                results.append(wh.load_file(table, files[name], run_id))
            except ContractError as exc:
                if table.required:
                    raise
                skipped[name] = f"{exc}; skipped: the run goes on without {name} ({table.without})"
                wh.clear_snapshot_table(table)
                wh.record_skipped_file(table, files[name], exc, skipped[name], run_id)
    fingerprints = {str(p): file_fingerprint(p) for p in files.values()}
    return IngestSummary(results, fingerprints, skipped)


def resolve_as_of(wh: Warehouse, as_of: date | None) -> date:
    last = wh.last_sales_date()
    if last is None:
        raise ValueError(f"{wh.path}: the warehouse holds no sales; run the ingest step first")
    return min(as_of, last) if as_of else last


def load_panel(wh: Warehouse, as_of: date) -> Panel:
    return build_panel(wh.sales(as_of))


def engine_config(settings: RunSettings) -> EngineConfig:
    base = EngineConfig()
    models = tuple(settings.models) if settings.models else base.models
    if settings.prophet_series > 0 and "prophet" not in models:
        models = (*models, "prophet")  # asking for Prophet on N series adds it as a candidate
    return EngineConfig(
        models=models,
        folds=settings.folds,
        prophet_series=settings.prophet_series,
        seed=settings.seed,
    )


def load_covariates(wh: Warehouse, panel: Panel, horizon: int, settings: RunSettings):
    """Campaign, event, holiday and price covariates over the history and ``horizon``."""
    from forecast.forecasting.features import build_covariates

    return build_covariates(
        panel.keys, panel.dates, horizon, panel.freq,
        campaigns=wh.table("campaigns"), events=wh.table("events"), products=wh.table("products"),
        price=panel.price, country=settings.country,
    )


def forecast_step(settings: RunSettings, run_id: str, mapper: Mapper = sequential_map) -> dict:
    """Fit, choose and forecast every series; write ``forecasts``, ``forecast_models`` and
    ``campaign_uplift``, and the model artifacts under ``settings.models_dir``."""
    from forecast.forecasting.artifacts import write_model_artifacts

    cfg = engine_config(settings)
    with Warehouse(settings.warehouse_path) as wh:
        as_of = resolve_as_of(wh, settings.as_of)
        key = forecast_cache_key(settings, as_of, cfg)
        cached = wh.run_with_forecast_key(key, run_id) if settings.use_cache else None
        wh.set_forecast_key(run_id, key)
        if cached is not None:
            wh.copy_outputs(("forecasts", "forecast_models", "campaign_uplift", "flash_sales"),
                            cached, run_id)
            models = wh.output("forecast_models", run_id)
            counts = sales_models.series_counts(models, models["model"].to_numpy(),
                                                wh.table("products"))
            return {**counts, "horizon": settings.horizon,
                    "rows": settings.horizon * len(models), "frequency": models["frequency"].iloc[0],
                    "as_of": as_of, "cached_from": cached, "warnings": []}
        panel = load_panel(wh, as_of)
        covariates = load_covariates(wh, panel, settings.horizon, settings)
    # The per-series models run by chunks of series through the mapper (the flows map them over
    # a Prefect task runner); the global model, the choice and the calibration see every series,
    # so the forecast does not depend on the chunks. The warehouse is closed meanwhile.
    result = forecast_panel(panel, settings.horizon, cfg, covariates,
                            chunk_size=settings.chunk_size, mapper=mapper)
    with Warehouse(settings.warehouse_path) as wh:
        # Pre-order products join with an early forecast; flash sales are capped by the stock
        # set aside for them (forecast.planning.sales_models).
        inputs = _inputs(wh)
        products = inputs["products"]
        fc, flash_sales = sales_models.adjust_forecast(
            result.forecast, inputs, as_of, panel.freq.period_days, sales_model_config(settings),
            panel)
        models = pd.DataFrame(
            {
                "sku": fc.keys["sku"].to_numpy(),
                "location": fc.keys["location"].to_numpy(),
                "model": fc.model,
                "nb_size": np.where(np.isfinite(fc.size), fc.size, np.nan),
                "level_var": fc.level_var,
                "frequency": panel.freq.pandas_freq,
                "history_end": panel.dates[-1].date(),
                "rate_floor": np.full(len(fc.keys), np.nan) if fc.floor is None
                else np.where(fc.floor > 0, fc.floor, np.nan),
            }
        )
        frame = fc.to_frame()
        wh.replace_outputs(
            {"forecasts": frame, "forecast_models": models, "campaign_uplift": result.uplift,
             "flash_sales": flash_sales}, run_id
        )
    artifacts = write_model_artifacts(settings.models_dir, run_id, result, panel, cfg, settings.horizon)
    counts = sales_models.series_counts(fc.keys, fc.model, products)
    return {**counts, "horizon": settings.horizon, "rows": len(frame),
            "frequency": panel.freq.pandas_freq, "as_of": as_of, "artifacts": str(artifacts),
            "calibration": result.calibration, "warnings": result.warnings}


def forecast_cache_key(settings: RunSettings, as_of: date, cfg: EngineConfig) -> str:
    """Hash of what the forecast depends on: the input files' bytes and the forecast settings.

    An unchanged rerun (same files, as-of date, horizon, engine configuration and code version)
    reuses the earlier forecast instead of fitting again."""
    import dataclasses
    import json

    from forecast import __version__

    files = find_table_files(settings.data_dir)
    payload = {
        "files": {name: file_fingerprint(path) for name, path in sorted(files.items())},
        "as_of": str(as_of),
        "horizon": settings.horizon,
        "country": settings.country,
        "engine": dataclasses.asdict(cfg),
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def backtest_step(settings: RunSettings, run_id: str, folds: int, progress: Progress | None = None,
                  load: bool = False) -> pd.DataFrame:
    """Rolling-origin backtest of every candidate and the automatic choice; writes
    ``backtest_series`` / ``backtest_summary`` and ``exports/backtest_*.csv``. With ``load`` the
    data folder is ingested first (``forecast backtest``, the weekly re-selection).

    It never stops a nightly run: the warehouse and the run lock are held only to load the data
    and read the history and, at the end, to write the results, each time as a brief holder
    (:func:`run_lock` with ``brief``: it waits for a running pipeline, and a pipeline starting
    meanwhile waits for it, up to :data:`BRIEF_WAIT_SECONDS`); the backtest itself, minutes on a
    large catalogue, holds neither."""
    from forecast.forecasting.backtesting import run_backtest

    say = progress or (lambda message: None)
    with run_lock(settings.out_dir, wait=True, brief="backtest loading its data and history" if load
                  else "backtest reading its history"):
        if load:
            say("loading data")
            ingest(settings, run_id)
        with Warehouse(settings.warehouse_path) as wh:
            as_of = resolve_as_of(wh, settings.as_of)
            panel = load_panel(wh, as_of)
            covariates = load_covariates(wh, panel, settings.horizon, settings)
    report = run_backtest(panel, settings.horizon, folds, engine_config(settings), covariates, progress)
    per_series = report.per_series.copy()
    per_series["cutoff"] = panel.dates[per_series["cutoff"].to_numpy()].date
    with run_lock(settings.out_dir, wait=True, brief="backtest writing its results"):
        with Warehouse(settings.warehouse_path) as wh:
            wh.replace_outputs({"backtest_series": per_series, "backtest_summary": report.summary}, run_id)
            wh.drop_other_runs(("backtest_series", "backtest_summary"), run_id)
            wh.publish_snapshot(settings.snapshot_dir)  # notebooks read backtests from the snapshot
        export.write_csv(per_series, settings.exports_dir / "backtest_series.csv", float_format="%.5g")
        export.write_csv(report.summary, settings.exports_dir / "backtest_summary.csv", float_format="%.5g")
    return report.summary


def load_forecast(wh: Warehouse, run_id: str | None = None) -> tuple[DemandForecast, Frequency]:
    """Rebuild the probabilistic forecast written by :func:`forecast_step` for ``run_id``
    (default: the published run)."""
    models = wh.output("forecast_models", run_id)
    if models.empty:
        raise ValueError(f"{wh.path}: no forecast yet; run the forecast step first")
    fc = DemandForecast.from_tables(wh.output("forecasts", run_id), models)
    return fc, frequency_from_code(models["frequency"].iloc[0])


def plan_config(settings: RunSettings) -> PlanConfig:
    return plan_config_from(settings)


def priority_weights(settings: RunSettings) -> allocation.PriorityWeights:
    """The priority allocation's scores from the settings."""
    return allocation.PriorityWeights(
        segment=dict(settings.segment_weights), express=settings.express_weight,
        per_week_waiting=settings.waiting_weight_per_week,
        per_log10_lifetime_value=settings.lifetime_value_weight,
        per_log10_line_value=settings.line_value_weight,
    )


def sales_model_config(settings: RunSettings) -> sales_models.SalesModelConfig:
    return sales_models.SalesModelConfig(seed=settings.seed)


def _flash_sales(wh: Warehouse, run_id: str) -> pd.DataFrame:
    """The ``flash_sales`` rows of the run whose forecast the step reads (none when that run
    had no flash sale: never another run's)."""
    frame = wh.output("flash_sales", run_id)
    if wh.output_run("flash_sales", run_id) != wh.output_run("forecast_models", run_id):
        return frame.iloc[0:0]
    return frame


def _inputs(wh: Warehouse) -> dict[str, pd.DataFrame]:
    """The planning inputs; ``customer_orders`` holds the open lines only, ``order_history``
    every line (shipped and cancelled ones included)."""
    inputs = {name: wh.table(name) for name in TABLES if name != "sales"}
    inputs["order_history"] = inputs["customer_orders"]
    inputs["customer_orders"] = allocation.open_order_lines(inputs["customer_orders"])
    return inputs


def _stock(wh: Warehouse, as_of: date, keys: pd.DataFrame, inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The stock snapshot: the inventory table, else the last sales row's on_hand per series
    (as of its day); a pre-order series without a record holds 0 (sales_models.preorder_stock)."""
    if not inputs["inventory"].empty:
        return sales_models.preorder_stock(inputs["inventory"], keys, inputs["products"])
    sales = wh.sales(as_of)
    if "on_hand" not in sales or sales["on_hand"].isna().all():
        return sales_models.preorder_stock(
            pd.DataFrame(columns=["sku", "location", "on_hand"]), keys, inputs["products"])
    last = sales.dropna(subset=["on_hand"]).groupby(["sku", "location"], as_index=False).last()
    last = last.rename(columns={"date": "as_of"})[["sku", "location", "on_hand", "as_of"]]
    return sales_models.preorder_stock(last, keys, inputs["products"])


def stock_state(wh: Warehouse, as_of: date, keys: pd.DataFrame, inputs: dict[str, pd.DataFrame],
                until: date | None = None) -> movements.StockState:
    """Stock, open purchase orders and open customer lines after the stock movements the
    snapshot does not hold yet (:mod:`forecast.planning.movements`): up to ``until`` (the
    nightly run: its as-of date), or all of them (the intraday sync: None)."""
    snapshot = _stock(wh, as_of, keys, inputs)
    return movements.current_state(snapshot, inputs["stock_movements"], inputs["purchase_orders"],
                                   inputs["customer_orders"], as_of, until)


def with_state(inputs: dict[str, pd.DataFrame], state: movements.StockState) -> dict[str, pd.DataFrame]:
    """The planning inputs with the open purchase orders and customer lines after the movements."""
    return {**inputs, "purchase_orders": state.purchase_orders, "customer_orders": state.customer_orders}


def position_rows(positions: pd.DataFrame, state: movements.StockState) -> pd.DataFrame:
    """The ``positions`` output table: each series' stock position and its last movement."""
    return positions.merge(state.stock_as_of, on=["sku", "location"], how="left")


def plan_orders_and_alerts(policies: pd.DataFrame, positions: pd.DataFrame, fc: DemandForecast,
                           inputs: dict[str, pd.DataFrame], flash_sales: pd.DataFrame, as_of: date,
                           cfg: PlanConfig, period_days: float, settings: RunSettings,
                           panel: Panel | None):
    """Reorder recommendations and alerts from the policies and the positions, as the plan step
    makes them (pre-order first purchases, flash-sale checks, override notes); also what the
    intraday sync re-runs on its positions. Returns (recommendations, alerts, sales adjustment)."""
    recs = recommend_orders(policies, positions, fc, as_of, cfg, period_days)
    alerts = build_alerts(policies, positions, fc, as_of, period_days)
    alerts = pd.concat([alerts, stockout_before_receipt_alerts(
        policies, positions, fc, inputs["purchase_orders"], inputs["customer_orders"], as_of,
        period_days)], ignore_index=True)
    # Pre-order first purchases, the flash sales' promise check and their alerts.
    sales = sales_models.adjust_plan(policies, positions, recs, alerts, fc, inputs, flash_sales,
                                     as_of, period_days, sales_model_config(settings), panel)
    recs, alerts = overrides.annotate(sales.recommendations, sales.alerts, policies)
    return recs, alerts, sales


def plan_step(settings: RunSettings, run_id: str) -> dict:
    """Policies, reorder recommendations and alerts from the latest forecast."""
    cfg = plan_config(settings)
    with Warehouse(settings.warehouse_path) as wh:
        as_of = resolve_as_of(wh, settings.as_of)
        fc, freq = load_forecast(wh, run_id)
        panel = load_panel(wh, as_of)
        inputs = _inputs(wh)
        # Flash-sale caps restored for the lead-time demand; dropship SKUs get no policy.
        flash_sales = _flash_sales(wh, run_id)
        fc = sales_models.planning_forecast(fc, flash_sales, inputs["products"], freq.period_days,
                                            sales_model_config(settings))
        history = _align_history(panel, fc.keys)
        state = stock_state(wh, as_of, fc.keys, inputs, until=as_of)
        inputs = with_state(inputs, state)
        # Lead times measured from received purchase orders replace the configured ones where
        # a supplier delivered enough of them (forecast.planning.suppliers).
        lead_times = estimate_lead_times(inputs["receipts"], inputs["products"], as_of)
        # Planner overrides (min, max, Q, service level, policy) beside the computed values.
        pinned = overrides.active_overrides(inputs["overrides"], fc.keys, as_of)
        # The planned campaigns name the cause of a lead-time demand above the usual rate.
        policies = overrides.compute_policies_with_overrides(
            partial(compute_policies, campaigns=inputs["campaigns"]), fc, history,
            inputs["products"], inputs["suppliers"], cfg,
            freq.period_days, lead_times.per_sku, pinned,
        )
        positions = stock_positions(fc.keys, state.stock, inputs["purchase_orders"], inputs["customer_orders"])
        recs, alerts, sales = plan_orders_and_alerts(policies, positions, fc, inputs, flash_sales,
                                                     as_of, cfg, freq.period_days, settings, panel)
        scorecard = supplier_scorecard(
            inputs["receipts"], inputs["products"], inputs["suppliers"], inputs["purchase_orders"],
            inputs["customer_orders"], as_of, default_lead_time_days=cfg.default_lead_time_days,
        )
        wh.replace_outputs(
            {"policies": policies, "recommendations": recs, "alerts": alerts,
             "supplier_scorecard": scorecard, "flash_sales": sales.flash_sales,
             "positions": position_rows(positions, state)}, run_id
        )
    return {"policies": len(policies), "recommendations": len(recs), "alerts": len(alerts),
            "urgent": int(recs["urgent"].sum()) if len(recs) else 0,
            "suppliers": len(scorecard), "lead_times_from_receipts": len(lead_times.per_sku),
            "overrides": int((policies["override"] != "").sum()), "overrides_expired": pinned.expired,
            **sales_models.plan_counts(sales, inputs["products"])}


def _align_history(panel: Panel, keys: pd.DataFrame) -> np.ndarray:
    index = pd.MultiIndex.from_frame(panel.keys)
    rows = index.get_indexer(pd.MultiIndex.from_frame(keys[["sku", "location"]]))
    history = np.full((len(keys), panel.demand.shape[1]), np.nan)
    history[rows >= 0] = panel.demand[rows[rows >= 0]]
    return history


def simulate_step(settings: RunSettings, run_id: str, mapper: Mapper = sequential_map) -> dict:
    """Backorder risk by Monte Carlo and the allocation of stock to waiting orders."""
    with Warehouse(settings.warehouse_path) as wh:
        as_of = resolve_as_of(wh, settings.as_of)
        fc, freq = load_forecast(wh, run_id)
        inputs = _inputs(wh)
        # Dropship SKUs hold no stock: nothing to simulate (their lines go to allocation).
        fc = fc.take(sales_models.stocked_rows(fc.keys, inputs["products"]))
        state = stock_state(wh, as_of, fc.keys, inputs, until=as_of)
        inputs, stock = with_state(inputs, state), state.stock
        policies = wh.output("policies", run_id)
        recs = wh.output("recommendations", run_id)
        positions = stock_positions(fc.keys, stock, inputs["purchase_orders"], inputs["customer_orders"])
        rows = chunk_rows(len(fc.keys), settings.chunk_size)
        sim_cfg = SimulationConfig(
            horizon_days=settings.simulation_days, n_paths=settings.n_paths, seed=settings.seed,
            workers=1 if len(rows) > 1 else 0,  # chunks run in parallel through the mapper
        )
        # Each series draws from its own random stream (seed, sku, location): chunking does not
        # change the results. SKUs with enough receipts draw lead times from them (as planned).
        lead_times = estimate_lead_times(inputs["receipts"], inputs["products"], as_of)
        lead_samples = lead_times.samples
        parts = mapper(simulate, [
            (fc.take(r), policies, positions, inputs["purchase_orders"], as_of, sim_cfg, freq.period_days,
             lead_samples)
            for r in rows
        ])
        result = SimulationResult(
            pd.concat([p.risk for p in parts], ignore_index=True),
            pd.concat([p.bands for p in parts], ignore_index=True),
        )
        receipts = allocation.planned_receipts(inputs["purchase_orders"], recs)
        # Cancellation curve fitted on shipped/cancelled lines (else the default); pre-order
        # lines wait for launch, dropship lines go to the supplier (forecast.backorders.allocation).
        curve = cancellation.curve_from_history(inputs["order_history"], as_of)
        products = allocation.products_for_allocation(
            inputs["products"], inputs["suppliers"],
            lead_times.per_sku,
        )
        allocations, _ = allocation.compare_policies(
            inputs["customer_orders"], inputs["customers"], stock, receipts, as_of,
            weights=priority_weights(settings), products=products, curve=curve, default_lead_time_days=settings.default_lead_time_days,
        )
        wh.replace_outputs(
            {"risk": result.risk, "risk_bands": result.bands, "allocations": allocations,
             "cancellation_curve": curve.to_frame()}, run_id
        )
    at_risk = int(result.risk["at_risk"].sum())
    likely = int((result.risk["stockout_probability"] > 0.5).sum())
    # A series without a stock record (no inventory row, no on_hand in sales) is not simulated.
    simulated = int(result.risk["stockout_probability"].notna().sum())
    return {"series": len(result.risk), "simulated": simulated,
            "stock_unknown": len(result.risk) - simulated, "at_risk": at_risk, "stockout_likely": likely,
            "allocation_lines": len(allocations),
            "cancellation_curve": curve.source}


EXPORTED_TABLES = ("forecasts", "policies", "recommendations", "alerts", "risk", "allocations",
                   "supplier_scorecard", "backorders", "flash_sales")


def publish_step(settings: RunSettings, run_id: str) -> dict:
    """Publish the run: its exports, report and snapshot are written to a staging folder, then
    one warehouse transaction moves the published pointer (with the notices sent and the ETAs
    recorded) and the folder is swapped in as ``OUT/current`` (:mod:`forecast.publish.staging`),
    so readers switch from the whole previous plan to the whole new one."""
    warnings: list[str] = []
    with Warehouse(settings.warehouse_path) as wh:
        # The backorder book is staged with the run's other outputs, before the pointer moves;
        # what it says each customer was last told includes the notices this run sends.
        # The allocations of the run's own simulation (its curve always has rows), even when
        # it allocated nothing: never the previous run's lines.
        in_use = wh.run_rows("allocations", wh.output_run("cancellation_curve", run_id) or run_id)
        in_use = in_use[in_use["policy"] == settings.allocation_policy]
        as_of = resolve_as_of(wh, settings.as_of)
        updates = customer_updates(wh, settings, in_use, as_of, run_id)
        wh.replace_outputs({"backorders": updates.book}, run_id)
        folder = staging.stage(settings.out_dir, run_id)
        files = _write_exports(wh, settings, run_id, folder / "exports", updates.notices,
                               updates.sent.messages)

        def finish() -> None:  # inside the publish transaction, before its commit
            try:
                files.append(write_run_report(settings, run_id, folder))
            except Exception as exc:  # noqa: BLE001 - the plan is published; a report error is a warning
                warnings.append(f"HTML report failed: {type(exc).__name__}: {exc}")
            staging.complete(settings.out_dir, folder)

        # Customers to tell are recorded with the pointer, once their file is staged, so a
        # rerun lists no one twice; each line's ETA is kept for good (the book's previous ETA).
        kept = wh.publish_run(run_id, folder / "snapshot", notices=updates.told,
                              etas=backorders.eta_history_rows(in_use, run_id, as_of),
                              messages=(updates.sent.messages, updates.sent.lines),
                              before_commit=finish)
    staging.swap(settings.out_dir, run_id, kept)
    paths = [settings.out_dir / path.parent.name / path.name for path in files]
    return {"paths": paths, "warnings": warnings}


@dataclass
class CustomerUpdates:
    """What a publish tells the waiting customers: the notices (and their history rows), the
    messages and the backorder book that shows them."""

    notices: pd.DataFrame
    told: pd.DataFrame
    sent: messages.MessagePlan
    book: pd.DataFrame


def customer_updates(wh: Warehouse, settings: RunSettings, in_use: pd.DataFrame, as_of: date,
                     run_id: str) -> CustomerUpdates:
    """Notices, messages and the backorder book for an allocation ``in_use`` (one policy's
    rows), from what each line's customer was last told: the nightly publish and the intraday
    sync make them alike."""
    history = wh.notification_history()
    notices = notifications.customer_notices(in_use, history)
    told = notifications.history_rows(notices, run_id)
    # One message per customer and day (forecast.backorders.messages), from what each
    # line's customer was last told; the book shows when a cancellation was offered.
    state = wh.message_line_state()
    sent = messages.build_messages(
        in_use, state, wh.table("customers"), wh.table("products"), as_of,
        messages.MessageSettings.from_run(settings), run_id, wh.last_message_days())
    book = backorders.backorder_book(
        in_use, as_of, wh.eta_history(exclude_run=run_id),
        pd.concat([f for f in (history, told) if len(f)] or [told]),
        cancel_offers=messages.cancel_offers(state, sent.lines),
    )
    return CustomerUpdates(notices, told, sent, book)


def _write_exports(wh: Warehouse, settings: RunSettings, run_id: str, target: Path,
                   notices: pd.DataFrame, customer_messages: pd.DataFrame,
                   names: tuple[str, ...] = EXPORTED_TABLES) -> list[Path]:
    """The run's CSV exports (of ``names``), rejects, customer notices and messages and the
    purchasing workbook into ``target``."""
    tables = export_tables(wh, settings, run_id, names)
    return write_export_files(tables, settings, target, notices, customer_messages, names)


def export_tables(wh: Warehouse, settings: RunSettings, run_id: str,
                  names: tuple[str, ...] = EXPORTED_TABLES) -> dict[str, pd.DataFrame]:
    """What the exports of ``run_id`` show, read from the warehouse: the tables ``names``, the
    recommendations and scorecard (the workbook), the configured policy's allocations and the
    rejects."""
    tables = {name: wh.run_rows(name, run_id) for name in (*names, "recommendations",
                                                           "supplier_scorecard", "allocations")}
    tables["allocations"] = tables["allocations"][
        tables["allocations"]["policy"] == settings.allocation_policy
    ]
    tables["rejects"] = wh.rejects()
    return tables


def write_export_files(tables: dict[str, pd.DataFrame], settings: RunSettings, target: Path,
                       notices: pd.DataFrame, customer_messages: pd.DataFrame,
                       names: tuple[str, ...] = EXPORTED_TABLES) -> list[Path]:
    """The export files from :func:`export_tables` (no warehouse access: it may run in a
    thread while the warehouse writes the snapshot)."""
    paths = export.write_csv_exports({k: v for k, v in tables.items() if k in names}, target)
    paths.append(export.write_rejects(tables["rejects"], target))
    paths.append(export.write_notices(notices, target / "customer_notifications.csv"))
    paths += export.write_customer_messages(customer_messages, target)
    paths.append(export.write_purchasing_workbook(
        tables["recommendations"], target / "reorder_recommendations.xlsx",
        scorecard=tables["supplier_scorecard"], currency=settings.currency,
    ))
    return paths


def write_run_report(settings: RunSettings, run_id: str, folder: Path | None = None) -> Path:
    """The HTML report of a published run, from the snapshot (never blocks the warehouse);
    from a staged ``folder`` (its ``snapshot/`` into its ``reports/``) while publishing."""
    from forecast.publish.report import write_snapshot_report

    snapshot, reports = ((folder / "snapshot", folder / "reports") if folder is not None
                         else (settings.snapshot_dir, settings.reports_dir))
    return write_snapshot_report(snapshot, reports / f"run_{run_id}.html", run_id=run_id)


def deliver_step(settings: RunSettings, run_id: str) -> dict:
    """The run digest (orders today, new alerts, SKUs at risk, customers to tell), posted to the
    configured webhook. A delivery failure is reported, not raised: the plan is published."""
    from forecast.publish.digest import build_digest, post_webhook

    with Warehouse(settings.warehouse_path) as wh:
        digest = build_digest(wh, run_id)
    result: dict = {"counts": digest.counts, "markdown": digest.markdown(), "delivered": None}
    if settings.alert_webhook:
        try:
            result["delivered"] = post_webhook(settings.alert_webhook, digest.payload())
        except OSError as exc:
            result["warnings"] = [f"alert webhook {settings.alert_webhook} failed: {exc}"]
    return result


def allocation_summary(
    snapshot_dir: Path, policies: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Allocation outcome per policy and segment (with the expected revenue lost to
    cancellations), the SKUs most at risk, and the cancellation curve the run used, from the
    snapshot (every run allocates under every policy)."""
    from forecast.ingest.published import read_snapshot

    data = read_snapshot(snapshot_dir, ("allocations", "customer_orders", "risk",
                                        "cancellation_curve", "products"))
    allocations = data["allocations"]
    if len(allocations):
        allocations = allocations[allocations["policy"].isin(policies)]
    summary = allocation.summarise_allocation(
        allocations, allocation.open_order_lines(data["customer_orders"]), data["products"])
    risk = data["risk"]
    if len(risk):
        risk = risk.sort_values("stockout_probability", ascending=False)[
            ["sku", "location", "stockout_probability", "fill_rate", "expected_backorders",
             "first_stockout_p10", "first_stockout_p50"]]
    return summary, risk, data["cancellation_curve"]


def replay_history(data_dir: Path, start: date, end: date, every: int, lead_time_days: float,
                   out_dir: Path, progress: Progress | None = None):
    """Historical replay of a data folder (see :mod:`forecast.scenarios.replay`); per-SKU results and the
    plans go to ``OUT/exports/replay_*.csv``."""
    from forecast.scenarios.replay import ReplayConfig, replay

    files = find_table_files(data_dir)
    read = {name: (pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path))
            for name, path in files.items() if name in ("sales", "products", "suppliers")}
    sales = read["sales"]
    if "location" not in sales:
        sales = sales.assign(location="main")
    result = replay(sales, read.get("products", pd.DataFrame(columns=["sku"])), start, end, every,
                    config=ReplayConfig(lead_time_days=lead_time_days),
                    suppliers=read.get("suppliers"), progress=progress)
    exports = Path(out_dir) / "exports"
    export.write_csv(result.per_sku, exports / "replay_per_sku.csv")
    export.write_csv(result.summary, exports / "replay_summary.csv")
    return result


STEPS = ("forecast", "plan", "simulate", "publish", "deliver")
STEP_FUNCTIONS: dict[str, Callable[[RunSettings, str], object]] = {
    "ingest": ingest,
    "forecast": forecast_step,
    "plan": plan_step,
    "simulate": simulate_step,
    "publish": publish_step,
    "deliver": deliver_step,
}
#: How a step is called: directly, or (in the Prefect flows) as a task.
StepCaller = Callable[[str, RunSettings, str], object]


def call_directly(name: str, settings: RunSettings, run_id: str) -> object:
    return STEP_FUNCTIONS[name](settings, run_id)


@dataclass
class RunSummary:
    run_id: str
    as_of: date | None
    ingest: IngestSummary
    steps: dict[str, dict | list]
    seconds: dict[str, float]
    exports: list[Path]


class PipelineBusyError(RuntimeError):
    """Another pipeline run is writing to the same output folder."""


class OutputFolderError(RuntimeError):
    """The output folder cannot be created or written (a file, read-only, under /proc ...)."""


def output_folder_error(out_dir: Path, exc: OSError) -> OutputFolderError:
    """One line an operator can act on, for an OSError met while preparing ``out_dir``."""
    where = exc.filename or out_dir
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return OutputFolderError(f"{out_dir}: not a folder ({where} is a file); give --out a folder")
    reason = (exc.strerror or str(exc)).lower()
    return OutputFolderError(
        f"{out_dir}: cannot write the output folder ({reason}: {where}); give --out a folder you can write"
    )


def _lock_file(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / ".pipeline.lock"
        path.touch()
        return path
    except OSError as exc:
        raise output_folder_error(out_dir, exc) from exc


#: How long a starting run waits for a brief holder of the run lock (a backtest loading its data,
#: reading its history or writing its results) before it fails naming it: a backtest's ingest
#: of a large data folder takes minutes, and a nightly run starting meanwhile should wait for
#: it, not fail after the :data:`LOCK_WAIT_SECONDS` it gives a read command.
BRIEF_WAIT_SECONDS = 1800.0


@contextmanager
def run_lock(out_dir: Path, wait: bool = False, reader_wait: float = LOCK_WAIT_SECONDS,
             brief: str = "", brief_wait: float = BRIEF_WAIT_SECONDS) -> Iterator[None]:
    """Hold ``OUT/.pipeline.lock`` for the whole run: one writer per output folder.

    A second run fails at once with :class:`PipelineBusyError` naming the holder, or waits for
    the lock when ``wait`` is set. A read command holding the lock shared for a moment (see
    :func:`read_lock`) is waited for up to ``reader_wait`` seconds, a ``brief`` holder (a
    backtest reading its history or writing its results; ``brief`` says what it does, in the
    holder line) up to ``brief_wait``. The operating system releases the lock when a run dies."""
    path = _lock_file(out_dir)
    with open(path, "r+") as handle:
        _take_run_lock(handle, out_dir, wait, reader_wait, brief_wait)
        handle.seek(0)
        handle.truncate()
        since = f"pid {os.getpid()} since {datetime.now():%Y-%m-%d %H:%M:%S}"
        handle.write(f"brief {brief} ({since})" if brief else since)
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _take_run_lock(handle, out_dir: Path, wait: bool, reader_wait: float,
                   brief_wait: float = BRIEF_WAIT_SECONDS) -> None:
    if wait:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return
    started = time.monotonic()
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _lock_holder(handle)
            if holder is None:  # a run taking or leaving the lock, between flock and its line
                holder = "brief run taking or leaving the lock"
            if holder and not holder.startswith("brief "):
                raise PipelineBusyError(
                    f"{out_dir}: another pipeline run is writing here ({holder}); wait for it to "
                    "finish, or start this one with --wait"
                ) from None
            limit = brief_wait if holder else reader_wait
            if time.monotonic() - started >= limit:
                who = f"a {holder.removeprefix('brief ')}" if holder else "a read command"
                raise PipelineBusyError(
                    f"{out_dir}: {who} has held the output folder for {limit:g} s; "
                    "wait for it to finish, or start this run with --wait"
                ) from None
            time.sleep(0.1)


def _lock_holder(handle) -> str | None:
    """Who holds the run lock we could not take: ``""`` for read commands only (they hold it
    shared and write nothing), the holder's line for a run, ``None`` for a run whose line is not
    there (yet or any more: it writes the line after taking the lock, and empties it before
    letting go), so a waiter never mistakes a run starting or ending for a read command."""
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        return handle.read().strip() or None
    fcntl.flock(handle, fcntl.LOCK_UN)
    return ""


@contextmanager
def read_lock(out_dir: Path) -> Iterator[bool]:
    """For a read command: True (and the lock held shared) when no run is writing ``out_dir``,
    so it may read the warehouse for a moment; False while a run writes (read the snapshot)."""
    path = Path(out_dir) / ".pipeline.lock"
    if not path.is_file():
        yield True  # no run has ever written here
        return
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_pipeline(
    settings: RunSettings, progress: Progress | None = None, call: StepCaller = call_directly,
    wait: bool = False, lock: bool = True,
) -> RunSummary:
    """The whole nightly pipeline under the run lock, recorded in the ``runs`` table (status,
    timings, counts, warnings); outputs become visible only when the publish step succeeds.
    ``lock=False``: the caller holds :func:`run_lock` already."""
    if not lock:
        return _run_pipeline(settings, progress, call)
    with run_lock(settings.out_dir, wait):
        return _run_pipeline(settings, progress, call)


def _run_pipeline(settings: RunSettings, progress: Progress | None, call: StepCaller) -> RunSummary:
    say = progress or (lambda message: None)
    run_id = new_run_id()
    seconds: dict[str, float] = {}
    outputs: dict[str, object] = {}
    with Warehouse(settings.warehouse_path) as wh:
        # Under the run lock no other run is going: a run still "running" was killed. A plan
        # it committed but did not swap in is swapped in now; what it staged is removed.
        wh.abandon_running_runs(run_id)
        staging.recover(settings.out_dir, wh.published_run(), wh.kept_runs())
        wh.start_run(run_id, data_dir=settings.data_dir, as_of=settings.as_of,
                     horizon=settings.horizon, parameters=settings.model_dump(mode="json"))
    try:
        for name in ("ingest", *STEPS):
            say(name)
            start = time.perf_counter()
            outputs[name] = call(name, settings, run_id)
            seconds[name] = round(time.perf_counter() - start, 3)
    except Exception as exc:
        loaded = outputs.get("ingest")
        _finish(settings, run_id, status="failed", error=f"{type(exc).__name__}: {exc}",
                step_seconds=seconds,
                rows_loaded=loaded.loaded if loaded else {},
                rows_rejected=loaded.rejected if loaded else {},
                warnings=loaded.warnings if loaded else [])
        raise
    summary: IngestSummary = outputs["ingest"]  # type: ignore[assignment]
    as_of = outputs["forecast"]["as_of"]  # type: ignore[index]
    warnings = [*summary.warnings] + [
        w for name in ("forecast", "publish", "deliver")
        for w in outputs[name].get("warnings", [])]  # type: ignore[union-attr]
    _finish(settings, run_id, status="succeeded", as_of=as_of, warnings=warnings,
            frequency=outputs["forecast"]["frequency"], step_seconds=seconds,  # type: ignore[index]
            rows_loaded=summary.loaded, rows_rejected=summary.rejected,
            input_fingerprints=summary.fingerprints)
    steps = {k: v for k, v in outputs.items() if k != "ingest"}
    return RunSummary(run_id, as_of, summary, steps, seconds, outputs["publish"]["paths"])  # type: ignore[arg-type]


def _finish(settings: RunSettings, run_id: str, **fields: object) -> None:
    """Record how the run ended, also in the published snapshot's run history (read commands
    and notebooks read the snapshot)."""
    with Warehouse(settings.warehouse_path) as wh:
        wh.finish_run(run_id, **fields)  # type: ignore[arg-type]
        wh.refresh_snapshot_table("runs", settings.snapshot_dir)
