"""The ``sales`` and ``inventory`` tables, read off the stock run.

One ``sales`` row per SKU x location x day from the SKU's launch date: quantity = min(demand,
stock), the shelf price (after campaign discounts) and the end-of-day ``on_hand``. Dropship
SKUs keep no stock: their sales are the demand, ``on_hand`` is empty and they have no
``inventory`` row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.demo.stock import _Simulation


def _prices(products: pd.DataFrame, discount: np.ndarray) -> np.ndarray:
    """Shelf price (sku, location, grid day): the unit price less the campaign discount (%)."""
    unit_price = products["unit_price"].to_numpy()
    return np.round(unit_price[:, None, None] * (1.0 - discount / 100.0), 2)


def _sales_table(sim: _Simulation, price: np.ndarray) -> pd.DataFrame:
    """The ``sales`` table; `price` is (sku, location, grid day)."""
    cal, run, demand = sim.cal, sim.run, sim.demand.demand
    skus, is_dropship = sim.catalogue.skus, sim.roles.is_dropship
    days, n_locations, locations = cal.days, cal.n_locations, cal.locations
    n_series = len(skus) * n_locations
    price_series = price.reshape(n_series, cal.n_grid)[:, :days]
    live = np.arange(days)[None, :] >= sim.roles.launch_series[:, None]
    ser_idx, day_idx = np.nonzero(live)
    stocked = ~is_dropship[ser_idx // n_locations]
    sales = pd.DataFrame(
        {
            "date": cal.date_str[day_idx],
            "sku": skus[ser_idx // n_locations],
            "location": np.array(locations)[ser_idx % n_locations],
            "quantity": np.where(stocked, run.sales[ser_idx, day_idx], demand[ser_idx, day_idx]),
            "price": price_series[ser_idx, day_idx],
            "on_hand": pd.array(np.where(stocked, run.on_hand[ser_idx, day_idx], 0), dtype="Int64"),
        }
    )
    sales.loc[~stocked, "on_hand"] = pd.NA
    return sales


def _inventory_table(sim: _Simulation) -> pd.DataFrame:
    """The ``inventory`` table: on hand at the end of every stocked series."""
    cal, skus, final = sim.cal, sim.catalogue.skus, sim.final
    n_skus, n_locations = len(skus), cal.n_locations
    sku_rep = np.repeat(np.arange(n_skus), n_locations)
    stocked_series = np.flatnonzero(~np.repeat(sim.roles.is_dropship, n_locations))
    return pd.DataFrame(
        {
            "sku": skus[sku_rep][stocked_series],
            "location": np.tile(cal.locations, n_skus)[stocked_series],
            "on_hand": final[stocked_series],
            "as_of": cal.end.isoformat(),
        }
    )
