"""Intraday stock sync (forecast.sync): movements on top of the published plan, one alert per
crossing, release of arrived stock to waiting lines, idempotent reruns, atomic publish."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from forecast.config import RunSettings
from forecast.ingest.warehouse import Warehouse
from forecast.planning import movements
from forecast.sync import run_sync
from tests.conftest import FAST_MODELS

KEYS = ["sku", "location"]


@pytest.fixture(scope="module")
def planned(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A nightly plan (fifo allocation) on the small demo without its movements file."""
    from forecast.pipeline import run_pipeline

    data = tmp_path_factory.mktemp("sync-data")
    for path in demo_dir.iterdir():
        if path.name != "stock_movements.csv":
            shutil.copy(path, data / path.name)
    settings = RunSettings(data_dir=data, out_dir=tmp_path_factory.mktemp("sync-out"),
                           n_paths=50, models=FAST_MODELS, allocation_policy="fifo")
    summary = run_pipeline(settings)
    return settings, summary


@pytest.fixture()
def fresh(planned, tmp_path: Path) -> RunSettings:
    """A copy of the planned data and output folders, for a test to change."""
    settings, _ = planned
    data, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(settings.data_dir, data)
    shutil.copytree(settings.out_dir, out, symlinks=True)
    return settings.model_copy(update={"data_dir": data, "out_dir": out})


def _published(settings: RunSettings) -> dict[str, pd.DataFrame]:
    with Warehouse(settings.warehouse_path, read_only=True) as wh:
        return {"run": wh.published_run(), "positions": wh.output("positions"),
                "policies": wh.output("policies"), "allocations": wh.output("allocations"),
                "alerts": wh.stock_alerts(), "as_of": wh.output("forecast_models")["history_end"].max()}


def _write_movements(settings: RunSettings, rows: list[dict]) -> Path:
    path = settings.data_dir / "stock_movements.csv"
    pd.DataFrame(rows, columns=["movement_id", "sku", "location", "kind", "quantity", "moved_at",
                                "reference"]).to_csv(path, index=False)
    return path


def _crossable(plan: dict) -> pd.Series:
    """A series with demand whose position is above its minimum by less than its stock."""
    frame = plan["positions"].merge(plan["policies"][[*KEYS, "reorder_point", "mean_daily_demand"]], on=KEYS)
    gap = frame["inventory_position"] - frame["reorder_point"]
    ok = frame[(gap > 1) & (frame["on_hand"] > gap + 1) & (frame["mean_daily_demand"] > 0)]
    assert len(ok), "the demo has a well-stocked series above its minimum"
    return ok.sort_values(KEYS).iloc[0]


def _sale_under_min(settings: RunSettings, plan: dict, movement_id: str, clock: str) -> tuple[pd.Series, dict]:
    """A sale the day after the plan that takes a well-stocked series one unit under its
    minimum (written as the movements file); returns the series and the movement."""
    s = _crossable(plan)
    day = pd.Timestamp(plan["as_of"]) + pd.Timedelta(days=1)
    units = float(s["inventory_position"] - s["reorder_point"] + 1)
    sale = {"movement_id": movement_id, "sku": s["sku"], "location": s["location"], "kind": "sale",
            "quantity": -units, "moved_at": f"{day:%Y-%m-%d}T{clock}", "reference": ""}
    _write_movements(settings, [sale])
    return s, sale


def test_a_crossing_raises_one_alert_a_rerun_none_and_a_recovery_closes_it(fresh: RunSettings) -> None:
    plan = _published(fresh)
    s, sale = _sale_under_min(fresh, plan, "M1", "10:40:00")
    day, units = pd.Timestamp(plan["as_of"]) + pd.Timedelta(days=1), -sale["quantity"]

    first = run_sync(fresh)
    assert first.published and first.movements_new == 1
    # the published policies re-applied: only the series that moved can change its order
    changed = set(map(tuple, first.recommendations[KEYS].to_numpy()))
    assert changed <= {(s["sku"], s["location"])}
    assert first.changes[KEYS].apply(tuple, axis=1).tolist() == [(s["sku"], s["location"])]
    mine = first.raised[(first.raised["sku"] == s["sku"]) & (first.raised["location"] == s["location"])]
    assert mine["kind"].tolist() == ["below_min"]
    assert mine["level"].iloc[0] == pytest.approx(s["inventory_position"] - units)
    assert str(mine["opened_at"].iloc[0]) == f"{day:%Y-%m-%d} 10:40:00"
    after = _published(fresh)
    assert after["run"] == first.sync_id
    row = after["positions"].set_index(KEYS).loc[(s["sku"], s["location"])]
    assert row["on_hand"] == pytest.approx(s["on_hand"] - units)

    again = run_sync(fresh)  # nothing new: nothing raised, nothing published
    assert not again.published and again.raised.empty
    assert _published(fresh)["run"] == first.sync_id
    assert len(_published(fresh)["alerts"]) == len(after["alerts"])

    receipt = {**sale, "movement_id": "M2", "kind": "receipt", "quantity": units + 5,
               "moved_at": f"{day:%Y-%m-%d}T15:00:00"}
    _write_movements(fresh, [sale, receipt])
    third = run_sync(fresh)
    assert third.movements_new == 1 and third.raised.empty
    closed = third.closed[(third.closed["sku"] == s["sku"]) & (third.closed["location"] == s["location"])]
    assert closed["alert_id"].tolist() == mine["alert_id"].tolist()
    alerts = _published(fresh)["alerts"].set_index("alert_id")
    assert alerts.loc[mine["alert_id"].iloc[0], "closed_by"] == third.sync_id


