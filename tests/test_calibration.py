"""The level error of the forecast distribution, estimated from backtest sums over a window
(forecast.forecasting.engine._window_level_var, _calibrate with a window, _level_window)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.calibration import (
    _best_scale,
    _calibrate,
    _level_window,
    _window_level_var,
)
from forecast.forecasting.engine import EngineConfig


def _paths(v: float, k: float, n: int = 400, folds: int = 3, h: int = 28, seed: int = 0):
    """Folds of demand around a known forecast m: level error G ~ Gamma(1/v, v) per series and
    fold (shared by the fold's days), NB(size k) noise on each day."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(2.0, 30.0, n)
    preds, actuals = [], []
    for _ in range(folds):
        level = rng.gamma(1 / v, v, n)
        rate = m[:, None] * level[:, None] * rng.gamma(k, 1 / k, (n, h))
        preds.append(np.tile(m[:, None], (1, h)))
        actuals.append(rng.poisson(rate).astype(float))
    return preds, actuals


def test_window_level_var_recovers_the_level_error() -> None:
    # Known v = 0.04 and k = 5: blocks of 7 days; the history's guess (prior) is 10x too small.
    preds, actuals = _paths(0.04, 5.0)
    n = preds[0].shape[0]
    cfg = EngineConfig(level_prior_blocks=0.0)
    v = _window_level_var(preds, actuals, np.full(n, 5.0), np.full(n, 0.004), 7, cfg)
    assert np.mean(v) == pytest.approx(0.04, rel=0.15)
    # Shrinkage: with the prior weighing as much as the 12 blocks, halfway between.
    half = _window_level_var(
        preds, actuals, np.full(n, 5.0), np.full(n, 0.004), 7, EngineConfig(level_prior_blocks=12.0)
    )
    assert np.mean(half) == pytest.approx((0.04 + 0.004) / 2, rel=0.2)
    # Unobserved blocks are left out; a series without any keeps the prior.
    actuals[0][0, :] = np.nan
    for a in actuals:
        a[1, :] = np.nan
    again = _window_level_var(preds, actuals, np.full(n, 5.0), np.full(n, 0.004), 7, cfg)
    assert again[1] == 0.004 and np.isfinite(again).all()


def test_calibration_with_a_window_keeps_the_level_error_from_sums() -> None:
    preds, actuals = _paths(0.04, 5.0, seed=1)
    n = preds[0].shape[0]
    history = np.tile(actuals[0], (1, 14))  # smooth: no zero-heavy series
    cfg = EngineConfig()
    _, v, report = _calibrate(preds, actuals, np.full(n, 5.0), np.full(n, 0.004), history, cfg, 7)
    assert np.mean(v) > 0.015 and report["level_var_median"] == pytest.approx(np.median(v))
    assert 0.85 <= report["smooth_coverage"] <= 0.95
    # without a window (weekly or monthly data) one factor scales 1/k and v together
    k0, v0, _ = _calibrate(preds, actuals, np.full(n, 5.0), np.full(n, 0.004), history, cfg, 0)
    assert np.allclose(v0 / 0.004, 5.0 / k0)


def test_level_window_in_periods() -> None:
    cfg = EngineConfig()
    assert _level_window(cfg, 1.0, 28) == 7  # daily: a week
    assert _level_window(cfg, 1.0, 5) == 5  # not beyond the horizon
    assert _level_window(cfg, 7.0, 12) == 0  # weekly: one period cannot split level from noise
    assert _level_window(EngineConfig(calibration_window_days=0), 1.0, 28) == 0


def test_sum_calibration_widens_a_too_thin_tail_and_never_thins_one() -> None:
    """Known level error v = 0.3 (sums over 14 days vary with it) but given v = 0.1: the
    factor rises until the 0.95 quantile of 14-day sums covers about 95% of them; given the
    true v (or a larger one) it stays 1."""
    from forecast.forecasting.calibration import _calibrate_sums

    preds, actuals = _paths(0.3, 50.0, n=600, h=28, seed=4)
    n = preds[0].shape[0]
    cfg, k, smooth = EngineConfig(), np.full(n, 50.0), np.zeros(n, dtype=bool)
    report: dict[str, float] = {}
    v = _calibrate_sums(preds, actuals, k, np.full(n, 0.1), smooth, cfg, 14, report)
    assert report["smooth_sum_scale"] > 1.0 and np.allclose(v, 0.1 * report["smooth_sum_scale"])
    assert report["smooth_sum_coverage"] == pytest.approx(0.95, abs=0.03)
    wide: dict[str, float] = {}
    v_wide = _calibrate_sums(preds, actuals, k, np.full(n, 0.6), smooth, cfg, 14, wide)
    assert wide["smooth_sum_scale"] == 1.0 and np.allclose(v_wide, 0.6)
    assert wide["smooth_sum_coverage"] > 0.95


def test_sum_covered_agrees_with_the_quantiles_of_sums() -> None:
    """The CDF shortcut says "covered" exactly where the actual sum is at or below the 0.95
    quantile of the sum that the forecast itself reports."""
    from forecast.forecasting.calibration import _sum_covered
    from forecast.forecasting.distribution import DemandForecast

    rng = np.random.default_rng(5)
    n, w = 300, 14
    mean = rng.gamma(0.5, 2.0, (n, w)) * (rng.random((n, 1)) < 0.9)
    k, v = rng.uniform(0.3, 20.0, n), rng.uniform(0.01, 0.5, n)
    q95 = DemandForecast(None, pd.DatetimeIndex([]), mean, k, v, np.empty(n, dtype=object)).window_quantiles(
        np.zeros(n), np.full(n, float(w)), (0.95,))[0.95]
    actual = np.floor(q95 + rng.integers(-3, 4, n)).clip(0)
    covered = _sum_covered(mean[:, None, :], k, v, actual[:, None], 0.95)[:, 0]
    np.testing.assert_array_equal(covered, actual <= q95)
    assert 0.2 < covered.mean() < 0.9  # both cases occur


def test_sum_calibration_scores_each_fold_against_its_held_out_level_error() -> None:
    """With ``held_out`` each fold's sums are scored against the level error estimated without
    that fold: given the true v = 0.3 overall but held-out estimates of 0.1 (what an estimate
    fitted to the other folds' errors may be), the factor rises as it would for v = 0.1, and
    multiplies the overall v; a block's v per (series, block) reaches _sum_covered."""
    from forecast.forecasting.calibration import _calibrate_sums, _sum_covered

    preds, actuals = _paths(0.3, 50.0, n=600, folds=2, h=14, seed=4)
    n = preds[0].shape[0]
    cfg, k, smooth = EngineConfig(), np.full(n, 50.0), np.zeros(n, dtype=bool)
    in_sample: dict[str, float] = {}
    _calibrate_sums(preds, actuals, k, np.full(n, 0.3), smooth, cfg, 14, in_sample)
    held: dict[str, float] = {}
    v = _calibrate_sums(preds, actuals, k, np.full(n, 0.3), smooth, cfg, 14, held,
                        [np.full(n, 0.1), np.full(n, 0.1)])
    assert in_sample["smooth_sum_scale"] == 1.0
    assert held["smooth_sum_scale"] > 1.0 and np.allclose(v, 0.3 * held["smooth_sum_scale"])
    mean = np.stack(preds, axis=1)
    sums = np.stack([a.sum(axis=1) for a in actuals], axis=1)
    per_block = _sum_covered(mean, k, np.full((n, 2), 0.1), sums, 0.95)
    np.testing.assert_array_equal(per_block, _sum_covered(mean, k, np.full(n, 0.1), sums, 0.95))


def test_slow_movers_are_calibrated_by_their_pit_not_pushed_to_the_grid_end() -> None:
    # Known NB(k = 2) demand with mean 0.1-0.6 a day and a small level error: most days are 0,
    # so q05 = 0 and every zero lies in [q05, q95]. Scored by the interval, the class covers
    # ~97% whatever the factor and the noise is made as thin as the grid goes (k x 4); scored
    # by the PIT, the factor stays near 1 and the class covers 90%.
    rng = np.random.default_rng(3)
    n, h, k = 600, 28, 2.0
    m = rng.uniform(0.1, 0.6, n)
    preds = [np.tile(m[:, None], (1, h)) for _ in range(3)]
    actuals = [rng.poisson(m[:, None] * rng.gamma(k, 1 / k, (n, h))).astype(float) for _ in range(3)]
    history = np.zeros((n, 400))
    size, v = np.full(n, k), np.full(n, 0.002)
    k_pit, _, pit = _calibrate(preds, actuals, size, v, history, EngineConfig(sum_quantile=0.0))
    k_int, _, interval = _calibrate(preds, actuals, size, v, history,
                                    EngineConfig(sum_quantile=0.0, coverage_measure="interval"))
    assert 0.75 <= pit["intermittent_scale"] <= 1.5
    assert np.allclose(k_pit, k / pit["intermittent_scale"])
    assert pit["intermittent_coverage"] == pytest.approx(0.90, abs=0.01)
    assert interval["intermittent_scale"] == 0.25 and interval["intermittent_coverage"] > 0.95
    assert np.allclose(k_int, 4 * k)
    with pytest.raises(ValueError, match="coverage_measure"):
        _calibrate(preds, actuals, size, v, history, EngineConfig(coverage_measure="share"))


def test_best_scale_stays_on_the_branch_where_widening_covers_more() -> None:
    # Coverage rising to 0.98 at 3.0, then falling back to 0.90 (a negative binomial so wide its
    # mass sits at 0 and beyond its q95): the rising branch's value wins, not the far one.
    grid = np.array([0.25, 0.5, 1.0, 3.0, 9.0])
    table = {0.25: 0.80, 0.5: 0.86, 1.0: 0.93, 3.0: 0.98, 9.0: 0.90}
    seen: list[float] = []

    def coverage(s: float) -> float:
        seen.append(s)
        return table[s]

    assert _best_scale(grid, coverage, 0.90) == (1.0, 0.93)
    assert 9.0 not in seen  # the walk stops at the first covering value
    # Refined: the bracket (0.5, 1.0) is bisected on a smooth coverage and reaches the target.
    smooth = lambda s: 0.86 + 0.07 * np.log2(s / 0.5) if s < 3.0 else table[s]
    best, cov = _best_scale(grid, smooth, 0.90, refine=6)
    assert cov == pytest.approx(0.90, abs=0.002) and best == pytest.approx(0.5 * 2 ** (4 / 7), rel=0.02)
    # Nothing covers the target: the value that covers most.
    assert _best_scale(grid, lambda s: 0.5 if s != 3.0 else 0.7, 0.9) == (3.0, 0.7)


def test_noise_is_searched_again_after_the_sums_widened_the_level_error() -> None:
    """Weekly-like folds (no level window): one factor scales noise and level error to cover 90%
    of single periods, then the sums widen the level error, which widens every period too; the
    noise is then searched again so that single periods cover 90% with the level error the
    sums need (dominicks_oj, 8 windows: PIT 92.8% -> 91.2%, 2-week q95 95.6% -> 94.8%); with a
    level window (daily data) it is not searched again."""
    from forecast.forecasting.calibration import _coverage

    preds, actuals = _paths(0.3, 5.0, n=600, h=12, seed=6)
    n = preds[0].shape[0]
    history = np.tile(actuals[0], (1, 20))
    args = (preds, actuals, np.full(n, 5.0), np.full(n, 0.02), history)

    def period_coverage(k: np.ndarray, v: np.ndarray) -> float:
        cov = _coverage(np.concatenate(preds, axis=1), np.concatenate(actuals, axis=1), k, v, 0.05, 0.95)
        return float(np.nanmean(cov))

    k_old, v_old, old = _calibrate(*args, EngineConfig(noise_after_sums=False), 0, 2)
    k_new, v_new, new = _calibrate(*args, EngineConfig(), 0, 2)
    assert old["smooth_sum_scale"] > 1.0 and np.allclose(v_new, v_old)  # the sums' level error kept
    assert period_coverage(k_old, v_old) > 0.92  # the sums' widening over-covered single periods
    assert period_coverage(k_new, v_new) == pytest.approx(0.90, abs=0.005)
    assert new["smooth_noise_coverage"] == pytest.approx(period_coverage(k_new, v_new), abs=1e-3)
    assert np.allclose(k_new, k_old / new["smooth_noise_scale"]) and new["smooth_noise_scale"] < 1.0
    assert "smooth_noise_scale" not in _calibrate(*args, EngineConfig(sum_quantile=0.0), 0, 2)[2]
    # with a level window (daily data) the level error came from the folds' sums: not searched
    assert "smooth_noise_scale" not in _calibrate(*args, EngineConfig(), 2, 2)[2]
