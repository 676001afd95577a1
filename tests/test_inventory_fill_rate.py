"""Known answers for the negative binomial loss and the fill-rate levels built on it
(forecast.planning.inventory: negative_binomial_loss/sf, rq_fill_rate_reorder_point,
rs_fill_rate_order_up_to, rq_pooled_fill_rate_reorder_points)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from forecast.planning import inventory as inv


def _pmf(mean: float, variance: float, top: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(top)
    if variance > mean:
        size = mean**2 / (variance - mean)
        return k, stats.nbinom.pmf(k, size, size / (size + mean))
    return k, stats.poisson.pmf(k, mean)


# --------------------------------------------------------------------------------------------
# negative binomial loss
# --------------------------------------------------------------------------------------------


def test_geometric_closed_form() -> None:
    # size 1 = geometric P(X = j) = p (1 - p)^j; mean (1 - p) / p, variance (1 - p) / p^2.
    # P(X > x) = (1 - p)^(x + 1) and E[(X - x)+] = (1 - p)^(x + 1) / p for integer x >= 0.
    for p in (0.5, 0.2):
        mean, variance = (1 - p) / p, (1 - p) / p**2
        for x in (0, 2, 7):
            assert inv.negative_binomial_sf(x, mean, variance) == pytest.approx((1 - p) ** (x + 1))
            assert inv.negative_binomial_loss(x, mean, variance) == pytest.approx(
                (1 - p) ** (x + 1) / p, rel=1e-12
            )
    assert inv.negative_binomial_loss(2, 1.0, 2.0) == pytest.approx(0.25)  # the docstring's


@pytest.mark.parametrize(("mean", "variance"), [(0.3, 2.0), (4.0, 9.0), (50.0, 400.0), (2.5, 7.5)])
def test_loss_and_sf_match_direct_sums(mean: float, variance: float) -> None:
    k, pmf = _pmf(mean, variance)
    xs = np.array([-2.0, 0.0, 0.5, 1.0, 3.7, mean, mean + 2 * math.sqrt(variance)])
    loss = [(np.maximum(k - x, 0) * pmf).sum() for x in xs]
    sf = [pmf[k > x].sum() for x in xs]
    np.testing.assert_allclose(inv.negative_binomial_loss(xs, mean, variance), loss, atol=1e-12)
    np.testing.assert_allclose(inv.negative_binomial_sf(xs, mean, variance), sf, atol=1e-12)


def test_poisson_and_point_mass_limits() -> None:
    # variance = mean: the Poisson loss (S&S Appendix C value n(5) = 2.2926 for lambda 7).
    assert inv.negative_binomial_loss(5, 7.0, 7.0) == pytest.approx(2.292600125697305, abs=1e-9)
    np.testing.assert_allclose(
        inv.negative_binomial_loss([0, 3, 9], 7.0, 7.0),
        inv.poisson_loss([0, 3, 9], 7.0),
        atol=1e-12,
    )
    # a huge size is Poisson too; no variance is a point mass at the mean
    assert inv.negative_binomial_loss(5, 7.0, 7.0 + 1e-9) == pytest.approx(2.2926, abs=1e-4)
    assert inv.negative_binomial_loss([3.0, 12.0], 10.0, 0.0).tolist() == [7.0, 0.0]
    assert inv.negative_binomial_sf([3.0, 12.0], 10.0, 0.0).tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------------------------
# (r, Q) and (R, S) fill-rate levels
# --------------------------------------------------------------------------------------------


def test_rq_reorder_point_is_the_poisson_rq_answer() -> None:
    # S&S Ch. 5 Poisson (r, Q): r = 9, Q = 1, lambda L = 7 has fill rate 0.8305 (exact); asking
    # for that fill rate gives r = 9 back, and an integer r, Q pair with Q = 5 the same way.
    for r, q in ((9, 1), (4, 5), (11, 3)):
        fill = inv.rq_poisson_performance(r, q, 1.0, 7).fill_rate
        assert inv.rq_fill_rate_reorder_point(fill, q, 7.0, 7.0) == pytest.approx(r, abs=1e-6)


def test_rq_reorder_point_no_spread_and_negative_safety_stock() -> None:
    # Deterministic demand 10 over the lead time, Q = 100, 95% fill: 5 units short per cycle.
    assert inv.rq_fill_rate_reorder_point(0.95, 100, 10.0, 0.0) == pytest.approx(5.0)
    # A large Q against the spread: the fill rate asks for a reorder point below the mean.
    r = inv.rq_fill_rate_reorder_point(0.98, 1000.0, 50.0, 80.0)
    assert r < 50.0
    loss = inv.negative_binomial_loss
    assert 1 - (loss(r, 50.0, 80.0) - loss(r + 1000, 50.0, 80.0)) / 1000 == pytest.approx(0.98)


def test_rq_reorder_point_round_trip_on_10000_skus() -> None:
    rng = np.random.default_rng(5)
    n = 10_000
    mean = rng.lognormal(1.5, 1.5, n)
    variance = mean * (1 + rng.uniform(0, 5, n)) + (0.1 * mean) ** 2
    variance[::7] = mean[::7]  # some Poisson
    beta = rng.uniform(0.8, 0.995, n)
    q = mean * rng.uniform(0.1, 20, n)
    r = inv.rq_fill_rate_reorder_point(beta, q, mean, variance)  # its speed: bench/planning.py
    loss = inv.negative_binomial_loss
    fill = 1 - (loss(r, mean, variance) - loss(r + q, mean, variance)) / q
    np.testing.assert_allclose(fill, beta, atol=1e-8)
    # more service costs more stock
    higher = inv.rq_fill_rate_reorder_point(np.minimum(beta + 0.004, 0.999), q, mean, variance)
    assert np.all(higher >= r - 1e-9)


def test_rs_order_up_to() -> None:
    # No spread: protection demand 12, lead-time demand 5, review demand 7; 95% fill tolerates
    # 0.35 short per review: S = 12 - 0.35.
    assert inv.rs_fill_rate_order_up_to(0.95, 12.0, 0.0, 5.0, 0.0) == pytest.approx(11.65)
    # Poisson: the shortage per review at the answer is (1 - beta) x the review demand.
    big_s = inv.rs_fill_rate_order_up_to(0.97, 40.0, 40.0, 28.0, 28.0)
    loss = inv.negative_binomial_loss
    assert loss(big_s, 40.0, 40.0) - loss(big_s, 28.0, 28.0) == pytest.approx(0.03 * 12.0)
    with pytest.raises(ValueError, match="exceed"):
        inv.rs_fill_rate_order_up_to(0.95, 5.0, 5.0, 5.0, 5.0)


# --------------------------------------------------------------------------------------------
# pooled fill rate: least stock for a pool's demand-weighted fill rate
# --------------------------------------------------------------------------------------------


def test_pool_of_one_is_the_item_alone() -> None:
    res = inv.rq_pooled_fill_rate_reorder_points(
        [0.95, 0.9], [50.0, 20.0], [10.0, 3.0], [50.0, 15.0], [50.0, 60.0], ["a", "b"]
    )
    alone = inv.rq_fill_rate_reorder_point([0.95, 0.9], [50.0, 20.0], [50.0, 15.0], [50.0, 60.0])
    np.testing.assert_allclose(res.reorder_point, alone, atol=1e-6)
    np.testing.assert_allclose(res.fill_rate, [0.95, 0.9], atol=1e-9)


def test_two_items_match_brute_force() -> None:
    # A steady and an erratic item, same demand and Q, pooled to 95%: the optimum serves the
    # steady one better, and the pool holds less than 95% each (brute force over r1).
    beta, q, rate, mean, var = 0.95, 70.0, 10.0, 70.0, np.array([70.0, 2000.0])
    res = inv.rq_pooled_fill_rate_reorder_points(beta, q, rate, mean, var, ["A", "A"])
    short = rate * (1 - res.fill_rate)
    assert short.sum() == pytest.approx(2 * rate * (1 - beta), rel=1e-9)  # the pool's target
    loss = inv.negative_binomial_loss
    best = np.inf
    for r1 in np.linspace(60, 130, 1401):
        f1 = 1 - (loss(r1, mean, var[0]) - loss(r1 + q, mean, var[0])) / q
        rest = 1 - (2 * (1 - beta) - (1 - f1))
        if 0.5 < rest < 1:
            best = min(best, r1 + inv.rq_fill_rate_reorder_point(rest, q, mean, var[1]))
    alone = inv.rq_fill_rate_reorder_point(beta, q, mean, var).sum()
    assert res.reorder_point.sum() == pytest.approx(best, rel=2e-3)
    assert res.reorder_point.sum() < alone - 10
    assert res.fill_rate[0] > beta > res.fill_rate[1]
    # equal marginal fill per unit of stock (Lagrange): P(r < D <= r + Q), the shortage cut by
    # one more unit, is the same for both; the steady item's is a step function of r (Poisson),
    # so the erratic item's lies between its values just below and just above r.
    sf = inv.negative_binomial_sf
    r = res.reorder_point
    erratic = sf(r[1], mean, var[1]) - sf(r[1] + q, mean, var[1])
    below = sf(r[0] - 1, mean, var[0]) - sf(r[0] - 1 + q, mean, var[0])
    above = sf(r[0] + 1, mean, var[0]) - sf(r[0] + 1 + q, mean, var[0])
    assert above - 0.03 <= erratic <= below + 0.03  # to the grid's precision


def test_pools_meet_their_targets_and_respect_floors() -> None:
    rng = np.random.default_rng(11)
    n = 600
    mean = rng.lognormal(2, 1.2, n)
    var = mean * (1 + rng.uniform(0, 6, n))
    rate = mean / 7
    q = rate * rng.choice([7.0, 30.0, 120.0], n)
    pool = rng.choice(["A", "B", "C"], n)
    beta = np.select([pool == "A", pool == "B"], [0.98, 0.95], 0.9)
    res = inv.rq_pooled_fill_rate_reorder_points(beta, q, rate, mean, var, pool)
    for name, target in (("A", 0.98), ("B", 0.95), ("C", 0.9)):
        rows = pool == name
        achieved = (rate[rows] * res.fill_rate[rows]).sum() / rate[rows].sum()
        assert achieved == pytest.approx(target, abs=1e-6)
    assert (res.reorder_point >= 0).all() and (res.fill_rate >= 0.5 - 1e-9).all()
    loss = inv.negative_binomial_loss
    fill = 1 - (loss(res.reorder_point, mean, var) - loss(res.reorder_point + q, mean, var)) / q
    np.testing.assert_allclose(fill, res.fill_rate, atol=2e-3)  # interpolated inside grid steps
    alone = inv.rq_fill_rate_reorder_point(beta, q, mean, var)
    assert res.reorder_point.sum() < np.maximum(alone, 0).sum()
    # weighting stock by value moves stock towards the cheap items
    cost = rng.uniform(1, 20, n)
    by_value = inv.rq_pooled_fill_rate_reorder_points(beta, q, rate, mean, var, pool, cost)
    assert (by_value.reorder_point * cost).sum() < (res.reorder_point * cost).sum()
