"""Tests for forecast.planning.sales_models: flash-sale caps and available-to-promise, pre-order
forecasts and first purchases, dropship items; and the pipeline on the demo that has all three.

Small constructed forecasts (constant means, known dispersion) give hand-computable answers;
Monte Carlo checks use an independent seed and a tolerance of a few standard errors.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import Frequency, Panel
from forecast.ingest.contract import FLASH_SALE
from forecast.planning import sales_models as sm
from forecast.planning.policies import (
    PlanConfig,
    build_alerts,
    compute_policies,
    recommend_orders,
    stock_positions,
)

AS_OF = date(2026, 3, 1)  # forecast period 0 is 2026-03-02
NO_SUPPLIERS = pd.DataFrame(columns=["supplier", "lead_time_days", "lead_time_sd_days", "order_cost"])


def forecast(means, *, skus, locations=None, size=np.inf, level_var=1e-12, horizon=28) -> DemandForecast:
    rows = [np.full(horizon, float(m)) if np.ndim(m) == 0 else np.asarray(m, float) for m in means]
    n = len(rows)
    return DemandForecast(
        keys=pd.DataFrame({"sku": skus, "location": locations or ["main"] * n}),
        dates=pd.date_range(AS_OF + timedelta(days=1), periods=horizon, freq="D"),
        mean=np.vstack(rows),
        size=np.broadcast_to(np.asarray(size, float), (n,)).copy(),
        level_var=np.broadcast_to(np.asarray(level_var, float), (n,)).copy(),
        model=np.full(n, "test", dtype=object),
    )


def flash_campaign(sku="A", start="2026-03-05", end="2026-03-09", stock=40.0, category="", location=""):
    return pd.DataFrame({
        "sku": [sku], "category": [category], "location": [location],
        "start_date": [pd.Timestamp(start)], "end_date": [pd.Timestamp(end)],
        "kind": [FLASH_SALE], "discount_pct": [30.0], "stock_quantity": [stock],
    })


def products(skus, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"sku": skus})
    defaults = {"category": "x", "supplier": "SUP", "lead_time_days": 7.0, "lead_time_sd_days": 0.0,
                "unit_cost": 1.0, "moq": np.nan, "pack_size": np.nan, "service_level": 0.95,
                "preorder": False, "launch_date": pd.NaT, "dropship": False}
    for name, value in {**defaults, **columns}.items():
        frame[name] = value
    return frame


# -- flash sales: the cap ------------------------------------------------------------------------
def test_cap_paths_sells_through_the_stock_and_stops() -> None:
    paths = np.array([[[3.0, 4.0, 5.0, 6.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0]]])
    out = sm.cap_paths(paths, np.array([0]), np.array([1]), np.array([4]), np.array([7.0]))
    # path 1: window 4 + 5 + 6 = 15 > 7: 4, then 3, then nothing; path 2: 3 < 7, untouched
    assert out[0, 0].tolist() == [3.0, 4.0, 3.0, 0.0, 2.0]
    assert out[0, 1].tolist() == [1.0] * 5
    assert paths[0, 0, 2] == 5.0  # the input is not changed


@pytest.fixture(scope="module")
def capped():
    """A at 10/day (NB size 5, level variance 0.05), a 5-day flash sale 03-05..03-09 (periods
    3-7, expected demand 50) with 40 units set aside; B untouched."""
    fc = forecast([10.0, 3.0], skus=["A", "B"], size=[5.0, np.inf], level_var=[0.05, 1e-12])
    windows = sm.flash_sale_windows(flash_campaign(), fc.keys, products(["A", "B"]), fc.dates, 1.0, AS_OF)
    out, summary = sm.cap_flash_sales(fc, windows, sm.SalesModelConfig(cap_paths=4000, seed=3))
    return fc, windows, out, summary


def test_flash_sale_window_in_forecast_periods(capped) -> None:
    _, windows, _, _ = capped
    assert windows[["sku", "location", "row", "start", "stop", "stock_quantity"]].to_dict("records") == [
        {"sku": "A", "location": "main", "row": 0, "start": 3, "stop": 8, "stock_quantity": 40.0}]


def test_flash_sale_cap_holds_on_sample_paths_and_window_sums(capped) -> None:
    fc, _, out, summary = capped
    paths = out.sample_paths(3000, np.random.default_rng(11))
    uncapped = fc.sample_paths(3000, np.random.default_rng(11))
    sale = paths[0, :, 3:8].sum(axis=1)
    assert sale.max() == 40.0 and (sale == 40.0).mean() > 0.3  # the cap binds, never exceeded
    np.testing.assert_array_equal(paths[0, :, :3], uncapped[0, :, :3])  # before the sale
    np.testing.assert_array_equal(paths[0, :, 8:], uncapped[0, :, 8:])  # after it
    np.testing.assert_array_equal(paths[1], uncapped[1])  # another series
    # E[min(X, 40)] from independent paths of the uncapped model vs the stored capped figure
    truth = np.minimum(uncapped[0, :, 3:8].sum(axis=1), 40.0)
    row = summary.iloc[0]
    assert row["forecast_uncapped"] == pytest.approx(50.0)
    assert row["forecast_capped"] == pytest.approx(truth.mean(), abs=3 * truth.std() / np.sqrt(3000))
    assert row["cap_factor"] == pytest.approx(row["forecast_capped"] / 50.0)
    assert row["sellout_probability"] == pytest.approx(
        (uncapped[0, :, 3:8].sum(axis=1) >= 40).mean(), abs=0.04)
    # daily means scaled inside the window only
    np.testing.assert_allclose(out.mean[0, 3:8], 10.0 * row["cap_factor"])
    np.testing.assert_array_equal(out.mean[0, :3], 10.0)
    np.testing.assert_array_equal(out.mean[1], fc.mean[1])
    # window sums: the sale window never above the stock; its moments those of min(X, 40)
    sale_q = out.window_quantiles(np.array([3.0, 3.0]), np.array([5.0, 5.0]), (0.5, 0.99))
    assert sale_q[0.99][0] == 40.0 and sale_q[0.5][0] <= 40.0
    mean, sd = out.window_moments(np.array([3.0, 0.0]), np.array([5.0, 28.0]))
    assert mean[0] == pytest.approx(row["forecast_capped"])
    assert sd[0] == pytest.approx(truth.std(), rel=0.08)
    assert mean[1] == pytest.approx(84.0)  # B: unchanged
    whole, whole_sd = out.window_moments(np.zeros(2), np.full(2, 28.0))
    _, base_sd = fc.window_moments(np.zeros(2), np.full(2, 28.0))
    assert whole[0] == pytest.approx(280.0 - 50.0 + row["forecast_capped"])
    assert whole_sd[0] < base_sd[0] and whole_sd[1] == pytest.approx(base_sd[1])
    # daily quantiles never above the stock either
    assert (out.quantiles([0.99])[0.99][0, 3:8] <= 40.0).all()


def test_cap_is_deterministic_and_restored_from_the_stored_rows(capped) -> None:
    fc, windows, out, summary = capped
    again, summary2 = sm.cap_flash_sales(fc, windows, sm.SalesModelConfig(cap_paths=4000, seed=3))
    pd.testing.assert_frame_equal(summary, summary2)
    np.testing.assert_array_equal(again.mean, out.mean)
    stored = DemandForecast(fc.keys, fc.dates, out.mean, fc.size, fc.level_var, fc.model)
    restored = sm.restore_caps(stored, summary, 1.0, sm.SalesModelConfig(cap_paths=4000, seed=3))
    np.testing.assert_allclose(restored.base_mean, fc.mean)
    a = restored.window_moments(np.zeros(2), np.full(2, 10.0))
    b = out.window_moments(np.zeros(2), np.full(2, 10.0))
    np.testing.assert_allclose(a, b)


def test_flash_sale_windows_cover_category_locations_and_skip_ended_sales() -> None:
    fc = forecast([5.0] * 4, skus=["A", "A", "B", "C"], locations=["n", "s", "n", "n"])
    prods = products(["A", "B", "C"], category=["x", "x", "y"])
    campaigns = pd.concat([
        flash_campaign(sku="", category="x", stock=20.0),  # every x SKU at every location
        flash_campaign(sku="C", start="2026-02-20", end="2026-03-01"),  # ended
        flash_campaign(sku="C", start="2026-04-10", end="2026-04-12", location="n"),  # beyond
        flash_campaign(sku="A", start="2026-03-20", end="2026-03-21", location="s").assign(kind="promotion"),
    ], ignore_index=True)
    windows = sm.flash_sale_windows(campaigns, fc.keys, prods, fc.dates, 1.0, AS_OF)
    got = windows[["sku", "location", "start", "stop"]].to_records(index=False).tolist()
    assert got == [("A", "n", 3, 8), ("A", "s", 3, 8), ("B", "n", 3, 8), ("C", "n", -1, -1)]
    _, summary = sm.cap_flash_sales(fc, windows)
    beyond = summary[summary["sku"] == "C"].iloc[0]
    assert np.isnan(beyond["forecast_capped"]) and beyond["stock_quantity"] == 40.0


# -- flash sales: available to promise -------------------------------------------------------------
def test_cumulative_atp_hand_worked_case() -> None:
    """on hand 100, open orders 30, safety stock 10, a PO of 50 on day 10, regular demand
    5/day, sale from day 3, next possible receipt day 14:
    A(d) = 100 - 30 - 10 - 5d + 50 [d >= 10]: A(3) = 45, A(9) = 15, A(10) = 60, A(14) = 40,
    so 15 can be promised (tightest on day 9, just before the PO).
    A recommended order of 20 on day 5 lifts A(d >= 5) by 20: 35."""
    receipts = np.zeros((2, 14))
    receipts[:, 9] = 50.0
    receipts[1, 4] = 20.0
    atp, day = sm.cumulative_atp(np.full(2, 100.0), np.full(2, 30.0), np.full(2, 10.0), receipts,
                                 np.full((2, 14), 5.0), np.array([3, 3]), np.array([14, 14]))
    assert atp.tolist() == [15.0, 35.0] and day.tolist() == [9, 9]
    # a sale starting after the next possible receipt is checked on its start day only
    atp, day = sm.cumulative_atp(np.array([100.0]), np.array([30.0]), np.array([10.0]), receipts[:1],
                                 np.full((1, 14), 5.0), np.array([12]), np.array([12]))
    assert atp.tolist() == [50.0] and day.tolist() == [12]  # 60 - 60 + 50
    # never negative
    atp, _ = sm.cumulative_atp(np.array([10.0]), np.array([30.0]), np.array([0.0]), receipts[:1] * 0,
                               np.full((1, 14), 5.0), np.array([1]), np.array([5]))
    assert atp.tolist() == [0.0]


def _promise(stock: float, recs: pd.DataFrame | None = None, lead_time_days: float = 14.0) -> pd.DataFrame:
    # the sale uplift (30/day on 03-04..03-06) is not regular demand: the baseline rate 5 is
    mean = np.full(28, 5.0)
    mean[2:5] = 30.0
    fc = forecast([mean], skus=["A"])
    flash = pd.DataFrame({"sku": ["A"], "location": ["main"], "start_date": [pd.Timestamp("2026-03-04")],
                          "end_date": [pd.Timestamp("2026-03-06")], "stock_quantity": [stock]})
    policies = pd.DataFrame({"sku": ["A"], "location": ["main"], "safety_stock": [10.0],
                             "lead_time_days": [lead_time_days]})
    positions = pd.DataFrame({"sku": ["A"], "location": ["main"], "on_hand": [100.0], "committed": [30.0]})
    pos = pd.DataFrame({"sku": ["A"], "location": ["main"], "expected_date": [pd.Timestamp("2026-03-11")],
                        "quantity": [50.0]})
    recs = recs if recs is not None else pd.DataFrame(columns=["sku", "location", "expected_arrival", "order_quantity"])
    return sm.flash_sale_promise(flash, fc, policies, positions, pos, recs, AS_OF)


def test_flash_sale_promise_and_alert_on_frames() -> None:
    from forecast.publish.exports import EXPORTS

    assert list(_promise(40.0).columns) == EXPORTS["flash_sales.csv"][1]
    row = _promise(40.0).iloc[0]
    assert row["max_promisable"] == 15.0 and row["max_promisable_confirmed"] == 15.0
    assert row["shortfall"] == 25.0 and row["binding_date"] == date(2026, 3, 10)
    assert row["next_receipt_date"] == date(2026, 3, 15)
    assert row["verdict"] == ("set-aside 40 exceeds what can be promised (15): the sale would "
                              "backorder 25 units of other orders (tightest on 2026-03-10); "
                              "set aside at most that")
    alerts = sm.flash_sale_alerts(_promise(40.0))
    assert alerts[["sku", "kind", "severity", "date"]].to_dict("records") == [
        {"sku": "A", "kind": "flash_sale_overcommitted", "severity": "high", "date": date(2026, 3, 4)}]
    assert alerts["message"].iloc[0].startswith(
        "A@main: flash sale 2026-03-04 to 2026-03-06: set-aside 40 exceeds what can be promised (15)")
    recs = pd.DataFrame({"sku": ["A"], "location": ["main"], "expected_arrival": [pd.Timestamp("2026-03-06")],
                         "order_quantity": [20.0]})
    ok = _promise(30.0, recs).iloc[0]
    assert ok["max_promisable"] == 35.0 and ok["max_promisable_confirmed"] == 15.0
    assert ok["shortfall"] == 0.0 and ok["verdict"].startswith("ok if the recommended orders arrive")
    assert sm.flash_sale_alerts(_promise(30.0, recs)).empty
    assert _promise(10.0).iloc[0]["verdict"] == "ok: set-aside 10 within the 15 that can be promised"
    # lead time 2 days: only the start day counts (A = 100 - 30 - 10 - 3 x 5 = 45), and a sale
    # starting 03-04 can still get an extra order placed by 03-02
    late = _promise(40.0, lead_time_days=2.0).iloc[0]
    assert late["next_receipt_date"] == date(2026, 3, 3) and late["max_promisable"] == 45.0
    assert late["verdict"] == "ok: set-aside 40 within the 45 that can be promised"
    assert _promise(60.0, lead_time_days=2.0).iloc[0]["verdict"].endswith(
        "set aside at most that, or order 15 more by 2026-03-02 to arrive before the start")


# -- pre-orders --------------------------------------------------------------------------------
LAUNCH = pd.Timestamp("2026-03-15")


@pytest.fixture(scope="module")
def preorder_case():
    """Peers A (weekly pattern, mean 10) and B (flat 20) in category x; P launches 03-15 with
    37 units pre-ordered at 'main' from 02-20 (10 days to as-of); Q launches beyond the horizon
    with 7 units; D is dropship."""
    weekly = np.tile([6.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0], 4)
    fc = forecast([weekly, 20.0, 4.0], skus=["A", "B", "D"], size=[8.0, 8.0, 8.0], level_var=[0.01, 0.03, 0.02])
    prods = products(["A", "B", "D", "P", "Q"], lead_time_days=[7.0, 7.0, 7.0, 7.0, 10.0],
                     preorder=[False, False, False, True, True],
                     launch_date=[pd.NaT, pd.NaT, pd.NaT, LAUNCH, pd.Timestamp("2026-05-01")],
                     dropship=[False, False, True, False, False])
    history = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5"], "customer_id": "c",
        "sku": ["P", "P", "P", "P", "Q"], "location": "main",
        "quantity": [10.0, 20.0, 7.0, 5.0, 7.0],
        "order_date": pd.to_datetime(["2026-02-20", "2026-02-25", "2026-03-01", "2026-02-22", "2026-02-25"]),
        "status": ["open", "open", "open", "cancelled", "open"],
    })
    open_lines = history[history["status"] == "open"].reset_index(drop=True)
    cfg = sm.SalesModelConfig()
    out, signal = sm.add_preorder_series(fc, prods, history, open_lines, AS_OF, 1.0, cfg)
    return fc, prods, history, open_lines, out, signal


def test_preorder_series_get_an_early_forecast(preorder_case) -> None:
    fc, _, _, _, out, signal = preorder_case
    assert out.keys.to_records(index=False).tolist()[-2:] == [("P", "main"), ("Q", "main")]
    p = signal.set_index("sku").loc["P"]
    assert p["preorder_units"] == 37.0 and p["open_units"] == 37.0  # the cancelled line is out
    assert p["window_days"] == 10.0 and p["preorder_rate"] == pytest.approx(3.7)
    assert p["conversion"] == 5.0 and p["conversion_source"] == "default"
    assert p["daily_rate"] == pytest.approx(18.5)
    row = out.mean[3]
    launch = out.dates.get_loc(LAUNCH)
    assert (row[:launch] == 0).all() and (row[launch:] > 0).all()
    # category profile: A and B (D is dropship) summed, over the sum of their means (10 + 20)
    shape = (fc.mean[0] + fc.mean[1]) / 30.0
    np.testing.assert_allclose(row[launch:], 18.5 * shape[launch:])
    assert out.size[3] == 8.0 and out.level_var[3] == 0.25  # medians, level var floored
    assert out.model[3] == sm.PREORDER_MODEL
    assert (out.mean[4] == 0).all()  # Q launches after the horizon


def _plan(out: DemandForecast, prods: pd.DataFrame, open_lines: pd.DataFrame):
    cfg = PlanConfig(service_kind="cycle")
    planned = out.take(sm.stocked_rows(out.keys, prods))
    history = np.tile(planned.mean[:, :1], (1, 60))
    policies = compute_policies(planned, history, prods, NO_SUPPLIERS, cfg)
    # P has a stock record of 0; Q none (counts as 0 for the first purchase)
    inventory_rows = pd.DataFrame({"sku": ["A", "B", "P"], "location": "main", "on_hand": [5.0, 300.0, 0.0]})
    positions = stock_positions(planned.keys, inventory_rows, pd.DataFrame(columns=["sku", "location", "quantity"]),
                                open_lines)
    recs = recommend_orders(policies, positions, planned, AS_OF, cfg)
    alerts = build_alerts(policies, positions, planned, AS_OF)
    return planned, policies, positions, recs, alerts


def test_first_purchase_covers_the_preorders(preorder_case) -> None:
    _, prods, history, open_lines, out, _ = preorder_case
    planned, policies, positions, recs, alerts = _plan(out, prods, open_lines)
    inputs = {"products": prods, "customer_orders": open_lines, "order_history": history,
              "purchase_orders": pd.DataFrame(columns=["sku", "location", "expected_date", "quantity"])}
    result = sm.adjust_plan(policies, positions, recs, alerts, planned, inputs,
                            pd.DataFrame(columns=sm.FLASH_SALE_COLUMNS), AS_OF)
    firsts = result.recommendations.set_index("sku")
    # P: 37 waiting + demand of the 7 days after launch + z sigma, nothing on hand or on order
    launch = planned.dates.get_loc(LAUNCH)
    m = planned.mean[planned.keys.index[planned.keys["sku"] == "P"][0], launch:launch + 7]
    k, v = 8.0, 0.25
    sigma = np.sqrt((m + m**2 * (1 + v) / k).sum() + v * m.sum() ** 2)
    expected = 37.0 + m.sum() + stats.norm.ppf(0.95) * sigma
    p = firsts.loc["P"]
    assert p["order_quantity"] == pytest.approx(expected)
    assert p["order_quantity"] > 37.0
    assert p["order_by"] == date(2026, 3, 8) and p["expected_arrival"] == date(2026, 3, 15)
    assert not p["urgent"]
    assert p["explanation"].startswith(
        f"pre-order: 37 units ordered by customers before launch 2026-03-15 + forecast {m.sum():.0f} "
        "for the first 7 d after launch (18.5/d after launch = 37 pre-ordered over 10 d x conversion 5")
    # Q launches beyond the horizon: its 10-day cover at the post-launch rate, 7 units over a
    # 5-day window counted as the minimum 7 days: 1/day x 5 = 5/day, 50
    q = firsts.loc["Q"]
    assert q["order_by"] == date(2026, 4, 21)
    assert q["explanation"].split(" + forecast ")[1].startswith("50 for the first 10 d after launch (5.0/d")
    # P's regular order and its min / open-order alerts gave way to the first purchase
    assert (result.recommendations["sku"] == "P").sum() == 1 and (recs["sku"] == "P").any()
    kinds = set(result.alerts.loc[result.alerts["sku"] == "P", "kind"])
    assert "orders_exceed_stock" in set(alerts.loc[alerts["sku"] == "P", "kind"])
    assert kinds == {"preorder_first_purchase"}
    assert len(result.preorders) == 2 and len(result.first_purchases) == 2
    assert list(result.first_purchases.columns) == list(recs.columns)


def test_conversion_from_past_launches() -> None:
    """Three launched pre-order SKUs sold 4x their pre-order rate: the estimate is 4; with
    only two launches the default applies."""
    dates = pd.date_range("2026-01-01", "2026-03-01", freq="D")
    launches = pd.to_datetime(["2026-01-20", "2026-02-01", "2026-02-10"])
    rates = np.array([1.0, 2.0, 0.5])  # pre-order units a day over the 10 days before launch
    demand = np.full((3, len(dates)), np.nan)
    lines = []
    for i, (launch, rate) in enumerate(zip(launches, rates, strict=True)):
        demand[i, dates >= launch] = 4.0 * rate
        lines.append({"sku": f"N{i}", "location": "main", "quantity": 10 * rate,
                      "order_date": launch - pd.Timedelta(days=10), "status": "shipped"})
    panel = Panel(pd.DataFrame({"sku": ["N0", "N1", "N2"], "location": "main"}), dates, demand,
                  np.nan_to_num(demand), np.zeros_like(demand, bool), np.full_like(demand, np.nan),
                  Frequency("D", "D", 1.0, 7))
    prods = products(["N0", "N1", "N2"], preorder=True, launch_date=launches)
    history = pd.DataFrame(lines)
    assert sm.estimate_preorder_conversion(prods, history, panel, AS_OF) == (
        pytest.approx(4.0), "history (3 launches)")
    two = sm.SalesModelConfig(preorder_min_launches=4)
    assert sm.estimate_preorder_conversion(prods, history, panel, AS_OF, two) == (5.0, "default")


# -- dropship ----------------------------------------------------------------------------------------
def test_dropship_items_get_no_policy_recommendation_or_simulation(preorder_case) -> None:
    _, prods, _, open_lines, out, _ = preorder_case
    planned, policies, positions, recs, alerts = _plan(out, prods, open_lines)
    assert "D" in set(out.keys["sku"])  # the forecast is kept (the supplier's volume)
    for frame in (planned.keys, policies, positions, recs, alerts):
        assert "D" not in set(frame["sku"])
    stored = sm.planning_forecast(out, pd.DataFrame(columns=sm.FLASH_SALE_COLUMNS), prods)
    assert "D" not in set(stored.keys["sku"]) and len(stored.keys) == len(out.keys) - 1
    # a flash sale on a dropship item is passed to the supplier: nothing to check here
    flash = pd.DataFrame({"sku": ["D"], "location": ["main"], "start_date": [pd.Timestamp("2026-03-05")],
                          "end_date": [pd.Timestamp("2026-03-06")], "stock_quantity": [10.0]})
    row = sm.flash_sale_promise(flash, planned, policies, positions, open_lines.iloc[0:0].rename(
        columns={"order_date": "expected_date"}), recs, AS_OF, dropship=sm.dropship_skus(prods)).iloc[0]
    assert row["verdict"].startswith("dropship item") and np.isnan(row["max_promisable"])


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="preorder_conversion"):
        sm.SalesModelConfig(preorder_conversion=0)
    with pytest.raises(ValueError, match="cap_paths"):
        sm.SalesModelConfig(cap_paths=10)


# -- the pipeline on the demo ------------------------------------------------------------------------
def test_demo_run_has_flash_sales_preorders_and_dropship(demo_run) -> None:
    from forecast.ingest.published import read_snapshot

    settings, summary = demo_run
    data = read_snapshot(settings.snapshot_dir, ("products", "campaigns", "forecasts", "policies",
                                                 "recommendations", "risk", "alerts", "flash_sales",
                                                 "customer_orders"))
    prods = data["products"]
    dropship = set(prods.loc[prods["dropship"], "sku"])
    preorder = prods[prods["preorder"]]
    assert dropship and len(preorder) and (data["campaigns"]["kind"] == FLASH_SALE).any()
    for name in ("policies", "recommendations", "risk"):
        assert not dropship & set(data[name]["sku"]), name
    assert dropship <= set(data["forecasts"]["sku"])
    flash = data["flash_sales"]
    assert len(flash) and (flash["forecast_capped"] <= flash["stock_quantity"] + 1e-9).all()
    assert flash["max_promisable"].notna().all() and flash["verdict"].str.len().gt(0).all()
    assert (settings.exports_dir / "flash_sales.csv").exists()
    fc = data["forecasts"].merge(preorder[["sku", "launch_date"]], on="sku")
    assert len(fc) and (fc.loc[fc["date"] < fc["launch_date"], "mean"] == 0).all()
    recs = data["recommendations"]
    firsts = recs[recs["explanation"].str.startswith("pre-order:")]
    assert set(firsts["sku"]) == set(preorder["sku"])
    waiting = data["customer_orders"].query("status == 'open'").groupby(["sku", "location"])["quantity"].sum()
    for r in firsts.itertuples():
        assert r.order_quantity >= waiting.get((r.sku, r.location), 0.0)
    kinds = set(data["alerts"].loc[data["alerts"]["sku"].isin(preorder["sku"]), "kind"])
    assert kinds == {"preorder_first_purchase"}
    plan = summary.steps["plan"]
    assert plan["flash_sales"] == len(flash) and plan["first_purchases"] == len(firsts)


def test_flash_sales_command_and_report_section(demo_run) -> None:
    from typer.testing import CliRunner

    from forecast.cli import app

    settings, summary = demo_run
    result = CliRunner().invoke(app, ["flash-sales", "--out", str(settings.out_dir)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Flash sales (" in result.output and "Pre-order first purchases" in result.output
    assert "Dropship SKUs" in result.output
    report = (settings.reports_dir / f"run_{summary.run_id}.html").read_text(encoding="utf-8")
    section = report.split("<h2>Flash sales and pre-orders</h2>")[1].split("</section>")[0]
    assert "flash sales" in section and "first purchases of pre-order products" in section
    assert "dropship SKUs" in section
