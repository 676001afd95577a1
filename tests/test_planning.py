"""Tests for forecast.planning.policies: policies, positions, recommendations, alerts and their exports.

Every number is hand-computed from a tiny forecast built here: constant means, Poisson demand
(size = inf) and a negligible level error (1e-12), so lead-time demand over L days has mean
mu L and variance mu L, and the textbook formulas give the expected answers.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.distribution import DemandForecast
from forecast.planning import inventory as inv
from forecast.planning.campaign_window import campaign_periods, covered_within
from forecast.planning.policies import (
    PlanConfig,
    baseline_rate,
    build_alerts,
    compute_policies,
    recommend_orders,
    stock_positions,
)
from forecast.publish.exports import EXPORTS, write_csv_exports, write_purchasing_workbook

AS_OF = date(2026, 3, 1)
NO_SUPPLIERS = pd.DataFrame(
    columns=["supplier", "lead_time_days", "lead_time_sd_days", "order_cost"]
)


def forecast(means, *, size=np.inf, level_var=1e-12, horizon=28, skus=None) -> DemandForecast:
    """A forecast per row of ``means``: a number (constant per period) or a full mean path."""
    rows = [np.full(horizon, float(m)) if np.ndim(m) == 0 else np.asarray(m, float) for m in means]
    n = len(rows)
    skus = skus or [f"S{i}" for i in range(n)]
    return DemandForecast(
        keys=pd.DataFrame({"sku": skus, "location": "main"}),
        dates=pd.date_range(AS_OF + timedelta(days=1), periods=horizon, freq="D"),
        mean=np.vstack(rows),
        size=np.broadcast_to(np.asarray(size, float), (n,)).copy(),
        level_var=np.full(n, level_var),
        model=np.full(n, "test", dtype=object),
    )


def products(fc: DemandForecast, **columns) -> pd.DataFrame:
    """Product rows for the forecast's SKUs; keyword values are scalars or per-SKU lists.
    ``fractional`` by default, so the textbook answers are checked before whole-unit rounding
    (tests of the rounding ask for ``fractional=False``)."""
    frame = pd.DataFrame({"sku": fc.keys["sku"].to_numpy()})
    defaults = {
        "fractional": True,
        "supplier": "SUP",
        "lead_time_days": 4.0,
        "lead_time_sd_days": 0.0,
        "unit_cost": 1.0,
        "moq": np.nan,
        "pack_size": np.nan,
        "service_level": np.nan,
    }
    for name, value in {**defaults, **columns}.items():
        frame[name] = value
    return frame


def history(fc: DemandForecast) -> np.ndarray:
    return np.tile(fc.mean[:, :1], (1, 60))


def stock(fc: DemandForecast, on_hand, on_order=None, committed=None) -> pd.DataFrame:
    keys = fc.keys
    inventory_rows = keys.assign(on_hand=on_hand)
    po = keys.assign(quantity=on_order if on_order is not None else 0.0)
    co = keys.assign(quantity=committed if committed is not None else 0.0)
    return stock_positions(keys, inventory_rows, po[po["quantity"] > 0], co[co["quantity"] > 0])


def plan(fc, cfg, prods, suppliers=NO_SUPPLIERS, period_days=1.0, campaigns=None):
    return compute_policies(fc, history(fc), prods, suppliers, cfg, period_days, campaigns=campaigns)


def campaign_rows(**rows) -> pd.DataFrame:
    """Campaign table rows: ``sku=(start day, end day)`` counted from the first forecast day."""
    first = AS_OF + timedelta(days=1)
    return pd.DataFrame([{"sku": sku, "category": "", "location": "", "kind": "promotion",
                          "start_date": first + timedelta(days=a), "end_date": first + timedelta(days=b)}
                         for sku, (a, b) in rows.items()])


CYCLE_50 = {"service_kind": "cycle", "order_quantity_method": "fixed", "fixed_quantity": 30.0}


# --------------------------------------------------------------------------------------------
# policies: textbook known answers
# --------------------------------------------------------------------------------------------


def test_reorder_point_for_cycle_service_poisson() -> None:
    # Poisson 4/day over L = 9 days: mean 36, sigma = sqrt(36) = 6; CSL 95% -> z = 1.6449
    fc = forecast([4.0])
    pol = plan(
        fc, PlanConfig(service_kind="cycle"), products(fc, lead_time_days=9.0, service_level=0.95)
    )
    z = inv.safety_factor_cycle_service(0.95)
    row = pol.iloc[0]
    assert row["lead_time_demand"] == pytest.approx(36.0)
    assert row["lead_time_demand_sd"] == pytest.approx(6.0, rel=1e-6)
    assert row["safety_stock"] == pytest.approx(6.0 * z, rel=1e-6)
    assert row["reorder_point"] == pytest.approx(36.0 + 6.0 * z, rel=1e-6)
    assert row["service_kind"] == "cycle" and row["policy"] == "sQ"


def _chopra_forecast() -> DemandForecast:
    # NB with mean 2,500 and variance 500^2: size = m^2 / (var - m)
    return forecast([2500.0], size=2500.0**2 / (500.0**2 - 2500.0))


@pytest.mark.parametrize(
    ("period_days", "lead_sd_periods", "sigma", "safety"),
    [
        # Chopra & Meindl 6th ed., Example 12-6 (Dell): D = 2,500/day, sd 500, L = 7 days,
        # s_L = 7 days -> sigma_L = sqrt(7 x 500^2 + 2,500^2 x 7^2) = 17,550; CSL 90% -> ss 22,491.
        (1.0, 7.0, 17_550, 22_491),
        # Same example with s_L = 2 periods (its sensitivity table): sigma_L = 5,172, ss 6,628;
        # run in weeks (D = 2,500/week, L = 7 weeks = 49 days, s_L = 2 weeks = 14 days).
        (7.0, 2.0, 5_172, 6_628),
    ],
)
def test_lead_time_variability_chopra_meindl(period_days, lead_sd_periods, sigma, safety) -> None:
    fc = _chopra_forecast()
    prods = products(
        fc,
        lead_time_days=7 * period_days,
        lead_time_sd_days=lead_sd_periods * period_days,
        service_level=0.9,
    )
    pol = plan(fc, PlanConfig(service_kind="cycle"), prods, period_days=period_days).iloc[0]
    assert pol["lead_time_demand"] == pytest.approx(17_500)
    assert pol["lead_time_demand_sd"] == pytest.approx(sigma, abs=1.0)
    assert pol["lead_time_demand_sd"] == pytest.approx(
        inv.lead_time_demand_sd(2500, 500, 7, lead_sd_periods), rel=1e-6
    )
    assert pol["safety_stock"] == pytest.approx(safety, abs=1.0)
    assert pol["mean_daily_demand"] == pytest.approx(2500 / period_days)


def test_fill_rate_target_is_met_at_the_result() -> None:
    # Poisson 10/day, L = 5, s_L = 1: lead-time demand mean 50, variance 50 + 10^2 x 1 = 150
    # (negative binomial); Q = 40 fixed. The reorder point s solves the exact (s,Q) fill rate
    # 1 - [n(s) - n(s + Q)] / Q = 98% with n the negative binomial loss (S&S Ch. 5).
    fc = forecast([10.0])
    cfg = PlanConfig(order_quantity_method="fixed", fixed_quantity=40.0)
    pol = plan(fc, cfg, products(fc, lead_time_days=5.0, lead_time_sd_days=1.0)).iloc[0]
    sigma = math.sqrt(150.0)
    assert pol["abc_class"] == "A" and pol["service_level"] == 0.98
    assert pol["lead_time_demand_sd"] == pytest.approx(sigma, rel=1e-6)
    s = pol["reorder_point"]
    assert pol["safety_stock"] == pytest.approx(s - 50.0) and pol["safety_stock"] > 0
    loss = inv.negative_binomial_loss
    short = loss(s, 50.0, 150.0) - loss(s + 40, 50.0, 150.0)
    assert short == pytest.approx((1 - 0.98) * 40.0, rel=1e-6)
    assert pol["planned_fill_rate"] == pytest.approx(0.98)  # alone in its class


def test_class_fill_rate_is_pooled_over_the_class_with_less_stock() -> None:
    # Five class-C SKUs (after two large ones), from steady (Poisson) to erratic (size 0.5),
    # 7 days of cover. Pooled, the class's demand-weighted fill rate is 90% with less stock in
    # units than 90% on every SKU; the steady ones get more than 90%, the erratic ones less.
    # A SKU with its own service level in the products table keeps it.
    fc = forecast(
        [400.0, 100.0, 3.0, 3.0, 3.0, 3.0, 2.0], size=[np.inf, np.inf, np.inf, 8.0, 2.0, 0.5, 1.0]
    )
    prods = products(fc, lead_time_days=7.0, service_level=[np.nan] * 6 + [0.9])
    cfg = PlanConfig(order_quantity_method="days_of_cover", days_of_cover=7.0)
    pooled = plan(fc, cfg, prods)
    alone = plan(
        fc,
        PlanConfig(order_quantity_method="days_of_cover", days_of_cover=7.0, service_scope="sku"),
        prods,
    )
    c = (pooled["abc_class"] == "C") & (pooled["service_source"] == "class")
    assert c.sum() == 4 and pooled.loc[c, "service_level"].eq(0.9).all()
    daily = pooled.loc[c, "mean_daily_demand"]
    achieved = (daily * pooled.loc[c, "planned_fill_rate"]).sum() / daily.sum()
    assert achieved == pytest.approx(0.9, abs=1e-9)
    fills = pooled.loc[c, "planned_fill_rate"].to_numpy()
    assert fills[0] > 0.9 > fills[-1] and (np.diff(fills) < 0).all()
    assert pooled.loc[c, "reorder_point"].sum() < alone.loc[c, "reorder_point"].sum() - 1
    assert alone["planned_fill_rate"].tolist() == pytest.approx(alone["service_level"].tolist())
    own = pooled["service_source"] == "product"
    assert pooled.loc[own, "planned_fill_rate"].tolist() == pytest.approx([0.9])
    assert pooled.loc[own, "reorder_point"].tolist() == pytest.approx(
        alone.loc[own, "reorder_point"].tolist()
    )
    # the explanation gives the SKU's share and the class's level
    rec = recommend_orders(pooled, stock(fc, on_hand=[0.0] * 7), fc, AS_OF, cfg)
    steady = rec.loc[rec["sku"] == "S2", "explanation"].iloc[0]
    share = 100 * pooled.loc[pooled["sku"] == "S2", "planned_fill_rate"].iloc[0]
    assert f"for {share:.1f}% fill rate (class C: 90% over the class, no SKU under 80%)" in steady, steady
    # each SKU's planned fill rate is what its reorder point delivers
    for _, row in pooled[c].iterrows():
        mu, var = row["lead_time_demand"], row["lead_time_demand_sd"] ** 2
        s, q = row["reorder_point"], row["order_quantity"]
        loss = inv.negative_binomial_loss
        fill = 1 - (loss(s, mu, var) - loss(s + q, mu, var)) / q
        assert fill == pytest.approx(row["planned_fill_rate"], abs=2e-3)


def test_large_order_quantity_allows_negative_safety_stock_not_a_negative_minimum() -> None:
    # 120 days of cover against a lead time of 7 days: the fill rate alone is met with a
    # reorder point below the lead-time demand (negative safety stock); 80% fill would put it
    # below 0, where it stops (an order is not held back until customers wait).
    fc = forecast([10.0, 10.0])
    cfg = PlanConfig(
        order_quantity_method="days_of_cover", days_of_cover=120.0, service_scope="sku"
    )
    pol = plan(fc, cfg, products(fc, lead_time_days=7.0, service_level=[0.98, 0.8]))
    q = pol["order_quantity"].iloc[0]
    assert q == pytest.approx(1200.0)
    s = pol["reorder_point"].iloc[0]
    assert pol["safety_stock"].iloc[0] < 0 and 0 < s < 70
    loss = inv.negative_binomial_loss
    assert 1 - (loss(s, 70.0, 70.0) - loss(s + q, 70.0, 70.0)) / q == pytest.approx(0.98)
    assert pol["reorder_point"].iloc[1] == 0.0 and pol["safety_stock"].iloc[1] == -70.0


def test_rs_fill_rate_uses_the_periodic_shortage() -> None:
    # Poisson 5/day, L = 4, R = 7: S covers 11 days (mean 55), the review demand is 35; 95%
    # fill: n_11(S) - n_4(S) = 5% of 35. The minimum is S less one review's demand.
    fc = forecast([5.0])
    cfg = PlanConfig(policy="RS", review_period_days=7.0)
    pol = plan(fc, cfg, products(fc, lead_time_days=4.0, service_level=0.95)).iloc[0]
    big_s = pol["max_level"]
    loss = inv.negative_binomial_loss
    short = loss(big_s, 55.0, 55.0) - loss(big_s, 20.0, 20.0)
    assert short == pytest.approx(0.05 * 35.0, rel=1e-6)
    assert pol["reorder_point"] == pytest.approx(big_s - 35.0)
    assert pol["planned_fill_rate"] == 0.95


def test_eoq_through_compute_policies() -> None:
    # Snyder & Shen Example 3.1: K = 8, h = 0.225/unit/yr, lambda = 1,300/yr -> Q* = 304.0468.
    fc = forecast([1300 / 365])
    suppliers = pd.DataFrame(
        {
            "supplier": ["SUP"],
            "lead_time_days": [7.0],
            "lead_time_sd_days": [0.0],
            "order_cost": [8.0],
        }
    )
    cfg = PlanConfig(holding_cost_rate=0.25)
    prods = products(fc, unit_cost=0.225 / 0.25, lead_time_days=np.nan, lead_time_sd_days=np.nan)
    pol = plan(fc, cfg, prods, suppliers).iloc[0]
    assert pol["order_quantity"] == pytest.approx(304.0467800264368, abs=1e-6)
    assert pol["order_quantity_basis"] == "eoq"
    assert pol["max_level"] == pytest.approx(pol["reorder_point"] + pol["order_quantity"])
    whole = plan(fc, cfg, prods.assign(pack_size=1.0), suppliers).iloc[0]
    assert whole["order_quantity"] == 305.0


def test_cover_cap_limits_eoq_of_cheap_fast_movers() -> None:
    # EOQ = sqrt(2 x 50 x 36,500 / (0.25 x 0.01)) = 38,210 = 382 days; the cap is 120 days = 12,000.
    fc = forecast([100.0, 100.0])
    prods = products(fc, unit_cost=0.01, pack_size=[np.nan, 7.0])
    pol = plan(fc, PlanConfig(), prods)
    assert pol["order_quantity_basis"].tolist() == ["eoq_capped", "eoq_capped"]
    assert pol["order_quantity"].tolist() == [12_000.0, 12_005.0]  # pack rounding after the cap
    longer = plan(fc, PlanConfig(max_cover_days=400), prods)
    assert longer["order_quantity"].iloc[0] == pytest.approx(math.sqrt(2 * 50 * 36_500 / 0.0025))
    assert longer["order_quantity_basis"].iloc[0] == "eoq"


def test_moq_and_pack_rounding() -> None:
    # 14 days of cover: 3/day -> 42 -> MOQ 50 -> packs of 12 -> 60; 10/day -> 140 -> 144.
    fc = forecast([3.0, 10.0])
    cfg = PlanConfig(order_quantity_method="days_of_cover", days_of_cover=14)
    pol = plan(fc, cfg, products(fc, moq=50.0, pack_size=12.0))
    assert pol["order_quantity"].tolist() == [60.0, 144.0]
    assert pol["order_quantity_basis"].tolist() == ["days_of_cover", "days_of_cover"]


def test_abc_by_value_and_service_level_from_product_then_class() -> None:
    # annual value 100, 15, 4, 1 (x 365): A holds the first 80%, B up to 95%, C the rest.
    fc = forecast([100.0, 15.0, 4.0, 1.0])
    cfg = PlanConfig(service_levels={"A": 0.97, "B": 0.93, "C": 0.85}, service_kind="cycle")
    pol = plan(fc, cfg, products(fc, service_level=[np.nan, np.nan, 0.99, np.nan]))
    assert pol["abc_class"].tolist() == ["A", "B", "C", "C"]
    assert pol["service_level"].tolist() == [0.97, 0.93, 0.99, 0.85]
    assert pol["service_source"].tolist() == ["class", "class", "product", "class"]


@pytest.mark.parametrize("level", [0.0, 1.0, 1.2, 95.0, -0.1])
def test_service_level_outside_unit_interval_is_an_error(level) -> None:
    fc = forecast([5.0])
    with pytest.raises(ValueError, match=r"S0 must be in \(0, 1\)"):
        plan(fc, PlanConfig(), products(fc, service_level=level))
    with pytest.raises(ValueError, match=r"class A must be in \(0, 1\)"):
        PlanConfig(service_levels={"A": level, "B": 0.95, "C": 0.9})


def test_plan_config_validation_and_backward_compatible_review_period() -> None:
    assert PlanConfig().policy == "sQ"
    assert PlanConfig(review_period_days=7).policy == "RS"
    assert PlanConfig(policy="sS").policy == "sS"
    for kwargs, message in [
        ({"policy": "RS"}, "review_period_days > 0"),
        ({"policy": "sS", "review_period_days": 7}, "continuous review"),
        ({"policy": "Rs"}, "policy must be one of"),
        ({"max_cover_days": 0}, "max_cover_days"),
        ({"order_quantity_method": "fixed"}, "fixed_quantity > 0"),
        ({"service_levels": {"A": 0.9, "B": 0.9}}, "missing"),
        ({"service_scope": "item"}, "service_scope must be one of"),
        ({"pooled_stock": "cost"}, "pooled_stock must be one of"),
    ]:
        with pytest.raises(ValueError, match=message):
            PlanConfig(**kwargs)


def test_lead_time_and_spread_fall_back_product_supplier_default() -> None:
    fc = forecast([5.0] * 4)
    suppliers = pd.DataFrame(
        {
            "supplier": ["S1"],
            "lead_time_days": [10.0],
            "lead_time_sd_days": [2.0],
            "order_cost": [20.0],
        }
    )
    prods = products(
        fc,
        supplier=["S1", "S1", "S1", "unknown"],
        lead_time_days=[5.0, np.nan, 6.0, np.nan],
        lead_time_sd_days=[1.0, np.nan, np.nan, np.nan],
    )
    pol = plan(
        fc, PlanConfig(default_lead_time_days=12, default_lead_time_cv=0.25), prods, suppliers
    )
    assert pol["lead_time_days"].tolist() == [5.0, 10.0, 6.0, 12.0]
    assert pol["lead_time_source"].tolist() == ["product", "supplier", "product", "default"]
    assert pol["lead_time_sd_days"].tolist() == [1.0, 2.0, 2.0, 3.0]
    assert pol["lead_time_sd_source"].tolist() == ["product", "supplier", "supplier", "default"]


def test_duplicate_product_rows_are_refused() -> None:
    fc = forecast([5.0])
    prods = pd.concat([products(fc), products(fc)])
    with pytest.raises(ValueError, match="products: sku 'S0' appears more than once"):
        plan(fc, PlanConfig(), prods)


def test_campaign_inside_lead_time_raises_lead_time_demand() -> None:
    # 10/day, doubled on days 4-7 (inside L = 14): LTD 140 -> 180, uplift 180/140 - 1 = 28.6%,
    # a campaign's where one is planned inside P (S1's), the forecast's own shape where none is
    # (S2's peak, same numbers) or where the planned one starts after P (S3's, day 20).
    campaign = np.full(28, 10.0)
    campaign[3:7] = 20.0
    fc = forecast([10.0, campaign, campaign, campaign])
    planned = campaign_rows(S1=(3, 6), S3=(20, 22))
    pol = plan(fc, PlanConfig(service_kind="cycle"), products(fc, lead_time_days=14.0), campaigns=planned)
    uplift = 100 * (180 / 140 - 1)
    assert pol["lead_time_demand"].tolist() == pytest.approx([140.0, 180.0, 180.0, 180.0])
    assert pol["lead_time_demand_sd"].tolist() == pytest.approx([140**0.5] + [180**0.5] * 3)
    assert pol["campaign_uplift_pct"].tolist() == pytest.approx([0.0, uplift, 0.0, 0.0])
    assert pol["seasonal_uplift_pct"].tolist() == pytest.approx([0.0, 0.0, uplift, uplift])
    assert pol["reorder_point"].iloc[1] > pol["reorder_point"].iloc[0] + 40
    np.testing.assert_allclose(baseline_rate(fc.mean), [10.0] * 4)


def test_a_category_campaign_or_one_at_another_location_counts_as_the_forecast_maps_it() -> None:
    # The same 14-day peak for four series; campaigns by category (S0's "tools"), at S1's
    # location, at another location (S2: none at "main"), and none (S3).
    peak = np.full(28, 10.0)
    peak[3:7] = 20.0
    fc = forecast([peak] * 4)
    first = AS_OF + timedelta(days=1)
    planned = pd.DataFrame({"sku": ["", "S1", "S2"], "category": ["tools", "", ""],
                            "location": ["", "main", "web"], "kind": "promotion",
                            "start_date": first, "end_date": first + timedelta(days=5)})
    prods = products(fc, lead_time_days=14.0, category=["tools", "other", "other", "other"])
    pol = plan(fc, PlanConfig(service_kind="cycle"), prods, campaigns=planned)
    assert (pol["campaign_uplift_pct"] > 0).tolist() == [True, True, False, False]
    assert pol["seasonal_uplift_pct"].iloc[2:].tolist() == pytest.approx([100 * (180 / 140 - 1)] * 2)


def test_monthly_campaign_window_reaches_the_periods_the_lead_time_touches() -> None:
    # Monthly periods, L = 45 days = 1.48 months: months 1 and 2 are touched, month 3 is not.
    months = pd.date_range("2026-04-01", periods=6, freq="MS")
    mean = np.array([[2.0, 2.0, 8.0, 2.0, 2.0, 2.0]] * 2)
    fc = DemandForecast(pd.DataFrame({"sku": ["S0", "S1"], "location": "main"}), months, mean,
                        np.full(2, np.inf), np.zeros(2), np.array(["test"] * 2, dtype=object))
    planned = pd.DataFrame({"sku": ["S0", "S1"], "category": "", "location": "", "kind": "promotion",
                            "start_date": [date(2026, 5, 20), date(2026, 6, 1)],
                            "end_date": [date(2026, 5, 25), date(2026, 6, 30)]})
    periods = campaign_periods(fc, planned, None, 365.25 / 12)
    assert periods.astype(int).tolist() == [[0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]]
    assert covered_within(periods, np.array([45 / (365.25 / 12)] * 2)).tolist() == [True, False]


def test_no_demand_orders_nothing_and_raises_no_min_alert() -> None:
    fc = forecast([0.0, 5.0])
    pol = plan(fc, PlanConfig(**CYCLE_50), products(fc, service_level=0.5))
    assert pol.loc[0, ["safety_stock", "reorder_point", "order_quantity", "max_level"]].eq(0).all()
    pos = stock(fc, on_hand=[0.0, 0.0])
    recs = recommend_orders(pol, pos, fc, AS_OF, PlanConfig(**CYCLE_50))
    assert recs["sku"].tolist() == ["S1"]
    alerts = build_alerts(pol, pos, fc, AS_OF)
    assert alerts["sku"].tolist() == ["S1"]


# --------------------------------------------------------------------------------------------
# positions and recommendations
# --------------------------------------------------------------------------------------------


def test_negative_stock_counts_as_zero_and_is_flagged() -> None:
    fc = forecast([5.0])
    pos = stock(fc, on_hand=[-5.0], on_order=[10.0], committed=[3.0]).iloc[0]
    assert pos["on_hand_recorded"] == -5.0 and bool(pos["negative_stock"])
    assert pos["on_hand"] == 0.0 and pos["allocated"] == 0.0 and pos["backordered"] == 3.0
    assert pos["inventory_position"] == 0.0 + 10.0 - 3.0
    known = stock(fc, on_hand=[8.0], committed=[3.0]).iloc[0]
    assert (known["allocated"], known["backordered"], known["inventory_position"]) == (
        3.0,
        0.0,
        5.0,
    )
    unknown = stock_positions(
        fc.keys,
        pd.DataFrame(columns=["sku", "location", "on_hand"]),
        pd.DataFrame(columns=["sku", "location", "quantity"]),
        pd.DataFrame(columns=["sku", "location", "quantity"]),
    )
    assert unknown["inventory_position"].isna().all()


def _crossing_case(policy: str, on_hand, **cfg_kwargs):
    # Poisson 5/day, L = 4, CSL 50% (z = 0): reorder point s = 20 exactly, fixed Q = 30.
    pack = cfg_kwargs.pop("pack", np.nan)
    fc = forecast([5.0] * len(on_hand))
    cfg = PlanConfig(**{**CYCLE_50, "policy": policy, **cfg_kwargs})
    pol = plan(fc, cfg, products(fc, service_level=0.5, pack_size=pack))
    return fc, cfg, pol, stock(fc, on_hand=on_hand)


def test_order_by_is_the_day_the_projected_position_crosses_the_reorder_point() -> None:
    fc, cfg, pol, pos = _crossing_case("sQ", [42.0, 15.0, 200.0])
    assert pol["reorder_point"].tolist() == [20.0] * 3
    recs = recommend_orders(pol, pos, fc, AS_OF, cfg).set_index("sku")
    # 42 - 5 j <= 20 first at j = 5 (17): order by day 5; 15 is below s today: urgent.
    assert recs.loc["S0", "order_by"] == AS_OF + timedelta(days=5)
    assert recs.loc["S0", "expected_arrival"] == AS_OF + timedelta(days=9)
    assert not recs.loc["S0", "urgent"]
    assert recs.loc["S1", "order_by"] == AS_OF and recs.loc["S1", "urgent"]
    assert "S2" not in recs.index  # 200 does not reach 20 within the 14-day lookahead
    # (s,Q): smallest multiple of Q lifting 17 above 20 -> 30; from 15 -> 30.
    assert recs["order_quantity"].tolist() == [30.0, 30.0]
    assert recs.loc["S0", "days_of_cover_now"] == pytest.approx(42 / 5)
    assert recs.loc["S0", "days_of_cover_after"] == pytest.approx((42 - 5 * 9 + 30) / 5)
    assert recs.loc["S0", "line_value"] == 30.0
    short = recommend_orders(pol, pos, fc, AS_OF, PlanConfig(**CYCLE_50, lookahead_days=3))
    assert short["sku"].tolist() == ["S1"]


def test_sq_orders_several_multiples_when_far_below() -> None:
    fc, cfg, pol, pos = _crossing_case("sQ", [-50.0])  # negative counts as 0: needs 1 x 30
    assert recommend_orders(pol, pos, fc, AS_OF, cfg)["order_quantity"].tolist() == [30.0]
    pos.loc[0, "inventory_position"] = -25.0  # e.g. backorders: floor(45 / 30) + 1 = 2 x Q
    assert recommend_orders(pol, pos, fc, AS_OF, cfg)["order_quantity"].tolist() == [60.0]


def test_ss_orders_up_to_s() -> None:
    fc, cfg, pol, pos = _crossing_case("sS", [42.0], pack=5.0)
    assert pol["max_level"].iloc[0] == 50.0 and pol["policy"].iloc[0] == "sS"
    rec = recommend_orders(pol, pos, fc, AS_OF, cfg).iloc[0]
    # at day 5 the position is 17: S - 17 = 33 -> packs of 5 -> 35
    assert rec["order_by"] == AS_OF + timedelta(days=5)
    assert rec["order_quantity"] == 35.0
    assert "up to 50 = 33 -> order 35" not in rec["explanation"]  # rounding is mentioned
    assert "up to 50 = 33, round to pack of 5 -> order 35" in rec["explanation"]


def test_rs_orders_s_minus_position() -> None:
    fc, cfg, pol, pos = _crossing_case("RS", [42.0, 60.0, 12.0], review_period_days=7.0)
    row = pol.iloc[0]
    # S covers L + R = 11 days: 55 (z = 0); the minimum is S less one review (35): 20.
    assert row["max_level"] == 55.0 and row["reorder_point"] == 20.0
    assert row["lead_time_demand"] == 55.0 and row["review_period_days"] == 7.0
    assert row["order_quantity"] == 35.0 and row["order_quantity_basis"] == "review_period"
    recs = recommend_orders(pol, pos, fc, AS_OF, cfg).set_index("sku")
    assert recs["order_quantity"].to_dict() == {"S0": 13.0, "S2": 43.0}  # 60 >= S: no order
    assert (recs["order_by"] == AS_OF).all()
    assert recs["urgent"].to_dict() == {"S0": False, "S2": True}
    assert recs.loc["S0", "explanation"].startswith(
        "(R,S) review every 7 d: lead-time demand 55 over 4+7 d"
    )


def test_recommendations_do_not_depend_on_row_order() -> None:
    fc, cfg, pol, pos = _crossing_case("sQ", [42.0, 15.0, 22.0])
    expected = recommend_orders(pol, pos, fc, AS_OF, cfg)
    shuffled = recommend_orders(pol.iloc[::-1], pos.iloc[[1, 2, 0]], fc, AS_OF, cfg)
    pd.testing.assert_frame_equal(expected, shuffled)


def test_explanation_says_why() -> None:
    # 10/day with a campaign inside L = 14, fill rate 98% (class A), packs of 12, MOQ 50.
    campaign = np.full(28, 10.0)
    campaign[3:7] = 20.0
    fc = forecast([campaign])
    cfg = PlanConfig(order_quantity_method="fixed", fixed_quantity=40.0)
    pol = plan(fc, cfg, products(fc, lead_time_days=14.0, moq=50.0, pack_size=12.0),
               campaigns=campaign_rows(S0=(3, 6)))
    pos = stock(fc, on_hand=[-4.0])
    rec = recommend_orders(pol, pos, fc, AS_OF, cfg).iloc[0]
    text = rec["explanation"]
    ss = round(pol["safety_stock"].iloc[0])
    for part in [
        "(s,Q) lead-time demand 180 over 14 d incl. campaign +29%",
        f"safety stock {ss} for 98% fill rate (class A)",
        "position 0 (on hand recorded -4, counted as 0)",
        f"vs reorder point {round(pol['reorder_point'].iloc[0])}",
        "x Q 60",
        "round to pack of 12",
        f"-> order {rec['order_quantity']:g}",
    ]:
        assert part in text, (part, text)
    assert rec["order_quantity"] % 12 == 0 and rec["order_quantity"] >= 50


def test_explanation_names_the_forecast_shape_not_a_campaign_where_none_is_planned() -> None:
    # The same peak without a campaign (a monthly part's repeated lumps look like this): the
    # buyer reads "seasonal peak"; a trough inside P (days 0-6 at 5, the usual weekly rate 10) a
    # dip: 105 / 140 - 1 = -25%.
    peak, trough = np.full(28, 10.0), np.full(28, 10.0)
    peak[3:7] = 20.0
    trough[:7] = 5.0
    fc = forecast([peak, trough])
    cfg = PlanConfig(order_quantity_method="fixed", fixed_quantity=40.0)
    pol = plan(fc, cfg, products(fc, lead_time_days=14.0))
    texts = recommend_orders(pol, stock(fc, on_hand=[0.0, 0.0]), fc, AS_OF, cfg)["explanation"]
    assert "lead-time demand 180 over 14 d incl. seasonal peak +29%," in texts.iloc[0]
    assert "lead-time demand 105 over 14 d incl. seasonal dip -25%," in texts.iloc[1]
    assert not texts.str.contains("campaign").any()


# --------------------------------------------------------------------------------------------
# alerts
# --------------------------------------------------------------------------------------------


def test_alerts() -> None:
    # s = 20 (5/day, L = 4, CSL 50%). S0: 10 < s; S1: 30 reaches 20 on day 2 (within L);
    # S2: 50 on hand, 60 ordered by customers; S3: -5 on hand; S4: 100, fine.
    fc = forecast([5.0] * 5)
    pol = plan(fc, PlanConfig(**CYCLE_50), products(fc, service_level=0.5))
    pos = stock(fc, on_hand=[10.0, 30.0, 50.0, -5.0, 100.0], committed=[0, 0, 60.0, 0, 0])
    alerts = build_alerts(pol, pos, fc, AS_OF)
    got = {(r.sku, r.kind): r for r in alerts.itertuples()}
    assert set(got) == {
        ("S0", "below_min"),
        ("S1", "will_cross_min"),
        ("S2", "orders_exceed_stock"),
        ("S2", "below_min"),
        ("S3", "negative_stock"),
        ("S3", "below_min"),
    }
    assert got["S1", "will_cross_min"].date == AS_OF + timedelta(days=2)
    assert "around 2026-03-03" in got["S1", "will_cross_min"].message
    assert got["S0", "below_min"].date == AS_OF and got["S0", "below_min"].severity == "high"
    assert "exceed stock 50 by 10" in got["S2", "orders_exceed_stock"].message
    assert "recorded as -5" in got["S3", "negative_stock"].message
    assert list(alerts.columns) == ["sku", "location", "kind", "severity", "date", "message"]


# --------------------------------------------------------------------------------------------
# exports
# --------------------------------------------------------------------------------------------


def _small_plan():
    fc = forecast([5.0, 5.0, 8.0, 1.0])
    cfg = PlanConfig(**CYCLE_50)
    prods = products(
        fc,
        service_level=0.5,
        supplier=["ACME", "ACME", "Bolt/Nut", np.nan],
        unit_cost=[2.0, 2.0, 3.0, 1.0],
    )
    pol = plan(fc, cfg, prods)
    pos = stock(fc, on_hand=[10.0, 25.0, 20.0, 0.0])
    return pol, recommend_orders(pol, pos, fc, AS_OF, cfg), build_alerts(pol, pos, fc, AS_OF)


def test_csv_exports_have_the_documented_columns(tmp_path) -> None:
    from forecast.planning import overrides

    pol, recs, alerts = _small_plan()
    pol = overrides.compute_policies_with_overrides(
        compute_policies, forecast([5.0, 5.0, 8.0, 1.0]), history(forecast([5.0, 5.0, 8.0, 1.0])),
        products(forecast([5.0, 5.0, 8.0, 1.0]), service_level=0.5), NO_SUPPLIERS,
        PlanConfig(**CYCLE_50), 1.0, None, overrides.active_overrides(None, pol, AS_OF))
    recs, alerts = overrides.annotate(recs, alerts, pol)
    assert set(EXPORTS["policies.csv"][1]) <= set(pol.columns)
    assert set(recs.columns) == set(EXPORTS["reorder_recommendations.csv"][1])
    assert set(alerts.columns) == set(EXPORTS["alerts.csv"][1])
    write_csv_exports({"policies": pol, "recommendations": recs, "alerts": alerts}, tmp_path)
    for name in ("policies.csv", "reorder_recommendations.csv", "alerts.csv"):
        header = pd.read_csv(tmp_path / name, nrows=0).columns.tolist()
        assert header == EXPORTS[name][1], name
    assert pd.read_csv(tmp_path / "policies.csv")["lead_time_sd_source"].eq("product").all()


def test_purchasing_workbook_summary_and_supplier_sheets(tmp_path) -> None:
    _, recs, _ = _small_plan()
    # S0 (10 < 20) urgent, S1 (25) on day 1, S2 (20 <= 20) urgent, S3 (5/day: 1/day) from 0.
    assert len(recs) == 4
    path = write_purchasing_workbook(recs, tmp_path / "orders.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert next(iter(sheets)) == "summary"
    assert sorted(sheets) == ["(no supplier)", "ACME", "Bolt_Nut", "summary"]
    summary = sheets["summary"].set_index("supplier")
    assert summary.loc["ACME", "lines"] == 2 and summary.loc["Bolt/Nut", "lines"] == 1
    assert summary.loc["ACME", "spend"] == pytest.approx(2 * 30 * 2.0)
    assert summary.loc["Bolt/Nut", "spend"] == pytest.approx(30 * 3.0)
    assert summary.loc["ACME", "urgent_lines"] == 1 and summary.loc["Bolt/Nut", "urgent_lines"] == 1
    assert summary.loc["total", "spend"] == pytest.approx(recs["line_value"].sum())
    assert summary.drop(index="total")["spend"].sum() == pytest.approx(recs["line_value"].sum())
    acme = sheets["ACME"]
    assert acme["sku"].tolist() == ["S0", "S1"]
    assert acme.columns.tolist() == [
        c for c in EXPORTS["reorder_recommendations.csv"][1] if c != "supplier"
    ]


def test_workbook_keeps_a_fractional_quantity_as_the_csv_shows_it(tmp_path) -> None:
    from openpyxl import load_workbook

    _, recs, _ = _small_plan()
    recs = recs.copy()
    first = recs.index[recs["supplier"].eq("ACME")][0]  # ACME has two lines: S0, S1
    recs.loc[first, ["order_quantity", "on_hand"]] = [13.2, 2.125]  # kilograms
    write_csv_exports({"recommendations": recs}, tmp_path)
    csv = pd.read_csv(tmp_path / "reorder_recommendations.csv").set_index("sku")
    sku = recs.loc[first, "sku"]
    book = load_workbook(write_purchasing_workbook(recs, tmp_path / "orders.xlsx"))
    sheet = book["ACME"]
    header = [c.value for c in sheet[1]]
    row = [c for c in sheet[2]]
    quantity, on_hand = row[header.index("order_quantity")], row[header.index("on_hand")]
    assert row[header.index("sku")].value == sku
    assert quantity.value == csv.loc[sku, "order_quantity"] == 13.2
    assert on_hand.value == csv.loc[sku, "on_hand"] == 2.125
    assert quantity.number_format == "#,##0.###"
    # The other line's whole quantity stays a whole number shown without decimals.
    second = [c for c in sheet[3]]
    assert float(second[header.index("order_quantity")].value).is_integer()
    assert second[header.index("order_quantity")].number_format == "#,##0"


# --------------------------------------------------------------------------------------------
# whole units, the per-SKU floor under a pooled class, negative safety stock in words
# --------------------------------------------------------------------------------------------


def test_whole_unit_items_get_whole_levels_and_fractional_ones_keep_decimals() -> None:
    # Poisson 4/day over L = 9 days, cycle service 95%: s = 36 + 1.6449 x 6 = 45.87 -> 46.
    fc = forecast([4.0, 4.0])
    cfg = PlanConfig(service_kind="cycle", order_quantity_method="days_of_cover",
                     days_of_cover=3.3)
    pol = plan(fc, cfg, products(fc, lead_time_days=9.0, service_level=0.95,
                                 fractional=[False, True])).set_index("sku")
    whole, kg = pol.iloc[0], pol.iloc[1]
    assert kg["reorder_point"] == pytest.approx(36.0 + 6.0 * inv.safety_factor_cycle_service(0.95))
    assert kg["order_quantity"] == pytest.approx(13.2)  # 3.3 days x 4
    assert whole["reorder_point"] == 46.0 and whole["order_quantity"] == 14.0
    assert whole["max_level"] == 60.0
    assert whole["safety_stock"] == pytest.approx(46.0 - 36.0)  # what the whole level holds
    # Rounding up keeps at least the target: the fill rate only grows with s.
    assert whole["reorder_point"] >= kg["reorder_point"]


def test_no_sku_is_planned_more_than_the_floor_under_its_class_level() -> None:
    # The pooled test's class C, with a tighter floor: the erratic SKUs were planned far under
    # 90%; with a floor of 5 points none is under 85%, and the class still meets 90%.
    fc = forecast(
        [400.0, 100.0, 3.0, 3.0, 3.0, 3.0, 2.0], size=[np.inf, np.inf, np.inf, 8.0, 2.0, 0.5, 1.0]
    )
    prods = products(fc, lead_time_days=7.0)
    loose = plan(fc, PlanConfig(order_quantity_method="days_of_cover", days_of_cover=7.0,
                                sku_fill_floor_points=0.4), prods)
    tight = plan(fc, PlanConfig(order_quantity_method="days_of_cover", days_of_cover=7.0,
                                sku_fill_floor_points=0.05), prods)
    c = (tight["abc_class"] == "C").to_numpy()
    assert loose.loc[c, "planned_fill_rate"].min() < 0.85  # without the floor: sacrificed
    assert tight.loc[c, "planned_fill_rate"].min() >= 0.85 - 1e-9
    daily = tight.loc[c, "mean_daily_demand"]
    achieved = (daily * tight.loc[c, "planned_fill_rate"]).sum() / daily.sum()
    assert achieved >= 0.9 - 1e-9
    with pytest.raises(ValueError, match="sku_fill_floor_points"):
        PlanConfig(sku_fill_floor_points=1.5)


def test_a_negative_safety_stock_is_explained_in_a_buyers_words() -> None:
    # Poisson 2/day, L = 4: mu_P = 8; Q = 120 days of cover caps at 240: the order alone gives
    # far more than 90% fill, so s sits under the lead-time demand.
    fc = forecast([2.0])
    cfg = PlanConfig(service_levels={"A": 0.9, "B": 0.9, "C": 0.9},
                     order_quantity_method="days_of_cover", days_of_cover=120.0)
    pol = plan(fc, cfg, products(fc, fractional=False))
    assert pol["safety_stock"].iloc[0] < 0
    recs = recommend_orders(pol, stock(fc, on_hand=0.0), fc, AS_OF, cfg)
    text = recs["explanation"].iloc[0]
    assert "(below 0: each order of 240 covers 120 days of demand, so a reorder point under the " \
           "lead-time demand still meets the target)" in text, text


def test_purchasing_workbook_formats_for_a_buyer(tmp_path) -> None:
    """Dates as Excel dates, whole units, money with 2 decimals and the currency, rates as
    percentages, frozen headers, filters, fitted widths; an idle supplier listed with 0 lines."""
    import openpyxl

    _, recs, _ = _small_plan()
    scorecard = pd.DataFrame({"supplier": ["ACME", "Bolt/Nut", "IDLE"], "on_time_rate": [0.9, 0.5, 1.0],
                              "purchase_orders": [10, 4, 0]})
    path = write_purchasing_workbook(recs, tmp_path / "orders.xlsx", scorecard=scorecard, currency="EUR")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "summary"
    summary = book["summary"]
    header = [c.value for c in summary[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in summary.iter_rows(min_row=2, values_only=True)}
    assert rows["IDLE"]["lines"] == 0 and rows["IDLE"]["spend"] == 0
    assert list(rows)[-1] == "total" and rows["total"]["lines"] == len(recs)
    spend = summary.cell(row=2, column=header.index("spend") + 1)
    assert spend.number_format == '#,##0.00 "EUR"'
    acme = book["ACME"]
    names = [c.value for c in acme[1]]
    first = {n: acme.cell(row=2, column=i + 1) for i, n in enumerate(names)}
    assert first["order_by"].is_date and first["order_by"].number_format == "yyyy-mm-dd"
    assert isinstance(first["order_quantity"].value, int) and first["order_quantity"].number_format == "#,##0"
    assert first["line_value"].number_format == '#,##0.00 "EUR"'
    assert first["days_of_cover_now"].number_format == "#,##0.0"
    rate = book["supplier scorecard"]
    rate_names = [c.value for c in rate[1]]
    assert rate.cell(row=2, column=rate_names.index("on_time_rate") + 1).number_format == "0.0%"
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
    width = acme.column_dimensions[openpyxl.utils.get_column_letter(names.index("explanation") + 1)].width
    # Excel stores a width in characters plus its cell padding (under one character)
    assert width == pytest.approx(60, abs=0.75)  # the longest column is capped (and wraps)
    assert acme.column_dimensions["A"].width == pytest.approx(max(len("sku"), 2) + 2, abs=0.75)
