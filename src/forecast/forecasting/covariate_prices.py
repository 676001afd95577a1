"""Price covariates: the price matrix over history and forecast window, the regular
(non-promotional) price, and what the other series of a group do (:func:`mean_of_others`,
:class:`OthersInGroup`: cross-effects such as a deal on a competing brand).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.forecasting.covariate_calendar import _forward_fill, _text

#: Window of the regular price: the highest price of the last 182 days (26 weeks, 6 months).
REGULAR_PRICE_DAYS = 182.0


def regular_price_matrix(price: np.ndarray, window: int) -> np.ndarray:
    """Regular (non-promotional) price: the highest price of the last ``window`` periods.

    ``regular[i, t] = max(price[i, t - window + 1 .. t])`` (NaN prices ignored; NaN when all
    are). Promotions lower the shelf price for a few periods and the price returns to its
    regular level after them, so a trailing maximum recovers the regular price from the price
    column alone (Dominick's campaigns carry no discount: the deal is in the price). Only
    prices up to ``t`` are used: in the forecast window these are the planned prices.

    >>> regular_price_matrix(np.array([[2.0, 1.5, np.nan, 2.0, 2.5, 1.0, 1.0]]), 3).tolist()
    [[2.0, 2.0, 2.0, 2.0, 2.5, 2.5, 2.5]]
    """
    from scipy.ndimage import maximum_filter1d

    values = np.asarray(price, dtype=np.float64)
    known = np.where(np.isnan(values), -np.inf, values)
    # origin shifts the window to end at t (the default centres it).
    high = maximum_filter1d(known, size=window, axis=1, mode="nearest", origin=(window - 1) // 2)
    return np.where(np.isfinite(high), high, np.nan).astype(np.float32)


def mean_of_others(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Mean of each column over the *other* rows of the same group (NaN-aware; NaN when the
    row has no other observed member), by per-group sums: ``(sum_g - own) / (count_g - 1)``.

    >>> mean_of_others(np.array([[1.0], [3.0], [5.0]]), np.array([0, 0, 1])).ravel().tolist()
    [3.0, 1.0, nan]
    """
    values = np.asarray(values, dtype=np.float64)
    known = ~np.isnan(values)
    filled = np.where(known, values, 0.0)
    n_groups = int(group.max()) + 1 if group.size else 0
    sums = np.zeros((n_groups, values.shape[1]))
    counts = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, group, filled)
    np.add.at(counts, group, known)
    other_sum = sums[group] - filled
    other_count = counts[group] - known
    out = np.divide(
        other_sum, other_count, out=np.full(values.shape, np.nan), where=other_count > 0
    )
    return out.astype(np.float32)


