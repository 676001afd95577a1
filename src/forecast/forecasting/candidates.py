"""Fitting the engine's candidate models: the global model once per run on all series, the
per-series models by chunks of series.

The global gradient-boosting model learns from every series at once, so it is fitted on the
whole panel, once for the inner folds (:func:`start_global_model`) and once for the forecast,
and only its forecasts are cut by series. The per-series models (the statistical ones and
Prophet) are fitted by chunks of series that a mapper may run anywhere (threads, processes, a
Dask cluster: ``pipelines/nightly.py``): :func:`per_series_forecasts` takes one
:class:`SeriesJob` and returns plain arrays. A per-series model's forecast of a series depends
on that series alone, so the chunks' forecasts, stacked, are the forecasts of one chunk of all
series, and a chunked run gives the engine's unchunked forecast.

Both cores: the two global-model fits are independent of the per-series models, so they run
one after the other in a background thread (on one thread each: LightGBM is told
``num_threads=1`` and releases the GIL while it trains; the scikit-learn backend is held to one
OpenMP thread, on which it grows the same trees as on two, checked) while the caller's thread
fits the per-series models: two jobs on two cores. The fold fit comes first, so the choice is
made while the final fit runs, and when it gives the global model no weight the final fit
stops at its next tree (``GlobalForecasts.stop``) instead of finishing for nothing.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the engine imports this module
    from forecast.forecasting.engine import EngineConfig

STAT_MODELS = ("seasonal_naive", "seasonal_profile", "ets", "theta", "croston", "sba", "tsb",
               "adida", "imapa")
PER_SERIES_EXTRA = ("moving_average", "damped")


@dataclass
class _Context:
    """What a model may look at when it is fitted on the first ``t`` periods."""

    y: np.ndarray  # (n, t) demand, NaN = not observed
    season_length: int
    dates: pd.DatetimeIndex  # (t,)
    covariates: object | None  # features.Covariates covering t + h periods, or None
    factors: np.ndarray  # (n, t + h) campaign multipliers for statistical models
    prophet_rows: np.ndarray  # indices of series Prophet fits
    groups: np.ndarray | None = None  # SKU code per series when the global model pools (gbm_pooled)
    pool_window: int = 56  # periods of the shares the pooled model splits a SKU's total by


def _stat_model(name: str):
    from forecast.forecasting import forecasters as f

    return {
        "seasonal_naive": lambda: f.SeasonalNaive(),
        "moving_average": lambda: f.MovingAverage(window=28),
        "ets": lambda: f.HoltWinters(trend=None, seasonal="add"),
        "damped": lambda: f.DampedTrend(seasonal="add"),
        "theta": lambda: f.Theta(),
        "croston": lambda: f.Croston(),
        "sba": lambda: f.SBA(),
        "tsb": lambda: f.TSB(),
        "adida": lambda: f.ADIDA(),
        "imapa": lambda: f.IMAPA(),
    }[name]()


def _predict_model(name: str, ctx: _Context, h: int, cfg: EngineConfig, max_rows: int | None = None,
                   stop: threading.Event | None = None) -> np.ndarray:
    """Mean forecast (n, h) of one candidate fitted on ``ctx`` (``stop``: see :meth:`GlobalGBM.fit`)."""
    n, t = ctx.y.shape
    if name in STAT_MODELS or name in PER_SERIES_EXTRA:
        adjusted = ctx.y / ctx.factors[:, :t]
        if name == "seasonal_profile":
            from forecast.forecasting.engine import seasonal_profile_forecast

            base = seasonal_profile_forecast(adjusted, ctx.season_length, h, cfg)
        else:
            base = _stat_model(name).fit(adjusted, ctx.season_length).predict(h)
        return base * ctx.factors[:, t : t + h]
    if name == "gbm":
        steps = ctx.covariates.horizon if ctx.covariates is not None else h
        model = _global_model(cfg, ctx, max_rows or gbm_rows(cfg.gbm_rows, cfg, n, steps))
        return model.fit(ctx.y, ctx.season_length, covariates=ctx.covariates, stop=stop).predict(h)
    if name == "prophet":
        from forecast.forecasting.forecasters.prophet import ProphetForecaster

        out = np.full((n, h), np.nan)
        rows = ctx.prophet_rows
        if len(rows):
            cov = _take_rows(ctx.covariates, rows) if ctx.covariates is not None else None
            model = ProphetForecaster(n_jobs=cfg.prophet_jobs, max_horizon=h)
            model.fit(ctx.y[rows], ctx.season_length, dates=ctx.dates, covariates=cov)
            out[rows] = model.predict(h)
        return out
    raise ValueError(f"unknown model {name!r}")


def _global_model(cfg: EngineConfig, ctx: _Context, max_rows: int) -> object:
    """The unfitted global model: :class:`~forecast.forecasting.forecasters.gbm_pooled.PooledGBM` when
    the context has SKUs at several locations and ``cfg.gbm_pool_weight`` > 0, else GlobalGBM."""
    from forecast.forecasting.forecasters.gbm import GlobalGBM
    from forecast.forecasting.forecasters.gbm_pooled import PooledGBM

    kwargs = {"random_state": cfg.seed, "max_rows": max_rows, "backend": cfg.gbm_backend}
    if ctx.groups is None or cfg.gbm_pool_weight <= 0:
        return GlobalGBM(**kwargs)
    return PooledGBM(ctx.groups, cfg.gbm_pool_weight, ctx.pool_window, **kwargs)


def gbm_rows(cap: int, cfg: EngineConfig, n_series: int, horizon: int = 28) -> int:
    """Training rows of the global model: ``cap``, or with ``gbm_rows_per_series`` that many
    per series when fewer (a small panel needs fewer rows to learn the same effects), never
    fewer than ``gbm_min_rows``; both per 28 steps of the horizon the model learns (the rows
    are spread over its steps: on m5_dev at 56 days, 100k rows made the fold model so much
    worse than 200k that the choice left it)."""
    if cfg.gbm_rows_per_series <= 0:
        return cap
    steps = max(1.0, horizon / 28)
    return int(min(cap, steps * max(cfg.gbm_rows_per_series * n_series, cfg.gbm_min_rows)))


# -- covariates cut by series and by time -----------------------------------------------------
def _map_arrays(cov: object, change: Callable[[np.ndarray], np.ndarray | None], **extra: object) -> object:
    """A copy of a covariates dataclass with ``change`` applied to every array field (and to the
    arrays inside dict fields); ``change`` returns None to keep an array as it is."""
    changes: dict[str, object] = dict(extra)
    for f in dataclasses.fields(cov):
        if f.name in changes or f.name == "dates":
            continue
        value = getattr(cov, f.name)
        if isinstance(value, np.ndarray):
            new = change(value)
            if new is not None:
                changes[f.name] = new
        elif isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
            mapped = {key: change(v) for key, v in value.items()}
            changes[f.name] = {key: value[key] if new is None else new for key, new in mapped.items()}
    return dataclasses.replace(cov, **changes)


def _take_rows(cov: object, rows: np.ndarray) -> object:
    """The covariates of a subset of series (every per-series array sliced on axis 0)."""
    n = cov.category.shape[0]
    return _map_arrays(cov, lambda a: a[rows] if a.ndim >= 1 and a.shape[0] == n else None)


def _cut_covariates(cov: object | None, t: int, h: int) -> object | None:
    """Covariates as seen from an origin after period ``t``: history ``t``, future ``h``."""
    if cov is None:
        return None
    total = len(cov.dates)
    return _map_arrays(
        cov, lambda a: a[:, : t + h] if a.ndim == 2 and a.shape[1] == total else None,
        dates=cov.dates[: t + h], n_history=t,
    )


# -- per-series models, by chunk ----------------------------------------------------------------
@dataclass
class SeriesJob:
    """One chunk of series for the per-series models: their history, campaign factors and (for
    Prophet) covariates over the history and the horizon, and the training ends to forecast
    ``horizon`` periods from."""

    names: list[str]
    y: np.ndarray  # (n, T)
    factors: np.ndarray  # (n, T + horizon)
    season_length: int
    dates: pd.DatetimeIndex  # (T,)
    covariates: object | None
    prophet_rows: np.ndarray  # rows of this chunk that Prophet fits
    ends: list[int]
    horizon: int
    cfg: EngineConfig


@dataclass
class SeriesForecasts:
    """What :func:`per_series_forecasts` returns: per end, each model's forecast (n, h); the
    reasons of the models that failed; seconds spent per model."""

    preds: list[dict[str, np.ndarray]]
    failures: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def series_jobs(names: list[str], y: np.ndarray, factors: np.ndarray, m: int, dates: pd.DatetimeIndex,
                covariates: object | None, prophet_rows: np.ndarray, ends: list[int], horizon: int,
                cfg: EngineConfig, chunks: list[np.ndarray]) -> list[SeriesJob]:
    """One :class:`SeriesJob` per chunk of rows (covariates only when Prophet needs them)."""
    jobs = []
    for rows in chunks:
        local = np.flatnonzero(np.isin(rows, prophet_rows))
        cov = _take_rows(covariates, rows) if covariates is not None and "prophet" in names else None
        jobs.append(SeriesJob(list(names), y[rows], factors[rows], m, dates, cov, local, list(ends),
                              horizon, cfg))
    return jobs


def per_series_forecasts(job: SeriesJob) -> SeriesForecasts:
    """Every per-series model of ``job`` fitted on the history up to each end and forecast
    ``horizon`` periods (at most to the end of the history, except from the last end); a model
    that fails is reported and left out of every end."""
    out = SeriesForecasts([{} for _ in job.ends])
    t_all = job.y.shape[1]
    for name in job.names:
        start = time.perf_counter()
        try:
            for f, end in enumerate(job.ends):
                h = min(job.horizon, t_all - end) if end < t_all else job.horizon
                cov = _cut_covariates(job.covariates, end, job.horizon)
                ctx = _Context(job.y[:, :end], job.season_length, job.dates[:end], cov,
                               job.factors[:, : end + job.horizon], job.prophet_rows)
                out.preds[f][name] = _predict_model(name, ctx, h, job.cfg)
        except Exception as exc:  # noqa: BLE001 - isolate one model's failure, keep the reason
            out.failures[name] = f"{type(exc).__name__}: {exc}"
            for preds in out.preds:
                preds.pop(name, None)
        out.seconds[name] = time.perf_counter() - start
    return out


def stack_series_forecasts(parts: list[SeriesForecasts], chunks: list[np.ndarray], n: int) -> SeriesForecasts:
    """The chunks' forecasts as one (rows back in panel order); a model that failed in any
    chunk is left out everywhere, so every series has the same candidates."""
    failures: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for part in parts:
        failures.update(part.failures)
        for name, s in part.seconds.items():
            seconds[name] = seconds.get(name, 0.0) + s
    ends = len(parts[0].preds) if parts else 0
    preds: list[dict[str, np.ndarray]] = []
    for f in range(ends):
        names = [name for name in parts[0].preds[f] if name not in failures]
        stacked = {}
        for name in names:
            first = parts[0].preds[f][name]
            full = np.empty((n, first.shape[1]))
            for part, rows in zip(parts, chunks):
                full[rows] = part.preds[f][name]
            stacked[name] = full
        preds.append(stacked)
    return SeriesForecasts(preds, failures, seconds)


# -- the global model, once per run -------------------------------------------------------------
@dataclass
class GlobalForecasts:
    """The global model's forecasts running in the background: ``folds`` resolves to one
    (n, h) forecast per inner fold, ``final`` to the forecast from the end of the history;
    setting ``stop`` ends the final fit early when its forecast will not be used (it then
    raises :class:`~forecast.forecasting.forecasters.gbm.FitStopped`); None when the final fit
    cannot be stopped (the scikit-learn backend, or one fit serving both)."""

    folds: Future
    final: Future
    stop: threading.Event | None = None


def start_global_model(
    pool: Executor,
    cfg: EngineConfig,
    folds: list[int],
    horizon: int,
    t: int,
    context: Callable[[int, int], _Context],
    limit: bool = True,
) -> GlobalForecasts:
    """Submit the global model's fits to ``pool``: with ``gbm_fit_once`` one fit scores every
    inner fold (trained on the targets before the first fold's end, forecast from each fold's
    origin by :meth:`GlobalGBM.predict_at`; later folds are scored with a model older than a
    refit would be, the price of one fit instead of one per fold), else one fit per fold; the
    forecast from a fit on the whole history (or, without ``gbm_refit``, from the fold model).
    ``limit``: each fit on one OpenMP thread (:func:`_one_thread`)."""
    from forecast.forecasting.forecasters.gbm import lightgbm_available

    once = cfg.gbm_fit_once and len(folds) >= 2
    backtest_rows = gbm_rows(cfg.gbm_backtest_rows, cfg, len(context(1, 0).y), horizon)

    def fold_model() -> object:
        # Without a refit the same model also forecasts from the end, so it sees the whole
        # history (its training targets still stop at the first fold's end).
        ctx = context(folds[-1] if cfg.gbm_refit else t, horizon)
        model = _global_model(cfg, ctx, backtest_rows)
        return model.fit(ctx.y, ctx.season_length, covariates=ctx.covariates, train_until=folds[0])

    def fold_forecasts() -> list[np.ndarray]:
        if once:
            model = _one_thread(fold_model, limit)
            return [model.predict_at(end, horizon)[:, : t - end] for end in folds]
        return [_one_thread(lambda e=end: _predict_model(
            "gbm", context(e, horizon), min(horizon, t - e), cfg, backtest_rows), limit) for end in folds]

    if once and not cfg.gbm_refit:  # one fit serves both
        shared = pool.submit(_one_thread, fold_model, limit)
        return GlobalForecasts(
            pool.submit(lambda: [shared.result().predict_at(e, horizon)[:, : t - e] for e in folds]),
            pool.submit(lambda: shared.result().predict(horizon)))
    stop = threading.Event() if cfg.gbm_backend == "lightgbm" and lightgbm_available() else None
    folds_done = pool.submit(fold_forecasts)  # first: the choice waits for it, not for the final fit
    final = pool.submit(_one_thread, lambda: _predict_model("gbm", context(t, horizon), horizon, cfg, stop=stop),
                        limit)
    return GlobalForecasts(folds_done, final, stop)


def _one_thread(fn: Callable[[], object], limit: bool = True) -> object:
    """``fn()`` on one OpenMP thread in this thread: the other core fits the per-series models (with
    ``threads=1`` too: on 30 series x 160 days two OpenMP threads made a fit 4 times slower
    while another process used the other core)."""
    if not limit:
        return fn()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):
        return fn()