def _waiting_series(plan: dict) -> tuple[pd.Series, pd.DataFrame]:
    alloc = plan["allocations"][plan["allocations"]["policy"] == "fifo"]
    waiting = alloc[alloc["status"].isin(["backordered", "partial"])]
    counts = waiting.groupby(KEYS).size()
    assert (counts >= 2).any(), "the demo has a SKU with several waiting lines"
    key = counts[counts >= 2].index[0]
    lines = alloc.set_index(KEYS).loc[[key]].reset_index()
    return pd.Series(dict(zip(KEYS, key, strict=True))), lines


def test_a_receipt_releases_waiting_lines_in_fifo_order_and_never_more_than_arrived(fresh: RunSettings) -> None:
    plan = _published(fresh)
    key, lines = _waiting_series(plan)
    waiting = lines[lines["status"].isin(["backordered", "partial"])].sort_values(["order_date", "order_id"])
    short = waiting["quantity"] - waiting["allocated_now"]
    arrived = float(short.iloc[0] + short.iloc[1] / 2)  # the first line in full, half the second
    day = pd.Timestamp(plan["as_of"]) + pd.Timedelta(days=1)
    _write_movements(fresh, [{"movement_id": "R1", "sku": key["sku"], "location": key["location"],
                              "kind": "receipt", "quantity": arrived,
                              "moved_at": f"{day:%Y-%m-%d}T11:00:00", "reference": ""}])
    result = run_sync(fresh)
    released = result.released[(result.released["sku"] == key["sku"])
                               & (result.released["location"] == key["location"])]
    assert released["released"].sum() <= arrived + 1e-9
    assert released["released"].sum() >= short.iloc[0] - 1e-9  # the first waiting line ships
    assert waiting["order_id"].iloc[0] in set(released["order_id"])
    first = released.set_index("order_id").loc[waiting["order_id"].iloc[0]]
    assert first["status"] == "allocated"
    after = _published(fresh)["allocations"]
    after = after[(after["policy"] == "fifo") & (after["sku"] == key["sku"]) & (after["location"] == key["location"])]
    assert (after["allocated_now"] <= after["quantity"] + 1e-9).all()
    # fifo: a line that got nothing was ordered no earlier than every line that got stock
    got = after[after["order_id"].isin(released["order_id"])]
    nothing = after[after["order_id"].isin(waiting["order_id"]) & ~after["order_id"].isin(released["order_id"])]
    if len(nothing):
        assert pd.to_datetime(got["order_date"]).max() <= pd.to_datetime(nothing["order_date"]).min()
    told = result.notices[result.notices["order_id"] == waiting["order_id"].iloc[0]]
    assert told["kind"].tolist() == ["available"]


