"""The probabilistic forecast: per-period negative-binomial demand with a shared level error.

Demand of series i in period t is modelled as ``D_it ~ NegBin(mean = m_it * G_i, size = k_i)``
where ``m_it`` is the point forecast, ``k_i`` the series' over-dispersion (``k = inf`` is
Poisson) and ``G_i ~ Gamma(shape 1/v_i, scale v_i)`` a level error shared by every period of a
path (mean 1, variance ``v_i``): a forecast that is too high on day 1 is too high on day 20 too,
which is what makes the sum over a lead time wider than independent days would suggest.

Moments used by the planning step (Var of a sum over a window W):
    E[sum] = sum_t m_t
    Var[sum] = sum_t (m_t + m_t^2 / k) * (1 + v) + v * (sum_t m_t)^2 ... (law of total variance)
Quantiles of a single period use an NB with the same mean and variance; quantiles of sums come
from sample paths (the sum of daily quantiles is not a quantile of the sum).

Rate floor: for a slow mover the distribution's mean is ``max(m_it, f_i)`` (:meth:`DemandForecast.expected`)
where ``f_i`` is a share of the series' long-run mean, calibrated on the inner folds without
forecasting more than they sold (:mod:`forecast.forecasting.calibration`); ``mean`` stays the point forecast, scored by MASE and
RMSSE. The point forecast that wins on those (which reward forecasting zero for a part that
has not sold for a year) is below what such parts go on to sell: on carparts the series
forecast at 0 to 0.05 a month sold 0.16 to 0.19 a month over the next year, and no
distribution with a mean of 0.05 can give a sale in a month the probability of 10% they showed.
Everything that reads the distribution (variance, quantiles, CDF, sample paths, window moments,
the stock policy and the backorder simulation) uses the floored mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from forecast.forecasting.series import to_long

#: Quantiles written to the forecast table (column name -> level).
QUANTILE_COLUMNS = {
    "q05": 0.05,
    "q10": 0.10,
    "q25": 0.25,
    "q50": 0.50,
    "q75": 0.75,
    "q90": 0.90,
    "q95": 0.95,
    "q99": 0.99,
}
_K_MAX = 1e6  # size above this is Poisson for all practical purposes


@dataclass
class DemandForecast:
    """Point forecasts plus the dispersion that makes them a distribution."""

    keys: pd.DataFrame
    dates: pd.DatetimeIndex
    mean: np.ndarray  # (n, h) point forecast of demand per period
    size: np.ndarray  # (n,) negative-binomial size k (np.inf = Poisson)
    level_var: np.ndarray  # (n,) variance of the shared level factor G
    model: np.ndarray  # (n,) name of the model behind each series
    # Rate floor of the distribution's mean (None: none): (n,) per series, as the engine and the
    # warehouse give it, or (n, h) per period (a what-if scales it with the demand in a window)
    floor: np.ndarray | None = None

    @staticmethod
    def from_tables(forecasts: pd.DataFrame, models: pd.DataFrame) -> DemandForecast:
        """The forecast as stored: ``forecasts`` (sku, location, date, mean) and
        ``forecast_models`` (sku, location, model, nb_size (NULL = Poisson), level_var and
        rate_floor when present (NULL = none)), in (sku, location) order. The stored means are
        the fitted ones, so sample paths and lead-time demand rebuilt from them are the run's
        own."""
        models = models.sort_values(["sku", "location"]).reset_index(drop=True)
        keys = models[["sku", "location"]]
        means = forecasts.pivot_table(index=["sku", "location"], columns="date", values="mean",
                                      sort=True).reindex(pd.MultiIndex.from_frame(keys))
        size = models["nb_size"].to_numpy(dtype=float)
        floor = None
        if "rate_floor" in models and models["rate_floor"].notna().any():
            floor = np.nan_to_num(models["rate_floor"].to_numpy(dtype=float))
        return DemandForecast(
            keys=keys,
            dates=pd.DatetimeIndex(means.columns),
            mean=np.nan_to_num(means.to_numpy(dtype=float)),
            size=np.where(np.isnan(size), np.inf, size),
            level_var=models["level_var"].to_numpy(dtype=float),
            model=models["model"].to_numpy(dtype=object),
            floor=floor,
        )

    def take(self, rows: np.ndarray) -> DemandForecast:
        """The forecast of a subset of series."""
        return DemandForecast(
            self.keys.iloc[rows].reset_index(drop=True), self.dates, self.mean[rows],
            self.size[rows], self.level_var[rows], self.model[rows],
            None if self.floor is None else self.floor[rows],
        )

    @staticmethod
    def concat(parts: list[DemandForecast]) -> DemandForecast:
        """Series of several forecasts (same dates) stacked in order."""
        floor = None
        if any(p.floor is not None for p in parts):
            wide = any(p.floor is not None and p.floor.ndim == 2 for p in parts)
            floor = np.concatenate([np.broadcast_to(p.floor_by_period(p.mean.shape[1]), p.mean.shape) if wide
                                    else (np.zeros(len(p.size)) if p.floor is None else p.floor) for p in parts])
        return DemandForecast(
            pd.concat([p.keys for p in parts], ignore_index=True), parts[0].dates,
            np.vstack([p.mean for p in parts]), np.concatenate([p.size for p in parts]),
            np.concatenate([p.level_var for p in parts]), np.concatenate([p.model for p in parts]),
            floor,
        )

    def expected(self, mean: np.ndarray | None = None) -> np.ndarray:
        """The distribution's mean per period: ``max(mean, floor)`` (module doc);
        the point forecast itself without a floor. ``mean``: another array of the same rows
        (the mean extended beyond the horizon)."""
        mean = self.mean if mean is None else mean
        if self.floor is None:
            return mean
        return np.maximum(mean, self.floor_by_period(mean.shape[1]))

    def floor_by_period(self, width: int) -> np.ndarray:
        """The floor per period over ``width`` periods ((n, width), or (n, 1) for a per-series
        floor); a per-period floor beyond the horizon repeats as :meth:`_extend` repeats the
        mean (0 without a floor)."""
        if self.floor is None:
            return np.zeros((len(self.size), 1))
        if self.floor.ndim == 1:
            return self.floor[:, None]
        reps = int(np.ceil(width / self.floor.shape[1]))
        return np.tile(self.floor, reps)[:, :width] if reps > 1 else self.floor[:, :width]

    def variance(self) -> np.ndarray:
        """Per-period variance, level error included (law of total variance)."""
        m, k, v = self.expected(), self.size[:, None], self.level_var[:, None]
        second = m**2 * (1 + v)  # E[(mG)^2]
        return m * 1.0 + np.where(np.isinf(k), 0.0, second / np.minimum(k, _K_MAX)) + m**2 * v

    def quantiles(self, levels: list[float] | tuple[float, ...]) -> dict[float, np.ndarray]:
        """Per-period quantiles from an NB matched to each period's mean and variance."""
        var = self.variance()
        return {q: _matched_ppf(self.expected(), var, q) for q in levels}

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(D_t <= x) per period from the same NB as :meth:`quantiles` (matched to each
        period's mean and variance); ``x`` has the shape of ``mean``. A period with mean 0 is a
        point mass at 0; NaN where the mean is NaN."""
        return _matched_cdf(self.expected(), self.variance(), np.asarray(x, dtype=float))

    def sample_paths(self, n_paths: int, rng: np.random.Generator, horizon: int | None = None) -> np.ndarray:
        """Draw demand paths, shape (n, n_paths, h): Gamma level error x NB (Poisson-Gamma) noise."""
        h = self.mean.shape[1] if horizon is None else horizon
        mean = self._extend(h)
        n = mean.shape[0]
        v = np.maximum(self.level_var, 1e-12)[:, None]
        level = rng.gamma(1.0 / v, v, size=(n, n_paths))
        rate = mean[:, None, :] * level[:, :, None]
        k = np.minimum(self.size, _K_MAX)[:, None, None]
        finite = np.isfinite(self.size)[:, None, None] & (k < _K_MAX)
        mix = np.where(finite, rng.gamma(np.broadcast_to(k, rate.shape), 1.0 / k), 1.0)
        return rng.poisson(rate * mix).astype(np.float64)

    def _extend(self, h: int) -> np.ndarray:
        """The distribution's mean (:meth:`expected`) for h periods; beyond the forecast
        horizon the last week/season repeats."""
        have = self.mean.shape[1]
        if h <= have:
            return self.expected(self.mean[:, :h])
        reps = int(np.ceil(h / have))
        return self.expected(np.tile(self.mean, reps)[:, :h])

    def window_moments(self, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and s.d. of demand summed over periods [start, start + length) per series.

        ``length`` may be fractional (a lead time of 4.5 days counts half of the 5th day).
        """
        length = np.asarray(length, dtype=float)
        h_needed = int(np.ceil(np.nanmax(start + length))) if len(length) else 1
        mean = self._extend(max(h_needed, 1))
        t = np.arange(mean.shape[1])[None, :]
        s = np.asarray(start, dtype=float)[:, None]
        weight = np.clip(np.minimum(t + 1, s + length[:, None]) - np.maximum(t, s), 0.0, 1.0)
        k = np.minimum(self.size, _K_MAX)[:, None]
        v = self.level_var[:, None]
        total = (weight * mean).sum(axis=1)
        noise = (weight * (mean + np.where(np.isfinite(self.size)[:, None], mean**2 * (1 + v) / k, 0.0))).sum(axis=1)
        var = noise + v[:, 0] * total**2
        return total, np.sqrt(var)

    def window_quantiles(
        self, start: np.ndarray, length: np.ndarray, levels: list[float] | tuple[float, ...]
    ) -> dict[float, np.ndarray]:
        """Quantiles of demand summed over ``[start, start + length)`` per series, from a
        negative binomial matched to the window's mean and variance (level error included), so
        the correlation between periods is kept (unlike a sum of per-period quantiles)."""
        total, sd = self.window_moments(np.asarray(start, dtype=float), np.asarray(length, dtype=float))
        return {q: _matched_ppf(total, sd**2, q) for q in levels}

    def to_frame(self) -> pd.DataFrame:
        qs = self.quantiles(list(QUANTILE_COLUMNS.values()))
        cols = {"mean": self.mean}
        cols.update({name: qs[q] for name, q in QUANTILE_COLUMNS.items()})
        cols["planned_mean"] = self.expected()  # what the quantiles and the plan are of
        frame = to_long(self.keys, self.dates, **cols)
        frame["model"] = np.repeat(self.model, len(self.dates))
        return frame


def _matched_size(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Size of the negative binomial with ``mean`` and ``var``: mean^2 / (var - mean), inf
    (Poisson) where the variance is not above the mean."""
    excess = var - mean
    with np.errstate(all="ignore"):
        return np.where(excess > 1e-9 * np.maximum(mean, 1), mean**2 / np.maximum(excess, 1e-12), np.inf)


def _matched_ppf(mean: np.ndarray, var: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of the NB matched to ``mean`` and ``var`` (Poisson where the variance is
    not above the mean; 0 where the mean is 0; NaN where it is NaN)."""
    size = _matched_size(mean, var)
    out = np.zeros_like(mean, dtype=float)
    positive = mean > 0
    pois, nb = positive & ~np.isfinite(size), positive & np.isfinite(size)
    out[pois] = stats.poisson.ppf(q, mean[pois])
    out[nb] = stats.nbinom.ppf(q, size[nb], size[nb] / (size[nb] + mean[nb]))
    out[np.isnan(mean)] = np.nan
    return out


def _matched_cdf(mean: np.ndarray, var: np.ndarray, x: np.ndarray) -> np.ndarray:
    """CDF at ``x`` of the NB matched to ``mean`` and ``var`` (as :func:`_matched_ppf`; a point
    mass at 0 where the mean is 0)."""
    mean, var, x = np.broadcast_arrays(mean, var, x)
    out = (x >= 0).astype(float)  # mean 0: all mass at 0
    size = _matched_size(mean, var)
    k = np.floor(x)
    counted = (mean > 0) & (k >= 0)  # below 0 the CDF is 0 (already so in ``out``)
    nb, pois = counted & np.isfinite(size), counted & ~np.isfinite(size)
    with np.errstate(all="ignore"):  # each family on its own cells; the special functions
        # directly (as scipy.stats computes them, without its argument checks: 2x faster)
        m, n = mean[nb], size[nb]
        out[nb] = special.betainc(n, k[nb] + 1, n / (n + m))  # NB(size, p) CDF at k
        out[pois] = special.gammaincc(k[pois] + 1, mean[pois])  # Poisson CDF at k
    out[np.isnan(mean)] = np.nan
    return out
