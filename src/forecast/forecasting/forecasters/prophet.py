"""Prophet: one additive-regression model per series, fitted in parallel worker processes.

Prophet (Taylor & Letham, "Forecasting at scale", *The American Statistician* 72(1), 2018)
fits, by MAP estimation in Stan, the decomposition::

    multiplicative:  y(t) = g(t) * (1 + s_week(t) + s_year(t) + sum_k beta_k * x_k(t)) + e_t
    additive:        y(t) = g(t) + s_week(t) + s_year(t) + sum_k beta_k * x_k(t) + e_t

with ``g`` a piecewise-linear trend, ``s`` Fourier seasonalities (weekly order 3, yearly order
10 by default), ``x_k`` holiday indicators and extra regressors (here: campaign active, campaign
discount, local event). The default is **multiplicative**: a campaign or a holiday lifts sales
by a share of the current level (+30% on a 200-unit day and on a 20-unit day alike), which is
how promotions act on count data; additive effects would add the same units to both.

Unlike the vectorised models, Prophet is a per-series fit (~0.15-0.25 s each on this kind of
machine, see FIELD_NOTES.md), so ``fit`` runs every fit and the forecast up to ``max_horizon``
at once, spread over ``n_jobs`` processes; ``predict(h)`` only slices the stored forecast.

Which rows do not go through Prophet (``fallback_``, reason in ``fallback_reason_``): rows with
fewer observed periods than ``max(min_observations, min_seasons * season)``, rows whose observed
periods are mostly zeros (non-zero share below ``min_nonzero_share``: intermittent demand, the
Croston family's job), rows beyond ``max_series`` (the lowest-volume rows are left out first)
and, with a warning, rows where Prophet raised. Those forecast the mean of their last
``fallback_window`` observed values, flat. NaN (censored or missing) periods are simply left
out of each fit: Prophet does not need a regular grid.
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecast.forecasting.forecasters.base import Forecaster, mean_of_last_observed
from forecast.forecasting.forecasters.baseline import MovingAverage
from forecast.forecasting.series import Frequency, detect_frequency

#: Covariate attributes used as extra regressors, in this order (duck-typed, see ``fit``).
REGRESSORS = ("campaign_active", "campaign_discount", "event")
#: Loggers switched off during the fits (cmdstanpy logs every optimisation at INFO level).
_QUIET_LOGGERS = ("cmdstanpy", "prophet", "prophet.plot", "prophet.models")
#: Chunks per worker: small enough chunks that one slow chunk does not idle the other workers.
_CHUNKS_PER_WORKER = 4

Mode = Literal["additive", "multiplicative"]
SeasonalitySetting = Literal["auto"] | bool | int


class ProphetForecaster(Forecaster):
    """Prophet per series with country holidays and campaign / event regressors.

    ``fit(y, season_length, *, dates, covariates=None)`` fits every series and forecasts
    ``max_horizon`` periods; ``predict(h)`` returns the first ``h`` of them (``h`` larger than
    ``max_horizon`` is refused: refit with a larger ``max_horizon``).

    Parameters
    ----------
    country:
        Country code for public holidays (``holidays`` package, e.g. ``"US"``, ``"DE"``);
        ``None`` disables holidays. A holiday is attached to the period that contains it
        (a date labels the start of its period, as in ``forecast.forecasting.features``; a weekly file
        labelled by the week's last day would see holiday weeks one period early). Monthly
        data gets no holidays:
        they fall in the same month every year, so the yearly seasonality already holds them.
    yearly, weekly:
        Prophet's ``yearly_seasonality`` / ``weekly_seasonality``: ``"auto"`` (yearly needs two
        years of history, weekly needs sub-weekly data), ``True``/``False`` or a Fourier order.
    seasonality_mode:
        ``"multiplicative"`` (default, see the module notes) or ``"additive"``; applies to the
        seasonalities, holidays and regressors alike.
    n_jobs:
        Worker processes for the fits; ``1`` fits in this process, ``-1`` uses every CPU.
        Workers are joblib's loky processes (safe in a process that runs threads, e.g.
        Prefect, and kept for the next ``fit``: the ~1-2 s start-up is paid once per session).
    max_series:
        Most series to fit with Prophet, highest total observed demand first; ``None`` fits all
        eligible series. The others fall back (reason ``"max_series"``).
    max_horizon:
        Periods forecast at fit time (default 28, four weeks of daily data); ``predict(h)``
        accepts ``h <= max_horizon``.
    uncertainty_samples:
        Passed to Prophet. ``0`` (default) skips its simulated intervals (we build intervals
        elsewhere, and they cost more than the fit); with ``> 0`` its 80% intervals are kept in
        ``forecast_lower_`` / ``forecast_upper_``.
    random_state:
        Seed for Stan's optimiser and Prophet's interval simulation (series ``i`` uses
        ``random_state + i``). The MAP fit starts from Prophet's data-based initial values, so
        results are identical run to run and between ``n_jobs`` settings.
    min_observations, min_seasons, min_nonzero_share, fallback_window:
        Fallback rules above. The ``season`` of the short-history rule is the longer of the
        ``season_length`` given to ``fit`` and the frequency's own season (7 daily, 52 weekly,
        12 monthly), as Prophet's seasonalities follow the calendar.

    Learned attributes
    ------------------
    ``frequency_``, ``dates_`` (history), ``future_dates_`` (``max_horizon`` periods),
    ``forecast_`` ``(n, max_horizon)`` (before the base class clean-up), ``fitted_`` (Prophet's
    in-sample fit, not one-step-ahead; NaN before a series' first observation; for fallback
    rows the trailing mean of the previous ``fallback_window`` observations), ``fallback_``
    (bool per series), ``fallback_reason_`` (``""`` for Prophet rows), ``regressors_used_``
    (``(n, 3)`` bool, columns as ``REGRESSORS``), ``holidays_`` (the holiday table used, or
    None), ``fit_seconds_`` (per series, NaN for fallback rows), ``seconds_per_series_`` (mean
    over Prophet rows), ``seconds_total_`` (wall clock of ``fit``).

    Example
    -------
    >>> dates = pd.date_range("2024-01-01", periods=10, freq="D")
    >>> y = np.array([[3.0, 5, 4, 0, 6, 2, 4, 5, 3, 4]])
    >>> model = ProphetForecaster(n_jobs=1).fit(y, 7, dates=dates)  # too short: fallback
    >>> model.fallback_reason_.tolist(), model.predict(2)
    (['short history'], array([[3.6, 3.6]]))
    """

    def __init__(
        self,
        country: str | None = "US",
        yearly: SeasonalitySetting = "auto",
        weekly: SeasonalitySetting = "auto",
        seasonality_mode: Mode = "multiplicative",
        n_jobs: int = 2,
        max_series: int | None = None,
        max_horizon: int = 28,
        uncertainty_samples: int = 0,
        random_state: int = 0,
        min_observations: int = 28,
        min_seasons: float = 2.0,
        min_nonzero_share: float = 0.5,
        fallback_window: int = 28,
    ):
        self.country = country
        self.yearly = yearly
        self.weekly = weekly
        self.seasonality_mode = seasonality_mode
        self.n_jobs = n_jobs
        self.max_series = max_series
        self.max_horizon = max_horizon
        self.uncertainty_samples = uncertainty_samples
        self.random_state = random_state
        self.min_observations = min_observations
        self.min_seasons = min_seasons
        self.min_nonzero_share = min_nonzero_share
        self.fallback_window = fallback_window

    def fit(
        self,
        y: np.ndarray,
        season_length: int = 1,
        *,
        dates: pd.DatetimeIndex,
        covariates: Any = None,
    ) -> ProphetForecaster:
        """Fit every series and forecast ``max_horizon`` periods.

        ``dates``: the ``T`` history dates (daily, weekly or monthly; the frequency is
        inferred). ``covariates``: optional object with ``dates`` (history + future,
        ``T + h_max`` with ``h_max >= max_horizon``), ``n_history`` (``T``) and ``(n, T + h_max)``
        arrays ``campaign_active`` (0/1), ``campaign_discount`` (0..1) and ``event`` (0/1); a
        missing or ``None`` attribute is not used. A regressor enters a series' model only when
        it varies over that series' observed history; its future part is the planned value.
        """
        self._dates_arg = dates
        self._covariates_arg = covariates
        try:
            return super().fit(y, season_length)  # type: ignore[return-value]
        finally:
            del self._dates_arg, self._covariates_arg

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        started = time.perf_counter()
        settings = self._check_params()
        n, n_periods = y.shape
        horizon = settings["max_horizon"]
        self.dates_, self.frequency_ = _check_dates(self._dates_arg, n_periods)
        self.future_dates_, regressors = _check_covariates(
            self._covariates_arg, self.dates_, self.frequency_, n, horizon
        )
        self.holidays_ = _holiday_table(
            self.country, self.frequency_, self.dates_.append(self.future_dates_)
        )

        season = max(season_length, self.frequency_.season_length)
        reasons = _fallback_reasons(
            y,
            min_count=max(settings["min_observations"], math.ceil(self.min_seasons * season)),
            min_nonzero_share=float(self.min_nonzero_share),
            max_series=self.max_series,
        )
        prophet_rows = np.flatnonzero(reasons == "")
        used = np.zeros((n, len(REGRESSORS)), dtype=bool)
        if regressors is not None:
            observed = ~np.isnan(y)
            for k, values in enumerate(regressors):
                history = np.where(observed, values[:, :n_periods], np.nan)
                with warnings.catch_warnings():  # all-NaN rows: no variation, not used
                    warnings.simplefilter("ignore", RuntimeWarning)
                    used[:, k] = np.nanmax(history, axis=1) > np.nanmin(history, axis=1)
        self.regressors_used_ = used

        self.forecast_ = np.full((n, horizon), np.nan)
        self.fitted_ = np.full((n, n_periods), np.nan)
        self.fit_seconds_ = np.full(n, np.nan)
        intervals = settings["uncertainty_samples"] > 0
        self.forecast_lower_ = np.full((n, horizon), np.nan) if intervals else None
        self.forecast_upper_ = np.full((n, horizon), np.nan) if intervals else None

        jobs = [
            _Chunk(
                rows=rows,
                y=y[rows],
                regressors=None if regressors is None else regressors[:, rows],
                used=used[rows],
                dates=self.dates_,
                future_dates=self.future_dates_,
                holidays=self.holidays_,
                settings=settings,
            )
            for rows in _chunks(prophet_rows, self._workers(len(prophet_rows)))
        ]
        errors: list[str] = []
        for result in self._run(jobs):
            for i, row in enumerate(result.rows):
                if result.errors[i]:
                    reasons[row] = f"prophet error: {result.errors[i]}"
                    errors.append(f"row {row}: {result.errors[i]}")
                    continue
                self.forecast_[row] = result.forecast[i]
                self.fitted_[row] = result.fitted[i]
                self.fit_seconds_[row] = result.seconds[i]
                if intervals:
                    self.forecast_lower_[row] = result.lower[i]
                    self.forecast_upper_[row] = result.upper[i]
        if errors:
            warnings.warn(
                f"Prophet failed on {len(errors)} series, which fall back to a mean "
                f"(first: {errors[0]})",
                RuntimeWarning,
                stacklevel=4,  # the caller of fit
            )

        fallback = reasons != ""
        if fallback.any():
            window = settings["fallback_window"]
            level = mean_of_last_observed(y[fallback], window)
            self.forecast_[fallback] = level[:, None]
            self.fitted_[fallback] = MovingAverage(window=window).fit(y[fallback]).fitted_
            self.regressors_used_[fallback] = False
        self.fallback_ = fallback
        self.fallback_reason_ = reasons
        fitted_rows = ~fallback
        self.seconds_per_series_ = (
            float(self.fit_seconds_[fitted_rows].mean()) if fitted_rows.any() else float("nan")
        )
        self.seconds_total_ = time.perf_counter() - started

    def _predict(self, h: int) -> np.ndarray:
        if h > self.forecast_.shape[1]:
            raise ValueError(
                f"h={h} exceeds max_horizon={self.forecast_.shape[1]} forecast at fit time; "
                "refit with a larger max_horizon"
            )
        return self.forecast_[:, :h]

    # -- helpers ---------------------------------------------------------------------------
    def _check_params(self) -> dict[str, Any]:
        if self.seasonality_mode not in ("additive", "multiplicative"):
            raise ValueError(
                "seasonality_mode must be 'additive' or 'multiplicative', "
                f"got {self.seasonality_mode!r}"
            )
        for name in ("yearly", "weekly"):
            value = getattr(self, name)
            if not (value == "auto" or isinstance(value, (bool, int, np.integer))):
                raise ValueError(f"{name} must be 'auto', a bool or a Fourier order, got {value!r}")
        if self.max_series is not None:
            _positive_int("max_series", self.max_series, minimum=0)
        if not 0.0 <= float(self.min_nonzero_share) <= 1.0:
            raise ValueError(f"min_nonzero_share must be in [0, 1], got {self.min_nonzero_share!r}")
        if not float(self.min_seasons) >= 0:
            raise ValueError(f"min_seasons must be >= 0, got {self.min_seasons!r}")
        return {
            "yearly": self.yearly,
            "weekly": self.weekly,
            "mode": self.seasonality_mode,
            "max_horizon": _positive_int("max_horizon", self.max_horizon, minimum=1),
            "uncertainty_samples": _positive_int(
                "uncertainty_samples", self.uncertainty_samples, minimum=0
            ),
            "seed": _positive_int("random_state", self.random_state, minimum=0),
            # Prophet needs at least two points; the rule never lets fewer through.
            "min_observations": max(_positive_int("min_observations", self.min_observations), 2),
            "fallback_window": _positive_int("fallback_window", self.fallback_window),
        }

    def _workers(self, n_rows: int) -> int:
        n_jobs = self.n_jobs
        if n_jobs == -1:
            n_jobs = os.cpu_count() or 1
        n_jobs = _positive_int("n_jobs", n_jobs)
        return max(1, min(n_jobs, n_rows))

    def _run(self, jobs: list[_Chunk]) -> Iterator[_ChunkResult]:
        if not jobs:
            return
        n_workers = self._workers(sum(len(job.rows) for job in jobs))
        if n_workers == 1:
            with _quiet_logs():
                for job in jobs:
                    yield _fit_chunk(job)
            return
        from joblib import Parallel, delayed  # joblib ships with scikit-learn

        # loky workers: started clean (safe in a process running threads, e.g. Prefect), no
        # `if __name__ == "__main__"` guard needed, and reused by the next fit in this process.
        parallel = Parallel(n_jobs=n_workers, backend="loky", return_as="generator")
        yield from parallel(delayed(_fit_chunk)(job) for job in jobs)


# -- work shipped to the worker processes ------------------------------------------------------
@dataclass
class _Chunk:
    """Series for one worker call: everything a fit needs, picklable."""

    rows: np.ndarray  # row numbers in the caller's matrix
    y: np.ndarray  # (k, T)
    regressors: np.ndarray | None  # (3, k, T + H), REGRESSORS order
    used: np.ndarray  # (k, 3) which regressors each series uses
    dates: pd.DatetimeIndex  # T
    future_dates: pd.DatetimeIndex  # H
    holidays: pd.DataFrame | None
    settings: dict[str, Any]


@dataclass
class _ChunkResult:
    rows: np.ndarray
    forecast: np.ndarray  # (k, H)
    fitted: np.ndarray  # (k, T)
    lower: np.ndarray | None
    upper: np.ndarray | None
    seconds: np.ndarray  # (k,)
    errors: list[str]  # "" where the fit worked


def _fit_chunk(job: _Chunk) -> _ChunkResult:
    """Fit Prophet to each series of ``job``; runs in a worker process (or in-process)."""
    with _quiet_logs():
        from prophet import Prophet  # heavy import (~0.7 s): only where fits run

    k, n_periods = job.y.shape
    horizon = len(job.future_dates)
    settings = job.settings
    intervals = settings["uncertainty_samples"] > 0
    result = _ChunkResult(
        rows=job.rows,
        forecast=np.full((k, horizon), np.nan),
        fitted=np.full((k, n_periods), np.nan),
        lower=np.full((k, horizon), np.nan) if intervals else None,
        upper=np.full((k, horizon), np.nan) if intervals else None,
        seconds=np.full(k, np.nan),
        errors=[""] * k,
    )
    all_dates = job.dates.append(job.future_dates)
    with _quiet_logs():
        for i in range(k):
            started = time.perf_counter()
            observed = ~np.isnan(job.y[i])
            start = int(observed.argmax())  # first observation: no fit or fitted_ before it
            names = [name for name, on in zip(REGRESSORS, job.used[i], strict=True) if on]
            history = pd.DataFrame({"ds": job.dates[observed], "y": job.y[i, observed]})
            frame = pd.DataFrame({"ds": all_dates[start:]})
            for name in names:
                values = job.regressors[REGRESSORS.index(name), i]  # type: ignore[index]
                history[name] = values[:n_periods][observed]
                frame[name] = values[start:]
            model = Prophet(
                yearly_seasonality=settings["yearly"],
                weekly_seasonality=settings["weekly"],
                daily_seasonality=False,
                holidays=job.holidays,
                seasonality_mode=settings["mode"],
                uncertainty_samples=settings["uncertainty_samples"],
            )
            for name in names:
                # Values are already 0..1: unstandardised, beta_k is the lift of a full unit.
                model.add_regressor(name, standardize=False)
            seed = settings["seed"] + int(job.rows[i])
            random_state = np.random.get_state()  # Prophet's interval draws use np.random
            try:
                np.random.seed(seed % 2**32)
                model.fit(history, seed=seed % 2**31)
                prediction = model.predict(frame)
            except Exception as error:  # noqa: BLE001 - recorded per series, caller warns
                result.errors[i] = f"{type(error).__name__}: {error}"
                continue
            finally:
                np.random.set_state(random_state)
            yhat = prediction["yhat"].to_numpy()
            result.fitted[i, start:] = yhat[: n_periods - start]
            result.forecast[i] = yhat[n_periods - start :]
            if intervals:
                result.lower[i] = prediction["yhat_lower"].to_numpy()[n_periods - start :]  # type: ignore[index]
                result.upper[i] = prediction["yhat_upper"].to_numpy()[n_periods - start :]  # type: ignore[index]
            result.seconds[i] = time.perf_counter() - started
    for values in (result.fitted, result.lower, result.upper):
        if values is not None:
            np.clip(values, 0.0, None, out=values)
    return result


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Switch the cmdstanpy/prophet loggers off for the duration, then restore them.

    ``disabled`` rather than a level: cmdstanpy resets its logger to DEBUG the first time it
    runs in a fresh process, and prophet logs the missing plotly at ERROR on import.
    """
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    states = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, state in zip(loggers, states, strict=True):
            logger.disabled = state