class OthersInGroup:
    """Mean (weighted, as :func:`mean_of_others`) and smallest value of the *other* rows of the
    same group, for single ``(row, period)`` cells, from per-group statistics: memory
    ``groups x T`` instead of ``rows x T`` per feature (10,000 series in a few categories: a few
    kilobytes instead of 30 MB per feature and fit).

    >>> v = np.array([[0.8], [0.9], [1.0], [0.7]])
    >>> others = OthersInGroup(np.array([0, 0, 0, 1]), np.array([1.0, 1.0, 2.0, 1.0]))
    >>> others.add("price", v)
    >>> rows, periods = np.arange(4), np.zeros(4, int)
    >>> [round(float(x), 3) for x in others.mean("price", rows, periods)]
    [0.967, 0.933, 0.85, nan]
    >>> [round(float(x), 2) for x in others.min("price", rows, periods)]
    [0.9, 0.8, 0.8, nan]
    """

    def __init__(self, group: np.ndarray, weights: np.ndarray | None = None):
        self.group = np.unique(np.asarray(group), return_inverse=True)[1].ravel()
        n = self.group.size
        self.weights = np.ones(n) if weights is None else np.asarray(weights, np.float64)
        # Rows sorted by group once: per-group reductions by reduceat (ufunc.at took seconds
        # per feature at 10,000 series x 758 periods).
        self._order = np.argsort(self.group, kind="stable")
        self._starts = np.flatnonzero(np.r_[True, np.diff(self.group[self._order]) != 0])
        self._values: dict[str, np.ndarray] = {}
        self._sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._mins: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def add(self, name: str, values: np.ndarray, mean: bool = True, minimum: bool = True) -> None:
        """Register ``values`` (rows x T, kept by reference) under ``name``."""
        self._values[name] = values
        if not values.size:
            return
        order, starts = self._order, self._starts
        v = np.asarray(values, dtype=np.float64)[order]
        known = ~np.isnan(v)
        if mean:
            w = self.weights[order][:, None]
            sums = np.add.reduceat(np.where(known, v, 0.0) * w, starts, axis=0)
            mass = np.add.reduceat(known * w, starts, axis=0)
            self._sums[name] = (sums, mass)
        if minimum:
            v = np.where(known, v, np.inf)
            first = np.minimum.reduceat(v, starts, axis=0)
            member = self.group[order]
            is_first = v == first[member]
            count = np.add.reduceat(is_first.astype(np.int32), starts, axis=0)
            second = np.minimum.reduceat(np.where(is_first, np.inf, v), starts, axis=0)
            self._mins[name] = (first, second, count)

    def mean(self, name: str, i: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Weighted mean of ``name`` over the other rows of row ``i``'s group in period ``t``."""
        sums, mass = self._sums[name]
        own = self._values[name][i, t].astype(np.float64)
        known = ~np.isnan(own)
        g, w = self.group[i], self.weights[i]
        num = sums[g, t] - np.where(known, own * w, 0.0)
        den = mass[g, t] - np.where(known, w, 0.0)
        ok = den > 1e-9 * np.maximum(mass[g, t], 1e-300)
        return np.divide(num, den, out=np.full(num.shape, np.nan), where=ok).astype(np.float32)

    def min(self, name: str, i: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Smallest ``name`` over the other rows of row ``i``'s group in period ``t``."""
        first, second, count = self._mins[name]
        own = self._values[name][i, t]
        g = self.group[i]
        alone_at_min = (own == first[g, t]) & (count[g, t] == 1)
        value = np.where(alone_at_min, second[g, t], first[g, t])
        return np.where(np.isinf(value), np.nan, value).astype(np.float32)


def _price_matrix(
    price: np.ndarray | None,
    products: pd.DataFrame | None,
    keys: pd.DataFrame,
    discount: np.ndarray,
    t_hist: int,
) -> np.ndarray:
    """History prices forward/back-filled; future = last regular price x (1 - discount)."""
    n = discount.shape[0]
    if price is None:
        regular = np.full(n, np.nan)
        if products is not None and "unit_price" in products:
            unit = pd.Series(
                pd.to_numeric(products["unit_price"], errors="coerce").to_numpy(dtype=float),
                index=_text(products["sku"]),
            )
            unit = unit[~unit.index.duplicated(keep="last")]
            regular = unit.reindex(_text(keys["sku"])).to_numpy(dtype=float)
        return (regular[:, None] * (1.0 - discount)).astype(np.float32)
    price = np.asarray(price, dtype=float)
    if price.shape != (n, t_hist):
        raise ValueError(f"price has shape {price.shape}, expected (n_series, T) = {(n, t_hist)}")
    hist = _forward_fill(price)
    hist = _forward_fill(hist[:, ::-1])[:, ::-1]  # leading NaNs: the first known price
    disc_hist = discount[:, :t_hist].astype(float)
    undiscounted = np.where(disc_hist > 0, np.nan, np.where(np.isnan(price), np.nan, price))
    regular = _forward_fill(undiscounted)[:, -1]
    fallback = hist[:, -1] / np.maximum(1.0 - disc_hist[:, -1], 0.05)
    regular = np.where(np.isnan(regular), fallback, regular)
    future = regular[:, None] * (1.0 - discount[:, t_hist:].astype(float))
    return np.concatenate([hist, future], axis=1).astype(np.float32)
