"""Forecast accuracy metrics and rolling-origin backtests (pure, vectorised across series).

Layout: every function works on wide float arrays, one row per series.

- forecasts and actuals: ``(n_series, h)``;
- training history: ``(n_series, T)``, ``NaN`` meaning "not observed" (leading NaNs before a
  series starts, interior NaNs for censored or missing days, which are skipped).

Every metric returns one value per series (shape ``(n_series,)``), ``NaN`` where it is undefined
(no observed actual, a zero scale, a zero denominator). ``*_total`` helpers pool all series.
Actuals that are ``NaN`` are excluded from scoring; a ``NaN`` *forecast* where an actual was
observed is a bug upstream and propagates to ``NaN`` rather than being skipped.

Sources
-------
- MASE: R. J. Hyndman & A. B. Koehler (2006), "Another look at measures of forecast accuracy",
  International Journal of Forecasting 22(4), 679-688.
- Non-randomized PIT of count forecasts: C. Czado, T. Gneiting & L. Held (2009), "Predictive
  model assessment for count data", Biometrics 65(4), 1254-1261.
- RMSSE, WRMSSE, scaled pinball loss: S. Makridakis, E. Spiliotis & V. Assimakopoulos (2022),
  "M5 accuracy competition: Results, findings, and conclusions" and "The M5 uncertainty
  competition", International Journal of Forecasting 38(4); and the M5 Competitors' Guide (2020).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "backtest",
    "bias",
    "bias_total",
    "dollar_weights",
    "interval_coverage",
    "interval_coverage_total",
    "mase",
    "pinball_loss",
    "pit_coverage",
    "pit_coverage_total",
    "pit_shares",
    "rmsse",
    "rolling_origin_splits",
    "scaled_pinball_loss",
    "sum_pinball_loss",
    "summarise_backtest",
    "wape",
    "wape_total",
    "wrmsse",
]

ForecastFn = Callable[[np.ndarray, int], Mapping[str, Any]]


# --------------------------------------------------------------------------------------------
# private kernels
# --------------------------------------------------------------------------------------------
def _as_2d(x: Any, name: str) -> np.ndarray:
    """Float array of shape (n_series, n); a 1-D input is one series."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (n_series, n), got shape {arr.shape}")
    return arr


