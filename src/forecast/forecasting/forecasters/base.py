"""Common estimator shape and NaN-aware helpers for the vectorised forecasters.

Every forecaster works on a matrix ``y`` of shape ``(n_series, T)``: one row per series, all rows
on the same calendar (column ``T - 1`` is the last history period of every row). ``NaN`` means
"not observed": leading NaNs before a series started, interior NaNs for censored days
(stockouts) or gaps. Models skip them: a NaN never updates a state, the one-step prediction
carries forward.

The estimator shape follows scikit-learn: ``__init__`` only stores parameters, ``fit`` validates
and returns ``self``, learned attributes end in ``_`` and ``predict`` refuses an unfitted model.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np


class NotFittedError(RuntimeError):
    """Raised when ``predict`` is called before ``fit``."""


class Forecaster:
    """Base class: validation, the fitted check and the clean-up of forecasts.

    Subclasses implement ``_fit(y, season_length)`` (sets learned attributes including
    ``fitted_``) and ``_predict(h)`` (returns an ``(n_series, h)`` array). The base class then
    guarantees, for every model:

    - all-NaN rows forecast 0 and all-zero rows forecast exactly 0;
    - forecasts are float64 and clipped at 0.

    Learned attributes common to all models: ``n_series_``, ``n_periods_``, ``season_length_``
    (the season length used: the one given to ``fit`` unless the model fixes its own),
    ``fitted_`` (``(n_series, T)`` one-step-ahead in-sample predictions, NaN where there is
    none, e.g. before a series' first observation).
    """

    fitted_: np.ndarray

    def fit(self, y: np.ndarray, season_length: int = 1) -> Forecaster:
        """Fit the model to ``y`` (``(n_series, T)``, NaN = not observed) and return ``self``."""
        y = _validate_y(y)
        season_length = _validate_season_length(season_length)
        self.n_series_, self.n_periods_ = y.shape
        self.season_length_ = season_length
        observed = ~np.isnan(y)
        self._empty_rows_ = ~observed.any(axis=1)
        self._zero_rows_ = ~self._empty_rows_ & ~np.any(observed & (y != 0), axis=1)
        if self.n_series_ == 0:
            self.fitted_ = np.empty((0, self.n_periods_))
        else:
            self._fit(y, season_length)
        self._is_fitted = True
        return self

    def predict(self, h: int) -> np.ndarray:
        """Forecast ``h`` periods after the last column: ``(n_series, h)`` float64, >= 0."""
        if not getattr(self, "_is_fitted", False):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(y) first."
            )
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 0:
            raise ValueError(f"h must be a non-negative integer, got {h!r}")
        h = int(h)
        if self.n_series_ == 0 or h == 0:
            return np.zeros((self.n_series_, h))
        forecast = np.array(self._predict(h), dtype=np.float64)
        if forecast.shape != (self.n_series_, h):
            raise AssertionError(f"{type(self).__name__}._predict returned {forecast.shape}")
        forecast[self._empty_rows_ | self._zero_rows_] = 0.0
        return np.clip(forecast, 0.0, None)

    # -- to be provided by subclasses ------------------------------------------------------
    def _fit(self, y: np.ndarray, season_length: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, h: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- scikit-learn style parameter access -----------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as stored by ``__init__``."""
        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        ]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _validate_y(y: np.ndarray) -> np.ndarray:
    """Check the history matrix and return it as a float64 array (a copy is never modified)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(
            f"y must be 2-D (n_series, T), got shape {y.shape}; use y[None, :] for one series"
        )
    if y.shape[1] == 0:
        raise ValueError("y has no periods (T == 0)")
    if np.isinf(y).any():
        rows = np.unique(np.nonzero(np.isinf(y))[0])[:5].tolist()
        raise ValueError(f"y contains infinite values (rows {rows})")
    if (y < 0).any():  # NaN compares False, so this only sees observed values
        rows = np.unique(np.nonzero(y < 0)[0])[:5].tolist()
        raise ValueError(f"y contains negative demand (rows {rows}); ingest should reject these")
    return y


def _validate_season_length(season_length: int) -> int:
    if (
        isinstance(season_length, bool)
        or not isinstance(season_length, (int, np.integer))
        or season_length < 1
    ):
        raise ValueError(f"season_length must be an integer >= 1, got {season_length!r}")
    return int(season_length)


# -- NaN-aware helpers shared by the model modules ---------------------------------------------
def first_observed(observed: np.ndarray) -> np.ndarray:
    """Column of the first observation of each row (``T`` for rows never observed)."""
    n_periods = observed.shape[1]
    return np.where(observed.any(axis=1), observed.argmax(axis=1), n_periods)


def last_observed_value(y: np.ndarray) -> np.ndarray:
    """Last non-NaN value of each row (NaN for all-NaN rows)."""
    observed = ~np.isnan(y)
    last = y.shape[1] - 1 - observed[:, ::-1].argmax(axis=1)
    value = y[np.arange(y.shape[0]), last]
    return np.where(observed.any(axis=1), value, np.nan)


def compress_observed(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each row's observed values to the left, keeping their order.

    Returns ``(values, counts)``: ``values[i, :counts[i]]`` are row ``i``'s observations in
    time order, the rest is NaN.
    """
    observed = ~np.isnan(y)
    counts = observed.sum(axis=1)
    rows, columns = np.nonzero(observed)  # row-major: time order within each row
    row_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    values = np.full(y.shape, np.nan)
    values[rows, np.arange(rows.size) - row_start[rows]] = y[rows, columns]
    return values, counts


def mean_of_last_observed(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` observed values of each row (NaN for all-NaN rows)."""
    observed = ~np.isnan(y)
    rank_from_end = np.cumsum(observed[:, ::-1], axis=1)[:, ::-1]  # 1 = last observation
    use = observed & (rank_from_end <= window)
    count = use.sum(axis=1)
    total = np.where(use, y, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
