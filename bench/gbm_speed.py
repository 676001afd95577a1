"""Time build_covariates + GlobalGBM fit + predict(h) on many synthetic daily series.

Usage: python bench/gbm_speed.py [--skus 2000] [--locations 5] [--days 730] [--horizon 28]
       python bench/gbm_speed.py --m5 ../shared/data/m5_dev


Data: SKUs x locations (10,000 series by default) with weekly seasonality, a slow yearly wave,
Poisson noise, ~30% slow movers, 2% censored (NaN) days, and about one SKU campaign per SKU per
quarter plus category-wide campaigns (price promos lift demand 1 + 2.5 x discount, e-mails
+15%), some planned after the history. Prints wall-clock seconds per step, the process' peak
resident memory, and the holdout accuracy of the forecast against the true mean demand.

``--m5 DIR``: instead, the M5 backtest of DATA.md on the m5_dev subset: forecast
2016-03-28..2016-04-24 from the history up to 2016-03-27 (events.csv: calendar events and SNAP
days per store), RMSSE per series and the dollar-weighted mean (WRMSSE), side by side with
seasonal naive and simple exponential smoothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

from forecast.forecasting.evaluation import dollar_weights, rmsse, wrmsse
from forecast.forecasting.features import build_covariates
from forecast.forecasting.forecasters import SeasonalNaive, SimpleExpSmoothing
from forecast.forecasting.forecasters.gbm import GlobalGBM
from forecast.forecasting.series import DAILY, build_panel


def synthetic(n_skus: int, n_locations: int, days: int, horizon: int, seed: int = 0):
    """Keys, dates, products, campaigns, price (n, days) and the true mean (n, days + horizon)."""
    rng = np.random.default_rng(seed)
    n = n_skus * n_locations
    n_all = days + horizon
    dates = pd.date_range("2023-01-02", periods=days, freq="D")
    all_dates = pd.date_range(dates[0], periods=n_all, freq="D")
    skus = np.array([f"SKU{s:05d}" for s in range(n_skus)])
    locations = np.array([f"L{j}" for j in range(n_locations)])
    keys = pd.DataFrame(
        {"sku": np.repeat(skus, n_locations), "location": np.tile(locations, n_skus)}
    )
    categories = np.array([f"cat{c}" for c in range(10)])
    sku_cat = rng.integers(0, 10, n_skus)
    products = pd.DataFrame({"sku": skus, "category": categories[sku_cat]})

    n_sku_campaigns = n_skus * days // 90
    c_sku = rng.integers(0, n_skus, n_sku_campaigns)
    c_start = rng.integers(0, n_all - 3, n_sku_campaigns)
    c_len = rng.integers(3, 15, n_sku_campaigns)
    c_kind = np.where(rng.random(n_sku_campaigns) < 0.6, "price_promo", "email")
    c_disc = np.where(c_kind == "price_promo", rng.choice([10.0, 20.0, 30.0], n_sku_campaigns), 0.0)
    c_loc = np.where(rng.random(n_sku_campaigns) < 0.3, rng.choice(locations, n_sku_campaigns), "")
    n_cat_campaigns = 10 * days // 60
    k_cat = rng.integers(0, 10, n_cat_campaigns)
    k_start = rng.integers(0, n_all - 3, n_cat_campaigns)
    k_len = rng.integers(3, 10, n_cat_campaigns)
    campaigns = pd.DataFrame(
        {
            "sku": np.r_[skus[c_sku], np.full(n_cat_campaigns, "")],
            "category": np.r_[np.full(n_sku_campaigns, ""), categories[k_cat]],
            "location": np.r_[c_loc, np.full(n_cat_campaigns, "")],
            "start_date": all_dates[np.r_[c_start, k_start]],
            "end_date": all_dates[
                np.minimum(np.r_[c_start + c_len, k_start + k_len] - 1, n_all - 1)
            ],
            "kind": np.r_[c_kind, np.full(n_cat_campaigns, "email")],
            "discount_pct": np.r_[c_disc, np.zeros(n_cat_campaigns)],
        }
    )
    cov = build_covariates(keys, dates, horizon, DAILY, campaigns=campaigns, products=products)
    lift = np.where(cov.campaign_kind == cov.kind_names.index("email"), 1.15, 1.0)
    lift = lift + 2.5 * cov.campaign_discount
    t = np.arange(n_all)
    level = rng.gamma(2.0, 4.0, (n, 1))
    level[rng.random(n) < 0.3] *= 0.05
    weekly = 1.0 + 0.35 * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 6.3, (n, 1)))
    yearly = 1.0 + 0.2 * np.cos(2 * np.pi * (t - rng.integers(0, 365, (n, 1))) / 365.25)
    mean = level * weekly * yearly * lift
    unit_price = rng.uniform(1.0, 10.0, n)[:, None]
    price = (unit_price * (1.0 - cov.campaign_discount[:, :days])).astype(float)
    return keys, dates, products, campaigns, price, mean, rng


def m5_backtest(folder: str, horizon: int = 28, cutoff: str = "2016-03-27") -> None:
    sales = pd.read_csv(f"{folder}/sales.csv.gz", parse_dates=["date"])
    events = pd.read_csv(f"{folder}/events.csv")
    products = pd.read_csv(f"{folder}/products.csv")
    history = sales[sales["date"] <= pd.Timestamp(cutoff)]
    test = sales[sales["date"] > pd.Timestamp(cutoff)]
    panel = build_panel(history)
    future = panel.future_dates(horizon)
    actual = np.full((panel.n_series, horizon), np.nan)
    row = pd.MultiIndex.from_frame(panel.keys).get_indexer(
        pd.MultiIndex.from_frame(test[["sku", "location"]])
    )
    col = future.get_indexer(test["date"])
    ok = (row >= 0) & (col >= 0)
    actual[row[ok], col[ok]] = test["quantity"].to_numpy(dtype=float)[ok]
    weights = dollar_weights(panel.demand, panel.price)
    t0 = time.perf_counter()
    cov = build_covariates(
        panel.keys,
        panel.dates,
        horizon,
        panel.freq,
        events=events,
        products=products,
        price=panel.price,
    )
    gbm = GlobalGBM().fit(panel.demand, 7, covariates=cov).predict(horizon)
    seconds = time.perf_counter() - t0
    print(
        f"m5_dev: {panel.n_series} series, history {panel.dates[0]:%Y-%m-%d}..{cutoff}, "
        f"forecast {future[0]:%Y-%m-%d}..{future[-1]:%Y-%m-%d}"
    )
    forecasts = {
        "seasonal naive": SeasonalNaive().fit(panel.demand, 7).predict(horizon),
        "simple exp. smoothing": SimpleExpSmoothing().fit(panel.demand, 7).predict(horizon),
        "GlobalGBM": gbm,
    }
    print(f"{'model':24s} {'WRMSSE':>7s} {'mean RMSSE':>11s}")
    for name, forecast in forecasts.items():
        scores = rmsse(actual, forecast, panel.demand)
        print(f"{name:24s} {wrmsse(scores, weights):7.3f} {np.nanmean(scores):11.3f}")
    print(f"GlobalGBM covariates + fit + predict: {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--locations", type=int, default=5)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument("--m5", metavar="DIR", help="run the M5 backtest on this folder instead")
    args = parser.parse_args()
    if args.m5:
        m5_backtest(args.m5, args.horizon)
        return
    keys, dates, products, campaigns, price, mean, rng = synthetic(
        args.skus, args.locations, args.days, args.horizon
    )
    y = rng.poisson(mean[:, : args.days]).astype(float)
    y[rng.random(y.shape) < 0.02] = np.nan
    print(f"{len(keys)} series x {args.days} days, {len(campaigns)} campaigns", flush=True)

    c0, t0 = time.process_time(), time.perf_counter()
    cov = build_covariates(
        keys, dates, args.horizon, DAILY, campaigns=campaigns, products=products, price=price
    )
    c1, t1 = time.process_time(), time.perf_counter()
    params = {}
    if args.max_rows:
        params["max_rows"] = args.max_rows
    if args.max_iter:
        params["max_iter"] = args.max_iter
    model = GlobalGBM(**params).fit(y, season_length=7, covariates=cov)
    c2, t2 = time.process_time(), time.perf_counter()
    forecast = model.predict(args.horizon)
    c3, t3 = time.process_time(), time.perf_counter()

    truth = mean[:, args.days :]
    naive = np.nan_to_num(np.tile(y[:, -7:], (1, args.horizon // 7 + 1))[:, : args.horizon])
    print("step                wall s    cpu s (all threads)")
    print(f"build_covariates  {t1 - t0:8.2f} {c1 - c0:8.2f}")
    print(f"GlobalGBM.fit     {t2 - t1:8.2f} {c2 - c1:8.2f}  ({model.n_training_rows_:,} rows)")
    print(f"predict({args.horizon})       {t3 - t2:8.2f} {c3 - c2:8.2f}")
    print(f"total             {t3 - t0:8.2f} {c3 - c0:8.2f}")
    print(
        f"load average      {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work slows wall time)"
    )
    scale = 1024**2 if sys.platform == "darwin" else 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    print(f"peak RSS          {peak:7.0f} MB")
    for name, f in (("GlobalGBM", forecast), ("seasonal naive", naive)):
        rmse = np.sqrt(np.mean((f - truth) ** 2))
        bias = f.sum() / truth.sum() - 1
        print(f"{name:15s} RMSE vs true mean {rmse:.3f}, bias {bias:+.1%}")


if __name__ == "__main__":
    main()
