"""Speed benchmark of the forecast engine: synthetic series through the default engine.

    python bench/scale.py --series 10000 --days 730 [--horizon 28] [--prophet-series 0] [--locations 1]
    python bench/scale.py --sweep [--sizes 100,1000,10000] [--peer-cap 1000]

Builds a synthetic panel (weekly + yearly seasonality, trend, campaigns, intermittent series,
stockout gaps) and covariates, then fits every default candidate with the inner backtest,
forecasts 28 days with quantiles and lead-time sums, and prints wall time and peak memory per
stage (plus the engine's own per-model times). Prophet, the slow one, runs only on the top
sellers given by --prophet-series, in parallel processes, and its cost per series is printed.

``--sweep``: the forecast step (engine fit + select + forecast) at each size, wall and CPU
time of this process and peak memory, beside statsforecast AutoETS (season 7, one process,
bench/peers.py in the peers venv, `make peers`) on the same series. AutoETS takes about a
quarter of a CPU-second per 730-day series, so above ``--peer-cap`` series it runs on the
first ``--peer-cap`` and its time is scaled to the full size (marked "scaled").
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import time

import _peers
from _measure import Stages

from forecast.forecasting.distribution import QUANTILE_COLUMNS
from forecast.forecasting.engine import EngineConfig, forecast_panel
from forecast.forecasting.features import build_covariates
from forecast.forecasting.series import DAILY, Panel


def synthetic(n: int, days: int, horizon: int, seed: int = 0, locations: int = 1):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    t = np.arange(days + horizon)
    level = np.exp(rng.normal(1.0, 1.2, n))
    intermittent = rng.random(n) < 0.3
    level[intermittent] = rng.uniform(0.05, 0.6, intermittent.sum())
    weekly = 1 + 0.25 * np.sin(2 * np.pi * (t[None, :] % 7) / 7 + rng.uniform(0, 6, (n, 1)))
    yearly = 1 + 0.2 * np.sin(2 * np.pi * t[None, :] / 365.25 + rng.uniform(0, 6, (n, 1)))
    trend = 1 + rng.normal(0, 0.0003, (n, 1)) * t[None, :]
    mean = level[:, None] * weekly * yearly * np.clip(trend, 0.2, None)
    # with several locations each SKU sells at `locations` of them (the global model pools them)
    keys = pd.DataFrame({"sku": [f"S{i // locations:05d}" for i in range(n)],
                         "location": [f"L{i % locations}" for i in range(n)]})
    skus = keys["sku"].drop_duplicates().to_numpy()
    categories = rng.integers(0, 8, len(skus))
    products = pd.DataFrame({"sku": skus, "category": [f"cat{c}" for c in categories]})
    starts = rng.integers(0, days + horizon - 10, n // 2)
    campaigns = pd.DataFrame({
        "sku": skus[rng.integers(0, len(skus), n // 2)],
        "category": "", "location": "",
        "start_date": dates[0] + pd.to_timedelta(starts, unit="D"),
        "end_date": dates[0] + pd.to_timedelta(starts + rng.integers(3, 10, n // 2), unit="D"),
        "kind": rng.choice(["price_promo", "email"], n // 2),
        "discount_pct": rng.uniform(10, 30, n // 2).round(),
    })
    y = rng.poisson(mean[:, :days]).astype(float)
    y[rng.random((n, days)) < 0.01] = np.nan  # censored days
    start = rng.integers(0, days // 3, n)
    y[np.arange(days)[None, :] < start[:, None]] = np.nan  # late starters
    panel = Panel(keys, dates, y, np.nan_to_num(y), np.isnan(y), np.full((n, days), 2.5), DAILY)
    return panel, products, campaigns


def sweep(sizes: list[int], days: int, horizon: int, peer_cap: int) -> None:
    """Forecast step and AutoETS at each size (module docstring)."""
    print(f"{'series':>7} {'engine wall s':>14} {'engine CPU s':>13} {'max RSS GB':>10} "
          f"{'AutoETS wall s':>15} {'AutoETS CPU s':>14} {'CPU ratio':>10}")
    for n in sizes:
        panel, products, campaigns = synthetic(n, days, horizon)
        cov = build_covariates(panel.keys, panel.dates, horizon, panel.freq,
                               campaigns=campaigns, products=products, price=panel.price)
        wall, cpu = time.perf_counter(), time.process_time()
        forecast_panel(panel, horizon, EngineConfig(), cov)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**30
        peer, note = ("-", "-"), "-"
        if _peers.available():
            rows = min(n, peer_cap)
            _, seconds = _peers.forecasts(panel.demand[:rows], panel.dates, horizon, "D", 7, ("AutoETS",))
            factor = n / rows
            ets_wall, ets_cpu = seconds["AutoETS"]["wall"] * factor, seconds["AutoETS"]["cpu"] * factor
            mark = " (scaled)" if factor > 1 else ""
            peer = (f"{ets_wall:.1f}{mark}", f"{ets_cpu:.1f}{mark}")
            note = f"{ets_cpu / cpu:.1f}x"
        print(f"{n:>7} {wall:>14.1f} {cpu:>13.1f} {peak:>10.2f} {peer[0]:>15} {peer[1]:>14} {note:>10}",
              flush=True)
        del panel, cov


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--prophet-series", type=int, default=0)
    parser.add_argument("--models", default=None, help="comma-separated candidates (default: engine's)")
    parser.add_argument("--sweep", action="store_true", help="forecast step at several sizes vs AutoETS")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--peer-cap", type=int, default=1000)
    parser.add_argument("--locations", type=int, default=1,
                        help="locations per SKU (2+: the global model is pooled over them)")
    args = parser.parse_args()
    if args.sweep:
        sweep([int(v) for v in args.sizes.split(",")], args.days, args.horizon, args.peer_cap)
        return
    stages = Stages()
    print(f"{args.series:,} series x {args.days} days, horizon {args.horizon}")
    with stages.stage("synthetic data"):
        panel, products, campaigns = synthetic(args.series, args.days, args.horizon,
                                               locations=args.locations)
    with stages.stage("covariates"):
        cov = build_covariates(panel.keys, panel.dates, args.horizon, panel.freq,
                               campaigns=campaigns, products=products, price=panel.price)
    models = tuple(args.models.split(",")) if args.models else EngineConfig().models
    if args.prophet_series:
        models = (*models, "prophet")
    cfg = EngineConfig(models=models, prophet_series=args.prophet_series)
    with stages.stage("engine fit + select + forecast"):
        result = forecast_panel(panel, args.horizon, cfg, cov)
    with stages.stage("quantiles + lead-time sums"):
        frame = result.forecast.to_frame()
        n = panel.n_series
        result.forecast.window_quantiles(np.zeros(n), np.full(n, 14.0), (0.9, 0.95))
    stages.report("fit + forecast")
    print("engine seconds by part:", {k: round(v, 1) for k, v in result.seconds.items()})
    print(f"forecast rows {len(frame):,}; quantile columns {list(QUANTILE_COLUMNS)}")
    if args.prophet_series:
        spent = result.seconds.get("backtest:prophet", 0) + result.seconds.get("fit:prophet", 0)
        fits = args.prophet_series * (1 + cfg.folds)
        print(f"prophet: {args.prophet_series} series x {1 + cfg.folds} fits, {spent:.1f} s wall, "
              f"{spent / fits * 1000:.0f} ms per series-fit with {cfg.prophet_jobs} processes")


if __name__ == "__main__":
    main()
