"""The forecast engine: fits every candidate model on all series at once, chooses among them by
rolling-origin backtest, and returns a calibrated probabilistic forecast.

1. **Candidates** (``EngineConfig.models``): statistical models from
   :mod:`forecast.forecasting.forecasters` (seasonal naive, seasonal profile, exponential smoothing, Theta,
   Croston/SBA/TSB), the global gradient-boosting model, and Prophet on the series the
   configuration selects (the top sellers). Statistical models fit the *campaign-adjusted*
   history (demand divided by the estimated campaign uplift and post-campaign dip) and their
   forecasts are multiplied back by the uplift of planned campaigns; the gradient-boosting model
   and Prophet see campaigns as features; where SKUs sell at several locations the global
   model is pooled: half bottom-up, half the SKUs' totals split by recent location shares
   (:mod:`forecast.forecasting.forecasters.gbm_pooled`). The global model is fitted once per run on all series
   (one fit scores the inner folds, then one forecasts, in a background thread; the second
   stops at its next tree when the choice gives the model no weight) and the
   per-series models by chunks of series (``chunk_size``, ``mapper``): a chunked run gives the
   same forecast (:mod:`forecast.forecasting.candidates`).
2. **Selection** uses only the inner backtest folds (the last ``folds x horizon`` periods of the
   history handed to the engine). Four ways of combining the candidates compete: per series, the
   ``top_k`` models with the lowest scaled squared error with inverse-error weights
   (``ensemble``) or the single best (``best``); for all series alike, the model with the lowest
   mean error (``global``) or the ``top_k`` best on average (``global_ensemble``). With ``auto``
   (the default) the way is itself chosen by cross-fitting over the inner folds: weights learned
   on the other folds are scored on each fold, so per-series choices that only fit noise lose;
   a simpler way within ``selection_margin`` of the best wins (:func:`_choose_selection`).
   An intermittent series combines its chosen models (per series: its ``intermittent_top_k``
   best, more than a smooth series' ``top_k``) by their median per period
   (``intermittent_combine``, :func:`_combine`), a smooth one by the weighted mean.
3. **Distribution**: a negative-binomial size ``k`` and a shared level-error variance ``v`` per
   series (see :mod:`forecast.forecasting.distribution`), estimated from the history. For daily data the
   level error is then re-estimated from the inner backtest folds: the errors of the combined
   forecast over sums of ``calibration_window_days`` (a week: the order of a lead time), shrunk
   towards the history's estimate (``calibration._window_level_var``), because the stock
   policy protects sums over a lead time and their spread comes mostly from the level error, which
   daily values hardly show. Last, one factor per demand class (smooth / intermittent) scales
   the noise ``k`` so that the central 90% interval covers 90% of the daily actuals in the
   folds, each actual counted by the share of its non-randomized PIT inside the interval
   (``coverage_measure``; a count forecast can be calibrated so, while a slow mover's zeros
   all lie inside [q05, q95]) (weekly and monthly data: the factor scales ``k`` and ``v``
   together). The intermittent class may also get a rate floor: its distribution's mean is
   at least a share (``floor_shares``, chosen on the folds after the factor) of each series'
   long-run mean, the point forecast unchanged (:meth:`DemandForecast.expected`). Then, per class,
   ``v`` may be widened so that the 0.95 quantile of ``sum_window_days`` sums covers 95% of
   them in the folds, each fold scored against the level error estimated from the others
   (``calibration._calibrate_sums``); weekly and monthly data then search ``k`` again so that
   single periods still cover 90% with that wider ``v`` (``calibration._noise_after_sums``).

Censored periods (stockouts) are NaN in the panel: no model reads them as zero demand.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.forecasting.calibration import _calibrate, _level_window, floor_rates, long_run_mean
from forecast.forecasting.candidates import (  # _Context, _cut_covariates, _take_rows: re-exported
    STAT_MODELS,
    GlobalForecasts,
    SeriesForecasts,
    _Context,
    _cut_covariates,
    _predict_model,
    _take_rows,
    per_series_forecasts,
    series_jobs,
    stack_series_forecasts,
    start_global_model,
)
from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import Panel, intermittent_rows

log = logging.getLogger(__name__)

__all__ = [
    "STAT_MODELS",
    "EngineConfig",
    "EngineResult",
    "_Context",
    "_cut_covariates",
    "_predict_model",
    "_take_rows",
    "forecast_panel",
]

DEFAULT_MODELS = (*STAT_MODELS, "gbm")
KNOWN_MODELS = (*STAT_MODELS, "moving_average", "damped", "gbm", "prophet")


@dataclass(frozen=True)
class EngineConfig:
    """Parameters of the engine (all with defaults; see the module docstring)."""

    models: tuple[str, ...] = DEFAULT_MODELS
    selection: str = "auto"  # auto | ensemble | best | global | global_ensemble (module doc)
    top_k: int = 3
    selection_margin: float = 0.01  # auto: the simplest way within this share of the best (_choose_selection)
    folds: int = 3
    fold_step: int | None = None  # periods between inner fold origins (None = the horizon)
    prophet_series: int = 0  # Prophet on the top-N sellers (0 = off); it is the slow one
    prophet_jobs: int = 2
    gbm_rows: int = 200_000  # training rows of the gradient-boosting model at most (final fit; was
    # 400k: carparts' accuracy did not change with 100k, its forecast step took 8-10 s with 400k)
    gbm_backtest_rows: int = 200_000  # the same in the inner folds
    # Rows scale with the panel: at most this many per series (0: off), never fewer than
    # gbm_min_rows. 250 / 100,000: demo 100k rows (RMSSE +0.7%, 2x faster); m5_dev 100k (mean of 3
    # seeds: WRMSSE 0.876 / RMSSE 0.774 against 0.865 / 0.772 with 400k, 50k rows: 0.879 / 0.777).
    gbm_rows_per_series: int = 250
    gbm_min_rows: int = 100_000
    gbm_backend: str = "lightgbm"  # or "sklearn" (HistGradientBoosting): GlobalGBM's backend
    gbm_fit_once: bool = True  # one gradient-boosting fit scores every inner fold
    gbm_refit: bool = True  # refit it on the whole history for the forecast (False: one fit per run)
    # SKUs at several locations: the global model's forecast is this share top-down from a
    # second model of the SKUs' totals, split by each location's share of the last
    # gbm_pool_share_days (forecasters.gbm_pooled; 0: bottom-up only). 0.5 against 0, 3 windows
    # x 3 seeds: m5_dev RMSSE 0.7251 -> 0.7192, WRMSSE 0.8570 -> 0.8504; dominicks_oj 0.624 -> 0.598.
    gbm_pool_weight: float = 0.5
    gbm_pool_share_days: float = 56.0
    # Error that ranks models on intermittent series: mse | mase | mase_sums (MASE of sums over
    # the level window: a week of daily data, single periods of weekly and monthly data).
    # mase_sums against mse: carparts MASE 1.148 -> 1.098 (RMSSE 0.606 -> 0.616; mse favoured a
    # few series' large demands); m5_dev unchanged, where MASE of single days chose per-series
    # ensembles that were worse (RMSSE 0.7711 -> 0.7797).
    intermittent_score: str = "mase_sums"
    # How an intermittent series' chosen models combine: "median" per period of its top_k, or
    # "mean" (inverse-score weights, as smooth series). Median: carparts MASE 1.098 -> 1.065,
    # RMSSE 0.616 -> 0.604 (one Croston-type or seasonal-naive outlier no longer pulls it).
    intermittent_combine: str = "median"
    # Models an intermittent series combines with the per-series ways (ensemble; None: top_k).
    # The median of more candidates is less biased: carparts, 3 -> 8: total -12% -> -2%, RMSSE
    # (first observation) 0.7193 -> 0.7063, MASE1 1.0589 -> 1.0780, 14-day q95 pinball -2.8%;
    # the window before it: 0.8448 -> 0.8301, total -15% -> -5%. m5_dev and dominicks_oj choose
    # a global way, which this does not change.
    intermittent_top_k: int | None = 8
    intermittent_adi: float = 1.32  # mean inter-demand interval above which a series is intermittent
    calibrate: bool = True
    coverage_target: float = 0.90
    # What the per-class dispersion factor makes cover coverage_target of the fold actuals:
    # "pit" (the non-randomized PIT of each count inside the central interval, Czado et al.
    # 2009: attainable by a calibrated count forecast) or "interval" (actuals inside
    # [q05, q95]: a slow mover's zeros are always inside, its class never gets below ~95% and
    # the factor ends at the grid's end, the noise made as thin as it goes).
    coverage_measure: str = "pit"
    # Rate floor of the intermittent class's distribution (DemandForecast.expected): shares of
    # each series' long-run mean tried on the inner folds for coverage_target, after its
    # dispersion factor, among the shares that do not forecast more than the folds sold (the
    # first is the default; a single value: off). carparts (share 0.75): PIT coverage 86.1% ->
    # 89.0%, 1-month q95 92.1% -> 94.9%, MASE and RMSSE unchanged (the point forecast is not
    # floored); without the sales bound it took 1.0 and a class mean 1.5 x the point forecast.
    # m5_dev and dominicks_oj choose 0.
    floor_shares: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    # The long-run mean over this much history (None: all). carparts: all of it made the class's
    # mean 1.18 x its next year's sales, 730 days 1.08 x (PIT 88.9% -> 89.0%), 365 days 1.06 x.
    floor_history_days: float | None = 730.0
    level_window: int | None = None  # seasonal profile: periods in the recent level
    profile_seasons: int = 8
    min_level_var: float = 0.002
    max_level_var: float = 1.0
    calibration_window_days: float = 7.0  # level error from backtest sums over this many days
    # ... then v scaled per demand class so that this quantile of the sums over sum_window_days
    # (a lead time; at least one period) covers as much in the inner folds (0: off)
    sum_quantile: float = 0.95
    sum_window_days: float = 14.0
    noise_after_sums: bool = True  # then the noise k again for single periods (calibration._noise_after_sums)
    level_prior_blocks: float = 12.0  # weight of the history-based level error, in blocks
    dip_periods: int = 7  # post-campaign dip length in days (converted to periods)
    keep_all: bool = False  # also return every candidate's own forecast (backtests use it)
    # Threads in all: the caller's (per-series models) and threads - 1 for the global model's two
    # fits (2: one after the other, beside the per-series models; 3: side by side; 1: inline).
    threads: int = 2
    seed: int = 0


@dataclass
class EngineResult:
    """What the engine produced, beyond the forecast itself."""

    forecast: DemandForecast
    weights: pd.DataFrame  # series x model weights (intermittent rows, median: the models pooled)
    backtest_scores: pd.DataFrame  # series x model mean scaled squared error (inner folds)
    uplift: pd.DataFrame  # estimated campaign uplift per kind and category
    calibration: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    model_forecasts: dict[str, DemandForecast] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # candidates that failed and were dropped


# -- the first, simple model kept as a candidate ----------------------------------------------
def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    count = np.sum(~np.isnan(a), axis=axis)
    total = np.nansum(a, axis=axis)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def seasonal_profile_forecast(y: np.ndarray, m: int, h: int, cfg: EngineConfig) -> np.ndarray:
    """Level of the last ``level_window`` observed periods x seasonal index of the last seasons.

    The seasonal index of position j is mean(y at position j) / mean(y) over the last
    ``profile_seasons`` seasons (1 when the history is shorter than two seasons or m == 1).
    """
    n, t = y.shape
    window = cfg.level_window or (4 * m if m <= 12 else 13)
    window = min(window, t)
    level = _nanmean(y[:, t - window :], axis=1)
    level = np.where(np.isnan(level), _nanmean(y, axis=1), level)
    level = np.nan_to_num(level, nan=0.0)
    index = np.ones((n, m))
    if m > 1 and t >= 2 * m:
        span = min(cfg.profile_seasons * m, (t // m) * m)
        recent = y[:, t - span :].reshape(n, span // m, m)
        pos_mean = _nanmean(recent, axis=1)
        overall = _nanmean(recent.reshape(n, -1), axis=1)[:, None]
        enough = np.sum(~np.isnan(recent), axis=1) >= 2
        raw = np.divide(pos_mean, overall, out=np.ones_like(pos_mean), where=overall > 0)
        index = np.where(enough & ~np.isnan(raw), raw, 1.0)
        index = index / index.mean(axis=1, keepdims=True)
        pos = (np.arange(t - window, t)) % m
        seen = ~np.isnan(y[:, t - window :])
        mix = np.divide(
            (index[:, pos] * seen).sum(axis=1), seen.sum(axis=1),
            out=np.ones(n), where=seen.sum(axis=1) > 0,
        )
        level = level / np.where(mix > 0, mix, 1.0)
    future_pos = np.arange(t, t + h) % m
    return np.maximum(level[:, None] * index[:, future_pos], 0.0)


def dispersion(y: np.ndarray, m: int, h: int, cfg: EngineConfig) -> tuple[np.ndarray, np.ndarray]:
    """Negative-binomial size ``k`` and level-error variance ``v`` per series.

    ``sigma^2 = mean((y_t - y_{t-m})^2) / 2`` over the last year and ``k = mu^2 / (sigma^2 - mu)``
    (Poisson when ``sigma^2 <= mu``); ``v`` from how well the recent level predicted the next
    ``h`` periods at past origins, net of the noise already in ``k`` (median over origins).
    Series without enough history take the median of the others.
    """
    n, t = y.shape
    tail = y[:, max(0, t - 365) :]
    mu = _nanmean(tail, axis=1)
    lag = m if tail.shape[1] > 2 * m else 1
    diff = tail[:, lag:] - tail[:, :-lag] if tail.shape[1] > lag else np.full((n, 1), np.nan)
    sigma2 = _nanmean(diff**2, axis=1) / 2
    excess = sigma2 - mu
    k = np.where(excess > 1e-9, mu**2 / np.maximum(excess, 1e-12), np.inf)
    finite = np.isfinite(k) & ~np.isnan(k)
    pooled = np.nanmedian(k[finite]) if finite.any() else np.inf
    k = np.where(np.isnan(k), pooled, k)

    window = 4 * m if m <= 12 else 13
    errs = []
    for origin in range(t - h, max(window, t - 365) - 1, -max(h, 1)):
        pred = _nanmean(y[:, origin - window : origin], axis=1)
        act = _nanmean(y[:, origin : origin + h], axis=1)
        seen = np.sum(~np.isnan(y[:, origin : origin + h]), axis=1)
        noise = np.divide(pred, seen, out=np.full(n, np.nan), where=seen > 0)
        noise = noise + np.where(np.isfinite(k), pred**2 / np.maximum(seen, 1) / k, 0.0)
        rel = np.divide((act - pred) ** 2 - noise, pred**2, out=np.full(n, np.nan), where=pred > 0)
        errs.append(rel)
    if errs:
        stack = np.vstack(errs)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: pooled below
            v = np.nanmedian(stack, axis=0) if len(errs) > 2 else _nanmean(stack, axis=0)
    else:
        v = np.full(n, np.nan)
    pooled_v = np.nanmedian(v) if np.isfinite(v).any() else 0.05
    v = np.where(np.isnan(v), pooled_v, v)
    return k, np.clip(v, cfg.min_level_var, cfg.max_level_var)


# -- campaign adjustment ------------------------------------------------------------------------
def campaign_factors(cov: object | None, uplift: pd.DataFrame, n: int, length: int, dip_periods: int) -> np.ndarray:
    """(n, length) multipliers: the estimated uplift of each campaign's kind and category inside
    campaigns, the post-campaign dip for ``dip_periods`` after, 1 elsewhere."""
    factors = np.ones((n, length))
    if cov is None or uplift is None or uplift.empty:
        return factors
    kinds = {name: i for i, name in enumerate(cov.kind_names)}
    cats = {name: i for i, name in enumerate(cov.category_names)}
    up = np.ones((len(cov.kind_names), max(len(cov.category_names), 1)))
    dip = np.ones_like(up)
    for r in uplift.itertuples(index=False):  # a few dozen (kind, category) rows
        if r.kind in kinds and r.category in cats and np.isfinite(r.uplift):
            up[kinds[r.kind], cats[r.category]] = max(r.uplift, 0.05)
            if np.isfinite(getattr(r, "post_dip", np.nan)):
                dip[kinds[r.kind], cats[r.category]] = max(r.post_dip, 0.05)
    kind = cov.campaign_kind[:, :length].astype(int)
    cat = np.broadcast_to(cov.category[:, None], kind.shape).astype(int)
    active = cov.campaign_active[:, :length] > 0
    factors = np.where(active, up[kind, cat], 1.0)
    # Post-campaign dip: the kind of the campaign that just ended is not kept per cell, so the
    # strongest dip estimated for the series' category applies.
    after = (cov.days_after_campaign[:, :length] >= 1) & (cov.days_after_campaign[:, :length] <= dip_periods)
    category_dip = dip.min(axis=0)[cov.category.astype(int)]
    return np.where(after & ~active, category_dip[:, None], factors)


def estimate_uplift(panel: Panel, covariates: object | None) -> pd.DataFrame:
    """Campaign uplift per kind and category from the panel's past campaigns (empty without)."""
    t = panel.demand.shape[1]
    if covariates is None or not (covariates.campaign_active[:, :t] > 0).any():
        return pd.DataFrame(columns=["kind", "category", "campaigns", "uplift", "post_dip"])
    from forecast.forecasting.features import estimate_campaign_uplift

    return estimate_campaign_uplift(panel.demand, _cut_covariates(covariates, t, 0))


