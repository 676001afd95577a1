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


def test_a_planned_campaign_raises_the_forecast_inside_its_window(demo_run) -> None:
    settings, _ = demo_run
    sku = _pick_sku_without_planned_campaign(settings.snapshot_dir)
    from forecast.ingest.published import read_snapshot

    last = pd.to_datetime(read_snapshot(settings.snapshot_dir, ("sales",))["sales"]["date"]).max()
    start, end = (last + pd.Timedelta(days=5)).date(), (last + pd.Timedelta(days=12)).date()
    result = what_if(settings.snapshot_dir, Scenario(
        skus=[sku], campaign={"start": start, "end": end, "kind": "price_promo", "discount_pct": 30}),
        horizon=21, n_paths=50, models=FAST_MODELS)
    c = result.comparison.set_index(["location", "metric"])
    inside = c.xs("forecast_in_campaign", level="metric")
    assert (inside["after"] > inside["before"] * 1.05).all()
    before = result.forecast_before.set_index(["location", "date"])["mean"]
    after = result.forecast_after.set_index(["location", "date"])["mean"]
    outside = before.index.get_level_values("date") < pd.Timestamp(start)
    assert (after[outside] == before[outside]).all()  # nothing changes before the campaign


def test_supplier_delay_raises_reorder_points_and_a_shock_raises_demand(demo_run) -> None:
    settings, _ = demo_run
    sku = _pick_sku_without_planned_campaign(settings.snapshot_dir)
    delayed = what_if(settings.snapshot_dir, Scenario(skus=[sku], supplier_delay_days=10), n_paths=50,
                      models=FAST_MODELS)
    rop = delayed.comparison[delayed.comparison["metric"] == "reorder_point"]
    assert (rop["after"] > rop["before"]).all()
    lead = delayed.comparison[delayed.comparison["metric"] == "lead_time_days"]
    assert lead["change"].to_numpy() == pytest.approx(10.0)
    shocked = what_if(settings.snapshot_dir, Scenario(skus=[sku], demand_shock_pct=50), n_paths=50,
                      models=FAST_MODELS)
    total = shocked.comparison[shocked.comparison["metric"] == "forecast_total"]
    assert total["after"].to_numpy() == pytest.approx(1.5 * total["before"].to_numpy())


def test_unknown_sku_is_a_clear_error(demo_run) -> None:
    settings, _ = demo_run
    with pytest.raises(ValueError, match="no sales history for NOPE"):
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
    """
    folder = tmp_path_factory.mktemp("out") / "snapshot"
    folder.mkdir()
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
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_supplier_delay_shows_the_skus_and_customer_lines_it_hits(supplier_snapshot) -> None:
    result = what_if(supplier_snapshot, Scenario(skus=[], supplier="ACME", supplier_delay_days=10),
                     horizon=21, n_paths=100, models=FAST_MODELS,
                     plan=PlanConfig(service_kind="cycle"))
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
                                      "--out", out, "--horizon", "21", "--models",
                                      ",".join(FAST_MODELS)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "What-if: supplier ACME +10 days: SKUs" in result.output
    assert "A1@main" in result.output and "10.0 -> 20.0" in result.output
    assert "Customer lines hit: 2 of 2" in result.output
    assert "2026-06-05" in result.output and "2026-06-15" in result.output  # o3's ETA moves
    assert "Customer lines by segment" in result.output
    narrow = CliRunner().invoke(app, ["what-if", "--supplier", "ACME", "--delay-days", "10",
                                      "--out", out, "--horizon", "21", "--models",
                                      ",".join(FAST_MODELS)], env={"COLUMNS": "100"})
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
                                                     supplier_delay_days=7),
                     horizon=21, n_paths=50, models=FAST_MODELS)
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
