"""Sales models beyond "sell from stock": flash sales, pre-orders and dropship items.

The engine forecasts every series as usual; this package adjusts its output and the plan built
on it (issue #8, items 4-6). It is called from :mod:`forecast.pipeline` (forecast and plan
steps) and never changes the engine or the planning formulas themselves.

Layout (every name is importable from this package, as before the split):

- ``flash_sales``: flash-sale windows, the cap on sample paths (:class:`CappedForecast`,
  :func:`cap_flash_sales`, :func:`restore_caps`) and the available-to-promise check
  (:func:`cumulative_atp`, :func:`flash_sale_promise`, :func:`flash_sale_alerts`).
- ``preorders``: the early forecast of a pre-order product (:func:`add_preorder_series`,
  :func:`estimate_preorder_conversion`) and its first purchase (:func:`first_purchase_orders`).
- ``dropship``: :func:`dropship_skus` and the stocked rows.
- ``hooks``: what the pipeline calls (:func:`adjust_forecast`, :func:`planning_forecast`,
  :func:`adjust_plan`, :func:`plan_counts`, :func:`first_purchases`).
- ``common``: :class:`SalesModelConfig`, :func:`product_flags`, the key and alert columns.

Each module's doc gives its model's formulas and sources.
"""

from forecast.planning.sales_models.common import (
    ALERT_COLUMNS,
    KEYS,
    SalesModelConfig,
    preorder_stock,
    product_flags,
)
from forecast.planning.sales_models.dropship import (
    dropship_skus,
    stocked_rows,
)
from forecast.planning.sales_models.flash_sales import (
    FLASH_SALE_COLUMNS,
    CappedForecast,
    cap_flash_sales,
    cap_paths,
    cumulative_atp,
    flash_sale_alerts,
    flash_sale_promise,
    flash_sale_windows,
    flash_sale_windows_on,
    restore_caps,
)
from forecast.planning.sales_models.hooks import (
    PlanAdjustment,
    adjust_forecast,
    adjust_plan,
    first_purchases,
    plan_counts,
    planning_forecast,
    series_counts,
)
from forecast.planning.sales_models.preorders import (
    PREORDER_COLUMNS,
    PREORDER_MODEL,
    PREORDER_PREFIX,
    RECOMMENDATION_COLUMNS,
    add_preorder_series,
    category_profiles,
    estimate_preorder_conversion,
    first_purchase_orders,
    planned_preorders,
    preorder_alerts,
    preorder_products,
    preorder_signal,
)

__all__ = [
    "ALERT_COLUMNS",
    "FLASH_SALE_COLUMNS",
    "KEYS",
    "PREORDER_COLUMNS",
    "PREORDER_MODEL",
    "PREORDER_PREFIX",
    "RECOMMENDATION_COLUMNS",
    "CappedForecast",
    "PlanAdjustment",
    "SalesModelConfig",
    "add_preorder_series",
    "adjust_forecast",
    "adjust_plan",
    "cap_flash_sales",
    "cap_paths",
    "category_profiles",
    "cumulative_atp",
    "dropship_skus",
    "estimate_preorder_conversion",
    "first_purchase_orders",
    "first_purchases",
    "flash_sale_alerts",
    "flash_sale_promise",
    "flash_sale_windows",
    "flash_sale_windows_on",
    "plan_counts",
    "planned_preorders",
    "planning_forecast",
    "preorder_alerts",
    "preorder_products",
    "preorder_signal",
    "preorder_stock",
    "product_flags",
    "restore_caps",
    "series_counts",
    "stocked_rows",
]
