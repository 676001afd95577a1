"""Accuracy benchmark on the real data in ../shared/data (one command, prints one table each).

    python bench/accuracy.py [--datasets m5_dev,carparts,dominicks_oj] [--models ...]
                             [--prophet-series N] [--folds 1]

- m5_dev: history to 2016-03-27, forecast the 28 days to 2016-04-24 (the DATA.md split);
- carparts: the last 12 months; dominicks_oj: the last 12 weeks.
Each row is a model alone or the automatic choice ("auto"), scored by forecast.forecasting.evaluation.
For dominicks_oj it also compares the WAPE on campaign weeks (and on all weeks) of the
gradient-boosting model with the campaign features, without the campaigns table, and without it
or the promotional price: Dominick's campaigns carry no discount, a deal shows only as the lower
shelf price, so the model that knows nothing of the campaigns is the third one. Nothing here is
used by tests.
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

from forecast.config import RunSettings
from forecast.forecasting.backtesting import _cut_panel, run_backtest
from forecast.forecasting.engine import _cut_covariates
from forecast.forecasting.forecasters.gbm import GlobalGBM
from forecast.ingest.warehouse import Warehouse
from forecast.pipeline import engine_config, ingest, load_covariates, load_panel, resolve_as_of

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


def without_campaigns(cov, promo_price: bool = True):
    """The covariates with every trace of the campaigns table removed: flags, discount, kind,
    days into / after, per-kind flags and what the other series of the location run. With
    ``promo_price=False`` the price is also held at its running maximum, so that the deals that
    Dominick's records only as a lower price disappear too; the fields derived from the price
    (regular price, the location's relative price) are then rebuilt from that price by the model.
    """
    out = dataclasses.replace(
        cov,
        campaign_active=np.zeros_like(cov.campaign_active),
        campaign_discount=np.zeros_like(cov.campaign_discount),
        campaign_kind=np.zeros_like(cov.campaign_kind),
        days_into_campaign=np.full_like(cov.days_into_campaign, -1),
        days_after_campaign=np.zeros_like(cov.days_after_campaign),
        after_kind=None if cov.after_kind is None else np.zeros_like(cov.after_kind),
        campaign_id=None if cov.campaign_id is None else np.full_like(cov.campaign_id, -1),
        campaigns_by_kind={},
        location_campaign_share=None,
        location_share_by_kind={},
    )
    if promo_price:
        return out
    regular = np.maximum.accumulate(np.nan_to_num(cov.price), axis=1)
    return dataclasses.replace(out, price=regular, regular_price=None, location_relative_price=None)


def campaign_week_wape(panel, horizon, covariates, settings) -> dict[str, dict[str, float]]:
    """WAPE of the GBM over the last `horizon` weeks, on campaign weeks and on all weeks: with
    the campaign features, without the campaigns table, and without it or the promotional price
    (see without_campaigns)."""
    t = panel.demand.shape[1] - horizon
    train = _cut_panel(panel, t)
    actual = panel.demand[:, t:]
    observed = ~np.isnan(actual)
    masks = {"campaign": (covariates.campaign_active[:, t : t + horizon] > 0) & observed,
             "all": observed}
    cov = _cut_covariates(covariates, t, horizon)
    out: dict[str, dict[str, float]] = {}
    for label, c in (("with_campaigns", cov), ("without_campaigns", without_campaigns(cov)),
                     ("without_campaigns_or_promo_price", without_campaigns(cov, promo_price=False))):
        # The engine's final GBM fit (same seed and rows); recency_always gives the variants
        # without campaigns the same recency weights as the one with them.
        model = GlobalGBM(random_state=settings.seed, max_rows=400_000, recency_always=True)
        model.fit(train.demand, train.freq.season_length, covariates=c)
        mean = np.nan_to_num(model.predict(horizon))
        out[label] = {name: float(np.abs(mean[m] - actual[m]).sum() / actual[m].sum())
                      for name, m in masks.items()}
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
            for weeks in ("campaign", "all"):
                base = w["with_campaigns"][weeks]
                print(f"{weeks} weeks WAPE (gbm): with campaign features {base:.4f}; "
                      f"without the campaigns table {w['without_campaigns'][weeks]:.4f} "
                      f"(reduction {1 - base / w['without_campaigns'][weeks]:.1%}); "
                      f"without it or the promotional price "
                      f"{w['without_campaigns_or_promo_price'][weeks]:.4f} "
                      f"(reduction {1 - base / w['without_campaigns_or_promo_price'][weeks]:.1%})")

if __name__ == "__main__":
    main()
