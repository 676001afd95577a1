"""The rate floor of a slow mover's distribution (DemandForecast.floor, calibration._calibrate
with ``long_run``): the distribution's mean is max(point forecast, floor), everything that reads
the distribution uses it, and the point forecast stays as it was."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.calibration import _calibrate, floor_rates, long_run_mean
from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.engine import EngineConfig
from forecast.planning.policies import PlanConfig, compute_policies

AS_OF = date(2024, 3, 31)


def _forecast(mean, floor=None, size=2.0, level_var=0.05) -> DemandForecast:
    mean = np.asarray(mean, dtype=float)
    n, h = mean.shape
    return DemandForecast(
        keys=pd.DataFrame({"sku": [f"S{i}" for i in range(n)], "location": "main"}),
        dates=pd.date_range(AS_OF + timedelta(days=1), periods=h, freq="D"),
        mean=mean, size=np.full(n, size), level_var=np.full(n, level_var),
        model=np.full(n, "test", dtype=object),
        floor=None if floor is None else np.asarray(floor, dtype=float),
    )


def test_the_floor_is_the_distributions_mean_and_the_point_forecast_stays() -> None:
    point = np.array([[0.0] * 6, [0.02] * 6, [0.5] * 6])
    fc = _forecast(point, floor=[0.1, 0.1, 0.1])
    same = _forecast([[0.1] * 6, [0.1] * 6, [0.5] * 6])  # the floored means, no floor
    np.testing.assert_array_equal(fc.expected(), same.mean)
    np.testing.assert_allclose(fc.variance(), same.variance())
    x = np.array([[0.0] * 6, [1.0] * 6, [2.0] * 6])
    np.testing.assert_allclose(fc.cdf(x), same.cdf(x))
    for q, values in fc.quantiles([0.5, 0.95, 0.99]).items():
        np.testing.assert_array_equal(values, same.quantiles([q])[q])
    start, length = np.zeros(3), np.array([4.5, 10.0, 3.0])  # beyond the horizon: repeated
    for a, b in zip(fc.window_moments(start, length), same.window_moments(start, length)):
        np.testing.assert_allclose(a, b)
    paths = fc.sample_paths(4000, np.random.default_rng(0))
    assert paths[:2].mean() == pytest.approx(0.1, rel=0.1)  # demand drawn at the floor
    frame = fc.to_frame()
    assert frame.groupby("sku")["mean"].first().tolist() == [0.0, 0.02, 0.5]  # the point forecast
    assert frame.groupby("sku")["planned_mean"].first().tolist() == [0.1, 0.1, 0.5]  # the floored one
    assert frame.loc[frame["sku"] == "S0", "q99"].max() >= 1  # a sale is possible
    # subsets and stacks keep it; a part without one stacks as floor 0
    np.testing.assert_array_equal(fc.take(np.array([2, 0])).floor, [0.1, 0.1])
    both = DemandForecast.concat([fc, _forecast(point)])
    np.testing.assert_array_equal(both.floor, [0.1, 0.1, 0.1, 0, 0, 0])
    np.testing.assert_array_equal(both.expected()[3:], point)
    assert _forecast(point).expected() is point  # no floor: the point forecast itself


def test_a_stored_forecast_keeps_its_floor() -> None:
    fc = _forecast([[0.0] * 3, [0.4] * 3], floor=[0.2, 0.0])
    forecasts = fc.to_frame()[["sku", "location", "date", "mean"]]
    models = pd.DataFrame({"sku": ["S1", "S0"], "location": "main", "model": "test",
                           "nb_size": 2.0, "level_var": 0.05, "rate_floor": [np.nan, 0.2]})
    back = DemandForecast.from_tables(forecasts, models)
    np.testing.assert_array_equal(back.floor, [0.2, 0.0])
    np.testing.assert_allclose(back.expected(), fc.expected())
    older = DemandForecast.from_tables(forecasts, models.drop(columns="rate_floor"))
    assert older.floor is None  # a warehouse written before the column


def _dying_parts(seed: int = 4, n: int = 800, h: int = 12, t: int = 48):
    """Monthly slow movers selling Poisson(r) with r in 0.1-0.4 over history and folds; the
    point forecast of the second half has gone to 0.02 (a part that did not sell lately),
    the first half's is right."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.1, 0.4, n)
    history = rng.poisson(rate[:, None], (n, t)).astype(float)
    point = np.where(np.arange(n) < n // 2, rate, 0.02)
    preds = [np.tile(point[:, None], (1, h))]
    actuals = [rng.poisson(rate[:, None], (n, h)).astype(float)]
    return history, preds, actuals


def test_calibration_floors_slow_movers_whose_forecast_went_to_zero() -> None:
    history, preds, actuals = _dying_parts()
    n = len(history)
    size, v = np.full(n, 1e6), np.full(n, 0.002)
    long_run = [long_run_mean(history)]
    cfg = EngineConfig(sum_quantile=0.0)
    _, _, without = _calibrate(preds, actuals, size, v, history, cfg)  # no long run: no floor
    _, _, off = _calibrate(preds, actuals, size, v, history,
                           EngineConfig(sum_quantile=0.0, floor_shares=(0.0,)), long_run=long_run)
    _, _, report = _calibrate(preds, actuals, size, v, history, cfg, long_run=long_run)
    assert "intermittent_floor_share" not in without and "intermittent_floor_share" not in off
    assert off["intermittent_coverage"] < 0.86  # a mean of 0.02 cannot give a sale 25% of months
    assert report["intermittent_floor_share"] >= 0.75
    assert abs(report["intermittent_coverage"] - 0.90) < abs(off["intermittent_coverage"] - 0.90)
    # the floor at the run: the share of each series' long-run mean, on the given rows only
    rows = np.arange(n) % 2 == 0
    floor = floor_rates(long_run_mean(history), report["intermittent_floor_share"], rows)
    np.testing.assert_allclose(floor[rows], report["intermittent_floor_share"] * history[rows].mean(axis=1))
    assert (floor[~rows] == 0).all() and floor_rates(long_run_mean(history), 0.0, rows) is None
    # right point forecasts need no floor
    right = [np.tile(long_run[0][:, None], (1, 12))]
    _, _, fine = _calibrate(right, actuals, size, v, history, cfg, long_run=long_run)
    assert fine["intermittent_floor_share"] == 0.0


def test_long_run_mean_skips_unobserved_periods() -> None:
    y = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(long_run_mean(y), [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(long_run_mean(y, 2), [3.0, 0.0, 0.0])  # the last 2 periods
    np.testing.assert_array_equal(floor_rates(long_run_mean(y, 2), 0.5, np.array([True, True, False])),
                                  [1.5, 0.0, 0.0])


def _plan(fc: DemandForecast, cfg: PlanConfig) -> pd.DataFrame:
    """Policies of two SKUs S0, S1: lead time 10 days, 95% service, fractional units."""
    prods = pd.DataFrame({"sku": ["S0", "S1"], "fractional": True, "supplier": "SUP",
                          "lead_time_days": 10.0, "lead_time_sd_days": 0.0, "unit_cost": 1.0,
                          "moq": np.nan, "pack_size": np.nan, "service_level": 0.95})
    suppliers = pd.DataFrame(columns=["supplier", "lead_time_days", "lead_time_sd_days", "order_cost"])
    return compute_policies(fc, np.zeros((2, 60)), prods, suppliers, cfg, 1.0)


def test_the_plan_protects_the_floor_also_where_the_point_forecast_went_to_zero() -> None:
    # Point forecasts 0.02/day (S0) and 0 (S1), both with a floor of 0.2/day; Poisson; lead time
    # 10 days: each one's lead-time demand is 0.2 x 10 = 2 with sd sqrt(2), the plan the same.
    # A series without a floor and a point forecast of 0 (S1 below) is not stocked.
    fc = _forecast([[0.02] * 28, [0.0] * 28], floor=[0.2, 0.2], size=np.inf, level_var=1e-12)
    pol = _plan(fc, PlanConfig(service_kind="cycle"))
    for _, row in pol.iterrows():
        assert row["mean_daily_demand"] == pytest.approx(0.2)
        assert row["lead_time_demand"] == pytest.approx(2.0)
        assert row["lead_time_demand_sd"] == pytest.approx(np.sqrt(2.0), rel=1e-6)
        assert row["reorder_point"] == pytest.approx(2.0 + 1.6448536 * np.sqrt(2.0), rel=1e-6)
    none = _plan(_forecast([[0.02] * 28, [0.0] * 28], floor=[0.2, 0.0], size=np.inf, level_var=1e-12),
                 PlanConfig(service_kind="cycle")).iloc[1]
    assert none[["safety_stock", "reorder_point", "order_quantity", "max_level"]].eq(0).all()


def test_the_simulation_draws_the_floored_demand() -> None:
    # Same seed: a point forecast of 0.02/day floored at 0.5 simulates exactly as 0.5/day.
    from forecast.backorders.simulation import SimulationConfig, simulate

    h = 60
    floored = _forecast(np.full((2, h), 0.02), floor=[0.5, 0.0], size=np.inf, level_var=1e-12)
    plain = _forecast(np.vstack([np.full(h, 0.5), np.full(h, 0.02)]), size=np.inf, level_var=1e-12)
    keys = floored.keys
    policies = keys.assign(policy="sQ", reorder_point=2.0, order_quantity=5.0, max_level=7.0,
                           review_period_days=0.0, lead_time_days=5.0, lead_time_sd_days=0.0)
    positions = keys.assign(on_hand=7.0, committed=0.0)
    no_po = pd.DataFrame(columns=["sku", "location", "quantity", "expected_date"])
    cfg = SimulationConfig(horizon_days=h, n_paths=500, seed=3, workers=1)
    a = simulate(floored, policies, positions, no_po, AS_OF, cfg).averages
    b = simulate(plain, policies, positions, no_po, AS_OF, cfg).averages
    pd.testing.assert_frame_equal(a, b)
    assert a["average_on_hand"].iloc[0] < a["average_on_hand"].iloc[1]  # the floor sells


def test_the_floor_never_forecasts_more_than_was_sold() -> None:
    # Point forecasts 0.1 on each of 23 observed cells (total 2.3), 3 units sold, long-run means
    # 0.3: a share of 0.25 floors at 0.075 (nothing changes, 2.3 <= 3), 0.5 at 0.15 (3.45 > 3
    # sold) and more is worse. Only shares whose floored total stays at or below the sales are
    # tried (the first share always).
    from forecast.forecasting.calibration import _ClassFit

    mean = np.full((4, 6), 0.1)
    actual = np.array([[0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0],
                       [0, 0, 0, 0, 0, np.nan]], dtype=float)
    fit = _ClassFit(mean, actual, np.full(4, 2.0), np.full(4, 0.01), False, EngineConfig(),
                    long_run=np.full((4, 6), 0.3))
    np.testing.assert_array_equal(fit.unbiased((0.0, 0.25, 0.5, 0.75, 1.0)), [0.0, 0.25])
    actual[0, 0] = np.nan  # 2.2 forecast against 3 sold: 0.5 x 0.3 x 22 = 3.3, still refused
    fit.actual = actual
    np.testing.assert_array_equal(fit.unbiased((0.0, 0.25, 0.5)), [0.0, 0.25])
    fit.actual = np.where(np.isnan(actual), np.nan, 0.0)  # nothing sold: only the first share
    np.testing.assert_array_equal(fit.unbiased((0.0, 0.25, 0.5)), [0.0])


def test_the_engine_floors_its_intermittent_series_at_the_chosen_share() -> None:
    # floor_shares=(0.5, 0.5): the first share is always allowed and wins ties, so the engine
    # must floor every intermittent series at 0.5 x its mean over the last 730 days (24 months)
    # and leave the smooth ones alone; the point forecast is the one without a floor.
    from forecast.forecasting.engine import forecast_panel, intermittent_rows
    from forecast.forecasting.series import Panel, frequency_from_code

    rng = np.random.default_rng(5)
    n, months = 12, 48
    rate = np.where(np.arange(n) < 8, 0.25, 8.0)
    y = rng.poisson(rate[:, None], size=(n, months)).astype(float)
    keys = pd.DataFrame({"sku": [f"P{i:02d}" for i in range(n)], "location": "main"})
    dates = pd.date_range("2021-01-01", periods=months, freq="MS")
    panel = Panel(keys, dates, y, y.copy(), np.zeros_like(y, bool), np.full((n, months), 1.0),
                  frequency_from_code("MS"))
    cfg = EngineConfig(models=("seasonal_naive", "croston", "adida"), selection="ensemble", folds=2)
    floored = forecast_panel(panel, 6, dataclasses.replace(cfg, floor_shares=(0.5, 0.5))).forecast
    plain = forecast_panel(panel, 6, dataclasses.replace(cfg, floor_shares=(0.0,))).forecast
    sparse = intermittent_rows(y)
    assert sparse[:8].all() and not sparse[8:].any() and plain.floor is None
    months_730 = round(730 / panel.freq.period_days)
    np.testing.assert_allclose(floored.floor[sparse], 0.5 * y[sparse, -months_730:].mean(axis=1))
    assert (floored.floor[~sparse] == 0).all()
    np.testing.assert_array_equal(floored.mean, plain.mean)


def test_a_recommendation_planned_on_the_floor_says_so() -> None:
    from forecast.planning.policies import recommend_orders, stock_positions

    fc = _forecast([[0.02] * 28, [5.0] * 28], floor=[0.2, 0.2], size=np.inf, level_var=1e-12)
    cfg = PlanConfig(service_kind="cycle", order_quantity_method="fixed", fixed_quantity=10.0)
    pol = _plan(fc, cfg)
    keys = fc.keys
    none = keys.assign(quantity=0.0).iloc[:0]
    positions = stock_positions(keys, keys.assign(on_hand=0.0), none, none)
    recs = recommend_orders(pol, positions, fc, AS_OF, cfg).set_index("sku")
    assert "(0.2/d with the long-run rate floor; point forecast 0.02/d)" in recs.loc["S0", "explanation"]
    assert "rate floor" not in recs.loc["S1", "explanation"]  # 5/d: above its floor


def test_a_per_period_floor_repeats_beyond_the_horizon_as_the_mean_does() -> None:
    # Floor 0.3 on days 1-2 and 0.1 on days 3-4 of a 4-day horizon; the mean beyond it
    # repeats the horizon, and so does the floor: days 5-8 are 0.3, 0.3, 0.1, 0.1 again.
    fc = _forecast([[0.2] * 4], floor=[[0.3, 0.3, 0.1, 0.1]])
    assert fc.expected().tolist() == [[0.3, 0.3, 0.2, 0.2]]
    assert fc._extend(8).tolist() == [[0.3, 0.3, 0.2, 0.2] * 2]
    total, _ = fc.window_moments(np.array([2.0]), np.array([4.0]))  # days 3-6
    assert total[0] == pytest.approx(0.2 + 0.2 + 0.3 + 0.3)
    # stacked with a per-series floor and with none, each row keeps its own floor
    both = DemandForecast.concat([fc, _forecast([[0.0] * 4], floor=[0.5]), _forecast([[0.1] * 4])])
    assert both.expected().tolist() == [[0.3, 0.3, 0.2, 0.2], [0.5] * 4, [0.1] * 4]
    assert both.take(np.array([1])).expected().tolist() == [[0.5] * 4]


def test_a_what_if_shock_scales_a_slow_movers_floor_with_its_forecast() -> None:
    # S0: point 0.02/day under a floor of 0.2; S1: point 1.0, no floor binding. +50% on days
    # 3-4: S0's distribution mean there is 0.3 (= 1.5 x 0.2), its point forecast 0.03, and the
    # days outside the window keep the published 0.2; S1 is 1.5 inside, 1.0 outside.
    from forecast.scenarios.whatif import Scenario, _scenario_forecast

    fc = _forecast([[0.02] * 4, [1.0] * 4], floor=[0.2, 0.1])
    dates = fc.dates
    scenario = Scenario(skus=["S0", "S1"], demand_shock_pct=50.0, shock_start=str(dates[2].date()),
                        shock_end=str(dates[3].date()))
    after, _ = _scenario_forecast(fc, scenario, {})
    np.testing.assert_allclose(after.mean, [[0.02, 0.02, 0.03, 0.03], [1.0, 1.0, 1.5, 1.5]])
    np.testing.assert_allclose(after.expected(), [[0.2, 0.2, 0.3, 0.3], [1.0, 1.0, 1.5, 1.5]])
    # a 50% drop lowers the floor too (it used to keep the published 0.2 under the shock)
    drop = dataclasses.replace(scenario, demand_shock_pct=-50.0)
    np.testing.assert_allclose(_scenario_forecast(fc, drop, {})[0].expected()[0], [0.2, 0.2, 0.1, 0.1])
    # no change: the published forecast, its per-series floor untouched
    same, _ = _scenario_forecast(fc, dataclasses.replace(scenario, demand_shock_pct=0.0), {})
    assert same.floor.tolist() == [0.2, 0.1]
