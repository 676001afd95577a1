"""The backorder Monte Carlo: exact demand draws, determinism, and agreement with theory.

Timing convention of the simulator (see forecast.backorders.simulation): receipts arrive at the start of a
period, demand is served during it, orders are placed at its end and arrive L periods later.
End-of-period averages therefore match the continuous-review formulas with lead time L; the
unit fill rate sees L - 1 + u periods of lead-time demand for a unit demanded at fraction u of
the period, so it is compared with the formula averaged over lead times in [L - 1, L].
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast.backorders.simulation import (
    SimulationConfig,
    draw_demand,
    lead_time_pmf,
    series_keys,
    simulate,
)
from forecast.forecasting.distribution import DemandForecast
from forecast.planning import inventory

AS_OF = date(2026, 1, 1)
NO_PO = pd.DataFrame(columns=["sku", "location", "quantity", "expected_date"])
MIDPOINTS = (np.arange(200) + 0.5) / 200  # for averages over u in [0, 1]


def _poisson_run(
    rates, *, reorder_point, order_quantity=0.0, max_level=np.nan, lead, lead_sd=0.0,
    policy="sQ", review=0.0, paths=4000, horizon=450, warmup=50, seed=0,
) -> pd.DataFrame:
    """Simulate Poisson demand (size inf, no level error) and return the time averages."""
    rates = np.asarray(rates, dtype=float)
    n = rates.size
    keys = pd.DataFrame({"sku": [f"S{i}" for i in range(n)], "location": "L1"})
    fc = DemandForecast(
        keys=keys, dates=pd.date_range("2026-01-02", periods=horizon),
        mean=np.repeat(rates[:, None], horizon, axis=1), size=np.full(n, np.inf),
        level_var=np.full(n, 1e-12), model=np.full(n, "theory", dtype=object),
    )
    s = np.broadcast_to(np.asarray(reorder_point, dtype=float), (n,))
    q = np.broadcast_to(np.asarray(order_quantity, dtype=float), (n,))
    big_s = np.where(np.isnan(max_level), s + q, max_level)
    policies = keys.assign(
        policy=policy, reorder_point=s, order_quantity=q, max_level=big_s,
        review_period_days=review, lead_time_days=lead, lead_time_sd_days=lead_sd,
    )
    positions = keys.assign(on_hand=big_s, committed=0.0)
    cfg = SimulationConfig(horizon_days=horizon, n_paths=paths, seed=seed, warmup_days=warmup,
                           workers=1)
    return simulate(fc, policies, positions, NO_PO, AS_OF, cfg).averages


# -- demand draws -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mean", "size"),
    [(0.3, np.inf), (3.0, np.inf), (4.0, 0.5), (15.0, 2.0), (18.0, 0.1), (35.0, np.inf),
     (60.0, 3.0)],
)
def test_draws_follow_the_negative_binomial(mean: float, size: float) -> None:
    # Means above 20 use numpy's gamma-Poisson sampler, the rest the inverse-transform search.
    draws = draw_demand(np.full((1, 40), mean), np.array([size]), np.array([0.0]),
                        np.array([7], dtype=np.uint64), 5000).ravel()
    values = np.arange(int(draws.max()) + 1)
    if np.isinf(size):
        pmf = stats.poisson.pmf(values, mean)
    else:
        pmf = stats.nbinom.pmf(values, size, size / (size + mean))
    empirical = np.bincount(draws.astype(int), minlength=values.size) / draws.size
    tolerance = 5 * np.sqrt(pmf * (1 - pmf) / draws.size) + 1e-4
    assert np.all(np.abs(empirical - pmf) <= tolerance)
    assert draws.mean() == pytest.approx(mean, rel=0.02)


def test_level_error_is_shared_by_the_periods_of_a_path() -> None:
    # Poisson given the level G: Var(path total) = E[h m G] + Var(h m G) = h m + v (h m)^2.
    mean, v, h = 2.0, 0.2, 30
    draws = draw_demand(np.full((1, h), mean), np.array([np.inf]), np.array([v]),
                        np.array([11], dtype=np.uint64), 20_000)[0]
    totals = draws.sum(axis=0)
    assert totals.mean() == pytest.approx(h * mean, rel=0.01)
    assert totals.var() == pytest.approx(h * mean + v * (h * mean) ** 2, rel=0.05)


def test_lead_time_pmf_rounds_a_gamma_and_keeps_at_least_one_period() -> None:
    pmf = lead_time_pmf(np.array([7.0, 0.2, 5.0]), np.array([2.0, 0.0, 0.0]), 40)
    assert pmf.sum(axis=1) == pytest.approx(np.ones(3))
    assert pmf[:, 0].tolist() == [0.0, 0.0, 0.0]
    assert pmf[1, 1] == 1.0 and pmf[2, 5] == 1.0
    shape, scale = (7 / 2) ** 2, 4 / 7
    assert pmf[0, 7] == pytest.approx(
        stats.gamma.cdf(7.5, shape, scale=scale) - stats.gamma.cdf(6.5, shape, scale=scale)
    )


# -- determinism --------------------------------------------------------------------------------
def _small_problem(n: int = 7, horizon: int = 30):
    rng = np.random.default_rng(3)
    keys = pd.DataFrame({"sku": [f"SKU{i}" for i in range(n)], "location": "DC"})
    mean = rng.uniform(0.2, 30.0, (n, 1)) * (1 + 0.3 * np.sin(np.arange(horizon) / 2))[None, :]
    fc = DemandForecast(
        keys=keys, dates=pd.date_range("2026-01-02", periods=horizon), mean=mean,
        size=np.where(np.arange(n) % 2 == 0, np.inf, rng.uniform(0.5, 4, n)),
        level_var=rng.uniform(0.0, 0.1, n), model=np.full(n, "m", dtype=object),
    )
    lead = rng.integers(2, 9, n).astype(float)
    s = np.round(mean.mean(axis=1) * (lead + 2))
    q = np.round(mean.mean(axis=1) * 7) + 1
    policies = keys.assign(
        policy=np.where(np.arange(n) % 3 == 0, "RS", "sQ"), reorder_point=s, order_quantity=q,
        max_level=s + q, review_period_days=np.where(np.arange(n) % 3 == 0, 5.0, 0.0),
        lead_time_days=lead, lead_time_sd_days=0.3 * lead,
    )
    positions = keys.assign(on_hand=np.round(s), committed=1.0)
    purchase_orders = pd.DataFrame(
        {"sku": ["SKU1", "SKU4"], "location": "DC", "quantity": [50.0, 20.0],
         "expected_date": [date(2026, 1, 4), date(2026, 3, 1)]}
    )
    return fc, policies, positions, purchase_orders


def _run(problem, **cfg) -> tuple[pd.DataFrame, pd.DataFrame]:
    fc, policies, positions, purchase_orders = problem
    result = simulate(fc, policies, positions, purchase_orders, AS_OF,
                      SimulationConfig(horizon_days=30, n_paths=200, seed=5, **cfg))
    return result.risk, result.bands


def test_same_seed_same_results_whatever_the_chunks_and_workers() -> None:
    problem = _small_problem()
    risk, bands = _run(problem, chunk_size=128, workers=1)
    for options in ({"chunk_size": 2, "workers": 1}, {"chunk_size": 3, "workers": 2}):
        other_risk, other_bands = _run(problem, **options)
        pd.testing.assert_frame_equal(risk, other_risk)
        pd.testing.assert_frame_equal(bands, other_bands)
    assert risk["stockout_probability"].between(0, 1).all()
    assert (risk["fill_rate"] <= 1).all() and (risk["expected_backorders"] >= 0).all()
    changed = _run(problem, chunk_size=128, workers=1)
    pd.testing.assert_frame_equal(risk, changed[0])


def test_a_series_gets_the_same_random_numbers_alone_or_with_others() -> None:
    fc, policies, positions, purchase_orders = _small_problem()
    both, _ = _run((fc, policies, positions, purchase_orders), workers=1)
    alone_fc = DemandForecast(keys=fc.keys.iloc[[4]], dates=fc.dates, mean=fc.mean[[4]],
                              size=fc.size[[4]], level_var=fc.level_var[[4]], model=fc.model[[4]])
    alone, _ = _run((alone_fc, policies, positions, purchase_orders), workers=1)
    pd.testing.assert_frame_equal(both.iloc[[4]].reset_index(drop=True), alone)
    assert series_keys(fc.keys, 0)[0] != series_keys(fc.keys, 1)[0]


def test_unknown_stock_gives_no_figures_and_rows_align_with_the_forecast() -> None:
    fc, policies, positions, purchase_orders = _small_problem()
    positions = positions.assign(on_hand=lambda p: p["on_hand"].where(p["sku"] != "SKU2"))
    risk, bands = _run((fc, policies, positions, purchase_orders), workers=1)
    assert risk["sku"].tolist() == fc.keys["sku"].tolist()
    assert np.isnan(risk.loc[2, "fill_rate"]) and not risk.drop(index=2)["fill_rate"].isna().any()
    assert "SKU2" not in set(bands["sku"]) and len(bands) == 6 * 30
    assert (bands["stock_p10"] <= bands["stock_p50"]).all()
    assert (bands["stock_p50"] <= bands["stock_p90"]).all()


def test_no_demand_keeps_the_stock_and_receives_the_purchase_orders() -> None:
    fc, policies, positions, purchase_orders = _small_problem(n=2)
    fc = DemandForecast(keys=fc.keys, dates=fc.dates, mean=np.zeros_like(fc.mean),
                        size=fc.size, level_var=np.zeros(2), model=fc.model)
    risk, bands = _run((fc, policies, positions, purchase_orders), workers=1)
    assert risk["stockout_probability"].tolist() == [0.0, 0.0]
    assert risk["fill_rate"].tolist() == [1.0, 1.0]
    sku1 = bands[bands["sku"] == "SKU1"].set_index("date")["stock_p50"]
    start = positions.loc[1, "on_hand"] - 1
    # Due on 4 January: the end-of-day stock of the 3rd does not have it, the 4th does.
    assert sku1.loc[date(2026, 1, 3)] == start and sku1.loc[date(2026, 1, 4)] == start + 50


# -- theory -------------------------------------------------------------------------------------
def test_rq_policy_matches_the_exact_poisson_formulas() -> None:
    rates = [1.0, 2.0, 0.5]
    lead = np.array([7.0, 3.0, 10.0])
    r, q = np.array([6, 5, 3]), np.array([5, 8, 3])
    sim = _poisson_run(rates, reorder_point=r, order_quantity=q, lead=lead)
    theory = inventory.rq_poisson_performance(r, q, rates, lead)
    assert sim["average_backorders"].to_numpy() == pytest.approx(theory.expected_backorders,
                                                                 abs=0.01)
    assert sim["average_on_hand"].to_numpy() == pytest.approx(theory.expected_on_hand, abs=0.01)
    # Unit fill rate: lead-time demand of L - 1 + u periods for a unit demanded at time u.
    fill = np.mean(
        [inventory.rq_poisson_performance(r, q, rates, lead - 1 + u).fill_rate for u in MIDPOINTS],
        axis=0,
    )
    assert sim["fill_rate"].to_numpy() == pytest.approx(fill, abs=0.01)
    # The order frequency of (r,Q): one order per Q units of demand.
    assert sim["orders_per_period"].to_numpy() == pytest.approx(np.array(rates) / q, rel=0.03)


def test_base_stock_matches_poisson_lead_time_demand() -> None:
    rates, lead, level = [1.0, 2.0], np.array([7.0, 4.0]), np.array([10, 9])
    sim = _poisson_run(rates, reorder_point=level - 1, order_quantity=1.0, lead=lead)
    theory = inventory.base_stock_poisson_performance(level, rates, lead)
    assert sim["average_backorders"].to_numpy() == pytest.approx(theory.expected_backorders,
                                                                 abs=0.01)
    assert sim["average_on_hand"].to_numpy() == pytest.approx(theory.expected_on_hand, abs=0.01)
    fill = np.mean([inventory.base_stock_poisson_performance(level, rates, lead - 1 + u).fill_rate
                    for u in MIDPOINTS], axis=0)
    assert sim["fill_rate"].to_numpy() == pytest.approx(fill, abs=0.01)


def _outstanding_pmf(rate: float, lead_pmf: np.ndarray, shift: int, top: int = 300) -> np.ndarray:
    """pmf of sum_k D_k 1{L_k > k + shift}, D_k ~ Poisson(rate): one lead time per period's
    order (all units demanded in a period travel together)."""
    survival = 1 - np.cumsum(lead_pmf)
    poisson = stats.poisson.pmf(np.arange(top), rate)
    out = np.zeros(top)
    out[0] = 1.0
    for k in range(lead_pmf.size - shift):
        p = survival[k + shift]
        if p > 1e-15:
            out = np.convolve(out, (1 - p) * np.eye(1, top)[0] + p * poisson)[:top]
    return out


def test_base_stock_with_random_lead_times() -> None:
    # Palm's theorem (base_stock_poisson_performance with the mean lead time) needs each unit to
    # have its own lead time; here a period's demand is one order with one lead time, so the
    # exact pipeline distribution is a convolution of Bernoulli-thinned Poisson batches.
    rates, lead, sd, level = [1.0, 2.0], np.array([7.0, 4.0]), np.array([2.5, 1.5]), [10, 9]
    sim = _poisson_run(rates, reorder_point=np.array(level) - 1, order_quantity=1.0, lead=lead,
                       lead_sd=sd)
    for i in range(2):
        lead_pmf = lead_time_pmf(lead[i : i + 1], sd[i : i + 1], 60)[0]
        pipeline = _outstanding_pmf(rates[i], lead_pmf, 0)
        units = np.arange(pipeline.size)
        backorders = (np.maximum(units - level[i], 0) * pipeline).sum()
        on_hand = (np.maximum(level[i] - units, 0) * pipeline).sum()
        start = _outstanding_pmf(rates[i], lead_pmf, 1)
        fill = np.mean([np.convolve(start, stats.poisson.pmf(units, rates[i] * u))[: level[i]].sum()
                        for u in MIDPOINTS[::4]])
        assert sim.loc[i, "average_backorders"] == pytest.approx(backorders, abs=0.01)
        assert sim.loc[i, "average_on_hand"] == pytest.approx(on_hand, abs=0.01)
        assert sim.loc[i, "fill_rate"] == pytest.approx(fill, abs=0.01)
        # ... and it is not Palm's answer: batching widens the pipeline.
        palm = inventory.base_stock_poisson_performance(level[i], rates[i], lead[i])
        assert backorders > palm.expected_backorders + 0.05


@pytest.mark.parametrize(("review", "lead"), [(1, 4), (7, 3)])
def test_periodic_review_base_stock_matches_the_normal_formulas(review: int, lead: int) -> None:
    # Poisson(100) a day is close to N(100, 10^2). In the textbook periodic-review convention
    # (order at the start of a period, S&S Ch. 4) our lead time L is L - 1: the order-up-to
    # level covers L + R - 1 periods and the end-of-period net stock R - 1 + L ... L periods.
    mu, sigma = 100.0, 10.0
    solution = inventory.base_stock_normal(1.0, 9.0, mu, sigma, lead_time=lead - 1,
                                           review_period=review)
    level = float(solution.level)
    sim = _poisson_run([mu], reorder_point=0.0, max_level=level, lead=float(lead), policy="RS",
                       review=float(review), paths=3000, horizon=60 + 60 * review, warmup=60)
    row = sim.iloc[0]
    periods = lead + np.arange(review)  # lead-time demand periods at the ends of a cycle
    backorders = np.mean([inventory.normal_loss(level, mu * k, sigma * np.sqrt(k))
                          for k in periods])
    on_hand = np.mean(level - mu * periods) + backorders
    short_per_cycle = inventory.normal_loss(
        level, mu * (lead + review - 1), sigma * np.sqrt(lead + review - 1)
    ) - inventory.normal_loss(level, mu * (lead - 1), sigma * np.sqrt(lead - 1))
    no_backorders = np.mean(stats.norm.cdf((level - mu * periods) / (sigma * np.sqrt(periods))))
    # Normal approximation of Poisson(400..900): a few hundredths of a unit in the loss; the
    # exact Poisson loss is matched more closely.
    assert row["average_backorders"] == pytest.approx(backorders, abs=0.08)
    exact = np.mean([inventory.poisson_loss(level, mu * k) for k in periods])
    assert row["average_backorders"] == pytest.approx(exact, abs=0.03)
    assert row["average_on_hand"] == pytest.approx(on_hand, abs=0.1)
    assert row["fill_rate"] == pytest.approx(1 - short_per_cycle / (review * mu), abs=0.002)
    assert row["no_backorder_share"] == pytest.approx(no_backorders, abs=0.01)
    if review == 1:  # the critical ratio p / (p + h) of the base-stock newsvendor
        assert row["no_backorder_share"] == pytest.approx(0.9, abs=0.01)
        cost = 1.0 * row["average_on_hand"] + 9.0 * row["average_backorders"]
        assert cost == pytest.approx(float(solution.cost), rel=0.05)


# -- risk measures beside the stockout probability ----------------------------------------------
def test_stockout_before_the_next_receipt_and_the_gap_to_the_planned_fill_rate() -> None:
    # Poisson 3/day. S0: 10 on hand, nothing on order, a fixed 10-day lead time: the next
    # receipt is an order placed today (start of day 10), so it runs out before it unless
    # D(1..9) <= 10 (Poisson 27: that chance is 0.0001), and is short E[(D - 10)+] ~ 17 units by then.
    # S1: the same with a purchase order of 100 arriving on day 3: out before it only when
    # D(1..2) > 10 (Poisson 6: P = 0.043). S2: 1000 on hand, never short.
    keys = pd.DataFrame({"sku": ["S0", "S1", "S2"], "location": "L1"})
    h = 60
    fc = DemandForecast(keys=keys, dates=pd.date_range("2026-01-02", periods=h),
                        mean=np.full((3, h), 3.0), size=np.full(3, np.inf),
                        level_var=np.full(3, 1e-12), model=np.full(3, "theory", dtype=object))
    policies = keys.assign(policy="sQ", reorder_point=np.nan, order_quantity=0.0,
                           max_level=np.nan, review_period_days=0.0, lead_time_days=10.0,
                           lead_time_sd_days=0.0, planned_fill_rate=[0.95, 0.95, 0.9])
    positions = keys.assign(on_hand=[10.0, 10.0, 1000.0], committed=0.0)
    po = pd.DataFrame({"sku": ["S1"], "location": "L1", "quantity": [100.0],
                       "expected_date": [pd.Timestamp("2026-01-04")]})
    cfg = SimulationConfig(horizon_days=h, n_paths=4000, seed=3, workers=1)
    risk = simulate(fc, policies, positions, po, AS_OF, cfg).risk.set_index("sku")
    assert risk.loc["S0", "next_receipt_date"] == date(2026, 1, 11)
    assert risk.loc["S1", "next_receipt_date"] == date(2026, 1, 4)
    assert risk.loc["S0", "stockout_before_receipt_probability"] == pytest.approx(
        stats.poisson.sf(10, 27), abs=0.005)
    assert risk.loc["S1", "stockout_before_receipt_probability"] == pytest.approx(
        stats.poisson.sf(10, 6), abs=0.012)
    k = np.arange(200)
    expected_short = float((np.maximum(k - 10, 0) * stats.poisson.pmf(k, 27)).sum())
    assert risk.loc["S0", "units_short_before_receipt"] == pytest.approx(expected_short, rel=0.03)
    assert risk.loc["S2", "stockout_before_receipt_probability"] == 0.0
    assert risk.loc["S2", "units_short_before_receipt"] == 0.0
    # S0 never reorders: its fill rate is far under the planned 95%, and it runs out first.
    assert risk.loc["S0", "fill_rate_gap"] == pytest.approx(
        risk.loc["S0", "fill_rate"] - 0.95)
    assert risk.loc["S0", "at_risk"]
    assert risk.loc["S0", "at_risk_reason"] == "fill rate under plan; out before next receipt"
    assert not risk.loc["S2", "at_risk"] and risk.loc["S2", "at_risk_reason"] == ""
