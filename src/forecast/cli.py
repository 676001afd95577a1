"""The ``forecast`` command: thin calls into the library with progress and readable output."""

from __future__ import annotations

import os

# scikit-learn's OpenMP threads spin while waiting; on a shared 2-core machine that made the
# gradient-boosting fit 4-5x slower. Sleeping waiters fix it (an explicit setting still wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from datetime import datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from forecast import pipeline
from forecast.config import DEFAULT_OUT_DIR, DEMO_DATA_DIR, RunSettings
from forecast.ingest.contract import ContractError
from forecast.ingest.warehouse import Warehouse, WarehouseLockedError
from forecast.pipeline import PipelineBusyError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()

DataOpt = Annotated[Path, typer.Option("--data", help="folder with the input tables")]
OutOpt = Annotated[Path, typer.Option("--out", help="output folder (warehouse, exports, snapshot)")]
AsOfOpt = Annotated[
    datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="ignore history after this date")
]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="forecast periods (days/weeks/months)")]
ModelsOpt = Annotated[
    str | None,
    typer.Option("--models", help="comma-separated candidates, e.g. ets,theta,tsb,gbm (default: all but prophet)"),
]
ProphetOpt = Annotated[int, typer.Option("--prophet-series", help="fit Prophet on the top-N sellers (slow)")]


def _models(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    from forecast.forecasting.engine import KNOWN_MODELS

    names = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [n for n in names if n not in KNOWN_MODELS]
    if unknown:
        _fail(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(KNOWN_MODELS)}")
    return names


def _run(settings: RunSettings, wait: bool = False) -> pipeline.RunSummary:
    labels = {
        "ingest": "Loading and validating input files",
        "forecast": "Forecasting every series",
        "plan": "Computing stock policies and reorder recommendations",
        "simulate": "Simulating backorder risk and allocating stock",
        "publish": "Publishing the plan, exports and the analysts' snapshot",
        "deliver": "Summarising the run for planners",
    }
    steps = ["ingest", *pipeline.STEPS]
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        task = progress.add_task("starting", total=len(steps))
        seen: list[str] = []

        def advance(step: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(step)
            progress.update(task, description=labels[step])

        summary = pipeline.run_pipeline(settings, progress=advance, wait=wait)
        progress.advance(task)
        progress.update(task, description="Done")
    return summary


def _report(summary: pipeline.RunSummary, settings: RunSettings) -> None:
    table = Table(title=f"Run {summary.run_id} (as of {summary.as_of})", show_lines=False)
    table.add_column("table")
    table.add_column("loaded", justify="right")
    table.add_column("rejected", justify="right")
    for r in summary.ingest.results:
        table.add_row(r.table, f"{r.loaded:,}", f"{r.rejected:,}")
    console.print(table)
    fc, plan, sim = (summary.steps[k] for k in ("forecast", "plan", "simulate"))
    console.print(
        f"Forecast: {fc['series']:,} series x {fc['horizon']} periods ({fc['frequency']}). "
        f"Plan: {plan['recommendations']:,} orders to place ({plan['urgent']:,} urgent), "
        f"{plan['alerts']:,} alerts. Risk: {sim['at_risk']:,} series more likely than not to stock "
        f"out in {settings.simulation_days} days."
    )
    if plan.get("flash_sales") or plan.get("preorder_series") or plan.get("dropship_skus"):
        console.print(
            f"Sales models: {plan['flash_sales']:,} flash sales ({plan['flash_sales_overcommitted']:,} "
            f"set aside more than can be promised), {plan['first_purchases']:,} pre-order first "
            f"purchases ({plan['first_purchase_units']:,.0f} units), {plan['dropship_skus']:,} dropship "
            "SKUs without a stock policy (`forecast flash-sales` for details)."
        )
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in summary.seconds.items())
    console.print(f"Step times: {steps}")
    console.print(f"Warehouse: [bold]{settings.warehouse_path}[/bold]")
    console.print(f"Exports:   [bold]{settings.exports_dir}[/bold]")
    for path in summary.exports:
        if path.parent == settings.exports_dir:
            console.print(f"  - {path.name}")
    console.print(f"Snapshot for notebooks: {settings.snapshot_dir}")
    report = next((p for p in summary.exports if p.suffix == ".html"), None)
    if report is not None:
        console.print(f"Report:    [bold]{report}[/bold]  (open it in a browser)")


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def run(
    data: DataOpt,
    out: OutOpt = DEFAULT_OUT_DIR,
    as_of: AsOfOpt = None,
    horizon: HorizonOpt = 28,
    seed: Annotated[int, typer.Option(help="random seed of the simulation")] = 0,
    paths: Annotated[int, typer.Option(help="Monte Carlo paths per series")] = 500,
    models: ModelsOpt = None,
    prophet_series: ProphetOpt = 0,
    wait: Annotated[bool, typer.Option("--wait", help="wait for a run already writing to OUT")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="fit again even if inputs are unchanged")] = False,
    runner: Annotated[str, typer.Option(help="local, or a Prefect task runner: threads, processes, dask")] = "local",
    address: Annotated[str | None, typer.Option(help="Dask scheduler address (with --runner dask)")] = None,
    chunk_size: Annotated[int, typer.Option(help="series per parallel chunk (0 = one chunk)")] = 0,
    webhook: Annotated[str | None, typer.Option(help="URL that receives the run digest (JSON POST)")] = None,
) -> None:
    """Run the nightly pipeline on a data folder: load, forecast, plan, simulate, export."""
    if runner != "local":
        from pipelines.nightly import run_nightly

        result = run_nightly(
            runner, address, data_dir=data, out_dir=out, as_of=as_of.date() if as_of else None,
            horizon=horizon, n_paths=paths, seed=seed, chunk_size=chunk_size or 500,
            models=list(_models(models) or []) or None, alert_webhook=webhook,
        )
        console.print(result)
        return
    settings = RunSettings(
        data_dir=data, out_dir=out, as_of=as_of.date() if as_of else None,
        horizon=horizon, seed=seed, n_paths=paths, models=_models(models),
        prophet_series=prophet_series, use_cache=not no_cache, chunk_size=chunk_size,
        alert_webhook=webhook,
    )
    try:
        summary = _run(settings, wait)
    except (ContractError, WarehouseLockedError, PipelineBusyError, ValueError) as exc:
        _fail(str(exc))
    _report(summary, settings)


