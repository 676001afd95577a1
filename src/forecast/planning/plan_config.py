"""Planning parameters: :class:`PlanConfig`, the service levels, lead-time defaults, order
quantity method and policy of a plan, each checked when the config is made.

What the policies do with them is in :mod:`forecast.planning.policies` (its module doc
describes the three policies, "sQ", "sS" and "RS").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

ServiceKind = Literal["cycle", "fill_rate"]
PolicyKind = Literal["sQ", "sS", "RS"]
OrderQuantityMethod = Literal["eoq", "days_of_cover", "fixed"]
ServiceScope = Literal["class", "sku"]
PooledStock = Literal["units", "value"]


@dataclass(frozen=True)
class PlanConfig:
    """Planning parameters with their documented defaults.

    ``policy`` is "sQ" by default; a ``review_period_days`` > 0 with the default policy selects
    "RS" (what a review period meant before ``policy`` existed). "RS" needs a review period;
    "sS" is continuous review and refuses one. ``max_cover_days`` caps a computed order quantity
    (EOQ or days of cover; not a fixed one) at that many days of mean demand, before MOQ and pack
    rounding: EOQ of a cheap fast mover would otherwise buy half a year of stock.

    ``service_scope`` says what a class's fill rate promises. "class" (the default): the
    class's demand-weighted fill rate (units served from stock / units demanded over its
    SKUs) reaches the level, and the stock is spread over the class's (s,Q)/(s,S) SKUs so as to
    hold the least of it (``pooled_stock``: units, or value at unit cost), see
    :func:`forecast.planning.inventory.rq_pooled_fill_rate_reorder_points`; each SKU's own expected fill
    rate is then ``planned_fill_rate``, at most ``sku_fill_floor_points`` (default 0.10: ten
    points) under the class level and never under 50%. "sku": every SKU is held to its class's
    level. A product's own ``service_level`` always holds for that SKU alone, and (R,S)
    policies and cycle service levels are per SKU.
    """

    service_levels: dict[str, float] = field(
        default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90}
    )
    service_kind: ServiceKind = "fill_rate"
    abc_thresholds: tuple[float, float] = (0.8, 0.95)
    xyz_thresholds: tuple[float, float] = (0.5, 1.0)
    default_lead_time_days: float = 14.0
    default_lead_time_cv: float = 0.25  # lead-time s.d. = cv x lead time when nothing is given
    review_period_days: float = 0.0  # > 0 with the default policy = periodic review (R,S)
    order_quantity_method: OrderQuantityMethod = "eoq"
    days_of_cover: float = 14.0
    fixed_quantity: float = 0.0
    holding_cost_rate: float = 0.25  # per year, fraction of unit cost
    default_order_cost: float = 50.0
    default_unit_cost: float = 1.0
    lookahead_days: int = 14  # recommend orders whose order-by date falls within this window
    policy: PolicyKind = "sQ"
    max_cover_days: float = 120.0
    service_scope: ServiceScope = "class"
    pooled_stock: PooledStock = "units"
    #: Pooled class fill rates: no SKU is planned more than this under its class level.
    sku_fill_floor_points: float = 0.10

    def __post_init__(self) -> None:
        for cls, level in self.service_levels.items():
            if not 0 < level < 1:
                raise ValueError(f"service level for class {cls} must be in (0, 1), got {level}")
        missing = sorted({"A", "B", "C"} - set(self.service_levels))
        if missing:
            raise ValueError(
                f"service_levels needs a level for classes A, B and C; missing {missing}"
            )
        _choice(self.service_kind, ServiceKind, "service_kind")
        _choice(self.order_quantity_method, OrderQuantityMethod, "order_quantity_method")
        _choice(self.policy, PolicyKind, "policy")
        _choice(self.service_scope, ServiceScope, "service_scope")
        _choice(self.pooled_stock, PooledStock, "pooled_stock")
        if not self.review_period_days >= 0:
            raise ValueError(f"review_period_days must be >= 0, got {self.review_period_days}")
        if self.policy == "sQ" and self.review_period_days > 0:
            object.__setattr__(self, "policy", "RS")  # backward compatible: a review period = (R,S)
        if self.policy == "RS" and not self.review_period_days > 0:
            raise ValueError("policy 'RS' needs review_period_days > 0")
        if self.policy == "sS" and self.review_period_days > 0:
            raise ValueError(
                "policy 'sS' is continuous review: set review_period_days=0, or use policy 'RS'"
            )
        if not (self.max_cover_days > 0 and math.isfinite(self.max_cover_days)):
            raise ValueError(f"max_cover_days must be a positive number, got {self.max_cover_days}")
        if self.order_quantity_method == "fixed" and not self.fixed_quantity > 0:
            raise ValueError("order_quantity_method 'fixed' needs fixed_quantity > 0")
        if self.order_quantity_method == "days_of_cover" and not self.days_of_cover > 0:
            raise ValueError(f"days_of_cover must be > 0, got {self.days_of_cover}")
        for name in ("holding_cost_rate", "default_unit_cost"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 <= self.sku_fill_floor_points < 1:
            raise ValueError(
                f"sku_fill_floor_points must be in [0, 1), got {self.sku_fill_floor_points}")
        for name in ("default_lead_time_days", "default_lead_time_cv", "default_order_cost"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


def _choice(value: str, options: object, name: str) -> None:
    allowed = get_args(options)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def plan_config_from(settings: object) -> PlanConfig:
    """The plan of a run's settings (:class:`forecast.config.RunSettings`, or anything with its
    fields: the what-if rebuilds the published run's plan from its recorded parameters)."""
    review = float(getattr(settings, "review_period_days", 0.0) or 0.0)
    return PlanConfig(
        service_levels=dict(settings.service_levels),  # type: ignore[attr-defined]
        service_kind=settings.service_kind,  # type: ignore[attr-defined]
        service_scope=settings.service_scope,  # type: ignore[attr-defined]
        review_period_days=review,
        policy="RS" if review > 0 else settings.policy,  # type: ignore[attr-defined]
        max_cover_days=settings.max_cover_days,  # type: ignore[attr-defined]
        order_quantity_method=settings.order_quantity_method,  # type: ignore[attr-defined]
        default_lead_time_days=settings.default_lead_time_days,  # type: ignore[attr-defined]
        # settings a run may not have recorded (older runs): the plan's defaults then
        **{name: getattr(settings, name) for name in _OPTIONAL_SETTINGS if hasattr(settings, name)},
    )


#: Plan settings read from a run's settings when it has them.
_OPTIONAL_SETTINGS = (
    "default_lead_time_cv", "days_of_cover", "fixed_quantity", "holding_cost_rate",
    "default_order_cost", "lookahead_days", "sku_fill_floor_points",
)
