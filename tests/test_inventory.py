"""Tests for forecast.planning.inventory: textbook answers, brute-force cross-checks, vectorisation, edges.

Three layers:
1. every case of ../shared/reference/inventory_cases.json at its stated tolerance (skipped
   when that file is absent);
2. the key textbook numbers copied here, so the formulas are checked without ../shared;
3. properties: brute force against closed forms, arrays against scalars, edge cases.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm, poisson

from forecast.planning import inventory as inv

REFERENCE_FILE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "inventory_cases.json"
)
CASES: list[dict] = (
    json.loads(REFERENCE_FILE.read_text(encoding="utf-8")) if REFERENCE_FILE.exists() else []
)
needs_reference = pytest.mark.skipif(not CASES, reason=f"{REFERENCE_FILE} not found")


# --------------------------------------------------------------------------------------------
# 1. reference cases: one function per case id returns {expected key: computed value}
# --------------------------------------------------------------------------------------------


def _nv_01(x: dict) -> dict:
    sol = inv.newsvendor_normal(x["h"], x["p"], x["mu"], x["sigma"])
    return {
        "S_star": sol.level,
        "cost_at_S_star": sol.cost,
        "cost_at_S_40": inv.newsvendor_normal_cost(40, x["h"], x["p"], x["mu"], x["sigma"]),
    }


def _bs_01(x: dict) -> dict:
    sol = inv.base_stock_normal(
        x["h"], x["p"], x["mu_per_period"], x["sigma_per_period"], x["L"], x["review_period"]
    )
    return {"S_star": sol.level, "safety_stock": sol.safety_stock, "cost": sol.cost}


def _nv_03(x: dict) -> dict:
    sol = inv.newsvendor_poisson(x["h"], x["p"], x["lam"])
    return {"S_star": sol.level, "cost_at_S_star": sol.cost}


def _eoq_01(x: dict) -> dict:
    return {
        "Q_star": inv.eoq(x["K"], x["h"], x["lam"]),
        "cost": inv.eoq_cost(x["K"], x["h"], x["lam"]),
    }


def _eoq_03(x: dict) -> dict:
    sol = inv.eoq_with_backorders(x["K"], x["h"], x["p"], x["lam"])
    return {
        "Q_star": sol.order_quantity,
        "stockout_fraction": sol.stockout_fraction,
        "cost": sol.cost,
    }


def _ss_01(x: dict) -> dict:
    pol = inv.ss_optimal_poisson(x["h"], x["p"], x["K"], x["lam"])
    return {"s": pol.reorder_point, "S": pol.order_up_to_level, "cost": pol.cost}


def _rq_args(x: dict) -> tuple:
    return x["h"], x["p"], x["K"], x["lam"], x["sigma_annual"], x["L"]


def _rq_02(x: dict) -> dict:
    # The case's topic text spells out the EIL iteration (1 - F(r) = Qh/(p lambda)), but its
    # expected numbers and cited test are S&S Example 5.6, the Hadley-Whitin loss-function
    # approximation (n(r) = hQ/(h+p)); EIL gives r = 213.97, Q = 318.59 (see the tests below).
    pol = inv.rq_loss_function_approximation(*_rq_args(x))
    return {"r": pol.reorder_point, "Q": pol.order_quantity}


def _rq_04(x: dict) -> dict:
    pol = inv.rq_eoq_plus_safety_stock(*_rq_args(x))
    return {"r": pol.reorder_point, "Q": pol.order_quantity}


def _loss_01(x: dict) -> dict:
    z_03, z_m14, z_31 = x["z"]
    return {
        "L_0_3": inv.standard_normal_loss(z_03),
        "Lbar_0_3": inv.standard_normal_complementary_loss(z_03),
        "L_m1_4": inv.standard_normal_loss(z_m14),
        "L_3_1": inv.standard_normal_loss(z_31),
    }


def _loss_02(x: dict) -> dict:
    out = {}
    for case in x["cases"]:
        key = f"{case['x']}_{case['lam']}"
        out[f"n_{key}"] = inv.poisson_loss(case["x"], case["lam"])
        out[f"nbar_{key}"] = inv.poisson_complementary_loss(case["x"], case["lam"])
    return out


def _weekly_sd(x: dict) -> float:
    return inv.lead_time_demand_sd(x["D_per_week"], x["sigma_D_per_week"], x["L_weeks"], 0.0)


def _csl_01(x: dict) -> dict:
    mean_ltd = x["D_per_week"] * x["L_weeks"]
    sd_ltd = _weekly_sd(x)
    return {
        "safety_stock": x["ROP"] - mean_ltd,
        "sigma_L": sd_ltd,
        "CSL": inv.cycle_service_level(x["ROP"], mean_ltd, sd_ltd),
        "ESC": inv.expected_shortage_per_cycle(x["ROP"], mean_ltd, sd_ltd),
        "fill_rate": inv.fill_rate(x["ROP"], x["Q"], mean_ltd, sd_ltd),
    }


def _csl_02(x: dict) -> dict:
    return {"safety_stock": inv.safety_stock(_weekly_sd(x), x["CSL"], kind="cycle")}


def _fr_01(x: dict) -> dict:
    sd_ltd = _weekly_sd(x)
    z = inv.safety_factor_fill_rate(x["fill_rate"], x["Q"], sd_ltd)
    return {
        "ESC_target": (1 - x["fill_rate"]) * x["Q"],
        "safety_stock": inv.safety_stock(
            sd_ltd, x["fill_rate"], kind="fill_rate", order_quantity=x["Q"]
        ),
        # not an expected key: the defining equation itself, checked in test_reference_case
        "_esc_at_z": sd_ltd * inv.standard_normal_loss(z),
    }


def _sslt_01(x: dict) -> dict:
    sd = inv.lead_time_demand_sd(x["d_per_day"], x["sigma_d"], x["L_days"], x["sigma_L_days"])
    return {"sigma_DDLT": sd, "safety_stock": x["z"] * sd}


def _sim_01(x: dict) -> dict:
    # Analytical, not simulated: IL = S - D_L with D_L ~ Poisson(lam L) is exact for this
    # system, so the case's targets are closed forms (a Monte Carlo belongs to simulation.py).
    levels = np.asarray(x["S"])
    perf = inv.base_stock_poisson_performance(levels, x["lam_per_day"], x["L_days"])
    out = {}
    for i, level in enumerate(levels):
        out[f"S{level}_fill_rate"] = perf.fill_rate[i]
        out[f"S{level}_E_backorders"] = perf.expected_backorders[i]
        out[f"S{level}_E_on_hand"] = perf.expected_on_hand[i]
        out[f"S{level}_E_wait_days"] = perf.expected_wait[i]
        out[f"S{level}_E_wait_if_backordered_days"] = perf.expected_wait_if_backordered[i]
    return out


CHECKERS: dict[str, Callable[[dict], dict]] = {
    "NV-01": _nv_01,
    "BS-01": _bs_01,
    "NV-03": _nv_03,
    "EOQ-01": _eoq_01,
    "EOQ-03": _eoq_03,
    "SS-01": _ss_01,
    "RQ-02": _rq_02,
    "RQ-04": _rq_04,
    "LOSS-01": _loss_01,
    "LOSS-02": _loss_02,
    "CSL-01": _csl_01,
    "CSL-02": _csl_02,
    "FR-01": _fr_01,
    "SSLT-01": _sslt_01,
    "SIM-01": _sim_01,
}


@pytest.mark.shared
@needs_reference
@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_reference_case(case: dict) -> None:
    assert case["id"] in CHECKERS, f"no checker for reference case {case['id']}"
    actual = CHECKERS[case["id"]](case["inputs"])
    tolerances = case["tolerance"]
    for key, expected in case["expected"].items():
        assert key in actual, f"{case['id']}: {key} not computed"
        tol = tolerances.get(key, tolerances.get("default"))
        assert tol is not None, f"{case['id']}: no tolerance for {key}"
        assert abs(actual[key] - expected) <= tol, (
            f"{case['id']} {key}: got {actual[key]!r}, expected {expected!r} +/- {tol}"
        )
    if "_esc_at_z" in actual:  # FR-01: the solved z satisfies sigma_L L(z) = (1 - beta) Q
        assert actual["_esc_at_z"] == pytest.approx(actual["ESC_target"], rel=1e-9)


@pytest.mark.shared
@needs_reference
def test_every_reference_case_is_covered() -> None:
    assert len(CASES) == len(CHECKERS) == 15
    assert {case["id"] for case in CASES} == set(CHECKERS)


# --------------------------------------------------------------------------------------------
# 2. textbook numbers that always run
# --------------------------------------------------------------------------------------------


def test_standard_normal_loss_known_values() -> None:
    # stockpyl tests/test_loss_functions.py::TestStandardNormalLoss (S&S Appendix C)
    assert inv.standard_normal_loss(0.3) == pytest.approx(0.26676124211721, abs=1e-9)
    assert inv.standard_normal_complementary_loss(0.3) == pytest.approx(0.56676124211721, abs=1e-9)
    assert inv.standard_normal_loss(-1.4) == pytest.approx(1.436668142708465, abs=1e-9)
    assert inv.standard_normal_loss(3.1) == pytest.approx(0.0002672490952231408, abs=1e-9)


def test_poisson_loss_known_values() -> None:
    # stockpyl tests/test_loss_functions.py::TestPoissonLoss (S&S Appendix C)
    assert inv.poisson_loss(5, 7) == pytest.approx(2.292600125697305, abs=1e-9)
    assert inv.poisson_complementary_loss(5, 7) == pytest.approx(0.292600125697305, abs=1e-9)
    assert inv.poisson_loss(220, 200) == pytest.approx(0.536005857158494, abs=1e-9)


def test_newsvendor_snyder_shen_examples() -> None:
    # S&S Example 4.3 (normal): S* and costs
    sol = inv.newsvendor_normal(0.18, 0.70, 50, 8)
    assert sol.level == pytest.approx(56.60395592743389, abs=1e-6)
    assert sol.cost == pytest.approx(1.997605193176645, abs=1e-6)
    assert inv.newsvendor_normal_cost(40, 0.18, 0.70, 50, 8) == pytest.approx(
        7.356131552870388, abs=1e-6
    )
    # S&S Example 4.4 (base-stock, L = 4)
    bs = inv.base_stock_normal(0.18, 0.70, 50, 8, lead_time=4)
    assert (bs.level, bs.safety_stock, bs.cost) == pytest.approx(
        (264.7668943741548, 14.7668943741548, 4.466781004149578), abs=1e-6
    )
    # S&S Example 4.7 (Poisson)
    pois = inv.newsvendor_poisson(1, 4, 6)
    assert pois.level == 8
    assert pois.cost == pytest.approx(3.570106945770946, abs=1e-6)


def test_eoq_snyder_shen_examples() -> None:
    # S&S Example 3.1 (EOQ) and Example 3.8 (EOQ with planned backorders)
    assert inv.eoq(8, 0.225, 1300) == pytest.approx(304.0467800264368, abs=1e-6)
    assert inv.eoq_cost(8, 0.225, 1300) == pytest.approx(68.41052550594827, abs=1e-6)
    assert inv.eoq_cost(8, 0.225, 1300, order_quantity=304.0467800264368) == pytest.approx(
        68.41052550594827, abs=1e-6
    )
    sol = inv.eoq_with_backorders(8, 0.225, 5, 1300)
    assert (sol.order_quantity, sol.stockout_fraction, sol.cost) == pytest.approx(
        (310.8125551589646, 0.043062200956938, 66.92136355097325), abs=1e-6
    )


def test_ss_snyder_shen_example_4_7() -> None:
    # S&S Example 4.7 with K = 5; stockpyl tests/test_ss.py and ss.py doctests
    assert inv.ss_cost_poisson(4, 10, 1, 4, 5, 6) == pytest.approx(8.034111561471642, abs=1e-9)
    pol = inv.ss_optimal_poisson(1, 4, 5, 6)
    assert (pol.reorder_point, pol.order_up_to_level) == (4, 10)
    assert pol.cost == pytest.approx(8.034111561471644, abs=1e-6)


RQ_EXAMPLE = (0.225, 7.5, 8, 1300, 150, 1 / 12)  # S&S Ch. 5 running example (h, p, K, lam, tau, L)


def test_rq_normal_snyder_shen_examples() -> None:
    # stockpyl rq.py doctests: Example 5.1 (exact cost), 5.2 (r(Q), EIL, EOQB), 5.5, 5.6.
    assert inv.rq_cost_normal(126.8, 328.5, *RQ_EXAMPLE) == pytest.approx(
        78.07116250928294, abs=1e-6
    )
    h, p, _, lam, tau, lead = RQ_EXAMPLE
    # stockpyl stops its bisection at |g(r) - g(r+Q)| <= 1e-6, so compare at 1e-5
    assert inv.rq_optimal_reorder_point_normal(300, h, p, lam, tau, lead) == pytest.approx(
        129.4272799263067, abs=1e-5
    )
    eil = inv.rq_eil_approximation(*RQ_EXAMPLE)
    assert (eil.reorder_point, eil.order_quantity) == pytest.approx(
        (213.97044213580244, 318.5901810768729), abs=1e-5
    )
    eoqb = inv.rq_eoqb_approximation(*RQ_EXAMPLE)
    assert (eoqb.reorder_point, eoqb.order_quantity) == pytest.approx(
        (128.63781442427097, 308.5737801203754), abs=1e-5
    )
    eoqss = inv.rq_eoq_plus_safety_stock(*RQ_EXAMPLE)
    assert (eoqss.reorder_point, eoqss.order_quantity) == pytest.approx(
        (190.3369965715624, 304.0467800264368), abs=1e-6
    )
    lfa = inv.rq_loss_function_approximation(*RQ_EXAMPLE)
    assert (lfa.reorder_point, lfa.order_quantity) == pytest.approx(
        (126.8670642878315, 328.4491413581765), abs=1e-4
    )


def test_rq_poisson_snyder_shen_example_5_8() -> None:
    # stockpyl rq.py doctests r_q_cost_poisson / r_q_poisson_exact (S&S Example 5.8)
    assert inv.rq_cost_poisson(3, 5, 20, 150, 100, 1.5, 2) == pytest.approx(
        107.92358063314975, abs=1e-9
    )
    pol = inv.rq_optimal_poisson(20, 150, 100, 1.5, 2)
    assert (pol.reorder_point, pol.order_quantity) == (3, 5)
    assert pol.cost == pytest.approx(107.92358063314975, abs=1e-9)


def test_chopra_meindl_chapter_12_examples() -> None:
    # Chopra & Meindl Ch. 12, B&M Office Supplies: D = 2,500/week, sd 500, L = 2 weeks.
    sd_ltd = inv.lead_time_demand_sd(2500, 500, 2, 0)
    assert sd_ltd == pytest.approx(707.1, abs=0.1)
    # Example 12-1 / 12-2: ROP = 6,000, Q = 10,000
    assert inv.cycle_service_level(6000, 5000, sd_ltd) == pytest.approx(0.92, abs=0.005)
    assert inv.expected_shortage_per_cycle(6000, 5000, sd_ltd) == pytest.approx(25.13, abs=0.1)
    assert inv.fill_rate(6000, 10000, 5000, sd_ltd) == pytest.approx(0.9975, abs=1e-4)
    # Example 12-3: CSL 0.90 -> ss 906; Example 12-4: fill rate 0.975 -> ss 67
    assert inv.safety_stock(sd_ltd, 0.90) == pytest.approx(906, abs=1.0)
    assert inv.safety_stock(sd_ltd, 0.975, "fill_rate", order_quantity=10000) == pytest.approx(
        67, abs=1.0
    )


def test_lead_time_variability_worked_answer() -> None:
    # SSLT-01: d = 30/day, sd 3, L = 7 days, sd_L = 4 days, z = 1.28
    sd = inv.lead_time_demand_sd(30, 3, 7, 4)
    assert sd == pytest.approx(120.26, abs=0.01)
    assert 1.28 * sd == pytest.approx(153.94, abs=0.01)


def test_base_stock_poisson_performance_known_values() -> None:
    # SIM-01: lam = 1/day, L = 7 days; n(5; 7) = 2.2926 from stockpyl's Poisson loss test
    perf = inv.base_stock_poisson_performance([5, 10], 1.0, 7)
    expected = {
        "fill_rate": [0.173, 0.8305],
        "expected_backorders": [2.2926, 0.2013],
        "expected_on_hand": [0.2926, 3.2013],
        "expected_wait": [2.2926, 0.2013],
        "expected_wait_if_backordered": [2.7722, 1.1877],
    }
    for field, values in expected.items():
        np.testing.assert_allclose(getattr(perf, field), values, atol=1e-4, err_msg=field)


# --------------------------------------------------------------------------------------------
# 3a. closed forms against brute force
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.4, 3.0, 7.3, 40.0])
def test_poisson_losses_match_direct_sums(lam: float) -> None:
    k = np.arange(0, int(lam + 20 * math.sqrt(lam) + 40))
    pmf = poisson.pmf(k, lam)
    xs = np.arange(-3, int(lam) + 12)
    n_direct = [(np.maximum(k - x, 0) * pmf).sum() for x in xs]
    nbar_direct = [(np.maximum(x - k, 0) * pmf).sum() for x in xs]
    n2_direct = [0.5 * (np.maximum(k - x, 0) * np.maximum(k - x - 1, 0) * pmf).sum() for x in xs]
    np.testing.assert_allclose(inv.poisson_loss(xs, lam), n_direct, atol=1e-10)
    np.testing.assert_allclose(inv.poisson_complementary_loss(xs, lam), nbar_direct, atol=1e-10)
    np.testing.assert_allclose(inv.poisson_second_order_loss(xs, lam), n2_direct, atol=1e-9)
    # n on non-integers: E[(X - x)+] still holds
    np.testing.assert_allclose(
        inv.poisson_loss(2.5, lam), (np.maximum(k - 2.5, 0) * pmf).sum(), atol=1e-10
    )


def test_normal_second_order_loss_is_integral_of_loss() -> None:
    for z in [-2.0, 0.0, 0.7, 3.0]:
        integral = integrate.quad(inv.standard_normal_loss, z, np.inf)[0]
        assert inv.standard_normal_second_order_loss(z) == pytest.approx(integral, abs=1e-10)
    assert inv.normal_second_order_loss(10, 10, 0) == 0.0
    assert inv.normal_second_order_loss(7, 10, 0) == pytest.approx(4.5)


def test_rq_normal_cost_and_performance_match_integrals() -> None:
    h, p, k, lam, tau, lead = RQ_EXAMPLE
    mu, sigma = lam * lead, tau * math.sqrt(lead)
    r, q = 140.0, 290.0

    def g(y: float) -> float:
        return h * (y - mu) + (h + p) * inv.normal_loss(y, mu, sigma)

    direct = (k * lam + integrate.quad(g, r, r + q)[0]) / q
    assert inv.rq_cost_normal(r, q, *RQ_EXAMPLE) == pytest.approx(direct, rel=1e-9)
    perf = inv.rq_normal_performance(r, q, mu, sigma)
    backorders = integrate.quad(lambda y: inv.normal_loss(y, mu, sigma), r, r + q)[0] / q
    fill = 1 - integrate.quad(lambda y: norm.sf(y, mu, sigma), r, r + q)[0] / q
    assert perf.expected_backorders == pytest.approx(backorders, rel=1e-9)
    assert perf.fill_rate == pytest.approx(fill, rel=1e-9)
    assert perf.expected_on_hand == pytest.approx(r - mu + q / 2 + backorders, rel=1e-9)


def test_rq_optimal_reorder_point_balances_g() -> None:
    h, p, _, lam, tau, lead = RQ_EXAMPLE
    mu, sigma = lam * lead, tau * math.sqrt(lead)
    qs = np.array([1.0, 50.0, 300.0, 5000.0])
    r = inv.rq_optimal_reorder_point_normal(qs, h, p, lam, tau, lead)
    g_r = inv.newsvendor_normal_cost(r, h, p, mu, sigma)
    g_rq = inv.newsvendor_normal_cost(r + qs, h, p, mu, sigma)
    np.testing.assert_allclose(g_r, g_rq, rtol=1e-9)
    # deterministic demand: r = mu - hQ/(h+p)
    assert inv.rq_optimal_reorder_point_normal(300, h, p, lam, 0.0, lead) == pytest.approx(
        mu - h * 300 / (h + p)
    )


def test_rq_poisson_cost_and_performance_match_sums() -> None:
    h, p, k, lam, lead = 20, 150, 100, 1.5, 2
    mu = lam * lead
    for r, q in [(3, 5), (-2, 4), (6, 1)]:
        ys = range(r + 1, r + q + 1)
        cost = (k * lam + sum(inv.newsvendor_poisson_cost(y, h, p, mu) for y in ys)) / q
        assert inv.rq_cost_poisson(r, q, h, p, k, lam, lead) == pytest.approx(cost, rel=1e-12)
        perf = inv.rq_poisson_performance(r, q, lam, lead)
        assert perf.fill_rate == pytest.approx(np.mean([poisson.cdf(y - 1, mu) for y in ys]))
        assert perf.expected_backorders == pytest.approx(
            np.mean([inv.poisson_loss(y, mu) for y in ys])
        )
        assert perf.expected_on_hand == pytest.approx(
            np.mean([inv.poisson_complementary_loss(y, mu) for y in ys])
        )
    # Q = 1 is the base-stock policy S = r + 1
    base = inv.base_stock_poisson_performance(10, 1.0, 7)
    rq = inv.rq_poisson_performance(9, 1, 1.0, 7)
    assert rq.fill_rate == pytest.approx(base.fill_rate)
    assert rq.expected_backorders == pytest.approx(base.expected_backorders)
    assert rq.expected_on_hand == pytest.approx(base.expected_on_hand)


def _brute_force_ss(h: float, p: float, k: float, lam: float, lead: int) -> tuple[float, int, int]:
    mu = lam * (lead + 1)
    levels = np.arange(int(mu - 6 * math.sqrt(mu)) - 25, int(mu + 6 * math.sqrt(mu)) + 45)
    s, big_s = np.meshgrid(levels, levels, indexing="ij")
    keep = big_s > s
    costs = inv.ss_cost_poisson(s[keep], big_s[keep], h, p, k, lam, lead)
    best = int(np.argmin(costs))
    return float(costs[best]), int(s[keep][best]), int(big_s[keep][best])


SS_INSTANCES = [
    (1.0, 4.0, 5.0, 6.0, 0),  # S&S Example 4.7
    (0.5, 10.0, 40.0, 3.0, 0),
    (2.0, 9.0, 1.0, 12.0, 0),
    (1.0, 4.0, 5.0, 6.0, 2),
    (1.0, 20.0, 100.0, 2.5, 1),
    (3.0, 5.0, 0.0, 4.0, 0),  # K = 0: base-stock
]


def test_ss_optimal_matches_brute_force_and_vectorises() -> None:
    columns = [np.array(col) for col in zip(*SS_INSTANCES, strict=True)]
    vector = inv.ss_optimal_poisson(*columns)
    for i, instance in enumerate(SS_INSTANCES):
        cost, s, big_s = _brute_force_ss(*instance)
        assert vector.cost[i] == pytest.approx(cost, abs=1e-9), instance
        assert (vector.reorder_point[i], vector.order_up_to_level[i]) == (s, big_s), instance
        scalar = inv.ss_optimal_poisson(*instance)
        assert scalar == (s, big_s, pytest.approx(cost, abs=1e-9))


def test_rq_optimal_poisson_matches_brute_force() -> None:
    instances = [(20, 150, 100, 1.5, 2), (1, 10, 30, 4, 1), (2, 5, 0.5, 8, 0.5), (1, 3, 50, 2, 3)]
    r_grid, q_grid = np.meshgrid(np.arange(-5, 40), np.arange(1, 60), indexing="ij")
    columns = [np.array(col) for col in zip(*instances, strict=True)]
    vector = inv.rq_optimal_poisson(*columns)
    for i, (h, p, k, lam, lead) in enumerate(instances):
        costs = inv.rq_cost_poisson(r_grid, q_grid, h, p, k, lam, lead)
        best = np.unravel_index(np.argmin(costs), costs.shape)
        assert vector.cost[i] == pytest.approx(costs[best], abs=1e-9)
        assert (vector.reorder_point[i], vector.order_quantity[i]) == (
            r_grid[best],
            q_grid[best],
        )


def test_loss_function_approximation_satisfies_its_equations() -> None:
    h, p, k, lam, tau, lead = RQ_EXAMPLE
    mu, sigma = lam * lead, tau * math.sqrt(lead)
    pol = inv.rq_loss_function_approximation(*RQ_EXAMPLE)
    r, q = pol.reorder_point, pol.order_quantity
    assert inv.normal_loss(r, mu, sigma) == pytest.approx(h * q / (h + p), rel=1e-8)
    q_rhs = math.sqrt(2 * (k * lam + (h + p) * inv.normal_second_order_loss(r, mu, sigma)) / h)
    assert q == pytest.approx(q_rhs, rel=1e-8)
    assert pol.cost == pytest.approx(inv.rq_cost_normal(r, q, *RQ_EXAMPLE))


# --------------------------------------------------------------------------------------------
# 3b. vectorisation: arrays of SKUs give the scalar answers
# --------------------------------------------------------------------------------------------

VECTOR_CALLS: list[tuple[str, Callable, list[tuple]]] = [
    ("standard_normal_loss", inv.standard_normal_loss, [(-1.4,), (0.3,), (3.1,)]),
    ("poisson_loss", inv.poisson_loss, [(5, 7), (220, 200), (0, 0.5)]),
    ("newsvendor_normal", inv.newsvendor_normal, [(0.18, 0.7, 50, 8), (1, 9, 10, 0), (2, 3, 5, 4)]),
    ("newsvendor_poisson", inv.newsvendor_poisson, [(1, 4, 6), (1, 1, 0.3), (0.5, 20, 120)]),
    (
        "base_stock_normal",
        inv.base_stock_normal,
        [(0.18, 0.7, 50, 8, 4, 1), (1, 9, 10, 3, 0, 7), (2, 3, 5, 4, 2, 2)],
    ),
    ("eoq", inv.eoq, [(8, 0.225, 1300), (50, 2, 0), (1, 1, 1)]),
    ("eoq_with_backorders", inv.eoq_with_backorders, [(8, 0.225, 5, 1300), (50, 2, 1, 10)]),
    (
        "lead_time_demand_sd",
        inv.lead_time_demand_sd,
        [(30, 3, 7, 4), (2500, 500, 2, 0), (0, 1, 9, 3)],
    ),
    ("safety_factor_cycle_service", inv.safety_factor_cycle_service, [(0.9,), (0.5,), (0.999,)]),
    (
        "safety_factor_fill_rate",
        inv.safety_factor_fill_rate,
        [(0.975, 10000, 707.1), (0.99, 10, 50), (0.5, 1, 0), (0.9, 1e6, 1)],
    ),
    ("fill_rate", inv.fill_rate, [(6000, 10000, 5000, 707.1), (10, 5, 8, 0)]),
    ("rq_eoqb_approximation", inv.rq_eoqb_approximation, [RQ_EXAMPLE, (1, 10, 50, 500, 80, 0.1)]),
    (
        "rq_loss_function_approximation",
        inv.rq_loss_function_approximation,
        [RQ_EXAMPLE, (1, 10, 50, 500, 80, 0.1), (1, 10, 50, 500, 0, 0.1)],
    ),
    ("rq_optimal_poisson", inv.rq_optimal_poisson, [(20, 150, 100, 1.5, 2), (1, 10, 30, 4, 1)]),
    (
        "rq_poisson_performance",
        inv.rq_poisson_performance,
        [(3, 5, 1.5, 2), (9, 1, 1.0, 7), (-1, 3, 2, 1)],
    ),
    ("ss_cost_poisson", inv.ss_cost_poisson, [(4, 10, 1, 4, 5, 6), (2, 23, 0.5, 10, 40, 3)]),
    ("round_order_quantity", inv.round_order_quantity, [(17, 50, 12), (0.3, 0, 0.1), (-4, 5, 2)]),
]


@pytest.mark.parametrize(("name", "func", "rows"), VECTOR_CALLS, ids=[c[0] for c in VECTOR_CALLS])
def test_arrays_of_skus_match_scalar_calls(name: str, func: Callable, rows: list[tuple]) -> None:
    columns = [np.array(col, dtype=float) for col in zip(*rows, strict=True)]
    vector = func(*columns)
    for i, row in enumerate(rows):
        scalar = func(*row)
        if isinstance(scalar, tuple):
            for field_vector, field_scalar in zip(vector, scalar, strict=True):
                assert isinstance(field_scalar, int | float), name
                assert field_vector[i] == pytest.approx(field_scalar, rel=1e-9, abs=1e-12)
        else:
            assert isinstance(scalar, int | float), f"{name} should return a Python scalar"
            assert vector[i] == pytest.approx(scalar, rel=1e-9, abs=1e-12), name


def test_broadcasting_a_scalar_parameter_over_skus() -> None:
    mu = np.array([[10.0, 20.0], [30.0, 40.0]])
    sol = inv.newsvendor_normal(1.0, 9.0, mu, 5.0)
    assert sol.level.shape == (2, 2)
    np.testing.assert_allclose(sol.level - mu, 5.0 * norm.ppf(0.9))


# --------------------------------------------------------------------------------------------
# 3c. safety factors and safety stock
# --------------------------------------------------------------------------------------------


def test_fill_rate_safety_factor_round_trip_on_10000_skus() -> None:
    rng = np.random.default_rng(20261101)
    n = 10_000
    beta = rng.uniform(0.8, 0.999, n)
    q = rng.uniform(10, 2000, n)
    sd = rng.uniform(5, 400, n)
    z = inv.safety_factor_fill_rate(beta, q, sd)  # its speed: bench/planning.py
    inside = (z > -1) & (z < 5)
    assert inside.mean() > 0.7
    np.testing.assert_allclose(
        sd[inside] * inv.standard_normal_loss(z[inside]), ((1 - beta) * q)[inside], rtol=1e-9
    )
    # clipped ones really are outside: z = -1 over-delivers, z = 5 cannot reach the target
    assert np.all(sd[z == -1] * inv.standard_normal_loss(-1.0) <= ((1 - beta) * q)[z == -1])
    assert np.all(sd[z == 5] * inv.standard_normal_loss(5.0) >= ((1 - beta) * q)[z == 5])


def test_fill_rate_safety_factor_edges() -> None:
    assert inv.safety_factor_fill_rate(0.99, 100, 0.0) == 0.0  # no uncertainty, no safety stock
    assert inv.safety_factor_fill_rate(0.9999999, 1, 1000) == 5.0  # clipped at z_max
    assert inv.safety_factor_fill_rate(0.5, 1e6, 1) == -1.0  # clipped at z_min
    assert inv.safety_factor_fill_rate(0.99, 100, 50, z_min=0.0) == pytest.approx(
        max(0.0, float(inv.safety_factor_fill_rate(0.99, 100, 50)))
    )
    assert math.isnan(inv.safety_factor_fill_rate(0.99, np.nan, 50))
    assert inv.safety_factor_fill_rate(0.99, 0, 50) == 5.0  # Q = 0 tolerates no shortage
    wide = inv.safety_factor_fill_rate(0.9999999, 1, 1000, z_max=8.0)
    assert 5 < wide < 8
    assert 1000 * inv.standard_normal_loss(wide) == pytest.approx(1e-7, rel=1e-8)


def test_cycle_safety_factor_and_safety_stock() -> None:
    assert inv.safety_factor_cycle_service(0.5) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(
        inv.safety_factor_cycle_service([0.9, 0.95, 0.99]), norm.ppf([0.9, 0.95, 0.99])
    )
    np.testing.assert_allclose(
        inv.safety_stock([100.0, 0.0], [0.95, 0.95]), [100 * norm.ppf(0.95), 0.0]
    )
    assert inv.reorder_point(5000, 1000) == 6000.0
    with pytest.raises(ValueError, match="order_quantity"):
        inv.safety_stock(100.0, 0.95, kind="fill_rate")
    with pytest.raises(ValueError, match="kind"):
        inv.safety_stock(100.0, 0.95, kind="type1")  # type: ignore[arg-type]


def test_lead_time_demand_sd_special_cases() -> None:
    # fixed lead time: sqrt(L) sd_d; no demand noise: d sd_L
    assert inv.lead_time_demand_sd(10, 4, 9, 0) == pytest.approx(12.0)
    assert inv.lead_time_demand_sd(10, 0, 9, 2) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="sd_lead_time"):
        inv.lead_time_demand_sd(10, 4, 9, -1)


def test_deterministic_demand_degenerates_cleanly() -> None:
    assert inv.cycle_service_level(10, 10, 0) == 1.0
    assert inv.cycle_service_level(9, 10, 0) == 0.0
    assert inv.expected_shortage_per_cycle(7, 10, 0) == 3.0
    assert inv.normal_loss(12, 10, 0) == 0.0


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, 95.0, float("nan")])
@pytest.mark.parametrize(
    "call",
    [
        lambda v: inv.safety_factor_cycle_service(v),
        lambda v: inv.safety_factor_fill_rate(v, 100, 10),
        lambda v: inv.safety_stock(10.0, v),
        lambda v: inv.safety_stock(10.0, v, kind="fill_rate", order_quantity=100),
    ],
    ids=["cycle_factor", "fill_rate_factor", "safety_stock_cycle", "safety_stock_fill_rate"],
)
def test_service_level_outside_unit_interval_is_rejected(call: Callable, bad: float) -> None:
    with pytest.raises(ValueError, match=r"strictly between 0 and 1; got ") as excinfo:
        call(bad)
    assert repr(bad) in str(excinfo.value)


def test_service_level_error_names_the_offending_sku() -> None:
    with pytest.raises(ValueError, match=r"got 1\.0 at index 2"):
        inv.safety_factor_cycle_service([0.9, 0.95, 1.0, 0.99])
    with pytest.raises(ValueError, match="95% is 0.95"):
        inv.safety_factor_fill_rate([0.9, 95.0], 100, 10)


# --------------------------------------------------------------------------------------------
# 3d. order rounding, ABC / XYZ
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "moq", "pack", "expected"),
    [
        (0, 50, 12, 0.0),  # nothing to order stays nothing, MOQ or not
        (-7, 50, 12, 0.0),
        (3, 50, 12, 60.0),  # raised to MOQ 50, then to 5 packs of 12
        (60, 50, 12, 60.0),  # exact multiple unchanged
        (61, 50, 12, 72.0),
        (17.2, np.nan, 5, 20.0),  # NaN MOQ: no minimum
        (17.2, 0, 5, 20.0),  # 0 MOQ: no minimum
        (17.2, 30, np.nan, 30.0),  # NaN pack: no rounding
        (17.2, 30, 0, 30.0),
        (17.2, None, None, 17.2),
        (0.3, 0, 0.1, 0.3),  # 0.3 / 0.1 = 2.9999999999999996 must not become 4 packs
        (10.0, 0, 0.1, 10.0),  # 10 / 0.1 = 100.00000000000001 must not become 101 packs
    ],
)
def test_round_order_quantity(quantity, moq, pack, expected) -> None:
    assert inv.round_order_quantity(quantity, moq, pack) == pytest.approx(expected)


def test_round_order_quantity_vectorised_and_validated() -> None:
    out = inv.round_order_quantity(
        [0.0, 5.0, 130.0, np.nan, 7.0], [10.0, 10.0, np.nan, 10.0, 0.0], [4.0, 4.0, 25.0, 4.0, 0.0]
    )
    np.testing.assert_allclose(out, [0.0, 12.0, 150.0, np.nan, 7.0])
    with pytest.raises(ValueError, match="moq"):
        inv.round_order_quantity(10, -1, 2)
    with pytest.raises(ValueError, match="pack_size"):
        inv.round_order_quantity(10, 0, -2)


def test_abc_classes() -> None:
    values = [5, 50, 0, 30, 10, 3, 2]  # total 100; ranked 50, 30, 10, 5, 3, 2, 0
    assert inv.abc_classes(values).tolist() == ["B", "A", "C", "A", "B", "C", "C"]
    # one dominant SKU is "A" even though it alone exceeds 80% of value
    assert inv.abc_classes([90.0, 6.0, 4.0]).tolist() == ["A", "B", "C"]
    # zero and NaN value are "C"; all-zero input is all "C"
    assert inv.abc_classes([np.nan, 10.0, 0.0]).tolist() == ["C", "A", "C"]
    assert inv.abc_classes([0.0, 0.0]).tolist() == ["C", "C"]
    # ties are ranked in input order, deterministically
    assert inv.abc_classes([1.0] * 20).tolist() == ["A"] * 16 + ["B"] * 3 + ["C"]
    assert inv.abc_classes([10, 60, 30], thresholds=(0.5, 0.9)).tolist() == ["C", "A", "B"]
    assert inv.abc_classes(np.array([1.0, 2.0])).dtype.kind == "U"


def test_abc_classes_validation() -> None:
    with pytest.raises(ValueError, match="annual_value"):
        inv.abc_classes([10.0, -1.0])
    with pytest.raises(ValueError, match="thresholds"):
        inv.abc_classes([1.0], thresholds=(0.95, 0.8))
    with pytest.raises(ValueError, match="one-dimensional"):
        inv.abc_classes([[1.0, 2.0]])


def test_xyz_classes() -> None:
    cv = [0.0, 0.5, 0.51, 1.0, 1.01, np.inf, np.nan]
    assert inv.xyz_classes(cv).tolist() == ["X", "X", "Y", "Y", "Z", "Z", "Z"]
    assert inv.xyz_classes(0.3) == "X"
    assert inv.xyz_classes([0.3, 0.7], thresholds=(0.2, 0.6)).tolist() == ["Y", "Z"]
    with pytest.raises(ValueError, match="cv"):
        inv.xyz_classes([0.2, -0.1])


# --------------------------------------------------------------------------------------------
# 3e. input validation of the policy formulas
# --------------------------------------------------------------------------------------------


def test_policy_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="holding_cost"):
        inv.newsvendor_normal(0, 1, 10, 2)
    with pytest.raises(ValueError, match="sd"):
        inv.newsvendor_normal(1, 1, 10, -2)
    with pytest.raises(ValueError, match="integer"):
        inv.rq_cost_poisson(2.5, 4, 1, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="must exceed"):
        inv.ss_cost_poisson(10, 10, 1, 4, 5, 6)
    with pytest.raises(ValueError, match="mean_demand"):
        inv.ss_optimal_poisson(1, 4, 5, 0)
    with pytest.raises(ValueError, match="EIL"):
        inv.rq_eil_approximation(10, 1, 1000, 10, 1, 1)