@app.command()
def demo(
    out: OutOpt = DEFAULT_OUT_DIR,
    data: Annotated[Path, typer.Option("--data", help="where to write the demo data")] = DEMO_DATA_DIR,
    seed: Annotated[int, typer.Option(help="seed of the demo data")] = 42,
    skus: Annotated[int, typer.Option(help="number of SKUs")] = 200,
    journey_days: Annotated[int, typer.Option(
        "--journey-days", help="first plan as of this many days before the end, so the waiting "
        "customers' messages show that stretch of their journey (0: one run)")] = 7,
) -> None:
    """Generate the demo data (deterministic) and run the nightly pipeline on it: first as of
    ``--journey-days`` before the end of the history, then as of its end."""
    from datetime import date, timedelta

    from forecast.demo import generate_demo

    with console.status("Generating demo data"):
        info = generate_demo(data, seed=seed, n_skus=skus)
    console.print(f"Demo data in [bold]{data}[/bold] (history to {info.get('as_of')})")
    settings = RunSettings(data_dir=data, out_dir=out, horizon=28)
    try:
        if journey_days > 0:
            earlier = date.fromisoformat(str(info["as_of"])) - timedelta(days=journey_days)
            console.print(f"Planning as of {earlier} first (the customers' journey), then as of "
                          f"{info['as_of']}")
            _run(settings.model_copy(update={"as_of": earlier}))
        summary = _run(settings)
    except (ContractError, WarehouseLockedError, PipelineBusyError, ValueError) as exc:
        _fail(str(exc))
    _report(summary, settings)


