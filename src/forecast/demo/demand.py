"""The demand truth, per SKU x location x day::

mean = level * location_factor * trend * weekly[category, weekday]
       * yearly[category, day of year] * events[location, category, day]
       * campaign[sku, location, day] * launch_ramp
demand ~ NegativeBinomial(mean, dispersion)        (sales = min(demand, stock))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from forecast.demo.common import _CATEGORIES, _CATS, _Calendar, _Category
from forecast.demo.products import _Catalogue


def _weekly_profile(cat: _Category) -> np.ndarray:
    raw = np.array([1.0, 1.0, 1.0, 1.0, cat.friday, cat.weekend, 0.95 * cat.weekend])
    return raw / raw.mean()


def _yearly_profile(cat: _Category, doy: np.ndarray) -> np.ndarray:
    return 1.0 + cat.yearly_amplitude * np.cos(2 * np.pi * (doy - cat.yearly_peak_doy) / 365.25)


class _DemandParameters(NamedTuple):
    level: np.ndarray  # mean units a day per SKU
    dispersion: np.ndarray  # negative-binomial dispersion per SKU
    slope: np.ndarray  # log-change per year per SKU
    loc_weight: np.ndarray  # per location
    loc_factor: np.ndarray  # (sku, location)


def _demand_parameters(
    rng: np.random.Generator, catalogue: _Catalogue, n_locations: int
) -> _DemandParameters:
    """Level 2-60 a day (intermittent SKUs 0.05-0.6, very overdispersed), a small trend (none
    for new SKUs) and the location factors (store 1 at 1, store 2 at 0.7, others 0.5-1)."""
    n_skus = catalogue.n_skus
    intermittent, n_intermittent = catalogue.intermittent, len(catalogue.intermittent)
    level = np.clip(np.exp(rng.normal(np.log(12.0), 0.8, size=n_skus)), 2.0, 60.0)
    level[intermittent] = rng.uniform(0.05, 0.6, size=n_intermittent)
    dispersion = rng.uniform(4.0, 20.0, size=n_skus)
    dispersion[intermittent] = rng.uniform(0.4, 1.2, size=n_intermittent)
    slope = np.clip(rng.normal(0.0, 0.12, size=n_skus), -0.3, 0.3)  # log-change per year
    slope[catalogue.new] = 0.0
    loc_weight = np.ones(n_locations)
    loc_weight[1:] = 0.7
    if n_locations > 2:
        loc_weight[2:] = rng.uniform(0.5, 1.0, size=n_locations - 2)
    loc_factor = loc_weight[None, :] * np.exp(rng.normal(0.0, 0.2, size=(n_skus, n_locations)))
    return _DemandParameters(level, dispersion, slope, loc_weight, loc_factor)


@dataclass(frozen=True)
class _Demand:
    """The demand truth; a series is ``sku * n_locations + location``."""

    mu: np.ndarray  # mean demand (sku, location, grid day)
    mu_series: np.ndarray  # the same as (series, grid day)
    dispersion: np.ndarray  # per series
    demand: np.ndarray  # drawn demand (series, history day)
    weekly: np.ndarray  # weekly profile (category, weekday)
    recent_mean: np.ndarray  # mean demand over the last 28 history days, per series


def _demand(
    rng: np.random.Generator,
    cal: _Calendar,
    catalogue: _Catalogue,
    params: _DemandParameters,
    event_mult: np.ndarray,
    camp_mult: np.ndarray,
) -> _Demand:
    """The mean demand over the grid and the demand drawn over the history.

    `event_mult` is (location, category, grid day), `camp_mult` (sku, location, grid day).
    """
    days, n_grid = cal.days, cal.n_grid
    n_skus, n_locations = catalogue.n_skus, cal.n_locations
    cat_idx, launch = catalogue.cat_idx, catalogue.launch
    dow = cal.grid.day_of_week.to_numpy()
    doy = cal.grid.day_of_year.to_numpy()
    weekly = np.stack([_weekly_profile(_CATEGORIES[c]) for c in _CATS])  # (cat, weekday)
    yearly = np.stack([_yearly_profile(_CATEGORIES[c], doy) for c in _CATS])  # (cat, day)

    t = np.arange(n_grid)
    trend = np.exp(params.slope[:, None] * (t[None, :] - (days - 1)) / 365.25)
    age = t[None, :] - launch[:, None]
    ramp = np.where(age >= 0, 1.0 - np.exp(-(age + 1) / 10.0), 0.0)
    seasonal = weekly[:, dow] * yearly  # (cat, day)
    mu = (
        (params.level[:, None] * trend * ramp * seasonal[cat_idx])[:, None, :]
        * params.loc_factor[:, :, None]
        * event_mult[:, cat_idx, :].transpose(1, 0, 2)
        * camp_mult
    )
    mu_series = mu.reshape(n_skus * n_locations, n_grid)
    disp_series = np.repeat(params.dispersion, n_locations)
    mu_hist = mu_series[:, :days]
    r = disp_series[:, None]
    demand = rng.negative_binomial(r, r / (r + mu_hist))
    recent_mean = mu_hist[:, -28:].mean(axis=1)
    return _Demand(mu, mu_series, disp_series, demand, weekly, recent_mean)
