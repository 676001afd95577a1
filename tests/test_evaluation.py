"""Tests for forecast.forecasting.evaluation: metrics against hand-computed answers, and backtest hygiene."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting import evaluation as ev
from forecast.forecasting.evaluation import (
    backtest,
    bias,
    bias_total,
    dollar_weights,
    interval_coverage,
    interval_coverage_total,
    mase,
    pinball_loss,
    rmsse,
    rolling_origin_splits,
    scaled_pinball_loss,
    sum_pinball_loss,
    summarise_backtest,
    wape,
    wape_total,
    wrmsse,
)

NAN = np.nan
M5_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "m5_dev"


def test_docstring_examples() -> None:
    result = doctest.testmod(ev, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10
    assert result.failed == 0


# ------------------------------------------------------------------------------------------
# MASE
# ------------------------------------------------------------------------------------------
def test_mase_hand_computed() -> None:
    y_train = [[1.0, 3.0, 2.0, 4.0]]
    # MAE = (|4 - 3| + |4 - 5|) / 2 = 1
    # one-step scale = (|3-1| + |2-3| + |4-2|) / 3 = 5/3  -> MASE = 3/5
    np.testing.assert_allclose(mase([[3.0, 5.0]], [[4.0, 4.0]], y_train), [0.6])
    # seasonal m=2 scale = (|2-1| + |4-3|) / 2 = 1          -> MASE = 1
    np.testing.assert_allclose(mase([[3.0, 5.0]], [[4.0, 4.0]], y_train, season_length=2), [1.0])


def test_mase_scale_starts_at_first_observation_and_skips_gaps() -> None:
    y_train = np.array(
        [
            [NAN, NAN, 0.0, 2.0, 2.0],  # leading NaNs dropped, leading 0 kept: (2 + 0)/2 = 1
            [1.0, NAN, 4.0, 6.0, 6.0],  # diffs touching the gap skipped: (2 + 0)/2 = 1
        ]
    )
    y_true = np.array([[2.0, NAN], [1.0, 3.0]])  # series 0: second day censored
    y_pred = np.array([[4.0, 100.0], [2.0, 2.0]])
    # series 0: MAE = |4 - 2| = 2 (censored day not scored) -> 2 / 1
    # series 1: MAE = (1 + 1)/2 = 1                         -> 1 / 1
    np.testing.assert_allclose(mase(y_true, y_pred, y_train), [2.0, 1.0])


def test_mase_undefined_is_nan() -> None:
    y_train = np.array([[5.0, 5.0, 5.0], [1.0, 2.0, 3.0], [NAN, NAN, 4.0]])
    y_true = np.array([[5.0], [NAN], [4.0]])
    y_pred = np.array([[6.0], [3.0], [4.0]])
    # zero scale; nothing observed; a single observation has no difference
    assert np.isnan(mase(y_true, y_pred, y_train)).all()


# ------------------------------------------------------------------------------------------
# RMSSE / WRMSSE / weights
# ------------------------------------------------------------------------------------------
def test_rmsse_hand_computed_from_first_sale() -> None:
    y_train = [[0.0, 0.0, 1.0, 3.0, 2.0]]
    # history from first sale: 1, 3, 2 -> squared diffs 4, 1 -> scale 2.5
    # errors 3-2 = 1, 2-4 = -2 -> MSE (1 + 4)/2 = 2.5 -> RMSSE = sqrt(2.5/2.5) = 1
    np.testing.assert_allclose(rmsse([[2.0, 4.0]], [[3.0, 2.0]], y_train), [1.0])


def test_rmsse_from_the_first_observation_keeps_leading_zeros() -> None:
    y_train = [[0.0, 0.0, 1.0, 3.0, 2.0]]
    # whole history: squared diffs 0, 1, 4, 1 -> scale 1.5; MSE 2.5 -> sqrt(2.5 / 1.5)
    np.testing.assert_allclose(rmsse([[2.0, 4.0]], [[3.0, 2.0]], y_train, start="first_observation"),
                               [np.sqrt(2.5 / 1.5)])
    with pytest.raises(ValueError, match="start must be"):
        rmsse([[2.0]], [[3.0]], y_train, start="first")


def test_rmsse_skips_interior_nan_instead_of_bridging() -> None:
    y_train = [[1.0, NAN, 4.0, 6.0]]
    # only the 4 -> 6 difference is valid: scale 4 (bridging 1 -> 4 would give (9 + 4)/2)
    # MSE over the observed actual: (4 - 2)^2 = 4 -> sqrt(4/4) = 1
    np.testing.assert_allclose(rmsse([[2.0, NAN]], [[4.0, 100.0]], y_train), [1.0])


def test_rmsse_undefined_scale_is_nan() -> None:
    y_train = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 3.0], [NAN, 2.0, 2.0]])
    result = rmsse(np.ones((3, 2)), np.zeros((3, 2)), y_train)
    # never sold; only sale on the last day; zero variation after first sale
    assert np.isnan(result).all()


def test_nan_forecast_propagates_instead_of_being_skipped() -> None:
    y_train = [[1.0, 2.0, 4.0]]
    y_true, y_pred = [[2.0, 3.0]], [[2.0, NAN]]
    for value in (
        mase(y_true, y_pred, y_train),
        rmsse(y_true, y_pred, y_train),
        wape(y_true, y_pred),
        bias(y_true, y_pred),
        pinball_loss(y_true, y_pred, 0.5),
    ):
        assert np.isnan(value).all()


def test_rmsse_naive_matches_direct_m5_computation() -> None:
    rng = np.random.default_rng(7)
    n, t, h = 20, 120, 28
    y = rng.poisson(rng.uniform(0.2, 4.0, size=(n, 1)), size=(n, t + h)).astype(float)
    starts = rng.integers(0, 60, size=n)
    for i, s in enumerate(starts):  # products launched at different dates
        y[i, :s] = 0.0
    y_train, y_test = y[:, :t], y[:, t:]
    naive = np.repeat(y_train[:, -1:], h, axis=1)

    expected = []
    for i in range(n):
        first = np.flatnonzero(y_train[i] > 0)[0]
        hist = y_train[i, first:]
        scale = np.mean(np.diff(hist) ** 2)
        expected.append(np.sqrt(np.mean((y_test[i] - naive[i]) ** 2) / scale))
    np.testing.assert_allclose(rmsse(y_test, naive, y_train), expected, rtol=1e-12)


@pytest.mark.shared
@pytest.mark.skipif(not M5_DEV.exists(), reason="../shared/data/m5_dev not present")
def test_rmsse_naive_on_m5_dev_matches_per_series_computation() -> None:
    sales = pd.read_csv(M5_DEV / "sales.csv.gz", parse_dates=["date"])
    sales["series"] = sales["sku"] + "_" + sales["location"]
    cut = pd.Timestamp("2016-03-27")
    wide = sales.pivot(index="series", columns="date", values="quantity").sort_index()
    y_train = wide.loc[:, wide.columns <= cut].to_numpy(float)
    y_test = wide.loc[:, wide.columns > cut].to_numpy(float)
    assert y_test.shape[1] == 28
    naive = np.repeat(y_train[:, -1:], 28, axis=1)
    got = rmsse(y_test, naive, y_train)

    expected = {}
    for name, g in sales.sort_values("date").groupby("series"):
        hist = g.loc[g["date"] <= cut, "quantity"].to_numpy(float)
        test = g.loc[g["date"] > cut, "quantity"].to_numpy(float)
        hist = hist[np.flatnonzero(hist > 0)[0] :]
        expected[name] = np.sqrt(np.mean((test - hist[-1]) ** 2) / np.mean(np.diff(hist) ** 2))
    np.testing.assert_allclose(got, [expected[s] for s in wide.index], rtol=1e-10)

    # dollar weights from the real prices of the last 28 history days
    price_wide = sales.pivot(index="series", columns="date", values="price").sort_index()
    w = dollar_weights(y_train, price_wide.loc[:, price_wide.columns <= cut].to_numpy(float))
    assert w.shape == (len(wide),)
    np.testing.assert_allclose(w.sum(), 1.0)
    assert 0.5 < wrmsse(got, w) < 3.0


def test_wrmsse_weighting_and_nan_rules() -> None:
    # zero-weight NaN ignored: (0.2 * 1 + 0.6 * 0.5) / 0.8 = 0.5 / 0.8 = 0.625
    assert wrmsse([1.0, 0.5, NAN], [0.2, 0.6, 0.0]) == pytest.approx(0.625)
    # a NaN with positive weight poisons the mean unless skipped
    assert np.isnan(wrmsse([1.0, 0.5, NAN], [0.2, 0.6, 0.2]))
    assert wrmsse([1.0, 0.5, NAN], [0.2, 0.6, 0.2], skipna=True) == pytest.approx(0.625)
    with pytest.raises(ValueError, match="non-negative"):
        wrmsse([1.0, 1.0], [-0.5, 1.5])
    with pytest.raises(ValueError, match="2 values for 3 series"):
        wrmsse([1.0, 1.0, 1.0], [0.5, 0.5])


def test_dollar_weights_hand_computed() -> None:
    units = np.array(
        [
            [9.0, 1.0, 2.0, NAN],  # censored last day: no sales counted
            [9.0, 0.0, 1.0, 1.0],
            [9.0, 0.0, 0.0, 3.0],
        ]
    )
    prices = np.array(
        [
            [1.0, 2.0, 2.0, 2.0],
            [1.0, 1.0, NAN, 1.0],  # NaN price filled forward with 1
            [NAN, NAN, NAN, 0.5],  # back-filled with 0.5
        ]
    )
    # last 3 periods: 1*2 + 2*2 = 6; 0 + 1*1 + 1*1 = 2; 3*0.5 = 1.5; total 9.5
    w = dollar_weights(units, prices, last_n=3)
    np.testing.assert_allclose(w, [6 / 9.5, 2 / 9.5, 1.5 / 9.5])
    assert dollar_weights(units, None) is None
    # last_n longer than the history uses all of it (first price of series 2 back-filled):
    # 9*1 + 6 = 15, 9*1 + 2 = 11, 9*0.5 + 1.5 = 6; total 32
    np.testing.assert_allclose(dollar_weights(units, prices, last_n=28), np.array([15, 11, 6]) / 32)


def test_dollar_weights_refuses_sales_without_price_and_no_sales() -> None:
    with pytest.raises(ValueError, match=r"series \[1\]"):
        dollar_weights([[1.0, 1.0], [0.0, 2.0]], [[1.0, 1.0], [NAN, NAN]])
    with pytest.raises(ValueError, match="no dollar sales"):
        dollar_weights([[0.0, 0.0]], [[1.0, 1.0]])


# ------------------------------------------------------------------------------------------
# WAPE and bias
# ------------------------------------------------------------------------------------------
def test_wape_and_bias_hand_computed_with_censored_actuals() -> None:
    y_true = np.array([[2.0, 4.0, NAN], [0.0, 0.0, 0.0], [5.0, 5.0, 10.0]])
    y_pred = np.array([[3.0, 2.0, 50.0], [1.0, 0.0, 0.0], [5.0, 5.0, 10.0]])
    # series 0: |e| = 1 + 2 = 3 over y = 6 -> 0.5; e = 1 - 2 = -1 -> -1/6 (day 3 censored)
    # series 1: no demand -> undefined; series 2: perfect -> 0
    np.testing.assert_allclose(wape(y_true, y_pred), [0.5, NAN, 0.0])
    np.testing.assert_allclose(bias(y_true, y_pred), [-1 / 6, NAN, 0.0])
    # pooled: sum|e| = 3 + 1 + 0 = 4, sum y = 6 + 0 + 20 = 26; sum e = -1 + 1 + 0 = 0
    assert wape_total(y_true, y_pred) == pytest.approx(4 / 26)
    assert bias_total(y_true, y_pred) == pytest.approx(0.0)


def test_perfect_forecast_scores_zero() -> None:
    rng = np.random.default_rng(0)
    y_train = rng.poisson(3.0, size=(5, 40)).astype(float) + 1
    y_true = rng.poisson(3.0, size=(5, 14)).astype(float) + 1
    exact = y_true.copy()
    np.testing.assert_array_equal(mase(y_true, exact, y_train, season_length=7), 0.0)
    np.testing.assert_array_equal(rmsse(y_true, exact, y_train), 0.0)
    np.testing.assert_array_equal(wape(y_true, exact), 0.0)
    np.testing.assert_array_equal(bias(y_true, exact), 0.0)
    assert wape_total(y_true, exact) == 0.0
    assert bias_total(y_true, exact) == 0.0
    np.testing.assert_array_equal(pinball_loss(y_true, exact, 0.9), 0.0)
    np.testing.assert_array_equal(scaled_pinball_loss(y_true, {0.1: exact, 0.9: exact}, y_train), 0)
    np.testing.assert_array_equal(sum_pinball_loss(y_true, y_true.sum(axis=1), 0.95), 0.0)
    np.testing.assert_array_equal(interval_coverage(y_true, exact, exact), 1.0)


# ------------------------------------------------------------------------------------------
# probabilistic metrics
# ------------------------------------------------------------------------------------------
def test_pinball_loss_hand_computed() -> None:
    y_true = [[10.0, 4.0, NAN]]
    y_q = [[8.0, 6.0, 0.0]]
    # q=0.9: under-forecast 10 vs 8 -> 0.9*2 = 1.8; over-forecast 4 vs 6 -> 0.1*2 = 0.2; mean 1.0
    np.testing.assert_allclose(pinball_loss(y_true, y_q, 0.9), [1.0])
    # q=0.5 is half the absolute error: (2 + 2)/2 * 0.5 = 1.0
    np.testing.assert_allclose(pinball_loss(y_true, y_q, 0.5), [1.0])
    # q=0.25, under-forecast by 6: 0.25 * 6 = 1.5; over-forecast by 6: 0.75 * 6 = 4.5
    np.testing.assert_allclose(pinball_loss([[10.0], [4.0]], [[4.0], [10.0]], 0.25), [1.5, 4.5])
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        pinball_loss(y_true, y_q, 1.0)


def test_scaled_pinball_loss_hand_computed() -> None:
    y_train = [[0.0, 0.0, 2.0, 4.0, 3.0]]
    # scale from first sale 2, 4, 3: (|4-2| + |3-4|)/2 = 1.5
    y_true = [[10.0, 4.0]]
    quantiles = {0.1: [[6.0, 2.0]], 0.5: [[8.0, 4.0]], 0.9: [[12.0, 6.0]]}
    # q=0.1: y >= Q both days: 0.1*4 = 0.4, 0.1*2 = 0.2 -> mean 0.3
    # q=0.5: 0.5*2 = 1.0, 0                              -> mean 0.5
    # q=0.9: y < Q both days: 0.1*2 = 0.2, 0.1*2 = 0.2   -> mean 0.2
    # mean over levels (0.3 + 0.5 + 0.2)/3 = 1/3; scaled: (1/3) / 1.5 = 2/9
    np.testing.assert_allclose(scaled_pinball_loss(y_true, quantiles, y_train), [2 / 9])


def test_interval_coverage_per_series_and_total() -> None:
    y_true = np.array([[1.0, 5.0, NAN, 2.0], [3.0, 3.0, 3.0, 3.0]])
    lower = np.zeros((2, 4))
    upper = np.full((2, 4), 2.0)
    # series 0: 1 in, 5 out, censored, 2 in (bounds inclusive) -> 2/3; series 1: 0/4
    np.testing.assert_allclose(interval_coverage(y_true, lower, upper), [2 / 3, 0.0])
    # pooled: 2 of 7 observed actuals inside
    assert interval_coverage_total(y_true, lower, upper) == pytest.approx(2 / 7)


def test_sum_pinball_loss_hand_computed_and_censoring() -> None:
    y_true = np.array([[1.0, 2.0, 3.0, 100.0], [4.0, 4.0, 4.0, 0.0], [1.0, NAN, 1.0, 1.0]])
    sum_q = np.array([5.0, 10.0, 3.0])
    # window 3: sums 6, 12, unknown
    # series 0: 6 >= 5 -> 0.9 * 1 = 0.9; series 1: 12 >= 10 -> 0.9 * 2 = 1.8; series 2: NaN
    np.testing.assert_allclose(sum_pinball_loss(y_true, sum_q, 0.9, window=3), [0.9, 1.8, NAN])
    # q=0.95 with an over-forecast: sum 6 vs 8 -> 0.05 * 2 = 0.1
    np.testing.assert_allclose(sum_pinball_loss(y_true[:1], [8.0], 0.95, window=3), [0.1])
    with pytest.raises(ValueError, match="window=14"):
        sum_pinball_loss(y_true, sum_q, 0.9)  # horizon 4 < 14


# ------------------------------------------------------------------------------------------
# rolling-origin splits and backtest
# ------------------------------------------------------------------------------------------
def test_rolling_origin_splits_cut_points() -> None:
    assert rolling_origin_splits(20, 4, 3) == [
        (8, slice(8, 12)),
        (12, slice(12, 16)),
        (16, slice(16, 20)),
    ]
    # step 2 < horizon: test windows overlap each other, never their own training data
    splits = rolling_origin_splits(20, 4, 3, step=2)
    assert splits == [(12, slice(12, 16)), (14, slice(14, 18)), (16, slice(16, 20))]
    for train_end, test in splits:
        assert test.start == train_end and test.stop - test.start == 4
    assert splits[-1][1].stop == 20


@pytest.mark.parametrize(
    ("T", "horizon", "folds", "step"),
    [(10, 4, 3, None), (5, 4, 1, None), (10, 0, 1, None), (10, 2, 0, None), (10, 2, 2, 0)],
)
def test_rolling_origin_splits_rejects_short_history_and_bad_arguments(T, horizon, folds, step):
    with pytest.raises(ValueError):
        rolling_origin_splits(T, horizon, folds, step)


def _naive_fn(y_train: np.ndarray, h: int) -> dict:
    last = y_train[:, -1:]
    mean = np.repeat(last, h, axis=1)
    return {
        "mean": mean,
        "quantiles": {0.05: mean - 2.0, 0.5: mean, 0.95: mean + 2.0},
        "sum14": {0.9: last[:, 0] * 14 + 5.0, 0.95: last[:, 0] * 14 + 8.0},
    }


def test_backtest_never_shows_the_test_window_to_forecast_fn() -> None:
    n, t, horizon = 3, 30, 5
    y = np.tile(np.arange(t, dtype=float), (n, 1))
    seen: list[tuple[int, ...]] = []
    max_seen: list[float] = []

    def recording_cheat(y_train: np.ndarray, h: int) -> dict:
        seen.append(y_train.shape)
        # try to peek beyond the cut through the array's base buffer
        reachable = y_train if y_train.base is None else np.asarray(y_train.base)
        max_seen.append(float(np.nanmax(reachable)))
        y_train[:] = -1.0  # mutating its input must not corrupt later folds
        return {"mean": np.full((y_train.shape[0], h), np.nanmax(reachable) + 1.0)}

    df = backtest(y, recording_cheat, horizon, folds=3)
    splits = rolling_origin_splits(t, horizon, 3)
    assert seen == [(n, end) for end, _ in splits]
    # the largest value reachable is the last training value, never a test value
    assert max_seen == [end - 1.0 for end, _ in splits]
    assert df["cutoff"].tolist() == [end - 1 for end, _ in splits for _ in range(n)]
    # forecasting "last seen + 1" each day on a ramp is only exact on the first test day
    assert (df["wape"] > 0).all()


def test_backtest_rows_columns_and_values_match_metric_functions() -> None:
    rng = np.random.default_rng(3)
    n, t, horizon, folds = 4, 80, 14, 2
    y = rng.poisson(5.0, size=(n, t)).astype(float)
    y[0, :10] = NAN  # series 0 starts late
    y[1, -3] = NAN  # censored day inside the last test window
    prices = np.full((n, t), 2.0)
    prices[2] = 4.0

    df = backtest(y, _naive_fn, horizon, folds, season_length=7, prices=prices)
    assert len(df) == n * folds
    assert list(df.columns[:9]) == [
        "series",
        "fold",
        "cutoff",
        "mase",
        "rmsse",
        "wape",
        "bias",
        "spl",
        "coverage_90",
    ]
    assert {"pinball_sum14_q90", "pinball_sum14_q95", "weight"} <= set(df.columns)

    for fold, (end, test) in enumerate(rolling_origin_splits(t, horizon, folds)):
        part = df[df["fold"] == fold].set_index("series")
        y_train, actual = y[:, :end], y[:, test]
        fc = _naive_fn(y_train, horizon)
        q = fc["quantiles"]
        np.testing.assert_allclose(part["mase"], mase(actual, fc["mean"], y_train, 7))
        np.testing.assert_allclose(part["rmsse"], rmsse(actual, fc["mean"], y_train))
        np.testing.assert_allclose(part["wape"], wape(actual, fc["mean"]))
        np.testing.assert_allclose(part["spl"], scaled_pinball_loss(actual, q, y_train))
        np.testing.assert_allclose(part["coverage_90"], interval_coverage(actual, q[0.05], q[0.95]))
        np.testing.assert_allclose(
            part["pinball_sum14_q95"], sum_pinball_loss(actual, fc["sum14"][0.95], 0.95)
        )
        np.testing.assert_allclose(part["weight"], dollar_weights(y_train, prices[:, :end]))
    # the censored test day is not scored, and the sum over 14 days is unknown
    last = df[(df["fold"] == 1) & (df["series"] == 1)].iloc[0]
    assert last["n_scored"] == horizon - 1
    assert np.isnan(last["pinball_sum14_q90"])
    assert np.isfinite(last["rmsse"])

    summary = summarise_backtest(df)
    mean_all = np.vstack(
        [_naive_fn(y[:, :e], horizon)["mean"] for e, _ in rolling_origin_splits(t, horizon, folds)]
    )
    actual_all = np.vstack([y[:, s] for _, s in rolling_origin_splits(t, horizon, folds)])
    assert summary["wape"] == pytest.approx(wape_total(actual_all, mean_all))
    assert summary["bias"] == pytest.approx(bias_total(actual_all, mean_all))
    assert summary["mase"] == pytest.approx(df["mase"].mean())
    lower_all = mean_all - 2.0
    upper_all = mean_all + 2.0
    assert summary["coverage_90"] == pytest.approx(
        interval_coverage_total(actual_all, lower_all, upper_all)
    )
    per_fold = [wrmsse(g["rmsse"], g["weight"]) for _, g in df.groupby("fold")]
    assert summary["wrmsse"] == pytest.approx(np.mean(per_fold))


def test_summarise_backtest_with_explicit_weights_hand_computed() -> None:
    df = pd.DataFrame(
        {
            "series": [0, 1, 0, 1],
            "fold": [0, 0, 1, 1],
            "mase": [1.0, 2.0, NAN, 3.0],
            "rmsse": [1.0, 2.0, 0.5, NAN],
            "n_scored": [2, 2, 2, 2],
            "sum_actual": [10.0, 10.0, 10.0, 10.0],
            "sum_abs_actual": [10.0, 10.0, 10.0, 10.0],
            "sum_abs_error": [1.0, 2.0, 3.0, 4.0],
            "sum_error": [1.0, -2.0, 3.0, -4.0],
        }
    )
    s = summarise_backtest(df, weights=[0.25, 0.75])
    assert s["mase"] == pytest.approx(2.0)  # (1 + 2 + 3) / 3, undefined row left out
    assert s["rmsse"] == pytest.approx(3.5 / 3)
    # fold 0: 0.25*1 + 0.75*2 = 1.75; fold 1: only series 0 defined -> 0.5; mean 1.125
    assert s["wrmsse"] == pytest.approx(1.125)
    assert s["wape"] == pytest.approx(10 / 40)
    assert s["bias"] == pytest.approx(-2 / 40)
    assert "spl" not in s and "coverage_90" not in s
    assert "wrmsse" not in summarise_backtest(df)


def test_backtest_point_only_forecast_has_no_probabilistic_columns() -> None:
    y = np.arange(40, dtype=float).reshape(2, 20)
    df = backtest(y, lambda yt, h: {"mean": np.repeat(yt[:, -1:], h, axis=1)}, 3, 2)
    assert not {"spl", "coverage_90", "pinball_sum14_q90", "weight"} & set(df.columns)
    # on a ramp with slope 1, the naive error over 3 days is 1, 2, 3: MASE = 2 / 1
    np.testing.assert_allclose(df["mase"], 2.0)


def test_backtest_rejects_malformed_forecasts() -> None:
    y = np.ones((2, 30))
    with pytest.raises(ValueError, match="shape"):
        backtest(y, lambda yt, h: {"mean": np.ones((2, h + 1))}, 5, 2)
    with pytest.raises(ValueError, match="'mean'"):
        backtest(y, lambda yt, h: {"median": np.ones((2, h))}, 5, 2)
    with pytest.raises(ValueError, match="requested level 0.05"):
        backtest(
            y, lambda yt, h: {"mean": np.ones((2, h)), "quantiles": {0.5: np.ones((2, h))}}, 5, 2
        )
    with pytest.raises(ValueError, match="history too short"):
        backtest(y, _naive_fn, 14, 3)


def test_pit_coverage_is_ninety_percent_for_a_calibrated_count_forecast() -> None:
    # Poisson(0.4) actuals scored against their own distribution: P(0) = 0.67, so [q05, q95]
    # = [0, 1] holds 94% of them; the non-randomized PIT (Czado et al. 2009) puts 90% inside.
    from scipy import stats

    from forecast.forecasting import evaluation as ev

    rng = np.random.default_rng(0)
    y = rng.poisson(0.4, (200, 250)).astype(float)
    y[0, :5] = np.nan  # not observed: not scored
    cdf = lambda x: stats.poisson.cdf(x, 0.4)
    assert ev.pit_coverage_total(y, cdf) == pytest.approx(0.90, abs=0.005)
    lo, hi = stats.poisson.ppf(0.05, 0.4), stats.poisson.ppf(0.95, 0.4)
    assert ev.interval_coverage_total(y, np.full(y.shape, lo), np.full(y.shape, hi)) > 0.93
    # too thin a forecast covers less, too wide a one more (NB size 0.5 against Poisson)
    lumpy = rng.poisson(0.4 * rng.gamma(0.5, 2.0, y.shape)).astype(float)
    assert ev.pit_coverage_total(lumpy, cdf) < 0.88
    assert ev.pit_coverage_total(y, lambda x: stats.nbinom.cdf(x, 0.5, 0.5 / 0.9)) > 0.92
    # hand-computed: F(y-1) = 0, F(y) = 0.5 -> (0.5 - 0.05) / 0.5 of the PIT inside
    assert ev.pit_coverage([[0.0]], [[0.5]])[0, 0] == pytest.approx(0.9)
    assert np.isnan(ev.pit_coverage([[np.nan]], [[0.5]])[0, 0])


def test_demand_forecast_cdf_agrees_with_its_quantiles() -> None:
    from forecast.forecasting.distribution import DemandForecast

    keys = pd.DataFrame({"sku": ["a", "b", "c"], "location": ["x"] * 3})
    mean = np.array([[0.3, 2.0], [5.0, 12.0], [0.0, 0.0]])
    fc = DemandForecast(keys, pd.date_range("2026-01-01", periods=2), mean,
                        np.array([1.5, np.inf, 3.0]), np.array([0.05, 0.0, 0.1]), np.array(["m"] * 3, dtype=object))
    for q, value in fc.quantiles([0.05, 0.5, 0.9, 0.99]).items():
        assert (fc.cdf(value) >= q - 1e-12).all()  # the quantile is the least x with F(x) >= q
        assert (fc.cdf(value - 1) < q).all()
    assert fc.cdf(np.full((3, 2), 0.0))[2].tolist() == [1.0, 1.0]  # mean 0: all mass at 0
    assert fc.cdf(np.full((3, 2), -1.0))[2].tolist() == [0.0, 0.0]


def test_backtest_scores_the_pit_coverage_when_given_the_forecast_cdf() -> None:
    # Poisson(0.4) demand forecast by its own distribution: the PIT puts 90% inside per series
    # and pooled, where the share inside [q05, q95] = [0, 1] is 94%.
    from scipy import stats

    rng = np.random.default_rng(1)
    y = rng.poisson(0.4, (60, 400)).astype(float)
    y[0, -5:] = np.nan  # a censored day in the last fold: not scored

    def forecast_fn(y_train: np.ndarray, h: int) -> dict:
        n = y_train.shape[0]
        return {"mean": np.full((n, h), 0.4), "quantiles": {0.05: np.zeros((n, h)), 0.95: np.ones((n, h))},
                "cdf": lambda x: stats.poisson.cdf(x, 0.4)}

    frame = ev.backtest(y, forecast_fn, 28, 3, quantiles=(0.05, 0.95))
    assert frame["pit_coverage_90"].between(0.75, 1.0).all()
    summary = ev.summarise_backtest(frame)
    assert summary["pit_coverage_90"] == pytest.approx(0.90, abs=0.01)
    assert summary["coverage_90"] > 0.92
    # by hand for one row: the mean over its observed days of the PIT share inside
    row = frame[(frame["series"] == 0) & (frame["fold"] == 2)].iloc[0]
    actual = y[0, -28:][~np.isnan(y[0, -28:])]
    expected = ev.pit_coverage(stats.poisson.cdf(actual - 1, 0.4), stats.poisson.cdf(actual, 0.4)).mean()
    assert row["pit_coverage_90"] == pytest.approx(expected)
