"""Campaign uplift from past campaigns: demand during (and after) campaigns against a
same-weekday baseline of clean periods, pooled per campaign kind and product category.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.forecasting.covariate_calendar import _forward_fill_index

if TYPE_CHECKING:  # features re-exports this module's function: no import at run time
    from forecast.forecasting.features import Covariates


def estimate_campaign_uplift(
    panel_demand: np.ndarray,
    covariates: Covariates,
    *,
    baseline_weeks: int = 4,
    post_days: float = 7.0,
    min_baseline: int = 2,
) -> pd.DataFrame:
    """Demand multiplier of past campaigns per (kind, category), and of the days after them.

    For every observed campaign period of the history (censored periods, NaN, are skipped, as
    are event and holiday periods) the *baseline* is the series' own demand on the same weekday
    over the ``baseline_weeks`` weeks before the campaign's first period (daily panels; for
    weekly / monthly panels the ``baseline_weeks`` periods before it), using only "clean"
    periods: observed, outside campaigns, outside the ``post_days`` after a campaign, no event,
    no holiday; at least ``min_baseline`` of them. Pooled per (kind, category) as a ratio of
    sums over all usable campaign periods of all series::

        uplift = sum(demand during campaigns) / sum(baseline of the same periods)
        post_dip = sum(demand in the post_days after) / sum(baseline of those periods)

    (ratio of sums: robust to the many zero-baseline periods of slow movers, and weighted by
    volume so that a few noisy small series cannot dominate). ``post_dip`` is measured on the
    ``post_days`` after a campaign of that kind (NaN when none could be measured).

    Returns a DataFrame with columns kind, category, campaigns (number of distinct campaigns
    with at least one usable period), periods (usable campaign cells), uplift, post_dip.
    """
    y = np.asarray(panel_demand, dtype=float)
    t_hist = covariates.n_history
    if y.shape != (covariates.n_series, t_hist):
        raise ValueError(
            f"panel_demand has shape {y.shape}, covariates expect {(covariates.n_series, t_hist)}"
        )
    columns = ["kind", "category", "campaigns", "periods", "uplift", "post_dip"]
    if covariates.campaign_id is None or covariates.campaigns is None:
        return pd.DataFrame(columns=columns)
    step = 7 if covariates.period_days < 1.5 else 1
    post_periods = max(1, int(np.ceil(post_days / covariates.period_days)))

    cid = covariates.campaign_id[:, :t_hist]
    active = cid >= 0
    after = covariates.days_after_campaign[:, :t_hist]
    in_post = (after > 0) & (after <= post_periods)
    special = (covariates.event[:, :t_hist] > 0) | (covariates.holiday[:, :t_hist] > 0)
    observed = ~np.isnan(y)
    clean = observed & ~active & ~in_post & ~special

    weekday_sums = _same_weekday_sums(y, clean, step, baseline_weeks)
    run_start, run_end, last_id = _campaign_runs(cid, active)
    baseline = _campaign_baseline(
        weekday_sums, run_start, run_end, step, post_periods, min_baseline, y.shape
    )
    good = ~np.isnan(baseline) & observed & ~special
    cells = _uplift_cells(
        y,
        baseline,
        covariates,
        (("uplift", good & active, cid), ("post_dip", good & in_post & (last_id >= 0), last_id)),
    )
    if cells.empty:
        return pd.DataFrame(columns=columns)
    return _pooled_uplift(cells, covariates)


def _same_weekday_sums(
    y: np.ndarray, clean: np.ndarray, step: int, baseline_weeks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sums and counts of clean demand on the same weekday over ``baseline_weeks`` weeks,
    backwards (ending at t) and forwards (starting at t): ``back_sum, back_n, fwd_sum, fwd_n``.
    """
    t_hist = y.shape[1]
    # back[t] = sum_k clean y[t - step k], fwd[t] = sum_k clean y[t + step k].
    y_clean = np.where(clean, y, 0.0)
    back_sum, fwd_sum = np.zeros_like(y_clean), np.zeros_like(y_clean)
    back_n, fwd_n = np.zeros(y.shape, dtype=np.int32), np.zeros(y.shape, dtype=np.int32)
    for k in range(baseline_weeks):
        shift = step * k
        if shift >= t_hist:
            break
        back_sum[:, shift:] += y_clean[:, : t_hist - shift]
        back_n[:, shift:] += clean[:, : t_hist - shift]
        fwd_sum[:, : t_hist - shift] += y_clean[:, shift:]
        fwd_n[:, : t_hist - shift] += clean[:, shift:]
    return back_sum, back_n, fwd_sum, fwd_n


