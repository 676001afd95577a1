"""One global gradient-boosting model across all series (LightGBM, or scikit-learn
HistGradientBoosting with ``backend="sklearn"``).

Strategy: **direct multi-horizon**. One model learns ``y[t] / scale[o]`` for a target period
``t = o + k`` from what is known at a forecast origin ``o`` (lags and rolling statistics of the
demand up to ``o``) plus what is known about ``t`` itself (calendar, events, holidays, planned
campaigns, price) and the step ``k`` (1..max_horizon) as a feature. Forecasting from the last
history period is then a single ``predict`` call on ``n_series x h`` rows: no recursion, so no
feedback of forecast errors into lags, and lags never "see" the future.

Why not recursive (lag_1..lag_7 fed back step by step)? It needs ``h`` sequential predict calls
and feeds promotion-inflated predictions back into the lags of the days after a campaign; the
direct model reads "campaign active on t" and "days after a campaign on t" against the last
*observed* level, which is what the planners need, and it is as fast to train.

Scale: every level-like feature and the target are divided by the series' mean demand over the
last ``scale_window`` observed periods up to the origin (falling back to the mean of the whole
history up to the origin), and the forecast is multiplied back. With the Poisson loss (log link)
the trees then model *multiplicative* effects (weekday x promotion x event), shared by series of
every size; ``log(scale)`` is a feature so that slow movers can behave differently.

Censoring: ``NaN`` demand (stockouts, gaps) is never a target (those rows are dropped), never
counted as zero in a rolling mean (every statistic is NaN-aware), and a lag that falls on a NaN
stays NaN (the trees send missing values down a learned branch).

Features (float32), at origin ``o``: lags ``y[o - j] / scale`` (``j < n_lags``), rolling means
over ``windows`` / scale, rolling std, zero share and observed share over ``scale_window``,
``log(scale)``, periods since the last sale, age of the series, the seasonal lag
``y[t - m ceil(k / m)]`` and the mean of the last 4 same-position values (``m`` = season
length), for daily data from step 29 on the change of demand a year before from the origin's to
the target's time of year (``yearly_from_step``), campaign share of the scale window, campaign active at ``o``, price at ``o`` relative
to the regular price. At target ``t``: step ``k``, calendar
(:func:`forecast.forecasting.features.calendar_features`), event / holiday flags (also per event kind),
periods to the next / since the last event, price relative to the regular price at ``o`` and at
``t`` (regular = highest price of the last 26 weeks, :func:`forecast.forecasting.features.regular_price_matrix`:
a deal shows as a price drop even when the campaigns carry no discount), campaign active /
discount / kind / days into / days after / kind of the campaign just ended, one flag per
campaign kind (overlapping campaigns each keep theirs), what the other series of the location
run on ``t`` (share in a campaign, per kind, and their mean relative price, each also weighted
by the series' mean demand, the deepest competing deal and the own shelf price against the
competitors' mean and cheapest: cross-effects),
product category. Without covariates only the demand features and the seasonal position
``t mod m`` are used. Everything about ``t`` is known in advance: planned campaigns, planned
prices, the calendar; nothing after ``o`` is read from the demand.

Training rows: ``(series, target period, step)`` drawn at random (``random_state``) from the
observed target periods after a warm-up of ``scale_window`` periods, at most ``max_rows``; when
the history has campaigns, with probability ``0.5 ** (age / recency_halflife_days)`` so that the
recent campaign response counts more.

``fitted_``: one-step-ahead in-sample predictions (``k = 1``) over the last ``fitted_periods``
history periods, NaN before them.
"""

from __future__ import annotations

import functools
import logging
import os
import threading

# OpenMP threads that spin while waiting made HistGradientBoosting 4-5x *slower* on 2 threads
# than on 1 whenever another process shared the cores (measured here: 27-36 s against 7 s);
# passive waiting removes that. Read by libgomp when scikit-learn loads it, so only a default
# set before the first scikit-learn import takes effect; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from forecast.forecasting.features import (
    REGULAR_PRICE_DAYS,
    Covariates,
    OthersInGroup,
    calendar_features,
    mean_of_others,
    regular_price_matrix,
)
from forecast.forecasting.forecasters.base import Forecaster


@functools.cache
def lightgbm_available() -> bool:
    """Whether LightGBM loads here. Its Linux library needs the system's OpenMP runtime
    (``libgomp.so.1``, installed with gcc); without it the model falls back to scikit-learn's
    booster, which brings its own, with one warning, rather than failing the run."""
    try:
        import lightgbm  # noqa: F401
    except (ImportError, OSError) as exc:
        logging.getLogger(__name__).warning(
            "LightGBM does not load (%s): the global model uses scikit-learn's HistGradientBoosting", exc)
        return False
    return True


