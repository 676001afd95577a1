"""Typed run settings with their defaults in code (no side effects on import), and the settings
file that sets them.

Every field of :class:`RunSettings` is a key of the settings file (TOML, ``forecast.toml``):
given with ``--config FILE``, else found in the data folder, else in the current folder.
Command-line options override the file, the file overrides the defaults;
:func:`load_settings` returns where each value came from. Relative paths in a file are relative
to the file's folder. An empty string (``""``) or list (``[]``) in the file means "none" for a
setting that may be empty (``as_of``, ``models``, ``country``, ``model_dir``, ``alert_webhook``).
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_DATA_DIR = PROJECT_ROOT / "data" / "demo"
DEFAULT_OUT_DIR = PROJECT_ROOT / "data" / "out"
PROJECT_MODELS_DIR = PROJECT_ROOT / "models"
#: The longest forecast horizon, in periods of the data (two years of days): a longer one
#: only makes a run slow and large (100,000 days ran 202 s at 6.7 GB and forecast to 2300).
MAX_HORIZON = 730

#: The settings file looked for in the data folder (and the current folder).
SETTINGS_FILE = "forecast.toml"


class RunSettings(BaseModel):
    """Everything a pipeline run needs; the CLI and the Prefect flows build one of these.

    Each field's ``description`` is the comment written above its line by ``forecast config
    init``: add a field here and it joins the settings file."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(DEMO_DATA_DIR, description="folder with the input tables")
    out_dir: Path = Field(DEFAULT_OUT_DIR, description="output folder: warehouse, exports, snapshot, reports")
    as_of: date | None = Field(None, description="ignore history after this date (YYYY-MM-DD); empty = the last sales date")
    horizon: int = Field(28, ge=1, le=MAX_HORIZON, description="forecast periods (days, weeks or months, as the history)")
    seed: int = Field(0, description="random seed of the simulation and the sampled demand")
    n_paths: int = Field(500, ge=10, description="Monte Carlo paths per series in the simulation")
    simulation_days: int = Field(90, ge=1, description="days the backorder simulation looks ahead")
    service_levels: dict[str, float] = Field(
        {"A": 0.98, "B": 0.95, "C": 0.90},
        description="target service level per ABC class, a fraction in (0, 1): 98% is 0.98",
    )
    service_kind: Literal["cycle", "fill_rate"] = Field(
        "fill_rate", description="fill_rate: share of demand served from stock; cycle: chance of no stockout per cycle"
    )
    service_scope: Literal["class", "sku"] = Field(
        "class", description="class: a class's demand-weighted fill rate meets its level with the least stock; "
        "sku: every SKU is held to its class's level",
    )
    sku_fill_floor_points: float = Field(
        0.10, ge=0, le=1, description="with service_scope class: no SKU planned more than this under its class level (0.10 = 10 points)"
    )
    policy: Literal["sQ", "sS", "RS"] = Field(
        "sQ", description="stock policy: sQ (s,Q), sS (s,S) or RS (R,S, needs review_period_days > 0)"
    )
    review_period_days: float = Field(0.0, ge=0, description="days between reviews; > 0 with policy sQ means RS")
    order_quantity_method: Literal["eoq", "days_of_cover", "fixed"] = Field(
        "eoq", description="order quantity: eoq, days_of_cover (x mean demand) or fixed (fixed_quantity)"
    )
    days_of_cover: float = Field(14.0, gt=0, description="days of mean demand per order (order_quantity_method days_of_cover)")
    fixed_quantity: float = Field(0.0, ge=0, description="units per order (order_quantity_method fixed; must be > 0 then)")
    max_cover_days: float = Field(120.0, gt=0, description="cap on an EOQ or days-of-cover order, in days of mean demand")
    holding_cost_rate: float = Field(0.25, gt=0, description="holding cost per year, a fraction of the unit cost (EOQ)")
    default_order_cost: float = Field(50.0, ge=0, description="cost of one order when the supplier has no order_cost (EOQ)")
    lookahead_days: int = Field(14, ge=0, description="recommend orders whose order-by date falls within this many days")
    default_lead_time_days: float = Field(14.0, gt=0, description="lead time when receipts, product and supplier give none")
    default_lead_time_cv: float = Field(0.25, ge=0, description="lead-time s.d. = this x lead time when none is given")
    allocation_policy: Literal["fifo", "priority", "fair", "retention"] = Field(
        "priority", description="who gets scarce stock first: fifo, priority, fair or retention"
    )
    segment_weights: dict[str, float] = Field(
        {"vip": 3.0, "loyal": 2.0, "regular": 1.0, "new": 1.0},
        description="priority allocation: score per customer segment (other segments 1)",
    )
    express_weight: float = Field(2.0, description="priority allocation: score added for express shipping")
    waiting_weight_per_week: float = Field(0.5, description="priority allocation: score per week waiting")
    lifetime_value_weight: float = Field(0.5, description="priority allocation: score per log10 of customer lifetime value")
    line_value_weight: float = Field(0.25, description="priority allocation: score per log10 of the line's value")
    models: tuple[str, ...] | None = Field(
        None, description="forecast candidates, e.g. [\"ets\", \"theta\", \"tsb\", \"gbm\"]; [] = the engine's default set"
    )
    folds: int = Field(3, ge=1, description="inner backtest folds for the model choice")
    prophet_series: int = Field(0, ge=0, description="fit Prophet on the top-N sellers (0 = off; slow)")
    country: str | None = Field("US", description="public holidays of this country as a feature; \"\" = none")
    model_dir: Path | None = Field(None, description="where fitted-model artifacts go; \"\" = models/ or OUT/models")
    use_cache: bool = Field(True, description="reuse the forecast of an earlier run with the same inputs and settings")
    chunk_size: int = Field(0, ge=0, description="series per parallel chunk in the Prefect flow (0 = one chunk)")
    alert_webhook: str | None = Field(None, description="URL that receives the run digest as JSON (HTTP POST); \"\" = none")
    currency: str = Field("USD", min_length=1, description="currency of unit costs and order values (the workbook's money format)")
    nightly_at: str = Field("02:00", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$", description="forecast serve: nightly run time HH:MM")
    timezone: str = Field("UTC", description="forecast serve: IANA timezone of the schedules")
    weekly_cron: str = Field("0 3 * * 0", description="forecast serve: cron of the weekly model re-selection")
    sync_every_minutes: int = Field(
        0, ge=0, le=1440, description="forecast serve: intraday stock sync every N minutes (0 = off)")
    message_language: str = Field("en", description="customer messages: language when the customer has none (a templates folder)")
    message_date_change_days: int = Field(2, ge=1, description="customer messages: a new date is news from this many days")
    message_cadence_days: int = Field(7, ge=1, description="customer messages: a waiting line gets an update at least this often (days)")
    message_templates_dir: Path | None = Field(None, description="customer messages: a folder per language; \"\" = the shipped templates")
    cancel_offer_late_days: float = Field(7.0, ge=0, description="offer a one-step cancellation when a line is late by more than this (days)")
    cancel_offer_moved_days: float = Field(7.0, ge=0, description="... or its date moved later by more than this (days)")
    cancel_offer_risk: float = Field(0.25, ge=0, le=1, description="... or its cancellation probability is above this")
    cancel_url_template: str = Field(
        "https://shop.example/account/orders/{order_id}/cancel?line={line_id}",
        description="cancellation link; placeholders order_id, line_id, sku, location, customer_id",
    )
    cancel_reply_days: int = Field(2, ge=0, description="refund and reply promised within this many days")
    config_file: Path | None = Field(None, description="the settings file this run read (set by the loader)")

    @field_validator("service_levels")
    @classmethod
    def _levels_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for cls_name, level in value.items():
            if not 0 < level < 1:
                raise ValueError(f"service level for class {cls_name} must be in (0, 1), got {level}")
        missing = sorted({"A", "B", "C"} - set(value))
        if missing:
            raise ValueError(f"needs a level for classes A, B and C; missing {', '.join(missing)}")
        return value

    @field_validator("models")
    @classmethod
    def _no_empty_models(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # The names are checked against the engine's by the callers (forecast.pipeline).
        return tuple(value) if value else None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import available_timezones

        if value not in available_timezones() and value != "UTC":
            raise ValueError("not an IANA timezone such as UTC or Europe/Berlin")
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


class SettingsError(ValueError):
    """A settings file or option that cannot be used: one line naming the key, the value and
    what is allowed."""


#: Keys a settings file may not set (the loader sets it).
_NOT_IN_FILE = ("config_file",)
DEFAULT_SOURCE = "default"
COMMAND_LINE = "command line"


@dataclass
class LoadedSettings:
    """The effective settings, the file they were read from, and each key's source
    (``default``, the file's path, or ``command line``)."""

    settings: RunSettings
    file: Path | None
    sources: dict[str, str] = field(default_factory=dict)


def find_settings_file(config: Path | None = None, data_dir: Path | None = None) -> Path | None:
    """``config`` when given (it must exist), else ``DATA/forecast.toml``, else
    ``./forecast.toml``, else None."""
    if config is not None:
        if not Path(config).is_file():
            raise SettingsError(f"{config}: settings file not found")
        return Path(config)
    for folder in (data_dir, Path.cwd()):
        if folder is not None and (Path(folder) / SETTINGS_FILE).is_file():
            return Path(folder) / SETTINGS_FILE
    return None


def read_settings_file(path: Path) -> dict[str, Any]:
    """The keys of a settings file, checked against :class:`RunSettings` (unknown keys fail),
    with empty values as None and relative paths resolved against the file's folder."""
    import tomllib

    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    fields = RunSettings.model_fields
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields or key in _NOT_IN_FILE:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(
                f"{path}: unknown key {key!r}{hint}; allowed keys: {', '.join(k for k in fields if k not in _NOT_IN_FILE)}"
            )
        if value in ("", []) and _optional(key):
            value = None
        if value is not None and _is_path(key):
            value = (Path(path).parent / str(value)).resolve()
        values[key] = value
    return values


def load_settings(
    config: Path | None = None, data_dir: Path | None = None, options: dict[str, Any] | None = None
) -> LoadedSettings:
    """Defaults < settings file < ``options`` (command-line values; None = not given).

    The file is ``config``, else ``forecast.toml`` in ``data_dir`` (the command line's, else
    the current folder). Raises :class:`SettingsError` with one line per problem."""
    given = {k: v for k, v in (options or {}).items() if v is not None}
    if data_dir is not None:
        given["data_dir"] = data_dir
    path = find_settings_file(config, given.get("data_dir"))
    from_file = read_settings_file(path) if path else {}
    values = {**from_file, **given}
    if path is not None:
        values["config_file"] = path.resolve()
    sources = {
        key: COMMAND_LINE if key in given else str(path) if key in from_file else DEFAULT_SOURCE
        for key in RunSettings.model_fields if key not in _NOT_IN_FILE
    }
    try:
        settings = RunSettings(**values)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc, sources, values)) from None
    return LoadedSettings(settings, path, sources)


