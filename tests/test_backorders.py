"""The backorder book: one row per open line, ETA history across runs, last notice, filters."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pandas as pd
import pytest

from forecast import pipeline
from forecast.backorders.allocation import allocate, open_order_lines
from forecast.backorders.book import (
    BOOK_COLUMNS,
    backorder_book,
    book_summary,
    eta_history_rows,
    filter_book,
)
from forecast.backorders.notifications import customer_notices, history_rows
from forecast.ingest.published import read_snapshot
from forecast.ingest.warehouse import Warehouse

AS_OF = date(2026, 11, 1)
CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "segment": ["vip", "regular", "new"],
                          "lifetime_value": 0.0})


def _orders() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": ["SO1", "SO2", "SO3", "SO4"],
        "customer_id": ["C1", "C2", "C3", "C3"],
        "sku": ["A", "A", "A", "B"],
        "location": "DC",
        "quantity": [2.0, 3.0, 4.0, 1.0],
        "order_date": [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3), date(2026, 10, 20)],
        "promised_date": [date(2026, 11, 5), date(2026, 11, 20), date(2026, 11, 5), None],
        "unit_price": 10.0,
    })


def _allocation(receipt_day: date, as_of: date = AS_OF) -> pd.DataFrame:
    stock = pd.DataFrame({"sku": ["A", "B"], "location": "DC", "on_hand": [1.0, 5.0]})
    receipts = pd.DataFrame({"sku": "A", "location": "DC", "date": [receipt_day],
                             "quantity": [4.0]})
    return allocate(_orders(), CUSTOMERS, stock, receipts, as_of, "fifo")


def test_book_has_every_line_with_its_eta_change_and_last_notice() -> None:
    first = _allocation(date(2026, 11, 10))
    told_first = history_rows(customer_notices(first), "run1", datetime(2026, 11, 1, 6))
    etas = eta_history_rows(first, "run1", AS_OF, datetime(2026, 11, 1, 6))
    # Next night the receipt slips by 4 days.
    second = _allocation(date(2026, 11, 14), date(2026, 11, 2))
    told_second = history_rows(customer_notices(second, told_first), "run2",
                               datetime(2026, 11, 2, 6))
    book = backorder_book(second, date(2026, 11, 2), etas, pd.concat([told_first, told_second]))
    assert list(book.columns) == BOOK_COLUMNS
    assert sorted(book["order_id"]) == ["SO1", "SO2", "SO3", "SO4"]
    by = book.set_index("order_id")
    # fifo: SO1 1 now + 1 on the receipt, SO2 3 on the receipt, SO3 no supply, SO4 allocated.
    assert by["status"].to_dict() == {"SO1": "partial", "SO2": "backordered",
                                      "SO3": "no_supply_planned", "SO4": "allocated"}
    assert by.loc["SO1", "previous_eta"] == date(2026, 11, 10)
    assert by.loc["SO1", "eta"] == date(2026, 11, 14) and by.loc["SO1", "eta_change_days"] == 4
    assert by.loc["SO2", "eta_change_days"] == 4
    assert pd.isna(by.loc["SO3", "eta_change_days"])  # no date then, no date now
    assert by.loc["SO4", "eta_change_days"] == 0  # allocated both nights: ships "today"
    assert by.loc["SO1", "days_waiting"] == 32  # 1 Oct to 2 Nov
    assert by.loc["SO1", "delay_days"] == 9 and by.loc["SO1", "late"]
    assert by.loc["SO3", "late"] and not by.loc["SO2", "late"] and not by.loc["SO4", "late"]
    assert by.loc["SO2", "segment"] == "regular"
    # What each customer heard last: SO1 the new date (run2), SO3 nothing new since run1.
    assert by.loc["SO1", "last_told_at"] == pd.Timestamp(2026, 11, 2, 6)
    assert by.loc["SO1", "last_told_eta"] == date(2026, 11, 14)
    assert by.loc["SO1", "last_told_kind"] == "delayed"
    assert by.loc["SO3", "last_told_at"] == pd.Timestamp(2026, 11, 1, 6)
    assert by.loc["SO3", "last_told_kind"] == "no_supply"
    assert pd.isna(by.loc["SO3", "last_told_eta"])
    assert pd.isna(by.loc["SO4", "last_told_at"])  # allocated, never told anything
    # The riskiest line first: SO3 has no supply (the curve's limit).
    assert book["order_id"].iloc[0] == "SO3"
    assert book["expected_revenue_lost"].is_monotonic_decreasing
    stats = book_summary(book)
    assert stats == {"lines": 4, "late": 2, "no_supply": 1, "eta_changed": 2,
                     "expected_revenue_lost": pytest.approx(book["expected_revenue_lost"].sum())}


def test_filters() -> None:
    book = backorder_book(_allocation(date(2026, 11, 10)), AS_OF)
    assert set(filter_book(book, skus=["B"])["order_id"]) == {"SO4"}
    assert set(filter_book(book, customers=["C3"])["order_id"]) == {"SO3", "SO4"}
    assert set(filter_book(book, segments=["VIP"])["order_id"]) == {"SO1"}
    assert set(filter_book(book, late_only=True)["order_id"]) == {"SO1", "SO3"}
    assert filter_book(book, skus=["A"], customers=["C3"], late_only=True)["order_id"].tolist() == [
        "SO3"]
    assert filter_book(book, skus=["nope"]).empty
    # Without history nothing changed and nobody was told.
    assert book["previous_eta"].isna().all() and book["last_told_at"].isna().all()


def test_one_policy_only_and_empty_input() -> None:
    both = pd.concat([_allocation(date(2026, 11, 10)),
                      _allocation(date(2026, 11, 10)).assign(policy="priority")])
    with pytest.raises(ValueError, match="one policy"):
        backorder_book(both, AS_OF)
    assert list(backorder_book(pd.DataFrame(columns=["policy"]), AS_OF).columns) == BOOK_COLUMNS


def test_eta_history_is_kept_and_a_retried_publish_records_once(tmp_path) -> None:
    first = _allocation(date(2026, 11, 10))
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        assert wh.eta_history().empty
        rows = eta_history_rows(first, "run1", AS_OF, datetime(2026, 11, 1, 6))
        assert wh.record_eta_history(rows) == 4
        assert wh.record_eta_history(rows) == 4  # a retry replaces, never doubles
        assert len(wh.table("eta_history")) == 4
        second = _allocation(date(2026, 11, 14), date(2026, 11, 2))
        wh.record_eta_history(eta_history_rows(second, "run2", date(2026, 11, 2),
                                               datetime(2026, 11, 2, 6)))
        latest = wh.eta_history().set_index("order_id")
        assert latest.loc["SO1", "run_id"] == "run2"
        before_run2 = wh.eta_history(exclude_run="run2").set_index("order_id")
        assert before_run2.loc["SO1", "eta"] == pd.Timestamp(2026, 11, 10)
        # Published-run pruning does not touch the history.
        for run in ("r3", "r4", "r5", "r6"):
            wh.publish(run, keep=3)
        assert len(wh.table("eta_history")) == 8


def test_demo_run_book_lists_every_open_line_once(demo_run) -> None:
    settings, summary = demo_run
    with Warehouse(settings.warehouse_path, read_only=True) as wh:
        book = wh.output("backorders")
        open_lines = open_order_lines(wh.table("customer_orders"))
        allocations = wh.output("allocations")
        curve = wh.output("cancellation_curve")
        history = wh.table("eta_history")
    assert len(open_lines) > 0 and len(book) == len(open_lines)
    assert not book.duplicated(["order_id", "sku", "location"]).any()
    assert set(book["policy"]) == {settings.allocation_policy}
    in_use = allocations[allocations["policy"] == settings.allocation_policy]
    merged = book.merge(in_use, on=["order_id", "sku", "location"], suffixes=("", "_alloc"))
    assert len(merged) == len(book)
    assert (merged["status"] == merged["status_alloc"]).all()
    never = pd.Timestamp(0)
    assert (merged["eta"].fillna(never) == merged["eta_alloc"].fillna(never)).all()
    assert merged["expected_revenue_lost"].equals(merged["expected_revenue_lost_alloc"])
    assert (book["days_waiting"] >= 0).all()
    # The history holds this run's ETAs; the curve used is recorded.
    assert set(history["run_id"]) >= {summary.run_id}
    assert (history["run_id"] == summary.run_id).sum() == len(book)
    assert len(curve) == 1 and curve["source"].iloc[0] in ("fitted", "default")
    exported = pd.read_csv(settings.exports_dir / "backorders.csv")
    assert list(exported.columns) == BOOK_COLUMNS and len(exported) == len(book)
    snapshot = read_snapshot(settings.snapshot_dir, ("backorders", "eta_history"))
    assert len(snapshot["backorders"]) == len(book) and len(snapshot["eta_history"]) >= len(book)
    # Every policy's allocation is there, retention losing the least.
    lost = allocations.groupby("policy")["expected_revenue_lost"].sum()
    assert set(lost.index) == {"fifo", "priority", "fair", "retention"}
    assert lost["retention"] <= lost.min() + 1e-6


def test_a_second_run_shows_how_each_eta_changed(demo_run, tmp_path) -> None:
    """Copy the demo run's warehouse, empty the stock, simulate and publish again."""
    settings, summary = demo_run
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(settings.warehouse_path, out / "warehouse.duckdb")
    second = settings.model_copy(update={"out_dir": out})
    with Warehouse(second.warehouse_path) as wh:
        first_book = wh.output("backorders")
        assert len(wh.table("inventory"))
        wh.con.execute("UPDATE inventory SET on_hand = 0")
    pipeline.simulate_step(second, "run-b")
    pipeline.publish_step(second, "run-b")
    with Warehouse(second.warehouse_path, read_only=True) as wh:
        book = wh.output("backorders")
        assert wh.published_run() == "run-b"
        assert set(wh.table("eta_history")["run_id"]) == {summary.run_id, "run-b"}
    assert book["previous_eta"].notna().any()
    then = first_book.set_index(["order_id", "sku", "location"])
    now = book.set_index(["order_id", "sku", "location"])
    assert now["previous_eta"].equals(then["eta"].reindex(now.index).rename("previous_eta"))
    change = (pd.to_datetime(now["eta"]) - pd.to_datetime(now["previous_eta"])).dt.days
    still_now = (now["status"] == "allocated") & (now["previous_status"] == "allocated")
    pd.testing.assert_series_equal(now["eta_change_days"],
                                   change.astype(float).where(~still_now, 0.0), check_names=False)
    # Lines allocated from stock in the first run now wait: their ETA moved later, and their
    # customers are told in this run.
    was_allocated = then["status"].reindex(now.index) == "allocated"
    moved = now[was_allocated & now["eta"].notna()]
    assert len(moved) and (moved["eta_change_days"] > 0).any()
    assert (now.loc[was_allocated & (now["status"] != "allocated"), "last_told_at"].notna()).all()
    assert (now["previous_status"] == then["status"].reindex(now.index)).all()