_LIGHTGBM_OBJECTIVES = {"tweedie": "tweedie", "poisson": "poisson", "squared_error": "regression"}


@functools.cache
def _no_tweedie_note() -> None:
    """Say once per process that the scikit-learn booster fits the Poisson loss for Tweedie."""
    logging.getLogger(__name__).warning(
        "scikit-learn's HistGradientBoosting has no Tweedie loss: the global model fits the Poisson loss")


class FitStopped(RuntimeError):
    """A fit given a ``stop`` event that was set before its last tree (see :meth:`GlobalGBM.fit`)."""


class _LightGBM:
    """The two calls the model makes of a booster (``fit``, ``predict``) on LightGBM's own
    API: one thread (the engine fits the global model beside its per-series models), the
    categorical columns by position, a fixed number of rounds; with a ``stop`` event, training
    ends at the next tree once it is set (the event is not kept after the fit, so a fitted
    model pickles)."""

    def __init__(self, params: dict, rounds: int, categorical: list[int], stop: threading.Event | None = None):
        self.params, self.rounds, self.categorical, self.stop = params, rounds, categorical, stop
        self.booster_ = None

    def fit(self, x: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None) -> _LightGBM:
        import lightgbm

        stop = self.stop

        def check(env: object) -> None:
            if stop is not None and stop.is_set():
                raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

        data = lightgbm.Dataset(x, target, weight=sample_weight, categorical_feature=self.categorical,
                                params={"verbose": -1}, free_raw_data=True)
        self.booster_ = lightgbm.train(self.params, data, num_boost_round=self.rounds, callbacks=[check])
        self.stop = None
        if stop is not None and stop.is_set():
            raise FitStopped(f"stopped after {self.booster_.current_iteration()} of {self.rounds} trees")
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.booster_.predict(x, num_threads=1)

_YEAR_DAYS = 364  # a year of daily data, in whole weeks (the same weekdays)
_YEAR_TARGET_DAYS, _YEAR_ORIGIN_DAYS = 29, 28  # the windows of the year-before change
_CAP = 7  # periods to / since an event are capped here (8 = none near)
_MAX_EVENT_KINDS = 12  # also the most campaign kinds that get their own flag
_DEFAULT_WINDOWS = {7: (7, 14, 56, 182), 52: (4, 8, 26), 12: (3, 6, 12)}  # by season length