@app.command()
def backtest(
    data: DataOpt,
    out: OutOpt = DEFAULT_OUT_DIR,
    horizon: HorizonOpt = 28,
    folds: Annotated[int, typer.Option("--folds", help="outer rolling-origin folds")] = 3,
    models: ModelsOpt = None,
    as_of: AsOfOpt = None,
    prophet_series: ProphetOpt = 0,
) -> None:
    """Rolling-origin backtest of every model and of the automatic choice."""
    settings = RunSettings(
        data_dir=data, out_dir=out, horizon=horizon, as_of=as_of.date() if as_of else None,
        models=_models(models), prophet_series=prophet_series,
    )
    run_id = pipeline.new_run_id()
    try:
        with console.status("Loading data"):
            pipeline.ingest(settings, run_id)
        with console.status("Backtesting") as status:
            summary = pipeline.backtest_step(settings, run_id, folds, progress=lambda m: status.update(m))
    except (ContractError, WarehouseLockedError, PipelineBusyError, ValueError) as exc:
        _fail(str(exc))
    table = Table(title=f"Backtest: {folds} folds x {horizon} periods")
    columns = [c for c in summary.columns if c != "model"]
    table.add_column("model")
    for c in columns:
        table.add_column(c, justify="right")
    for row in summary.itertuples(index=False):
        table.add_row(row.model, *(f"{getattr(row, c):.4f}" for c in columns))
    console.print(table)
    console.print(f"Per series and fold: {settings.exports_dir / 'backtest_series.csv'}; "
                  f"summary: {settings.exports_dir / 'backtest_summary.csv'} (and the warehouse)")


@app.command()
def simulate(
    out: OutOpt = DEFAULT_OUT_DIR,
    policy: Annotated[str, typer.Option(help="allocation policy: fifo, priority, fair or retention")] = "priority",
    compare: Annotated[bool, typer.Option("--compare", help="all policies side by side")] = False,
) -> None:
    """Allocation of scarce stock to waiting customers under a policy (or all, side by side):
    service by segment, delays, revenue at risk, expected revenue lost to cancellations; and
    the SKUs most at risk of a backorder."""
    from forecast.backorders.allocation import POLICIES

    if policy not in POLICIES:
        _fail(f"--policy must be one of {', '.join(POLICIES)}")
    try:
        summary, risk, curve = pipeline.allocation_summary(
            Path(out) / "snapshot", POLICIES if compare else (policy,))
    except FileNotFoundError as exc:
        _fail(str(exc))
    table = Table(title="Waiting order lines by policy and segment",
                  caption="cancel_loss: expected revenue lost to cancellations before the ETAs")
    columns = ["policy", "segment", "lines", "on_time", "mean_delay", "p90_delay", "no_supply",
               "units_short_now", "revenue_at_risk", "cancel_loss"]
    for c in columns:
        table.add_column(c, justify="left" if c in ("policy", "segment") else "right")
    for r in summary.itertuples(index=False):
        table.add_row(r.policy, r.segment, f"{r.lines:,}", f"{r.on_time:.0%}", f"{r.mean_delay:.1f}",
                      f"{r.p90_delay:.1f}", f"{r.no_supply:,}", f"{r.units_short_now:,.0f}",
                      f"{r.revenue_at_risk:,.0f}", f"{r.expected_revenue_lost:,.0f}")
    console.print(table)
    if len(curve):
        c = curve.iloc[0]
        console.print(
            f"Cancellation curve ({c['source']}): P(cancelled by d days late) = "
            f"{c['limit_share']:.2f} x (1 - exp(-(d / {c['scale_days']:.1f}) ^ {c['shape']:.2f})); "
            f"{c['note']}")
    if len(risk):
        console.print("Most at risk of a backorder in the simulation horizon:")
        console.print(risk.head(10).to_string(index=False))


