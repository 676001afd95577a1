"""Statistical forecasters, vectorised across series: ``fit(y, season_length)``, ``predict(h)``.

``y`` is ``(n_series, T)`` float64 on one calendar, NaN = not observed. See ``base.Forecaster``.
"""

from forecast.forecasting.forecasters.base import Forecaster, NotFittedError
from forecast.forecasting.forecasters.baseline import (
    MovingAverage,
    SeasonalMovingAverage,
    SeasonalNaive,
)
from forecast.forecasting.forecasters.ets import DampedTrend, HoltWinters, SimpleExpSmoothing, Theta
from forecast.forecasting.forecasters.intermittent import SBA, TSB, Croston
from forecast.forecasting.forecasters.prophet import ProphetForecaster

__all__ = [
    "SBA",
    "TSB",
    "Croston",
    "DampedTrend",
    "Forecaster",
    "HoltWinters",
    "MovingAverage",
    "NotFittedError",
    "ProphetForecaster",
    "SeasonalMovingAverage",
    "SeasonalNaive",
    "SimpleExpSmoothing",
    "Theta",
]
