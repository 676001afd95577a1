"""Schedules on one machine: the nightly flow and the weekly model re-selection, served by
Prefect's ``serve`` (stopping it does not pause the deployments).

    forecast serve --data data/demo --out data/out [--at 02:00] [--timezone Europe/Berlin]

Teams that run workers use ``prefect.yaml`` (process work pool) instead.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.schedules import Cron

from pipelines.nightly import nightly_flow, reselection_flow


def deployments(data_dir: Path, out_dir: Path, *, nightly_cron: str = "0 2 * * *",
                weekly_cron: str = "0 3 * * 0", timezone: str = "UTC", horizon: int = 28):
    """The two deployments with their schedules and typed default parameters."""
    params = {"data_dir": str(data_dir), "out_dir": str(out_dir), "horizon": horizon}
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
    return [nightly, weekly]


def serve_schedules(data_dir: Path, out_dir: Path, **kwargs) -> None:
    serve(*deployments(data_dir, out_dir, **kwargs), pause_on_shutdown=False)
