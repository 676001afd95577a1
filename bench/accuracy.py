"""Accuracy benchmark on the real data in ../shared/data (one command, prints one table each).

    python bench/accuracy.py [--datasets m5_dev,carparts,dominicks_oj] [--models ...]
                             [--prophet-series N] [--folds 1]

- m5_dev: history to 2016-03-27, forecast the 28 days to 2016-04-24 (the DATA.md split);
- carparts: the last 12 months; dominicks_oj: the last 12 weeks.
Each row is a model alone or the automatic choice ("auto"), scored by forecast.evaluation.
For dominicks_oj it also compares the WAPE on campaign weeks of the gradient-boosting model with
and without campaign features. Nothing here is used by tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.backtesting import _cut_panel, run_backtest
from forecast.config import RunSettings
from forecast.engine import EngineConfig, _cut_covariates, forecast_panel
from forecast.pipeline import engine_config, ingest, load_covariates, load_panel, resolve_as_of
from forecast.warehouse import Warehouse

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATASETS = {  # name -> (as_of, horizon)
    "m5_dev": ("2016-03-27", 28),
    "carparts": (None, 12),
    "dominicks_oj": (None, 12),
}
COLUMNS = ["model", "mase", "rmsse", "wrmsse", "wape", "bias", "spl", "coverage_90",
           "pinball_sum14_q90", "pinball_sum14_q95"]


def bench_dataset(name: str, models: tuple[str, ...] | None, prophet: int, folds: int) -> pd.DataFrame:
    as_of, horizon = DATASETS[name]
    with tempfile.TemporaryDirectory() as tmp:
        settings = RunSettings(data_dir=SHARED / name, out_dir=Path(tmp), as_of=as_of, horizon=horizon,
                               models=models, prophet_series=prophet)
        ingest(settings, "bench")
        with Warehouse(settings.warehouse_path) as wh:
            as_of_date = resolve_as_of(wh, settings.as_of)
            # The scored window is the `horizon` periods after as_of (m5) or the last ones.
            panel = load_panel(wh, None)
            end = panel.dates.searchsorted(pd.Timestamp(as_of_date), side="right")
            if as_of is not None:
                panel = _cut_panel(panel, min(end + horizon, len(panel.dates)))
            covariates = load_covariates(wh, panel, horizon, settings)
        start = time.perf_counter()
        report = run_backtest(panel, horizon, folds, engine_config(settings), covariates,
                              progress=lambda m: print(f"  {name}: {m}", file=sys.stderr))
        seconds = time.perf_counter() - start
        summary = report.summary.reindex(columns=COLUMNS)
        summary.attrs["seconds"] = seconds
        if name == "dominicks_oj" and (models is None or "gbm" in models):
            summary.attrs["campaign_wape"] = campaign_week_wape(panel, horizon, covariates, settings)
        return summary


def campaign_week_wape(panel, horizon, covariates, settings) -> dict[str, float]:
    """WAPE on campaign weeks of the last `horizon` weeks: GBM with vs without campaign features."""
    t = panel.demand.shape[1] - horizon
    train = _cut_panel(panel, t)
    actual = panel.demand[:, t:]
    campaign = covariates.campaign_active[:, t : t + horizon] > 0
    cov = _cut_covariates(covariates, t, horizon)
    no_campaigns = dataclasses.replace(
        cov,
        campaign_active=np.zeros_like(cov.campaign_active),
        campaign_discount=np.zeros_like(cov.campaign_discount),
        campaign_kind=np.zeros_like(cov.campaign_kind),
        days_into_campaign=np.full_like(cov.days_into_campaign, -1),
        days_after_campaign=np.zeros_like(cov.days_after_campaign),
        after_kind=None if cov.after_kind is None else np.zeros_like(cov.after_kind),
        campaign_id=None if cov.campaign_id is None else np.full_like(cov.campaign_id, -1),
    )
    # Promotions also show in the price (a deal lowers it): the second comparison takes the
    # promotional price away too (price held at its regular level).
    regular = np.maximum.accumulate(np.nan_to_num(no_campaigns.price), axis=1)
    no_promo_at_all = dataclasses.replace(no_campaigns, price=regular)
    cfg = EngineConfig(models=("gbm",), calibrate=False, seed=settings.seed)
    out = {}
    for label, c in (("with_campaigns", cov), ("without_campaigns", no_campaigns),
                     ("without_campaigns_or_promo_price", no_promo_at_all)):
        mean = forecast_panel(train, horizon, cfg, c).forecast.mean
        mask = campaign & ~np.isnan(actual)
        out[label] = float(np.abs(mean[mask] - actual[mask]).sum() / np.abs(actual[mask]).sum())
    out["reduction"] = 1 - out["with_campaigns"] / out["without_campaigns"]
    out["reduction_vs_no_promo_price"] = 1 - out["with_campaigns"] / out["without_campaigns_or_promo_price"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=None, help="comma-separated candidates (default: engine's)")
    parser.add_argument("--prophet-series", type=int, default=0)
    parser.add_argument("--folds", type=int, default=1)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} not found: the accuracy benchmark needs ../shared/data")
    models = tuple(args.models.split(",")) if args.models else None
    pd.set_option("display.width", 160)
    for name in args.datasets.split(","):
        summary = bench_dataset(name, models, args.prophet_series, args.folds)
        print(f"\n== {name}: {args.folds} fold(s), {summary.attrs['seconds']:.1f} s")
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if "campaign_wape" in summary.attrs:
            w = summary.attrs["campaign_wape"]
            print(f"campaign weeks WAPE (gbm): with campaign features {w['with_campaigns']:.4f}, "
                  f"without {w['without_campaigns']:.4f}, reduction {w['reduction']:.1%}; "
                  f"without campaigns or promotional price {w['without_campaigns_or_promo_price']:.4f}, "
                  f"reduction {w['reduction_vs_no_promo_price']:.1%}")


if __name__ == "__main__":
    main()
