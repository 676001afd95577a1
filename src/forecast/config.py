"""Typed run settings with their defaults in code (no side effects on import)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_DATA_DIR = PROJECT_ROOT / "data" / "demo"
DEFAULT_OUT_DIR = PROJECT_ROOT / "data" / "out"
PROJECT_MODELS_DIR = PROJECT_ROOT / "models"


class RunSettings(BaseModel):
    """Everything a pipeline run needs; the CLI and the Prefect flows build one of these."""

    data_dir: Path
    out_dir: Path = DEFAULT_OUT_DIR
    as_of: date | None = None  # ignore history after this date; default: last sales date
    horizon: int = Field(28, ge=1, description="forecast periods (days, weeks or months)")
    seed: int = 0
    n_paths: int = Field(500, ge=10)
    simulation_days: int = Field(90, ge=1)
    service_levels: dict[str, float] = {"A": 0.98, "B": 0.95, "C": 0.90}
    service_kind: Literal["cycle", "fill_rate"] = "fill_rate"
    # "class": a class's demand-weighted fill rate meets its level with the least stock;
    # "sku": every SKU is held to its class's level (see forecast.planning.policies.PlanConfig).
    service_scope: Literal["class", "sku"] = "class"
    review_period_days: float = Field(0.0, ge=0)
    policy: Literal["sQ", "sS", "RS"] = "sQ"  # RS when review_period_days > 0
    max_cover_days: float = Field(120.0, gt=0)  # cap on EOQ / days-of-cover order quantities
    order_quantity_method: Literal["eoq", "days_of_cover", "fixed"] = "eoq"
    default_lead_time_days: float = Field(14.0, gt=0)
    allocation_policy: Literal["fifo", "priority", "fair", "retention"] = "priority"
    models: tuple[str, ...] | None = None  # forecast candidates; None = the engine's default set
    folds: int = Field(3, ge=1, description="inner backtest folds for model choice")
    prophet_series: int = Field(0, ge=0, description="Prophet on the top-N sellers (0 = off)")
    country: str | None = "US"  # public holidays as a feature; None = none
    model_dir: Path | None = None  # where fitted-model artifacts go; default: see models_dir
    use_cache: bool = True  # reuse the forecast of an earlier run with the same inputs/settings
    chunk_size: int = Field(0, ge=0, description="series per parallel chunk (0 = one chunk)")
    alert_webhook: str | None = None  # URL that receives the run digest as JSON (HTTP POST)
    # Customer messages (forecast.backorders.messages): language when the customer has none,
    # a new date is news from this many days, an update at least every cadence days.
    message_language: str = "en"
    message_date_change_days: int = Field(2, ge=1)
    message_cadence_days: int = Field(7, ge=1)
    message_templates_dir: Path | None = None  # a folder per language; default: the shipped ones
    # One-step cancellation offered when late beyond N days, moved later by more than N days,
    # or cancellation probability above the share; the reply (and refund) promised within N days.
    cancel_offer_late_days: float = Field(7.0, ge=0)
    cancel_offer_moved_days: float = Field(7.0, ge=0)
    cancel_offer_risk: float = Field(0.25, ge=0, le=1)
    cancel_url_template: str = "https://shop.example/account/orders/{order_id}/cancel?line={line_id}"
    cancel_reply_days: int = Field(2, ge=0)

    @field_validator("service_levels")
    @classmethod
    def _levels_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for cls_name, level in value.items():
            if not 0 < level < 1:
                raise ValueError(f"service level for class {cls_name} must be in (0, 1), got {level}")
        return value

    @field_validator("cancel_url_template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        import string

        allowed = {"order_id", "line_id", "sku", "location", "customer_id"}
        names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        if names - allowed:
            raise ValueError(f"cancel_url_template {value!r}: unknown placeholder(s) "
                             f"{', '.join(sorted(names - allowed))} (use {', '.join(sorted(allowed))})")
        return value

    @property
    def warehouse_path(self) -> Path:
        return self.out_dir / "warehouse.duckdb"

    @property
    def exports_dir(self) -> Path:
        return self.out_dir / "exports"

    @property
    def snapshot_dir(self) -> Path:
        return self.out_dir / "snapshot"

    @property
    def reports_dir(self) -> Path:
        return self.out_dir / "reports"

    @property
    def models_dir(self) -> Path:
        """The project's ``models/`` for the default output folder, else ``OUT/models``."""
        if self.model_dir is not None:
            return self.model_dir
        return PROJECT_MODELS_DIR if self.out_dir == DEFAULT_OUT_DIR else self.out_dir / "models"
