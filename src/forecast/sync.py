"""Intraday stock sync: positions, threshold alerts and backorder release within minutes of a
stock movement, against the published plan's policies (nothing is refitted or re-planned).

``forecast sync`` (and the Prefect flow ``stock-sync``) runs, under the run lock:

1. **Read what is new.** The ``stock_movements`` file, and the ``customer_orders`` and
   ``purchase_orders`` files (new open lines, PO changes), are loaded only when their bytes
   changed since the last sync (or the nightly run) read them; every row is validated and
   rejects are recorded with file, line, column and reason. A movement id already loaded is
   replaced (a correction), never added twice.
2. **Positions.** Stock per SKU and location = the stock snapshot plus every movement after it
   (:mod:`forecast.planning.movements`); receipts naming a PO reduce it, sales naming an order
   ship that line. Inventory position = on hand + on order - open customer units.
3. **Threshold alerts** (:mod:`forecast.planning.thresholds`): one per crossing of the minimum,
   of zero stock, or of the open order units, compared with the previous published state;
   open until the position recovers.
4. **Release** (:mod:`forecast.backorders.release`): stock that became free goes to the waiting
   lines by the configured allocation policy; the backorder book, ETAs, notices and customer
   messages follow (a customer whose line can now ship is told).
5. **Recommendations** are recomputed on the new positions with the published policies (the
   nightly's functions); those whose quantity, date or urgency changed are listed.
6. **Publish** like the nightly run: a new run (its id is the sync id) holds the published plan's
   tables with the changed ones replaced; exports (with ``stock_sync.csv``, what changed, and
   ``stock_alerts.csv``) and the snapshot are staged and swapped in with the pointer, in one
   transaction that also records the movements counted and the alerts. Readers see the previous
   state or the new one. New alerts are posted to the webhook.

A sync with nothing new (no file changed, the published state is already a sync's) publishes
nothing. The next nightly run starts from the synced state: its stock is the snapshot plus the
movements up to its as-of date, so a movement is counted once, by the same rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import pipeline
from forecast.backorders import allocation, cancellation, release
from forecast.backorders import book as backorders
from forecast.config import RunSettings
from forecast.forecasting.series import build_panel
from forecast.ingest.contract import OPEN_STATUS, TABLES, find_table_files
from forecast.ingest.warehouse import PLAN_TABLES, Warehouse
from forecast.planning import thresholds
from forecast.planning.policies import stock_positions
from forecast.planning.suppliers import estimate_lead_times
from forecast.publish import exports as export
from forecast.publish import staging

KEYS = ["sku", "location"]
#: Input files a sync reads again when they changed.
SYNC_INPUTS = ("stock_movements", "customer_orders", "purchase_orders")
#: Plan tables a sync replaces; the others are the published plan's, carried into the sync's run.
REPLACED = ("recommendations", "alerts", "allocations", "backorders", "positions")
CHANGE_COLUMNS = [
    "sku", "location", "movements", "on_hand_before", "on_hand", "on_order_before", "on_order",
    "committed_before", "committed", "position_before", "position", "reorder_point",
    "alerts_raised", "alerts_closed", "lines_released", "units_released", "recommendation",
]
Progress = Callable[[str], None]


class SyncError(RuntimeError):
    """The sync cannot run (no published plan yet)."""


@dataclass
class SyncResult:
    sync_id: str | None  # None: nothing new, nothing published
    base_run: str
    synced_to: datetime | None = None
    movements_new: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    loaded: dict[str, int] = field(default_factory=dict)
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))
    raised: pd.DataFrame = field(default_factory=pd.DataFrame)
    closed: pd.DataFrame = field(default_factory=pd.DataFrame)
    released: pd.DataFrame = field(default_factory=pd.DataFrame)
    notices: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommendations: pd.DataFrame = field(default_factory=pd.DataFrame)
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def published(self) -> bool:
        return self.sync_id is not None


def new_sync_id() -> str:
    return pipeline.new_run_id() + "-sync"


def run_sync(settings: RunSettings, progress: Progress | None = None, wait: bool = False,
             lock: bool = True) -> SyncResult:
    """One sync under the run lock (a nightly run and a sync never write at once)."""
    if not lock:
        return _sync(settings, progress or (lambda message: None))
    with pipeline.run_lock(settings.out_dir, wait):
        return _sync(settings, progress or (lambda message: None))


def _sync(settings: RunSettings, say: Progress) -> SyncResult:
    start = time.perf_counter()
    sync_id = new_sync_id()
    with Warehouse(settings.warehouse_path) as wh:
        wh.abandon_running_runs(sync_id)
        staging.recover(settings.out_dir, wh.published_run(), wh.kept_runs())
        published = wh.published_run()
        if published is None:
            raise SyncError(f"{settings.out_dir}: no published plan yet; run `forecast run` "
                            "(or `forecast demo`) first: a sync applies the plan's policies")
        say("read new movements")
        base = wh.sync_base(published)
        read = _read_changed_files(wh, settings, base or published, sync_id)
        new_ids = wh.new_movement_ids()
        if not read.files and new_ids.empty and base is not None:  # already synced
            return SyncResult(None, base, seconds=time.perf_counter() - start,
                              rejected=read.rejected, loaded=read.loaded)
        say("positions and alerts")
        result = _apply(wh, settings, sync_id, published, base, new_ids, read, say)
    staging.swap(settings.out_dir, sync_id, result.kept)
    with Warehouse(settings.warehouse_path) as wh:
        wh.finish_run(sync_id, status="succeeded", as_of=result.as_of,
                      step_seconds={"sync": round(time.perf_counter() - start, 3)},
                      rows_loaded=read.loaded, rows_rejected=read.rejected,
                      warnings=result.outcome.warnings)
        wh.set_sync_seconds(sync_id, time.perf_counter() - start)
        wh.refresh_snapshot_table("runs", settings.snapshot_dir)
    result.outcome.warnings += _post_alerts(settings, result.outcome)
    result.outcome.seconds = time.perf_counter() - start
    return result.outcome


@dataclass
class _Read:
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # table -> (file, fingerprint)
    loaded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)


def _read_changed_files(wh: Warehouse, settings: RunSettings, nightly: str, sync_id: str) -> _Read:
    """Load the sync inputs whose bytes changed since a sync or the nightly run read them."""
    files = find_table_files(settings.data_dir)
    known = wh.run_record(nightly)["input_fingerprints"] | wh.sync_file_fingerprints()
    read = _Read()
    for name in SYNC_INPUTS:
        if name not in files:
            continue
        path = files[name]
        fingerprint = pipeline.file_fingerprint(path)
        if known.get(name) == fingerprint or known.get(str(path)) == fingerprint:
            continue
        result = wh.load_file(TABLES[name], path, sync_id)
        read.files[name] = (str(path), fingerprint)
        read.loaded[name], read.rejected[name] = result.loaded, result.rejected
    return read


@dataclass
class _Applied:
    outcome: SyncResult
    kept: list[str] = field(default_factory=list)
    as_of: date | None = None


def _apply(wh: Warehouse, settings: RunSettings, sync_id: str, published: str, base: str | None,
           new_ids: pd.DataFrame, read: _Read, say: Progress) -> _Applied:
    nightly = base or published
    fc, freq = pipeline.load_forecast(wh, published)
    as_of = pd.Timestamp(wh.output("forecast_models", published)["history_end"].max()).date()
    raw = _inputs(wh)
    state = pipeline.stock_state(wh, as_of, fc.keys, raw)
    inputs = pipeline.with_state(raw, state)
    policies = wh.output("policies", published)
    keys = policies[KEYS]  # the planned series (dropship SKUs hold no stock)
    positions = stock_positions(keys, state.stock, inputs["purchase_orders"], inputs["customer_orders"])
    previous = _previous_positions(wh, published, as_of, keys, raw)
    synced_to = state.movements["moved_at"].max() if len(state.movements) else None
    day = max(as_of, synced_to.date()) if synced_to is not None else as_of
    at = synced_to.to_pydatetime() if synced_to is not None else datetime.combine(day, datetime.min.time())
    changed = _changed_series(previous, positions)

    before = thresholds.conditions(previous, policies)
    now = thresholds.conditions(positions, policies).merge(state.stock_as_of, on=KEYS, how="left")
    raised, closed = thresholds.reconcile(before, now, wh.open_stock_alerts(), sync_id, at)

    say("recommendations")
    panel = _panel_if_needed(wh, as_of, inputs)
    recs, alerts, _ = pipeline.plan_orders_and_alerts(
        policies, positions, fc, inputs, pipeline._flash_sales(wh, published), as_of,
        pipeline.plan_config(settings), freq.period_days, settings, panel)
    recs = _due_from(recs, day)
    recs_before = wh.output("recommendations", published)

    say("release waiting lines")
    alloc_before = wh.output("allocations", published)
    in_use_before = alloc_before[alloc_before["policy"] == settings.allocation_policy]
    curve = cancellation.CancellationCurve.from_frame(wh.output("cancellation_curve", published))
    in_use = _release(settings, in_use_before, inputs, state, recs, changed, as_of, day, curve)
    released = release.released_lines(in_use_before, in_use)

    outcome = SyncResult(sync_id, nightly, synced_to, len(new_ids), read.rejected, read.loaded)
    outcome.raised, outcome.closed, outcome.released = raised, closed, released
    outcome.recommendations = recommendation_changes(recs_before, recs)
    outcome.changes = change_rows(previous, positions, policies, changed, new_ids, raised, closed,
                                  released, outcome.recommendations)
    say("publish")
    tables = {"recommendations": recs, "alerts": alerts, "positions": pipeline.position_rows(positions, state),
              "allocations": pd.concat([alloc_before[alloc_before["policy"] != settings.allocation_policy]
                                        .drop(columns="run_id"), in_use], ignore_index=True)}
    kept = _publish(wh, settings, sync_id, published, nightly, as_of, day, tables, in_use, new_ids,
                    read, outcome)
    return _Applied(outcome, kept, as_of)


def _inputs(wh: Warehouse) -> dict[str, pd.DataFrame]:
    """The planning inputs as the plan step reads them (:func:`forecast.pipeline._inputs`),
    with the order history limited to what the sync's planning reads: the open lines and the
    pre-order products' lines (their conversion and pre-orders)."""
    inputs = {name: wh.table(name) for name in TABLES if name not in ("sales", "customer_orders")}
    inputs["customer_orders"] = allocation.open_order_lines(wh.order_lines(status=OPEN_STATUS))
    inputs["order_history"] = wh.order_lines(skus=_preorder_skus(inputs["products"]))
    return inputs


