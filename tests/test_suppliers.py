"""Supplier reliability: receipt statistics, the lead time the plan and the simulation use, and
the scorecard. Small frames built here; every expected figure is worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecast.backorders.simulation import SimulationConfig, empirical_lead_time_pmf, simulate
from forecast.forecasting.distribution import DemandForecast
from forecast.planning.policies import PlanConfig, compute_policies
from forecast.planning.suppliers import (
    MIN_RECEIPTS,
    ReliabilityConfig,
    estimate_lead_times,
    lead_time_statistics,
    receipt_lines,
    supplier_scorecard,
)
from tests.test_simulation import MIDPOINTS, _outstanding_pmf

AS_OF = date(2026, 3, 1)


def receipts(supplier: str, sku: str, lead_days, late_days=None, start: int = 0, quantity=10.0):
    """One receipt line per lead time: ordered on consecutive days before AS_OF (each its own
    PO), expected ``lead - late`` days after the order (so ``late`` days late; negative = early)."""
    lead = np.asarray(lead_days, dtype=float)
    late = np.zeros_like(lead) if late_days is None else np.asarray(late_days, dtype=float)
    order = pd.Timestamp(AS_OF) - pd.to_timedelta(60 + start + np.arange(lead.size), unit="D")
    return pd.DataFrame(
        {
            "po_id": [f"{supplier}-{sku}-{start + i}" for i in range(lead.size)],
            "sku": sku,
            "supplier": supplier,
            "order_date": order,
            "expected_date": order + pd.to_timedelta(lead - late, unit="D"),
            "received_date": order + pd.to_timedelta(lead, unit="D"),
            "quantity": quantity,
            "location": "main",
        }
    )


# -- receipt lines and statistics -----------------------------------------------------------------
def test_receipt_lines_measure_lead_time_and_lateness_inside_the_window() -> None:
    frame = pd.concat(
        [
            receipts("S", "A", [10, 12], late_days=[0, 3]),
            # received after the as-of date: not known yet
            pd.DataFrame({"po_id": ["future"], "sku": "A", "supplier": "S",
                          "order_date": [pd.Timestamp(AS_OF)],
                          "received_date": [pd.Timestamp(AS_OF) + pd.Timedelta(days=5)]}),
            # received more than a year before: outside the look-back window
            pd.DataFrame({"po_id": ["old"], "sku": "A", "supplier": "S",
                          "order_date": [pd.Timestamp("2024-12-01")],
                          "received_date": [pd.Timestamp("2025-01-01")]}),
        ],
        ignore_index=True,
    )
    lines = receipt_lines(frame, AS_OF)
    assert lines["po_id"].tolist() == ["S-A-0", "S-A-1"]
    assert lines["lead_time_days"].tolist() == [10.0, 12.0]
    assert lines["days_late"].tolist() == [0.0, 3.0]
    assert lines["on_time"].tolist() == [1.0, 0.0]
    everything = receipt_lines(frame, AS_OF, ReliabilityConfig(lookback_days=None))
    assert "old" in everything["po_id"].tolist() and "future" not in everything["po_id"].tolist()


def test_a_receipt_before_its_order_is_rejected_with_its_reason() -> None:
    frame = receipts("S", "A", [5.0])
    frame.loc[0, "received_date"] = frame.loc[0, "order_date"] - pd.Timedelta(days=1)
    with pytest.raises(ValueError, match=r"po S-A-0 sku A: received_date is before order_date"):
        receipt_lines(frame, AS_OF)
    with pytest.raises(ValueError, match="missing column"):
        receipt_lines(frame.drop(columns=["supplier"]), AS_OF)


def test_lead_time_statistics_known_answer() -> None:
    # lead times 8, 10, 12, 14, 16 days; the last two late by 2 and 6 days; quantities 10 .. 50
    frame = receipts("S", "A", [8, 10, 12, 14, 16], late_days=[0, -1, 0, 2, 6])
    frame["quantity"] = [10.0, 20, 30, 40, 50]
    stats = lead_time_statistics(receipt_lines(frame, AS_OF), ["supplier"]).iloc[0]
    assert stats["receipts"] == 5 and stats["purchase_orders"] == 5
    assert stats["lead_time_mean"] == pytest.approx(12.0)
    assert stats["lead_time_sd"] == pytest.approx(np.sqrt(40 / 4))  # sample s.d. (n - 1)
    assert stats["lead_time_p50"] == pytest.approx(12.0)
    assert stats["lead_time_p90"] == pytest.approx(15.2)  # rank 0.9 x 4 = 3.6: 14 + 0.6 x 2
    assert stats["on_time_rate"] == pytest.approx(3 / 5)
    assert stats["mean_days_late"] == pytest.approx(4.0)
    assert stats["late_units_share"] == pytest.approx(90 / 150)


# -- which lead time the plan uses ----------------------------------------------------------------
def test_own_receipts_then_the_suppliers_then_the_configured_lead_time() -> None:
    frame = pd.concat(
        [
            receipts("FAST", "A", [5] * 6 + [7] * 4),  # 10 POs of A: A's own figures
            receipts("FAST", "B", [9, 9, 11], start=20),  # 3 POs of B: pooled with A's
            receipts("FEW", "C", [30] * (MIN_RECEIPTS - 1)),  # too few: configured stays
            receipts("FAST", "D", [6] * 9, start=40),  # D's product names no supplier
        ],
        ignore_index=True,
    )
    products = pd.DataFrame({"sku": ["A", "B", "C", "D"],
                             "supplier": ["FAST", "FAST", "FEW", None]})
    est = estimate_lead_times(frame, products, AS_OF)
    per = est.per_sku.set_index("sku")
    assert per.index.tolist() == ["A", "B", "D"]
    assert per.loc["A", "basis"] == "sku" and per.loc["A", "lead_time_days"] == pytest.approx(5.8)
    assert per.loc["A", "lead_time_sd_days"] == pytest.approx(np.std([5] * 6 + [7] * 4, ddof=1))
    pooled = [5] * 6 + [7] * 4 + [9, 9, 11] + [6] * 9
    assert per.loc["B", "basis"] == "supplier"
    assert per.loc["B", "purchase_orders"] == 22
    assert per.loc["B", "lead_time_days"] == pytest.approx(np.mean(pooled))
    assert per.loc["D", "supplier"] == "FAST" and per.loc["D", "lead_time_days"] == 6.0
    assert per.loc["D", "lead_time_sd_days"] == 0.0
    samples = est.samples
    assert samples[samples["sku"] == "A"][["lead_time_days", "count"]].values.tolist() == [
        [5.0, 6], [7.0, 4]]
    assert samples.loc[samples["sku"] == "B", "count"].sum() == len(pooled)


def _flat_forecast(skus: list[str], rate: float = 10.0, horizon: int = 60) -> DemandForecast:
    n = len(skus)
    return DemandForecast(
        keys=pd.DataFrame({"sku": skus, "location": "main"}),
        dates=pd.date_range(AS_OF + timedelta(days=1), periods=horizon, freq="D"),
        mean=np.full((n, horizon), rate), size=np.full(n, np.inf), level_var=np.full(n, 1e-12),
        model=np.full(n, "test", dtype=object),
    )


def test_longer_real_lead_times_raise_the_reorder_point_and_too_few_keep_the_quote() -> None:
    # Both suppliers quote 7 days (s.d. 1). SLOW's 10 receipts took 14 days (s.d. 2);
    # FEW's 5 receipts took 30 days, too few to replace the quote.
    slow = [12, 14, 16, 14, 12, 16, 14, 14, 12, 16]
    frame = pd.concat([receipts("SLOW", "A", slow), receipts("FEW", "B", [30] * 5)],
                      ignore_index=True)
    products = pd.DataFrame({"sku": ["A", "B", "C"], "supplier": ["SLOW", "FEW", "QUOTED"],
                             "unit_cost": 1.0})
    suppliers = pd.DataFrame({"supplier": ["SLOW", "FEW", "QUOTED"], "lead_time_days": 7.0,
                              "lead_time_sd_days": 1.0, "order_cost": 50.0})
    fc = _flat_forecast(["A", "B", "C"])
    cfg = PlanConfig(service_kind="cycle")
    history = np.full((3, 100), 10.0)
    est = estimate_lead_times(frame, products, AS_OF)
    pol = compute_policies(fc, history, products, suppliers, cfg, lead_times=est.per_sku)
    pol = pol.set_index("sku")
    quoted = compute_policies(fc, history, products, suppliers, cfg).set_index("sku")
    assert pol.loc["A", "lead_time_days"] == pytest.approx(14.0)
    assert pol.loc["A", "lead_time_sd_days"] == pytest.approx(np.std(slow, ddof=1))
    assert pol.loc["A", ["lead_time_source", "lead_time_sd_source"]].tolist() == ["receipts"] * 2
    assert pol.loc["A", "lead_time_demand"] == pytest.approx(140.0)
    assert pol.loc["A", "reorder_point"] > quoted.loc["A", "reorder_point"] + 70
    for sku in ("B", "C"):  # too few receipts, or none: the quoted lead time and the same policy
        assert pol.loc[sku, "lead_time_days"] == 7.0
        assert pol.loc[sku, "lead_time_source"] == "supplier"
        assert pol.loc[sku, "reorder_point"] == pytest.approx(quoted.loc[sku, "reorder_point"])


# -- the simulation draws from the receipts -------------------------------------------------------
def _base_stock_run(samples: pd.DataFrame | None, *, level: int, lead: float, paths: int = 4000):
    horizon = 450
    fc = _flat_forecast(["A"], rate=1.0, horizon=horizon)
    keys = fc.keys
    policies = keys.assign(policy="sQ", reorder_point=level - 1.0, order_quantity=1.0,
                           max_level=float(level), review_period_days=0.0, lead_time_days=lead,
                           lead_time_sd_days=0.0)
    positions = keys.assign(on_hand=float(level), committed=0.0)
    no_po = pd.DataFrame(columns=["sku", "location", "quantity", "expected_date"])
    cfg = SimulationConfig(horizon_days=horizon, n_paths=paths, seed=3, warmup_days=50, workers=1)
    return simulate(fc, policies, positions, no_po, AS_OF, cfg, lead_time_samples=samples)


def test_empirical_lead_times_are_resampled_as_observed() -> None:
    # Receipts took 3 days three times and 8 days once; the policy row says 2 days, fixed.
    samples = pd.DataFrame({"sku": ["A", "A"], "lead_time_days": [3.0, 8.0], "count": [3, 1]})
    sim = _base_stock_run(samples, level=6, lead=2.0).averages.iloc[0]
    lead_pmf = np.zeros(9)
    lead_pmf[[3, 8]] = [0.75, 0.25]
    pipeline = _outstanding_pmf(1.0, lead_pmf, 0)
    units = np.arange(pipeline.size)
    from scipy import stats

    start = _outstanding_pmf(1.0, lead_pmf, 1)
    fill = np.mean([np.convolve(start, stats.poisson.pmf(units, u))[:6].sum()
                    for u in MIDPOINTS[::4]])
    assert sim["average_backorders"] == pytest.approx((np.maximum(units - 6, 0) * pipeline).sum(),
                                                      abs=0.01)
    assert sim["average_on_hand"] == pytest.approx((np.maximum(6 - units, 0) * pipeline).sum(),
                                                   abs=0.01)
    assert sim["fill_rate"] == pytest.approx(fill, abs=0.01)


def test_one_observed_lead_time_is_the_same_as_a_fixed_one() -> None:
    samples = pd.DataFrame({"sku": ["A"], "lead_time_days": [10.0], "count": [12]})
    observed = _base_stock_run(samples, level=12, lead=2.0, paths=200)
    fixed = _base_stock_run(None, level=12, lead=10.0, paths=200)
    pd.testing.assert_frame_equal(observed.risk, fixed.risk)
    other = pd.DataFrame({"sku": ["Z"], "lead_time_days": [10.0], "count": [12]})
    pd.testing.assert_frame_equal(  # samples of another SKU change nothing
        _base_stock_run(other, level=12, lead=2.0, paths=200).risk,
        _base_stock_run(None, level=12, lead=2.0, paths=200).risk,
    )


def test_weekly_periods_round_observed_days_to_weeks() -> None:
    keys = pd.DataFrame({"sku": ["A"], "location": "main"})
    samples = pd.DataFrame({"sku": "A", "lead_time_days": [2.0, 10.0, 24.0], "count": 1})
    has, pmf = empirical_lead_time_pmf(keys, samples, period_days=7.0)
    assert has.tolist() == [True]
    assert pmf[0].tolist() == pytest.approx([0, 2 / 3, 0, 1 / 3])  # 2 d -> 1 week (at least one)
    with pytest.raises(ValueError, match="count > 0"):
        empirical_lead_time_pmf(keys, samples.assign(count=0))


# -- scorecard ------------------------------------------------------------------------------------
def test_scorecard_rates_each_supplier_and_counts_open_and_dropship_lines() -> None:
    frame = pd.concat(
        [
            receipts("GOOD", "A", [7] * 10, late_days=[0] * 10),
            receipts("LATE", "B", [10] * 10, late_days=[3] * 5 + [0] * 5),
            receipts("SLOW", "C", [12] * 10, late_days=[0] * 10),
            receipts("NEW", "D", [5] * 3),
        ],
        ignore_index=True,
    )
    products = pd.DataFrame({
        "sku": ["A", "B", "C", "D", "E"], "supplier": ["GOOD", "LATE", "SLOW", "NEW", "LATE"],
        "lead_time_days": np.nan, "dropship": [False, False, False, False, True],
    })
    suppliers = pd.DataFrame({"supplier": ["GOOD", "LATE", "SLOW", "NEW", "IDLE"],
                              "name": ["Good Ltd", "Late Co", "Slow AG", "New Inc", "Idle"],
                              "lead_time_days": [7.0, 10.0, 7.0, 5.0, 3.0]})
    purchase_orders = pd.DataFrame({
        "po_id": ["P1", "P1", "P2"], "sku": ["B", "E", "A"], "location": "main",
        "quantity": [100.0, 5.0, 40.0], "supplier": [None, "LATE", None],
        "expected_date": [AS_OF - timedelta(days=2), AS_OF - timedelta(days=2),
                          AS_OF + timedelta(days=4)],
    })
    customer_orders = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"],
                                    "sku": ["E", "E", "E", "A"], "quantity": 1.0})
    card = supplier_scorecard(frame, products, suppliers, purchase_orders, customer_orders,
                              AS_OF).set_index("supplier")
    assert card.index.tolist() == ["GOOD", "IDLE", "LATE", "NEW", "SLOW"]
    assert card["rating"].to_dict() == {
        "GOOD": "reliable", "IDLE": "too_few_receipts", "LATE": "unreliable",
        "NEW": "too_few_receipts", "SLOW": "slower_than_quoted"}
    late = card.loc["LATE"]
    assert late["on_time_rate"] == pytest.approx(0.5) and late["mean_days_late"] == 3.0
    assert late["skus"] == 2 and late["dropship_skus"] == 1
    assert (late["open_pos"], late["open_units"], late["overdue_pos"], late["overdue_units"]) == (
        1, 105.0, 1, 105.0)
    assert late["dropship_open_lines"] == 3
    assert late["dropship_late_share"] == pytest.approx(0.5)
    assert late["dropship_lines_late_expected"] == pytest.approx(1.5)
    assert "50% on time" in late["verdict"] and "overdue" in late["verdict"]
    slow = card.loc["SLOW"]
    assert slow["lead_time_gap_days"] == pytest.approx(5.0) and slow["lead_time_used"] == "receipts"
    assert "12.0 d" in slow["verdict"] and "7 d quoted" in slow["verdict"]
    new = card.loc["NEW"]
    assert new["lead_time_used"] == "quoted" and np.isnan(new["dropship_late_share"])
    assert "needs 8" in new["verdict"]
    assert card.loc["GOOD", "open_pos"] == 1 and card.loc["GOOD", "overdue_pos"] == 0
    assert card.loc["IDLE", "receipts"] == 0 and card.loc["IDLE", "quoted_lead_time_days"] == 3.0


def test_scorecard_without_any_supplier_data_is_empty() -> None:
    empty = pd.DataFrame()
    card = supplier_scorecard(empty, pd.DataFrame({"sku": ["A"]}), empty, empty, empty, AS_OF)
    assert card.empty and "verdict" in card.columns


# -- the demo run -----------------------------------------------------------------------------------
def test_demo_run_plans_with_receipts_and_its_scorecard_matches_the_truth(demo_run, demo_dir) -> None:
    import json

    from forecast.ingest.published import read_snapshot
    from forecast.planning.suppliers import SCORECARD_COLUMNS

    settings, summary = demo_run
    truth = json.loads((demo_dir / "truth.json").read_text())
    snap = read_snapshot(settings.snapshot_dir, ("supplier_scorecard", "policies", "receipts"))
    card = snap["supplier_scorecard"].set_index("supplier")
    reliability = truth["supplier_reliability"]
    assert set(reliability) <= set(card.index)
    exported = pd.read_csv(settings.exports_dir / "supplier_scorecard.csv")
    assert exported.columns.tolist() == SCORECARD_COLUMNS and len(exported) == len(card)

    # The measured on-time rate agrees with the generator's within three standard errors for
    # every supplier with at least 30 purchase orders received (lead times are not compared:
    # the demo also holds orders back during stockout spells).
    checked = 0
    for supplier, params in reliability.items():
        row = card.loc[supplier]
        if row["purchase_orders"] < 30:
            continue
        n, p = row["purchase_orders"], params["on_time_probability"]
        assert abs(row["on_time_rate"] - p) < 3 * np.sqrt(p * (1 - p) / n), supplier
        checked += 1
    assert checked >= 3
    worst = min(reliability, key=lambda s: reliability[s]["on_time_probability"])
    assert card.loc[worst, "rating"] == "unreliable"

    # The SKU that moved to a new supplier has too few receipts from it: quoted lead time.
    switch = truth["supplier_switch"]
    assert card.loc[switch["to"], "rating"] == "too_few_receipts"
    policies = snap["policies"]
    assert (policies.loc[policies["sku"] == switch["sku"], "lead_time_source"] != "receipts").all()
    # A SKU with enough receipts of its own plans with their mean lead time (received - ordered).
    as_of = pd.Timestamp(summary.as_of)
    received = snap["receipts"].assign(
        lead=lambda r: (pd.to_datetime(r["received_date"]) - pd.to_datetime(r["order_date"])).dt.days,
        recent=lambda r: pd.to_datetime(r["received_date"]) > as_of - pd.Timedelta(days=365),
    )
    planned = policies[policies["lead_time_source"] == "receipts"].drop_duplicates("sku")
    own = received[received["recent"]].merge(planned[["sku", "supplier"]], on=["sku", "supplier"])
    means = own.groupby("sku")["lead"].agg(["mean", "size"])
    means = means[means["size"] >= MIN_RECEIPTS]
    assert len(means) >= 3
    by_sku = planned.set_index("sku")["lead_time_days"]
    assert by_sku[means.index].to_numpy() == pytest.approx(means["mean"].to_numpy())


def test_the_suppliers_command_prints_the_published_scorecard(demo_run) -> None:
    from typer.testing import CliRunner

    from forecast.cli import app
    from forecast.ingest.published import read_snapshot

    settings, _ = demo_run
    card = read_snapshot(settings.snapshot_dir, ("supplier_scorecard",))["supplier_scorecard"]
    result = CliRunner().invoke(app, ["suppliers", "--out", str(settings.out_dir)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Supplier scorecard ({len(card)} suppliers)" in result.output
    printed = " ".join(result.output.split())  # lines wrap at the terminal width
    for row in card.itertuples(index=False):
        assert " ".join(f"{row.supplier}: {row.verdict}".split()) in printed
