"""Statistical forecasters, vectorised across series: ``fit(y, season_length)``, ``predict(h)``.

``y`` is ``(n_series, T)`` float64 on one calendar, NaN = not observed. See ``base.Forecaster``.
"""

from forecast.forecasters.base import Forecaster, NotFittedError
from forecast.forecasters.baseline import MovingAverage, SeasonalMovingAverage, SeasonalNaive
from forecast.forecasters.ets import DampedTrend, HoltWinters, SimpleExpSmoothing, Theta
from forecast.forecasters.intermittent import SBA, TSB, Croston
from forecast.forecasters.prophet import ProphetForecaster

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
