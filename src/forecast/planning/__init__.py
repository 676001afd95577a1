"""Stage 3, planning: from the forecast distribution to stock policies and purchase orders.

- ``inventory/``: the textbook formulas by family (loss functions, service levels, fill-rate
  solvers, newsvendor, EOQ and rounding, (r,Q), (s,S), ABC/XYZ), each checked against its source;
- ``plan_config``: the plan's settings; ``policies``: safety stock, reorder point, min/max per
  SKU and location, recommendations with their reasons, alerts;
- ``suppliers``: lead times from receipts, the supplier scorecard;
- ``sales_models/``: flash sales, pre-orders and dropship items.

Imports from ingest and forecasting only.
"""

from forecast._lazy import lazy_exports

_EXPORTS = {
    "PlanConfig": "plan_config",
    "compute_policies": "policies",
    "recommend_orders": "policies",
    "stock_positions": "policies",
    "build_alerts": "policies",
    "estimate_lead_times": "suppliers",
    "supplier_scorecard": "suppliers",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
