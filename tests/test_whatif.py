"""What-if scenarios on the published snapshot."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecast.planning.policies import PlanConfig
from forecast.scenarios.whatif import Scenario, _delay, _PlanInputs, what_if
from tests.conftest import FAST_MODELS


def _pick_sku_without_planned_campaign(snapshot_dir) -> str:
    from forecast.ingest.published import read_snapshot

    data = read_snapshot(snapshot_dir, ("sales", "campaigns", "products"))
    last = pd.to_datetime(data["sales"]["date"]).max()
    planned = data["campaigns"][pd.to_datetime(data["campaigns"]["end_date"]) > last]
    busy_cats = set(planned.loc[planned["sku"] == "", "category"])
    busy = set(planned["sku"]) | set(data["products"].loc[data["products"]["category"].isin(busy_cats), "sku"])
    volume = data["sales"].groupby("sku")["quantity"].sum().sort_values(ascending=False)
    return next(s for s in volume.index if s not in busy)


def _campaign_what_if(snapshot_dir, first_day: int, last_day: int):
    """A 30% price promotion on a SKU with no planned campaign, from ``first_day`` to
    ``last_day`` after the last sales date: (its start, the what-if result)."""
    from forecast.ingest.published import read_snapshot

    sku = _pick_sku_without_planned_campaign(snapshot_dir)
    last = pd.to_datetime(read_snapshot(snapshot_dir, ("sales",))["sales"]["date"]).max()
    start, end = (last + pd.Timedelta(days=first_day)).date(), (last + pd.Timedelta(days=last_day)).date()
    return start, what_if(snapshot_dir, Scenario(
        skus=[sku], campaign={"start": start, "end": end, "kind": "price_promo", "discount_pct": 30}))


def test_a_planned_campaign_raises_the_forecast_inside_its_window(demo_run) -> None:
    settings, _ = demo_run
    start, result = _campaign_what_if(settings.snapshot_dir, 5, 12)
    c = result.comparison.set_index(["location", "metric"])
    inside = c.xs("forecast_in_campaign", level="metric")
    assert (inside["after"] > inside["before"] * 1.05).all()
    before = result.forecast_before.set_index(["location", "date"])["mean"]
    after = result.forecast_after.set_index(["location", "date"])["mean"]
    outside = before.index.get_level_values("date") < pd.Timestamp(start)
    assert (after[outside] == before[outside]).all()  # nothing changes before the campaign


def test_a_what_if_campaign_inside_the_lead_time_is_named_as_the_cause_of_the_uplift(demo_run) -> None:
    # Published: no campaign planned for the SKU, so any lift of its lead-time demand is the
    # forecast's shape; with the scenario's campaign from tomorrow the lift is the campaign's.
    settings, _ = demo_run
    _, result = _campaign_what_if(settings.snapshot_dir, 1, 3)
    before, after = result.policies_before, result.policies_after
    assert (before["campaign_uplift_pct"] == 0).all()
    assert (after["campaign_uplift_pct"] >= 5).all() and (after["seasonal_uplift_pct"] == 0).all()
    lifted = after["lead_time_demand"].to_numpy() / before["lead_time_demand"].to_numpy()
    assert (lifted > 1.05).all()


def test_supplier_delay_raises_reorder_points_and_a_shock_raises_demand(demo_run) -> None:
    settings, _ = demo_run
    sku = _pick_sku_without_planned_campaign(settings.snapshot_dir)
    delayed = what_if(settings.snapshot_dir, Scenario(skus=[sku], supplier_delay_days=10))
    rop = delayed.comparison[delayed.comparison["metric"] == "reorder_point"]
    assert (rop["after"] > rop["before"]).all()
    lead = delayed.comparison[delayed.comparison["metric"] == "lead_time_days"]
    assert lead["change"].to_numpy() == pytest.approx(10.0)
    shocked = what_if(settings.snapshot_dir, Scenario(skus=[sku], demand_shock_pct=50))
    total = shocked.comparison[shocked.comparison["metric"] == "forecast_total"]
    assert total["after"].to_numpy() == pytest.approx(1.5 * total["before"].to_numpy())


def test_unknown_sku_is_a_clear_error(demo_run) -> None:
    settings, _ = demo_run
    with pytest.raises(ValueError, match="no published forecast for NOPE"):
        what_if(settings.snapshot_dir, Scenario(skus=["NOPE"], demand_shock_pct=10))


# -- a supplier delay on a small hand-built snapshot ----------------------------------------------
AS_OF = date(2026, 5, 31)


def _day(offset: int) -> pd.Timestamp:
    return pd.Timestamp(AS_OF + timedelta(days=offset))


@pytest.fixture(scope="module")
def supplier_snapshot(tmp_path_factory: pytest.TempPathFactory):
    """ACME supplies A1 and A2 (quoted 7 days; its 10 receipts took 10), OTHER supplies B1.

    A1: 20 on hand, 100 on an ACME purchase order due in 5 days, three lines of 10 promised in
    8 days (vip, regular, new: the new customer's line waits for the purchase order).
    A2: nothing on hand or on order, one line of 5 promised in 15 days (waits for the order the
    plan recommends today, 10 days away). B1: an OTHER order due in 5 days, one line.
    The pipeline plans and publishes them (cycle service levels); returns the snapshot folder.
    """
    data = tmp_path_factory.mktemp("supplier_data")
    rng = np.random.default_rng(11)
    dates = pd.date_range(_day(-119), _day(0), freq="D")
    sales = pd.concat(
        [pd.DataFrame({"date": dates, "sku": sku, "location": "main",
                       "quantity": rng.poisson(5.0, dates.size).astype(float)})
         for sku in ("A1", "A2", "B1")],
        ignore_index=True,
    )
    order_dates = [_day(-100 + 7 * i) for i in range(10)]
    tables = {
        "sales": sales,
        "products": pd.DataFrame({"sku": ["A1", "A2", "B1"], "supplier": ["ACME", "ACME", "OTHER"],
                                  "category": "c", "unit_cost": 2.0, "lead_time_days": 7.0,
                                  "lead_time_sd_days": 1.0}),
        "suppliers": pd.DataFrame({"supplier": ["ACME", "OTHER"], "lead_time_days": 7.0,
                                   "lead_time_sd_days": 1.0, "order_cost": 50.0}),
        "inventory": pd.DataFrame({"sku": ["A1", "A2", "B1"], "location": "main",
                                   "on_hand": [20.0, 0.0, 30.0]}),
        "purchase_orders": pd.DataFrame({"po_id": ["P1", "P2"], "sku": ["A1", "B1"],
                                         "location": "main", "quantity": [100.0, 50.0],
                                         "expected_date": [_day(5), _day(5)],
                                         "supplier": ["ACME", "OTHER"]}),
        "customer_orders": pd.DataFrame({
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "customer_id": ["c-vip", "c-reg", "c-new", "c-reg", "c-reg"],
            "sku": ["A1", "A1", "A1", "A2", "B1"], "location": "main",
            "quantity": [10.0, 10.0, 10.0, 5.0, 40.0], "order_date": _day(-2),
            "promised_date": [_day(8), _day(8), _day(8), _day(15), _day(8)],
            "shipping": "standard", "unit_price": 5.0, "status": "open"}),
        "customers": pd.DataFrame({"customer_id": ["c-vip", "c-reg", "c-new"],
                                   "segment": ["vip", "regular", "new"], "lifetime_value": 100.0}),
        "receipts": pd.DataFrame({"po_id": [f"R{i}" for i in range(10)], "sku": "A1",
                                  "supplier": "ACME", "location": "main", "order_date": order_dates,
                                  "expected_date": [d + pd.Timedelta(days=10) for d in order_dates],
                                  "received_date": [d + pd.Timedelta(days=10) for d in order_dates],
                                  "quantity": 50.0}),
        "events": pd.DataFrame({"date": pd.to_datetime([]), "name": pd.Series([], dtype=str),
                                "kind": pd.Series([], dtype=str), "location": pd.Series([], dtype=str)}),
        "campaigns": pd.DataFrame({
            "start_date": pd.to_datetime([]), "end_date": pd.to_datetime([]),
            "sku": pd.Series([], dtype=str), "category": pd.Series([], dtype=str),
            "location": pd.Series([], dtype=str), "kind": pd.Series([], dtype=str),
            "discount_pct": pd.Series([], dtype=float)}),
    }
    for name, frame in tables.items():
        if len(frame):
            frame.to_csv(data / f"{name}.csv", index=False)
    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline

    settings = RunSettings(data_dir=data, out_dir=tmp_path_factory.mktemp("supplier_out"),
                           horizon=21, n_paths=100, models=FAST_MODELS, service_kind="cycle")
    run_pipeline(settings)
    return settings.snapshot_dir


def test_supplier_delay_shows_the_skus_and_customer_lines_it_hits(supplier_snapshot) -> None:
    result = what_if(supplier_snapshot, Scenario(skus=[], supplier="ACME", supplier_delay_days=10))
    skus = result.skus_hit.set_index("sku")
    assert sorted(skus.index) == ["A1", "A2"]  # OTHER's SKU is not in the scenario
    # A1's receipts (10 days) are the lead time before; the delay adds 10.
    assert skus["lead_time_days_before"].to_dict() == {"A1": 10.0, "A2": 10.0}
    assert skus["lead_time_days_after"].to_dict() == {"A1": 20.0, "A2": 20.0}
    assert (skus["reorder_point_after"] > skus["reorder_point_before"]).all()
    # Under the current plan the delay only hurts: A2 runs out either way (nothing on hand), so
    # it shows in the units short.
    assert (skus["stockout_probability_unchanged"] >= skus["stockout_probability_before"]).all()
    assert (skus["expected_backorders_unchanged"] > skus["expected_backorders_before"] + 10).all()

    lines = result.lines_hit.set_index("order_id")
    assert sorted(lines.index) == ["o3", "o4"]  # o1, o2 are served from stock now
    assert lines.loc["o3", "eta_before"] == AS_OF + timedelta(days=5)
    assert lines.loc["o3", "eta_after"] == AS_OF + timedelta(days=15)  # the moved purchase order
    assert lines.loc["o4", "eta_after"] - lines.loc["o4", "eta_before"] == timedelta(days=10)
    assert lines["newly_late"].all()
    segments = result.segments_hit.set_index("segment")
    assert segments.loc["all", ["lines", "lines_hit", "newly_late"]].tolist() == [4, 2, 2]
    assert segments.loc["new", ["lines", "lines_hit", "newly_late"]].tolist() == [1, 1, 1]
    assert segments.loc["regular", ["lines", "lines_hit", "newly_late"]].tolist() == [2, 1, 1]
    assert segments.loc["vip", ["lines", "lines_hit", "newly_late"]].tolist() == [1, 0, 0]
    assert segments.loc["all", "mean_shift_days"] == 10.0
    assert "supplier ACME: 10 days added to the lead time of 2 SKU(s) and to 1 open" in result.notes[0]


def test_an_unknown_supplier_names_the_known_ones(supplier_snapshot) -> None:
    with pytest.raises(ValueError, match="supplier 'NOPE' supplies no SKU .*known suppliers: ACME, OTHER"):
        what_if(supplier_snapshot, Scenario(skus=[], supplier="NOPE", supplier_delay_days=3))
    with pytest.raises(ValueError, match="needs at least one sku"):
        what_if(supplier_snapshot, Scenario(skus=[], supplier_delay_days=3))
    with pytest.raises(ValueError, match=">= 0 days"):
        what_if(supplier_snapshot, Scenario(skus=[], supplier="ACME", supplier_delay_days=-1))


def test_a_delay_moves_overdue_orders_from_today_and_only_the_flagged_ones() -> None:
    products = pd.DataFrame({"sku": ["A", "B"], "supplier": "S", "lead_time_days": [7.0, np.nan]})
    suppliers = pd.DataFrame({"supplier": ["S"], "lead_time_days": [np.nan]})
    pos = pd.DataFrame({"sku": ["A", "A", "B"], "location": "main", "quantity": 1.0,
                        "expected_date": [_day(-3), _day(4), _day(4)]})
    samples = pd.DataFrame({"sku": ["A", "B"], "lead_time_days": [9.0, 9.0], "count": [8, 8]})
    lead_times = pd.DataFrame({"sku": ["B"], "lead_time_days": [9.0], "lead_time_sd_days": [2.0]})
    base = _PlanInputs(products, suppliers, pos, lead_times, samples)
    after = _delay(base, ["A", "B"], {"A", "B"}, np.array([True, True, False]), 5.0, AS_OF,
                   PlanConfig(default_lead_time_days=14.0))
    assert pd.to_datetime(after.purchase_orders["expected_date"]).tolist() == [
        _day(5), _day(9), _day(4)]  # overdue: today + 5; due: + 5; not flagged: unchanged
    lead = after.products.set_index("sku")
    assert lead["lead_time_days"].to_dict() == {"A": 12.0, "B": 14.0}  # B: its receipts' 9 + 5
    assert lead.loc["B", "lead_time_sd_days"] == 2.0
    assert after.lead_times.empty  # the delayed SKUs now carry their lead time explicitly
    assert after.lead_samples["lead_time_days"].tolist() == [14.0, 14.0]


def test_the_cli_prints_the_skus_lines_and_segments_a_supplier_delay_hits(supplier_snapshot) -> None:
    from typer.testing import CliRunner

    from forecast.cli import app

    out = str(supplier_snapshot.parent)
    result = CliRunner().invoke(app, ["what-if", "--supplier", "ACME", "--delay-days", "10",
                                      "--out", out], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "What-if: supplier ACME +10 days: SKUs" in result.output
    assert "A1@main" in result.output and "10.0 -> 20.0" in result.output
    assert "Customer lines hit: 2 of 2" in result.output
    assert "2026-06-05" in result.output and "2026-06-15" in result.output  # o3's ETA moves
    assert "Customer lines by segment" in result.output
    narrow = CliRunner().invoke(app, ["what-if", "--supplier", "ACME", "--delay-days", "10",
                                      "--out", out], env={"COLUMNS": "100"})
    table = [line for line in narrow.output.splitlines() if line.startswith(("│", "┃", "┏", "└"))]
    assert table and all(len(line) <= 100 for line in table)
    cells = {c.strip() for line in table for c in line.split("│")}
    assert "A1@main" in cells and not any(c.endswith("…") for c in cells)
    refused = CliRunner().invoke(app, ["what-if", "--supplier", "ACME", "--out", out])
    assert refused.exit_code == 1 and "--supplier needs --delay-days" in refused.output


def test_delaying_the_least_reliable_demo_supplier(demo_run) -> None:
    from forecast.ingest.published import read_snapshot

    settings, _ = demo_run
    card = read_snapshot(settings.snapshot_dir, ("supplier_scorecard",))["supplier_scorecard"]
    worst = card[card["rating"] != "too_few_receipts"].sort_values("on_time_rate").iloc[0]
    result = what_if(settings.snapshot_dir, Scenario(skus=[], supplier=worst["supplier"],
                                                     supplier_delay_days=7))
    hit = result.skus_hit
    assert len(hit) > 0
    shift = hit["lead_time_days_after"] - hit["lead_time_days_before"]
    assert shift.to_numpy() == pytest.approx(7.0)
    assert (hit["reorder_point_after"] >= hit["reorder_point_before"]).all()
    # Same demand paths and orders, every receipt later (observed lead times shifted by 7, open
    # purchase orders moved): under the current plan no path can end up with more stock.
    measured = hit["stockout_probability_before"].notna()
    assert measured.any()
    assert (hit.loc[measured, "stockout_probability_unchanged"]
            >= hit.loc[measured, "stockout_probability_before"]).all()
    assert (hit.loc[measured, "expected_backorders_unchanged"]
            >= hit.loc[measured, "expected_backorders_before"] - 1e-9).all()
    assert result.notes[-1].startswith(f"supplier {worst['supplier']}: 7 days added")


# -- before is the published plan; a change of nothing changes nothing ---------------------------
#: What-if metric -> (export file, column) of the published plan it must equal.
EXPORTED = {
    "lead_time_days": ("policies.csv", "lead_time_days"),
    "lead_time_demand": ("policies.csv", "lead_time_demand"),
    "safety_stock": ("policies.csv", "safety_stock"),
    "reorder_point": ("policies.csv", "reorder_point"),
    "max_level": ("policies.csv", "max_level"),
    "planned_fill_rate": ("policies.csv", "planned_fill_rate"),
    "stockout_probability": ("backorder_risk.csv", "stockout_probability"),
    "fill_rate": ("backorder_risk.csv", "fill_rate"),
    "expected_backorders": ("backorder_risk.csv", "expected_backorders"),
    "stockout_before_receipt_probability": ("backorder_risk.csv",
                                            "stockout_before_receipt_probability"),
}


def _exported(settings, file: str) -> pd.DataFrame:
    return pd.read_csv(settings.exports_dir / file, dtype={"sku": str, "location": str})


@pytest.mark.parametrize("scenario", [
    Scenario(skus=[], supplier=None, demand_shock_pct=40),
    Scenario(skus=[], supplier="__worst__", supplier_delay_days=7),
], ids=["shock", "supplier_delay"])
def test_every_before_field_is_the_published_plan(demo_run, scenario: Scenario) -> None:
    settings, _ = demo_run
    if scenario.supplier == "__worst__":
        card = _exported(settings, "supplier_scorecard.csv")
        scenario.supplier = card.sort_values("on_time_rate").iloc[0]["supplier"]
    else:
        scenario.skus = sorted(_exported(settings, "policies.csv")["sku"].unique())[:4]
    result = what_if(settings.snapshot_dir, scenario)
    before = result.comparison.set_index(["sku", "location", "metric"])["before"]
    checked = 0
    for metric, (file, column) in EXPORTED.items():
        exported = _exported(settings, file).set_index(["sku", "location"])[column]
        mine = before.xs(metric, level="metric")
        assert len(mine) > 0, metric
        want = exported.reindex(mine.index)
        decimals = 4 if column in ("planned_fill_rate", "stockout_probability", "fill_rate",
                                   "stockout_before_receipt_probability") else 9
        assert np.allclose(mine.round(decimals), want, atol=10.0**-decimals, equal_nan=True), metric
        checked += int(mine.notna().sum())
    assert checked > 10
    # The recommended order: the published recommendations' total per series.
    recs = _exported(settings, "reorder_recommendations.csv").groupby(
        ["sku", "location"])["order_quantity"].sum()
    ordered = before.xs("recommended_order", level="metric")
    assert ordered.to_numpy() == pytest.approx(recs.reindex(ordered.index).fillna(0.0).to_numpy())
    forecast = _exported(settings, "forecast.csv").groupby(["sku", "location"])["mean"].sum()
    totals = before.xs("forecast_total", level="metric")
    assert totals.to_numpy() == pytest.approx(forecast.reindex(totals.index).to_numpy(), rel=1e-9)


def test_a_zero_change_changes_nothing(demo_run) -> None:
    settings, _ = demo_run
    skus = sorted(_exported(settings, "policies.csv")["sku"].unique())
    for scenario in (Scenario(skus=skus, demand_shock_pct=0.0),
                     Scenario(skus=skus[:3], supplier_delay_days=0.0,
                              campaign={"start": "2000-01-01", "end": "2000-01-02",
                                        "kind": "price_promo", "discount_pct": 20})):
        result = what_if(settings.snapshot_dir, scenario)
        c = result.comparison
        same = (c["before"] == c["after"]) | (c["before"].isna() & c["after"].isna())
        assert same.all(), c[~same].to_string()
        assert result.lines_hit.empty
        for col in ("reorder_point", "order_quantity", "max_level", "safety_stock"):
            assert np.array_equal(
                result.policies_after.set_index(["sku", "location"])[col].sort_index(),
                result.policies_before.set_index(["sku", "location"])[col].sort_index())


def test_json_writes_the_before_after_table(demo_run, tmp_path) -> None:
    from typer.testing import CliRunner

    from forecast.cli import app

    settings, _ = demo_run
    sku = min(_exported(settings, "policies.csv")["sku"].unique())
    path = tmp_path / "whatif.json"
    result = CliRunner().invoke(app, ["what-if", "--sku", sku, "--shock", "25", "--out",
                                      str(settings.out_dir), "--json", str(path)])
    assert result.exit_code == 0, result.output
    table = pd.read_json(path, orient="records")
    assert list(table.columns) == ["sku", "location", "field", "before", "after"]
    total = table[table["field"] == "forecast_total"]
    assert (total["sku"] == sku).all() and len(total) > 0
    assert total["after"].to_numpy() == pytest.approx(1.25 * total["before"].to_numpy())


def test_a_shock_scales_a_floored_slow_movers_lead_time_demand(demo_run, tmp_path) -> None:
    """On a snapshot whose SKU carries a rate floor far above its forecast (a slow mover planned
    on its long-run rate), a demand shock moves the lead-time demand the plan protects as it
    moves the forecast total: +100% against +50% is 2 / 1.5 of it (it stayed put before)."""
    import shutil

    settings, _ = demo_run
    sku = _pick_sku_without_planned_campaign(settings.snapshot_dir)
    snapshot = tmp_path / "snapshot"
    shutil.copytree(settings.snapshot_dir, snapshot)
    forecasts = pd.read_parquet(snapshot / "forecasts.parquet")
    floor = 10.0 * forecasts.loc[forecasts["sku"] == sku, "mean"].max()
    models = pd.read_parquet(snapshot / "forecast_models.parquet")
    models.loc[models["sku"] == sku, "rate_floor"] = floor
    models.to_parquet(snapshot / "forecast_models.parquet", index=False)

    def ltd(pct: float) -> pd.Series:
        result = what_if(snapshot, Scenario(skus=[sku], demand_shock_pct=pct))
        totals = result.comparison[result.comparison["metric"] == "forecast_total"]
        assert totals["after"].to_numpy() == pytest.approx((1 + pct / 100) * totals["before"].to_numpy())
        return result.policies_after.set_index("location")["lead_time_demand"]

    half, double = ltd(50.0), ltd(100.0)
    np.testing.assert_allclose(double / half, 2.0 / 1.5, rtol=1e-9)
    lead = what_if(snapshot, Scenario(skus=[sku], demand_shock_pct=50.0)).policies_after.set_index(
        "location")["lead_time_days"]
    np.testing.assert_allclose(half, 1.5 * floor * lead, rtol=1e-6)  # the floor, shocked
