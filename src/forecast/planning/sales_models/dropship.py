"""Dropship items: the SKUs the supplier ships to the customer, and the series that are stocked.

**Dropship** (``products.dropship``): the supplier ships to the customer, so the SKU gets no
policy row, no recommendation, no stock alert and no stock simulation; its forecast is kept
(the supplier's expected volume) and its order lines are passed on by the allocation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.planning.sales_models.common import product_flags


def dropship_skus(products: pd.DataFrame) -> np.ndarray:
    """SKUs the supplier ships directly to the customer."""
    flags = product_flags(products)
    return flags.loc[flags["dropship"], "sku"].to_numpy()


def stocked_rows(keys: pd.DataFrame, products: pd.DataFrame) -> np.ndarray:
    """Rows of ``keys`` that are stocked (not dropship): the ones that get a stock policy."""
    return np.flatnonzero(~keys["sku"].astype(str).isin(dropship_skus(products)).to_numpy())