def test_unknown_sku_malformed_timestamp_and_wrong_sign_are_rejected_with_reasons(fresh: RunSettings) -> None:
    plan = _published(fresh)
    s = plan["positions"].sort_values(KEYS).iloc[0]
    day = pd.Timestamp(plan["as_of"]) + pd.Timedelta(days=1)
    good = {"movement_id": "", "sku": s["sku"], "location": s["location"], "kind": "adjustment",
            "quantity": -1.0, "moved_at": f"{day:%Y-%m-%d}T09:00:00", "reference": ""}
    path = _write_movements(fresh, [
        good,
        {**good, "sku": "NO-SUCH-SKU"},
        {**good, "moved_at": "01/11/2026 10:00"},
        {**good, "moved_at": f"{day:%Y-%m-%d}T25:00:00"},
        {**good, "kind": "sale", "quantity": 3.0},
    ])
    result = run_sync(fresh)
    assert result.loaded["stock_movements"] == 1 and result.rejected["stock_movements"] == 4
    with Warehouse(fresh.warehouse_path, read_only=True) as wh:
        rejects = wh.rejects("stock_movements").set_index("line")
        loaded = wh.movements()
    assert rejects.loc[3, "reason"] == "unknown sku NO-SUCH-SKU (not in products or sales)"
    assert rejects.loc[4, "column_name"] == "moved_at"
    assert "not an ISO timestamp" in rejects.loc[4, "reason"]
    assert "unparseable timestamp" in rejects.loc[5, "reason"]
    assert rejects.loc[6, "reason"] == "quantity 3.0 must be <= 0 for a sale or transfer_out (stock leaving)"
    assert set(rejects["file"]) == {str(path.resolve())}
    assert loaded["movement_id"].tolist() == ["stock_movements.csv:2"]