def test_backorders_command_prints_and_filters(demo_run) -> None:
    from typer.testing import CliRunner

    from forecast.cli import app

    settings, _ = demo_run
    with Warehouse(settings.warehouse_path, read_only=True) as wh:
        book = wh.output("backorders")
    runner = CliRunner(env={"COLUMNS": "250"})
    out = str(settings.out_dir)

    def run(*args: str) -> str:
        result = runner.invoke(app, ["backorders", "--out", out, "--limit", "1000", *args])
        assert result.exit_code == 0, result.output
        return result.output

    everything = run()
    assert f"{len(book):,} lines (" in everything and "Backorder book" in everything
    sku = str(book["sku"].iloc[0])
    only_sku = run("--sku", sku)
    assert f"{(book['sku'] == sku).sum():,} lines (" in only_sku
    customer = str(book["customer_id"].iloc[-1])
    assert f"{(book['customer_id'] == customer).sum():,} lines (" in run("--customer", customer)
    segment = str(book["segment"].iloc[0])
    assert f"{(book['segment'] == segment).sum():,} lines (" in run("--segment", segment)
    late = int(book["late"].sum())
    late_only = run("--late-only")
    assert (f"{late:,} lines ({late:,} late" in late_only) if late else (
        "no waiting order lines match" in late_only)
    assert "no waiting order lines match" in run("--sku", "NO-SUCH-SKU")
    simulated = runner.invoke(app, ["simulate", "--out", out, "--compare"])
    assert simulated.exit_code == 0 and "retention" in simulated.output
    assert "cancel loss" in simulated.output and "Cancellation curve" in simulated.output