# -- validation and preparation (caller side) --------------------------------------------------
def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_dates(dates: Any, n_periods: int) -> tuple[pd.DatetimeIndex, Frequency]:
    """History dates as a DatetimeIndex of length ``T``, strictly increasing, and their frequency."""
    if dates is None:
        raise ValueError("ProphetForecaster.fit needs dates= (the T history dates)")
    dates = pd.DatetimeIndex(dates)
    if len(dates) != n_periods:
        raise ValueError(f"dates has {len(dates)} entries but y has {n_periods} periods")
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    if not dates.is_monotonic_increasing or not dates.is_unique:
        raise ValueError("dates must be strictly increasing (one column per period)")
    return dates, detect_frequency(dates)


def _check_covariates(
    covariates: Any, dates: pd.DatetimeIndex, freq: Frequency, n_series: int, horizon: int
) -> tuple[pd.DatetimeIndex, np.ndarray | None]:
    """Future dates (``horizon`` of them) and the regressors ``(3, n, T + horizon)`` (or None)."""
    n_periods = len(dates)
    if covariates is None:
        future = pd.date_range(dates[-1], periods=horizon + 1, freq=freq.pandas_freq)[1:]
        return future, None
    cov_dates = pd.DatetimeIndex(covariates.dates)
    if cov_dates.tz is not None:
        cov_dates = cov_dates.tz_localize(None)
    if int(covariates.n_history) != n_periods:
        raise ValueError(
            f"covariates.n_history is {covariates.n_history} but y has {n_periods} periods"
        )
    if len(cov_dates) < n_periods + horizon:
        raise ValueError(
            f"covariates cover {len(cov_dates) - n_periods} future periods but "
            f"max_horizon={horizon}: build them for at least max_horizon periods"
        )
    if not cov_dates[:n_periods].equals(dates):
        raise ValueError("covariates.dates do not start with the history dates passed as dates=")
    future = cov_dates[n_periods : n_periods + horizon]
    if not future.is_monotonic_increasing or (len(future) and future[0] <= dates[-1]):
        raise ValueError("covariates.dates must continue strictly after the history dates")
    width = len(cov_dates)
    regressors = np.zeros((len(REGRESSORS), n_series, n_periods + horizon))
    for k, name in enumerate(REGRESSORS):
        values = getattr(covariates, name, None)
        if values is None:
            continue
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (n_series, width):
            raise ValueError(
                f"covariates.{name} has shape {values.shape}, expected {(n_series, width)}"
            )
        values = values[:, : n_periods + horizon]
        if not np.isfinite(values).all():
            raise ValueError(f"covariates.{name} has NaN or infinite values")
        regressors[k] = values
    return future, regressors