def test_a_sync_killed_mid_publish_leaves_the_previous_state_and_the_next_completes(
        fresh: RunSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _published(fresh)
    s, _ = _sale_under_min(fresh, plan, "K1", "10:00:00")
    current = (fresh.out_dir / "current").resolve()
    from forecast.publish import staging

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(staging, "complete", killed)
    with pytest.raises(KeyboardInterrupt):
        run_sync(fresh)
    monkeypatch.undo()
    after_kill = _published(fresh)
    assert after_kill["run"] == plan["run"]
    assert (fresh.out_dir / "current").resolve() == current
    assert after_kill["alerts"].empty
    pd.testing.assert_frame_equal(after_kill["positions"], plan["positions"])

    result = run_sync(fresh)
    assert result.published and result.movements_new == 1
    assert len(result.raised[(result.raised["sku"] == s["sku"]) & (result.raised["kind"] == "below_min")]) == 1
    assert (fresh.out_dir / "exports" / "stock_sync.csv").is_file()
    assert _published(fresh)["run"] == result.sync_id


# -- movements on top of the snapshot: known answers ------------------------------------------
SNAPSHOT = pd.DataFrame({"sku": ["A", "B"], "location": ["main", "main"], "on_hand": [10.0, 4.0],
                         "as_of": [date(2026, 11, 1), date(2026, 11, 1)]})


def _moves(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["movement_id", "sku", "location", "kind", "quantity",
                                       "moved_at", "reference"])


def test_movements_count_once_after_the_snapshot_and_a_count_sets_the_level() -> None:
    moves = _moves([
        ("1", "A", "main", "sale", -3.0, "2026-11-01 18:00", ""),     # in the snapshot already
        ("2", "A", "main", "sale", -2.0, "2026-11-02 09:00", ""),     # counted: 10 - 2
        ("3", "A", "main", "count", 5.0, "2026-11-02 12:00", "C1"),   # level 5
        ("4", "A", "main", "receipt", 4.0, "2026-11-02 15:00", "P1"),  # 5 + 4 = 9
        ("5", "B", "main", "sale", -1.0, "2026-11-03 09:00", "SO1"),  # after the nightly's day
    ])
    pos = pd.DataFrame({"po_id": ["P1"], "sku": ["A"], "location": ["main"], "quantity": [10.0],
                        "expected_date": [date(2026, 11, 5)]})
    lines = pd.DataFrame({"order_id": ["SO1"], "customer_id": ["c"], "sku": ["B"], "location": ["main"],
                          "quantity": [3.0], "order_date": [date(2026, 10, 30)]})
    sync = movements.current_state(SNAPSHOT, moves, pos, lines, date(2026, 11, 1))
    stock = sync.stock.set_index("sku")["on_hand"]
    assert stock.to_dict() == {"A": 9.0, "B": 3.0}
    assert sync.purchase_orders["quantity"].tolist() == [6.0]  # 10 ordered, 4 received
    assert sync.customer_orders["quantity"].tolist() == [2.0]  # 3 open, 1 shipped
    nightly = movements.current_state(SNAPSHOT, moves, pos, lines, date(2026, 11, 1),
                                      until=date(2026, 11, 2))
    assert nightly.stock.set_index("sku")["on_hand"].to_dict() == {"A": 9.0, "B": 4.0}
    assert nightly.customer_orders["quantity"].tolist() == [3.0]
    # the next night's snapshot (as of 11-02) holds A's movements: only B's sale counts
    newer = SNAPSHOT.assign(as_of=date(2026, 11, 2), on_hand=[9.0, 4.0])
    later = movements.current_state(newer, moves, pos, lines, date(2026, 11, 2))
    assert later.stock.set_index("sku")["on_hand"].to_dict() == {"A": 9.0, "B": 3.0}
    assert len(later.movements) == 1


def test_a_late_arriving_movement_before_a_count_does_not_change_the_counted_level() -> None:
    moves = _moves([
        ("c", "A", "main", "count", 7.0, "2026-11-02 12:00", ""),
        ("late", "A", "main", "sale", -2.0, "2026-11-02 11:00", ""),  # before the count: in it
    ])
    state = movements.current_state(SNAPSHOT, moves, SNAPSHOT.iloc[0:0].assign(po_id="", quantity=0.0),
                                    SNAPSHOT.iloc[0:0].assign(order_id="", quantity=0.0), date(2026, 11, 1))
    assert state.stock.set_index("sku")["on_hand"].to_dict() == {"A": 7.0, "B": 4.0}
    assert state.stock_as_of.set_index("sku")["stock_as_of"]["A"] == pd.Timestamp("2026-11-02 12:00")
    assert pd.isna(state.stock_as_of.set_index("sku")["stock_as_of"]["B"])



def test_new_alerts_are_posted_to_the_webhook_once(fresh: RunSettings, webhook) -> None:
    url, posts = webhook
    settings = fresh.model_copy(update={"alert_webhook": url})
    s, _ = _sale_under_min(settings, _published(settings), "W1", "09:15:00")
    result = run_sync(settings)
    assert run_sync(settings).raised.empty  # the rerun raises, and posts, nothing
    assert len(posts) == 1 and posts[0]["sync_id"] == result.sync_id
    posted = {(a["sku"], a["location"], a["kind"]) for a in posts[0]["alerts"]}
    assert (s["sku"], s["location"], "below_min") in posted
    assert len(posts[0]["alerts"]) == len(result.raised)


def test_the_sync_snapshot_links_unchanged_inputs_and_rewrites_what_it_loaded(fresh: RunSettings) -> None:
    plan = _published(fresh)
    s = plan["positions"].sort_values(KEYS).iloc[0]
    day = pd.Timestamp(plan["as_of"]) + pd.Timedelta(days=1)
    before = (fresh.out_dir / "snapshot").resolve()
    _write_movements(fresh, [{"movement_id": "L1", "sku": s["sku"], "location": s["location"],
                              "kind": "adjustment", "quantity": -1.0,
                              "moved_at": f"{day:%Y-%m-%d}T08:00:00", "reference": ""}])
    run_sync(fresh)
    after = (fresh.out_dir / "snapshot").resolve()
    assert after != before
    assert (after / "sales.parquet").stat().st_ino == (before / "sales.parquet").stat().st_ino
    assert (after / "stock_movements.parquet").stat().st_ino != (before / "stock_movements.parquet").stat().st_ino
    moved = pd.read_parquet(after / "stock_movements.parquet")
    assert moved["movement_id"].tolist() == ["L1"]
    pd.testing.assert_frame_equal(pd.read_parquet(after / "sales.parquet"), pd.read_parquet(before / "sales.parquet"))


def test_a_new_open_order_line_between_runs_is_allocated_by_the_sync(fresh: RunSettings) -> None:
    plan = _published(fresh)
    free = plan["positions"].assign(free=lambda f: f["on_hand"] - f["allocated"])
    s = free[free["free"] >= 3].sort_values(KEYS).iloc[0]
    orders = pd.read_csv(fresh.data_dir / "customer_orders.csv")
    line = {**orders.iloc[-1].to_dict(), "order_id": "SO-NEW-1", "sku": s["sku"], "location": s["location"],
            "quantity": 2, "order_date": str(plan["as_of"]), "status": "open", "status_date": None,
            "promised_date": None}
    pd.concat([orders, pd.DataFrame([line])], ignore_index=True).to_csv(
        fresh.data_dir / "customer_orders.csv", index=False)
    result = run_sync(fresh)
    assert result.published and result.loaded["customer_orders"] == len(orders) + 1
    after = _published(fresh)
    new = after["allocations"][(after["allocations"]["order_id"] == "SO-NEW-1")
                               & (after["allocations"]["policy"] == "fifo")]
    assert new["status"].tolist() == ["allocated"] and new["allocated_now"].tolist() == [2.0]
    row = after["positions"].set_index(KEYS).loc[(s["sku"], s["location"])]
    assert row["committed"] == pytest.approx(s["committed"] + 2)
    assert row["inventory_position"] == pytest.approx(s["inventory_position"] - 2)
    assert run_sync(fresh).published is False  # read once