def _campaign_runs(
    cid: np.ndarray, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each campaign or post-campaign period refers to its campaign run: the run's first and
    last period (``-1`` / last active before: none) and the campaign row of its last period."""
    n, t_hist = cid.shape
    rows = np.arange(n)[:, None]
    t_index = np.arange(t_hist)[None, :]
    was_active = np.zeros_like(active)
    was_active[:, 1:] = active[:, :-1]
    run_start = _forward_fill_index(active & ~was_active)
    next_idle = np.where(~active, t_index, t_hist)[:, ::-1]
    next_idle = np.minimum.accumulate(next_idle, axis=1)[:, ::-1]
    last_active = _forward_fill_index(active)
    run_end = np.where(active, next_idle - 1, last_active)
    last_id = np.where(last_active >= 0, cid[rows, np.maximum(last_active, 0)], -1)
    return run_start, run_end, last_id


def _campaign_baseline(
    weekday_sums: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    run_start: np.ndarray,
    run_end: np.ndarray,
    step: int,
    post_periods: int,
    min_baseline: int,
    shape: tuple[int, int],
) -> np.ndarray:
    """Baseline of period t: same weekday, the weeks just before the run and the weeks just
    after its post-campaign window; the mean of the two sides cancels a linear trend or season.
    """
    back_sum, back_n, fwd_sum, fwd_n = weekday_sums
    n, t_hist = shape
    rows = np.arange(n)[:, None]
    t_index = np.arange(t_hist)[None, :]
    before = t_index - step * ((t_index - run_start) // step + 1)
    after_src = t_index + step * ((run_end + post_periods - t_index) // step + 1)
    sides = []
    for src, sums, counts in ((before, back_sum, back_n), (after_src, fwd_sum, fwd_n)):
        ok = (run_start >= 0) & (src >= 0) & (src < t_hist)
        at = np.clip(src, 0, t_hist - 1)
        c = np.where(ok, counts[rows, at], 0)
        mean = np.divide(
            np.where(ok, sums[rows, at], 0.0),
            c,
            out=np.full(shape, np.nan),
            where=c >= min_baseline,
        )
        sides.append(mean)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        return np.nanmean(np.stack(sides), axis=0)


def _uplift_cells(
    y: np.ndarray,
    baseline: np.ndarray,
    covariates: Covariates,
    measures: tuple[tuple[str, np.ndarray, np.ndarray], ...],
) -> pd.DataFrame:
    """One row per usable cell of each ``(measure, cells, campaign row)``: kind and category
    codes, campaign row, actual demand and baseline."""
    kind_code = covariates.campaigns["kind_code"].to_numpy()
    category = np.broadcast_to(covariates.category[:, None], y.shape)
    frames = []
    for label, mask, ids in measures:
        r, c = np.nonzero(mask)
        frames.append(
            pd.DataFrame(
                {
                    "measure": label,
                    "kind": kind_code[ids[r, c]],
                    "category": category[r, c],
                    "campaign": ids[r, c],
                    "actual": y[r, c],
                    "baseline": baseline[r, c],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _pooled_uplift(cells: pd.DataFrame, covariates: Covariates) -> pd.DataFrame:
    """Ratio of sums per (kind, category): ``uplift`` and ``post_dip`` (see the caller)."""
    grouped = cells.groupby(["measure", "kind", "category"]).agg(
        actual=("actual", "sum"),
        baseline=("baseline", "sum"),
        campaigns=("campaign", "nunique"),
        periods=("actual", "size"),
    )
    grouped["ratio"] = grouped["actual"] / grouped["baseline"].where(grouped["baseline"] > 0)
    uplift = grouped.loc["uplift"]
    post = grouped["ratio"].get("post_dip", pd.Series(dtype=float))
    out = pd.DataFrame(
        {
            "kind": np.asarray(covariates.kind_names, dtype=object)[
                uplift.index.get_level_values("kind")
            ],
            "category": np.asarray(covariates.category_names, dtype=object)[
                uplift.index.get_level_values("category")
            ],
            "campaigns": uplift["campaigns"].to_numpy(dtype=np.int64),
            "periods": uplift["periods"].to_numpy(dtype=np.int64),
            "uplift": uplift["ratio"].to_numpy(dtype=float),
            "post_dip": post.reindex(uplift.index).to_numpy(dtype=float),
        }
    )
    return out.sort_values(["kind", "category"], ignore_index=True)