def _preorder_skus(products: pd.DataFrame) -> list[str]:
    if products.empty or "preorder" not in products:
        return []
    return products.loc[products["preorder"].fillna(False).astype(bool), "sku"].astype(str).tolist()


def _previous_positions(wh: Warehouse, published: str, as_of: date, keys: pd.DataFrame,
                        inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The published run's positions; a plan published before positions were kept: the
    nightly rule (movements up to its as-of date) on ``inputs`` as loaded (before movements)."""
    previous = wh.output("positions", published)
    if len(previous):
        return keys.merge(previous.drop(columns="run_id"), on=KEYS, how="left")
    state = pipeline.stock_state(wh, as_of, keys, inputs, until=as_of)
    return stock_positions(keys, state.stock, state.purchase_orders, state.customer_orders)


def _changed_series(previous: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    cols = ["on_hand_recorded", "on_order", "committed"]
    merged = now[[*KEYS, *cols]].merge(previous[[*KEYS, *cols]], on=KEYS, how="outer",
                                       suffixes=("", "_before"))
    differs = np.zeros(len(merged), dtype=bool)
    for c in cols:
        a, b = merged[c].astype(float), merged[f"{c}_before"].astype(float)
        differs |= ~(np.isclose(a.fillna(-1e18), b.fillna(-1e18), rtol=0, atol=1e-9))
    return merged.loc[differs, KEYS].reset_index(drop=True)


def _panel_if_needed(wh: Warehouse, as_of: date, inputs: dict[str, pd.DataFrame]):
    """The sales history of the pre-order products, the only part of the panel the plan reads
    (their conversion from past launches); None without pre-order products."""
    skus = _preorder_skus(inputs["products"])
    if not skus:
        return None
    sales = wh.sales(as_of, skus)
    return build_panel(sales) if len(sales) else None


def _release(settings: RunSettings, before: pd.DataFrame, inputs: dict[str, pd.DataFrame], state,
             recs: pd.DataFrame, changed: pd.DataFrame, as_of: date, day: date,
             curve: cancellation.CancellationCurve) -> pd.DataFrame:
    """The configured policy's allocation after the sync (:func:`release.release`), with the
    nightly allocation's inputs: its lead times (estimated as of its as-of date, as it did),
    cancellation curve, pre-orders and dropship; nothing is fitted again."""
    lead_times = estimate_lead_times(inputs["receipts"], inputs["products"], as_of)
    products = allocation.products_for_allocation(inputs["products"], inputs["suppliers"],
                                                  lead_times.per_sku)
    receipts = allocation.planned_receipts(inputs["purchase_orders"], recs)
    return release.release(
        before.drop(columns="run_id", errors="ignore"), inputs["customer_orders"], inputs["customers"],
        state.stock, receipts, changed, day, settings.allocation_policy,
        weights=pipeline.priority_weights(settings), products=products, curve=curve,
        default_lead_time_days=settings.default_lead_time_days)


def _due_from(recs: pd.DataFrame, day: date) -> pd.DataFrame:
    """An order that was due before the sync's day is due that day (its arrival moves with it)."""
    if recs.empty:
        return recs
    order_by = pd.to_datetime(recs["order_by"])
    late = (pd.Timestamp(day) - order_by).clip(lower=pd.Timedelta(0))
    return recs.assign(order_by=(order_by + late).dt.date,
                       expected_arrival=(pd.to_datetime(recs["expected_arrival"]) + late).dt.date)


def recommendation_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Recommendations that are new, gone, or whose quantity or urgency changed: sku,
    location, change, quantity before and now, order_by before and now, urgent."""
    cols = ["order_quantity", "order_by", "urgent"]
    merged = after[[*KEYS, *cols]].merge(before[[*KEYS, *cols]] if len(before) else
                                         pd.DataFrame(columns=[*KEYS, *cols]),
                                         on=KEYS, how="outer", suffixes=("", "_before"),
                                         indicator=True)
    qty, qty0 = merged["order_quantity"].astype(float), merged["order_quantity_before"].astype(float)
    change = np.select(
        [merged["_merge"] == "left_only", merged["_merge"] == "right_only",
         ~np.isclose(qty.fillna(0), qty0.fillna(0)),
         merged["urgent"].astype(bool) != merged["urgent_before"].astype(bool)],
        ["new", "gone", "quantity", "urgency"], default="")
    out = merged.assign(change=change)
    out = out[out["change"] != ""]
    return out[[*KEYS, "change", "order_quantity_before", "order_quantity", "order_by_before",
                "order_by", "urgent"]].sort_values(KEYS).reset_index(drop=True)


def change_rows(previous: pd.DataFrame, now: pd.DataFrame, policies: pd.DataFrame,
                changed: pd.DataFrame, new_ids: pd.DataFrame, raised: pd.DataFrame,
                closed: pd.DataFrame, released: pd.DataFrame, recs: pd.DataFrame) -> pd.DataFrame:
    """``stock_sync.csv``: one row per series the sync changed (its stock: ``changed``, a
    movement, an alert, a release or a recommendation), before and now."""
    cols = ["on_hand", "on_order", "committed", "inventory_position"]
    frame = now[[*KEYS, *cols]].merge(previous[[*KEYS, *cols]], on=KEYS, how="left",
                                      suffixes=("", "_before"))
    frame = frame.rename(columns={"inventory_position": "position",
                                  "inventory_position_before": "position_before"})
    frame = frame.merge(policies[[*KEYS, "reorder_point"]], on=KEYS, how="left")
    counts = new_ids.groupby(KEYS).size().rename("movements").reset_index() if len(new_ids) else \
        pd.DataFrame(columns=[*KEYS, "movements"])
    frame = frame.merge(counts, on=KEYS, how="left")
    frame = frame.merge(_kinds(raised, "alerts_raised"), on=KEYS, how="left")
    frame = frame.merge(_kinds(closed, "alerts_closed"), on=KEYS, how="left")
    rel = (released.groupby(KEYS).agg(lines_released=("order_id", "size"),
                                      units_released=("released", "sum")).reset_index()
           if len(released) else pd.DataFrame(columns=[*KEYS, "lines_released", "units_released"]))
    frame = frame.merge(rel, on=KEYS, how="left")
    text = (recs.assign(recommendation=recs["change"] + ": " + recs["order_quantity"].map(_qty))
            [[*KEYS, "recommendation"]] if len(recs) else pd.DataFrame(columns=[*KEYS, "recommendation"]))
    frame = frame.merge(text, on=KEYS, how="left")
    moved = pd.MultiIndex.from_frame(frame[KEYS]).isin(pd.MultiIndex.from_frame(changed[KEYS]))
    touched = moved | frame["movements"].notna() | frame["alerts_raised"].notna() | \
        frame["alerts_closed"].notna() | frame["lines_released"].notna() | frame["recommendation"].notna()
    frame["movements"] = frame["movements"].fillna(0).astype(int)
    frame["lines_released"] = frame["lines_released"].fillna(0).astype(int)
    frame["units_released"] = frame["units_released"].astype(float).fillna(0.0)
    frame[["alerts_raised", "alerts_closed", "recommendation"]] = frame[
        ["alerts_raised", "alerts_closed", "recommendation"]].fillna("")
    return frame.loc[touched, CHANGE_COLUMNS].sort_values(KEYS).reset_index(drop=True)


def _kinds(alerts: pd.DataFrame, name: str) -> pd.DataFrame:
    if alerts.empty:
        return pd.DataFrame(columns=[*KEYS, name])
    return alerts.groupby(KEYS)["kind"].agg(lambda k: " ".join(sorted(k))).rename(name).reset_index()


def _qty(value: float) -> str:
    return "none" if pd.isna(value) else f"{value:g}"


def _publish(wh: Warehouse, settings: RunSettings, sync_id: str, published: str, nightly: str,
             as_of: date, day: date, tables: dict[str, pd.DataFrame], in_use: pd.DataFrame,
             new_ids: pd.DataFrame, read: _Read, outcome: SyncResult) -> list[str]:
    """Stage the sync's run (the published plan's tables, the changed ones replaced), its exports
    and snapshot, and publish it in one transaction with the sync's bookkeeping."""
    record_of = wh.run_record(published)
    parameters = record_of["parameters"] | {"sync_of": nightly}
    wh.start_run(sync_id, data_dir=settings.data_dir, as_of=as_of,
                 horizon=parameters.get("horizon"), parameters=parameters)
    if record_of["forecast_key"]:  # the forecast is the nightly's: its cache holds
        wh.set_forecast_key(sync_id, record_of["forecast_key"])
    carried = tuple(name for name in PLAN_TABLES if name not in REPLACED)
    wh.copy_outputs(carried, wh.output_run("forecast_models", published), sync_id)
    updates = pipeline.customer_updates(wh, settings, in_use, day, sync_id)
    wh.replace_outputs({**tables, "backorders": updates.book}, sync_id)
    outcome.notices = updates.notices
    folder = staging.stage(settings.out_dir, sync_id)
    exports_dir = folder / "exports"
    # The export files are written in a thread while the warehouse writes the snapshot (DuckDB
    # works outside the GIL); the staged folder is complete before the pointer moves.
    tables = pipeline.export_tables(wh, settings, sync_id, names=REPLACED)
    pool = ThreadPoolExecutor(max_workers=1)
    writing = pool.submit(_write_files, tables, settings, exports_dir, updates, outcome.changes)
    files: list[Path] = []
    row = {"sync_id": sync_id, "base_run": nightly, "started_at": datetime.now(),
           "finished_at": datetime.now(), "synced_to": outcome.synced_to,
           "movements_new": outcome.movements_new,
           "movements_rejected": int(read.rejected.get("stock_movements", 0)),
           "series_changed": len(outcome.changes), "alerts_raised": len(outcome.raised),
           "alerts_closed": len(outcome.closed), "lines_released": len(outcome.released),
           "customers_told": int(updates.notices["customer_id"].nunique()) if len(updates.notices) else 0,
           "recommendations_changed": len(outcome.recommendations), "seconds": None}

    def record() -> None:  # inside the publish transaction, before the snapshot
        wh.record_sync(row, new_ids, read.files, outcome.raised, outcome.closed)
        alerts = wh.stock_alerts()
        files.append(export.write_csv(alerts, exports_dir / "stock_alerts.csv", full_precision=True))

    def complete() -> None:  # inside the transaction: every file written, then the folder
        files.extend(writing.result())
        staging.complete(settings.out_dir, folder)

    try:
        kept = wh.publish_run(sync_id, folder / "snapshot", notices=updates.told,
                              etas=backorders.eta_history_rows(in_use, sync_id, day),
                              messages=(updates.sent.messages, updates.sent.lines),
                              before_snapshot=record, reuse_snapshot=settings.snapshot_dir,
                              before_commit=complete)
    finally:
        pool.shutdown(wait=True)
    outcome.paths = [settings.out_dir / p.parent.name / p.name for p in files]
    return kept


