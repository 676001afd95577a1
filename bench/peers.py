"""Peer forecasters (Nixtla statsforecast, mlforecast) on one training window, for the benchmarks.

Runs in its own venv (``make peers`` builds ``.venv-peers`` from ``bench/peers-requirements.txt``:
statsforecast pins pandas < 3, the project needs pandas 3), as a separate process started by
``bench/accuracy.py`` and ``bench/scale.py``; it never imports the project and the project never
imports it.

    .venv-peers/bin/python bench/peers.py --train train.csv --horizon 28 --freq D \
        --season-length 7 --models AutoETS,ADIDA,IMAPA,TSB,CrostonSBA,HistoricAverage,LightGBM \
        --out forecasts.csv [--future future.csv] [--jobs 1]

``train.csv``: ``unique_id, ds, y`` (and ``price`` for the LightGBM model when given); periods
that are not observed are simply absent (statsforecast models take the observed values in
order, as the engine skips NaN periods). ``future.csv``: ``unique_id, ds, price`` over the
horizon. Writes ``unique_id, ds`` and one column per model, and beside it ``<out>.json`` with
each model's wall and CPU seconds (CPU of this process: ``--jobs 1`` makes them comparable).

Models: statsforecast AutoETS (season ``--season-length``), ADIDA, IMAPA, TSB(0.1, 0.1),
CrostonSBA, HistoricAverage; ``LightGBM``: an M5-style mlforecast global model (lags 7, 14, 28;
rolling means of lag 1 and 7 over 7 and 28 periods; day of week, month, day of month; the
price when given; recursive multi-step; 500 trees, learning rate 0.05, 63 leaves, Tweedie
loss as in the M5 winners' models).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd

STATS = ("AutoETS", "ADIDA", "IMAPA", "TSB", "CrostonSBA", "HistoricAverage")


def stats_model(name: str, season_length: int):
    from statsforecast import models as m

    return {
        "AutoETS": lambda: m.AutoETS(season_length=season_length),
        "ADIDA": lambda: m.ADIDA(),
        "IMAPA": lambda: m.IMAPA(),
        "TSB": lambda: m.TSB(alpha_d=0.1, alpha_p=0.1),
        "CrostonSBA": lambda: m.CrostonSBA(),
        "HistoricAverage": lambda: m.HistoricAverage(),
    }[name]()


def run_stats(train: pd.DataFrame, name: str, horizon: int, freq: str, season_length: int,
              jobs: int) -> pd.DataFrame:
    from statsforecast import StatsForecast

    model = stats_model(name, season_length)
    sf = StatsForecast(models=[model], freq=freq, n_jobs=jobs)
    out = sf.forecast(df=train[["unique_id", "ds", "y"]], h=horizon)
    return out.rename(columns={str(model): name})[["unique_id", "ds", name]]


def run_lightgbm(train: pd.DataFrame, horizon: int, freq: str, future: pd.DataFrame | None,
                 jobs: int, seed: int) -> pd.DataFrame:
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    model = lgb.LGBMRegressor(n_estimators=500, learning_rate=0.05, num_leaves=63,
                              objective="tweedie", tweedie_variance_power=1.1,
                              min_child_samples=20, subsample=0.8, subsample_freq=1,
                              colsample_bytree=0.8, n_jobs=jobs, random_state=seed, verbose=-1)
    fcst = MLForecast(
        models={"LightGBM": model}, freq=freq, lags=[7, 14, 28],
        lag_transforms={1: [RollingMean(7), RollingMean(28)], 7: [RollingMean(7), RollingMean(28)]},
        date_features=["dayofweek", "month", "day"],
    )
    has_price = "price" in train and future is not None
    columns = ["unique_id", "ds", "y", *(["price"] if has_price else [])]
    fcst.fit(train[columns], static_features=[])
    out = fcst.predict(horizon, X_df=future[["unique_id", "ds", "price"]] if has_price else None)
    out["LightGBM"] = out["LightGBM"].clip(lower=0.0)
    return out[["unique_id", "ds", "LightGBM"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--future", default=None)
    parser.add_argument("--horizon", type=int, required=True)
    parser.add_argument("--freq", required=True, help="pandas frequency: D, W-THU, MS, ...")
    parser.add_argument("--season-length", type=int, default=1)
    parser.add_argument("--models", default=",".join(STATS))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")
    train = pd.read_csv(args.train, parse_dates=["ds"], dtype={"unique_id": str})
    future = (pd.read_csv(args.future, parse_dates=["ds"], dtype={"unique_id": str})
              if args.future else None)
    keys = train[["unique_id"]].drop_duplicates()
    result = None
    seconds: dict[str, dict[str, float]] = {}
    for name in args.models.split(","):
        wall, cpu = time.perf_counter(), time.process_time()
        if name == "LightGBM":
            part = run_lightgbm(train, args.horizon, args.freq, future, args.jobs, args.seed)
        else:
            part = run_stats(train, name, args.horizon, args.freq, args.season_length, args.jobs)
        seconds[name] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
        print(f"peers: {name} {seconds[name]['wall']:.1f} s wall, {seconds[name]['cpu']:.1f} s CPU",
              flush=True)
        part["unique_id"] = part["unique_id"].astype(str)
        result = part if result is None else result.merge(part, on=["unique_id", "ds"], how="outer")
    assert result is not None and set(result["unique_id"]) <= set(keys["unique_id"])
    result = result.sort_values(["unique_id", "ds"])
    result[result.columns[2:]] = result[result.columns[2:]].astype(np.float64)
    result.to_csv(args.out, index=False)
    with open(f"{args.out}.json", "w") as f:
        json.dump(seconds, f, indent=1)


if __name__ == "__main__":
    main()
