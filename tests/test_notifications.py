"""Customer notifications: who to tell, the message, and no second notice on a rerun."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from forecast.backorders.allocation import allocate
from forecast.backorders.notifications import (
    NOTICE_COLUMNS,
    customer_notices,
    history_rows,
    latest_told,
)
from forecast.ingest.warehouse import Warehouse
from forecast.publish.exports import write_notices

AS_OF = date(2026, 11, 1)
CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "segment": "regular",
                          "lifetime_value": 0.0})


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["SO123", "SO124", "SO125", "SO126"],
            "customer_id": ["C1", "C2", "C3", "C3"],
            "sku": ["SKU0042", "SKU0042", "SKU0042", "SKU0007"],
            "location": "DC",
            "quantity": [2.0, 3.0, 4.0, 1.0],
            "order_date": [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3),
                           date(2026, 10, 3)],
            "promised_date": [date(2026, 11, 5), date(2026, 11, 20), date(2026, 11, 5),
                              date(2026, 11, 5)],
            "unit_price": 10.0,
        }
    )


def _allocation(stock: float, receipts: list[tuple[date, float]], as_of: date = AS_OF):
    inventory = pd.DataFrame({"sku": ["SKU0042", "SKU0007"], "location": "DC",
                              "on_hand": [stock, 5.0]})
    incoming = pd.DataFrame({"sku": "SKU0042", "location": "DC",
                             "date": [d for d, _ in receipts], "quantity": [q for _, q in receipts]})
    return allocate(_orders(), CUSTOMERS, inventory, incoming, as_of, "fifo")


def test_newly_backordered_lines_are_told_with_the_new_date() -> None:
    # 0 in stock, 5 arriving on 14 Nov: SO123 (2) and SO124 (3) dated, SO125 no supply.
    notices = customer_notices(_allocation(0.0, [(date(2026, 11, 14), 5.0)]))
    assert list(notices.columns) == NOTICE_COLUMNS
    by_order = notices.set_index("order_id")
    assert set(by_order.index) == {"SO123", "SO124", "SO125"}  # SO126 is allocated
    assert by_order.loc["SO123", "message"] == (
        "Your order SO123 (2 x SKU0042) is delayed: new expected ship date 2026-11-14 "
        "(promised 2026-11-05)."
    )
    assert by_order.loc["SO123", "kind"] == "delayed"
    assert by_order.loc["SO124", "kind"] == "backordered"  # still ships before its promise
    assert by_order.loc["SO125", "kind"] == "no_supply"
    assert "no supply date yet" in by_order.loc["SO125", "message"]


def test_a_rerun_on_unchanged_data_lists_no_one_again(tmp_path) -> None:
    allocation = _allocation(0.0, [(date(2026, 11, 14), 5.0)])
    first = customer_notices(allocation)
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        assert wh.notification_history().empty
        assert wh.record_notifications(history_rows(first, "run1", datetime(2026, 11, 1, 6))) == 3
        history = wh.notification_history()
        assert len(history) == 3 and set(history["run_id"]) == {"run1"}
        # Next night: same data, one day later (ETAs of waiting lines do not move).
        again = customer_notices(_allocation(0.0, [(date(2026, 11, 14), 5.0)], date(2026, 11, 2)),
                                 history)
        assert again.empty
        assert wh.record_notifications(history_rows(again, "run2")) == 0


def test_moves_of_one_day_or_more_and_supply_changes_are_told() -> None:
    first = customer_notices(_allocation(0.0, [(date(2026, 11, 14), 5.0)]))
    history = history_rows(first, "run1", datetime(2026, 11, 1, 6))
    # The receipt slips to 16 Nov and a second one brings 4 more on 30 Nov.
    later = _allocation(0.0, [(date(2026, 11, 16), 5.0), (date(2026, 11, 30), 4.0)])
    notices = customer_notices(later, history).set_index("order_id")
    assert set(notices.index) == {"SO123", "SO124", "SO125"}
    assert notices.loc["SO123", "eta_change_days"] == 2
    assert notices.loc["SO123", "previous_eta"] == date(2026, 11, 14)
    assert notices.loc["SO125", "kind"] == "delayed"  # it has a date now
    assert notices.loc["SO125", "eta"] == date(2026, 11, 30)
    # With a 3-day threshold the 2-day slips are not news; the first date for SO125 is.
    assert customer_notices(later, history, min_change_days=3).index.size == 1  # only SO125
    # Stock arrives: the waiting lines are ready to ship, told as good news, once.
    history = pd.concat([history, history_rows(customer_notices(later, history), "run2",
                                               datetime(2026, 11, 2, 6))])
    stocked = _allocation(20.0, [])
    good = customer_notices(stocked, history)
    assert set(good["kind"]) == {"available"} and len(good) == 3
    assert good["message"].str.startswith("Good news").all()
    history = pd.concat([history, history_rows(good, "run3", datetime(2026, 11, 3, 6))])
    assert customer_notices(stocked, history).empty
    assert len(latest_told(history)) == 3


def test_notices_csv(tmp_path) -> None:
    notices = customer_notices(_allocation(0.0, [(date(2026, 11, 14), 5.0)]))
    path = write_notices(notices, tmp_path / "exports" / "customer_notifications.csv")
    written = pd.read_csv(path)
    assert len(written) == 3 and "message" in written.columns


def test_dropship_lines_are_told_once_when_they_will_be_late() -> None:
    orders = _orders()
    products = pd.DataFrame({"sku": ["SKU0042"], "dropship": [True], "lead_time_days": [6.0],
                             "supplier": ["Acme"]})

    def allocation(as_of: date) -> pd.DataFrame:
        stock = pd.DataFrame({"sku": ["SKU0007"], "location": "DC", "on_hand": [5.0]})
        return allocate(orders, CUSTOMERS, stock, pd.DataFrame(columns=["sku", "location", "date",
                                                                         "quantity"]),
                        as_of, "fifo", products=products)

    # ETA 7 Nov: after the 5 Nov promise of SO123 and SO125, before SO124's 20 Nov.
    first = customer_notices(allocation(AS_OF)).set_index("order_id")
    assert set(first.index) == {"SO123", "SO125"}
    assert (first["status"] == "dropship").all() and (first["kind"] == "delayed").all()
    assert first.loc["SO123", "message"] == (
        "Your order SO123 (2 x SKU0042) ships from our supplier and is delayed: expected ship "
        "date 2026-11-07 (promised 2026-11-05).")
    history = history_rows(first.reset_index(), "run1", datetime(2026, 11, 1, 6))
    # The next night the ETA slides a day (passed on a day later): not told again.
    assert customer_notices(allocation(date(2026, 11, 2)), history).empty
