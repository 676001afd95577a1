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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _peers

from forecast.config import RunSettings
from forecast.forecasting import evaluation as ev
from forecast.forecasting.backtesting import _cut_panel
from forecast.forecasting.engine import EngineConfig, _cut_covariates, forecast_panel
from forecast.forecasting.forecasters.gbm import GlobalGBM
from forecast.ingest.warehouse import Warehouse
from forecast.pipeline import engine_config, ingest, load_covariates, load_panel, resolve_as_of


def _shared_data() -> Path:
    """``shared/data`` beside the project or beside any folder above it (a git worktree sits
    deeper than the main checkout); ``FORECAST_SHARED_DATA`` overrides."""
    import os

    if os.environ.get("FORECAST_SHARED_DATA"):
        return Path(os.environ["FORECAST_SHARED_DATA"])
    here = Path(__file__).resolve().parents[1]
    for folder in here.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return here.parent / "shared" / "data"


SHARED = _shared_data()
DATASETS = {  # name -> (as_of, horizon)
    "m5_dev": ("2016-03-27", 28),
    "carparts": (None, 12),
    "dominicks_oj": (None, 12),
}
COLUMNS = ["model", "mase", "mase1", "rmsse", "rmsse1", "wrmsse", "wape", "bias", "spl", "coverage_90",
           "pit_coverage_90", "sum14_q95_coverage", "sum14_q99_coverage", "pinball_sum14_q95", "wall_s", "cpu_s"]
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def score(actual: np.ndarray, y_train: np.ndarray, mean: np.ndarray, season_length: int,
          weights: np.ndarray | None, fc=None, skip: int = 0, sum_window: int = 14) -> dict:
    """The figures of one forecast on one window, the same for the engine and the peers.

    ``actual``/``mean``: (n, h); only periods from ``skip`` on are scored (days 29-56: skip 28).
    ``mase``: scale the seasonal naive MAE of the history (Hyndman & Koehler 2006), ``mase1``:
    the one-step naive MAE; ``rmsse``/``wrmsse``: M5 (scale from the first sale, dollar weights
    of the last 28 history periods); ``rmsse1``: the scale from the first observation, leading
    zeros kept (as ``mase1``: the spare-parts scoring of issue 17's carparts figures); means
    over series with a defined scale. With ``fc`` (a
    DemandForecast) also the 90% interval coverage, the scaled pinball loss and, for the demand
    summed over the first ``sum_window`` scored periods, the share of series whose sum is at or
    below the forecast's 0.95 / 0.99 quantile of that sum and the pinball loss at 0.95;
    ``pit_coverage_90`` is the share of the actuals' non-randomized PIT inside [0.05, 0.95]
    (ev.pit_coverage: 90% for calibrated count forecasts, where ``coverage_90`` of a slow
    mover is at least 95% because its zeros are always inside [q05, q95])."""
    a, m = actual[:, skip:], mean[:, skip:]
    rm = ev.rmsse(a, m, y_train)
    out = {"mase": np.nanmean(ev.mase(a, m, y_train, season_length)),
           "mase1": np.nanmean(ev.mase(a, m, y_train, 1)), "rmsse": np.nanmean(rm),
           "rmsse1": np.nanmean(ev.rmsse(a, m, y_train, start="first_observation")),
           "wrmsse": ev.wrmsse(rm, weights, skipna=True) if weights is not None else np.nan,
           "wape": ev.wape_total(a, m), "bias": ev.bias_total(a, m)}
    if fc is not None:
        qs = {q: v[:, skip:] for q, v in fc.quantiles(QUANTILES).items()}
        out["spl"] = np.nanmean(ev.scaled_pinball_loss(a, qs, y_train))
        out["coverage_90"] = ev.interval_coverage_total(a, qs[0.05], qs[0.95])
        out["pit_coverage_90"] = ev.pit_coverage_total(a, lambda x: fc.cdf(np.pad(
            x, ((0, 0), (skip, 0)), constant_values=0.0))[:, skip:])
        n, w = a.shape[0], min(sum_window, a.shape[1])
        sums = fc.window_quantiles(np.full(n, float(skip)), np.full(n, float(w)), (0.95, 0.99))
        total = a[:, :w].sum(axis=1)  # NaN when a period is censored: not scored
        seen = ~np.isnan(total)
        out["sum14_q95_coverage"] = float(np.mean(total[seen] <= sums[0.95][seen]))
        out["sum14_q99_coverage"] = float(np.mean(total[seen] <= sums[0.99][seen]))
        out["pinball_sum14_q95"] = float(np.nanmean(ev.sum_pinball_loss(a, sums[0.95], 0.95, w)))
    return out