@app.command()
def replay(
    data: DataOpt,
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="first planning date")],
    end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="last day played")],
    out: OutOpt = DEFAULT_OUT_DIR,
    every: Annotated[int, typer.Option(help="days between planning dates")] = 7,
    lead_time: Annotated[float, typer.Option(help="lead time (days) for products without one")] = 7.0,
) -> None:
    """Replan on a rolling schedule through a past period and play the actual demand against
    the orders: achieved fill rate, stockout days and stock, against a simple ERP rule."""
    with console.status("Replaying") as status:
        try:
            result = pipeline.replay_history(data, start.date(), end.date(), every, lead_time, Path(out),
                                             progress=lambda m: status.update(m))
        except (ContractError, ValueError) as exc:
            _fail(str(exc))
    console.print(result.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    console.print(f"Per SKU: {Path(out) / 'exports' / 'replay_per_sku.csv'}")


@app.command("what-if")
def what_if_cmd(
    sku: Annotated[list[str] | None, typer.Option("--sku", help="SKU to change (repeat for several)")] = None,
    out: OutOpt = DEFAULT_OUT_DIR,
    start: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="campaign/shock start")] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="campaign/shock end")] = None,
    discount: Annotated[float, typer.Option("--discount", help="campaign discount in %")] = 0.0,
    kind: Annotated[str, typer.Option("--kind", help="campaign kind")] = "price_promo",
    supplier: Annotated[
        str | None, typer.Option("--supplier", help="delay only this supplier (all its SKUs without --sku)")
    ] = None,
    delay_days: Annotated[
        float, typer.Option("--delay-days", "--supplier-delay", help="days added to lead times and open POs")
    ] = 0.0,
    shock: Annotated[float, typer.Option("--shock", help="demand change in % (instead of a campaign)")] = 0.0,
    horizon: HorizonOpt = 28,
    models: ModelsOpt = None,
    rows: Annotated[int, typer.Option("--rows", help="order lines to list")] = 30,
) -> None:
    """Add a planned campaign (or a supplier delay, or a demand shock) for SKUs and show the
    change in forecast, reorder point, recommended order and backorder risk, and the waiting
    customer lines whose date it moves. `--supplier NAME --delay-days N` delays one supplier."""
    from forecast.scenarios.whatif import Scenario, what_if

    skus = list(sku or [])
    if not skus and not supplier:
        _fail("give --sku (repeat for several) or --supplier")
    if supplier and not delay_days:
        _fail("--supplier needs --delay-days N (the days its deliveries are late)")
    campaign = None
    if start is not None and not shock:
        campaign = {"start": start.date(), "end": (end or start).date(), "kind": kind, "discount_pct": discount}
    scenario = Scenario(
        skus=skus, campaign=campaign, supplier_delay_days=delay_days,
        demand_shock_pct=shock, shock_start=start.date() if start and shock else None,
        shock_end=end.date() if end and shock else None, supplier=supplier,
    )
    if campaign is None and not delay_days and not shock:
        _fail("nothing to change: give --start/--end (campaign), --delay-days or --shock")
    try:
        with console.status("Forecasting, planning and simulating before and after"):
            result = what_if(Path(out) / "snapshot", scenario, horizon=horizon, models=_models(models))
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    title = "What-if: " + (f"supplier {supplier} {delay_days:+g} days" if supplier else ", ".join(skus))
    if delay_days:
        _print_skus_hit(result.skus_hit, title)
    else:
        table = Table(title=title)
        for col in ("sku", "location", "metric", "before", "after", "change"):
            table.add_column(col, justify="right" if col in ("before", "after", "change") else "left")
        for r in result.comparison.itertuples(index=False):
            table.add_row(r.sku, r.location, r.metric, *(f"{v:,.2f}" for v in (r.before, r.after, r.change)))
        console.print(table)
    _print_lines_hit(result.lines_hit, result.segments_hit, rows)
    for note in result.notes:
        console.print(note)


def _cell(value: object, fmt: str = "{:,.0f}") -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    return fmt.format(value) if not isinstance(value, str) else value


def _print_skus_hit(skus_hit, title: str) -> None:
    """Per SKU: lead time, stockout probability, first stockout date, units short and order:
    now -> with the change under the current plan (replanned in brackets)."""
    table = Table(title=title + ": SKUs, now -> with the change (replanned)")
    for col in ("sku@location", "lead time d", "P(stockout)", "first stockout p50", "units short",
                "order (by), replanned"):
        table.add_column(col, justify="left" if col == "sku@location" else "right")
    for r in skus_hit.itertuples(index=False):
        table.add_row(
            f"{r.sku}@{r.location}",
            f"{_cell(r.lead_time_days_before, '{:.1f}')} -> {_cell(r.lead_time_days_after, '{:.1f}')}",
            f"{_cell(r.stockout_probability_before, '{:.0%}')} -> "
            f"{_cell(r.stockout_probability_unchanged, '{:.0%}')} "
            f"({_cell(r.stockout_probability_after, '{:.0%}')})",
            f"{_cell(r.first_stockout_p50_before, '{}')} -> {_cell(r.first_stockout_p50_unchanged, '{}')}",
            f"{_cell(r.expected_backorders_before, '{:,.1f}')} -> "
            f"{_cell(r.expected_backorders_unchanged, '{:,.1f}')} "
            f"({_cell(r.expected_backorders_after, '{:,.1f}')})",
            f"{_cell(r.recommended_order_before)} ({_cell(r.order_by_before, '{}')}) -> "
            f"{_cell(r.recommended_order_after)} ({_cell(r.order_by_after, '{}')})",
        )
    console.print(table)
    console.print("With the change: the current plan (reorder points, quantities) facing it; "
                  "replanned: the plan recomputed for it.")


