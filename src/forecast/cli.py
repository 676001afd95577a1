"""The ``forecast`` command: thin calls into the library with progress and readable output.

Size: one function per command, each a thin caller of the library; splitting the command
set across modules would hide which commands exist. Tables a command prints beyond one
``render`` call live with the library's tables (``forecast.publish.whatif_tables``).
"""

from __future__ import annotations

import os

# scikit-learn's OpenMP threads spin while waiting; on a shared 2-core machine that made the
# gradient-boosting fit 4-5x slower. Sleeping waiters fix it (an explicit setting still wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from forecast.cli_config import config_app

if TYPE_CHECKING:  # heavy modules load inside the commands that need them: `--help` stays fast
    from forecast import pipeline
    from forecast.config import LoadedSettings, RunSettings

#: forecast.config.DEFAULT_OUT_DIR, not imported here: pydantic alone costs --help 0.25 s
#: (tests/test_cli_tables.py checks that the two agree).
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[2] / "data" / "out"

#: Errors an operator causes and can fix (bad input, a busy or unwritable output folder, an
#: option out of range): one line, no traceback. FORECAST_DEBUG=1 shows the traceback.
def operator_message(exc: BaseException) -> str:
    """The one line shown for an operator error."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "a setting"
        return f"{option} {first.get('input')!r}: {first['msg'][0].lower()}{first['msg'][1:]}"
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        return f"{exc.filename}: not a folder (a file is in the way)"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {(exc.strerror or str(exc)).lower()}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class _OperatorErrors(typer.core.TyperGroup):
    """Every command: an operator error ends in one red line and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not isinstance(exc, _operator_errors()) or os.environ.get("FORECAST_DEBUG"):
                raise
            console.print(f"[red]error:[/red] {operator_message(exc)}", soft_wrap=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode="markdown",
    cls=_OperatorErrors,
)
app.add_typer(config_app, name="config")
console = Console()

DataOpt = Annotated[Path, typer.Option("--data", help="folder with the input tables")]
OutOpt = Annotated[Path, typer.Option("--out", help="output folder (warehouse, exports, snapshot)")]
MaybeData = Annotated[
    Path | None, typer.Option("--data", help="folder with the input tables (default: data_dir of the settings file)")
]
MaybeOut = Annotated[Path | None, typer.Option("--out", help="output folder (default: out_dir of the settings)")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="settings file (TOML); default: DATA/forecast.toml, else ./forecast.toml"),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="one setting KEY=VALUE (a TOML value, e.g. policy=\"sS\"); repeatable"),
]
FormatOpt = Annotated[str, typer.Option("--format", help="table, csv or json")]
AsOfOpt = Annotated[
    datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="ignore history after this date")
]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="forecast periods (days/weeks/months), 1..730")]
MaybeHorizon = Annotated[int | None, typer.Option("--horizon", help="forecast periods (days/weeks/months), 1..730")]
ModelsOpt = Annotated[
    str | None,
    typer.Option("--models", help="comma-separated candidates, e.g. ets,theta,tsb,gbm (default: all but prophet)"),
]
ProphetOpt = Annotated[int, typer.Option("--prophet-series", help="fit Prophet on the top-N sellers (slow)")]
MaybeProphet = Annotated[int | None, typer.Option("--prophet-series", help="fit Prophet on the top-N sellers (slow)")]


def _operator_errors() -> tuple[type[Exception], ...]:
    """Errors a planner can act on: printed as one line, not a traceback."""
    from pydantic import ValidationError

    from forecast.config import SettingsError
    from forecast.ingest.contract import ContractError
    from forecast.ingest.warehouse import WarehouseLockedError
    from forecast.pipeline import OutputFolderError, PipelineBusyError

    return (ContractError, WarehouseLockedError, PipelineBusyError, OutputFolderError,
            SettingsError, ValidationError, OSError, ValueError)


