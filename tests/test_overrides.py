"""Planner overrides: each kind is used by the plan and shown beside the computed value."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from forecast.planning import overrides
from forecast.planning.plan_config import PlanConfig
from forecast.planning.policies import build_alerts, compute_policies, recommend_orders
from tests.test_planning import AS_OF, NO_SUPPLIERS, forecast, history, products, stock

KEYS = ["sku", "location"]

CFG = PlanConfig(service_kind="cycle", order_quantity_method="fixed", fixed_quantity=30.0)


def _plan(rows: list[dict], cfg: PlanConfig = CFG, means=(5.0, 8.0)):
    fc = forecast(list(means))
    prods = products(fc, service_level=0.9)
    table = pd.DataFrame(rows).reindex(columns=["sku", "location", "reorder_point", "max_level",
                                                "order_quantity", "service_level", "policy",
                                                "review_period_days", "expires", "reason"])
    active = overrides.active_overrides(table, fc.keys, AS_OF)
    pol = overrides.compute_policies_with_overrides(
        compute_policies, fc, history(fc), prods, NO_SUPPLIERS, cfg, 1.0, None, active)
    pos = stock(fc, on_hand=[12.0, 200.0])
    recs = recommend_orders(pol, pos, fc, AS_OF, cfg)
    alerts = build_alerts(pol, pos, fc, AS_OF)
    recs, alerts = overrides.annotate(recs, alerts, pol)
    plain = compute_policies(fc, history(fc), prods, NO_SUPPLIERS, cfg, 1.0)
    return pol.set_index("sku"), recs.set_index("sku"), alerts, plain.set_index("sku"), active


def test_min_override_replaces_the_reorder_point_and_says_so() -> None:
    pol, recs, alerts, plain, _ = _plan([{"sku": "S0", "location": "main", "reorder_point": 10.0}])
    s0 = pol.loc["S0"]
    computed = plain.loc["S0", "reorder_point"]
    assert s0["reorder_point"] == 10.0 and s0["recommended_reorder_point"] == pytest.approx(computed)
    assert s0["max_level"] == pytest.approx(10.0 + 30.0)  # (s,Q): max follows s + Q
    assert s0["safety_stock"] == pytest.approx(plain.loc["S0", "safety_stock"] + 10.0 - computed)
    assert s0["override"] == f"min 10 set by planner; recommended {overrides._number(computed)}"
    # position 12 > 10: not urgent now; the order comes when the projection reaches 10
    assert recs.loc["S0", "override"] == s0["override"]
    assert recs.loc["S0", "explanation"].endswith("; " + s0["override"])
    assert "vs reorder point 10:" in recs.loc["S0", "explanation"]
    assert pol.loc["S1", "override"] == "" and pol.loc["S1", "reorder_point"] == plain.loc["S1", "reorder_point"]
    assert alerts[alerts["sku"] == "S0"]["message"].str.contains("min 10 set by planner").all()


def test_max_override_sets_the_max_only() -> None:
    pol, _, _, plain, _ = _plan([{"sku": "S1", "location": "main", "max_level": 500.0}])
    s1 = pol.loc["S1"]
    assert s1["max_level"] == 500.0 and s1["reorder_point"] == pytest.approx(plain.loc["S1", "reorder_point"])
    assert s1["recommended_max_level"] == pytest.approx(plain.loc["S1", "max_level"])
    assert s1["override"].startswith("max 500 set by planner; recommended ")


def test_order_quantity_override_orders_multiples_of_it() -> None:
    pol, recs, _, plain, _ = _plan([{"sku": "S0", "location": "main", "order_quantity": 7.0}])
    s0 = pol.loc["S0"]
    rop = plain.loc["S0", "reorder_point"]
    assert s0["order_quantity"] == 7.0 and s0["order_quantity_basis"] == "override"
    assert s0["max_level"] == pytest.approx(rop + 7.0)
    assert recs.loc["S0", "order_quantity"] % 7.0 == 0
    assert "order quantity 7 set by planner; recommended 30" in recs.loc["S0", "explanation"]


def test_service_level_override_is_planned_again_at_that_level() -> None:
    pol, _, _, _, _ = _plan([{"sku": "S0", "location": "main", "service_level": 0.99}])
    fc = forecast([5.0, 8.0])
    alone = compute_policies(fc, history(fc), products(fc, service_level=[0.99, 0.9]), NO_SUPPLIERS, CFG, 1.0)
    s0 = pol.loc["S0"]
    assert s0["service_level"] == 0.99 and s0["service_source"] == "override"
    assert s0["reorder_point"] == pytest.approx(alone.iloc[0]["reorder_point"])
    assert s0["recommended_service_level"] == 0.9
    assert s0["override"].startswith("service level 99% set by planner; recommended 90%")


def test_policy_override_plans_that_series_with_its_policy() -> None:
    pol, _, _, _, _ = _plan([{"sku": "S1", "location": "main", "policy": "rs", "review_period_days": 7.0,
                              "reason": "weekly truck"}])
    fc = forecast([5.0, 8.0])
    rs = compute_policies(fc, history(fc), products(fc, service_level=0.9), NO_SUPPLIERS,
                          PlanConfig(service_kind="cycle", policy="RS", review_period_days=7.0), 1.0)
    s1 = pol.loc["S1"]
    assert s1["policy"] == "RS" and s1["review_period_days"] == 7.0
    assert s1["max_level"] == pytest.approx(rs.iloc[1]["max_level"])
    assert s1["recommended_policy"] == "sQ" and pol.loc["S0", "policy"] == "sQ"
    assert s1["override"] == "policy RS set by planner; recommended sQ (weekly truck)"
    with pytest.raises(ValueError, match="S1@main sets policy RS without review_period_days"):
        _plan([{"sku": "S1", "location": "main", "policy": "rs"}])


def test_expired_overrides_are_ignored_and_empty_location_means_every_location() -> None:
    yesterday = AS_OF - timedelta(days=1)
    pol, _, _, plain, active = _plan([
        {"sku": "S0", "location": "", "reorder_point": 3.0, "expires": AS_OF},
        {"sku": "S1", "location": "", "reorder_point": 4.0, "expires": yesterday},
    ])
    assert active.expired == 1
    assert pol.loc["S0", "reorder_point"] == 3.0
    assert pol.loc["S0", "override"].endswith(f"(until {AS_OF})")
    assert pol.loc["S1", "reorder_point"] == pytest.approx(plain.loc["S1", "reorder_point"])


def test_a_max_below_the_min_stops_the_plan_naming_the_sku() -> None:
    with pytest.raises(ValueError, match="S0@main max 5 is below its min 10"):
        _plan([{"sku": "S0", "location": "main", "reorder_point": 10.0, "max_level": 5.0}])


def test_overrides_file_flows_through_the_pipeline(demo_dir, tmp_path) -> None:
    """An overrides.csv in the data folder: policies.csv and the recommendations show it."""
    import shutil

    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline

    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    sku = pd.read_csv(data / "products.csv")["sku"].iloc[0]
    pd.DataFrame({"sku": [sku], "reorder_point": [999.0], "reason": ["launch"]}).to_csv(
        data / "overrides.csv", index=False)
    settings = RunSettings(data_dir=data, out_dir=tmp_path / "out", n_paths=50, models=("ets", "tsb"))
    run_pipeline(settings)
    policies = pd.read_csv(settings.exports_dir / "policies.csv")
    rows = policies[policies["sku"] == sku]
    assert len(rows) and (rows["reorder_point"] == 999).all()
    assert rows["override"].str.startswith("min 999 set by planner; recommended ").all()
    assert np.isfinite(rows["recommended_reorder_point"]).all()
    recs = pd.read_csv(settings.exports_dir / "reorder_recommendations.csv")
    assert recs[recs["sku"] == sku]["explanation"].str.contains("min 999 set by planner").all()
    assert (recs[recs["sku"] == sku]["urgent"]).all()


def test_what_if_keeps_the_planners_overrides(demo_dir, tmp_path) -> None:
    """A what-if replans under the overrides of the published plan: a pinned min stays pinned
    (the replanned one is the recommendation), a service level or policy set by the planner is
    the one replanned under, and a zero change shows the published plan exactly."""
    import shutil

    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline
    from forecast.scenarios.whatif import Scenario, what_if

    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    pin, level, policy = pd.read_csv(data / "products.csv")["sku"].iloc[:3]
    pd.DataFrame({"sku": [pin, level, policy], "reorder_point": [999.0, np.nan, np.nan],
                  "service_level": [np.nan, 0.995, np.nan], "policy": [None, None, "RS"],
                  "review_period_days": [np.nan, np.nan, 7.0]}).to_csv(data / "overrides.csv", index=False)
    settings = RunSettings(data_dir=data, out_dir=tmp_path / "out", n_paths=50, models=("ets", "tsb"))
    run_pipeline(settings)
    skus = [pin, level, policy]
    published = pd.read_csv(settings.exports_dir / "policies.csv").set_index(KEYS).sort_index()

    zero = what_if(settings.snapshot_dir, Scenario(skus=skus, demand_shock_pct=0.0))
    after = zero.policies_after.set_index(KEYS).sort_index()
    for col in ("reorder_point", "max_level", "order_quantity", "recommended_reorder_point"):
        assert np.allclose(after[col], published.loc[after.index, col]), col
    assert (after["override"] == published.loc[after.index, "override"].fillna("")).all()

    shocked = what_if(settings.snapshot_dir, Scenario(skus=skus, demand_shock_pct=60.0))
    after = shocked.policies_after.set_index(KEYS).sort_index()
    was = published.loc[after.index]
    rows = after.index.get_level_values("sku")
    assert (after.loc[rows == pin, "reorder_point"] == 999).all()
    assert (after.loc[rows == pin, "recommended_reorder_point"]
            > was.loc[rows == pin, "recommended_reorder_point"]).all()
    assert after.loc[rows == pin, "override"].str.startswith("min 999 set by planner; recommended ").all()
    assert (after.loc[rows == level, "service_level"] == 0.995).all()
    assert (after.loc[rows == level, "recommended_service_level"] < 0.995).all()
    assert (after.loc[rows == level, "reorder_point"] > after.loc[rows == level, "recommended_reorder_point"]).all()
    assert (after.loc[rows == policy, "policy"] == "RS").all()
    assert (after.loc[rows == policy, "review_period_days"] == 7).all()
    recs = shocked.recommendations_after
    assert recs[recs["sku"] == pin]["explanation"].str.contains("min 999 set by planner").all()