def _print_lines_hit(lines_hit, segments_hit, rows: int) -> None:
    """Waiting customer lines whose ETA or status moves, and the count per segment."""
    if segments_hit is None or segments_hit.empty:
        console.print("No waiting customer lines for these SKUs.")
        return
    if not len(lines_hit):
        console.print("No waiting customer line changes its date (all served from stock, or their "
                      "supply does not move).")
    else:
        shown = min(rows, len(lines_hit))
        table = Table(title=f"Customer lines hit: {shown:,} of {len(lines_hit):,}, newly late first")
        for col in ("order", "customer", "segment", "sku@location", "qty", "promised", "ETA before",
                    "ETA after", "shift", "newly late"):
            table.add_column(col, justify="right" if col in ("qty", "shift") else "left")
        for r in lines_hit.head(rows).itertuples(index=False):
            table.add_row(
                str(r.order_id), str(r.customer_id), str(r.segment), f"{r.sku}@{r.location}",
                _cell(r.quantity), _cell(r.promised_date, "{}"),
                _cell(r.eta_before, "{}") if not _missing(r.eta_before) else str(r.status_before),
                _cell(r.eta_after, "{}") if not _missing(r.eta_after) else str(r.status_after),
                _cell(r.eta_shift_days, "{:+.0f} d"), "yes" if r.newly_late else "",
            )
        console.print(table)
    table = Table(title="Customer lines by segment")
    for col in ("segment", "open lines", "hit", "newly late", "late before", "late after",
                "mean shift"):
        table.add_column(col, justify="left" if col == "segment" else "right")
    for r in segments_hit.itertuples(index=False):
        table.add_row(str(r.segment), f"{r.lines:,}", f"{r.lines_hit:,}", f"{r.newly_late:,}",
                      f"{r.late_before:,}", f"{r.late_after:,}", _cell(r.mean_shift_days, "{:+.1f} d"))
    console.print(table)


def _missing(value: object) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


@app.command("suppliers")
def suppliers_cmd(
    out: OutOpt = DEFAULT_OUT_DIR,
    verdicts: Annotated[bool, typer.Option("--verdicts/--no-verdicts", help="print each verdict")] = True,
) -> None:
    """The supplier scorecard of the published plan: on-time rate, real lead times against the
    quoted ones, open and overdue purchase orders, dropship exposure and a verdict."""
    card = _read_table(out, "supplier_scorecard")
    if card.empty:
        console.print("no suppliers in the published plan (no products, suppliers, receipts or POs name one)")
        return
    table = Table(title=f"Supplier scorecard ({len(card):,} suppliers), worst first")
    for col in ("supplier", "POs", "on time", "late d", "lead d (p90)", "quoted", "open (overdue)",
                "rating"):
        table.add_column(col, justify="left" if col in ("supplier", "rating") else "right")
    severity = {"unreliable": 0, "slower_than_quoted": 1, "often_late": 2, "reliable": 3}
    card = card.assign(_order=card["rating"].map(severity).fillna(4)).sort_values(["_order", "supplier"])
    for r in card.itertuples(index=False):
        table.add_row(
            str(r.supplier), f"{r.purchase_orders:,}", _cell(r.on_time_rate, "{:.0%}"),
            _cell(r.mean_days_late, "{:.1f}"),
            f"{_cell(r.lead_time_mean, '{:.1f}')} ({_cell(r.lead_time_p90, '{:.0f}')})",
            _cell(r.quoted_lead_time_days, "{:g}"), f"{r.open_pos:,} ({r.overdue_pos:,})",
            str(r.rating).replace("_", " "),
        )
    console.print(table)
    if verdicts:
        for r in card.itertuples(index=False):
            console.print(f"[bold]{r.supplier}[/bold]: {r.verdict}")


