"""Time fit + predict(28) of each statistical forecaster on many synthetic daily series.

Usage: python bench/forecasters_speed.py [--series 10000] [--days 730] [--horizon 28]

Prints seconds per model (wall clock, one process). Data: weekly-seasonal daily demand with a
slow level drift, Poisson noise, ~30% intermittent series, 2% censored (NaN) days and staggered
series starts; the same seed gives the same data.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from forecast.forecasting.forecasters import (
    SBA,
    TSB,
    Croston,
    DampedTrend,
    HoltWinters,
    MovingAverage,
    SeasonalMovingAverage,
    SeasonalNaive,
    SimpleExpSmoothing,
    Theta,
)

SEASON_LENGTH = 7


def synthetic_demand(n_series: int, n_days: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_days)
    level = rng.gamma(2.0, 5.0, size=(n_series, 1))
    drift = 1.0 + 0.3 * np.sin(2 * np.pi * t / 365.0 + rng.uniform(0, 6.3, (n_series, 1)))
    weekly = 1.0 + 0.3 * np.sin(2 * np.pi * t / SEASON_LENGTH + rng.uniform(0, 6.3, (n_series, 1)))
    rate = level * drift * weekly
    slow = rng.random(n_series) < 0.3
    rate[slow] *= 0.02
    y = rng.poisson(rate).astype(np.float64)
    y[rng.random(y.shape) < 0.02] = np.nan  # censored days
    starts = rng.integers(0, n_days // 2, n_series) * (rng.random(n_series) < 0.3)
    y[t[None, :] < starts[:, None]] = np.nan  # series that started later
    return y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=28)
    args = parser.parse_args()
    y = synthetic_demand(args.series, args.days)
    models = {
        "SeasonalNaive": SeasonalNaive(),
        "MovingAverage(28)": MovingAverage(window=28),
        "SeasonalMovingAverage(4)": SeasonalMovingAverage(window=4),
        "SimpleExpSmoothing": SimpleExpSmoothing(),
        "Holt (trend add)": HoltWinters(trend="add"),
        "DampedTrend": DampedTrend(),
        "HoltWinters (N,A)": HoltWinters(seasonal="add"),
        "HoltWinters (A,A)": HoltWinters(trend="add", seasonal="add"),
        "HoltWinters (Ad,A)": HoltWinters(trend="add", damped=True, seasonal="add"),
        "HoltWinters (N,M)": HoltWinters(seasonal="mul"),
        "Theta": Theta(),
        "Croston(0.1)": Croston(),
        "SBA(0.1)": SBA(),
        "TSB(0.1, 0.1)": TSB(),
        "Croston(auto)": Croston(alpha=None),
        "TSB(auto)": TSB(alpha_demand=None, alpha_probability=None),
    }
    print(f"{args.series} series x {args.days} days, season {SEASON_LENGTH}, h={args.horizon}")
    for name, model in models.items():
        began = time.perf_counter()
        forecast = model.fit(y, SEASON_LENGTH).predict(args.horizon)
        seconds = time.perf_counter() - began
        assert forecast.shape == (args.series, args.horizon) and np.isfinite(forecast).all()
        print(f"{name:<26}{seconds:8.2f} s")


if __name__ == "__main__":
    main()
