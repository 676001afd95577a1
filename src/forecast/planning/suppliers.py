"""Supplier reliability from received purchase orders: real lead times, on-time rate, scorecard.

The optional ``receipts`` table (po_id, sku, supplier, order_date, expected_date, received_date,
quantity, location) records what suppliers actually did. From the receipt lines received in the
last ``lookback_days`` (default 365) up to the as-of date:

- lead time of a line = received_date - order_date (days);
- on time = received_date <= expected_date (lines without an expected date do not count);
- days late of a late line = received_date - expected_date;
- share of units late = units on late lines / units on lines with an expected date.

Per supplier, and per supplier and SKU, these give the lead-time mean, sample s.d. (n - 1),
median, 90th percentile and the empirical distribution (how often each lead time occurred).

**Which lead time the plan uses** (:func:`estimate_lead_times`): a SKU's supplier is its product's
``supplier`` (for a SKU without one: the supplier that delivered it last). When that supplier
delivered the SKU on at least ``min_receipts`` purchase orders, the SKU's own receipts give its
lead time and spread; else, when the supplier delivered at least ``min_receipts`` purchase orders
of any SKU, the supplier's receipts do; else the configured lead time (product, supplier, default)
stays. The policy's ``lead_time_source`` / ``lead_time_sd_source`` then say ``receipts``, and the
simulation draws each order's lead time from the same receipts (a bootstrap, see
:func:`forecast.backorders.simulation.empirical_lead_time_pmf`) instead of a gamma distribution.

**Why 8 purchase orders** (:data:`MIN_RECEIPTS`): the standard error of a mean lead time is
sigma_L / sqrt(n); with a typical coefficient of variation of 25% and n = 8 it is 9% of the
lead time (about a day on a 14-day lead time), while the sample s.d. itself is still uncertain by
about 1 / sqrt(2 (n - 1)) = 27% (normal approximation). Below 8 both errors grow quickly (at
n = 3 the s.d. is uncertain by 50%) and a p90 is no more than the largest value seen, so the
quoted figure is the better guess. Purchase orders are counted, not lines: the lines of one
order arrive together and are not independent evidence. The sample is used as it is from 8 on
(no shrinkage toward the quoted value), so the figure in the plan is the one a buyer can check
against the receipts.

Receipts are what arrived: orders still open are not in them, so a supplier whose late orders
have not arrived yet looks better than it is until they do. The scorecard therefore also lists
open and overdue purchase orders (expected_date before the as-of date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

#: Purchase orders (distinct po_id) a supplier, or a supplier and SKU, must have delivered in the
#: look-back window before its receipts replace the configured lead time (reason in the module
#: docstring).
MIN_RECEIPTS = 8
#: Receipts older than this (days before the as-of date, by received_date) are left out, so a
#: supplier that got better or worse shows it within a year.
LOOKBACK_DAYS = 365
#: On-time rates for the scorecard's verdict: at or above GOOD is reliable; below POOR with late
#: deliveries SEVERE_LATE_DAYS or more late on average is unreliable (a supplier that misses by a
#: day is a nuisance; one that often misses by half a week breaks customers' dates).
ON_TIME_GOOD = 0.90
ON_TIME_POOR = 0.75
SEVERE_LATE_DAYS = 3.0
#: A measured lead time further than this from the quoted one (days, or the share of the quoted
#: one when that is larger) counts as different.
GAP_DAYS = 1.0
GAP_SHARE = 0.10

RECEIPT_COLUMNS = ("po_id", "sku", "supplier", "order_date", "received_date")
LINE_COLUMNS = [
    "po_id", "sku", "supplier", "location", "quantity", "order_date", "expected_date",
    "received_date", "lead_time_days", "days_late", "on_time",
]
STAT_COLUMNS = [
    "receipts", "purchase_orders", "lead_time_mean", "lead_time_sd", "lead_time_p50",
    "lead_time_p90", "on_time_rate", "mean_days_late", "late_units_share",
]
SCORECARD_COLUMNS = [
    "supplier", "name", "skus", "receipts", "purchase_orders", "on_time_rate", "mean_days_late",
    "late_units_share", "lead_time_mean", "lead_time_sd", "lead_time_p50", "lead_time_p90",
    "quoted_lead_time_days", "lead_time_gap_days", "lead_time_used", "open_pos", "open_units",
    "overdue_pos", "overdue_units", "dropship_skus", "dropship_open_lines",
    "dropship_late_share", "dropship_lines_late_expected", "rating", "verdict",
]


@dataclass(frozen=True)
class ReliabilityConfig:
    """How much receipt history counts: ``min_receipts`` purchase orders at least, received in
    the last ``lookback_days`` (None: all of it)."""

    min_receipts: int = MIN_RECEIPTS
    lookback_days: int | None = LOOKBACK_DAYS

    def __post_init__(self) -> None:
        if self.min_receipts < 2:
            raise ValueError(
                f"min_receipts must be at least 2 (a spread needs two values), got {self.min_receipts}"
            )
        if self.lookback_days is not None and self.lookback_days <= 0:
            raise ValueError(f"lookback_days must be positive or None, got {self.lookback_days}")


@dataclass
class LeadTimeEstimate:
    """Receipts-based lead times for the plan and the simulation.

    ``per_sku``: one row per SKU with enough receipts: sku, supplier, basis (``sku`` = the SKU's
    own receipts, ``supplier`` = all of its supplier's), purchase_orders, lead_time_days,
    lead_time_sd_days. ``samples``: the empirical distribution behind each of those SKUs: sku,
    lead_time_days, count (receipt lines with that lead time).
    """

    per_sku: pd.DataFrame
    samples: pd.DataFrame

    @staticmethod
    def empty() -> LeadTimeEstimate:
        return LeadTimeEstimate(
            pd.DataFrame(columns=["sku", "supplier", "basis", "purchase_orders", "lead_time_days",
                                  "lead_time_sd_days"]),
            pd.DataFrame(columns=["sku", "lead_time_days", "count"]),
        )


def receipt_lines(
    receipts: pd.DataFrame | None, as_of: date, cfg: ReliabilityConfig | None = None
) -> pd.DataFrame:
    """Receipt lines received in the look-back window up to ``as_of``, with their lead time.

    lead_time_days = received_date - order_date; days_late = received_date - expected_date
    (NaN without an expected date); on_time = 1.0 when received on or before the expected date,
    0.0 when after, NaN without one. A line received (or expected) before it was ordered, or
    without an order or received date, is rejected with a ValueError naming it.

    >>> r = pd.DataFrame({"po_id": ["P1"], "sku": ["A"], "supplier": ["S"],
    ...     "order_date": ["2026-01-01"], "expected_date": ["2026-01-10"],
    ...     "received_date": ["2026-01-12"], "quantity": [5.0]})
    >>> receipt_lines(r, date(2026, 2, 1))[["lead_time_days", "days_late", "on_time"]].values.tolist()
    [[11.0, 2.0, 0.0]]
    """
    cfg = cfg or ReliabilityConfig()
    if receipts is None or receipts.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    missing = [c for c in RECEIPT_COLUMNS if c not in receipts]
    if missing:
        raise ValueError(f"receipts: missing column(s) {', '.join(missing)}")
    frame = receipts.copy()
    for col, default in (("location", "main"), ("quantity", np.nan), ("expected_date", pd.NaT)):
        if col not in frame:
            frame[col] = default
    order = pd.to_datetime(frame["order_date"])
    received = pd.to_datetime(frame["received_date"])
    expected = pd.to_datetime(frame["expected_date"])
    for text, bad in (
        ("has no order_date", order.isna()),
        ("has no received_date", received.isna()),
        ("received_date is before order_date", received < order),
        ("expected_date is before order_date", expected < order),
    ):
        if bad.any():
            row = frame.loc[bad].iloc[0]
            raise ValueError(
                f"receipts: po {row['po_id']} sku {row['sku']}: {text} "
                f"({int(bad.sum())} line(s) like this)"
            )
    end = pd.Timestamp(as_of)
    keep = received <= end
    if cfg.lookback_days is not None:
        keep &= received > end - pd.Timedelta(days=cfg.lookback_days)
    frame = frame.assign(order_date=order, received_date=received, expected_date=expected)[keep]
    frame["lead_time_days"] = (frame["received_date"] - frame["order_date"]).dt.days.astype(float)
    frame["days_late"] = (frame["received_date"] - frame["expected_date"]).dt.days.astype(float)
    frame["on_time"] = np.where(
        frame["expected_date"].notna(), (frame["days_late"] <= 0).astype(float), np.nan
    )
    frame["quantity"] = pd.to_numeric(frame["quantity"], errors="coerce").astype(float)
    for col in ("po_id", "sku", "supplier", "location"):
        frame[col] = frame[col].astype(str)
    return frame[LINE_COLUMNS].reset_index(drop=True)


def lead_time_statistics(lines: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by``: receipts (lines), purchase_orders (distinct po_id), lead-time mean,
    sample s.d. (ddof 1; NaN for one line), p50 and p90 (linear interpolation), on_time_rate
    (share of lines with an expected date received by it), mean_days_late (over late lines) and
    late_units_share (units on late lines / units on lines with an expected date).

    >>> lines = receipt_lines(pd.DataFrame({"po_id": ["1", "2", "3"], "sku": "A", "supplier": "S",
    ...     "order_date": "2026-01-01", "expected_date": "2026-01-05",
    ...     "received_date": ["2026-01-03", "2026-01-05", "2026-01-07"], "quantity": [1.0, 1, 2]}),
    ...     date(2026, 2, 1))
    >>> s = lead_time_statistics(lines, ["supplier"]).iloc[0]
    >>> float(s.lead_time_mean), float(s.lead_time_p50), round(float(s.on_time_rate), 3)
    (4.0, 4.0, 0.667)
    >>> float(s.mean_days_late), float(s.late_units_share)
    (2.0, 0.5)
    """
    if lines.empty:
        return pd.DataFrame(columns=[*by, *STAT_COLUMNS])
    known = lines["on_time"].notna()
    late = (lines["on_time"] == 0.0).to_numpy()
    work = lines.assign(
        late_days=lines["days_late"].where(late),
        units_late=lines["quantity"].where(late, 0.0).where(known),
        units_known=lines["quantity"].where(known),
    )
    group = work.groupby(by, sort=True)
    stats = group.agg(
        receipts=("lead_time_days", "size"),
        purchase_orders=("po_id", "nunique"),
        lead_time_mean=("lead_time_days", "mean"),
        lead_time_sd=("lead_time_days", "std"),
        on_time_rate=("on_time", "mean"),
        mean_days_late=("late_days", "mean"),
        units_late=("units_late", "sum"),
        units_known=("units_known", "sum"),
    )
    quantiles = group["lead_time_days"].quantile([0.5, 0.9]).unstack()
    stats["lead_time_p50"] = quantiles[0.5]
    stats["lead_time_p90"] = quantiles[0.9]
    units_known = stats["units_known"].to_numpy(dtype=float)
    stats["late_units_share"] = np.divide(
        stats["units_late"].to_numpy(dtype=float), units_known,
        out=np.full(len(stats), np.nan), where=units_known > 0,
    )
    return stats.reset_index()[[*by, *STAT_COLUMNS]]


def sku_suppliers(products: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """sku -> supplier: the product's supplier, else the supplier of the SKU's latest receipt."""
    if not products.empty and "supplier" in products:
        named = products[["sku", "supplier"]].astype({"sku": str})
        named = named[named["supplier"].notna() & (named["supplier"].astype(str) != "")]
        named = named.assign(supplier=named["supplier"].astype(str))
    else:
        named = pd.DataFrame(columns=["sku", "supplier"])
    if lines.empty:
        return named.reset_index(drop=True)
    latest = (
        lines.sort_values(["received_date", "po_id"])
        .drop_duplicates("sku", keep="last")[["sku", "supplier"]]
    )
    latest = latest[~latest["sku"].isin(named["sku"])]
    return pd.concat([named, latest], ignore_index=True)


def estimate_lead_times(
    receipts: pd.DataFrame | None,
    products: pd.DataFrame,
    as_of: date,
    cfg: ReliabilityConfig | None = None,
) -> LeadTimeEstimate:
    """The receipts-based lead time and spread of every SKU that has enough receipts.

    Per SKU (supplier from :func:`sku_suppliers`): the SKU's own receipts from its supplier when
    they span at least ``cfg.min_receipts`` purchase orders (``basis`` = ``sku``), else all of
    the supplier's receipts when those do (``supplier``); SKUs with neither are left out and keep
    their configured lead time. lead_time_days = mean, lead_time_sd_days = sample s.d. (0 when
    every receipt took the same time).
    """
    cfg = cfg or ReliabilityConfig()
    lines = receipt_lines(receipts, as_of, cfg)
    if lines.empty:
        return LeadTimeEstimate.empty()
    owners = sku_suppliers(products, lines)
    own = lead_time_statistics(lines, ["supplier", "sku"])
    pooled = lead_time_statistics(lines, ["supplier"])
    frame = owners.merge(own, on=["supplier", "sku"], how="left").merge(
        pooled, on="supplier", how="left", suffixes=("", "_supplier")
    )
    by_sku = frame["purchase_orders"].fillna(0).to_numpy() >= cfg.min_receipts
    by_supplier = ~by_sku & (frame["purchase_orders_supplier"].fillna(0).to_numpy() >= cfg.min_receipts)
    chosen = frame[by_sku | by_supplier].copy()
    own_rows = by_sku[by_sku | by_supplier]

    def pick(col: str) -> np.ndarray:
        return np.where(own_rows, chosen[col], chosen[f"{col}_supplier"])

    per_sku = pd.DataFrame(
        {
            "sku": chosen["sku"].to_numpy(),
            "supplier": chosen["supplier"].to_numpy(),
            "basis": np.where(own_rows, "sku", "supplier"),
            "purchase_orders": pick("purchase_orders").astype(int),
            "lead_time_days": pick("lead_time_mean").astype(float),
            "lead_time_sd_days": np.nan_to_num(pick("lead_time_sd").astype(float)),
        }
    )
    counts_own = lines.groupby(["supplier", "sku", "lead_time_days"]).size().rename("count").reset_index()
    counts_pool = lines.groupby(["supplier", "lead_time_days"]).size().rename("count").reset_index()
    samples = pd.concat(
        [
            per_sku[per_sku["basis"] == "sku"][["sku", "supplier"]].merge(
                counts_own, on=["supplier", "sku"]),
            per_sku[per_sku["basis"] == "supplier"][["sku", "supplier"]].merge(
                counts_pool, on="supplier"),
        ],
        ignore_index=True,
    )[["sku", "lead_time_days", "count"]]
    return LeadTimeEstimate(
        per_sku.sort_values("sku").reset_index(drop=True),
        samples.sort_values(["sku", "lead_time_days"]).reset_index(drop=True),
    )


def supplier_scorecard(
    receipts: pd.DataFrame | None,
    products: pd.DataFrame,
    suppliers: pd.DataFrame,
    purchase_orders: pd.DataFrame,
    customer_orders: pd.DataFrame,
    as_of: date,
    cfg: ReliabilityConfig | None = None,
    default_lead_time_days: float = 14.0,
) -> pd.DataFrame:
    """One row per supplier (named in suppliers, products, receipts or open purchase orders).

    Columns (:data:`SCORECARD_COLUMNS`): the receipt statistics of :func:`lead_time_statistics`
    over the look-back window; ``quoted_lead_time_days`` = the suppliers table's lead time, else
    the mean configured lead time of its products, else ``default_lead_time_days``;
    ``lead_time_gap_days`` = measured mean - quoted; ``lead_time_used`` = ``receipts`` when it
    delivered at least ``min_receipts`` purchase orders (the plan uses them), else ``quoted``;
    open and overdue purchase orders (count and units; overdue = expected before ``as_of``;
    an order without a supplier belongs to its product's); SKUs supplied; dropship SKUs and their
    open customer lines, with ``dropship_late_share`` = 1 - on-time rate (the chance a line
    passed to this supplier arrives late) and ``dropship_lines_late_expected`` = lines x that
    share, both only with enough receipts; ``rating`` and a plain-words ``verdict``:

    - ``too_few_receipts``: fewer than ``min_receipts`` purchase orders received;
    - ``unreliable``: on time below :data:`ON_TIME_POOR` and late ones :data:`SEVERE_LATE_DAYS`
      or more late on average;
    - ``slower_than_quoted``: measured mean more than max(GAP_DAYS, GAP_SHARE x quoted) above quoted;
    - ``often_late``: on time below :data:`ON_TIME_GOOD`;
    - ``reliable``: otherwise.
    """
    cfg = cfg or ReliabilityConfig()
    lines = receipt_lines(receipts, as_of, cfg)
    products = products if not products.empty else pd.DataFrame(columns=["sku", "supplier"])
    prod = products.copy()
    for col, default in (("supplier", None), ("lead_time_days", np.nan), ("dropship", False)):
        if col not in prod:
            prod[col] = default
    prod["supplier"] = prod["supplier"].where(prod["supplier"].notna(), None)
    prod["dropship"] = prod["dropship"].fillna(False).astype(bool)
    sup = suppliers.copy() if not suppliers.empty else pd.DataFrame(columns=["supplier"])
    for col in ("name", "lead_time_days"):
        if col not in sup:
            sup[col] = np.nan
    pos = _open_orders_by_supplier(purchase_orders, prod, as_of)
    names = pd.concat(
        [sup["supplier"], prod["supplier"], lines["supplier"], pos["supplier"]], ignore_index=True
    ).dropna().astype(str)
    names = sorted(set(names[names != ""]))
    card = pd.DataFrame({"supplier": names})
    if card.empty:
        return pd.DataFrame(columns=SCORECARD_COLUMNS)

    card = card.merge(sup[["supplier", "name", "lead_time_days"]].astype({"supplier": str}),
                      on="supplier", how="left")
    per_product = prod.dropna(subset=["supplier"]).astype({"supplier": str}).groupby("supplier").agg(
        skus=("sku", "nunique"), product_lead=("lead_time_days", "mean"),
        dropship_skus=("dropship", "sum"),
    )
    card = card.merge(per_product, on="supplier", how="left")
    card = card.merge(lead_time_statistics(lines, ["supplier"]), on="supplier", how="left")
    quoted = card["lead_time_days"].astype(float).fillna(card["product_lead"].astype(float))
    card["quoted_lead_time_days"] = quoted.fillna(default_lead_time_days)
    card["lead_time_gap_days"] = card["lead_time_mean"] - card["quoted_lead_time_days"]
    enough = card["purchase_orders"].fillna(0).to_numpy() >= cfg.min_receipts
    card["lead_time_used"] = np.where(enough, "receipts", "quoted")

    open_stats = pos.groupby("supplier").agg(
        open_pos=("po", "nunique"), open_units=("quantity", "sum"),
        overdue_pos=("overdue_po", "nunique"), overdue_units=("overdue_units", "sum"),
    )
    card = card.merge(open_stats, on="supplier", how="left")
    dropship_lines = _dropship_lines(customer_orders, prod)
    card = card.merge(dropship_lines, on="supplier", how="left")
    for col in ("skus", "receipts", "purchase_orders", "open_pos", "overdue_pos", "dropship_skus",
                "dropship_open_lines"):
        card[col] = card[col].fillna(0).astype(int)
    for col in ("open_units", "overdue_units"):
        card[col] = card[col].fillna(0.0).astype(float)
    late_share = 1.0 - card["on_time_rate"].astype(float)
    card["dropship_late_share"] = np.where(enough, late_share, np.nan)
    card["dropship_lines_late_expected"] = card["dropship_late_share"] * card["dropship_open_lines"]
    card["rating"] = _ratings(card, enough)
    card["verdict"] = [_verdict(row, cfg) for row in card.itertuples(index=False)]
    return card[SCORECARD_COLUMNS]


def _open_orders_by_supplier(
    purchase_orders: pd.DataFrame, products: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """Open PO lines with their supplier (the order's, else its product's) and overdue flags."""
    columns = ["supplier", "po", "quantity", "overdue_po", "overdue_units"]
    if purchase_orders is None or purchase_orders.empty:
        return pd.DataFrame(columns=columns)
    po = purchase_orders.copy()
    if "supplier" not in po:
        po["supplier"] = None
    if "po_id" not in po:
        po["po_id"] = ""
    owner = po[["sku"]].merge(products[["sku", "supplier"]].drop_duplicates("sku"), on="sku",
                              how="left")["supplier"].to_numpy()
    stated = po["supplier"].where(po["supplier"].notna() & (po["supplier"].astype(str) != ""))
    po["supplier"] = stated.fillna(pd.Series(owner, index=po.index))
    po = po.dropna(subset=["supplier"])
    expected = pd.to_datetime(po["expected_date"])
    # A PO without an id is counted once per line: it cannot be told apart from others.
    label = po["po_id"].fillna("").astype(str)
    label = label.where(label != "", "line-" + pd.Series(np.arange(len(po)), index=po.index).astype(str))
    overdue = (expected < pd.Timestamp(as_of)).to_numpy()
    quantity = pd.to_numeric(po["quantity"]).astype(float).to_numpy()
    return pd.DataFrame(
        {
            "supplier": po["supplier"].astype(str).to_numpy(),
            "po": label.to_numpy(),
            "quantity": quantity,
            "overdue_po": label.where(overdue).to_numpy(),
            "overdue_units": np.where(overdue, quantity, 0.0),
        }
    )


def _dropship_lines(customer_orders: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Open customer lines of dropship SKUs, per supplier."""
    if customer_orders is None or customer_orders.empty:
        return pd.DataFrame(columns=["supplier", "dropship_open_lines"])
    dropship = products.loc[products["dropship"] & products["supplier"].notna(), ["sku", "supplier"]]
    lines = customer_orders[["sku"]].merge(dropship.astype({"supplier": str}), on="sku")
    return lines.groupby("supplier").size().rename("dropship_open_lines").reset_index()


def _ratings(card: pd.DataFrame, enough: np.ndarray) -> np.ndarray:
    on_time = card["on_time_rate"].astype(float).to_numpy()
    late_days = card["mean_days_late"].astype(float).to_numpy()
    gap = card["lead_time_gap_days"].astype(float).to_numpy()
    tolerance = np.maximum(GAP_DAYS, GAP_SHARE * card["quoted_lead_time_days"].astype(float).to_numpy())
    return np.select(
        [~enough, (on_time < ON_TIME_POOR) & (late_days >= SEVERE_LATE_DAYS), gap > tolerance,
         on_time < ON_TIME_GOOD],
        ["too_few_receipts", "unreliable", "slower_than_quoted", "often_late"],
        default="reliable",
    )


_RATING_WORDS = {
    "reliable": "Reliable",
    "often_late": "Often late",
    "unreliable": "Unreliable",
    "slower_than_quoted": "Slower than quoted",
}


def _verdict(row, cfg: ReliabilityConfig) -> str:
    """One sentence a buyer can act on, from a scorecard row."""
    window = f"in the last {cfg.lookback_days} days" if cfg.lookback_days else "on record"
    quoted = f"{row.quoted_lead_time_days:g} d"
    if row.rating == "too_few_receipts":
        seen = (f"{row.purchase_orders} purchase order(s) received {window}" if row.receipts
                else f"no receipts {window}")
        text = (f"Not enough history: {seen} (needs {cfg.min_receipts}); the plan uses the quoted "
                f"lead time of {quoted}")
    else:
        parts = [_RATING_WORDS[row.rating] + ":"]
        if np.isfinite(row.on_time_rate):
            late = (f", late ones {row.mean_days_late:.1f} d late on average"
                    if np.isfinite(row.mean_days_late) else "")
            parts.append(f"{row.on_time_rate:.0%} on time{late};")
        parts.append(
            f"lead time {row.lead_time_mean:.1f} d (p90 {row.lead_time_p90:.0f} d) vs {quoted} "
            f"quoted, from {row.purchase_orders:,} purchase orders; the plan uses the receipts"
        )
        text = " ".join(parts)
    if not row.skus and not row.open_pos:
        text += ". Supplies no product now (history only)"
    if row.overdue_pos:
        text += f". {row.overdue_pos} open PO(s) overdue ({row.overdue_units:,.0f} units): chase them"
    if row.dropship_open_lines:
        text += f". Dropship: {row.dropship_open_lines} open customer line(s)"
        if np.isfinite(row.dropship_lines_late_expected):
            text += f", about {row.dropship_lines_late_expected:.1f} expected late"
    return text + "."
