"""Schedules on one machine: the nightly flow, the weekly model re-selection and the intraday
stock sync (``--sync-every`` minutes), served by
Prefect's ``serve`` (stopping it does not pause the deployments).

    forecast serve [--config forecast.toml] [--data data/demo --out data/out] [--at 02:00] [--timezone Europe/Berlin] [--sync-every 15]

Teams that run workers use ``prefect.yaml`` (process work pool) instead.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.schedules import Cron

from pipelines.nightly import nightly_flow, reselection_flow
from pipelines.sync import sync_flow


def deployments(data_dir: Path, out_dir: Path, *, nightly_cron: str = "0 2 * * *",
                weekly_cron: str = "0 3 * * 0", timezone: str = "UTC", horizon: int | None = None,
                config_file: Path | None = None, parameters: dict | None = None,
                sync_every_minutes: int = 0):
    """The deployments (nightly, weekly and, with ``sync_every_minutes`` > 0, the intraday
    stock sync every that many minutes) with their schedules and typed default parameters: the settings
    file (read again by every run, so an edit applies from the next one) and the options
    given on the command line, which override it."""
    params: dict = {"data_dir": str(data_dir), "out_dir": str(out_dir)}
    if config_file is not None:
        params = {"config_file": str(Path(config_file).resolve())}
    params.update({k: str(v) if isinstance(v, Path) else v for k, v in (parameters or {}).items()})
    if horizon is not None:
        params["horizon"] = horizon
    nightly = nightly_flow.to_deployment(
        name="nightly-plan", schedule=Cron(nightly_cron, timezone=timezone), parameters=params,
        description="Ingest, forecast, plan, simulate, publish and deliver the digest.",
        tags=["forecast", "nightly"],
    )
    weekly = reselection_flow.to_deployment(
        name="weekly-model-reselection", schedule=Cron(weekly_cron, timezone=timezone),
        parameters=params, description="Full rolling-origin backtest of every forecast model.",
        tags=["forecast", "weekly"],
    )
    served = [nightly, weekly]
    if sync_every_minutes > 0:
        sync_params = {k: v for k, v in params.items() if k in ("data_dir", "out_dir", "config_file")}
        served.append(sync_flow.to_deployment(
            name="stock-sync", interval=sync_every_minutes * 60, parameters=sync_params,
            description="Stock movements since the last sync: positions, threshold alerts, "
                        "release of waiting lines.", tags=["forecast", "sync"],
        ))
    return served


def serve_schedules(data_dir: Path, out_dir: Path, **kwargs) -> None:
    serve(*deployments(data_dir, out_dir, **kwargs), pause_on_shutdown=False)
