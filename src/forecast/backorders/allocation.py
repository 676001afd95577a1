"""Who gets scarce stock: allocation of on-hand and incoming supply to waiting order lines.

Supply for an SKU and location is its usable stock now (negative stock counts as none), then
each projected receipt (open purchase orders on their expected dates, then recommended orders on
their expected arrival; receipts dated before ``as_of`` count as arriving on ``as_of``). Waiting
orders are served before new demand.

Each policy decides two things: how the stock on hand now is shared (``allocated_now``), and in
which order the rest of every line is filled from the stock left over and later receipts. A
line's ETA is the date on which cumulative supply first covers the remaining quantity of the
lines ahead of it in that fill order plus its own, so the whole line can ship; a line that fully
gets stock now has ETA ``as_of``; a line that no planned supply covers is ``no_supply_planned``.

Policies:
* ``fifo`` - first come, first served by order date (now and later);
* ``priority`` - by a score from segment, lifetime value, express shipping, order age and line
  value (weights in :class:`PriorityWeights`), ties broken by order date (now and later);
* ``fair`` - when the stock on hand cannot cover every waiting line of an SKU, each line gets
  the same fraction of its quantity, rounded down to whole units, and the units left over by
  the rounding go one each to the lines with the largest remainders (ties: earlier order first:
  the largest-remainder, or Hamilton, method); later receipts then fill lines in order-date
  order. Without a shortage every line is allocated in full.
* ``retention`` - least expected revenue lost to cancellations (:mod:`forecast.backorders.cancellation`).
  Lines are served in decreasing order of the expected loss per unit that waiting causes,
  unit price x (P(cancel | served last) - P(cancel | served first)), where "first" and "last"
  are the dates on which the SKU's supply would cover the line alone and all its waiting lines
  (an index rule in the spirit of Smith's ratio rule, Smith 1956, *Various optimizers for
  single-stage production*); then, per SKU and location, the allocation of this rule, fifo,
  priority or fair with the least expected loss is kept, so ``retention`` never loses more
  than any other policy.

Pre-orders and dropship (the ``products`` frame: ``preorder``, ``launch_date``, ``dropship``,
``lead_time_days``, ``supplier``): a pre-order product's stock and receipts are held until its
``launch_date``, so no line of it gets an ETA before launch; it is otherwise allocated like any
line. A dropship line is passed to the supplier and takes no stock: status ``dropship``, ETA =
max(as_of, order_date) + the SKU's lead time (whole days, rounded up; ``default_lead_time_days``
without one; not before launch for a pre-order), ``supplier`` named.

Invariants (tests/test_allocation.py): per SKU and location the stock allocated now never
exceeds the usable stock on hand; per line 0 <= allocated_now <= quantity; every line is
allocated in full, has an ETA, or is marked ``no_supply_planned``.

Statuses: ``allocated`` (all of the line now), ``partial`` (some now, the rest on its ETA),
``backordered`` (nothing now, all on its ETA), ``no_supply_planned`` (the rest is not covered),
``dropship`` (shipped by the supplier). Each row also carries the line's cancellation
probability before its ETA and the expected revenue lost (``forecast.backorders.cancellation.line_risk``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from forecast.backorders.cancellation import (
    DEFAULT_CURVE,
    DEFAULT_PROMISE_DAYS,
    CancellationCurve,
    days_late,
    effective_promise,
    line_risk,
)
from forecast.ingest.contract import OPEN_STATUS

Policy = Literal["fifo", "priority", "fair", "retention"]
POLICIES: tuple[str, ...] = ("fifo", "priority", "fair", "retention")
STATUSES = ("allocated", "partial", "backordered", "no_supply_planned", "dropship")
KEY = ["sku", "location"]
COLUMNS = [
    "policy", "order_id", "customer_id", "segment", "sku", "location", "quantity",
    "allocated_now", "order_date", "promised_date", "eta", "delay_days", "status",
    "supplier", "cancel_probability", "expected_revenue_lost",
]
SUMMARY_COLUMNS = [
    "policy", "segment", "lines", "on_time", "mean_delay", "p90_delay", "no_supply",
    "units_short_now", "revenue_at_risk", "expected_revenue_lost",
]
PRODUCT_COLUMNS = ["sku", "preorder", "launch_date", "dropship", "lead_time_days", "supplier",
                   "unit_price"]


@dataclass(frozen=True)
class PriorityWeights:
    segment: dict[str, float] = field(
        default_factory=lambda: {"vip": 3.0, "loyal": 2.0, "regular": 1.0, "new": 1.0}
    )
    express: float = 2.0
    per_week_waiting: float = 0.5
    per_log10_lifetime_value: float = 0.5
    per_log10_line_value: float = 0.25


def priority_score(lines: pd.DataFrame, as_of: date, weights: PriorityWeights) -> pd.Series:
    """Higher is served first."""
    seg = lines["segment"].map(weights.segment).fillna(1.0)
    express = (lines["shipping"] == "express").astype(float) * weights.express
    age = (pd.Timestamp(as_of) - pd.to_datetime(lines["order_date"])).dt.days.clip(lower=0) / 7
    ltv = np.log10(1 + lines["lifetime_value"].fillna(0).clip(lower=0))
    value = np.log10(1 + (lines["quantity"] * lines["unit_price"].fillna(0)).clip(lower=0))
    return (
        seg + express + weights.per_week_waiting * age
        + weights.per_log10_lifetime_value * ltv + weights.per_log10_line_value * value
    )


def allocate(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    stock: pd.DataFrame,
    receipts: pd.DataFrame,
    as_of: date,
    policy: Policy = "fifo",
    weights: PriorityWeights | None = None,
    products: pd.DataFrame | None = None,
    curve: CancellationCurve = DEFAULT_CURVE,
    default_lead_time_days: float = 14.0,
    default_promise_days: int = DEFAULT_PROMISE_DAYS,
) -> pd.DataFrame:
    """One row per order line: allocated now, ETA, delay against the promise, status, and the
    cancellation risk before the ETA.

    ``orders``: order_id, customer_id, sku, location, quantity, order_date[, promised_date,
    shipping, unit_price]. ``customers``: customer_id, segment, lifetime_value.
    ``stock``: sku, location, on_hand. ``receipts``: sku, location, date, quantity.
    ``products`` (optional): sku[, preorder, launch_date, dropship, lead_time_days, supplier].
    ``curve``: the cancellation curve behind ``retention`` and the risk columns.
    Columns: ``COLUMNS`` (the warehouse ``allocations`` table).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown allocation policy {policy!r} (one of {', '.join(POLICIES)})")
    if orders.empty:
        return pd.DataFrame(columns=COLUMNS)
    lines = _with_products(_lines(orders, customers), products, as_of)
    drop = lines["dropship"].to_numpy(dtype=bool)
    parts = []
    if drop.any():
        parts.append(_dropship(lines[drop], as_of, default_lead_time_days))
    stocked = lines[~drop].reset_index(drop=True)
    if len(stocked):
        supply_now, later = _supply_inputs(stocked, stock, receipts, as_of)
        if policy == "retention":
            parts.append(_retention(stocked, supply_now, later, as_of, weights, curve,
                                    default_promise_days))
        else:
            parts.append(_fill(_ranked(stocked, policy, as_of, weights), supply_now, later,
                               as_of, fair=policy == "fair"))
    out = pd.concat(parts, ignore_index=True)
    out = out.join(line_risk(out, as_of, curve, default_promise_days))
    out["policy"] = policy
    return out[COLUMNS].sort_values([*KEY, "order_date", "order_id"]).reset_index(drop=True)