def _pair(y_true: Any, y_pred: Any, pred_name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    yt = _as_2d(y_true, "y_true")
    yp = _as_2d(y_pred, pred_name)
    if yt.shape != yp.shape:
        raise ValueError(f"{pred_name}: shape {yp.shape} does not match y_true {yt.shape}")
    return yt, yp


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN (not inf, no warning) where den is 0 or NaN."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    ok = np.isfinite(den) & (den != 0)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out


def _masked_mean(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Row mean over `observed` cells; NaN in an observed cell propagates; no cell -> NaN."""
    total = np.where(observed, values, 0.0).sum(axis=1)
    return _divide(total, observed.sum(axis=1))


def _pinball(y_true: np.ndarray, y_quantile: np.ndarray, q: float) -> np.ndarray:
    """Elementwise pinball loss: q (y - Q) if y >= Q else (1 - q) (Q - y)."""
    diff = y_true - y_quantile
    return np.maximum(q * diff, (q - 1.0) * diff)


def _check_quantile_level(q: float) -> float:
    q = float(q)
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be in (0, 1), got {q}")
    return q


def _history_scale(y_train: Any, lag: int, power: int, start: str) -> np.ndarray:
    """In-sample mean of |y_t - y_{t-lag}|**power per series.

    ``start="first_observation"`` uses the history from the first non-NaN value (Hyndman &
    Koehler); ``start="first_sale"`` from the first non-zero value (M5: leading zeros are periods
    before the product was on sale). Differences touching an interior NaN are skipped, not bridged
    across the gap. No valid difference -> NaN.
    """
    y = _as_2d(y_train, "y_train")
    if lag < 1:
        raise ValueError(f"season_length must be >= 1, got {lag}")
    if start == "first_sale":
        started = np.logical_or.accumulate(y > 0, axis=1)  # NaN > 0 is False
    elif start == "first_observation":
        started = np.logical_or.accumulate(~np.isnan(y), axis=1)
    else:  # pragma: no cover - internal
        raise ValueError(start)
    history = np.where(started, y, np.nan)
    diffs = np.abs(history[:, lag:] - history[:, :-lag]) ** power
    valid = ~np.isnan(diffs)
    return _divide(np.where(valid, diffs, 0.0).sum(axis=1), valid.sum(axis=1))


def _lookup_quantile(quantiles: Mapping[float, Any], q: float) -> Any:
    for key, value in quantiles.items():
        if np.isclose(float(key), q):
            return value
    raise KeyError(q)


# --------------------------------------------------------------------------------------------
# point-forecast metrics
# --------------------------------------------------------------------------------------------
def mase(y_true: Any, y_pred: Any, y_train: Any, season_length: int = 1) -> np.ndarray:
    """Mean absolute scaled error per series (Hyndman & Koehler 2006).

    MASE = mean_t |y_t - yhat_t| / scale,
    scale = 1/(n - m) * sum_{t=m+1..n} |y_t - y_{t-m}|   (m = ``season_length``)

    The scale is taken over the observed history from the series' *first observation* (leading
    NaNs dropped), as in Hyndman & Koehler: unlike RMSSE (M5) leading zeros are kept, because for
    MASE they are genuine zero demand unless the data says otherwise with NaN. Differences that
    touch an interior NaN (censored day) are skipped. Test-window NaN actuals are not scored.
    NaN where the scale is 0 or undefined, or nothing was observed.

    >>> mase([[2.0, 4.0]], [[3.0, 3.0]], [[1.0, 3.0, 2.0]])
    array([0.66666667])

    (MAE = (1 + 1) / 2 = 1; scale = (|3 - 1| + |2 - 3|) / 2 = 1.5; 1 / 1.5.)
    """
    yt, yp = _pair(y_true, y_pred)
    mae = _masked_mean(np.abs(yp - yt), ~np.isnan(yt))
    scale = _history_scale(y_train, season_length, power=1, start="first_observation")
    if scale.shape[0] != yt.shape[0]:
        raise ValueError(f"y_train has {scale.shape[0]} series, y_true has {yt.shape[0]}")
    return _divide(mae, scale)


def rmsse(y_true: Any, y_pred: Any, y_train: Any, start: str = "first_sale") -> np.ndarray:
    """Root mean squared scaled error per series (M5 accuracy competition).

    RMSSE = sqrt( mean_t (y_t - yhat_t)^2 / (1/(n-1) * sum_{t=2..n} (Y_t - Y_{t-1})^2) )

    where Y_1..Y_n is the training history *from the first non-zero sale* (M5 guide: periods
    before a product's first sale are not part of its history). Differences touching an interior
    NaN are skipped. Test-window NaN actuals are not scored. NaN where the scale is 0 or
    undefined (e.g. the only sale is the last history day).

    >>> rmsse([[3.0, 3.0]], [[1.0, 3.0]], [[0.0, 0.0, 2.0, 4.0, 2.0]])
    array([0.70710678])

    (MSE = (4 + 0) / 2 = 2; history from first sale 2, 4, 2: scale = (4 + 4) / 2 = 4;
    sqrt(2 / 4).)

    ``start="first_observation"``: the scale from the first observation, leading zeros kept
    (as :func:`mase`; the scoring of spare-parts studies, where a part's early zeros are demand).

    >>> rmsse([[3.0, 3.0]], [[1.0, 3.0]], [[0.0, 0.0, 2.0, 4.0, 2.0]], start="first_observation")
    array([0.81649658])

    (scale = (0 + 4 + 4 + 4) / 4 = 3; sqrt(2 / 3).)
    """
    yt, yp = _pair(y_true, y_pred)
    mse = _masked_mean((yp - yt) ** 2, ~np.isnan(yt))
    if start not in ("first_sale", "first_observation"):
        raise ValueError(f"start must be 'first_sale' or 'first_observation', got {start!r}")
    scale = _history_scale(y_train, 1, power=2, start=start)
    if scale.shape[0] != yt.shape[0]:
        raise ValueError(f"y_train has {scale.shape[0]} series, y_true has {yt.shape[0]}")
    return np.sqrt(_divide(mse, scale))


def wrmsse(rmsse_values: Any, weights: Any, *, skipna: bool = False) -> float:
    """Weighted RMSSE (M5): sum_i w_i RMSSE_i / sum_i w_i.

    ``weights`` are usually :func:`dollar_weights` (they need not sum to 1; they are normalised
    here). Series with zero weight never matter, whatever their RMSSE. A NaN RMSSE with positive
    weight makes the result NaN unless ``skipna=True``, which drops those series and renormalises
    the remaining weights.

    >>> wrmsse([1.0, 0.5], [0.25, 0.75])
    0.625

    (0.25 * 1 + 0.75 * 0.5 = 0.625.)
    """
    r = np.asarray(rmsse_values, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if r.shape != w.shape:
        raise ValueError(f"weights: {w.size} values for {r.size} series")
    if np.isnan(w).any() or (w < 0).any():
        raise ValueError("weights must be non-negative and not NaN")
    used = w > 0
    if skipna:
        used &= ~np.isnan(r)
    if not used.any():
        raise ValueError("weights: no series with positive weight to average")
    return float(np.sum(w[used] * r[used]) / np.sum(w[used]))


def dollar_weights(y_train: Any, prices_train: Any | None, last_n: int = 28) -> np.ndarray | None:
    """M5 dollar-sales weights: w_i = sum_{last n periods} price_it * units_it, normalised to 1.

    Returns None when ``prices_train`` is None (no prices: no dollar weights; callers then skip
    WRMSSE rather than invent a unit-based weight that mixes scales).

    Choices for missing values:
    - NaN units (censored or not yet on sale) contribute no sales.
    - A NaN price is filled with the series' last known price (prices are sticky: M5 publishes a
      weekly sell price), else the next known one. Units are never used as a stand-in for
      dollars: a series that sold in the window but has no price anywhere raises ValueError.
    - ``last_n`` longer than the history uses the whole history.

    Raises ValueError when no series sold anything in the window (weights undefined).

    >>> dollar_weights([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]], [[2.0, 2.0, 2.0], [1.0, np.nan, 1.0]],
    ...                last_n=2)
    array([0.66666667, 0.33333333])

    (last 2 periods: 2*2 + 2*0 = 4; 1*1 (price filled forward) + 1*1 = 2; 4/6, 2/6.)
    """
    if prices_train is None:
        return None
    units = _as_2d(y_train, "y_train")
    prices = _as_2d(prices_train, "prices_train")
    if prices.shape != units.shape:
        raise ValueError(f"prices_train: shape {prices.shape} does not match y_train {units.shape}")
    if last_n < 1:
        raise ValueError(f"last_n must be >= 1, got {last_n}")
    prices = _fill_prices(prices)[:, -last_n:]
    units = np.nan_to_num(units[:, -last_n:], nan=0.0)
    sold = units != 0
    missing = sold & np.isnan(prices)
    if missing.any():
        rows = np.unique(np.nonzero(missing)[0]).tolist()
        raise ValueError(f"prices_train: series {rows} sold units but have no price at all")
    dollars = np.where(sold, units * np.nan_to_num(prices), 0.0).sum(axis=1)
    total = dollars.sum()
    if not total > 0:
        raise ValueError(f"dollar_weights: no dollar sales in the last {last_n} periods")
    return dollars / total


def _fill_prices(prices: np.ndarray) -> np.ndarray:
    """Forward-fill then back-fill NaN prices along time, per series (vectorised)."""
    n, t = prices.shape
    idx = np.where(np.isnan(prices), 0, np.arange(t))
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = prices[np.arange(n)[:, None], idx]
    rev = filled[:, ::-1]
    idx = np.where(np.isnan(rev), 0, np.arange(t))
    np.maximum.accumulate(idx, axis=1, out=idx)
    return rev[np.arange(n)[:, None], idx][:, ::-1]


def wape(y_true: Any, y_pred: Any) -> np.ndarray:
    """Weighted absolute percentage error per series: sum_t |y_t - yhat_t| / sum_t |y_t|.

    Over observed (non-NaN) actuals; NaN where the series has no demand in the window.

    >>> wape([[2.0, 4.0], [0.0, 0.0]], [[3.0, 2.0], [1.0, 0.0]])
    array([0.5, nan])

    ((1 + 2) / (2 + 4) = 0.5; second series has zero demand.)
    """
    yt, yp = _pair(y_true, y_pred)
    obs = ~np.isnan(yt)
    abs_err = np.where(obs, np.abs(yp - yt), 0.0).sum(axis=1)
    return _divide(abs_err, np.where(obs, np.abs(yt), 0.0).sum(axis=1))


def wape_total(y_true: Any, y_pred: Any) -> float:
    """WAPE pooled over all series and periods: sum |y - yhat| / sum |y| (observed actuals).

    >>> wape_total([[2.0, 4.0], [0.0, 0.0]], [[3.0, 2.0], [1.0, 0.0]])
    0.6666666666666666

    ((1 + 2 + 1 + 0) / 6.)
    """
    yt, yp = _pair(y_true, y_pred)
    obs = ~np.isnan(yt)
    return float(_divide(np.where(obs, np.abs(yp - yt), 0.0).sum(), np.abs(yt[obs]).sum()))


def bias(y_true: Any, y_pred: Any) -> np.ndarray:
    """Relative bias per series: sum_t (yhat_t - y_t) / sum_t y_t (> 0: over-forecast).

    Over observed actuals; NaN where the series has no demand.

    >>> bias([[2.0, 4.0]], [[3.0, 2.0]])
    array([-0.16666667])

    ((1 - 2) / 6.)
    """
    yt, yp = _pair(y_true, y_pred)
    obs = ~np.isnan(yt)
    return _divide(np.where(obs, yp - yt, 0.0).sum(axis=1), np.where(obs, yt, 0.0).sum(axis=1))


def bias_total(y_true: Any, y_pred: Any) -> float:
    """Relative bias pooled over all series: sum (yhat - y) / sum y (observed actuals).

    >>> bias_total([[2.0, 4.0], [0.0, 0.0]], [[3.0, 2.0], [1.0, 0.0]])
    0.0
    """
    yt, yp = _pair(y_true, y_pred)
    obs = ~np.isnan(yt)
    return float(_divide(np.where(obs, yp - yt, 0.0).sum(), yt[obs].sum()))


# --------------------------------------------------------------------------------------------
# probabilistic metrics
# --------------------------------------------------------------------------------------------
def pinball_loss(y_true: Any, y_quantile: Any, q: float) -> np.ndarray:
    """Mean pinball (quantile) loss per series at level q.

    L_q(y, Q) = q (y - Q) if y >= Q else (1 - q) (Q - y), averaged over observed periods.

    >>> pinball_loss([[10.0, 4.0]], [[8.0, 6.0]], 0.9)
    array([1.])

    (0.9 * 2 = 1.8 and 0.1 * 2 = 0.2; mean 1.0.)
    """
    q = _check_quantile_level(q)
    yt, yq = _pair(y_true, y_quantile, "y_quantile")
    return _masked_mean(_pinball(yt, yq, q), ~np.isnan(yt))


def scaled_pinball_loss(y_true: Any, quantiles: Mapping[float, Any], y_train: Any) -> np.ndarray:
    """Scaled pinball loss per series, averaged over quantile levels (M5 uncertainty).

    SPL_u = (1/h) sum_t L_u(y_t, Q_t(u)) / (1/(n-1) sum_{t=2..n} |Y_t - Y_{t-1}|)
    SPL   = mean over the levels u in ``quantiles``

    with Y the history from the first non-zero sale (as for RMSSE). The M5 competition weights
    SPL across series with the same dollar weights as WRMSSE.

    >>> scaled_pinball_loss([[10.0, 4.0]], {0.1: [[8.0, 6.0]], 0.9: [[8.0, 6.0]]},
    ...                     [[0.0, 1.0, 3.0]])
    array([0.5])

    (u = 0.1: (0.1 * 2 + 0.9 * 2) / 2 = 1; u = 0.9: (0.9 * 2 + 0.1 * 2) / 2 = 1; mean 1;
    history from the first sale is 1, 3: scale |3 - 1| = 2; 1 / 2.)
    """
    if not quantiles:
        raise ValueError("quantiles: need at least one quantile level")
    losses = [pinball_loss(y_true, yq, q) for q, yq in quantiles.items()]
    mean_loss = np.mean(np.vstack(losses), axis=0)
    scale = _history_scale(y_train, 1, power=1, start="first_sale")
    if scale.shape[0] != mean_loss.shape[0]:
        raise ValueError(f"y_train has {scale.shape[0]} series, y_true has {mean_loss.shape[0]}")
    return _divide(mean_loss, scale)


def interval_coverage(y_true: Any, lower: Any, upper: Any) -> np.ndarray:
    """Fraction of observed actuals inside [lower, upper], per series.

    >>> interval_coverage([[1.0, 5.0, np.nan]], [[0.0, 0.0, 0.0]], [[2.0, 2.0, 2.0]])
    array([0.5])
    """
    yt, lo = _pair(y_true, lower, "lower")
    _, hi = _pair(y_true, upper, "upper")
    inside = ((yt >= lo) & (yt <= hi)).astype(float)
    inside[np.isnan(lo) | np.isnan(hi)] = np.nan  # a missing bound is a bug: propagate
    return _masked_mean(inside, ~np.isnan(yt))


def interval_coverage_total(y_true: Any, lower: Any, upper: Any) -> float:
    """Fraction of all observed actuals (all series pooled) inside [lower, upper].

    >>> interval_coverage_total([[1.0, 5.0], [1.0, np.nan]], [[0.0, 0.0], [0.0, 0.0]],
    ...                         [[2.0, 2.0], [2.0, 2.0]])
    0.6666666666666666
    """
    yt, lo = _pair(y_true, lower, "lower")
    _, hi = _pair(y_true, upper, "upper")
    inside = ((yt >= lo) & (yt <= hi)).astype(float)
    inside[np.isnan(lo) | np.isnan(hi)] = np.nan
    obs = ~np.isnan(yt)
    return float(_divide(inside[obs].sum(), obs.sum()))


def pit_coverage(below: Any, at: Any, lower: float = 0.05, upper: float = 0.95) -> np.ndarray:
    """Calibration of a central interval for *count* forecasts, per observation: the share of
    the actual's non-randomized PIT that falls inside ``[lower, upper]``.

    For a discrete forecast CDF F and an actual y the PIT is uniform on ``[F(y-1), F(y)]``
    (Czado, Gneiting & Held 2009), so the observation counts

        c = |[F(y-1), F(y)] ∩ [lower, upper]| / (F(y) - F(y-1))

    (1 or 0 when F(y) = F(y-1)). A calibrated forecast has E[c] = upper - lower, whatever its
    discreteness, where the share of actuals inside ``[Q(lower), Q(upper)]`` is not: a slow
    mover with P(0) > ``lower`` has Q(lower) = 0, every zero lies inside, and that share is at
    least P(y <= Q(upper)) >= ``upper``. ``below`` = F(y-1), ``at`` = F(y), same shape; NaN
    where the actual is not observed.

    >>> pit_coverage([[0.0, 0.0, 0.96]], [[0.5, 1.0, 1.0]])
    array([[0.9, 0.9, 0. ]])
    """
    lo, hi = np.asarray(below, dtype=float), np.asarray(at, dtype=float)
    mass = hi - lo
    inside = np.clip(np.minimum(hi, upper) - np.maximum(lo, lower), 0.0, None)
    point = ((hi >= lower) & (lo <= upper)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mass > 1e-12, inside / mass, point)
    return np.where(np.isnan(lo) | np.isnan(hi), np.nan, out)


def pit_shares(y_true: Any, cdf: Callable[[np.ndarray], np.ndarray], lower: float = 0.05,
               upper: float = 0.95) -> np.ndarray:
    """:func:`pit_coverage` of each actual (rounded to whole units: the PIT of a count) under
    ``cdf(x)``, the forecast CDF per (series, period) at ``x`` of the actuals' shape
    (``DemandForecast.cdf``); NaN where the actual is not observed.

    >>> from scipy import stats
    >>> pit_shares([[0.0, np.nan]], lambda x: stats.poisson.cdf(x, 1.0)).round(3)  # 0.318 / 0.368
    array([[0.864,   nan]])
    """
    yt = np.round(_as_2d(y_true, "y_true"))
    obs = ~np.isnan(yt)
    y0 = np.where(obs, yt, 0.0)
    return np.where(obs, pit_coverage(cdf(y0 - 1), cdf(y0), lower, upper), np.nan)


def pit_coverage_total(y_true: Any, cdf: Callable[[np.ndarray], np.ndarray],
                       lower: float = 0.05, upper: float = 0.95) -> float:
    """:func:`pit_shares` pooled over all observed actuals.

    >>> from scipy import stats
    >>> y = np.array([[0.0, 1.0, np.nan]])
    >>> round(pit_coverage_total(y, lambda x: stats.poisson.cdf(x, 1.0)), 3)  # (0.318/0.368 + 1) / 2
    0.932
    """
    shares = pit_shares(y_true, cdf, lower, upper)
    obs = ~np.isnan(shares)
    return float(_divide(shares[obs].sum(), obs.sum()))


def sum_pinball_loss(y_true: Any, sum_quantile: Any, q: float, window: int = 14) -> np.ndarray:
    """Pinball loss of the demand summed over the first ``window`` periods, per series.

    L_q( sum_{t=1..window} y_t , Q_sum(q) ): judges a lead-time demand distribution, whose
    quantile is not the sum of per-period quantiles. ``sum_quantile`` has shape (n_series,).
    A series with any NaN actual in the window scores NaN: its sum is unknown, and dropping the
    censored days would bias the sum down.

    >>> sum_pinball_loss([[1.0, 2.0, 9.0]], [5.0], 0.9, window=2)
    array([0.2])

    (sum of first 2 = 3 < 5: (1 - 0.9) * (5 - 3) = 0.2.)
    """
    q = _check_quantile_level(q)
    yt = _as_2d(y_true, "y_true")
    if window < 1 or window > yt.shape[1]:
        raise ValueError(f"window={window} must be between 1 and the horizon {yt.shape[1]}")
    sq = np.asarray(sum_quantile, dtype=float).ravel()
    if sq.shape[0] != yt.shape[0]:
        raise ValueError(f"sum_quantile: {sq.shape[0]} values for {yt.shape[0]} series")
    total = yt[:, :window].sum(axis=1)  # NaN if any day is censored
    return _pinball(total, sq, q)


# --------------------------------------------------------------------------------------------
# rolling-origin backtests
# --------------------------------------------------------------------------------------------
def rolling_origin_splits(
    T: int, horizon: int, folds: int, step: int | None = None, *, min_train: int = 2
) -> list[tuple[int, slice]]:
    """Cut points for a rolling-origin (time-series cross-validation) backtest.

    Returns ``[(train_end, test_slice), ...]`` oldest fold first: fold k trains on periods
    ``[0, train_end)`` and is tested on ``test_slice = slice(train_end, train_end + horizon)``.
    The last fold's test window ends at T; earlier origins move back by ``step`` (default
    ``horizon``: adjacent, non-overlapping test windows). Raises ValueError when the first fold
    would have fewer than ``min_train`` history periods.

    >>> rolling_origin_splits(10, 3, 2)
    [(4, slice(4, 7, None)), (7, slice(7, 10, None))]
    """
    step = horizon if step is None else step
    for name, value in (("T", T), ("horizon", horizon), ("folds", folds), ("step", step)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    first_end = T - horizon - (folds - 1) * step
    if first_end < min_train:
        raise ValueError(
            f"history too short: T={T} with horizon={horizon}, folds={folds}, step={step} leaves "
            f"{first_end} training periods for the first fold (need >= {min_train})"
        )
    ends = [first_end + k * step for k in range(folds)]
    return [(int(end), slice(int(end), int(end) + horizon)) for end in ends]


def backtest(
    y: Any,
    forecast_fn: ForecastFn,
    horizon: int,
    folds: int,
    *,
    season_length: int = 1,
    prices: Any | None = None,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    step: int | None = None,
    weight_window: int = 28,
    sum_window: int = 14,
) -> pd.DataFrame:
    """Rolling-origin backtest of ``forecast_fn`` over wide history ``y`` (n_series, T).

    For each fold of :func:`rolling_origin_splits` it calls ``forecast_fn(y_train, horizon)`` on
    a *copy* of the history before the cut (no view, so the test window is unreachable) and
    expects ``{"mean": (n, h), "quantiles": {q: (n, h)}, "sum14": {0.9: (n,), 0.95: (n,)}}``
    ("quantiles" and "sum14" optional). NaN actuals in the test window are not scored.

    Returns one row per (series, fold) with columns:
    ``series, fold, cutoff`` (index of the last training period), ``mase`` (seasonal scale with
    ``season_length``), ``rmsse``, ``wape``, ``bias``; ``spl`` over the requested ``quantiles``
    when forecast_fn returns quantiles; ``coverage_90`` when 0.05 and 0.95 are among them;
    ``pit_coverage_90`` (:func:`pit_coverage` of the 90% interval) when it returns ``"cdf"``, a
    callable giving the forecast CDF per (series, period) at values of shape (n, h);
    ``pinball_sum14_q90`` / ``pinball_sum14_q95`` when it returns "sum14" (the demand summed over
    the first ``sum_window`` periods: 14 days, or the periods covering them); ``weight`` (dollar
    weights of the fold's last ``weight_window`` history periods) when ``prices`` (n, T) is
    given; and the sums ``n_scored, sum_actual, sum_abs_actual, sum_abs_error, sum_error`` that
    :func:`summarise_backtest` needs for total WAPE, bias and coverage.
    """
    y = _as_2d(y, "y")
    n, t = y.shape
    if prices is not None:
        prices = _as_2d(prices, "prices")
        if prices.shape != y.shape:
            raise ValueError(f"prices: shape {prices.shape} does not match y {y.shape}")
    levels = [_check_quantile_level(q) for q in quantiles]
    splits = rolling_origin_splits(t, horizon, folds, step, min_train=max(2, season_length + 1))
    frames = []
    for fold, (train_end, test) in enumerate(splits):
        y_train = y[:, :train_end].copy()
        actual = y[:, test]
        result = forecast_fn(y_train, horizon)
        mean = _forecast_array(result, "mean", (n, horizon), fold)
        obs = ~np.isnan(actual)
        columns: dict[str, Any] = {
            "series": np.arange(n),
            "fold": fold,
            "cutoff": train_end - 1,
            "mase": mase(actual, mean, y_train, season_length),
            "rmsse": rmsse(actual, mean, y_train),
            "wape": wape(actual, mean),
            "bias": bias(actual, mean),
        }
        q_out = result.get("quantiles") if isinstance(result, Mapping) else None
        if q_out and levels:
            qs = {}
            for q in levels:
                try:
                    qs[q] = _forecast_array(_lookup_quantile(q_out, q), None, (n, horizon), fold)
                except KeyError:
                    raise ValueError(
                        f"fold {fold}: forecast_fn returned quantiles {sorted(q_out)} "
                        f"without the requested level {q}"
                    ) from None
            columns["spl"] = scaled_pinball_loss(actual, qs, y_train)
            if 0.05 in qs and 0.95 in qs:
                columns["coverage_90"] = interval_coverage(actual, qs[0.05], qs[0.95])
        cdf = result.get("cdf") if isinstance(result, Mapping) else None
        if cdf is not None:
            columns["pit_coverage_90"] = _masked_mean(pit_shares(actual, cdf), obs)
        sum14 = result.get("sum14") if isinstance(result, Mapping) else None
        if sum14:
            for q, label in ((0.9, "pinball_sum14_q90"), (0.95, "pinball_sum14_q95")):
                try:
                    sq = np.asarray(_lookup_quantile(sum14, q), dtype=float)
                except KeyError:
                    continue
                columns[label] = sum_pinball_loss(actual, sq, q, window=min(sum_window, actual.shape[1]))
        if prices is not None:
            columns["weight"] = dollar_weights(y_train, prices[:, :train_end], weight_window)
        columns["n_scored"] = obs.sum(axis=1)
        columns["sum_actual"] = np.where(obs, actual, 0.0).sum(axis=1)
        columns["sum_abs_actual"] = np.where(obs, np.abs(actual), 0.0).sum(axis=1)
        columns["sum_abs_error"] = np.where(obs, np.abs(mean - actual), 0.0).sum(axis=1)
        columns["sum_error"] = np.where(obs, mean - actual, 0.0).sum(axis=1)
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def _forecast_array(result: Any, key: str | None, shape: tuple[int, int], fold: int) -> np.ndarray:
    """Validate one forecast array (by key of ``result``, or ``result`` itself if key is None)."""
    label = key or "quantile"
    if key is not None:
        if not isinstance(result, Mapping) or key not in result:
            raise ValueError(f"fold {fold}: forecast_fn must return a dict with key {key!r}")
        result = result[key]
    arr = np.asarray(result, dtype=float)
    if arr.shape != shape:
        raise ValueError(f"fold {fold}: forecast {label!r} has shape {arr.shape}, expected {shape}")
    return arr


def summarise_backtest(df: pd.DataFrame, weights: Any | None = None) -> pd.Series:
    """Overall figures of a :func:`backtest` table.

    - ``mase``, ``rmsse``, ``spl``, ``pinball_sum14_q*``: mean over (series, fold) rows where the
      metric is defined (NaN rows, e.g. a zero scale, are left out);
    - ``wrmsse``: per fold ``sum w_i RMSSE_i / sum w_i`` (series with undefined RMSSE dropped and
      weights renormalised), then averaged over folds. Weights: ``weights`` (n_series,) applied
      to every fold, else the table's ``weight`` column (from ``prices``); absent -> no WRMSSE;
    - ``wape``, ``bias``: pooled totals sum|e| / sum y and sum e / sum y over everything;
    - ``coverage_90``: pooled fraction of scored actuals inside the 90 % interval;
      ``pit_coverage_90`` pooled the same way.
    """
    out: dict[str, float] = {}
    for col in ("mase", "rmsse"):
        out[col] = float(df[col].mean())
    if weights is not None or "weight" in df:
        per_fold = []
        for _, part in df.groupby("fold", sort=True):
            if weights is None:
                w = part["weight"].to_numpy()
            else:
                w = np.asarray(weights, dtype=float)[part["series"].to_numpy()]
            per_fold.append(wrmsse(part["rmsse"], w, skipna=True))
        out["wrmsse"] = float(np.mean(per_fold))
    out["wape"] = float(_divide(df["sum_abs_error"].sum(), df["sum_abs_actual"].sum()))
    out["bias"] = float(_divide(df["sum_error"].sum(), df["sum_actual"].sum()))
    if "spl" in df:
        out["spl"] = float(df["spl"].mean())
    for col in ("coverage_90", "pit_coverage_90"):
        if col in df:
            scored = df[col].notna()
            n_scored = df.loc[scored, "n_scored"]
            out[col] = float(_divide((df.loc[scored, col] * n_scored).sum(), n_scored.sum()))
    for col in ("pinball_sum14_q90", "pinball_sum14_q95"):
        if col in df:
            out[col] = float(df[col].mean())
    return pd.Series(out, name="backtest")