@app.command()
def serve(
    data: DataOpt,
    out: OutOpt = DEFAULT_OUT_DIR,
    at: Annotated[str, typer.Option("--at", help="nightly run time HH:MM")] = "02:00",
    timezone: Annotated[str, typer.Option("--timezone", help="IANA timezone of the schedules")] = "UTC",
    weekly: Annotated[str, typer.Option("--weekly", help="cron of the weekly model re-selection")] = "0 3 * * 0",
    horizon: HorizonOpt = 28,
) -> None:
    """Serve the nightly plan and the weekly model re-selection on this machine (Prefect)."""
    from pipelines.serve import serve_schedules

    try:
        hour, minute = (int(x) for x in at.split(":"))
    except ValueError:
        _fail(f"--at must be HH:MM, got {at!r}")
    console.print(f"Serving: nightly at {at} {timezone}, re-selection '{weekly}' {timezone}. Ctrl-C stops.")
    serve_schedules(data, out, nightly_cron=f"{minute} {hour} * * *", weekly_cron=weekly,
                    timezone=timezone, horizon=horizon)


@app.command()
def ingest(data: DataOpt, out: OutOpt = DEFAULT_OUT_DIR) -> None:
    """Load and validate a data folder into the warehouse (idempotent)."""
    settings = RunSettings(data_dir=data, out_dir=out)
    try:
        summary = pipeline.ingest(settings, pipeline.new_run_id())
    except (ContractError, WarehouseLockedError) as exc:
        _fail(str(exc))
    for r in summary.results:
        extra = f" (ignored columns: {', '.join(r.ignored_columns)})" if r.ignored_columns else ""
        console.print(f"{r.table:16} {r.loaded:>10,} loaded {r.rejected:>8,} rejected  {r.file}{extra}")


@app.command()
def rejects(
    out: OutOpt = DEFAULT_OUT_DIR,
    table: Annotated[str | None, typer.Option(help="only this table")] = None,
    limit: int = 50,
) -> None:
    """List rejected input rows with file, line, column and reason."""
    frame = _read_table(out, "rejects")
    if table and len(frame):
        frame = frame[frame["table_name"] == table]
    frame = frame.drop(columns=["run_id"], errors="ignore")
    console.print(frame.head(limit).to_string(index=False) if len(frame) else "no rejected rows")
    if len(frame) > limit:
        console.print(f"... {len(frame) - limit:,} more")


@app.command()
def runs(out: OutOpt = DEFAULT_OUT_DIR, limit: int = 20) -> None:
    """List recent pipeline runs."""
    frame = _read_table(out, "runs")
    if len(frame):
        frame = frame.sort_values("started_at", ascending=False).head(limit)
    cols = ["run_id", "status", "started_at", "finished_at", "as_of", "frequency", "error"]
    console.print(frame[cols].to_string(index=False) if len(frame) else "no runs yet")