def planned_receipts(purchase_orders: pd.DataFrame, recommendations: pd.DataFrame) -> pd.DataFrame:
    """The supply waiting lines are allocated to (sku, location, date, quantity): open purchase
    orders on their expected date and recommended orders on their expected arrival."""
    columns = [*KEY, "date", "quantity"]
    return pd.concat(
        [
            purchase_orders.rename(columns={"expected_date": "date"}).reindex(columns=columns),
            recommendations.rename(columns={"expected_arrival": "date",
                                            "order_quantity": "quantity"}).reindex(columns=columns),
        ],
        ignore_index=True,
    )


def open_order_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """The lines still waiting for stock: ``status`` open (a file without ``status`` holds only
    open lines). Shipped and cancelled lines are history, kept for the cancellation curve."""
    if "status" not in orders or orders.empty:
        return orders
    status = orders["status"].fillna(OPEN_STATUS).astype(str).str.lower()
    return orders[status == OPEN_STATUS].reset_index(drop=True)


def products_for_allocation(
    products: pd.DataFrame,
    suppliers: pd.DataFrame | None = None,
    lead_times: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ``products`` frame :func:`allocate` takes (``PRODUCT_COLUMNS``), one row per SKU.

    ``lead_time_days``: the lead time measured from receipts (``lead_times``: sku,
    lead_time_days, e.g. ``forecast.planning.suppliers.estimate_lead_times(...).per_sku``), else the
    product's, else its supplier's (``suppliers``: supplier, lead_time_days), else missing
    (``allocate`` then uses its ``default_lead_time_days``).
    """
    if products is None or products.empty or "sku" not in products:
        return pd.DataFrame(columns=PRODUCT_COLUMNS)
    frame = products.reindex(columns=PRODUCT_COLUMNS).drop_duplicates("sku", keep="last")
    lead = pd.to_numeric(frame["lead_time_days"], errors="coerce")
    quoted_columns = {"supplier", "lead_time_days"}
    if suppliers is not None and len(suppliers) and quoted_columns <= set(suppliers):
        quoted = suppliers.drop_duplicates("supplier", keep="last").set_index("supplier")[
            "lead_time_days"]
        lead = lead.fillna(frame["supplier"].map(pd.to_numeric(quoted, errors="coerce")))
    if lead_times is not None and len(lead_times):
        measured = lead_times.drop_duplicates("sku", keep="last").set_index("sku")[
            "lead_time_days"]
        lead = frame["sku"].map(pd.to_numeric(measured, errors="coerce")).fillna(lead)
    return frame.assign(lead_time_days=lead.astype(float)).reset_index(drop=True)


def _lines(orders: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    customer_cols = ["customer_id", "segment", "lifetime_value"]
    known = customers[customer_cols] if not customers.empty else pd.DataFrame(
        columns=customer_cols)
    lines = orders.drop(columns=[c for c in ("segment", "lifetime_value") if c in orders])
    lines = lines.merge(known, on="customer_id", how="left")
    lines["segment"] = lines["segment"].fillna("regular")
    for col in ("shipping", "unit_price", "lifetime_value", "promised_date"):
        if col not in lines:
            lines[col] = np.nan
    lines["quantity"] = lines["quantity"].astype(float)
    lines["lifetime_value"] = pd.to_numeric(lines["lifetime_value"], errors="coerce")
    lines["unit_price"] = pd.to_numeric(lines["unit_price"], errors="coerce")
    return lines


def _with_products(lines: pd.DataFrame, products: pd.DataFrame | None, as_of: date) -> pd.DataFrame:
    """Attach pre-order, launch, dropship, lead time and supplier per SKU; ``_release`` is the
    first day a line's stock may ship: the launch date of a pre-order product not yet
    launched, else ``as_of``."""
    info = pd.DataFrame(columns=PRODUCT_COLUMNS)
    if products is not None and len(products):
        info = products.reindex(columns=PRODUCT_COLUMNS).drop_duplicates("sku", keep="last")
    info = info.rename(columns={"unit_price": "list_price"})
    lines = lines.drop(columns=[c for c in PRODUCT_COLUMNS[1:-1] if c in lines])
    lines = lines.merge(info, on="sku", how="left")
    lines["unit_price"] = line_prices(lines["unit_price"], lines.pop("list_price"))
    for flag in ("preorder", "dropship"):
        lines[flag] = lines[flag].astype(object).where(lines[flag].notna(), False).astype(bool)
    lines["launch_date"] = pd.to_datetime(lines["launch_date"])
    lines["lead_time_days"] = pd.to_numeric(lines["lead_time_days"], errors="coerce")
    lines["supplier"] = lines["supplier"].astype(object).where(lines["supplier"].notna(), None)
    today = pd.Timestamp(as_of)
    held = lines["preorder"] & (lines["launch_date"] > today)
    lines["_release"] = lines["launch_date"].where(held, today).astype("datetime64[us]")
    return lines


def line_prices(line_price: pd.Series, list_price: pd.Series) -> pd.Series:
    """An order line's unit price, else the product's list price (``products.unit_price``): a
    line without a price still has revenue at risk. Missing in both: NaN (counted as 0)."""
    return pd.to_numeric(line_price, errors="coerce").fillna(
        pd.to_numeric(list_price, errors="coerce"))


def _dropship(lines: pd.DataFrame, as_of: date, default_lead_time_days: float) -> pd.DataFrame:
    """Dropship lines: no stock; ETA = max(as_of, order_date) + lead time, not before launch."""
    out = lines.copy()
    lead = np.ceil(out["lead_time_days"].fillna(default_lead_time_days).clip(lower=0))
    start = pd.to_datetime(out["order_date"]).clip(lower=pd.Timestamp(as_of))
    eta = (start + pd.to_timedelta(lead, unit="D")).dt.normalize()
    eta = eta.where(~out["preorder"] | ~(out["launch_date"] > eta), out["launch_date"])
    out["allocated_now"] = 0.0
    out["eta"] = eta.astype("datetime64[us]").dt.date
    out["delay_days"] = (eta - pd.to_datetime(out["promised_date"])).dt.days.astype(float)
    out["status"] = "dropship"
    return out


def _ranked(lines: pd.DataFrame, policy: str, as_of: date,
            weights: PriorityWeights | None) -> pd.DataFrame:
    lines = lines.copy()
    if policy == "priority":
        lines["_rank"] = -priority_score(lines, as_of, weights or PriorityWeights())
    else:
        lines["_rank"] = 0.0
    return lines


def _supply_inputs(
    lines: pd.DataFrame, stock: pd.DataFrame, receipts: pd.DataFrame, as_of: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(usable stock now per key with its ``_release`` date, later receipts dated no earlier
    than ``as_of`` nor before the key's release)."""
    release = lines.groupby(KEY, as_index=False)["_release"].max()
    on_hand = stock.groupby(KEY, as_index=False)["on_hand"].sum()
    on_hand["on_hand"] = pd.to_numeric(on_hand["on_hand"]).astype(float).clip(lower=0)
    now = release.merge(on_hand, on=KEY, how="left").fillna({"on_hand": 0.0})
    later = receipts[[*KEY, "date", "quantity"]].merge(release, on=KEY, how="inner")
    arrives = pd.to_datetime(later["date"]).astype("datetime64[us]")
    later = later.assign(
        date=np.maximum(arrives.clip(lower=pd.Timestamp(as_of)), later["_release"]),
        quantity=pd.to_numeric(later["quantity"]).astype(float),
    )
    return now, later[[*KEY, "date", "quantity"]]


def _fill(lines: pd.DataFrame, supply_now: pd.DataFrame, later: pd.DataFrame, as_of: date,
          fair: bool = False) -> pd.DataFrame:
    """Allocate stock now and date the rest of each line (``lines`` ranked by ``_rank``)."""
    today = pd.Timestamp(as_of)
    lines = lines.sort_values([*KEY, "_rank", "order_date", "order_id"]).reset_index(drop=True)
    lines = lines.merge(supply_now[[*KEY, "on_hand"]], on=KEY, how="left")
    # Stock of a pre-order product not yet launched is held: nothing ships now.
    usable = np.where(lines["_release"] > today, 0.0, lines["on_hand"].fillna(0.0))
    lines["on_hand"] = usable
    quantity = lines["quantity"].to_numpy(dtype=float)
    if fair:
        lines["allocated_now"] = _fair_shares(
            lines.sort_values([*KEY, "order_date", "order_id"])).reindex(lines.index)
    else:
        before = lines.groupby(KEY)["quantity"].cumsum().to_numpy(dtype=float) - quantity
        lines["allocated_now"] = np.clip(usable - before, 0.0, quantity)

    # The rest of each line, in fill order, against what is left now plus later receipts.
    lines["remaining"] = quantity - lines["allocated_now"].to_numpy()
    used = lines.groupby(KEY, as_index=False)["allocated_now"].sum()
    left_now = supply_now.merge(used, on=KEY, how="left").fillna({"allocated_now": 0.0})
    left_now = left_now.assign(
        quantity=(left_now["on_hand"] - left_now["allocated_now"]).clip(lower=0),
        date=left_now["_release"],
    )
    supply = _cumulative(pd.concat([left_now[[*KEY, "date", "quantity"]], later],
                                   ignore_index=True))
    fill_order = ["order_date", "order_id"] if fair else ["_rank", "order_date", "order_id"]
    waiting = lines[lines["remaining"] > 1e-9].assign(_row=lambda f: f.index)
    waiting = waiting.sort_values([*KEY, *fill_order])
    waiting[KEY] = waiting[KEY].astype(str)
    waiting = waiting.assign(cum_need=waiting.groupby(KEY)["remaining"].cumsum().astype(float))
    matched = _first_covering(waiting, "cum_need", supply)
    eta = pd.Series(pd.NaT, index=lines.index, dtype="datetime64[us]")
    eta[lines["remaining"] <= 1e-9] = today
    eta[matched["_row"].to_numpy()] = pd.to_datetime(matched["date"]).to_numpy()
    lines["eta"] = eta.dt.date
    promised = pd.to_datetime(lines["promised_date"])
    lines["delay_days"] = (pd.to_datetime(lines["eta"]) - promised).dt.days.astype(float)
    full_now = lines["remaining"] <= 1e-9
    lines["status"] = np.select(
        [full_now, lines["eta"].isna(), lines["allocated_now"] > 0],
        ["allocated", "no_supply_planned", "partial"],
        default="backordered",
    )
    return lines


def _cumulative(supply: pd.DataFrame) -> pd.DataFrame:
    supply = supply[supply["quantity"] > 0].sort_values([*KEY, "date"], kind="stable").copy()
    supply[KEY] = supply[KEY].astype(str)  # merge_asof wants one key dtype on both sides
    supply["cum_supply"] = supply.groupby(KEY)["quantity"].cumsum().astype(float)
    return supply


def _first_covering(need: pd.DataFrame, column: str, supply: pd.DataFrame) -> pd.DataFrame:
    """For each row of ``need``, the first supply ``date`` whose cumulative supply (same key)
    reaches ``need[column]``; NaT when no planned supply does."""
    return pd.merge_asof(
        need.sort_values(column),
        supply.sort_values("cum_supply")[[*KEY, "cum_supply", "date"]],
        left_on=column, right_on="cum_supply", by=KEY, direction="forward",
    )


def retention_index(
    lines: pd.DataFrame,
    supply_now: pd.DataFrame,
    later: pd.DataFrame,
    as_of: date,
    curve: CancellationCurve = DEFAULT_CURVE,
    default_promise_days: int = DEFAULT_PROMISE_DAYS,
) -> pd.Series:
    """Expected revenue lost per unit if the line waits behind every other line of its SKU:

        index_i = unit_price_i x (P_i(last) - P_i(first)),

    P_i(t) the cancellation probability (``CancellationCurve.probability``) if the line ships on
    date t; first = the date cumulative supply covers the line alone, last = the date it covers
    every waiting line of the key (no date: no supply, P = the curve's limit). Higher first.
    """
    frame = lines.assign(_pos=np.arange(len(lines)))
    frame[KEY] = frame[KEY].astype(str)
    supply = _cumulative(pd.concat(
        [supply_now.assign(date=supply_now["_release"], quantity=supply_now["on_hand"])[
            [*KEY, "date", "quantity"]], later], ignore_index=True))
    frame["_alone"] = frame["quantity"].astype(float)
    frame["_all"] = frame.groupby(KEY)["quantity"].transform("sum").astype(float)
    first = _first_covering(frame, "_alone", supply).set_index("_pos")["date"]
    last = _first_covering(frame, "_all", supply).set_index("_pos")["date"]
    promise = effective_promise(frame, default_promise_days)
    late_now = days_late(pd.Series(pd.Timestamp(as_of), index=frame.index), promise)
    p_first = curve.probability(late_now, days_late(first.sort_index().set_axis(frame.index),
                                                    promise))
    p_last = curve.probability(late_now, days_late(last.sort_index().set_axis(frame.index),
                                                   promise))
    price = frame["unit_price"].fillna(0.0).clip(lower=0).to_numpy()
    return pd.Series(price * (p_last - p_first), index=lines.index)


def _retention(
    lines: pd.DataFrame, supply_now: pd.DataFrame, later: pd.DataFrame, as_of: date,
    weights: PriorityWeights | None, curve: CancellationCurve, default_promise_days: int,
) -> pd.DataFrame:
    """The index rule's allocation, or per key the other policy's that loses less."""
    index = retention_index(lines, supply_now, later, as_of, curve, default_promise_days)
    candidates = {"retention": _fill(lines.assign(_rank=-index), supply_now, later, as_of)}
    for name in ("priority", "fifo", "fair"):
        candidates[name] = _fill(_ranked(lines, name, as_of, weights), supply_now, later, as_of,
                                 fair=name == "fair")
    losses = pd.DataFrame({
        name: frame.assign(_loss=line_risk(frame, as_of, curve, default_promise_days)[
            "expected_revenue_lost"]).groupby(KEY)["_loss"].sum()
        for name, frame in candidates.items()
    })
    # The first candidate with the least loss (the index rule wins ties); 1e-9 for rounding.
    best = losses.sub(losses.min(axis=1), axis=0).le(1e-9).idxmax(axis=1)
    chosen = [
        frame.merge(best[best == name].index.to_frame(index=False), on=KEY, how="inner")
        for name, frame in candidates.items()
    ]
    return pd.concat(chosen, ignore_index=True)


def _fair_shares(lines: pd.DataFrame) -> pd.Series:
    """Proportional shares of a shortage, whole units, leftovers by largest remainder.

    ``lines`` is sorted by SKU, location, order date and order id; with usable stock A and
    waiting quantities q_i (total Q > A): share_i = floor(q_i A / Q), then the
    floor(A - sum share) units left go one each to the largest remainders q_i A / Q - share_i.
    Returns the shares aligned with ``lines``' index.
    """
    quantity = lines["quantity"].to_numpy(dtype=float)
    group = lines.groupby(KEY, sort=False)
    total = group["quantity"].transform("sum").to_numpy(dtype=float)
    stock = lines["on_hand"].to_numpy(dtype=float)
    short = total > stock + 1e-9
    numerator = quantity * stock  # exact for whole units (products below 2^53)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.floor(numerator / total)
        # floor(q A / Q) exactly, whatever the rounding of the division.
        share = np.where((share + 1) * total <= numerator, share + 1, share)
        share = np.where(share * total > numerator, share - 1, share)
        share = np.where(short, np.clip(share, 0.0, quantity), quantity)
        remainder = np.where(short, numerator / total - share, -np.inf)
    frame = pd.DataFrame({
        "g": group.ngroup().to_numpy(), "remainder": remainder, "pos": np.arange(len(lines)),
        "room": quantity - share >= 1 - 1e-9,
    })
    given = pd.Series(share, index=frame.index).groupby(frame["g"]).transform("sum")
    units = np.floor(np.where(short, stock - given.to_numpy(), 0.0))  # whole units left
    # Largest remainder first; ties to the earlier order (lines are in order-date order).
    ranked = frame[frame["room"] & short].sort_values(["g", "remainder", "pos"],
                                                      ascending=[True, False, True])
    ranked = ranked.assign(rank=ranked.groupby("g").cumcount())
    bonus = ranked.loc[ranked["rank"] < units[ranked["pos"].to_numpy()], "pos"].to_numpy()
    share[bonus] += 1.0
    return pd.Series(share, index=lines.index)


def summarise_allocation(
    allocations: pd.DataFrame, orders: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per policy and customer segment, plus an ``all`` row per policy.

    Columns: lines; on_time (share of lines whose ETA is on or before the promised date; a line
    without a promise is on time when it has an ETA); mean_delay and p90_delay (days late,
    0 for lines on time, over lines with an ETA); no_supply (lines without planned supply);
    units_short_now (quantity not allocated now); revenue_at_risk (quantity not allocated now x
    unit price, over lines whose ETA is after the promise or that have no supply planned).
    Unit prices come from ``allocations`` if it has a ``unit_price`` column, else from
    ``orders`` (order_id, sku, location, unit_price), and a line without one from ``products``
    (sku, unit_price: the list price); missing in both count as 0.
    expected_revenue_lost: the sum of the rows' expected revenue lost to cancellations
    (:mod:`forecast.backorders.cancellation`; NaN when the rows do not carry it).
    """
    if allocations.empty or "eta" not in allocations:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    frame = allocations.copy()
    if "expected_revenue_lost" not in frame:
        frame["expected_revenue_lost"] = np.nan
    if "unit_price" not in frame:
        if orders is not None and "unit_price" in orders:
            prices = orders[["order_id", *KEY, "unit_price"]].drop_duplicates(["order_id", *KEY])
            frame = frame.merge(prices, on=["order_id", *KEY], how="left")
        else:
            frame["unit_price"] = np.nan
    if products is not None and {"sku", "unit_price"} <= set(products):
        listed = products.drop_duplicates("sku", keep="last").set_index("sku")["unit_price"]
        frame["unit_price"] = line_prices(frame["unit_price"], frame["sku"].map(listed))
    eta = pd.to_datetime(frame["eta"])
    promised = pd.to_datetime(frame["promised_date"])
    late = eta.isna() | (promised.notna() & (eta > promised))
    short_now = (frame["quantity"] - frame["allocated_now"]).clip(lower=0)
    # Days late for lines with an ETA (0 when on time or without a promise); NaN without ETA.
    late_days = frame["delay_days"].clip(lower=0).fillna(0.0).where(eta.notna())
    frame = frame.assign(
        on_time=~late,
        late_days=late_days,
        no_supply=frame["status"] == "no_supply_planned",
        units_short_now=short_now,
        revenue_at_risk=np.where(late, short_now * frame["unit_price"].fillna(0.0), 0.0),
    )
    both = pd.concat([frame, frame.assign(segment="all")], ignore_index=True)
    summary = (
        both.groupby(["policy", "segment"])
        .agg(lines=("order_id", "size"), on_time=("on_time", "mean"),
             mean_delay=("late_days", "mean"),
             p90_delay=("late_days", lambda s: s.quantile(0.9) if s.notna().any() else np.nan),
             no_supply=("no_supply", "sum"), units_short_now=("units_short_now", "sum"),
             revenue_at_risk=("revenue_at_risk", "sum"),
             expected_revenue_lost=("expected_revenue_lost", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    return summary[SUMMARY_COLUMNS]


def compare_policies(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    stock: pd.DataFrame,
    receipts: pd.DataFrame,
    as_of: date,
    policies: Iterable[str] = POLICIES,
    weights: PriorityWeights | None = None,
    **options: object,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Allocate under each policy: (all allocation rows, summarise_allocation of them).
    ``options`` go to :func:`allocate` (products, curve, default_lead_time_days ...)."""
    allocations = pd.concat(
        [allocate(orders, customers, stock, receipts, as_of, p,  # type: ignore[arg-type]
                  weights, **options)
         for p in policies],
        ignore_index=True,
    )
    return allocations, summarise_allocation(allocations, orders, options.get("products"))  # type: ignore[arg-type]
