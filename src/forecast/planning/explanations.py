"""The line a buyer reads with each recommendation (:func:`explain`), built with vectorised
string operations from the policy and the position behind it.

Two things a buyer would otherwise stop at are said in words:

- a SKU planned under its class level (class fill rates are pooled: the class as a whole meets
  its level with the least stock) gets its own figure, the class's and the floor under it
  ("92.9% fill rate (class B: 95% over the class, no SKU under 85%)");
- a negative safety stock is explained: the order quantity covers N days of demand, so the
  reorder point may sit below the lead-time demand and the target is still met (most of each
  cycle's demand is served from the order just received);
- a slow mover planned on its rate floor (:meth:`DemandForecast.expected`) says so, with the
  point forecast the forecast export shows: "(0.2/d with the long-run rate floor; point forecast
  0.02/d)".
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _num(x: object, index: pd.Index, decimals: int = 0) -> pd.Series:
    """Numbers as short text, vectorised: 1234.4 -> '1234', 4.5 -> '4.5' (decimals=1)."""
    arr = np.asarray(x, dtype=float)
    finite = np.isfinite(arr)
    rounded = np.round(np.where(finite, arr, 0.0), decimals) + 0.0  # + 0.0: no '-0'
    if decimals == 0:
        text = pd.Series(rounded.astype(np.int64).astype(str), index=index)
    else:
        text = pd.Series(rounded.astype(str), index=index).str.removesuffix(".0")
    return text.where(finite, "n/a")


def _when(mask: object, text: pd.Series | str, index: pd.Index) -> pd.Series:
    """``text`` where ``mask`` holds, else an empty string."""
    text = text if isinstance(text, pd.Series) else pd.Series(text, index=index)
    return text.where(np.asarray(mask, dtype=bool), "")


def _uplift_note(plan: pd.DataFrame) -> pd.Series:
    """" incl. campaign +29%" where a planned campaign lifts the lead-time demand over the usual
    rate, " incl. seasonal peak +40%" / " incl. seasonal dip -30%" where the forecast's own
    shape does (no campaign inside P); nothing under 5%."""
    ix = plan.index
    zero = pd.Series(0.0, index=ix)
    campaign = plan.get("campaign_uplift_pct", zero).to_numpy(dtype=float)
    seasonal = plan.get("seasonal_uplift_pct", zero).to_numpy(dtype=float)
    by_campaign = np.abs(campaign) >= 5
    uplift = np.where(by_campaign, campaign, seasonal)
    sign = np.where(uplift >= 0, "+", "")
    cause = np.where(by_campaign, "campaign ", np.where(uplift >= 0, "seasonal peak ", "seasonal dip "))
    return _when(np.abs(uplift) >= 5, " incl. " + pd.Series(cause, index=ix) + sign + _num(uplift, ix) + "%", ix)


def explain(plan: pd.DataFrame, floor: float | None = None) -> pd.Series:
    """One line per recommendation a buyer can read, built with vectorised string operations.

    Needs the policy columns plus position, order_by, order_quantity and the working columns
    ``raw_quantity``, ``multiples`` and ``position_at_order`` set by :func:`recommend_orders`.
    Example: "(s,Q) lead-time demand 80 over 14 d incl. campaign +30%, safety stock 25
    for 98% fill rate (class A), position 10 vs reorder point 105: 1 x Q 96, round to pack of 12
    -> order 96".
    """
    ix = plan.index
    if not len(plan):
        return pd.Series([], index=ix, dtype=str)
    policy = plan["policy"].astype(str)
    periodic = (policy == "RS").to_numpy()
    lead = _num(plan["lead_time_days"], ix, 1)
    review = _num(plan["review_period_days"], ix, 1)
    prefix = policy.map({"sQ": "(s,Q) ", "sS": "(s,S) ", "RS": "(R,S) "}).fillna("") + _when(
        periodic, "review every " + review + " d: ", ix
    )
    over = lead + _when(periodic, "+" + review, ix) + " d"
    source = plan["lead_time_source"].astype(str)
    lt_note = _when(source != "product", " (" + source + " lead time)", ix)
    uplift_note = _uplift_note(plan)
    kind = plan["service_kind"].map({"fill_rate": "fill rate", "cycle": "cycle service"}).fillna("")
    who = np.where(
        plan["service_source"].to_numpy(dtype=object) == "product",
        "product setting, class " + plan["abc_class"].astype(str),
        "class " + plan["abc_class"].astype(str),
    )
    level = plan["service_level"].to_numpy(dtype=float)
    planned = (
        plan["planned_fill_rate"].to_numpy(dtype=float) if "planned_fill_rate" in plan else level
    )
    # A SKU pooled in its class (service_scope "class") gets its share of the class's level.
    shared = np.isfinite(planned) & (np.abs(planned - level) >= 0.0005)
    service = _num(100 * np.where(shared, planned, level), ix, 1) + "% " + kind
    floor_note = (", no SKU under " + _num(100 * np.maximum(level - floor, 0.5), ix, 1) + "%"
                  if floor is not None else "")
    who = pd.Series(who, index=ix) + _when(
        shared, ": " + _num(100 * level, ix, 1) + "% over the class" + floor_note, ix
    )
    recorded = (
        plan["on_hand_recorded"].to_numpy(dtype=float)
        if "on_hand_recorded" in plan
        else np.zeros(len(ix))
    )
    negative = _when(
        recorded < 0, " (on hand recorded " + _num(recorded, ix) + ", counted as 0)", ix
    )
    later = (
        np.abs(
            plan["position_at_order"].to_numpy(float) - plan["inventory_position"].to_numpy(float)
        )
        >= 0.5
    )
    projected = _when(
        later,
        " ("
        + _num(plan["position_at_order"], ix)
        + " by "
        + pd.Series(pd.to_datetime(plan["order_by"]).dt.strftime("%Y-%m-%d").to_numpy(), index=ix)
        + ")",
        ix,
    )
    head = (
        prefix
        + "lead-time demand "
        + _num(plan["lead_time_demand"], ix)
        + " over "
        + over
        + lt_note
        + uplift_note
        + rate_floor_note(plan)
        + ", safety stock "
        + _num(plan["safety_stock"], ix)
        + negative_safety_note(plan)
        + " for "
        + service
        + " ("
        + who
        + "), position "
        + _num(plan["inventory_position"], ix)
        + negative
        + projected
    )
    raw = plan["raw_quantity"].to_numpy(dtype=float)
    rop_text = " vs reorder point " + _num(plan["reorder_point"], ix) + ": "
    up_to = "up to " + _num(plan["max_level"], ix) + " = " + _num(raw, ix, 1)
    rule = (
        (rop_text + _num(plan["multiples"], ix) + " x Q " + _num(plan["order_quantity_policy"], ix))
        .where(policy == "sQ", rop_text + up_to)
        .where(policy != "RS", ": " + up_to)
    )
    moq = plan["moq"].to_numpy(dtype=float)
    pack = plan["pack_size"].to_numpy(dtype=float)
    moq_note = _when(np.nan_to_num(moq) > raw, ", raise to MOQ " + _num(moq, ix, 1), ix)
    pack_note = _when(np.nan_to_num(pack) > 1, ", round to pack of " + _num(pack, ix, 1), ix)
    return head + rule + moq_note + pack_note + " -> order " + _num(plan["order_quantity"], ix, 1)


def rate_floor_note(plan: pd.DataFrame) -> pd.Series:
    """Where the demand planned (``mean_daily_demand``) is a rate floor above the point
    forecast (working column ``point_daily_demand``): " (0.2/d with the long-run rate floor; point
    forecast 0.02/d)"; empty otherwise or without the column.

    >>> plan = pd.DataFrame({"mean_daily_demand": [0.2, 5.0], "point_daily_demand": [0.02, 5.0]})
    >>> rate_floor_note(plan).tolist()
    [' (0.2/d with the long-run rate floor; point forecast 0.02/d)', '']
    """
    ix = plan.index
    if "point_daily_demand" not in plan:
        return pd.Series("", index=ix)
    daily = plan["mean_daily_demand"].to_numpy(dtype=float)
    point = plan["point_daily_demand"].to_numpy(dtype=float)
    floored = daily > point * (1 + 1e-9) + 1e-12
    return _when(floored, " (" + _num(daily, ix, 2) + "/d with the long-run rate floor; point forecast "
                 + _num(point, ix, 2) + "/d)", ix)


def negative_safety_note(plan: pd.DataFrame) -> pd.Series:
    """For a negative safety stock, why: " (below 0: each order of Q covers N days, so a
    reorder point under the lead-time demand still meets the target)"; empty otherwise.

    >>> plan = pd.DataFrame({"safety_stock": [-105.0, 3.0], "order_quantity_policy": [600.0, 50.0],
    ...                      "mean_daily_demand": [20.0, 5.0]})
    >>> negative_safety_note(plan).tolist()[0]
    ' (below 0: each order of 600 covers 30 days of demand, so a reorder point under the lead-time demand still meets the target)'
    """
    ix = plan.index
    safety = plan["safety_stock"].to_numpy(dtype=float)
    quantity = plan.get("order_quantity_policy", plan.get("order_quantity"))
    quantity = np.asarray(quantity, dtype=float)
    daily = plan["mean_daily_demand"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(daily > 0, quantity / daily, np.nan)
    return _when(
        (safety <= -0.5) & np.isfinite(cover),
        " (below 0: each order of " + _num(quantity, ix) + " covers " + _num(cover, ix)
        + " days of demand, so a reorder point under the lead-time demand still meets the target)",
        ix,
    )