# -- the engine -----------------------------------------------------------------------------------
Mapper = Callable[[Callable[..., object], list[tuple]], list[object]]


def sequential_map(fn: Callable[..., object], items: list[tuple]) -> list[object]:
    return [fn(*args) for args in items]


def forecast_panel(
    panel: Panel,
    horizon: int,
    cfg: EngineConfig | None = None,
    covariates: object | None = None,
    progress: Callable[[str], None] | None = None,
    uplift: pd.DataFrame | None = None,
    chunk_size: int = 0,
    mapper: Mapper | None = None,
) -> EngineResult:
    """Probabilistic forecast of every series in ``panel`` for ``horizon`` periods.

    ``uplift``: campaign uplift per kind and category estimated elsewhere; by default it is
    estimated from this panel. ``chunk_size``/``mapper``: the per-series models are fitted by
    chunks of that many series through ``mapper(fn, [args, ...])`` (e.g. over a Prefect task
    runner); the global model, the choice and the calibration see every series, so the forecast
    is the same whatever the chunks (:mod:`forecast.forecasting.candidates`)."""
    cfg = cfg or EngineConfig()
    say = progress or (lambda message: None)
    mapper = mapper or sequential_map
    y = panel.demand
    n, t = y.shape
    m = panel.freq.season_length
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    if uplift is None:
        uplift = estimate_uplift(panel, covariates)
    dip = max(round(cfg.dip_periods / panel.freq.period_days), 1)
    factors = campaign_factors(covariates, uplift, n, t + horizon, dip)
    seconds["uplift"] = time.perf_counter() - clock

    models = [name for name in cfg.models if name != "prophet" or cfg.prophet_series > 0]
    if "gbm" in models and covariates is None:
        models.remove("gbm")
    prophet_rows = _top_rows(y, cfg.prophet_series) if "prophet" in models else np.array([], int)

    groups = None
    if cfg.gbm_pool_weight > 0 and "gbm" in models:
        from forecast.forecasting.forecasters.gbm_pooled import pooling_groups

        groups = pooling_groups(panel.keys["sku"].to_numpy())
    pool_window = max(1, round(cfg.gbm_pool_share_days / panel.freq.period_days))

    def context(end: int, h: int) -> _Context:
        return _Context(y[:, :end], m, panel.dates[:end], _cut_covariates(covariates, end, h),
                        factors[:, : end + h], prophet_rows, groups, pool_window)

    folds = _inner_folds(t, horizon, cfg.folds, m, cfg.fold_step)
    chunks = chunk_rows(n, chunk_size)
    per_series = [name for name in models if name != "gbm"]

    def jobs(names: list[str], ends: list[int]) -> list[tuple]:
        return [(job,) for job in series_jobs(names, y, factors, m, panel.dates, covariates,
                                              prophet_rows, ends, horizon, cfg, chunks)]

    threads = max(cfg.threads, 1) if "gbm" in models else 1
    with ThreadPoolExecutor(max_workers=threads - 1) if threads > 1 else _Inline() as pool:
        glob = start_global_model(pool, cfg, folds, horizon, t, context) if "gbm" in models else None
        say("backtest: the per-series models at every inner fold")
        start = time.perf_counter()
        local = stack_series_forecasts(mapper(per_series_forecasts, jobs(per_series, folds)), chunks, n)
        seconds["backtest:per_series"] = time.perf_counter() - start
        backtest, failures = _score_folds(panel, horizon, folds, cfg, local, glob, seconds)
        names = [name for name in models if name in (backtest.preds[0] if backtest.preds else {})
                 or (not folds and name not in failures)]
        if not names:
            raise RuntimeError("every forecast model failed: " + "; ".join(failures.values()))
        scores, squared = _fold_means(backtest.errors, names, n), _fold_means(backtest.squared, names, n)
        selection, selection_scores = _choose_selection(backtest, cfg)
        sparse = intermittent_rows(y, cfg.intermittent_adi)
        weights = _weights(scores, cfg, selection, squared, sparse)

        say("final fit")
        wanted = [name for name in names if name != "gbm" and (cfg.keep_all or (weights[name] > 0).any())]
        start = time.perf_counter()
        last = stack_series_forecasts(mapper(per_series_forecasts, jobs(wanted, [t])), chunks, n)
        seconds["fit:per_series"] = time.perf_counter() - start
        final = dict(last.preds[0]) if last.preds else {}
        failures.update(last.failures)
        needed = "gbm" in names and (cfg.keep_all or (weights["gbm"] > 0).any())
        if glob is not None and glob.stop is not None and not needed and not glob.final.done():
            glob.stop.set()  # no series uses it: end its final fit at the next tree
            seconds["fit:gbm (stopped)"] = 0.0
        if glob is not None and needed:
            start = time.perf_counter()
            try:
                final["gbm"] = glob.final.result()
            except Exception as exc:  # noqa: BLE001 - as in the folds: drop it, keep the reason
                failures["gbm"] = f"{type(exc).__name__}: {exc}"
            seconds["fit:gbm (waited)"] = time.perf_counter() - start
    weights = _renormalise(weights, final)
    if weights.shape[1] == 0:
        raise RuntimeError("every forecast model failed: " + "; ".join(failures.values()))
    for name, reason in failures.items():
        log.warning("model %s failed: %s", name, reason)
    mean = _combine(weights, final, sparse, cfg)
    never = np.isnan(y).all(axis=1)
    mean[never] = 0.0

    k, v, floor, calibration, singles = _distributions(panel, horizon, cfg, weights, final, backtest, never)
    chosen = weights.idxmax(axis=1).to_numpy(dtype=object)
    label = np.where(weights.gt(0).sum(axis=1).to_numpy() > 1,
                     np.char.add("ensemble:", chosen.astype(str)), chosen)
    label[never] = "zero"
    seconds["total"] = time.perf_counter() - clock
    fc = DemandForecast(
        keys=panel.keys, dates=panel.future_dates(horizon), mean=mean, size=k, level_var=v,
        model=label.astype(object), floor=floor,
    )
    calibration["selection"] = selection
    calibration.update({f"selection_score:{k}": v for k, v in selection_scores.items()})
    warnings_ = [f"model {name} failed and was left out: {reason}" for name, reason in failures.items()]
    return EngineResult(fc, weights, scores, uplift, calibration, seconds, singles, warnings_)


