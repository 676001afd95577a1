"""Risk measures that match a fill-rate target, beside the stockout probability.

A stockout probability alone is no risk measure for a fill-rate plan: an (s,Q) policy whose
order quantity covers weeks may run out on most simulated paths for a day or two and still serve
95% of the demand, which is what its class target asks. So a series is **at risk** when

- its simulated fill rate over the horizon falls more than :data:`AT_RISK_FILL_GAP` (5 points)
  under the fill rate the plan expects of it (``planned_fill_rate``): the plan does not deliver
  its own promise; or
- it more likely than not (:data:`AT_RISK_BEFORE_RECEIPT`) runs out before the next receipt
  that can come (the first open purchase order, or an order placed today, the median lead time
  away): no order placed now prevents that stockout, it needs expediting, a transfer or a word
  to the customers.

``at_risk_reason`` says which; the report's headline counts these series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: At risk: the simulated fill rate this far (a share) under the planned one ...
AT_RISK_FILL_GAP = 0.05
#: ... or a stockout before the next receipt on more than this share of the paths.
AT_RISK_BEFORE_RECEIPT = 0.5


def next_receipt_period(receipts: np.ndarray, lead_cdf: np.ndarray) -> np.ndarray:
    """Per series, the period whose start brings the next receipt: the first open purchase
    order (``receipts``: quantities by arrival period), or an order placed today, arriving the
    median lead time L later (start of period L - 1, as an open order due then), if sooner.

    >>> next_receipt_period(np.array([[0, 0, 5.0, 0], [0, 0, 0, 0]]),
    ...                     np.array([[0, 0, 0, 1.0], [0, 0.6, 1, 1]])).tolist()
    [2, 1]
    """
    median_lead = 1 + (lead_cdf < 0.5).sum(axis=1)
    has = receipts > 0
    first_po = np.where(has.any(axis=1), has.argmax(axis=1), np.iinfo(np.int64).max)
    return np.minimum(first_po, median_lead - 1).astype(np.int64)


def risk_measures(stats: dict[str, np.ndarray], day) -> pd.DataFrame:
    """The measures beside the stockout probability (see the module docstring): planned fill
    rate and the gap to it, the next receipt, the stockout before it, and ``at_risk``."""
    gap = stats["fill"] - stats["planned"]
    short_fill = np.nan_to_num(gap, nan=0.0) < -AT_RISK_FILL_GAP
    before = np.nan_to_num(stats["p_before"]) > AT_RISK_BEFORE_RECEIPT
    reason = np.where(short_fill & before, "fill rate under plan; out before next receipt",
                      np.where(short_fill, "fill rate under plan",
                               np.where(before, "out before next receipt", "")))
    receipt = stats["next_receipt"]
    return pd.DataFrame({
        "planned_fill_rate": stats["planned"],
        "fill_rate_gap": gap,
        "next_receipt_date": day(np.where(np.isfinite(receipt) & (receipt < 1e9), receipt + 1,
                                          np.nan)),
        "stockout_before_receipt_probability": stats["p_before"],
        "units_short_before_receipt": stats["short_before"],
        "at_risk": short_fill | before,
        "at_risk_reason": reason,
    })
