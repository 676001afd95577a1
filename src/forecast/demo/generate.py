"""`generate_demo`: the demo data set, one step per table, in the order of the random draws.

Two random streams: ``default_rng(seed)`` for the catalogue, demand, stock and open book, and
``default_rng([seed, 1])`` for the receipts' lead times, the order history, pre-orders,
dropship and the flash sale (added later, so the first stream stays as it was). Each step
draws from its stream in a fixed order: moving a step changes the data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from forecast.demo.campaigns import _campaign_arrays, _campaigns, _campaigns_table
from forecast.demo.common import TABLE_FILES, _calendar, _write_csv
from forecast.demo.customer_orders import (
    _number_orders,
    _open_orders,
    _order_history,
    _preorder_lines,
)
from forecast.demo.customers import _customers
from forecast.demo.demand import _demand, _demand_parameters
from forecast.demo.events import _events
from forecast.demo.flash_sale import _choose_flash_sale, _with_flash_sale
from forecast.demo.movements import stock_movements
from forecast.demo.products import _catalogue, _preorder_products, _products_table
from forecast.demo.purchase_orders import _open_purchase_orders, _receipts_table
from forecast.demo.roles import _assign_roles, _oversold
from forecast.demo.sales import _inventory_table, _prices, _sales_table
from forecast.demo.stock import _simulate
from forecast.demo.suppliers import _suppliers_table
from forecast.demo.truth import _truth


def _check_arguments(n_skus: int, n_locations: int, days: int) -> None:
    if n_skus < 10:
        raise ValueError(f"n_skus must be at least 10, got {n_skus}")
    if n_locations < 1:
        raise ValueError(f"n_locations must be at least 1, got {n_locations}")
    if days < 180:
        raise ValueError(
            f"days must be at least 180 (a new SKU launches up to 120 days before "
            f"the end and stockout spells need room), got {days}"
        )


def generate_demo(
    out_dir: str | Path,
    *,
    seed: int = 42,
    n_skus: int = 200,
    n_locations: int = 2,
    days: int = 1095,
    end_date: str = "2026-10-31",
) -> dict:
    """Write the demo data set (one file per table, plus ``truth.json``) into `out_dir`.

    Returns ``{table: row count, ..., "as_of": end_date}``. Same arguments, same bytes.
    The catalogue holds `n_skus` products with history plus the pre-order products.

    >>> import tempfile
    >>> summary = generate_demo(tempfile.mkdtemp(), n_skus=10, n_locations=1, days=200)
    >>> summary["as_of"], summary["products"], summary["customers"], summary["suppliers"]
    ('2026-10-31', 11, 500, 7)
    """
    _check_arguments(n_skus, n_locations, days)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # the new features draw from a second stream, so the first one stays as it was
    rng_x = np.random.default_rng([seed, 1])
    cal = _calendar(end_date, days, n_locations)

    # --- catalogue, calendar effects, campaigns and the demand truth
    catalogue = _catalogue(rng, n_skus, days)
    params = _demand_parameters(rng, catalogue, n_locations)
    event_mult, events, event_truth = _events(rng, cal.start, cal.n_grid, cal.locations)
    campaigns = _campaigns(rng, catalogue.cat_idx, catalogue.launch, n_locations, days)
    camp_mult, discount = _campaign_arrays(campaigns, catalogue.cat_idx, n_locations, cal.n_grid)
    demand = _demand(rng, cal, catalogue, params, event_mult, camp_mult)

    # --- stockouts and the stock sawtooth
    roles = _assign_roles(rng, rng_x, catalogue, n_locations, days)
    sim = _simulate(rng, rng_x, cal, catalogue, roles, demand)

    # --- sales table, inventory, received and open purchase orders
    price = _prices(catalogue.products, discount)  # (sku, location, grid day)
    sales = _sales_table(sim, price)
    inventory = _inventory_table(sim)
    receipts = _receipts_table(sim)
    purchase_orders = _open_purchase_orders(rng, sim, len(receipts) + 1)

    # --- customers and customer orders: the open book, the history, the pre-orders
    customers = _customers(rng)
    oversold = _oversold(roles, sim.final, n_locations)
    open_book = _open_orders(rng, sim, oversold, price)
    history = _order_history(
        rng_x, days, demand.mu, price, sim.run.on_hand, roles.is_dropship, sim.plan
    )
    n_preorder = 1 if n_skus < 50 else 2
    preorder_products, preorders = _preorder_products(
        rng_x, n_preorder, n_skus + 1, days, params.loc_weight
    )
    preorder_lines = _preorder_lines(rng_x, days, preorders, n_locations)
    all_skus = np.concatenate([catalogue.skus, preorder_products["sku"].to_numpy()])
    lines = [history, open_book, preorder_lines]
    customer_orders = _number_orders(lines, cal.start, all_skus, cal.locations)

    # --- a planned flash sale on a popular SKU-location whose spare stock is tight
    flash = _choose_flash_sale(rng_x, sim, oversold, campaigns, customer_orders, purchase_orders)
    campaigns, stock_quantity = _with_flash_sale(campaigns, flash)

    # --- product master: the switched SKU names its new supplier (whose lead time applies)
    products = _products_table(
        catalogue, roles.switch_sku, roles.is_dropship, preorder_products, cal
    )
    tables = {
        "sales": sales,
        "products": products,
        "suppliers": _suppliers_table(),
        "campaigns": _campaigns_table(campaigns, stock_quantity, catalogue.skus, cal),
        "events": events,
        "inventory": inventory,
        "purchase_orders": purchase_orders,
        "receipts": receipts,
        "customers": customers,
        "customer_orders": customer_orders,
    }
    # --- the day after: stock movements for `forecast sync` (their own random stream)
    tables["stock_movements"] = stock_movements(
        seed, cal.end, inventory, purchase_orders, customer_orders)
    for name, df in tables.items():
        _write_csv(df, out / TABLE_FILES[name])
    truth = _truth(seed, sim, oversold, campaigns, event_truth, tables, preorders, all_skus, flash)
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    summary: dict = {name: len(df) for name, df in tables.items()}
    summary["as_of"] = cal.end.isoformat()
    return summary