class GlobalGBM(Forecaster):
    """Global direct multi-horizon gradient-boosting forecaster (see module doc).

    Parameters
    ----------
    loss: ``"tweedie"`` (default), ``"poisson"`` (both a log link: multiplicative effects) or
        ``"squared_error"``. Tweedie with ``tweedie_power`` p (variance ~ mean^p, 1 < p < 2: a
        compound Poisson-gamma, mass at zero and a long tail; the M5 winners' loss) on m5_dev,
        mean of three seeds over three windows, with ``weight_power`` 0.5 against Poisson with
        0: 28 days RMSSE 0.7327 -> 0.7273, WRMSSE 0.8631 -> 0.8598; days 29-56 0.8139 ->
        0.7941, 0.9304 -> 0.8921. The scikit-learn backend has no Tweedie loss and fits the
        Poisson one instead (one warning).
    tweedie_power: p of the Tweedie loss (1.1, 1.3, 1.5, 1.7, 1.9 were tried: 1.5 was best at
        days 29-56 and as good as any at 28 days).
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization:
        the booster's number of trees, shrinkage, leaves per tree, rows per leaf and L2 penalty
        (no early stopping: a fixed number of trees keeps fits deterministic and their cost
        predictable).
    backend: ``"lightgbm"`` (default) or ``"sklearn"``
        (:class:`~sklearn.ensemble.HistGradientBoostingRegressor`). The same trees in kind
        (histogram-based, leaf-wise, the same parameters; Poisson for Tweedie); LightGBM fits them
        about 3 times faster on one thread (100k rows x 57 features, 150 trees: 2.5 s against
        7.9 s here), so the global model is no longer the engine's fixed cost. Both are
        deterministic for a seed (LightGBM on one thread, ``deterministic=True``). Where
        LightGBM cannot load (:func:`lightgbm_available`) the scikit-learn booster is used.
    max_horizon: steps the model learns; ``None`` = the covariates' future length (28 when
        there are no covariates).
    n_lags: lags ``y[o], y[o-1], ...`` from the origin.
    windows: rolling-mean windows in periods (NaN-aware); ``None`` = (7, 14, 56, 182) for
        daily data (season length 7), (4, 8, 26) weekly (52), (3, 6, 12) monthly (12).
    scale_window: periods of the scale (mean demand); ``None`` = 4 seasons for a season of up to
        12 periods (28 days daily, 48 months monthly), else 13 (a quarter of weekly data). It is
        also the warm-up before the first target period, at most all but the last 2 periods: on
        carparts (39 months) the targets are then the last 2 months only, and a warm-up of 12
        months (26 target months) made the model worse (RMSSE 0.5894 -> 0.5949, MASE 1.114 ->
        1.185; with a 12-month scale too 0.6035): the recent months are the ones to learn from.
    max_rows: training rows drawn at most.
    fitted_periods: history periods that get in-sample one-step predictions.
    weight_power: rows weigh ``scale ** weight_power``; 0 weighs every series alike, 1 is the
        deviance of the unscaled demand (big sellers dominate), 0.5 (default) between: dollar-
        weighted errors (WRMSSE) fell at every m5_dev window tried, RMSSE at most (see ``loss``;
        alone, over 4 windows x 3 seeds: WRMSSE -0.3% to -2.3%). Weighted rows make the
        scikit-learn backend bin with weighted quantiles, several times slower.
    recency_halflife_days: when the history has campaigns, training rows are drawn with
        probability proportional to ``0.5 ** (age / halflife)``, ``age`` = days from the target
        period to the last history period, so that the campaign response follows its recent
        level; ``None`` = uniform draw. Drawn rather than weighted: scikit-learn 1.9 bins
        weighted rows with weighted quantiles, 7 times slower here (26 s for 200k x 50). On dominicks_oj the uplift of a feature ad moved by a factor of 2 between
        quarters: 182 days took the WAPE on campaign weeks of five 12-week backtest windows from
        0.636 to 0.590 on average (0.611 when only campaign rows decay). Without campaigns it
        only shrinks the effective sample: on m5_dev (no campaigns) WRMSSE went from 0.864 to
        0.875 (mean of 3 seeds), hence the condition.
    recency_always: apply the recency weights also when the history has no campaigns (to
        compare models with and without campaign features under the same weights).
    random_state: seed of the row sampling and of the booster.
    yearly_from_step: daily data, steps from this one on (``None``: never) also read
        ``year_change``, how the series' demand moved a year before from the origin's time of
        year to the target's (:meth:`_State._year_change`): beyond four weeks the lags say little
        about the target's season. On m5_dev days 29-56, 3 windows: WRMSSE 0.8701 -> 0.8635,
        scaled pinball 0.3474 -> 0.3450, 14-day q95 pinball -5.3%, RMSSE 0.7852 -> 0.7849 (one
        window: 0.8955 -> 0.8886, RMSSE 0.8014 -> 0.8004); the 28-day forecast is unchanged. Last
        year's levels over the scale instead of their ratio lowered RMSSE more (0.7786) but
        forecast 4.9% below the actuals (1.0% without): they carry last year's level into a
        series that has grown since; the ratio at all steps made 28 days worse (0.7185 -> 0.7218).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.poisson(5.0 * (1 + 0.5 * (np.arange(140) % 7 >= 5)), size=(20, 140)).astype(float)
    >>> model = GlobalGBM(max_iter=30, max_horizon=7).fit(y, season_length=7)
    >>> model.predict(7).shape
    (20, 7)
    """

    def __init__(
        self,
        loss: str = "tweedie",
        tweedie_power: float = 1.5,
        max_iter: int = 150,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        max_horizon: int | None = None,
        n_lags: int = 7,
        windows: tuple[int, ...] | None = None,
        scale_window: int | None = None,
        max_rows: int = 400_000,
        fitted_periods: int = 14,
        weight_power: float = 0.5,
        recency_halflife_days: float | None = 182.0,
        recency_always: bool = False,
        random_state: int = 0,
        backend: str = "lightgbm",
        yearly_from_step: int | None = 29,
    ):
        self.loss = loss
        self.tweedie_power = tweedie_power
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_horizon = max_horizon
        self.n_lags = n_lags
        self.windows = windows
        self.scale_window = scale_window
        self.max_rows = max_rows
        self.fitted_periods = fitted_periods
        self.weight_power = weight_power
        self.recency_halflife_days = recency_halflife_days
        self.recency_always = recency_always
        self.random_state = random_state
        self.backend = backend
        self.yearly_from_step = yearly_from_step

    def fit(
        self, y: np.ndarray, season_length: int = 1, covariates: Covariates | None = None,
        train_until: int | None = None, stop: threading.Event | None = None,
    ) -> GlobalGBM:
        """Fit on ``y`` (``(n_series, T)``, NaN = not observed) and optional covariates whose
        first ``T`` periods are the history and the rest the forecast window.

        ``train_until``: only target periods before it are training rows, so that
        :meth:`predict_at` can forecast from any origin at or after it without having seen
        what it forecasts (the engine's inner folds: one fit scores every fold).

        ``stop``: an event another thread may set when the fit is no longer needed (the engine:
        the choice gave the model no weight); the LightGBM backend then ends at the next tree
        and raises :class:`FitStopped` (the scikit-learn backend cannot be interrupted and
        finishes)."""
        self.train_until_ = train_until
        self._stop = stop
        y_arr = np.asarray(y)
        if covariates is not None:
            if y_arr.ndim != 2 or covariates.n_history != y_arr.shape[1]:
                raise ValueError(
                    f"covariates cover {covariates.n_history} history periods, "
                    f"y has shape {y_arr.shape}"
                )
            if covariates.n_series != y_arr.shape[0]:
                raise ValueError(
                    f"covariates describe {covariates.n_series} series, y has {y_arr.shape[0]}"
                )
        if self.loss not in ("tweedie", "poisson", "squared_error"):
            raise ValueError(f"loss must be 'tweedie', 'poisson' or 'squared_error', got {self.loss!r}")
        if self.loss == "tweedie" and not 1.0 < self.tweedie_power < 2.0:
            raise ValueError(f"tweedie_power must be between 1 and 2, got {self.tweedie_power!r}")
        if self.backend not in ("lightgbm", "sklearn"):
            raise ValueError(f"backend must be 'lightgbm' or 'sklearn', got {self.backend!r}")
        self.covariates_ = covariates
        try:
            super().fit(y, season_length)
        finally:
            self._stop = None
        return self

    # ------------------------------------------------------------------------------------
    def _fit(self, y: np.ndarray, season_length: int) -> None:
        cov = self.covariates_
        if self.max_horizon is not None:
            horizon = int(self.max_horizon)
        elif cov is not None and cov.horizon > 0:
            horizon = cov.horizon
        else:
            horizon = 28
        if horizon < 1:
            raise ValueError(f"max_horizon must be >= 1, got {self.max_horizon!r}")
        self.max_horizon_ = horizon
        self._state = _State.build(y, season_length, cov, self)
        state = self._state
        n, t_hist = y.shape
        rng = np.random.default_rng(self.random_state)

        # Candidate targets: observed periods after the warm-up; draw (series, t) then a step.
        warm = min(state.scale_window, max(t_hist - 2, 1))
        observed = ~np.isnan(y)
        observed[:, :warm] = False
        if self.train_until_ is not None:
            observed[:, self.train_until_ :] = False
        rows_i, rows_t = np.nonzero(observed)
        n_draw = min(self.max_rows, rows_i.size * horizon)
        recency = self._recency(rows_t, t_hist)
        if not rows_i.size:
            pick = np.array([], int)
        elif recency is None:
            pick = rng.integers(0, rows_i.size, size=n_draw)
        else:  # recent periods drawn more often (see recency_halflife_days)
            pick = rng.choice(rows_i.size, size=n_draw, p=recency / recency.sum())
        i, t = rows_i[pick], rows_t[pick]
        k = rng.integers(1, horizon + 1, size=n_draw)
        o = t - k
        keep = o >= 0
        i, t, k, o = i[keep], t[keep], k[keep], o[keep]
        scale = state.scale[i, o]
        keep = scale > 0  # no sale up to the origin: nothing to scale by
        i, t, k, o, scale = i[keep], t[keep], k[keep], o[keep], scale[keep]
        order = np.lexsort((k, t, i))  # sorted rows: same result whatever the draw order
        i, t, k, o, scale = i[order], t[order], k[order], o[order], scale[order]
        target = (y[i, t] / scale).astype(np.float32)

        features = state.design(i, o, k)
        # A feature with no value at all (no prices known, say) would break the binning.
        if len(features):
            state.unknown = np.isnan(features).all(axis=0)
            features[:, state.unknown] = 0.0
        self.feature_names_ = state.feature_names
        self.model_ = self._booster(state.categorical_mask())
        if target.size == 0 or not np.any(target > 0):
            self.model_ = None  # nothing ever sold: every forecast is 0 (base class)
        else:
            weight = scale**self.weight_power if self.weight_power else None
            self.model_.fit(features, target, sample_weight=weight)
        self.n_training_rows_ = int(target.size)

        # One-step in-sample predictions over the last `fitted_periods` periods.
        fitted = np.full((n, t_hist), np.nan)
        span = min(self.fitted_periods, t_hist - 1)
        if span > 0 and self.model_ is not None:
            ii, tt = np.divmod(np.arange(n * span), span)
            tt = tt + t_hist - span
            fitted[ii, tt] = self._predict_rows(ii, tt - 1, np.ones_like(tt))
        self.fitted_ = fitted

    def _booster(self, categorical: list[bool]) -> object:
        """An unfitted booster of the chosen backend with the model's parameters."""
        if self.backend == "sklearn" or not lightgbm_available():
            if self.loss == "tweedie":
                _no_tweedie_note()
            return HistGradientBoostingRegressor(
                loss="poisson" if self.loss == "tweedie" else self.loss,
                learning_rate=self.learning_rate, max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
                l2_regularization=self.l2_regularization, categorical_features=categorical,
                early_stopping=False, random_state=self.random_state,
            )
        return _LightGBM({
            "objective": _LIGHTGBM_OBJECTIVES[self.loss],
            **({"tweedie_variance_power": self.tweedie_power} if self.loss == "tweedie" else {}),
            "learning_rate": self.learning_rate, "num_leaves": self.max_leaf_nodes,
            "min_data_in_leaf": self.min_samples_leaf, "lambda_l2": self.l2_regularization,
            "seed": self.random_state, "num_threads": 1, "deterministic": True,
            "force_row_wise": True, "verbose": -1,
        }, self.max_iter, [j for j, flag in enumerate(categorical) if flag], self._stop)

    def _recency(self, t: np.ndarray, t_hist: int) -> np.ndarray | None:
        """Relative draw weight ``0.5 ** (age_days / recency_halflife_days)`` of target periods
        ``t`` (age counted back from the last history period), or None (uniform draw) without a
        half-life or without campaigns in the history (see the class doc)."""
        cov = self.covariates_
        if not self.recency_halflife_days or cov is None:
            return None
        if not (self.recency_always or cov.campaign_active[:, :t_hist].any()):
            return None
        age_days = (t_hist - 1 - t) * cov.period_days
        return 0.5 ** (age_days / float(self.recency_halflife_days))

    def _predict_rows(self, i: np.ndarray, o: np.ndarray, k: np.ndarray) -> np.ndarray:
        scale = self._state.scale[i, o]
        if self.model_ is None:
            return np.zeros(i.size)
        ratio = self.model_.predict(self._state.design(i, o, k))
        if self.loss == "squared_error":
            ratio = np.maximum(ratio, 0.0)
        return np.where(scale > 0, ratio * scale, 0.0)

    def _predict(self, h: int) -> np.ndarray:
        cov = self.covariates_
        if h > self.max_horizon_:
            raise ValueError(f"h={h} exceeds the {self.max_horizon_} steps the model was fit for")
        if cov is not None and h > cov.horizon:
            raise ValueError(
                f"h={h} exceeds the covariates' future part ({cov.horizon} periods after the "
                "history): build the covariates with a longer horizon"
            )
        return self._forecast_from(self.n_periods_, h)

    def predict_at(self, end: int, h: int) -> np.ndarray:
        """Forecast ``h`` periods after the first ``end`` history periods (origin ``end - 1``),
        reading nothing after it; ``end`` at least ``train_until`` (see :meth:`fit`).
        ``predict_at(T, h)`` equals ``predict(h)`` before the base class's clean-up."""
        if self.train_until_ is not None and end < self.train_until_:
            raise ValueError(f"end={end} is before train_until={self.train_until_}: the model saw it")
        if not 1 <= end <= self.n_periods_ or end + h > self.n_periods_ + self.max_horizon_:
            raise ValueError(f"end={end}, h={h} outside the history and the model's horizon")
        return np.clip(self._forecast_from(end, h), 0.0, None)

    def _forecast_from(self, end: int, h: int) -> np.ndarray:
        n = self.n_series_
        i, step = np.divmod(np.arange(n * h), h)
        o = np.full(i.size, end - 1)
        return self._predict_rows(i, o, step + 1).reshape(n, h)


