"""The what-if command's console tables: the SKUs a supplier delay hits (now -> with the change,
replanned in brackets) and the waiting customer lines whose date moves, by segment."""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from forecast.publish.tables import Col, cell, missing, render, with_sku_at


def _arrow(before: object, after: object, kind: str = "num", decimals: int = 0,
           replanned: object = "__none__") -> str:
    """'before -> after' (and '(replanned)') with the table's formats ('-' when missing)."""
    text = f"{cell(before, kind, decimals)} -> {cell(after, kind, decimals)}"  # type: ignore[arg-type]
    return text if replanned == "__none__" else f"{text} ({cell(replanned, kind, decimals)})"  # type: ignore[arg-type]


def print_skus_hit(skus_hit: pd.DataFrame, title: str, console: Console) -> None:
    """Per SKU: lead time, stockout probability, first stockout date, units short and order:
    now -> with the change under the current plan (replanned in brackets)."""
    frame = pd.DataFrame({
        "sku@location": skus_hit["sku"].astype(str) + "@" + skus_hit["location"].astype(str),
        "lead": [_arrow(a, b, "num", 1) for a, b in zip(skus_hit["lead_time_days_before"],
                                                        skus_hit["lead_time_days_after"], strict=True)],
        "p_out": [_arrow(a, b, "pct", 0, c) for a, b, c in zip(
            skus_hit["stockout_probability_before"], skus_hit["stockout_probability_unchanged"],
            skus_hit["stockout_probability_after"], strict=True)],
        "first_out": [_arrow(a, b, "date") for a, b in zip(
            skus_hit["first_stockout_p50_before"], skus_hit["first_stockout_p50_unchanged"], strict=True)],
        "short": [_arrow(a, b, "num", 1, c) for a, b, c in zip(
            skus_hit["expected_backorders_before"], skus_hit["expected_backorders_unchanged"],
            skus_hit["expected_backorders_after"], strict=True)],
        "order": [_arrow(a, b, "int") for a, b in zip(
            skus_hit["recommended_order_before"], skus_hit["recommended_order_after"], strict=True)],
        "order_by": [_arrow(a, b, "date") for a, b in zip(
            skus_hit["order_by_before"], skus_hit["order_by_after"], strict=True)],
    }) if len(skus_hit) else pd.DataFrame()
    render(frame, [Col("sku@location", kind="key"), Col("lead", "lead time d"), Col("p_out", "P(stockout)"),
                   Col("short", "units short"), Col("order", "order, replanned"),
                   Col("first_out", "first stockout p50", priority=1), Col("order_by", "order by", priority=2)],
           title=title + ": SKUs, now -> with the change (replanned)", console=console,
           empty="No SKUs hit.")
    console.print("With the change: the current plan (reorder points, quantities) facing it; "
                  "replanned: the plan recomputed for it.")


def print_lines_hit(lines_hit: pd.DataFrame, segments_hit: pd.DataFrame | None, rows: int,
                    console: Console) -> None:
    """Waiting customer lines whose ETA or status moves, and the count per segment."""
    if segments_hit is None or segments_hit.empty:
        console.print("No waiting customer lines for these SKUs.")
        return
    if not len(lines_hit):
        console.print("No waiting customer line changes its date (all served from stock, or their "
                      "supply does not move).")
    else:
        shown = with_sku_at(lines_hit.head(rows))
        # A line without an ETA shows its status (no supply planned ...).
        for when in ("before", "after"):
            eta = shown[f"eta_{when}"]
            shown[f"eta_{when}_text"] = [
                str(s) if missing(e) else str(e)[:10] for e, s in zip(eta, shown[f"status_{when}"], strict=True)]
        shown["newly_late_text"] = shown["newly_late"].map({True: "yes"}).fillna("")
        render(shown, [Col("order_id", "order", "key"), Col("customer_id", "customer", "key", priority=3),
                       Col("segment", priority=4), Col("sku@location", kind="key"),
                       Col("quantity", "qty", "int"), Col("promised_date", "promised", "date", priority=2),
                       Col("eta_before_text", "ETA before"), Col("eta_after_text", "ETA after"),
                       Col("eta_shift_days", "shift d", "signed", priority=1),
                       Col("newly_late_text", "newly late")],
               title=f"Customer lines hit: {len(shown):,} of {len(lines_hit):,}, newly late first", console=console)
    render(segments_hit, [Col("segment", kind="key"), Col("lines", "open lines", "int"), Col("lines_hit", "hit", "int"),
                          Col("newly_late", "newly late", "int"), Col("late_before", "late before", "int"),
                          Col("late_after", "late after", "int"), Col("mean_shift_days", "mean shift d", "signed", 1)],
           title="Customer lines by segment", console=console)
