"""Statistical forecasters, vectorised across series: ``fit(y, season_length)``, ``predict(h)``.

``y`` is ``(n_series, T)`` float64 on one calendar, NaN = not observed. See ``base.Forecaster``.
"""

from forecast.forecasting.forecasters.aggregation import ADIDA, IMAPA
from forecast.forecasting.forecasters.base import Forecaster, NotFittedError
from forecast.forecasting.forecasters.baseline import (
    MovingAverage,
    SeasonalMovingAverage,
    SeasonalNaive,
)
from forecast.forecasting.forecasters.damped import DampedTrend
from forecast.forecasting.forecasters.holt_winters import HoltWinters
from forecast.forecasting.forecasters.intermittent import SBA, TSB, Croston
from forecast.forecasting.forecasters.prophet import ProphetForecaster
from forecast.forecasting.forecasters.ses import SimpleExpSmoothing
from forecast.forecasting.forecasters.theta import Theta

__all__ = [
    "ADIDA",
    "IMAPA",
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