class _Inline:
    """An executor that runs each task when it is submitted (one thread: nothing side by side)."""

    def __enter__(self) -> _Inline:  # noqa: PYI034 - a private helper
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., object], *args: object) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - raised again by result(), like a pool's
            future.set_exception(exc)
        return future


@dataclass
class _Backtest:
    """Per inner fold: the scale of the errors, each model's forecast and the actuals; per model
    the scaled errors of every fold (the models that failed in any fold are left out): the
    ranking ones (``errors``: :class:`_Scorer`) and the scaled squared ones (``squared``)."""

    errors: dict[str, list[np.ndarray]]
    squared: dict[str, list[np.ndarray]] = field(default_factory=dict)
    scales: list[_Scorer] = field(default_factory=list)
    preds: list[dict[str, np.ndarray]] = field(default_factory=list)
    actuals: list[np.ndarray] = field(default_factory=list)
    long_run: list[np.ndarray] = field(default_factory=list)  # mean demand before each origin


def _score_folds(
    panel: Panel, horizon: int, folds: list[int], cfg: EngineConfig, local: SeriesForecasts,
    glob: GlobalForecasts | None, seconds: dict[str, float],
) -> tuple[_Backtest, dict[str, str]]:
    """Every candidate's inner-fold forecasts (the per-series ones already made, the global
    model's awaited) scored against the actuals; the reasons of the models that failed."""
    y = panel.demand
    failures = dict(local.failures)
    gbm: list[np.ndarray] | None = None
    if glob is not None and folds:
        start = time.perf_counter()
        try:
            gbm = glob.folds.result()
        except Exception as exc:  # noqa: BLE001 - isolate one model's failure, keep the reason
            failures["gbm"] = f"{type(exc).__name__}: {exc}"
        seconds["backtest:gbm (waited)"] = time.perf_counter() - start
    for name, s in local.seconds.items():
        seconds[f"backtest:{name}"] = s
    backtest = _Backtest(errors={})
    window = _level_window(cfg, panel.freq.period_days, horizon) or 1
    floor_periods = _floor_periods(cfg, panel)
    for f, end in enumerate(folds):
        actual = y[:, end : end + horizon]
        scale = _Scorer.of(y[:, :end], cfg, window)
        preds = dict(local.preds[f])
        if gbm is not None:
            preds["gbm"] = gbm[f]
        ordered = {name: preds[name] for name in cfg.models if name in preds}
        for name, pred in ordered.items():
            backtest.errors.setdefault(name, []).append(scale(actual, pred))
            backtest.squared.setdefault(name, []).append(scale.squared_error(actual, pred))
        backtest.scales.append(scale)
        backtest.preds.append(ordered)
        backtest.actuals.append(actual)
        backtest.long_run.append(long_run_mean(y[:, :end], floor_periods))
    return backtest, failures