def _models(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    _check_models(names, "--models")
    return names


def _check_models(names: tuple[str, ...] | None, source: str) -> None:
    if not names:
        return
    from forecast.forecasting.engine import KNOWN_MODELS

    unknown = [n for n in names if n not in KNOWN_MODELS]
    if unknown:
        _fail(f"{source}: models = {list(names)} is not allowed: unknown {', '.join(unknown)}; "
              f"choose from {', '.join(KNOWN_MODELS)}")


def _parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs; VALUE is read as TOML (0.99, "sS", { A = 0.99, ... }), else text."""
    import tomllib

    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--set {pair!r}: give KEY=VALUE, e.g. --set service_kind=\"cycle\"")
        try:
            values[key.strip()] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            values[key.strip()] = text.strip()
    return values


def _load(config: Path | None, options: dict[str, Any], sets: list[str] | None = None,
          need_data: bool = False) -> LoadedSettings:
    """The effective settings: defaults < settings file < command line, or a one-line error."""
    from forecast.config import RunSettings as Fields
    from forecast.config import SettingsError, load_settings

    extra = _parse_sets(sets)
    unknown = [k for k in extra if k not in Fields.model_fields or k == "config_file"]
    if unknown:
        _fail(f"--set {unknown[0]}: unknown setting; see `forecast config show` for the keys")
    try:
        given = {k: v for k, v in options.items() if v is not None}
        loaded = load_settings(config, options.get("data_dir"), {**extra, **given})
    except SettingsError as exc:
        _fail(str(exc))
    if need_data and loaded.sources["data_dir"] == "default":
        _fail("give --data DIR, or data_dir in a settings file (forecast config init)")
    _check_models(loaded.settings.models, loaded.sources.get("models", "settings"))
    return loaded


def _run(settings: RunSettings, wait: bool = False) -> pipeline.RunSummary:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from forecast import pipeline

    labels = {
        "ingest": "Loading and validating input files",
        "forecast": "Forecasting every series",
        "plan": "Computing stock policies and reorder recommendations",
        "simulate": "Simulating backorder risk and allocating stock",
        "publish": "Publishing the plan, exports and the analysts' snapshot",
        "deliver": "Summarising the run for planners",
    }
    steps = ["ingest", *pipeline.STEPS]
    # The output folder and its lock first: an unusable or busy folder is one line, no bar.
    with pipeline.run_lock(settings.out_dir, wait), Progress(
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

        summary = pipeline.run_pipeline(settings, progress=advance, lock=False)
        progress.advance(task)
        progress.update(task, description="Done")
    return summary


def _report(summary: pipeline.RunSummary, settings: RunSettings) -> None:
    import pandas as pd

    from forecast.publish.tables import Col, render

    loaded = pd.DataFrame([{"table": r.table, "loaded": r.loaded, "rejected": r.rejected}
                           for r in summary.ingest.results])
    render(loaded, [Col("table", kind="key"), Col("loaded", kind="int"), Col("rejected", kind="int")],
           title=f"Run {summary.run_id} (as of {summary.as_of})", console=console)
    for message in summary.ingest.warnings:
        console.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)
    fc, plan, sim = (summary.steps[k] for k in ("forecast", "plan", "simulate"))
    console.print(
        f"Forecast: {fc['series']:,} series x {fc['horizon']} periods ({fc['frequency']}; "
        f"{fc.get('preorder_series', 0):,} pre-order series forecast before launch, "
        f"{fc.get('dropship_series', 0):,} dropship series forecast only: no stock policy, so "
        f"{fc.get('stocked_series', fc['series']):,} planned"
        f"{'' if sim.get('stock_unknown') else ' and simulated'}). "
        f"Plan: {plan['recommendations']:,} orders to place ({plan['urgent']:,} urgent), "
        f"{plan['alerts']:,} alerts. Risk: {sim['at_risk']:,} of {sim.get('simulated', sim['series']):,} "
        "simulated series at risk (fill rate 5+ points under plan, or out before the next receipt); "
        f"{sim['stockout_likely']:,} more likely than not to stock out at some point in "
        f"{settings.simulation_days} days."
    )
    if sim.get("stock_unknown"):
        console.print(
            f"[yellow]Not simulated:[/yellow] {sim['stock_unknown']:,} series have no stock record "
            "(no inventory row and no on_hand in sales): no risk, no orders and no alerts for them.",
            soft_wrap=True)
    if plan.get("overrides"):
        console.print(f"Planner overrides applied: {plan['overrides']:,} (expired and ignored: "
                      f"{plan.get('overrides_expired', 0):,}); see the `override` column of policies.csv")
    if plan.get("flash_sales") or plan.get("preorder_series") or plan.get("dropship_skus"):
        console.print(
            f"Sales models: {plan['flash_sales']:,} flash sales ({plan['flash_sales_overcommitted']:,} "
            f"set aside more than can be promised), {plan['first_purchases']:,} pre-order first "
            f"purchases ({plan['first_purchase_units']:,.0f} units), {plan['dropship_skus']:,} dropship "
            "SKUs without a stock policy (`forecast flash-sales` for details)."
        )
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in summary.seconds.items())
    console.print(f"Step times: {steps}")
    if settings.config_file:
        console.print(f"Settings:  [bold]{settings.config_file}[/bold]")
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
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)


def _run_and_report(settings: RunSettings, wait: bool = False) -> None:
    try:
        summary = _run(settings, wait)
    except _operator_errors() as exc:
        _fail(str(exc))
    _report(summary, settings)


@app.command()
def run(
    data: MaybeData = None,
    out: MaybeOut = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    horizon: MaybeHorizon = None,
    seed: Annotated[int | None, typer.Option(help="random seed of the simulation")] = None,
    paths: Annotated[int | None, typer.Option(help="Monte Carlo paths per series")] = None,
    models: ModelsOpt = None,
    prophet_series: MaybeProphet = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait for a run already writing to OUT")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="fit again even if inputs are unchanged")] = False,
    runner: Annotated[str, typer.Option(help="local, or a Prefect task runner: threads, processes, dask")] = "local",
    address: Annotated[str | None, typer.Option(help="Dask scheduler address (with --runner dask)")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="series per parallel chunk (0 = one chunk)")] = None,
    webhook: Annotated[str | None, typer.Option(help="URL that receives the run digest (JSON POST)")] = None,
    set_: SetOpt = None,
) -> None:
    """Run the nightly pipeline on a data folder: load, forecast, plan, simulate, export.

    Settings come from the settings file (--config, else DATA/forecast.toml, else
    ./forecast.toml; `forecast config show`), overridden by these options and --set KEY=VALUE."""
    options = {
        "data_dir": data, "out_dir": out, "as_of": as_of.date() if as_of else None, "horizon": horizon,
        "seed": seed, "n_paths": paths, "models": _models(models), "prophet_series": prophet_series,
        "use_cache": False if no_cache else None, "chunk_size": chunk_size, "alert_webhook": webhook,
    }
    loaded = _load(config, options, set_, need_data=True)
    settings = loaded.settings
    if runner != "local":
        from pipelines.nightly import run_nightly

        given = {k: v for k, v in options.items() if v is not None and k in NIGHTLY_PARAMETERS}
        given["chunk_size"] = settings.chunk_size or 500
        result = run_nightly(runner, address, config_file=loaded.file, **{**given, "data_dir": settings.data_dir})
        console.print(result)
        return
    _run_and_report(settings, wait)


#: Options of `forecast run` that the nightly flow takes as parameters (the rest come from the
#: settings file it is given).
NIGHTLY_PARAMETERS = ("data_dir", "out_dir", "as_of", "horizon", "n_paths", "seed", "alert_webhook",
                      "chunk_size", "models")


@app.command()
def demo(
    out: MaybeOut = None,
    data: Annotated[Path | None, typer.Option("--data", help="where to write the demo data")] = None,
    config: ConfigOpt = None,
    seed: Annotated[int, typer.Option(help="seed of the demo data")] = 42,
    skus: Annotated[int, typer.Option(help="number of SKUs")] = 200,
    set_: SetOpt = None,
    journey_days: Annotated[int, typer.Option(
        "--journey-days", help="first plan as of this many days before the end, so the waiting "
        "customers' messages show that stretch of their journey (0: one run)")] = 7,
) -> None:
    """Generate the demo data (deterministic) and run the nightly pipeline on it (with the
    settings file, if there is one: --config, else ./forecast.toml): first as of
    ``--journey-days`` before the end of the history, then as of its end."""
    from datetime import date, timedelta

    from forecast.demo import generate_demo

    settings = _load(config, {"data_dir": data, "out_dir": out}, set_).settings
    with console.status("Generating demo data"):
        info = generate_demo(settings.data_dir, seed=seed, n_skus=skus)
    console.print(f"Demo data in [bold]{settings.data_dir}[/bold] (history to {info.get('as_of')})")
    if journey_days > 0:
        earlier = date.fromisoformat(str(info["as_of"])) - timedelta(days=journey_days)
        console.print(f"Planning as of {earlier} first (the customers' journey), then as of "
                      f"{info['as_of']}")
        try:
            _run(settings.model_copy(update={"as_of": earlier}))
        except _operator_errors() as exc:
            _fail(str(exc))
    _run_and_report(settings)


@app.command()
def backtest(
    data: DataOpt,
    out: OutOpt = DEFAULT_OUT_DIR,
    horizon: HorizonOpt = 28,
    folds: Annotated[int, typer.Option("--folds", help="outer rolling-origin folds")] = 3,
    models: ModelsOpt = None,
    as_of: AsOfOpt = None,
    prophet_series: ProphetOpt = 0,
    format: FormatOpt = "table",
) -> None:
    """Rolling-origin backtest of every model and of the automatic choice."""
    from forecast import pipeline
    from forecast.config import RunSettings
    from forecast.publish.tables import auto_columns, render

    settings = RunSettings(
        data_dir=data, out_dir=out, horizon=horizon, as_of=as_of.date() if as_of else None,
        models=_models(models), prophet_series=prophet_series,
    )
    run_id = pipeline.new_run_id()
    try:
        with console.status("Backtesting") as status:
            summary = pipeline.backtest_step(settings, run_id, folds, progress=lambda m: status.update(m),
                                             load=True)
    except _operator_errors() as exc:
        _fail(str(exc))
    render(summary, auto_columns(summary, 4), format, title=f"Backtest: {folds} folds x {horizon} periods")
    if format == "table":
        console.print(f"Per series and fold: {settings.exports_dir / 'backtest_series.csv'}; "
                      f"summary: {settings.exports_dir / 'backtest_summary.csv'} (and the warehouse)")


@app.command()
def simulate(
    out: OutOpt = DEFAULT_OUT_DIR,
    policy: Annotated[str, typer.Option(help="allocation policy: fifo, priority, fair or retention")] = "priority",
    compare: Annotated[bool, typer.Option("--compare", help="all policies side by side")] = False,
    format: FormatOpt = "table",
) -> None:
    """Allocation of scarce stock to waiting customers under a policy (or all, side by side):
    service by segment, delays, revenue at risk, expected revenue lost to cancellations; and
    the SKUs most at risk of a backorder."""
    from forecast import pipeline
    from forecast.backorders.allocation import POLICIES
    from forecast.publish.tables import Col, render, with_sku_at

    if policy not in POLICIES:
        _fail(f"--policy must be one of {', '.join(POLICIES)}")
    try:
        summary, risk, curve = pipeline.allocation_summary(
            Path(out) / "snapshot", POLICIES if compare else (policy,))
    except FileNotFoundError as exc:
        _fail(str(exc))
    columns = [Col("policy", kind="key"), Col("segment", kind="key"), Col("lines", kind="int"),
               Col("on_time", "on time", "pct"), Col("mean_delay", "mean delay", "num", 1),
               Col("p90_delay", "p90 delay", "num", 1, priority=3), Col("no_supply", "no supply", "int", priority=2),
               Col("units_short_now", "short now", "int", priority=4),
               Col("revenue_at_risk", "at risk", "num", 0, priority=1),
               Col("expected_revenue_lost", "cancel loss", "num", 0)]
    if format != "table":
        render(summary, columns, format)
        return
    render(summary, columns, title="Waiting order lines by policy and segment", console=console,
           caption="cancel loss: expected revenue lost to cancellations before the ETAs")
    if len(curve):
        c = curve.iloc[0]
        console.print(
            f"Cancellation curve ({c['source']}): P(cancelled by d days late) = "
            f"{c['limit_share']:.2f} x (1 - exp(-(d / {c['scale_days']:.1f}) ^ {c['shape']:.2f})); "
            f"{c['note']}")
    if len(risk):
        render(with_sku_at(risk.head(10)),
               [Col("sku@location", kind="key"), Col("stockout_probability", "P(stockout)", "pct"),
                Col("fill_rate", "fill rate", "pct", 1), Col("expected_backorders", "exp. short", "num", 1),
                Col("first_stockout_p10", "first out p10", "date", priority=1),
                Col("first_stockout_p50", "first out p50", "date")],
               title="Most at risk of a backorder in the simulation horizon", console=console)


@app.command()
def replay(
    data: DataOpt,
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="first planning date")],
    end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="last day played")],
    out: OutOpt = DEFAULT_OUT_DIR,
    every: Annotated[int, typer.Option(help="days between planning dates")] = 7,
    lead_time: Annotated[float, typer.Option(help="lead time (days) for products without one")] = 7.0,
    format: FormatOpt = "table",
) -> None:
    """Replan on a rolling schedule through a past period and play the actual demand against
    the orders: achieved fill rate, stockout days and stock, against a simple ERP rule."""
    from forecast import pipeline
    from forecast.publish.tables import auto_columns, render

    with console.status("Replaying") as status:
        try:
            result = pipeline.replay_history(data, start.date(), end.date(), every, lead_time, Path(out),
                                             progress=lambda m: status.update(m))
        except _operator_errors() as exc:
            _fail(str(exc))
    render(result.summary, auto_columns(result.summary, 3), format, title="Replay")
    if format == "table":
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
    rows: Annotated[int, typer.Option("--rows", help="order lines to list")] = 30,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="also write the before/after table as JSON here")
    ] = None,
) -> None:
    """Add a planned campaign (or a supplier delay, or a demand shock) for SKUs and show the
    change in forecast, reorder point, recommended order and backorder risk, and the waiting
    customer lines whose date it moves. `--supplier NAME --delay-days N` delays one supplier.
    Before is the published plan; only the scenario's SKUs are planned and simulated again."""
    from forecast.publish.tables import Col, render, with_sku_at
    from forecast.publish.whatif_tables import print_lines_hit, print_skus_hit
    from forecast.scenarios.whatif import Scenario, comparison_rows, what_if

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
        with console.status("Planning and simulating the scenario's SKUs"):
            result = what_if(Path(out) / "snapshot", scenario)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        comparison_rows(result).to_json(json_file, orient="records", indent=1)
    title = "What-if: " + (f"supplier {supplier} {delay_days:+g} days" if supplier else ", ".join(skus))
    if delay_days:
        print_skus_hit(result.skus_hit, title, console)
    else:
        render(with_sku_at(result.comparison),
               [Col("sku@location", kind="key"), Col("metric", kind="key"), Col("before", kind="num", decimals=2),
                Col("after", kind="num", decimals=2), Col("change", kind="signed", decimals=2)],
               title=title, console=console)
    print_lines_hit(result.lines_hit, result.segments_hit, rows, console)
    for note in result.notes:
        console.print(note)
    if json_file is not None:
        console.print(f"Before/after table: {json_file}")


@app.command("suppliers")
def suppliers_cmd(
    out: OutOpt = DEFAULT_OUT_DIR,
    verdicts: Annotated[bool, typer.Option("--verdicts/--no-verdicts", help="print each verdict")] = True,
    format: FormatOpt = "table",
) -> None:
    """The supplier scorecard of the published plan: on-time rate, real lead times against the
    quoted ones, open and overdue purchase orders, dropship exposure and a verdict."""
    from forecast.publish.tables import Col, render

    card = _read_table(out, "supplier_scorecard")
    severity = {"unreliable": 0, "slower_than_quoted": 1, "often_late": 2, "reliable": 3}
    if len(card):
        card = card.assign(_order=card["rating"].map(severity).fillna(4)).sort_values(["_order", "supplier"])
        card["rating_text"] = card["rating"].astype(str).str.replace("_", " ")
    columns = [Col("supplier", kind="key"), Col("purchase_orders", "POs", "int"), Col("on_time_rate", "on time", "pct"),
               Col("mean_days_late", "late d", "num", 1), Col("lead_time_mean", "lead d", "num", 1),
               Col("lead_time_p90", "lead p90", "num", 0, priority=2),
               Col("quoted_lead_time_days", "quoted", "num", 0, priority=1),
               Col("open_pos", "open POs", "int"), Col("overdue_pos", "overdue", "int"),
               Col("rating_text", "rating"), Col("verdict", kind="wrap", priority=9)]
    if format != "table":
        render(card, [Col("rating"), *(c for c in columns if c.source != "rating_text")], format)
        return
    render(card, [c for c in columns if c.source != "verdict"], console=console,
           title=f"Supplier scorecard ({len(card):,} suppliers), worst first",
           empty="no suppliers in the published plan (no products, suppliers, receipts or POs name one)")
    if verdicts:
        for r in card.itertuples(index=False):
            console.print(f"[bold]{r.supplier}[/bold]: {r.verdict}")


@app.command()
def serve(
    data: MaybeData = None,
    out: MaybeOut = None,
    config: ConfigOpt = None,
    at: Annotated[str | None, typer.Option("--at", help="nightly run time HH:MM (setting nightly_at)")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA timezone of the schedules")] = None,
    weekly: Annotated[str | None, typer.Option("--weekly", help="cron of the weekly model re-selection")] = None,
    horizon: MaybeHorizon = None,
    sync_every: Annotated[int | None, typer.Option(
        "--sync-every", help="intraday stock sync every N minutes (setting sync_every_minutes; 0 = off)")] = None,
) -> None:
    """Serve the nightly plan, the weekly model re-selection and the intraday stock sync on this
    machine (Prefect), with the settings file: each run reads it again, so an edit applies
    from the next run."""
    from pipelines.serve import serve_schedules

    options = {"data_dir": data, "out_dir": out, "nightly_at": at, "timezone": timezone,
               "weekly_cron": weekly, "horizon": horizon, "sync_every_minutes": sync_every}
    loaded = _load(config, options, need_data=True)
    settings = loaded.settings
    hour, minute = (int(x) for x in settings.nightly_at.split(":"))
    console.print(f"Serving: nightly at {settings.nightly_at} {settings.timezone}, re-selection "
                  f"'{settings.weekly_cron}' {settings.timezone}"
                  + (f", stock sync every {settings.sync_every_minutes} min" if settings.sync_every_minutes else "")
                  + (f", settings {loaded.file}" if loaded.file else "") + ". Ctrl-C stops.")
    given = {k: v for k, v in options.items() if v is not None and k in ("data_dir", "out_dir", "horizon")}
    serve_schedules(settings.data_dir, settings.out_dir, nightly_cron=f"{minute} {hour} * * *",
                    weekly_cron=settings.weekly_cron, timezone=settings.timezone,
                    config_file=loaded.file, parameters=given,
                    sync_every_minutes=settings.sync_every_minutes)


@app.command()
def ingest(
    data: MaybeData = None, out: MaybeOut = None, config: ConfigOpt = None, format: FormatOpt = "table",
) -> None:
    """Load and validate a data folder into the warehouse (idempotent)."""
    import pandas as pd

    from forecast import pipeline
    from forecast.publish.tables import Col, render

    settings = _load(config, {"data_dir": data, "out_dir": out}, need_data=True).settings
    try:
        with pipeline.run_lock(settings.out_dir):  # one writer per output folder
            summary = pipeline.ingest(settings, pipeline.new_run_id())
    except _operator_errors() as exc:
        _fail(str(exc))
    frame = pd.DataFrame([{"table": r.table, "loaded": r.loaded, "rejected": r.rejected,
                           "file": str(r.file), "ignored_columns": ", ".join(r.ignored_columns)}
                          for r in summary.results])
    render(frame, [Col("table", kind="key"), Col("loaded", kind="int"), Col("rejected", kind="int"),
                   Col("file", kind="wrap", priority=1), Col("ignored_columns", "ignored columns", "wrap", priority=2)],
           format, title=f"Loaded from {settings.data_dir}", console=console)
    for message in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)


@app.command()
def rejects(
    out: OutOpt = DEFAULT_OUT_DIR,
    table: Annotated[str | None, typer.Option(help="only this table")] = None,
    limit: int = 50,
    format: FormatOpt = "table",
) -> None:
    """List rejected input rows with file, line, column and reason."""
    from forecast.publish.tables import Col, render

    frame = _read_table(out, "rejects")
    if table and len(frame):
        frame = frame[frame["table_name"] == table]
    frame = frame.drop(columns=["run_id", "fingerprint"], errors="ignore")
    if len(frame):
        frame = frame.assign(file=frame["file"].map(lambda f: Path(str(f)).name))
    columns = [Col("table_name", "table", "key"), Col("file", priority=3), Col("line", kind="int"),
               Col("column_name", "column", "key"), Col("value", priority=2), Col("reason", kind="wrap")]
    render(frame.head(limit) if format == "table" else frame, columns, format, console=console,
           title=f"Rejected rows ({len(frame):,})", empty="no rejected rows")
    if format == "table" and len(frame) > limit:
        console.print(f"... {len(frame) - limit:,} more")


@app.command()
def runs(
    out: OutOpt = DEFAULT_OUT_DIR,
    limit: int = 20,
    id: Annotated[str | None, typer.Option("--id", help="one run's details (a prefix is enough)")] = None,
    format: FormatOpt = "table",
) -> None:
    """Recent pipeline runs: status, time, rows loaded and rejected, warnings, error; with --id
    one run's step timings, rows per table, input fingerprints, warnings and settings."""
    from forecast.publish.run_history import run_details, runs_summary
    from forecast.publish.tables import Col, render

    frame = _read_table(out, "runs")
    if id is None:
        render(runs_summary(frame).head(limit),
               [Col("run_id", "run", "key"), Col("status", kind="key"), Col("started_at", "started", "datetime"),
                Col("seconds", "secs", "int"), Col("as_of", "as of", "date", priority=2),
                Col("rows_loaded", "loaded", "int"), Col("rows_rejected", "rejected", "int"),
                Col("warnings", "warn", "int", priority=1), Col("error", kind="wrap", priority=3)],
               format, title="Runs, newest first (details: forecast runs --id RUN)", console=console,
               empty="no runs yet")
        return
    try:
        parts = run_details(frame, id)
    except KeyError:
        _fail(f"no run {id!r} in {out}; `forecast runs` lists them")
    if format == "json":
        import json

        from forecast.publish.tables import records

        print(json.dumps({k: records(v, [Col(c) for c in v.columns]) for k, v in parts.items()},
                         indent=1, default=str))
        return
    kinds = {"seconds": "num", "loaded": "int", "rejected": "int"}
    for name, part in parts.items():
        cols = [Col(c, kind=("key" if i == 0 else kinds.get(c, "wrap")), decimals=1)
                for i, c in enumerate(part.columns)]
        if format == "csv":
            print(f"# {name}")
        render(part, cols, format, title=name, console=console, empty=f"{name}: none")


@app.command("backorders")
def backorders_cmd(
    out: OutOpt = DEFAULT_OUT_DIR,
    sku: Annotated[list[str] | None, typer.Option("--sku", help="only this SKU (repeat for several)")] = None,
    customer: Annotated[list[str] | None, typer.Option("--customer", help="only this customer (repeatable)")] = None,
    segment: Annotated[list[str] | None, typer.Option("--segment", help="only this segment (repeatable)")] = None,
    late_only: Annotated[bool, typer.Option("--late-only", help="only lines after their promise or without supply")] = False,
    limit: Annotated[int, typer.Option(help="rows to print")] = 50,
    format: FormatOpt = "table",
) -> None:
    """The backorder book: every waiting order line with its status, days waiting, ETA and its
    change since the last run, delay, cancellation risk and what the customer was last told."""
    from forecast.backorders.book import BOOK_COLUMNS, book_summary, filter_book
    from forecast.publish.tables import Col, render, with_sku_at

    book = filter_book(_read_table(out, "backorders"), sku, customer, segment, late_only)
    if format != "table":
        render(book, [Col(c) for c in BOOK_COLUMNS], format)
        return
    if book.empty:
        console.print("no waiting order lines" + (" match" if sku or customer or segment or late_only else ""))
        return
    shown = with_sku_at(book.head(limit))
    shown["now_qty"] = [f"{a:g}/{q:g}" for a, q in zip(shown["allocated_now"], shown["quantity"], strict=True)]
    shown["told"] = [
        "-" if told is None or str(told) in ("NaT", "nan", "None") else f"{str(told)[:10]} {kind}"
        for told, kind in zip(shown["last_told_at"], shown["last_told_kind"], strict=True)]
    if "cancel_offered_on" in shown:
        shown["told"] = [
            told if day is None or str(day) in ("NaT", "nan", "None")
            else f"{told}; cancellation offered on {str(day)[:10]}"
            for told, day in zip(shown["told"], shown["cancel_offered_on"], strict=True)]
    render(shown, [Col("order_id", "order", "key"), Col("sku@location", kind="key"), Col("status", kind="key"),
                   Col("now_qty", "now/qty"), Col("eta", "ETA", "date"), Col("promised_date", "promised", "date"),
                   Col("delay_days", "days late", "int"), Col("customer_id", "customer", "key", priority=1),
                   Col("cancel_probability", "P(cancel)", "pct", priority=2),
                   Col("segment", priority=3), Col("days_waiting", "waiting", "int", priority=4),
                   Col("expected_revenue_lost", "exp. lost", "num", priority=5),
                   Col("previous_eta", "previous ETA", "date", priority=6),
                   Col("eta_change_days", "change", "signed", priority=6), Col("told", "last told", priority=7)],
           title="Backorder book (policy " + str(book["policy"].iloc[0]) + ")", console=console)
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
    format: FormatOpt = "table",
) -> None:
    """Messages sent to waiting customers, newest first: moment (and the moments merged into
    it), language, channel, subject and the cancellation offers (``--format csv/json``: every
    column of the messages shown, text and SMS included)."""
    from forecast.backorders.messages import MOMENTS, filter_messages
    from forecast.publish.tables import Col, render

    history = _read_table(out, "customer_messages")
    try:
        shown = filter_messages(history, customer, moment)
    except ValueError as exc:
        _fail(str(exc))
    shown = shown.sort_values(["day", "customer_id"], ascending=[False, True]) if len(shown) else shown
    if format != "table":
        render(shown.head(limit), [Col(c) for c in shown.columns], format, console=console)
        return
    if shown.empty:
        console.print("no customer messages" + (" match" if customer or moment else ""))
        return
    view = shown.head(limit).assign(
        moment_text=lambda f: f["moment"].astype(str) + f["moments"].fillna("").astype(str).map(
            lambda m: f" (+{m.replace(',', ', ')})" if m else ""),
        orders=lambda f: f["order_id"].astype(str).str.replace(";", " "),
        cancel=lambda f: f["cancel_url"].map(lambda u: "offered" if isinstance(u, str) and u else ""))
    render(view, [Col("day", kind="date"), Col("customer_id", "customer", "key"),
                  Col("moment_text", "moment", "wrap"), Col("language", "lang"), Col("channel"),
                  Col("orders", kind="wrap", priority=2), Col("cancel", priority=1),
                  Col("subject", kind="wrap", priority=1)],
           "table", title=f"Customer messages ({len(shown):,})", console=console)
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
def flash_sales_cmd(out: OutOpt = DEFAULT_OUT_DIR, format: FormatOpt = "table") -> None:
    """Flash sales of the published plan: the forecast (fcst) capped by the stock set aside, the
    chance it sells out, and the largest quantity each can promise without backordering other
    orders (ATP: with the recommended orders; ATP POs: stock and open POs only); then the
    pre-order first purchases and the dropship SKUs (no stock policy)."""
    import pandas as pd

    from forecast.planning.sales_models import FLASH_SALE_COLUMNS, dropship_skus, first_purchases
    from forecast.publish.tables import Col, render, with_sku_at

    flash = _read_table(out, "flash_sales")
    if format != "table":
        render(flash, [Col(c) for c in FLASH_SALE_COLUMNS], format)
        return
    if flash.empty:
        console.print("no flash sales planned (campaigns of kind flash_sale with a stock_quantity)")
    else:
        shown = with_sku_at(flash.sort_values(["start_date", "sku", "location"]))
        shown["days"] = (pd.to_datetime(shown["end_date"]) - pd.to_datetime(shown["start_date"])).dt.days + 1
        render(shown, [Col("sku@location", kind="key"), Col("start_date", "start", "date"), Col("days", kind="int"),
                       Col("stock_quantity", "aside", "int"), Col("forecast_uncapped", "fcst", "num", 1),
                       Col("forecast_capped", "capped", "num", 1), Col("sellout_probability", "P(out)", "pct"),
                       Col("max_promisable", "ATP", "int"), Col("max_promisable_confirmed", "ATP POs", "int", priority=1),
                       Col("shortfall", "short", "int")],
               title=f"Flash sales ({len(flash):,})", console=console)
        for r in shown.itertuples(index=False):
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
    config: ConfigOpt = None,
) -> None:
    """Write the purchasing exports of the latest plan again (the workbook's currency from the
    settings file)."""
    from forecast.publish import exports as export

    recs = _read_table(out, "recommendations")
    target = Path(out) / "exports"
    if format == "xlsx":
        currency = _load(config, {"out_dir": out}).settings.currency
        path = export.write_purchasing_workbook(recs, target / "reorder_recommendations.xlsx",
                                                scorecard=_read_table(out, "supplier_scorecard"),
                                                currency=currency)
    elif format == "csv":
        path = export.write_csv_exports({"recommendations": recs}, target)[0]
    else:
        _fail("--format must be csv or xlsx")
    console.print(f"{len(recs):,} lines -> {path}")


def _read_table(out: Path, name: str):
    """A table for a read command: from the warehouse when no run holds it (the freshest), else
    from the published snapshot, so read commands never wait for a running pipeline."""
    from forecast import pipeline
    from forecast.ingest.published import read_snapshot_table
    from forecast.ingest.warehouse import OUTPUT_TABLES, Warehouse, WarehouseLockedError

    path = Path(out) / "warehouse.duckdb"
    if not path.exists():
        _fail(f"{path}: no warehouse yet; run `forecast demo` or `forecast run` first")
    # The warehouse only while no run writes (the shared hold makes a starting run wait a
    # moment, never fail); else the snapshot, so a read never breaks the nightly run.
    with pipeline.read_lock(Path(out)) as free:
        if free:
            try:
                with Warehouse(path, read_only=True) as wh:
                    return wh.output(name) if name in OUTPUT_TABLES else wh.table(name)
            except WarehouseLockedError:
                pass
    console.print("[yellow]a run is writing the warehouse: showing the published snapshot[/yellow]")
    return read_snapshot_table(Path(out) / "snapshot", name)


from forecast.cli_sync import sync_command  # it reads this module's helpers when it runs

app.command("sync")(sync_command)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