def _one_line(exc: ValidationError, sources: dict[str, str], values: dict[str, Any]) -> str:
    """The first validation error as "SOURCE: key = value is not allowed: what is allowed"."""
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "settings"
    where = sources.get(key, DEFAULT_SOURCE)
    value = values.get(key, error.get("input"))
    detail = ".".join(str(p) for p in error["loc"][1:])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {key}{'.' + detail if detail else ''} = {value!r} is not allowed: {message}"


def _annotation(key: str) -> Any:
    return RunSettings.model_fields[key].annotation


def _optional(key: str) -> bool:
    return type(None) in typing.get_args(_annotation(key))


def _is_path(key: str) -> bool:
    ann = _annotation(key)
    return ann is Path or Path in typing.get_args(ann)


def _choices(key: str) -> tuple[str, ...]:
    ann = _annotation(key)
    return typing.get_args(ann) if typing.get_origin(ann) is Literal else ()


def toml_value(value: Any, base: Path | None = None) -> str:
    """One value as TOML: strings quoted, paths relative to ``base`` when under it, None as "",
    dicts as inline tables, sequences as arrays."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        if base is not None and value.is_relative_to(base):
            value = value.relative_to(base) or Path(".")
        return toml_value(str(value))
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else toml_value(key)


def settings_file_text(settings: RunSettings | None = None, base: Path | None = None) -> str:
    """Every setting as an active ``key = value`` line with its description (and allowed
    values) in a comment above it: what ``forecast config init`` writes."""
    settings = settings or RunSettings()
    lines = [
        "# forecast settings: every key of the run settings with its default.",
        "# Command-line options override this file; relative paths are relative to this file's folder.",
        "# `forecast config show` prints the effective settings and where each value came from.",
        "",
    ]
    for key, info in RunSettings.model_fields.items():
        if key in _NOT_IN_FILE:
            continue
        choices = _choices(key)
        comment = (info.description or key) + (f" (one of: {', '.join(choices)})" if choices else "")
        lines += [f"# {comment}", f"{key} = {toml_value(getattr(settings, key), base)}", ""]
    return "\n".join(lines)


def write_settings_file(path: Path, overwrite: bool = False) -> Path:
    """Write :func:`settings_file_text` to ``path`` (a folder gets ``forecast.toml``);
    paths under the file's folder are written relative to it."""
    path = Path(path)
    if path.is_dir():
        path = path / SETTINGS_FILE
    if path.exists() and not overwrite:
        raise SettingsError(f"{path}: already exists; remove it first or give another PATH")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings_file_text(base=path.parent.resolve()), encoding="utf-8")
    return path