def _renormalise(weights: pd.DataFrame, final: dict[str, np.ndarray]) -> pd.DataFrame:
    """The weights without the models that have no forecast (failed in the final fit although
    they worked in the folds); series that relied on them alone spread over the rest."""
    missing = [name for name in weights.columns if name not in final and (weights[name] > 0).any()]
    if not missing:
        return weights
    weights = weights.drop(columns=missing)
    orphan = weights.sum(axis=1) <= 0
    weights.loc[orphan] = 1.0
    return weights.div(weights.sum(axis=1), axis=0).fillna(0.0)


def _distributions(
    panel: Panel,
    horizon: int,
    cfg: EngineConfig,
    weights: pd.DataFrame,
    final: dict[str, np.ndarray],
    backtest: _Backtest,
    never: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict[str, float], dict[str, DemandForecast]]:
    """Size ``k``, level variance ``v`` and rate floor (None: none) of the combined forecast,
    calibrated on the inner folds (module docstring), the calibration figures, and with
    ``keep_all`` every model's own forecast calibrated the same way."""
    y = panel.demand
    n = y.shape[0]
    m = panel.freq.season_length
    fold_preds, fold_actuals = backtest.preds, backtest.actuals
    k, v = dispersion(y, m, horizon, cfg)
    window = _level_window(cfg, panel.freq.period_days, horizon)
    sums = min(max(round(cfg.sum_window_days / panel.freq.period_days), 1), horizon)
    calibration: dict[str, float] = {}
    sparse = intermittent_rows(y, cfg.intermittent_adi)
    floor = None
    long_run = backtest.long_run or None  # per fold; and at the run:
    run_long_run = long_run_mean(y, _floor_periods(cfg, panel))
    if cfg.calibrate and fold_actuals:
        combined = [_combine(weights, p, s.sparse, cfg) for p, s in zip(fold_preds, backtest.scales)]
        k, v, calibration = _calibrate(combined, fold_actuals, k, v, y, cfg, window, sums, long_run)
        floor = floor_rates(run_long_run, calibration.get("intermittent_floor_share", 0.0), sparse)
    dates = panel.future_dates(horizon)
    singles: dict[str, DemandForecast] = {}
    if cfg.keep_all:
        k0, v0 = dispersion(y, m, horizon, cfg)
        for name, pred in final.items():
            k1, v1, f1 = k0, v0, None
            if cfg.calibrate and fold_actuals:
                k1, v1, own = _calibrate([np.nan_to_num(p[name]) for p in fold_preds], fold_actuals,
                                         k0, v0, y, cfg, window, sums, long_run)
                f1 = floor_rates(run_long_run, own.get("intermittent_floor_share", 0.0), sparse)
            single = pred.copy()  # NaN rows: series the model did not fit (Prophet's subset)
            single[never] = 0.0
            singles[name] = DemandForecast(panel.keys, dates, single, k1, v1,
                                           np.full(n, name, dtype=object), f1)
    return k, v, floor, calibration, singles