class _State:
    """Precomputed matrices from which the rows' features are gathered."""

    def __init__(self) -> None:
        self.feature_names: list[str] = []
        self.categorical: set[str] = set()
        self.unknown: np.ndarray | None = None  # features without any value in training

    @classmethod
    def build(cls, y: np.ndarray, m: int, cov: Covariates | None, params: GlobalGBM) -> _State:
        s = cls()
        n, t_hist = y.shape
        s.y, s.m, s.cov, s.params = y.astype(np.float32), m, cov, params
        s.t_hist = t_hist
        observed = ~np.isnan(y)
        y0 = np.where(observed, y, 0.0)
        s.csum = _cumsum0(y0, np.float64)
        s.csum2 = _cumsum0(y0 * y0, np.float64)
        s.ccount = _cumsum0(observed, np.int32)
        s.czero = _cumsum0(observed & (y0 == 0), np.int32)
        sw = params.scale_window or (4 * m if m <= 12 else 13)
        s.scale_window = int(max(1, sw))
        s.windows = params.windows or _DEFAULT_WINDOWS.get(m, _DEFAULT_WINDOWS[7])
        recent = s._window_mean_full(s.scale_window)
        longrun = np.divide(
            s.csum[:, 1:],
            s.ccount[:, 1:],
            out=np.full((n, t_hist), np.nan),
            where=s.ccount[:, 1:] > 0,
        )
        scale = np.where(np.isnan(recent) | (recent <= 0), longrun, recent)
        s.scale = np.nan_to_num(scale, nan=0.0).astype(np.float64)
        idx = np.arange(t_hist, dtype=np.int32)[None, :]
        s.last_sale = np.maximum.accumulate(np.where(y0 > 0, idx, -1), axis=1)
        s.first_obs = np.where(observed.any(axis=1), observed.argmax(axis=1), t_hist)
        # Same-season-position cumulative sums (step m) for the seasonal mean.
        if m > 1:
            s.pos_sum = np.zeros((n, t_hist))
            s.pos_cnt = np.zeros((n, t_hist), dtype=np.int32)
            for r in range(min(m, t_hist)):
                s.pos_sum[:, r::m] = np.cumsum(y0[:, r::m], axis=1)
                s.pos_cnt[:, r::m] = np.cumsum(observed[:, r::m], axis=1)
        if cov is not None:
            s._build_covariate_state(cov)
        return s

    def _window_mean_full(self, w: int) -> np.ndarray:
        hi = np.arange(1, self.t_hist + 1)
        lo = np.maximum(hi - w, 0)
        total = self.csum[:, hi] - self.csum[:, lo]
        count = self.ccount[:, hi] - self.ccount[:, lo]
        return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)

    def _build_covariate_state(self, cov: Covariates) -> None:
        t_all = len(cov.dates)
        self.calendar = calendar_features(cov.dates)
        special = (cov.event > 0) | (cov.holiday > 0)
        idx = np.arange(t_all, dtype=np.int32)[None, :]
        last = np.maximum.accumulate(np.where(special, idx, -10_000), axis=1)
        nxt = np.minimum.accumulate(np.where(special, idx, 10_000)[:, ::-1], axis=1)[:, ::-1]
        self.since_event = np.minimum(idx - last, _CAP + 1).astype(np.float32)
        self.to_event = np.minimum(nxt - idx, _CAP + 1).astype(np.float32)
        # Regular price (highest price of the last 26 weeks) over history and window: a deal
        # shows as a price below it, also when the campaigns table has no discount.
        regular = cov.regular_price
        if regular is None:
            window = max(1, round(REGULAR_PRICE_DAYS / cov.period_days))
            regular = regular_price_matrix(cov.price, window)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.relative_price = np.where(regular > 0, cov.price / regular, np.nan).astype(
                np.float32
            )
        self.regular_price = regular
        self.ccamp = _cumsum0(cov.campaign_active[:, : self.t_hist], np.float64)
        kinds = sorted(cov.events_by_kind, key=lambda k: -float(cov.events_by_kind[k].sum()))
        self.event_kinds = kinds[:_MAX_EVENT_KINDS]
        by_kind = cov.campaigns_by_kind
        kinds = sorted(by_kind, key=lambda k: -float(by_kind[k][:, : self.t_hist].sum()))
        self.campaign_kinds = [k for k in kinds if by_kind[k][:, : self.t_hist].any()]
        self.campaign_kinds = self.campaign_kinds[:_MAX_EVENT_KINDS]
        # What the other series of the location do (None in hand-built covariates: derived
        # here when the location codes are known, left out otherwise).
        self.location_share = cov.location_campaign_share
        self.location_price = cov.location_relative_price
        self.location_kind_share = dict(cov.location_share_by_kind)
        self.competitor: OthersInGroup | None = None
        if cov.location_code is not None:
            if self.location_share is None:
                self.location_share = mean_of_others(cov.campaign_active, cov.location_code)
            if self.location_price is None:
                self.location_price = mean_of_others(self.relative_price, cov.location_code)
            for k in self.campaign_kinds:
                if k not in self.location_kind_share:
                    self.location_kind_share[k] = mean_of_others(by_kind[k], cov.location_code)
            # Among the competitors (the other series of the same category at the location):
            # the share in a campaign weighted by each one's mean demand, and the deepest
            # competing deal: a big brand's feature ad takes more from the others than a small
            # one's. Weights from the whole history: a static share, nothing of the forecast
            # window is read. By category, because across categories (m5's stores) these are
            # noise: over the whole store they made the inner-fold error of m5_dev worse.
            # (only the training span with train_until: later demand is what the folds score)
            span = self.y[:, : getattr(self.params, "train_until_", None) or self.t_hist]
            seen = (~np.isnan(span)).sum(axis=1)
            total = np.nansum(span, axis=1, dtype=np.float64)
            share = np.divide(total, seen, out=np.zeros(len(seen)), where=seen > 0)
            category = np.asarray(cov.category, dtype=np.int64)
            code = cov.location_code.astype(np.int64) * (int(category.max()) + 1) + category
            # Per-group sums, read per row (a (series x periods) array per feature and fit
            # took the 10,000-series scale run over its memory budget).
            others = OthersInGroup(code, share)
            others.add("competitor_campaign_share", cov.campaign_active, minimum=False)
            others.add("competitor_relative_price", self.relative_price)
            others.add("competitor_price", cov.price)
            for k in self.campaign_kinds:
                others.add(f"competitor_share_{k}", by_kind[k], minimum=False)
            self.competitor = others

    def categorical_mask(self) -> list[bool]:
        return [name in self.categorical for name in self.feature_names]

    # --------------------------------------------------------------------------------
    def design(self, i: np.ndarray, o: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Feature matrix (rows, features) float32 for series i, origin o, step k."""
        cols: dict[str, np.ndarray] = {}
        p, m = self.params, self.m
        t = o + k
        scale = self.scale[i, o]
        inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
        y = self.y
        cols["step"] = k
        for j in range(p.n_lags):
            src = o - j
            lag = y[i, np.maximum(src, 0)]
            cols[f"lag_{j}"] = np.where(src >= 0, lag * inv, np.nan)
        for w in sorted({*self.windows, self.scale_window}):
            total, count = self._window(i, o, w, self.csum)
            mean = np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)
            cols[f"mean_{w}"] = mean * inv
        w = self.scale_window
        total, count = self._window(i, o, w, self.csum)
        total2, _ = self._window(i, o, w, self.csum2)
        zeros, _ = self._window(i, o, w, self.czero)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            var = np.maximum(total2 / count - mean * mean, 0.0)
            cols["std"] = np.where(count > 1, np.sqrt(var) * inv, np.nan)
            cols["zero_share"] = np.where(count > 0, zeros / count, np.nan)
        cols["observed_share"] = count / np.minimum(w, o + 1)
        cols["log_scale"] = np.log(np.maximum(scale, 1e-6))
        last_sale = self.last_sale[i, o]
        cols["since_sale"] = np.where(last_sale >= 0, o - last_sale, np.nan)
        cols["age"] = np.minimum(o - self.first_obs[i], 730)
        if m > 1:
            seasonal_src = t - m * ((k + m - 1) // m)  # latest same position <= o
            ok = seasonal_src >= 0
            src = np.maximum(seasonal_src, 0)
            cols["seasonal_lag"] = np.where(ok, y[i, src] * inv, np.nan)
            lo = src - 4 * m
            s_tot = self.pos_sum[i, src] - np.where(lo >= 0, self.pos_sum[i, np.maximum(lo, 0)], 0)
            s_cnt = self.pos_cnt[i, src] - np.where(lo >= 0, self.pos_cnt[i, np.maximum(lo, 0)], 0)
            seasonal_mean = np.divide(
                s_tot, s_cnt, out=np.full(s_tot.shape, np.nan), where=ok & (s_cnt > 0)
            )
            cols["seasonal_mean"] = seasonal_mean * inv
        if m == 7 and p.yearly_from_step is not None:
            cols["year_change"] = self._year_change(i, o, t)
        cov = self.cov
        if cov is None:
            if m > 1:
                cols["season_position"] = t % m
        else:
            self._covariate_columns(cols, i, o, t)
        self.feature_names = list(cols)
        out = np.empty((i.size, len(cols)), dtype=np.float32)
        for c, values in enumerate(cols.values()):
            out[:, c] = values
        if self.unknown is not None:
            out[:, self.unknown] = 0.0
        return out

    def _covariate_columns(
        self, cols: dict[str, np.ndarray], i: np.ndarray, o: np.ndarray, t: np.ndarray
    ) -> None:
        cov = self.cov
        for name in (
            "day_of_week",
            "day_of_month",
            "day_of_year_sin",
            "day_of_year_cos",
            "month",
            "is_month_start",
            "is_month_end",
        ):
            cols[name] = self.calendar[name][t]
        cols["event"] = cov.event[i, t]
        cols["holiday"] = cov.holiday[i, t]
        cols["to_event"] = self.to_event[i, t]
        cols["since_event"] = self.since_event[i, t]
        for name in self.event_kinds:
            cols[f"event_{name}"] = cov.events_by_kind[name][i, t]
        # Price: at t against the regular price at the origin (a planned change of the regular
        # price included) and at t itself (the depth of a deal), and the origin's own depth
        # (the lags just before it are deal-inflated or not).
        regular = self.regular_price[i, o]
        with np.errstate(invalid="ignore", divide="ignore"):
            cols["relative_price"] = np.where(regular > 0, cov.price[i, t] / regular, np.nan)
        cols["relative_price_target"] = self.relative_price[i, t]
        cols["relative_price_origin"] = self.relative_price[i, o]
        cols["campaign_active"] = cov.campaign_active[i, t]
        cols["campaign_discount"] = cov.campaign_discount[i, t]
        cols["campaign_kind"] = cov.campaign_kind[i, t]
        cols["days_into_campaign"] = cov.days_into_campaign[i, t]
        cols["days_after_campaign"] = cov.days_after_campaign[i, t]
        if cov.after_kind is not None:
            cols["after_kind"] = cov.after_kind[i, t]
        # Every kind running on t (a feature ad in a deal week keeps its flag), and what the
        # other series of the location run on t: competing feature ads eat the uplift of one's
        # own on dominicks_oj (median 7.3x when no other brand of the store is featured, 1.9x
        # when more than a quarter of them are).
        for name in self.campaign_kinds:
            cols[f"campaign_{name}"] = cov.campaigns_by_kind[name][i, t]
        if self.location_share is not None:
            cols["location_campaign_share"] = self.location_share[i, t]
        if self.location_price is not None:
            cols["location_relative_price"] = self.location_price[i, t]
        for name in self.campaign_kinds:
            if name in self.location_kind_share:
                cols[f"location_share_{name}"] = self.location_kind_share[name][i, t]
        others = self.competitor
        if others is not None:
            cols["competitor_campaign_share"] = others.mean("competitor_campaign_share", i, t)
            cols["competitor_relative_price"] = others.mean("competitor_relative_price", i, t)
            for name in self.campaign_kinds:
                cols[f"competitor_share_{name}"] = others.mean(f"competitor_share_{name}", i, t)
            cols["competitor_min_relative_price"] = others.min("competitor_relative_price", i, t)
            # Own shelf price against the competitors' (a price index): the cheapest brand on
            # the shelf takes the week when every brand is featured (dominicks_oj, mean WAPE on
            # campaign weeks over four 12-week windows 0.531 -> 0.522).
            price = cov.price[i, t]
            for name, theirs in (
                ("competitor_price_index", others.mean("competitor_price", i, t)),
                ("competitor_cheapest_gap", others.min("competitor_price", i, t)),
            ):
                with np.errstate(invalid="ignore", divide="ignore"):
                    cols[name] = np.where(theirs > 0, price / theirs, np.nan)
        total, _ = self._window(i, o, self.scale_window, self.ccamp)
        cols["campaign_share_origin"] = total / np.minimum(self.scale_window, o + 1)
        cols["campaign_active_origin"] = cov.campaign_active[i, o]
        cols["category"] = cov.category[i]
        self.categorical = {"campaign_kind", "after_kind"}
        if len(cov.category_names) <= 250:
            self.categorical.add("category")

    def _year_change(self, i: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
        """How each series' demand moved a year (52 weeks) before, from the origin's time of year
        to the target's: mean demand over the 29 days around ``t - 364`` over the mean of the
        28 days up to ``o - 364``. NaN for steps under ``yearly_from_step``, without a year and
        a month of history, or when the later window is not yet known at the origin."""
        year, half = _YEAR_DAYS, _YEAR_TARGET_DAYS // 2
        target_end, origin_end = t - year + half, o - year
        known = ((t - o) >= self.params.yearly_from_step) & (target_end <= o)
        known &= (target_end >= _YEAR_TARGET_DAYS - 1) & (origin_end >= _YEAR_ORIGIN_DAYS - 1)
        tot, cnt = self._window(i, np.clip(target_end, 0, None), _YEAR_TARGET_DAYS, self.csum)
        at_target = np.divide(tot, cnt, out=np.full(tot.shape, np.nan), where=known & (cnt > 0))
        tot, cnt = self._window(i, np.clip(origin_end, 0, None), _YEAR_ORIGIN_DAYS, self.csum)
        at_origin = np.divide(tot, cnt, out=np.full(tot.shape, np.nan), where=known & (cnt > 0))
        return np.divide(at_target, at_origin, out=np.full(tot.shape, np.nan), where=at_origin > 0)

    def _window(
        self, i: np.ndarray, o: np.ndarray, w: int, cum: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        hi = o + 1
        lo = np.maximum(hi - w, 0)
        return cum[i, hi] - cum[i, lo], self.ccount[i, hi] - self.ccount[i, lo]


def _cumsum0(a: np.ndarray, dtype: type) -> np.ndarray:
    """Cumulative sums along rows with a leading 0 column: out[:, j] = sum(a[:, :j])."""
    out = np.zeros((a.shape[0], a.shape[1] + 1), dtype=dtype)
    np.cumsum(a, axis=1, dtype=dtype, out=out[:, 1:])
    return out
