"""Simple exponential smoothing (SES), FPP3 sec. 8.1, on the shared ETS kernel (:mod:`.ets_kernel`,
estimation in :mod:`.ets_fit`)."""

from __future__ import annotations

import numpy as np

from forecast.forecasting.forecasters.ets_fit import (
    SES_ALPHA_GRID,
    _ExponentialSmoothingBase,
    _fit_ets,
)
from forecast.forecasting.forecasters.ets_kernel import _Spec


class SimpleExpSmoothing(_ExponentialSmoothingBase):
    """Simple exponential smoothing (SES): flat forecast at the smoothed level.

    ``l_t = l_{t-1} + alpha (y_t - l_{t-1})``, ``y_hat[T+k] = l_T`` (FPP3 sec. 8.1). ``alpha``
    is chosen per series by minimum in-sample one-step SSE over a 12-point grid refined by a
    compass search (``refine``) unless given. The initial level is the mean of the first 10
    observations, then (``optimize_initial``) its least-squares optimum, unless
    ``initial_level`` is given (scalar or one value per series). A NaN day leaves the level
    unchanged, so the result equals that of the series with the day removed.

    Example
    -------
    >>> y = np.array([[10.0, 12.0, np.nan, 8.0]])
    >>> SimpleExpSmoothing(alpha=0.5, initial_level=10.0).fit(y).predict(2)
    array([[9.5, 9.5]])
    """

    def __init__(
        self,
        alpha: float | None = None,
        initial_level: float | np.ndarray | None = None,
        refine: bool = True,
        optimize_initial: bool = True,
    ):
        self.alpha = alpha
        self.initial_level = initial_level
        self.refine = refine
        self.optimize_initial = optimize_initial

    def _spec(self) -> _Spec:
        return _Spec(trend=False, damped=False, seasonal=None)

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        learned = _fit_ets(
            y,
            1,
            self._spec(),
            {"alpha": self.alpha},
            {"level": self.initial_level},
            self.refine,
            self.optimize_initial,
            alpha_grid=SES_ALPHA_GRID,
        )
        self.spec_ = learned["spec"]
        self.alpha_ = learned["params"]["alpha"]
        self.phi_ = None
        self.level_ = learned["level"]
        self.slope_ = learned["slope"]
        self.season_ = None
        self.sse_ = learned["sse"]
        self.fitted_ = learned["fitted"]
