"""The stockout-before-receipt alert (forecast.planning.receipt_alerts) on a known answer."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.planning.policies import stock_positions
from forecast.planning.receipt_alerts import stockout_before_receipt_alerts

AS_OF = date(2026, 3, 1)


def _day(n: int) -> date:
    return AS_OF + timedelta(days=n)


def test_the_alert_says_when_it_runs_out_for_how_long_by_how_much_and_what_to_do() -> None:
    keys = pd.DataFrame({"sku": ["A", "B", "C"], "location": "main"})
    fc = DemandForecast(keys, pd.date_range(_day(1), periods=28), np.full((3, 28), 3.0),
                        np.full(3, np.inf), np.zeros(3), np.full(3, "test", dtype=object))
    policies = keys.assign(lead_time_days=[10.0, 10.0, 5.0], mean_daily_demand=3.0)
    inventory = keys.assign(on_hand=[10.0, 100.0, 6.0])
    pos = pd.DataFrame({"sku": ["A", "B"], "location": "main", "quantity": [50.0, 50.0],
                        "expected_date": [_day(6), _day(6)]})
    orders = pd.DataFrame({"sku": ["A", "A"], "location": "main", "quantity": [8.0, 4.0],
                           "order_date": [_day(-3), _day(-1)]})
    positions = stock_positions(keys, inventory, pos, orders)
    alerts = stockout_before_receipt_alerts(policies, positions, fc, pos, orders, AS_OF)
    alerts = alerts.set_index("sku")
    assert sorted(alerts.index) == ["A", "C"]  # B's 100 units last past its purchase order
    assert (alerts["kind"] == "stockout_before_receipt").all() and (alerts["severity"] == "high").all()
    # A: 10 on hand, 12 on open orders (net -2): out now; the PO on day 6; short 6 x 3 + 2 = 20;
    # the second line (4 units, 2 beyond the stock) waits.
    a = alerts.loc["A", "message"]
    assert alerts.loc["A", "date"] == AS_OF
    assert "runs out now (open orders exceed the stock), 6 day(s) before supply arrives" in a
    assert "the next open purchase order is due 2026-03-07" in a
    assert "about 20 units short; 1 open customer line(s) (2 units) wait beyond the stock" in a
    assert "To do: expedite that order, transfer stock from another location, and tell" in a
    # C: 6 on hand at 3 a day runs out on day 2; no PO: an order today arrives on day 5;
    # 3 days short, 5 x 3 - 6 = 9 units.
    c = alerts.loc["C", "message"]
    assert alerts.loc["C", "date"] == _day(2)
    assert "runs out around 2026-03-03, 3 day(s) before supply arrives (no purchase order is " \
           "open; an order placed today arrives about 2026-03-06): about 9 units short." in c
    assert "order today and ask for the fastest delivery" in c
