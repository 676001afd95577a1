"""Historical replay: only the past is forecast from, the play by hand, the ERP rule's tuning."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import Panel
from forecast.planning.policies import PlanConfig
from forecast.scenarios.replay import ReplayConfig, _Game, _start_fractions, replay

RATES = np.array([0.5, 2.0, 5.0, 12.0, 1.0])
DAYS = pd.date_range("2025-01-01", "2025-12-31")
WEEKLY = ReplayConfig(plan=PlanConfig(order_quantity_method="days_of_cover", days_of_cover=7))


def _season(index: np.ndarray) -> np.ndarray:
    return 1 + 0.3 * np.sin(2 * np.pi * index / 7)


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for i, rate in enumerate(RATES):
        frames.append(pd.DataFrame({
            "date": DAYS, "sku": f"S{i}", "location": "L1",
            "quantity": rng.poisson(rate * _season(np.arange(len(DAYS)))), "price": 2.0 + i,
        }))
    return pd.concat(frames, ignore_index=True)


PRODUCTS = pd.DataFrame({"sku": [f"S{i}" for i in range(len(RATES))], "category": "x"})


def oracle(panel: Panel, horizon: int) -> DemandForecast:
    """The true demand model of the synthetic data (Poisson around a weekly profile)."""
    n, t = panel.n_series, len(panel.dates)
    mean = RATES[:, None] * _season(np.arange(t, t + horizon))[None, :]
    return DemandForecast(panel.keys, panel.future_dates(horizon), mean, np.full(n, np.inf),
                          np.full(n, 1e-9), np.full(n, "oracle", dtype=object))


def test_the_play_by_hand() -> None:
    # Demand 2 a day, (s, Q) = (4, 6), lead time 3 days, starting at s + Q = 10: the end-of-day
    # stock runs 8 6 4 2 0, then 4 2 0 over and over; an order whenever it reaches 4.
    days = 20
    game = _Game(demand=np.full((1, days), 2.0), measured=np.ones((1, days), bool),
                 day_plan=np.zeros(days, int), lead=np.array([3]), unit_cost=np.array([[1.5]]),
                 target=np.array([[0.95]]), unmet="backorder")
    out = game.play(np.array([[4.0]]), np.array([[6.0]]), np.array([[10.0]]),
                    np.array([[0]]), np.array([[0.0]]))
    assert out["served"][0] == out["demand"][0] == 40
    assert out["orders"][0] == 6
    assert out["stockout_days"][0] == 6 and out["short_days"][0] == 0
    assert out["on_hand"][0] / days == 2.5 and out["on_hand_value"][0] / days == 3.75
    # A reorder point of 1: units run short before each arrival, later served (backorders) or
    # lost; either way fewer units are served from stock than demanded.
    for unmet in ("backorder", "lost"):
        game.unmet = unmet
        short = game.play(np.array([[1.0]]), np.array([[6.0]]), np.array([[7.0]]),
                          np.array([[0]]), np.array([[0.0]]))
        assert short["served"][0] < 40 and short["short_days"][0] > 0
    assert short["target_units"][0] == pytest.approx(0.95 * 40)


def test_steady_start_is_mid_cycle_with_the_last_order_in_transit() -> None:
    # (s, Q) = (4, 6), 2 a day, lead time 3. u = 0.5: position s + u Q = 7; the cycle of 3 days
    # began 1.5 days ago with an order of 6, due on day ceil(3 - 1.5) = 2; on hand 7 - 6 = 1.
    # u = 0.9: ordered 0.3 days ago, due on day 3. u = 0.2: ordered 2.4 days ago, arriving
    # on day 1.
    days = 10
    game = _Game(demand=np.full((3, days), 2.0), measured=np.ones((3, days), bool),
                 day_plan=np.zeros(days, int), lead=np.array([3, 3, 3]),
                 unit_cost=np.ones((1, 3)), target=np.full((1, 3), 0.95), unmet="backorder",
                 start_fraction=np.array([0.5, 0.9, 0.2]), start_rate=np.full(3, 2.0))
    arrivals = np.zeros((3, days + 4))
    net, position = game._start(np.full(3, 4.0), np.full(3, 6.0), np.full(3, 10.0),
                                np.zeros(3, int), arrivals)
    assert position.tolist() == pytest.approx([7.0, 9.4, 5.2])
    assert net.tolist() == pytest.approx([1.0, 3.4, -0.8])
    assert arrivals[0, 2] == arrivals[1, 3] == arrivals[2, 1] == 6.0 and arrivals.sum() == 18.0
    # Without a fraction: at the maximum, nothing on order (start="full").
    game.start_fraction = None
    net, position = game._start(np.full(3, 4.0), np.full(3, 6.0), np.full(3, 10.0),
                                np.zeros(3, int), np.zeros((3, days + 4)))
    assert net.tolist() == position.tolist() == [10.0, 10.0, 10.0]


def test_start_fractions_depend_on_the_series_only() -> None:
    keys = pd.DataFrame({"sku": ["A", "B", "C", "D"], "location": ["x", "x", "y", "y"]})
    u = _start_fractions(keys)
    assert ((u > 0) & (u <= 1)).all() and len(set(u)) == 4
    np.testing.assert_array_equal(_start_fractions(keys.iloc[::-1]), u[::-1])


def test_full_start_and_bad_start(sales: pd.DataFrame) -> None:
    full = replay(sales, PRODUCTS, "2025-10-01", "2025-10-31", 7,
                  config=ReplayConfig(plan=WEEKLY.plan, start="full"), forecaster=oracle)
    steady = replay(sales, PRODUCTS, "2025-10-01", "2025-10-31", 7, config=WEEKLY,
                    forecaster=oracle)
    assert not full.summary.equals(steady.summary)
    with pytest.raises(ValueError, match="start must be"):
        replay(sales, PRODUCTS, "2025-10-01", "2025-10-31", 7,
               config=ReplayConfig(start="empty"), forecaster=oracle)


def test_forecasts_see_only_the_sales_before_each_planning_date(sales: pd.DataFrame) -> None:
    seen: list[pd.Timestamp] = []

    def recording(panel: Panel, horizon: int) -> DemandForecast:
        seen.append(panel.dates[-1])
        return oracle(panel, horizon)

    result = replay(sales, PRODUCTS, "2025-10-01", "2025-10-31", 7, config=WEEKLY,
                    forecaster=recording)
    plan_dates = sorted(result.plans["plan_date"].unique())
    assert plan_dates == [date(2025, 10, d) for d in (1, 8, 15, 22, 29)]
    assert [d.date() for d in seen] == [date(2025, 9, 30), date(2025, 10, 7), date(2025, 10, 14),
                                        date(2025, 10, 21), date(2025, 10, 28)]
    # Sales after the period change nothing; sales inside it change the measures only.
    later = sales.assign(quantity=np.where(sales["date"] > "2025-10-31", 999, sales["quantity"]))
    again = replay(later, PRODUCTS, "2025-10-01", "2025-10-31", 7, config=WEEKLY,
                   forecaster=oracle)
    pd.testing.assert_frame_equal(result.summary, again.summary)


def test_policy_reaches_its_target_and_the_erp_rule_is_tuned(sales: pd.DataFrame) -> None:
    result = replay(sales, PRODUCTS, "2025-07-01", "2025-12-31", 7, config=WEEKLY,
                    forecaster=oracle)
    summary = result.summary.set_index("rule")
    assert list(summary.index) == ["policy", "erp_same_stock", "erp_same_fill"]
    policy = summary.loc["policy"]
    # An exact forecast: the fill-rate formula's target is met within two points.
    assert policy["fill_rate"] == pytest.approx(policy["target_fill_rate"], abs=0.02)
    same_stock, same_fill = summary.loc["erp_same_stock"], summary.loc["erp_same_fill"]
    # Knowing each SKU's spread, the policy needs less stock than one cover for all (issue 5).
    assert policy["average_on_hand"] < 0.9 * same_fill["average_on_hand"]
    assert same_stock["average_on_hand"] == pytest.approx(policy["average_on_hand"], rel=0.01)
    assert same_fill["fill_rate"] == pytest.approx(policy["fill_rate"], abs=0.002)
    assert result.cover_days["erp_same_fill"] == same_fill["cover_days"]
    per_sku = result.per_sku[result.per_sku["rule"] == "policy"]
    assert len(per_sku) == len(RATES) and per_sku["fill_rate"].between(0, 1).all()
    assert (per_sku["days"] == 184).all()
    assert {"reorder_point", "order_quantity", "average_daily_demand"} <= set(result.plans)


def test_warmup_and_censored_days_are_not_measured(sales: pd.DataFrame) -> None:
    censored = sales.assign(on_hand=np.where(
        (sales["sku"] == "S1") & sales["date"].between("2025-10-10", "2025-10-14"), 0.0, 50.0))
    cfg = ReplayConfig(plan=WEEKLY.plan, warmup_days=5)
    result = replay(censored, PRODUCTS, "2025-10-01", "2025-10-31", 7, config=cfg,
                    forecaster=oracle)
    days = result.per_sku[result.per_sku["rule"] == "policy"].set_index("sku")["days"]
    assert days["S0"] == 31 - 5 and days["S1"] == 31 - 5 - 5


def test_with_the_forecast_engine(sales: pd.DataFrame) -> None:
    small = sales[sales["sku"].isin(["S1", "S3"])]
    result = replay(small, PRODUCTS, "2025-12-01", "2025-12-14", 7, config=WEEKLY)
    assert result.plans["plan_date"].nunique() == 2
    assert (result.plans["reorder_point"] >= 0).all()
    assert result.summary["fill_rate"].between(0, 1).all()


def test_bad_periods_and_frequencies(sales: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="must start after the first sales date"):
        replay(sales, PRODUCTS, "2024-01-01", "2025-02-01", forecaster=oracle)
    weekly = sales[sales["date"].dt.day_of_week == 0]
    with pytest.raises(ValueError, match="daily sales"):
        replay(weekly, PRODUCTS, "2025-06-02", "2025-07-01", forecaster=oracle)