def _write_files(tables: dict[str, pd.DataFrame], settings: RunSettings, exports_dir: Path,
                 updates, changes: pd.DataFrame) -> list[Path]:
    """The sync's export files: the replaced tables' CSVs and the workbook, the notices and
    messages, and ``stock_sync.csv``."""
    files = pipeline.write_export_files(tables, settings, exports_dir, updates.notices,
                                        updates.sent.messages, names=REPLACED)
    files.append(export.write_csv(changes, exports_dir / "stock_sync.csv", full_precision=True))
    return files


def _post_alerts(settings: RunSettings, outcome: SyncResult) -> list[str]:
    """Post the sync's new alerts to the webhook; a failure is a warning (the sync is published)."""
    if not settings.alert_webhook or outcome.raised.empty:
        return []
    from forecast.publish.digest import post_webhook

    payload = {"kind": "stock_sync", "sync_id": outcome.sync_id,
               "synced_to": outcome.synced_to, "alerts": outcome.raised[
                   ["sku", "location", "kind", "severity", "opened_at", "level", "threshold",
                    "message"]].to_dict(orient="records")}
    try:
        post_webhook(settings.alert_webhook, payload)
    except OSError as exc:
        return [f"alert webhook {settings.alert_webhook} failed: {exc}"]
    return []
