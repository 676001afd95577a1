"""Inventory formulas: loss functions, newsvendor, base-stock, EOQ, (r,Q), (s,S), safety stock.

Every function is vectorised over SKUs: arguments are scalars or numpy arrays that broadcast
against each other, and a scalar-only call returns a plain Python ``float``/``int``/``str``
(arrays in, arrays out). Costs and demands must use one time unit per call (per period for the
newsvendor and base-stock models, per year for EOQ and (r,Q), whatever the caller picks).

Notation (Snyder & Shen): h holding cost per unit per time unit, p stockout (backorder) cost per
unit per time unit, K fixed cost per order, lambda demand rate, L lead time, mu/sigma mean and
standard deviation of the demand over the relevant interval, Phi/phi the standard normal cdf/pdf.

Sources cited in the docstrings:

- Snyder & Shen, *Fundamentals of Supply Chain Theory*, 2nd ed. (2019) -- "S&S".
- Silver, Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th ed. (2017)
  -- "SPT".
- Chopra & Meindl, *Supply Chain Management: Strategy, Planning and Operation*, 6th ed., Ch. 12.
- Axsater, *Inventory Control*, Ch. 4 (deterministic lot sizing) and Ch. 5 (reorder points).

Layout (one module per formula family; every name below is importable from this package):

- ``loss``: loss functions n(x), n2(x): standard normal, normal, Poisson, negative binomial.
- ``service_levels``: lead-time demand s.d., safety factors (cycle, fill rate), safety stock,
  reorder point, cycle service level, expected shortage per cycle, fill rate of (ROP, Q).
- ``fill_rate_levels``: exact fill-rate levels with negative binomial demand: (r,Q) reorder
  points, pooled (r,Q) reorder points, (R,S) order-up-to levels.
- ``newsvendor``: newsvendor (normal, Poisson) and base-stock levels and performance.
- ``order_quantities``: EOQ, EOQ with backorders, MOQ and pack rounding.
- ``rq_policies``: (r,Q) costs, performance, approximations and the Poisson optimum.
- ``ss_policies``: periodic-review (s,S) with Poisson demand, cost and optimum.
- ``abc_xyz``: ABC and XYZ classes.
- ``_common``: scalar-or-array output, argument checks, Newton root finder.
"""

from forecast.planning.inventory.abc_xyz import (
    abc_classes,
    xyz_classes,
)
from forecast.planning.inventory.fill_rate_levels import (
    PooledFillRate,
    rq_fill_rate_reorder_point,
    rq_pooled_fill_rate_reorder_points,
    rs_fill_rate_order_up_to,
)
from forecast.planning.inventory.loss import (
    negative_binomial_loss,
    negative_binomial_sf,
    normal_loss,
    normal_second_order_loss,
    poisson_complementary_loss,
    poisson_loss,
    poisson_second_order_loss,
    standard_normal_complementary_loss,
    standard_normal_loss,
    standard_normal_second_order_loss,
)
from forecast.planning.inventory.newsvendor import (
    BaseStockPerformance,
    BaseStockSolution,
    NewsvendorSolution,
    base_stock_normal,
    base_stock_poisson_performance,
    critical_ratio,
    newsvendor_normal,
    newsvendor_normal_cost,
    newsvendor_poisson,
    newsvendor_poisson_cost,
)
from forecast.planning.inventory.order_quantities import (
    EOQBackorderSolution,
    eoq,
    eoq_cost,
    eoq_with_backorders,
    round_order_quantity,
)
from forecast.planning.inventory.rq_policies import (
    RQPerformance,
    RQPolicy,
    rq_cost_normal,
    rq_cost_poisson,
    rq_eil_approximation,
    rq_eoq_plus_safety_stock,
    rq_eoqb_approximation,
    rq_loss_function_approximation,
    rq_normal_performance,
    rq_optimal_poisson,
    rq_optimal_reorder_point_normal,
    rq_poisson_performance,
)
from forecast.planning.inventory.service_levels import (
    cycle_service_level,
    expected_shortage_per_cycle,
    fill_rate,
    lead_time_demand_sd,
    reorder_point,
    safety_factor_cycle_service,
    safety_factor_fill_rate,
    safety_stock,
)
from forecast.planning.inventory.ss_policies import (
    SSPolicy,
    ss_cost_poisson,
    ss_optimal_poisson,
)

__all__ = [
    "BaseStockPerformance",
    "BaseStockSolution",
    "EOQBackorderSolution",
    "NewsvendorSolution",
    "PooledFillRate",
    "RQPerformance",
    "RQPolicy",
    "SSPolicy",
    "abc_classes",
    "base_stock_normal",
    "base_stock_poisson_performance",
    "critical_ratio",
    "cycle_service_level",
    "eoq",
    "eoq_cost",
    "eoq_with_backorders",
    "expected_shortage_per_cycle",
    "fill_rate",
    "lead_time_demand_sd",
    "negative_binomial_loss",
    "negative_binomial_sf",
    "newsvendor_normal",
    "newsvendor_normal_cost",
    "newsvendor_poisson",
    "newsvendor_poisson_cost",
    "normal_loss",
    "normal_second_order_loss",
    "poisson_complementary_loss",
    "poisson_loss",
    "poisson_second_order_loss",
    "reorder_point",
    "round_order_quantity",
    "rq_cost_normal",
    "rq_cost_poisson",
    "rq_eil_approximation",
    "rq_eoq_plus_safety_stock",
    "rq_eoqb_approximation",
    "rq_fill_rate_reorder_point",
    "rq_loss_function_approximation",
    "rq_normal_performance",
    "rq_optimal_poisson",
    "rq_optimal_reorder_point_normal",
    "rq_poisson_performance",
    "rq_pooled_fill_rate_reorder_points",
    "rs_fill_rate_order_up_to",
    "safety_factor_cycle_service",
    "safety_factor_fill_rate",
    "safety_stock",
    "ss_cost_poisson",
    "ss_optimal_poisson",
    "standard_normal_complementary_loss",
    "standard_normal_loss",
    "standard_normal_second_order_loss",
    "xyz_classes",
]