@app.command("backorders")
def backorders_cmd(
    out: OutOpt = DEFAULT_OUT_DIR,
    sku: Annotated[list[str] | None, typer.Option("--sku", help="only this SKU (repeat for several)")] = None,
    customer: Annotated[list[str] | None, typer.Option("--customer", help="only this customer (repeatable)")] = None,
    segment: Annotated[list[str] | None, typer.Option("--segment", help="only this segment (repeatable)")] = None,
    late_only: Annotated[bool, typer.Option("--late-only", help="only lines after their promise or without supply")] = False,
    limit: Annotated[int, typer.Option(help="rows to print")] = 50,
) -> None:
    """The backorder book: every waiting order line with its status, days waiting, ETA and its
    change since the last run, delay, cancellation risk and what the customer was last told."""
    from forecast.backorders.book import book_summary, filter_book

    book = filter_book(_read_table(out, "backorders"), sku, customer, segment, late_only)
    if book.empty:
        console.print("no waiting order lines" + (" match" if sku or customer or segment or late_only else ""))
        return
    table = Table(title="Backorder book (policy " + str(book["policy"].iloc[0]) + ")")
    for c in ("order", "customer", "segment", "sku", "location", "status", "now/qty", "waiting",
              "promised", "eta", "previous eta", "change", "days late", "P(cancel)", "exp. lost",
              "last told"):
        right = c in ("now/qty", "waiting", "change", "days late", "P(cancel)", "exp. lost")
        table.add_column(c, justify="right" if right else "left")

    def day(value: object) -> str:
        return "-" if value is None or pd.isna(value) else str(pd.Timestamp(value).date())

    def num(value: object, fmt: str) -> str:
        return "-" if value is None or pd.isna(value) else format(float(value), fmt)

    for r in book.head(limit).itertuples(index=False):
        told = "-" if pd.isna(r.last_told_at) else f"{day(r.last_told_at)} {r.last_told_kind}"
        if pd.notna(getattr(r, "cancel_offered_on", None)):
            told += f"; cancellation offered on {day(r.cancel_offered_on)}"
        table.add_row(
            str(r.order_id), str(r.customer_id), str(r.segment), str(r.sku), str(r.location),
            str(r.status) + (f" ({r.supplier})" if r.status == "dropship" and pd.notna(r.supplier) else ""),
            f"{r.allocated_now:g}/{r.quantity:g}", f"{r.days_waiting:g}", day(r.promised_date),
            day(r.eta), day(r.previous_eta), num(r.eta_change_days, "+.0f"), num(r.delay_days, ".0f"),
            num(r.cancel_probability, ".0%"), num(r.expected_revenue_lost, ",.0f"), told,
        )
    console.print(table)
    stats = book_summary(book)
    console.print(
        f"{stats['lines']:,} lines ({stats['late']:,} late, {stats['no_supply']:,} without supply, "
        f"{stats['eta_changed']:,} with an ETA changed since the last run); expected revenue lost "
        f"to cancellations {stats['expected_revenue_lost']:,.0f}"
        + (f"; {len(book) - limit:,} more lines not shown" if len(book) > limit else "")
    )


@app.command("messages")
def messages_cmd(
    out: OutOpt = DEFAULT_OUT_DIR,
    customer: Annotated[list[str] | None, typer.Option("--customer", help="only this customer (repeatable)")] = None,
    moment: Annotated[list[str] | None, typer.Option("--moment", help="only this moment (repeatable)")] = None,
    full: Annotated[bool, typer.Option("--full", help="print each message's text and SMS")] = False,
    limit: Annotated[int, typer.Option(help="messages to print")] = 50,
) -> None:
    """Messages sent to waiting customers, newest first: moment (and the moments merged into
    it), language, channel, subject and the cancellation offers."""
    from forecast.backorders.messages import MOMENTS, filter_messages

    history = _read_table(out, "customer_messages")
    try:
        shown = filter_messages(history, customer, moment)
    except ValueError as exc:
        _fail(str(exc))
    if shown.empty:
        console.print("no customer messages" + (" match" if customer or moment else ""))
        return
    shown = shown.sort_values(["day", "customer_id"], ascending=[False, True])
    table = Table(title=f"Customer messages ({len(shown):,})")
    for c in ("day", "customer", "moment", "lang", "channel", "orders", "cancel", "subject"):
        table.add_column(c, no_wrap=c not in ("subject", "orders", "moment"))
    for r in shown.head(limit).itertuples(index=False):
        also = f" (+{r.moments.replace(',', ', ')})" if isinstance(r.moments, str) and r.moments else ""
        offered = "offered" if isinstance(r.cancel_url, str) and r.cancel_url else ""
        table.add_row(str(pd.Timestamp(r.day).date()), str(r.customer_id), str(r.moment) + also,
                      str(r.language), str(r.channel), str(r.order_id).replace(";", " "), offered,
                      str(r.subject))
    console.print(table)
    if full:
        for r in shown.head(limit).itertuples(index=False):
            console.print(f"[bold]{r.message_id}[/bold] ({r.language}, {r.channel})")
            console.print(f"{r.subject}\n\n{r.text}\n\nSMS: {r.sms_text}\n", markup=False,
                          highlight=False)
    counts = shown["moment"].value_counts()
    merged = shown["moments"].fillna("").astype(str).str.split(",").explode().value_counts()
    languages = shown["language"].value_counts()
    runs = _read_table(out, "runs")
    done = runs[runs["status"] == "succeeded"].sort_values("started_at") if len(runs) else runs
    latest = done["run_id"].iloc[-1] if len(done) else None
    console.print(
        "by moment: " + ", ".join(
            f"{m} {int(counts.get(m, 0)):,}" + (f" (+{int(merged[m]):,} merged)" if m in merged else "")
            for m in MOMENTS)
        + "; by language: " + ", ".join(f"{k} {v:,}" for k, v in languages.items())
        + f"; {int(shown['cancel_url'].notna().sum()):,} with a cancellation offer; "
        + f"{int((shown['created_for_run'] == latest).sum()):,} sent by the latest run ({latest})"
        + (f"; {len(shown) - limit:,} more not shown" if len(shown) > limit else "")
    )


