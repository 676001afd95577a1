"""Stage 3, planning: from the forecast distribution to stock policies and purchase orders.

- ``inventory/``: the textbook formulas by family (loss functions, service levels, fill-rate
  solvers, newsvendor, EOQ and rounding, (r,Q), (s,S), ABC/XYZ), each checked against its source;
- ``plan_config``: the plan's settings; ``policies``: safety stock, reorder point, min/max per
  SKU and location, recommendations, alerts; ``explanations``: each recommendation's reason
  in a buyer's words; ``units``: whole units (and ``products.fractional``);
  ``receipt_alerts``: the stockout-before-receipt alert;
- ``suppliers``: lead times from receipts, the supplier scorecard;
- ``sales_models/``: flash sales, pre-orders and dropship items.

Imports from ingest and forecasting only.
"""

from forecast._lazy import lazy_exports

#: submodule -> the public names it defines
_EXPORTS = {
    "plan_config": ("PlanConfig", "plan_config_from"),
    "policies": ("compute_policies", "recommend_orders", "stock_positions", "build_alerts"),
    "suppliers": ("estimate_lead_times", "supplier_scorecard"),
    "explanations": ("explain",),
    "units": ("round_up_whole", "sold_in_whole_units"),
    "receipt_alerts": ("stockout_before_receipt_alerts",),
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
