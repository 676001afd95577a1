"""Prefect flows of the nightly pipeline: ingest, forecast, plan, simulate, and nightly (all).

Thin by design: every task calls one step of :mod:`forecast.pipeline`; the logic is in the
library. Runs with no server configured (Prefect starts a temporary one) or against
``prefect server start`` when ``PREFECT_API_URL`` points at it.

    python -m pipelines.nightly --data data/demo --out data/out
"""

from __future__ import annotations

import os

# scikit-learn's OpenMP threads spin while waiting; on a shared 2-core machine that made the
# gradient-boosting fit 4-5x slower. Sleeping waiters fix it (an explicit setting still wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
from datetime import date
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from forecast import pipeline
from forecast.config import RunSettings, load_settings


@task(name="ingest", retries=2, retry_delay_seconds=5)
def ingest_task(settings: RunSettings, run_id: str) -> pipeline.IngestSummary:
    summary = pipeline.ingest(settings, run_id)
    log = get_run_logger()
    for r in summary.results:
        log.info("%s: %d loaded, %d rejected (%s)", r.table, r.loaded, r.rejected, r.file)
    return summary


@task(name="forecast")
def forecast_task(settings: RunSettings, run_id: str) -> dict:
    result = pipeline.forecast_step(settings, run_id)
    get_run_logger().info("forecast: %s", result)
    return result


@task(name="plan")
def plan_task(settings: RunSettings, run_id: str) -> dict:
    result = pipeline.plan_step(settings, run_id)
    get_run_logger().info("plan: %s", result)
    return result


@task(name="simulate")
def simulate_task(settings: RunSettings, run_id: str) -> dict:
    result = pipeline.simulate_step(settings, run_id)
    get_run_logger().info("simulate: %s", result)
    return result


@task(name="publish", retries=2, retry_delay_seconds=5)
def publish_task(settings: RunSettings, run_id: str) -> dict:
    result = pipeline.publish_step(settings, run_id)
    log = get_run_logger()
    log.info("exports: %s", ", ".join(str(p) for p in result["paths"]))
    for warning in result["warnings"]:
        log.warning(warning)
    return result


@task(name="deliver", retries=2, retry_delay_seconds=10)
def deliver_task(settings: RunSettings, run_id: str) -> dict:
    """The digest as Prefect artifacts (markdown + tables) and, if configured, the webhook."""
    from forecast.backorders.book import filter_book
    from forecast.ingest.warehouse import Warehouse
    from forecast.publish.digest import build_digest

    result = pipeline.deliver_step(settings, run_id)
    create_markdown_artifact(result["markdown"], key="plan-summary", description="Nightly plan")
    with Warehouse(settings.warehouse_path) as wh:
        digest = build_digest(wh, run_id)
        late_lines = filter_book(wh.output("backorders", run_id), late_only=True)
    for key, frame in (("orders-today", digest.orders_today), ("new-alerts", digest.new_alerts),
                       ("at-risk", digest.at_risk), ("customers-to-notify", digest.customers_to_notify),
                       ("late-backorders", late_lines),
                       ("customer-messages", digest.customer_messages.drop(
                           columns=["text", "lines"], errors="ignore"))):
        rows = frame.head(200).astype(str).to_dict(orient="records")
        create_table_artifact(rows, key=key, description=f"{key.replace('-', ' ')} ({len(frame)} rows)")
    for warning in result.get("warnings", []):
        get_run_logger().warning(warning)
    return result


@task(name="chunk", cache_policy=NO_CACHE)
def chunk_task(fn, args: tuple):
    """One chunk of series through a library function (forecast_panel or simulate)."""
    return fn(*args)


def prefect_map(fn, items: list[tuple]) -> list:
    """Submit every chunk to the flow's task runner and gather the results in order. On a Dask
    runner each chunk's data goes to the cluster first (``scatter``) and the task gets futures
    of it, so the task graph stays small however many series a chunk holds."""
    client = _dask_client()
    if client is not None:
        items = [tuple(client.scatter(list(args))) for args in items]
    futures = [chunk_task.submit(fn, args) for args in items]
    return [f.result() for f in futures]


def _dask_client():
    """The Dask client of the running flow's task runner (None on another runner)."""
    from prefect.context import FlowRunContext
    from prefect_dask import DaskTaskRunner

    runner = getattr(FlowRunContext.get(), "task_runner", None)
    return runner.client if isinstance(runner, DaskTaskRunner) else None


#: Steps that split their series into chunks and map them over the task runner.
CHUNKED = {"forecast": pipeline.forecast_step, "simulate": pipeline.simulate_step}


def task_runner(runner: str = "threads", address: str | None = None, workers: int | None = None):
    """The Prefect task runner: threads or processes on this machine, or a Dask cluster
    (``address`` of its scheduler; without one a local cluster is started)."""
    if runner == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if runner == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    if runner == "dask":
        from prefect_dask import DaskTaskRunner

        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers or 2, "processes": False})
    raise ValueError(f"unknown runner {runner!r}: threads, processes or dask")


def _call(name: str, settings: RunSettings, run_id: str):
    if name in CHUNKED and settings.chunk_size > 0:
        get_run_logger().info("%s: chunks of %d series over the task runner", name, settings.chunk_size)
        return CHUNKED[name](settings, run_id, mapper=prefect_map)
    return TASKS[name](settings, run_id)


TASKS = {
    "ingest": ingest_task,
    "forecast": forecast_task,
    "plan": plan_task,
    "simulate": simulate_task,
    "publish": publish_task,
    "deliver": deliver_task,
}


