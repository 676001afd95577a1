"""Holt-Winters exponential smoothing: level, optional (damped) trend, optional season (FPP3
ch. 8), on the shared ETS kernel (:mod:`.ets_kernel`, estimation in :mod:`.ets_fit`)."""

from __future__ import annotations

import numpy as np

from forecast.forecasting.forecasters.ets_fit import _ExponentialSmoothingBase
from forecast.forecasting.forecasters.ets_kernel import _Spec


class HoltWinters(_ExponentialSmoothingBase):
    """Holt-Winters exponential smoothing: level, optional (damped) trend, optional season.

    Additive-error ETS recursions of FPP3 ch. 8 (see the module docstring): ``trend=None``
    with ``seasonal=None`` is SES, ``trend="add"`` is Holt's linear method (sec. 8.2),
    ``damped=True`` Gardner & McKenzie's damped trend (sec. 8.2), ``seasonal="add"|"mul"``
    Holt-Winters (sec. 8.3). The season length is the one passed to ``fit``; with
    ``season_length == 1`` the seasonal component is dropped, and series with less than two
    full seasons of history are fitted without it (``seasonal_ok_`` is False for them).

    Smoothing parameters left as ``None`` are chosen per series by minimum in-sample one-step
    SSE (module docstring): a coarse grid (``alpha`` 6 values x ``beta_star`` 3 x
    ``gamma_star`` 3 x ``phi`` 2, as applicable) evaluated for all series at once, then
    ``refine`` runs 8 rounds of compass search in logit space around each series' best point.
    ``beta`` is FPP3's ``beta_star`` (statsmodels' ``smoothing_trend``); ``gamma < 1 - alpha``;
    ``0.8 <= phi <= 0.98``. Fixed values must lie in [0, 1].

    Initial states: a heuristic (``_heuristic_initial_states``), then, with
    ``optimize_initial``, their least-squares optimum given the smoothing parameters. Passing
    ``initial_level``, ``initial_trend`` (scalar or per series) or ``initial_seasonal``
    (``(m,)`` or ``(n_series, m)``; entry ``j`` is the seasonal state used at the ``j``-th
    period of the series, statsmodels' ``initial_seasonal``) fixes them instead (any of them
    turns ``optimize_initial`` off). With everything fixed the recursion reproduces
    statsmodels' ``fit(optimized=False)`` with ``initialization_method="known"``.

    ``seasonal="mul"`` is only defined for positive data (its recursion divides by the level
    and the seasonal index): rows with any zero get the additive season instead (``multiplicative_`` says which rows are
    multiplicative), and divisors are floored (season at 0.01, level at 0.1% of the series
    mean) to keep the recursion finite.

    Learned: ``alpha_``, ``beta_``, ``gamma_``, ``phi_`` (per series; None when not in the
    model), ``level_``, ``slope_``, ``season_`` (``(n_series, m)`` by calendar position
    ``t % m``), ``sse_``, ``seasonal_ok_``, ``multiplicative_``, ``fitted_``.

    Example
    -------
    >>> y = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    >>> model = HoltWinters(trend="add", alpha=0.5, beta=0.5, initial_level=0.0,
    ...                     initial_trend=1.0).fit(y)
    >>> model.predict(2)
    array([[7., 8.]])
    """

    def __init__(
        self,
        trend: str | None = None,
        damped: bool = False,
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
        self.trend = trend
        self.damped = damped
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
        if self.trend not in (None, "add"):
            raise ValueError(f"trend must be None or 'add', got {self.trend!r}")
        if self.damped and self.trend is None:
            raise ValueError("damped=True needs trend='add'")
        return _Spec(trend=self.trend == "add", damped=bool(self.damped), seasonal=self.seasonal)
