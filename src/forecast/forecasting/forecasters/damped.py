"""Additive damped-trend exponential smoothing (Gardner & McKenzie 1985; FPP3 sec. 8.2): the
Holt-Winters model of :mod:`.holt_winters` with ``trend="add", damped=True``."""

from __future__ import annotations

import numpy as np

from forecast.forecasting.forecasters.ets_kernel import _Spec
from forecast.forecasting.forecasters.holt_winters import HoltWinters


class DampedTrend(HoltWinters):
    """Additive damped-trend exponential smoothing (Gardner & McKenzie 1985; FPP3 sec. 8.2).

    ``y_hat[T+k] = l_T + (phi + phi^2 + ... + phi^k) b_T`` (plus the season when
    ``seasonal`` is set): ``HoltWinters(trend="add", damped=True, ...)`` under its own name.
    """

    def __init__(
        self,
        seasonal: str | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        gamma: float | None = None,
        phi: float | None = None,
        initial_level: float | np.ndarray | None = None,
        initial_trend: float | np.ndarray | None = None,
        initial_seasonal: np.ndarray | None = None,
        refine: bool = True,
        optimize_initial: bool = True,
    ):
        self.seasonal = seasonal
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.phi = phi
        self.initial_level = initial_level
        self.initial_trend = initial_trend
        self.initial_seasonal = initial_seasonal
        self.refine = refine
        self.optimize_initial = optimize_initial

    def _spec(self) -> _Spec:
        return _Spec(trend=True, damped=True, seasonal=self.seasonal)
