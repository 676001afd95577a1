"""Allocation of scarce stock: policies, ETAs, invariants and the per-policy summary."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.backorders.allocation import (
    COLUMNS,
    POLICIES,
    STATUSES,
    allocate,
    compare_policies,
    summarise_allocation,
)
from forecast.backorders.cancellation import DEFAULT_CURVE

AS_OF = date(2026, 11, 1)


def _orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, customer_id, sku, quantity, order_date, promised_date, unit_price)."""
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "sku", "quantity",
                                        "order_date", "promised_date", "unit_price"])
    return frame.assign(location="DC", shipping="standard")


CUSTOMERS = pd.DataFrame(
    {"customer_id": ["C1", "C2", "C3"], "segment": ["regular", "vip", "new"],
     "lifetime_value": [100.0, 50_000.0, 0.0]}
)
NO_RECEIPTS = pd.DataFrame(columns=["sku", "location", "date", "quantity"])


def _stock(**on_hand: float) -> pd.DataFrame:
    return pd.DataFrame({"sku": list(on_hand), "location": "DC", "on_hand": list(on_hand.values())})


def _receipts(*rows: tuple[str, date, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sku", "date", "quantity"]).assign(location="DC")


def test_fifo_serves_by_order_date_and_dates_the_rest_from_receipts() -> None:
    orders = _orders([
        ("SO1", "C1", "A", 4, date(2026, 10, 1), date(2026, 11, 3), 10.0),
        ("SO2", "C2", "A", 3, date(2026, 10, 2), date(2026, 11, 3), 10.0),
        ("SO3", "C3", "A", 5, date(2026, 10, 3), date(2026, 11, 20), 10.0),
    ])
    out = allocate(orders, CUSTOMERS, _stock(A=5), _receipts(("A", date(2026, 11, 10), 4)),
                   AS_OF, "fifo").set_index("order_id")
    assert list(out.columns) == [c for c in COLUMNS if c != "order_id"]
    assert out["allocated_now"].tolist() == [4.0, 1.0, 0.0]
    assert out["status"].tolist() == ["allocated", "partial", "no_supply_planned"]
    assert out.loc["SO2", "eta"] == date(2026, 11, 10) and out.loc["SO2", "delay_days"] == 7
    assert out.loc["SO1", "eta"] == AS_OF
    assert pd.isna(out.loc["SO3", "eta"])


def test_priority_serves_the_vip_first() -> None:
    orders = _orders([
        ("SO1", "C1", "A", 4, date(2026, 10, 1), date(2026, 11, 3), 10.0),
        ("SO2", "C2", "A", 4, date(2026, 10, 2), date(2026, 11, 3), 10.0),
    ])
    out = allocate(orders, CUSTOMERS, _stock(A=4), _receipts(("A", date(2026, 11, 5), 10)),
                   AS_OF, "priority").set_index("order_id")
    assert out.loc["SO2", "status"] == "allocated" and out.loc["SO1", "status"] == "backordered"
    assert out.loc["SO1", "eta"] == date(2026, 11, 5)


def test_fair_shares_a_shortage_by_largest_remainder() -> None:
    # 10 units for 4 + 4 + 4 = 12 wanted: 10/12 of each is 3.33 -> 3 each, 1 unit left goes to
    # the earliest order (equal remainders); the receipt then fills by order date.
    orders = _orders([
        ("SO1", "C1", "A", 4, date(2026, 10, 1), date(2026, 11, 3), 10.0),
        ("SO2", "C2", "A", 4, date(2026, 10, 2), date(2026, 11, 3), 10.0),
        ("SO3", "C3", "A", 4, date(2026, 10, 3), date(2026, 11, 3), 10.0),
    ])
    receipts = _receipts(("A", date(2026, 11, 6), 1), ("A", date(2026, 11, 9), 1))
    out = allocate(orders, CUSTOMERS, _stock(A=10), receipts, AS_OF, "fair").set_index("order_id")
    assert out["allocated_now"].tolist() == [4.0, 3.0, 3.0]
    assert out["status"].tolist() == ["allocated", "partial", "partial"]
    assert out["eta"].tolist() == [AS_OF, date(2026, 11, 6), date(2026, 11, 9)]


def test_fair_gives_leftover_units_to_the_largest_remainders() -> None:
    # 7 units for 5 + 3 + 2 = 10: raw 3.5, 2.1, 1.4 -> 3, 2, 1 (6) + 1 unit to the 0.5.
    orders = _orders([
        ("SO1", "C1", "A", 2, date(2026, 10, 1), None, 1.0),
        ("SO2", "C2", "A", 3, date(2026, 10, 2), None, 1.0),
        ("SO3", "C3", "A", 5, date(2026, 10, 3), None, 1.0),
    ])
    out = allocate(orders, CUSTOMERS, _stock(A=7), NO_RECEIPTS, AS_OF, "fair").set_index("order_id")
    assert out["allocated_now"].to_dict() == {"SO1": 1.0, "SO2": 2.0, "SO3": 4.0}
    assert set(out["status"]) == {"no_supply_planned"}


def test_no_shortage_means_everyone_is_allocated_under_every_policy() -> None:
    orders = _orders([("SO1", "C1", "A", 2, date(2026, 10, 1), None, 1.0),
                      ("SO2", "C2", "A", 3, date(2026, 10, 2), None, 1.0)])
    for policy in POLICIES:
        out = allocate(orders, CUSTOMERS, _stock(A=5), NO_RECEIPTS, AS_OF, policy)
        assert out["allocated_now"].tolist() == [2.0, 3.0]
        assert set(out["status"]) == {"allocated"}


def test_unknown_policy_and_empty_orders() -> None:
    with pytest.raises(ValueError, match="unknown allocation policy"):
        allocate(_orders([]), CUSTOMERS, _stock(A=1), NO_RECEIPTS, AS_OF, "random")  # type: ignore[arg-type]
    assert list(allocate(_orders([]), CUSTOMERS, _stock(A=1), NO_RECEIPTS, AS_OF).columns) == COLUMNS


def _random_products(seed: int) -> pd.DataFrame:
    """B is a pre-order launching after AS_OF, D is dropship (lead time 10.5 days)."""
    return pd.DataFrame({
        "sku": ["A", "B", "C", "D", "E"],
        "preorder": [False, True, True, False, False],
        "launch_date": [None, date(2026, 11, 12), date(2026, 10, 1), None, None],
        "dropship": [False, False, False, True, False],
        "lead_time_days": [7.0, 7.0, 7.0, 10.5, None],
        "supplier": ["S1", "S1", "S2", "S3", None],
    })


def _random_book(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 300
    skus = np.array(["A", "B", "C", "D", "E"])
    orders = pd.DataFrame({
        "order_id": [f"SO{i}" for i in range(n)],
        "customer_id": rng.choice(["C1", "C2", "C3", "C9"], n),
        "sku": rng.choice(skus, n),
        "location": rng.choice(["DC", "WH"], n),
        "quantity": rng.integers(1, 12, n).astype(float),
        "order_date": pd.Timestamp("2026-09-01") + pd.to_timedelta(rng.integers(0, 60, n), "D"),
        "shipping": rng.choice(["standard", "express"], n),
        "unit_price": rng.uniform(1, 50, n),
    })
    orders["promised_date"] = orders["order_date"] + pd.to_timedelta(rng.integers(2, 40, n), "D")
    stock = pd.DataFrame({"sku": np.repeat(skus, 2), "location": np.tile(["DC", "WH"], 5),
                          "on_hand": rng.integers(-5, 80, 10).astype(float)})
    stock.loc[3, "on_hand"] = 37.5  # a fractional stock figure
    m = 12
    receipts = pd.DataFrame({
        "sku": rng.choice(skus, m), "location": rng.choice(["DC", "WH"], m),
        "date": pd.Timestamp("2026-10-25") + pd.to_timedelta(rng.integers(0, 40, m), "D"),
        "quantity": rng.integers(5, 60, m).astype(float),
    })
    return orders, stock, receipts


@pytest.mark.parametrize("with_products", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("policy", POLICIES)
def test_invariants(policy: str, seed: int, with_products: bool) -> None:
    orders, stock, receipts = _random_book(seed)
    products = _random_products(seed) if with_products else None
    out = allocate(orders, CUSTOMERS, stock, receipts, AS_OF, policy,  # type: ignore[arg-type]
                   products=products)
    assert len(out) == len(orders) and set(out["order_id"]) == set(orders["order_id"])
    assert set(out["status"]) <= set(STATUSES)
    assert out["cancel_probability"].between(0, 1).all()
    assert (out["expected_revenue_lost"] >= 0).all()
    if with_products:
        drop = out["sku"] == "D"
        assert (out.loc[drop, "status"] == "dropship").all() and drop.any()
        assert (out.loc[drop, "allocated_now"] == 0).all()
        assert (out.loc[drop, "supplier"] == "S3").all()
        start = pd.to_datetime(out.loc[drop, "order_date"]).clip(lower=pd.Timestamp(AS_OF))
        assert (pd.to_datetime(out.loc[drop, "eta"]) == start + pd.Timedelta(days=11)).all()
        # B launches on 12 Nov: nothing ships before, stock and receipts are held for launch.
        pre = out[out["sku"] == "B"]
        assert (pre["allocated_now"] == 0).all()
        assert (pd.to_datetime(pre["eta"].dropna()) >= pd.Timestamp(2026, 11, 12)).all()
        assert pre["eta"].notna().any()
        out = out[~drop]  # dropship lines take no stock: the stock invariants below
    assert (out["allocated_now"] >= 0).all()
    assert (out["allocated_now"] <= out["quantity"] + 1e-9).all()
    usable = stock.groupby(["sku", "location"])["on_hand"].sum().clip(lower=0)
    given = out.groupby(["sku", "location"])["allocated_now"].sum()
    assert (given <= usable.reindex(given.index).fillna(0) + 1e-9).all()
    # Every line is allocated in full, dated, or marked.
    full = out["allocated_now"] >= out["quantity"] - 1e-9
    dated = out["eta"].notna()
    marked = out["status"] == "no_supply_planned"
    assert (full | dated | marked).all()
    assert (dated != marked).all()
    assert (out.loc[full, "status"] == "allocated").all()
    assert (pd.to_datetime(out.loc[dated, "eta"]) >= pd.Timestamp(AS_OF)).all()
    # Total supply is never promised twice: lines dated by a receipt fit in stock + receipts.
    supply = receipts.groupby(["sku", "location"])["quantity"].sum().add(usable, fill_value=0)
    covered = out[dated].groupby(["sku", "location"])["quantity"].sum()
    assert (covered <= supply.reindex(covered.index).fillna(0) + 1e-9).all()
    if policy == "fair":
        assert (out["allocated_now"] == np.floor(out["allocated_now"])).all()
        # Stock is handed out as long as whole units and lines remain (a pre-order's stock
        # is held for its launch).
        leftover = usable.reindex(given.index).fillna(0) - given
        if with_products:
            leftover = leftover.drop(index="B", level="sku")
        short = out.assign(rest=out["quantity"] - out["allocated_now"]).groupby(
            ["sku", "location"])["rest"].sum()
        assert ((leftover < 1) | (short.reindex(leftover.index) < 1)).all()


def test_summary_by_segment_with_delays_and_revenue_at_risk() -> None:
    orders = _orders([
        ("SO1", "C1", "A", 4, date(2026, 10, 1), date(2026, 11, 3), 10.0),
        ("SO2", "C2", "A", 3, date(2026, 10, 2), date(2026, 11, 3), 20.0),
        ("SO3", "C3", "A", 5, date(2026, 10, 3), date(2026, 11, 20), 30.0),
        ("SO4", "C3", "B", 1, date(2026, 10, 3), date(2026, 11, 20), 99.0),
    ])
    stock = _stock(A=5, B=1)
    receipts = _receipts(("A", date(2026, 11, 10), 4))
    allocations, summary = compare_policies(orders, CUSTOMERS, stock, receipts, AS_OF)
    assert set(summary["policy"]) == set(POLICIES)
    fifo = summary[summary["policy"] == "fifo"].set_index("segment")
    # fifo: SO1 now, SO2 1 now + 2 on 10 Nov (7 days late), SO3 no supply, SO4 now.
    assert fifo.loc["all", "lines"] == 4 and fifo.loc["all", "on_time"] == 0.5
    assert fifo.loc["all", "no_supply"] == 1
    assert fifo.loc["all", "revenue_at_risk"] == pytest.approx(2 * 20.0 + 5 * 30.0)
    assert fifo.loc["vip", "mean_delay"] == 7.0 and fifo.loc["all", "mean_delay"] == 7 / 3
    assert fifo.loc["new", "on_time"] == 0.5
    # Prices may also come with the allocation rows.
    priced = allocations.merge(orders[["order_id", "unit_price"]], on="order_id")
    again = summarise_allocation(priced)
    pd.testing.assert_frame_equal(again, summary)


# -- cancellation risk and the retention policy ------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_retention_never_loses_more_than_another_policy(seed: int) -> None:
    orders, stock, receipts = _random_book(seed)
    allocations, summary = compare_policies(orders, CUSTOMERS, stock, receipts, AS_OF,
                                            products=_random_products(seed))
    loss = allocations.groupby(["policy", "sku", "location"])["expected_revenue_lost"].sum()
    per_key = loss.unstack("policy")
    for policy in POLICIES:
        assert (per_key["retention"] <= per_key[policy] + 1e-9).all(), policy
    total = summary[summary["segment"] == "all"].set_index("policy")["expected_revenue_lost"]
    assert total.idxmin() == "retention" or total["retention"] == pytest.approx(total.min())
    assert total.loc["fifo"] == pytest.approx(loss.loc["fifo"].sum())


def test_retention_serves_the_customer_most_likely_to_leave_first() -> None:
    # A: a vip's cheap line, ordered first, promised far ahead (a wait costs nothing).
    # B: a new customer's dear line, already 22 days late: it is the one that cancels.
    orders = _orders([
        ("SO1", "C2", "A", 2, date(2026, 10, 1), date(2026, 12, 31), 1.0),
        ("SO2", "C3", "A", 2, date(2026, 10, 5), date(2026, 10, 10), 100.0),
    ])
    receipts = _receipts(("A", date(2026, 11, 30), 2))
    allocations, summary = compare_policies(orders, CUSTOMERS, _stock(A=2), receipts, AS_OF)
    by = allocations.set_index(["policy", "order_id"])
    assert by.loc[("retention", "SO2"), "status"] == "allocated"
    assert by.loc[("retention", "SO1"), "eta"] == date(2026, 11, 30)  # before its promise
    for policy in ("fifo", "priority"):
        assert by.loc[(policy, "SO1"), "status"] == "allocated"
        assert by.loc[(policy, "SO2"), "eta"] == date(2026, 11, 30)
    total = summary[summary["segment"] == "all"].set_index("policy")["expected_revenue_lost"]
    assert total["retention"] == 0.0
    # SO2 is 22 days late now and would ship 51 days late: P = (F(51) - F(22)) / (1 - F(22)).
    curve = DEFAULT_CURVE
    p = (curve.cdf(51) - curve.cdf(22)) / (1 - curve.cdf(22))
    assert by.loc[("fifo", "SO2"), "cancel_probability"] == pytest.approx(p)
    assert total["fifo"] == pytest.approx(2 * 100.0 * p)
    assert total["fair"] == pytest.approx(1 * 100.0 * p)  # one unit each now
    assert (total.drop("retention") > 0).all()


def test_preorder_lines_wait_for_the_launch() -> None:
    orders = _orders([
        ("SO1", "C1", "P", 3, date(2026, 10, 1), date(2026, 11, 15), 10.0),
        ("SO2", "C2", "P", 4, date(2026, 10, 2), date(2026, 11, 15), 10.0),
        ("SO3", "C1", "Q", 1, date(2026, 10, 2), date(2026, 11, 15), 10.0),
    ])
    products = pd.DataFrame({"sku": ["P", "Q"], "preorder": [True, True],
                             "launch_date": [date(2026, 11, 12), date(2026, 10, 20)]})
    receipts = _receipts(("P", date(2026, 11, 3), 2), ("P", date(2026, 11, 20), 5))
    out = allocate(orders, CUSTOMERS, _stock(P=5, Q=1), receipts, AS_OF, "fifo",
                   products=products).set_index("order_id")
    # 5 in stock and 2 arriving on 3 Nov are held until the 12 Nov launch: 7 units then.
    assert out.loc["SO1", "allocated_now"] == 0 and out.loc["SO1", "status"] == "backordered"
    assert out.loc["SO1", "eta"] == date(2026, 11, 12)
    assert out.loc["SO2", "eta"] == date(2026, 11, 12)
    # Q launched before the as-of date: allocated like any line.
    assert out.loc["SO3", "status"] == "allocated" and out.loc["SO3", "eta"] == AS_OF


def test_dropship_lines_go_to_the_supplier() -> None:
    orders = _orders([
        ("SO1", "C1", "D", 3, date(2026, 10, 1), date(2026, 11, 5), 10.0),
        ("SO2", "C2", "D", 4, date(2026, 11, 3), date(2026, 11, 20), 10.0),
        ("SO3", "C3", "N", 1, date(2026, 10, 2), date(2026, 11, 5), 10.0),
    ])
    products = pd.DataFrame({"sku": ["D", "N"], "dropship": [True, True],
                             "lead_time_days": [6.0, None], "supplier": ["Acme", None]})
    out = allocate(orders, CUSTOMERS, _stock(D=100), NO_RECEIPTS, AS_OF, "priority",
                   products=products, default_lead_time_days=9).set_index("order_id")
    assert set(out["status"]) == {"dropship"} and (out["allocated_now"] == 0).all()
    assert out.loc["SO1", "eta"] == date(2026, 11, 7)  # as_of + 6: passed on today
    assert out.loc["SO1", "delay_days"] == 2 and out.loc["SO1", "supplier"] == "Acme"
    assert out.loc["SO2", "eta"] == date(2026, 11, 9)  # order date + 6
    assert out.loc["SO3", "eta"] == date(2026, 11, 10)  # the default lead time
    assert out.loc["SO2", "cancel_probability"] == 0  # ships before its promise
    assert out.loc["SO1", "expected_revenue_lost"] == pytest.approx(30 * DEFAULT_CURVE.cdf(2))


def test_products_for_allocation_take_the_measured_lead_time_first() -> None:
    from forecast.backorders.allocation import products_for_allocation

    products = pd.DataFrame({"sku": ["A", "B", "C", "D"], "dropship": [True, True, True, False],
                             "lead_time_days": [5.0, None, None, 3.0],
                             "supplier": ["S1", "S1", "S2", "S1"]})
    suppliers = pd.DataFrame({"supplier": ["S1"], "lead_time_days": [8.0]})
    measured = pd.DataFrame({"sku": ["A"], "lead_time_days": [12.5]})
    frame = products_for_allocation(products, suppliers, measured).set_index("sku")
    assert frame["lead_time_days"].to_dict() == pytest.approx(
        {"A": 12.5, "B": 8.0, "C": np.nan, "D": 3.0}, nan_ok=True)
    assert not frame["preorder"].notna().any()  # missing: allocate reads it as no
    assert products_for_allocation(pd.DataFrame()).empty
