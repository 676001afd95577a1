"""What the sales models share: the series keys, the alert columns, their settings
(:class:`SalesModelConfig`) and the product flags (pre-order, launch date, dropship).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

KEYS = ["sku", "location"]
ALERT_COLUMNS = ["sku", "location", "kind", "severity", "date", "message"]


@dataclass(frozen=True)
class SalesModelConfig:
    """Settings of the flash-sale cap and of the pre-order forecast (see the module docs of
    :mod:`~forecast.planning.sales_models.flash_sales` and
    :mod:`~forecast.planning.sales_models.preorders`)."""

    cap_paths: int = 2000  # sample paths behind the cap factor and the capped window s.d.
    seed: int = 0
    preorder_conversion: float = 5.0  # post-launch daily demand / pre-order daily rate (default)
    preorder_min_launches: int = 3  # past pre-order launches needed to estimate the conversion
    preorder_fit_days: float = 28.0  # post-launch days compared with the pre-order rate
    preorder_min_window_days: float = 7.0
    preorder_min_level_var: float = 0.25  # level s.d. of at least 50% for a pre-order level
    preorder_cover_days: float | None = None  # None: the lead time

    def __post_init__(self) -> None:
        if self.cap_paths < 100:
            raise ValueError(f"cap_paths must be at least 100, got {self.cap_paths}")
        if not (self.preorder_conversion > 0 and math.isfinite(self.preorder_conversion)):
            raise ValueError(f"preorder_conversion must be > 0, got {self.preorder_conversion}")
        if not self.preorder_min_window_days >= 1:
            raise ValueError(
                f"preorder_min_window_days must be >= 1, got {self.preorder_min_window_days}"
            )
        if not self.preorder_min_level_var >= 0:
            raise ValueError(
                f"preorder_min_level_var must be >= 0, got {self.preorder_min_level_var}"
            )
        if self.preorder_min_launches < 1:
            raise ValueError(f"preorder_min_launches must be >= 1, got {self.preorder_min_launches}")
        if not self.preorder_fit_days >= 7:
            raise ValueError(f"preorder_fit_days must be >= 7, got {self.preorder_fit_days}")
        if self.preorder_cover_days is not None and not self.preorder_cover_days > 0:
            raise ValueError(f"preorder_cover_days must be > 0, got {self.preorder_cover_days}")


def product_flags(products: pd.DataFrame) -> pd.DataFrame:
    """sku, category, preorder, launch_date, dropship per product (defaults when absent)."""
    frame = pd.DataFrame({"sku": products["sku"].astype(str).to_numpy()} if "sku" in products
                         else {"sku": pd.Series([], dtype=str)})
    for col, default in (("preorder", False), ("dropship", False)):
        values = products[col] if col in products else pd.Series(default, index=products.index)
        frame[col] = values.astype("boolean").fillna(default).astype(bool).to_numpy()
    frame["launch_date"] = (
        pd.to_datetime(products["launch_date"]).to_numpy() if "launch_date" in products
        else pd.NaT
    )
    frame["category"] = (
        products["category"].astype(str).to_numpy() if "category" in products else ""
    )
    return frame


def preorder_stock(stock: pd.DataFrame, keys: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """``stock`` (sku, location, on_hand) with 0 on hand for the series of pre-order products
    that have no stock record: nothing can be on hand before the first purchase arrives, so the
    simulation and the plan start such a series empty instead of leaving it unknown.

    >>> keys = pd.DataFrame({"sku": ["P", "R"], "location": "main"})
    >>> flags = pd.DataFrame({"sku": ["P", "R"], "preorder": [True, False]})
    >>> preorder_stock(pd.DataFrame(columns=["sku", "location", "on_hand"]), keys, flags).to_dict("records")
    [{'sku': 'P', 'location': 'main', 'on_hand': 0.0}]
    """
    flagged = set(product_flags(products).query("preorder")["sku"]) if len(products) else set()
    series = keys[["sku", "location"]].astype(str)
    series = series[series["sku"].isin(flagged)]
    if series.empty:
        return stock
    known = pd.MultiIndex.from_frame(stock[["sku", "location"]].astype(str)) if len(stock) else None
    missing = series if known is None else series[~pd.MultiIndex.from_frame(series).isin(known)]
    if missing.empty:
        return stock
    empty = missing.assign(on_hand=0.0)
    return pd.concat([stock, empty], ignore_index=True) if len(stock) else empty.reset_index(drop=True)