def _floor_periods(cfg: EngineConfig, panel: Panel) -> int | None:
    """Periods of history behind the rate floor's long-run mean (None: all of it)."""
    if not cfg.floor_history_days:
        return None
    return max(round(cfg.floor_history_days / panel.freq.period_days), 1)


def _top_rows(y: np.ndarray, count: int) -> np.ndarray:
    if count <= 0:
        return np.array([], dtype=int)
    volume = np.nansum(y[:, -min(365, y.shape[1]) :], axis=1)
    return np.sort(np.argsort(-volume, kind="stable")[:count])


def _inner_folds(t: int, h: int, folds: int, m: int, step: int | None = None) -> list[int]:
    """Training ends of the inner folds: ``folds`` windows of ``h`` periods (the run's horizon),
    the last ending with the history, each ``step`` periods before the next (default ``h``:
    adjacent windows; a shorter step overlaps them, so that a short history still has several
    origins), keeping at least two seasons of history in the first, or half the history when
    that is shorter (the seasonal models then fit without a season), and never fewer than 8
    periods."""
    step = step or h
    ends = [t - h - step * (folds - 1 - i) for i in range(folds)]
    return [e for e in ends if e >= max(min(2 * m, t // 2), 8)]


def _scale(y: np.ndarray) -> np.ndarray:
    """RMSSE-style scale: mean squared one-step difference of the history (NaN-aware)."""
    diff = np.diff(y, axis=1)
    scale = _nanmean(diff**2, axis=1)
    return np.where(np.isfinite(scale) & (scale > 0), scale, np.nan)


def _nan_mse(actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return _nanmean((actual - pred) ** 2, axis=1)


@dataclass
class _Scorer:
    """The error that ranks candidates on one inner fold, per series: scaled squared error
    (mean squared error / mean squared one-step difference of the history, as RMSSE) for smooth
    series; for intermittent ones (:func:`intermittent_rows`) with ``intermittent_score="mase"``
    the scaled absolute error (MAE / in-sample one-step naive MAE, as MASE, Hyndman & Koehler
    2006), which a few large demands do not dominate."""

    squared: np.ndarray
    absolute: np.ndarray
    intermittent: np.ndarray  # rows scored by the absolute error
    window: int = 1  # periods per block whose sums are compared (1: single periods)
    sparse: np.ndarray | None = None  # intermittent rows (:func:`intermittent_rows`), however scored

    @classmethod
    def of(cls, y: np.ndarray, cfg: EngineConfig, window: int = 1) -> _Scorer:
        absolute = _nanmean(np.abs(np.diff(y, axis=1)), axis=1)
        absolute = np.where(np.isfinite(absolute) & (absolute > 0), absolute, np.nan)
        sparse = intermittent_rows(y, cfg.intermittent_adi)
        use = cfg.intermittent_score in ("mase", "mase_sums")
        rows = sparse if use else np.zeros(len(y), bool)
        return cls(_scale(y), absolute, rows, window if cfg.intermittent_score == "mase_sums" else 1, sparse)

    def squared_error(self, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Scaled squared error of every row (as RMSSE, squared)."""
        return _nan_mse(actual, pred) / self.squared

    def __call__(self, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
        squared = self.squared_error(actual, pred)
        if not self.intermittent.any():
            return squared
        w = self.window if actual.shape[1] >= self.window else 1
        h = actual.shape[1] // w * w
        a = actual[:, :h].reshape(len(actual), -1, w).sum(axis=2)  # NaN when a period is
        p = pred[:, :h].reshape(len(pred), -1, w).sum(axis=2)  # censored: block not scored
        absolute = _nanmean(np.abs(a - p), axis=1) / (w * self.absolute)
        return np.where(self.intermittent, absolute, squared)


def _choose_selection(backtest: _Backtest, cfg: EngineConfig) -> tuple[str, dict[str, float]]:
    """The combination to use: ``cfg.selection``, or with ``auto`` the one whose weights, learned
    on the other inner folds, give the lowest mean scaled squared error on each held-out fold,
    except that the simplest one (fewest choices made from the folds, :data:`SELECTIONS` order)
    within ``cfg.selection_margin`` of that lowest error wins: with a few folds, differences
    that small are noise (on m5_dev "global" and "global_ensemble" traded places by 0.3-0.7%
    as the rows drawn for the global model changed, while on the test window the global choice
    was 3% better each time). The held-out error is the scaled squared one for every series,
    whatever ranks the models of an intermittent series: on m5_dev the MASE of single days
    preferred per-series ensembles that were worse on the test window."""
    if cfg.selection != "auto":
        return cfg.selection, {}
    fold_preds, fold_actuals, fold_scales = backtest.preds, backtest.actuals, backtest.scales
    names = list(backtest.errors)
    if len(fold_preds) < 2 or len(names) < 2:
        return "ensemble", {}
    n = len(fold_actuals[0])
    # per held-out fold: each model's mean ranking and squared errors over the other folds
    folds = range(len(fold_preds))
    ranking = [_fold_means(backtest.errors, names, n, skip=f) for f in folds]
    squared = [_fold_means(backtest.squared, names, n, skip=f) for f in folds]
    totals: dict[str, float] = {}
    for selection in SELECTIONS:
        errs = []
        for f, (preds, actual, scale) in enumerate(zip(fold_preds, fold_actuals, fold_scales)):
            w = _weights(ranking[f], cfg, selection, squared[f], scale.sparse)
            errs.append(scale.squared_error(actual, _combine(w, preds, scale.sparse, cfg)))
        totals[selection] = float(np.nanmean(np.vstack(errs)))
    finite = {s: v for s, v in totals.items() if np.isfinite(v)}
    if not finite:
        return "ensemble", totals
    lowest = min(finite.values())
    simplest = next(s for s in SELECTIONS if finite.get(s, np.inf) <= lowest * (1 + cfg.selection_margin))
    return simplest, totals


def _fold_means(errors: dict[str, list[np.ndarray]], names: list[str], n: int,
                skip: int | None = None) -> pd.DataFrame:
    """Series x model: each model's mean error over the inner folds (but fold ``skip``); NaN for
    a model without fold errors."""
    def mean(folds: list[np.ndarray]) -> np.ndarray:
        kept = [e for g, e in enumerate(folds) if g != skip]
        return _nanmean(np.vstack(kept), axis=0) if kept else np.full(n, np.nan)

    return pd.DataFrame({name: mean(errors.get(name, [])) for name in names})


# From the fewest choices made from the inner folds to the most: one model for all, k models
# for all, one model per series, k models per series.
SELECTIONS = ("global", "global_ensemble", "best", "ensemble")


def _weights(scores: pd.DataFrame, cfg: EngineConfig, selection: str | None = None,
             panel: pd.DataFrame | None = None, sparse: np.ndarray | None = None) -> pd.DataFrame:
    """Per series: inverse-score weights over its ``top_k`` models (the ``sparse``
    (intermittent) rows: ``intermittent_top_k``, when set), or the best one; with a
    global way, the same for all series from the models' mean ``panel`` scores (default
    ``scores``; the engine: the scaled squared errors, so that a panel-wide choice is ranked
    by the error it is judged by, not by a mix of per-class measures).

    A series without a usable score (no test-window observations) takes the models that did
    best across all series."""
    selection = selection or ("ensemble" if cfg.selection == "auto" else cfg.selection)
    values = scores.to_numpy(dtype=float)
    n, k = values.shape
    overall = _nanmean(np.where(np.isfinite(values), values, np.nan), axis=0)
    fallback = np.where(np.isfinite(overall), overall, np.inf)
    values = np.where(np.isfinite(values), values, fallback[None, :])
    values = np.where(np.isfinite(values), values, np.inf)
    if selection in ("global", "global_ensemble"):
        top = 1 if selection == "global" else min(cfg.top_k, k)
        if panel is not None:
            shared = panel[scores.columns].to_numpy(dtype=float)
            overall = _nanmean(np.where(np.isfinite(shared), shared, np.nan), axis=0)
        best = np.argsort(overall_inf := np.where(np.isfinite(overall), overall, np.inf), kind="stable")[:top]
        inv = 1.0 / np.maximum(overall_inf[best], 1e-9)
        inv = np.where(np.isfinite(inv), inv, 0.0)
        inv = inv / inv.sum() if inv.sum() > 0 else np.eye(1, top).ravel()
        weights = np.zeros((n, k))
        weights[:, best] = inv[None, :]
        return pd.DataFrame(weights, columns=scores.columns)
    tops = np.full(n, 1 if selection == "best" else min(cfg.top_k, k))
    if selection == "ensemble" and sparse is not None and cfg.intermittent_top_k is not None:
        tops[sparse] = min(max(cfg.intermittent_top_k, 1), k)
    order = np.argsort(values, axis=1, kind="stable")[:, : int(tops.max(initial=1))]
    weights = np.zeros((n, k))
    rows = np.arange(n)[:, None]
    chosen = values[rows, order]
    inv = 1.0 / np.maximum(chosen, 1e-9)
    inv = np.where(np.isfinite(chosen) & (np.arange(order.shape[1])[None, :] < tops[:, None]), inv, 0.0)
    inv[:, 0] = np.where(inv.sum(axis=1) == 0, 1.0, inv[:, 0])
    weights[rows, order] = inv / inv.sum(axis=1, keepdims=True)
    return pd.DataFrame(weights, columns=scores.columns)


def _combine(weights: pd.DataFrame, preds: dict[str, np.ndarray], sparse: np.ndarray | None,
             cfg: EngineConfig) -> np.ndarray:
    """The combined forecast of each series: the weighted mean of its models' forecasts, or for
    the ``sparse`` (intermittent) rows with ``intermittent_combine="median"`` the median per
    period of the forecasts of its models with weight (unweighted). Forecast combination by the
    median is robust to one candidate's outlying forecast (Kourentzes, Barrow & Crone 2014,
    "Neural network ensemble operators for time series forecasting"; Jose & Winkler 2008 on
    trimmed and median combinations); intermittent candidates disagree most (a seasonal naive
    repeating last year's lumps, Croston-type rates, a global model's shrunken level).
    ``preds``: model -> (n, h) forecast (NaN rows: not fitted there, counted as 0 like in the
    mean); models missing from ``preds`` are left out."""
    if cfg.intermittent_combine not in ("median", "mean"):
        raise ValueError(f"intermittent_combine must be 'median' or 'mean', got {cfg.intermittent_combine!r}")
    names = [name for name in weights.columns if name in preds]
    if not names:
        raise ValueError("no model in the weights has a forecast")
    w = weights[names].to_numpy(dtype=float)
    stack = np.stack([np.nan_to_num(preds[name]) for name in names], axis=1)  # (n, k, h)
    mean = np.einsum("nk,nkh->nh", w, stack)
    if cfg.intermittent_combine != "median" or sparse is None or not sparse.any():
        return mean
    rows = np.flatnonzero(sparse)
    pool = np.where(w[rows, :, None] > 0, stack[rows], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a series with no weight at all
        median = np.nanmedian(pool, axis=1)
    mean[rows] = np.where(np.isnan(median), mean[rows], median)
    return mean


def concat_results(parts: list[EngineResult]) -> EngineResult:
    """One result from the results of chunks of series (forecast each chunk, then stack)."""
    if len(parts) == 1:
        return parts[0]
    from forecast.forecasting.distribution import DemandForecast

    forecast = DemandForecast.concat([p.forecast for p in parts])
    weights = pd.concat([p.weights for p in parts], ignore_index=True).fillna(0.0)
    scores = pd.concat([p.backtest_scores for p in parts], ignore_index=True)
    calibration = {f"chunk{i}:{k}": v for i, p in enumerate(parts) for k, v in p.calibration.items()}
    seconds: dict[str, float] = {}
    for p in parts:
        for k, v in p.seconds.items():
            seconds[k] = seconds.get(k, 0.0) + v
    warnings = sorted({w for p in parts for w in p.warnings})
    return EngineResult(forecast, weights, scores, parts[0].uplift, calibration, seconds, {}, warnings)


def chunk_rows(n: int, chunk_size: int) -> list[np.ndarray]:
    """Row indices of consecutive chunks (one chunk when chunk_size is 0 or covers all)."""
    if chunk_size <= 0 or chunk_size >= n:
        return [np.arange(n)]
    return [np.arange(i, min(i + chunk_size, n)) for i in range(0, n, chunk_size)]
