"""Prefect flow of the intraday stock sync (``forecast.sync``): thin, one task calling the library.

    python -m pipelines.sync --data data/demo --out data/out

Served every ``sync_every_minutes`` by ``forecast serve --sync-every 15`` beside the nightly
flow; a sync that finds the nightly run writing waits for it (one writer per output folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from forecast import sync
from pipelines.nightly import _settings


@task(name="sync", retries=1, retry_delay_seconds=30)
def sync_task(settings) -> sync.SyncResult:
    log = get_run_logger()
    result = sync.run_sync(settings, progress=lambda step: log.info("sync: %s", step), wait=True)
    if not result.published:
        log.info("nothing new since the last sync (plan %s)", result.base_run)
        return result
    log.info("sync %s: %d new movements, %d alerts raised, %d closed, %d lines released, "
             "%d recommendations changed, %.2f s", result.sync_id, result.movements_new,
             len(result.raised), len(result.closed), len(result.released),
             len(result.recommendations), result.seconds)
    for message in result.raised.get("message", []):
        log.warning("alert: %s", message)
    for warning in result.warnings:
        log.warning(warning)
    return result


@flow(name="stock-sync")
def sync_flow(data_dir: Path | None = None, out_dir: Path | None = None,
              config_file: Path | None = None, alert_webhook: str | None = None) -> dict:
    """Apply the new stock movements to the published plan (positions, threshold alerts,
    release of waiting lines, changed recommendations) and publish atomically."""
    settings = _settings(data_dir, out_dir, config_file=config_file, alert_webhook=alert_webhook)
    result = sync_task(settings)
    if result.published:
        lines = [f"- {m}" for m in result.raised.get("message", [])] or ["- none"]
        create_markdown_artifact(
            "\n".join([f"# Stock sync {result.sync_id}",
                       (f"{result.movements_new} new movements, {len(result.released)} waiting "
                        f"lines released, {len(result.recommendations)} recommendations changed."),
                       "## Alerts raised", *lines]),
            key="stock-sync", description="Threshold alerts of the latest stock sync")
    return {"sync_id": result.sync_id, "movements_new": result.movements_new,
            "alerts_raised": len(result.raised), "alerts_closed": len(result.closed),
            "lines_released": len(result.released),
            "recommendations_changed": len(result.recommendations)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the stock-sync Prefect flow once.")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args()
    print(sync_flow(data_dir=args.data, out_dir=args.out, config_file=args.config))


if __name__ == "__main__":
    main()