@app.command("flash-sales")
def flash_sales_cmd(out: OutOpt = DEFAULT_OUT_DIR) -> None:
    """Flash sales of the published plan: the forecast (fcst) capped by the stock set aside, the
    chance it sells out, and the largest quantity each can promise without backordering other
    orders (ATP: with the recommended orders; ATP POs: stock and open POs only); then the
    pre-order first purchases and the dropship SKUs (no stock policy)."""
    from forecast.planning.sales_models import dropship_skus, first_purchases

    flash = _read_table(out, "flash_sales")
    if flash.empty:
        console.print("no flash sales planned (campaigns of kind flash_sale with a stock_quantity)")
    else:
        table = Table(title=f"Flash sales ({len(flash):,})")
        for c in ("sku", "location", "start", "days", "aside", "fcst", "capped", "P(out)", "ATP",
                  "ATP POs", "short"):
            table.add_column(c, justify="left" if c in ("sku", "location", "start") else "right")
        for r in flash.sort_values(["start_date", "sku", "location"]).itertuples(index=False):
            days = (pd.Timestamp(r.end_date) - pd.Timestamp(r.start_date)).days + 1
            table.add_row(
                str(r.sku), str(r.location), str(pd.Timestamp(r.start_date).date()), f"{days}",
                _cell(r.stock_quantity),
                _cell(r.forecast_uncapped, "{:,.1f}"), _cell(r.forecast_capped, "{:,.1f}"),
                _cell(r.sellout_probability, "{:.0%}"), _cell(r.max_promisable),
                _cell(r.max_promisable_confirmed), _cell(r.shortfall),
            )
        console.print(table)
        for r in flash.itertuples(index=False):
            console.print(f"[bold]{r.sku}@{r.location}[/bold] {pd.Timestamp(r.start_date).date()}: {r.verdict}")
    firsts = first_purchases(_read_table(out, "recommendations"))
    if len(firsts):
        console.print(f"Pre-order first purchases ({len(firsts):,}):")
        for r in firsts.itertuples(index=False):
            console.print(f"  [bold]{r.sku}@{r.location}[/bold]: {r.explanation}")
    dropship = dropship_skus(_read_table(out, "products"))
    if len(dropship):
        console.print(f"Dropship SKUs, shipped by the supplier (no stock policy or order): "
                      f"{', '.join(sorted(map(str, dropship)))}")


@app.command("export")
def export_cmd(
    out: OutOpt = DEFAULT_OUT_DIR,
    format: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
) -> None:
    """Write the purchasing exports of the latest plan again."""
    from forecast.publish import exports as export

    recs = _read_table(out, "recommendations")
    target = Path(out) / "exports"
    if format == "xlsx":
        path = export.write_purchasing_workbook(recs, target / "reorder_recommendations.xlsx")
    elif format == "csv":
        path = export.write_csv_exports({"recommendations": recs}, target)[0]
    else:
        _fail("--format must be csv or xlsx")
    console.print(f"{len(recs):,} lines -> {path}")


def _read_table(out: Path, name: str):
    """A table for a read command: from the warehouse when no run holds it (the freshest), else
    from the published snapshot, so read commands never wait for a running pipeline."""
    from forecast.ingest.published import read_snapshot_table
    from forecast.ingest.warehouse import OUTPUT_TABLES

    path = Path(out) / "warehouse.duckdb"
    if not path.exists():
        _fail(f"{path}: no warehouse yet; run `forecast demo` or `forecast run` first")
    try:
        with Warehouse(path, read_only=True) as wh:
            return wh.output(name) if name in OUTPUT_TABLES else wh.table(name)
    except WarehouseLockedError:
        console.print("[yellow]a run is writing the warehouse: showing the published snapshot[/yellow]")
        return read_snapshot_table(Path(out) / "snapshot", name)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

