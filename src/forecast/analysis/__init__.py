"""The analyses behind the notebooks: snapshot readers, pure functions over frames, and plots.

Readers take the connection of :func:`forecast.publish.report.open_results` (views over the published
Parquet snapshot), so a notebook never blocks, or waits for, a pipeline writing the warehouse.
Computations take and return DataFrames in the long layout of the warehouse (one row per
``sku, location[, date]``); plot helpers draw on a matplotlib ``Axes`` (a new figure when none
is given) and return it.

Sections, in the order of the notebooks (one module each; every public name is re-exported here,
so ``from forecast import analysis; analysis.weekly_totals(...)`` works):

0. :mod:`~forecast.analysis.snapshot`: the snapshot readers (from :mod:`forecast.ingest.published`)
   and the helpers every section shares;
1. :mod:`~forecast.analysis.sales`, sales exploration: weekly totals, seasonality profiles,
   stockout spells, campaign windows, demand patterns (ADI / CV^2) and ABC/XYZ classes
   recomputed from the history;
2. :mod:`~forecast.analysis.diagnostics`, forecast diagnostics: backtest results (stored, or
   computed on the snapshot), metrics by segment, model choice, a holdout forecast and its
   quantile coverage, the worst series;
3. :mod:`~forecast.analysis.stock`, stock policy and risk: policy by class, the service-level /
   safety-stock trade-off curve, the risk ranking, stock projection, allocation by customer
   segment;
4. :mod:`~forecast.analysis.what_if`: side-by-side tables and plots of
   :func:`forecast.scenarios.whatif.what_if` results;

and :mod:`~forecast.analysis.plots`, the plots of sections 1-3.
"""

from __future__ import annotations

import inspect

# The doctests gathered in __test__ run in this namespace (``doctest.testmod(analysis)``).
import pandas as pd  # noqa: F401

from forecast.analysis import diagnostics, plots, sales, snapshot, stock, what_if
from forecast.analysis.diagnostics import (
    BACKTEST_METRICS,
    Backtest,
    holdout_forecast,
    load_backtest,
    metrics_by_segment,
    model_choice,
    pick_series,
    quantile_coverage,
    series_segments,
    snapshot_backtest,
    uplift_matrix,
    worst_series,
)
from forecast.analysis.plots import (
    plot_allocation,
    plot_calibration,
    plot_calibration_grid,
    plot_heatmap,
    plot_holdout,
    plot_metric_by_segment,
    plot_min_max,
    plot_patterns,
    plot_policy_by_class,
    plot_profiles,
    plot_risk_ranking,
    plot_sales_context,
    plot_service_curve,
    plot_stockout_timeline,
    plot_weekly,
)
from forecast.analysis.sales import (
    ADI_CUTOFF,
    CV2_CUTOFF,
    campaigns_for,
    class_counts,
    compare_classes,
    demand_patterns,
    example_series,
    history_classes,
    seasonality_profile,
    stockout_spells,
    weekly_totals,
)
from forecast.analysis.snapshot import (
    KEYS,
    as_of_date,
    campaign_window,
    for_series,
    overview,
    read_table,
    sales_frame,
    tables,
    top_skus,
)
from forecast.analysis.stock import (
    SEGMENT_ORDER,
    SERVICE_LEVEL_GRID,
    allocation_by_segment,
    main_category,
    policy_by_class,
    risk_ranking,
    service_level_curve,
    with_category,
)
from forecast.analysis.what_if import (
    plot_before_after,
    plot_scenario_changes,
    plot_what_if,
    scenario_table,
)
from forecast.publish.report import plot_stock_projection  # notebooks call it from here

__all__ = [
    "ADI_CUTOFF",
    "BACKTEST_METRICS",
    "CV2_CUTOFF",
    "KEYS",
    "SEGMENT_ORDER",
    "SERVICE_LEVEL_GRID",
    "Backtest",
    "allocation_by_segment",
    "as_of_date",
    "campaign_window",
    "campaigns_for",
    "class_counts",
    "compare_classes",
    "demand_patterns",
    "example_series",
    "for_series",
    "history_classes",
    "holdout_forecast",
    "load_backtest",
    "main_category",
    "metrics_by_segment",
    "model_choice",
    "overview",
    "pick_series",
    "plot_allocation",
    "plot_before_after",
    "plot_calibration",
    "plot_calibration_grid",
    "plot_heatmap",
    "plot_holdout",
    "plot_metric_by_segment",
    "plot_min_max",
    "plot_patterns",
    "plot_policy_by_class",
    "plot_profiles",
    "plot_risk_ranking",
    "plot_sales_context",
    "plot_scenario_changes",
    "plot_service_curve",
    "plot_stock_projection",
    "plot_stockout_timeline",
    "plot_weekly",
    "plot_what_if",
    "policy_by_class",
    "quantile_coverage",
    "read_table",
    "risk_ranking",
    "sales_frame",
    "scenario_table",
    "seasonality_profile",
    "series_segments",
    "service_level_curve",
    "snapshot_backtest",
    "stockout_spells",
    "tables",
    "top_skus",
    "uplift_matrix",
    "weekly_totals",
    "with_category",
    "worst_series",
]

#: The examples in the sections' docstrings, for ``doctest.testmod`` of this package (it finds
#: only objects defined in the module it is given).
__test__ = {
    f"{module.__name__}.{name}": obj
    for module in (snapshot, sales, diagnostics, stock, what_if, plots)
    for name, obj in vars(module).items()
    if (inspect.isfunction(obj) or inspect.isclass(obj))
    and obj.__module__ == module.__name__
    and ">>>" in (obj.__doc__ or "")
}