def load_dataset(name: str, models, prophet: int, as_of: str | None, horizon: int):
    """The panel (cut at as_of + horizon when as_of is given), covariates and settings."""
    tmp = tempfile.mkdtemp(prefix=f"bench-{Path(name).name}-")
    folder = Path(name) if Path(name).is_dir() else SHARED / name
    settings = RunSettings(data_dir=folder, out_dir=Path(tmp), as_of=as_of, horizon=horizon,
                           models=models, prophet_series=prophet)
    ingest(settings, "bench")
    with Warehouse(settings.warehouse_path) as wh:
        as_of_date = resolve_as_of(wh, settings.as_of)
        panel = load_panel(wh, None)
        end = panel.dates.searchsorted(pd.Timestamp(as_of_date), side="right")
        if as_of is not None:
            panel = _cut_panel(panel, min(end + horizon, len(panel.dates)))
        covariates = load_covariates(wh, panel, horizon, settings)
    return panel, covariates, settings


def bench_dataset(name: str, models: tuple[str, ...] | None, prophet: int, folds: int,
                  as_of: str | None = None, horizon: int | None = None, skip: int = 0,
                  peers: tuple[str, ...] = (), engine: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Engine candidates and the automatic choice, and the peers, over ``folds`` origins each
    ``horizon`` apart (the last window ends at the cut): the mean of each figure over folds."""
    default_as_of, default_horizon = DATASETS.get(name, (None, 28))
    as_of = as_of or default_as_of
    horizon = horizon or default_horizon
    panel, covariates, settings = load_dataset(name, models, prophet, as_of, horizon)
    cfg = dataclasses.replace(engine_config(settings), keep_all=True, **(engine or {}))
    m = panel.freq.season_length
    sum_window = int(min(max(round(14 / panel.freq.period_days), 1), horizon - skip))
    prices = panel.price if np.isfinite(panel.price).any() else None
    if name == "m5_dev" and "LightGBM" not in peers and peers:
        peers = (*peers, "LightGBM")
    rows, peer_rows = [], []
    t_all = panel.demand.shape[1]
    for fold in range(folds):
        end = t_all - horizon * (folds - fold)
        train = _cut_panel(panel, end)
        actual = panel.demand[:, end : end + horizon]
        weights = ev.dollar_weights(train.demand, prices[:, :end]) if prices is not None else None
        wall, cpu = time.perf_counter(), time.process_time()
        result = forecast_panel(train, horizon, cfg, _cut_covariates(covariates, end, horizon),
                                progress=lambda msg: print(f"  {name}: {msg}", file=sys.stderr))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        for model, fc in [*result.model_forecasts.items(), ("auto", result.forecast)]:
            row = score(actual, train.demand, fc.mean, m, weights, fc, skip, sum_window)
            rows.append({"model": model, "fold": fold, **row})
        rows[-1].update(wall_s=wall, cpu_s=cpu)
        if peers:
            means, seconds = _peers.forecasts(
                train.demand, panel.dates, horizon, panel.freq.pandas_freq, m, peers,
                price=None if prices is None else panel.price[:, : end + horizon])
            for model, mean in means.items():
                row = score(actual, train.demand, mean, m, weights, None, skip, sum_window)
                peer_rows.append({"model": model, "fold": fold, **row, "wall_s": seconds[model]["wall"],
                                  "cpu_s": seconds[model]["cpu"]})

    def table(frame_rows):
        if not frame_rows:
            return pd.DataFrame(columns=COLUMNS)
        frame = pd.DataFrame(frame_rows).groupby("model", sort=False).mean(numeric_only=True)
        return frame.reset_index().reindex(columns=COLUMNS)

    summary = table(rows)
    summary.attrs.update(horizon=horizon, skip=skip, as_of=as_of, series=panel.n_series,
                         selection={k.replace("selection_score:", ""): round(v, 4) if isinstance(v, float) else v
                                    for k, v in result.calibration.items() if k.startswith("selection")},
                         calibration={k: round(v, 3) for k, v in result.calibration.items()
                                      if not k.startswith("selection")},
                         seconds={k: round(v, 1) for k, v in result.seconds.items()})
    if name == "dominicks_oj" and (models is None or "gbm" in models):
        summary.attrs["campaign_wape"] = campaign_week_wape(panel, horizon, covariates, settings)
    return summary, table(peer_rows)


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


def best_peer_gap(summary: pd.DataFrame, peers: pd.DataFrame) -> str:
    """The automatic choice against the best peer on each point measure (negative = better)."""
    auto = summary.set_index("model").loc["auto"]
    parts = []
    for col in ("mase", "mase1", "rmsse", "rmsse1", "wrmsse"):
        if col in peers and peers[col].notna().any() and np.isfinite(auto[col]):
            best = peers.loc[peers[col].idxmin()]
            parts.append(f"{col} {auto[col]:.4f} vs {best['model']} {best[col]:.4f} "
                         f"({auto[col] / best[col] - 1:+.1%})")
    return "auto vs best peer: " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=None, help="comma-separated candidates (default: engine's)")
    parser.add_argument("--prophet-series", type=int, default=0)
    parser.add_argument("--folds", type=int, default=1)
    parser.add_argument("--as-of", default=None, help="history to this date (default per data set)")
    parser.add_argument("--horizon", type=int, default=None)
    parser.add_argument("--skip", type=int, default=0, help="score from this period on (28: days 29-56)")
    parser.add_argument("--peers", default=",".join(_peers.STATS_PEERS),
                        help="statsforecast peers ('' for none; m5_dev adds mlforecast LightGBM)")
    parser.add_argument("--engine", action="append", default=[],
                        help="an EngineConfig field, e.g. --engine intermittent_score=mse (repeat)")
    args = parser.parse_args()
    engine = {}
    for item in args.engine:
        key, value = item.split("=", 1)
        default = getattr(EngineConfig(), key)
        if isinstance(default, bool):
            engine[key] = value.lower() in ("1", "true", "yes")
        elif default is None or isinstance(default, (int, float)):
            kind = type(default) if default is not None else (float if "." in value else int)
            engine[key] = None if value == "None" else kind(float(value) if kind is float else int(float(value)))
        else:
            engine[key] = type(default)(value)
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} not found: the accuracy benchmark needs ../shared/data")
    models = tuple(args.models.split(",")) if args.models else None
    peers = tuple(p for p in args.peers.split(",") if p)
    if peers and not _peers.available():
        sys.exit("the peers venv is missing: run `make peers` (or pass --peers '')")
    pd.set_option("display.width", 200)
    fmt = lambda v: f"{v:.4f}"
    for name in args.datasets.split(","):
        summary, peer_table = bench_dataset(name, models, args.prophet_series, args.folds,
                                            args.as_of, args.horizon, args.skip, peers, engine)
        a = summary.attrs
        print(f"\n== {name}: {a['series']} series, history to {a['as_of'] or 'last - horizon'}, "
              f"horizon {a['horizon']}, scoring periods {a['skip'] + 1}-{a['horizon']}, "
              f"{args.folds} fold(s); engine wall/CPU s on the auto row")
        print(summary.to_string(index=False, float_format=fmt, na_rep="-"))
        print(f"selection (last fold): {a['selection']}; engine seconds: {a['seconds']}")
        print(f"calibration (last fold): {a['calibration']}")
        if not peer_table.empty:
            print(f"-- peers on {name} (same split and scoring)")
            print(peer_table.to_string(index=False, float_format=fmt, na_rep="-"))
            print(best_peer_gap(summary, peer_table))
        if "campaign_wape" in a:
            w = a["campaign_wape"]
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