def _settings(data_dir: Path | None = None, out_dir: Path | None = None, as_of: date | None = None,
              horizon: int | None = None, config_file: Path | None = None, **extra) -> RunSettings:
    """Defaults < the settings file (``config_file``, else DATA/forecast.toml) < the flow's
    parameters (None = not given)."""
    options = {"out_dir": out_dir, "as_of": as_of, "horizon": horizon, **extra}
    if options.get("models"):
        options["models"] = tuple(options["models"])
    return load_settings(config_file, data_dir, options).settings


@flow(name="ingest")
def ingest_flow(data_dir: Path | None = None, out_dir: Path | None = None,
                config_file: Path | None = None) -> dict[str, int]:
    settings = _settings(data_dir, out_dir, config_file=config_file)
    return ingest_task(settings, pipeline.new_run_id()).loaded


@flow(name="forecast")
def forecast_flow(data_dir: Path | None = None, out_dir: Path | None = None, as_of: date | None = None,
                  horizon: int | None = None, models: list[str] | None = None,
                  config_file: Path | None = None) -> dict:
    settings = _settings(data_dir, out_dir, as_of, horizon, config_file, models=models)
    return forecast_task(settings, pipeline.new_run_id())


@flow(name="plan")
def plan_flow(data_dir: Path | None = None, out_dir: Path | None = None, as_of: date | None = None,
              config_file: Path | None = None) -> dict:
    return plan_task(_settings(data_dir, out_dir, as_of, config_file=config_file), pipeline.new_run_id())


@flow(name="simulate")
def simulate_flow(data_dir: Path | None = None, out_dir: Path | None = None, as_of: date | None = None,
                  n_paths: int | None = None, seed: int | None = None,
                  config_file: Path | None = None) -> dict:
    settings = _settings(data_dir, out_dir, as_of, config_file=config_file, n_paths=n_paths, seed=seed)
    return simulate_task(settings, pipeline.new_run_id())


@flow(name="nightly", log_prints=True)
def nightly_flow(
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    as_of: date | None = None,
    horizon: int | None = None,
    n_paths: int | None = None,
    seed: int | None = None,
    allocation_policy: Literal["fifo", "priority", "fair", "retention"] | None = None,
    service_levels: dict[str, float] | None = None,
    alert_webhook: str | None = None,
    chunk_size: int | None = None,
    models: list[str] | None = None,
    config_file: Path | None = None,
) -> dict:
    """Ingest -> forecast -> plan -> simulate -> publish -> deliver, recorded in the runs table.

    Settings: the settings file ``config_file`` (else DATA/forecast.toml), overridden by the
    parameters given (None = from the file). With ``chunk_size`` > 0 the forecast and
    simulation run in chunks of series through the flow's task runner (see ``run_nightly``)."""
    settings = _settings(data_dir, out_dir, as_of, horizon, config_file, n_paths=n_paths, seed=seed,
                         allocation_policy=allocation_policy, service_levels=service_levels,
                         alert_webhook=alert_webhook, chunk_size=chunk_size, models=models)
    log = get_run_logger()
    summary = pipeline.run_pipeline(
        settings,
        progress=lambda step: log.info("step: %s", step),
        call=_call,
    )
    log.info("run %s done in %s", summary.run_id, summary.seconds)
    return {"run_id": summary.run_id, "as_of": str(summary.as_of), **summary.steps["plan"]}


@flow(name="weekly-reselection")
def reselection_flow(
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    horizon: int | None = None,
    folds: int | None = None,
    config_file: Path | None = None,
) -> list[dict]:
    """Full rolling-origin backtest of every candidate model (the weekly model re-selection):
    the scores land in the warehouse (backtest_* tables) and exports/backtest_*.csv."""
    settings = _settings(data_dir, out_dir, None, horizon, config_file, folds=folds)
    run_id = pipeline.new_run_id()
    summary = backtest_task(settings, run_id, settings.folds)
    create_table_artifact(summary.round(4).to_dict(orient="records"), key="backtest-summary",
                          description=f"Backtest, {settings.folds} folds x {settings.horizon} periods")
    return summary.to_dict(orient="records")


@task(name="backtest")
def backtest_task(settings: RunSettings, run_id: str, folds: int):
    log = get_run_logger()
    # Ingests the data folder first, then backtests without holding the warehouse or the run
    # lock, so a nightly run starting meanwhile is not stopped (pipeline.backtest_step).
    return pipeline.backtest_step(settings, run_id, folds, progress=log.info, load=True)


def run_nightly(runner: str = "threads", address: str | None = None, workers: int | None = None,
                **parameters) -> dict:
    """The nightly flow with a chosen task runner (threads, processes, or dask [at address])."""
    return nightly_flow.with_options(task_runner=task_runner(runner, address, workers))(**parameters)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the nightly Prefect flow once.")
    parser.add_argument("--data", type=Path, default=None, help="default: data_dir of the settings")
    parser.add_argument("--out", type=Path, default=None, help="default: out_dir of the settings")
    parser.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument("--horizon", type=int, default=None)
    parser.add_argument("--runner", choices=("threads", "processes", "dask"), default="threads")
    parser.add_argument("--address", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    parser.add_argument("--chunk-size", type=int, default=None, help="series per chunk (0 = no chunks)")
    args = parser.parse_args()
    print(run_nightly(args.runner, args.address, data_dir=args.data, out_dir=args.out,
                      as_of=args.as_of, horizon=args.horizon, chunk_size=args.chunk_size,
                      config_file=args.config))


if __name__ == "__main__":
    main()