def _holiday_table(
    country: str | None, freq: Frequency, dates: pd.DatetimeIndex
) -> pd.DataFrame | None:
    """Prophet's ``holidays`` frame (``holiday``, ``ds``) over ``dates``, on the period grid.

    Each holiday goes to the period whose label is the last date on or before it, when it
    falls within that period. Monthly data gets none (see the class docstring).
    """
    if country is None or freq.code == "M":
        return None
    import holidays

    years = range(dates[0].year, dates[-1].year + 1)
    try:
        calendar = holidays.country_holidays(country, years=years, language="en_US")
    except NotImplementedError as error:
        raise ValueError(f"no public holidays known for country={country!r}: {error}") from None
    day = pd.DatetimeIndex(list(calendar.keys()))
    names = np.array(list(calendar.values()), dtype=object)
    position = dates.searchsorted(day, side="right") - 1
    inside = position >= 0
    inside[inside] = day[inside] < dates[position[inside]] + pd.Timedelta(days=freq.period_days)
    table = pd.DataFrame({"holiday": names[inside], "ds": dates[position[inside]]})
    table = table.drop_duplicates().sort_values(["ds", "holiday"]).reset_index(drop=True)
    return table if len(table) else None


def _fallback_reasons(
    y: np.ndarray, min_count: int, min_nonzero_share: float, max_series: int | None
) -> np.ndarray:
    """Why each row skips Prophet (``""``: it does not)."""
    observed = ~np.isnan(y)
    count = observed.sum(axis=1)
    nonzero = (observed & (y != 0)).sum(axis=1)
    reasons = np.full(y.shape[0], "", dtype=object)
    reasons[nonzero < min_nonzero_share * count] = "mostly zeros"
    reasons[count < min_count] = "short history"
    reasons[count == 0] = "no observations"
    if max_series is not None:
        eligible = np.flatnonzero(reasons == "")
        volume = np.nansum(y[eligible], axis=1)
        ranked = eligible[np.argsort(-volume, kind="stable")]
        reasons[ranked[max_series:]] = "max_series"
    return reasons


def _chunks(rows: np.ndarray, n_workers: int) -> list[np.ndarray]:
    """Split row numbers into about ``n_workers * 4`` chunks (one chunk when in-process)."""
    if len(rows) == 0:
        return []
    n_chunks = 1 if n_workers == 1 else min(len(rows), n_workers * _CHUNKS_PER_WORKER)
    return [chunk for chunk in np.array_split(rows, n_chunks) if len(chunk)]
