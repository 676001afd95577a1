"""The ``products`` table: the catalogue, its SKU types and the pre-order products.

:func:`_catalogue` draws the products with history and which of them are intermittent (slow)
or new (launched 30-120 days before the end); :func:`_preorder_products` the products that
launch after the end; :func:`_products_table` writes them all as the product master.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.demo.common import _BRANDS, _CATEGORIES, _CATS, _Calendar
from forecast.demo.suppliers import _NEW_SUPPLIER, _SUPPLIER_INDEX, _SUPPLIERS


def _products(rng: np.random.Generator, n_skus: int) -> pd.DataFrame:
    shares = np.array([c.share for c in _CATEGORIES.values()])
    cat_idx = np.sort(rng.choice(len(_CATS), size=n_skus, p=shares / shares.sum()))
    rows = []
    # exact shares, so even a small catalogue has each case: ~20% without their own lead time
    # (the supplier's applies), ~5% at a 0.99 and ~10% at a 0.97 service level
    shuffled = rng.permutation(n_skus)
    no_lead_time = set(shuffled[: round(0.2 * n_skus)].tolist())
    n_99, n_97 = max(1, round(0.05 * n_skus)), max(1, round(0.1 * n_skus))
    service_level = np.full(n_skus, np.nan)
    service_level[rng.permutation(n_skus)[: n_99 + n_97]] = [0.99] * n_99 + [0.97] * n_97
    for s, ci in enumerate(cat_idx):
        cat = _CATEGORIES[_CATS[ci]]
        price = round(float(cat.price_median * np.exp(rng.normal(0.0, 0.35))), 2)
        cost = round(price * float(rng.uniform(0.45, 0.75)), 2)
        supplier = cat.suppliers[0]
        if len(cat.suppliers) > 1 and rng.random() < 0.25:
            supplier = cat.suppliers[1]
        sup = _SUPPLIERS[_SUPPLIER_INDEX[supplier]]
        own_lead_time = s not in no_lead_time
        lt = max(1, sup[2] + int(rng.integers(-1, 4)))
        lt_sd = round(sup[3] * float(rng.uniform(0.7, 1.3)), 2)
        pack = int(rng.choice(cat.pack_sizes))
        moq = pack * int(rng.choice([1, 1, 2, 4]))
        name = (
            f"{_BRANDS[int(rng.integers(len(_BRANDS)))]} "
            f"{cat.nouns[int(rng.integers(len(cat.nouns)))]} #{s + 1}"
        )
        rows.append(
            {
                "sku": f"SKU{s + 1:04d}",
                "name": name,
                "category": _CATS[ci],
                "department": cat.department,
                "unit_cost": cost,
                "unit_price": price,
                "supplier": supplier,
                "lead_time_days": lt if own_lead_time else pd.NA,
                "lead_time_sd_days": lt_sd if own_lead_time else np.nan,
                "moq": moq,
                "pack_size": pack,
                "service_level": service_level[s],
                "_cat": int(ci),
                "_lt_true": lt if own_lead_time else sup[2],
                "_lt_sd_true": lt_sd if own_lead_time else sup[3],
            }
        )
    products = pd.DataFrame(rows)
    products["lead_time_days"] = products["lead_time_days"].astype("Int64")
    return products


@dataclass(frozen=True)
class _Catalogue:
    """The products with history (with the private columns ``_cat``, ``_lt_true``,
    ``_lt_sd_true``: category index and the true lead time and sd) and their SKU types."""

    products: pd.DataFrame
    cat_idx: np.ndarray  # category index per SKU
    skus: np.ndarray  # SKU codes
    intermittent: np.ndarray  # SKU indices, sorted
    new: np.ndarray  # SKU indices, sorted
    is_intermittent: np.ndarray
    launch: np.ndarray  # launch day per SKU (0 for SKUs with the whole history)

    @property
    def n_skus(self) -> int:
        return len(self.skus)


def _catalogue(rng: np.random.Generator, n_skus: int, days: int) -> _Catalogue:
    """`n_skus` products, ~20% intermittent and ~5% (at least one) new ones."""
    products = _products(rng, n_skus)
    cat_idx = products["_cat"].to_numpy()
    skus = products["sku"].to_numpy()
    order = rng.permutation(n_skus)
    n_intermittent = round(0.2 * n_skus)
    n_new = max(1, round(0.05 * n_skus))
    intermittent = np.sort(order[:n_intermittent])
    new = np.sort(order[n_intermittent : n_intermittent + n_new])
    is_intermittent = np.zeros(n_skus, dtype=bool)
    is_intermittent[intermittent] = True
    launch = np.zeros(n_skus, dtype=np.int64)
    launch[new] = days - 1 - rng.integers(30, 121, size=n_new)  # 30-120 days before the end
    return _Catalogue(products, cat_idx, skus, intermittent, new, is_intermittent, launch)


def _preorder_products(
    rng: np.random.Generator, n: int, first_number: int, days: int, loc_weight: np.ndarray
) -> tuple[pd.DataFrame, list[dict]]:
    """`n` pre-order products, launched 7-21 days after their supplier's lead time from the end.

    Each has a true daily demand after launch (per location: level ~ LogNormal(log 6, 0.4)
    clipped to 2-20, times the location weight) and takes pre-orders from 14-28 days before the
    end. Returns the product rows and, per product, what :func:`_preorder_lines` needs.
    """
    shares = np.array([c.share for c in _CATEGORIES.values()])
    rows, info = [], []
    for j in range(n):
        ci = int(rng.choice(len(_CATS), p=shares / shares.sum()))
        cat = _CATEGORIES[_CATS[ci]]
        sup = _SUPPLIERS[_SUPPLIER_INDEX[cat.suppliers[0]]]
        lt = max(1, sup[2] + int(rng.integers(-1, 4)))
        price = round(float(cat.price_median * np.exp(rng.normal(0.0, 0.35))), 2)
        pack = int(rng.choice(cat.pack_sizes))
        launch_day = days - 1 + lt + int(rng.integers(7, 22))
        level = float(np.clip(np.exp(rng.normal(np.log(6.0), 0.4)), 2.0, 20.0))
        number = first_number + j
        rows.append(
            {
                "sku": f"SKU{number:04d}",
                "name": f"{_BRANDS[int(rng.integers(len(_BRANDS)))]} "
                f"{cat.nouns[int(rng.integers(len(cat.nouns)))]} #{number} (new)",
                "category": _CATS[ci],
                "department": cat.department,
                "unit_cost": round(price * float(rng.uniform(0.45, 0.75)), 2),
                "unit_price": price,
                "supplier": sup[0],
                "lead_time_days": lt,
                "lead_time_sd_days": round(sup[3] * float(rng.uniform(0.7, 1.3)), 2),
                "moq": pack * int(rng.choice([1, 2, 4])),
                "pack_size": pack,
                "service_level": np.nan,
                "_launch_day": launch_day,
            }
        )
        info.append(
            {
                "sku": number - 1,
                "level": level * loc_weight,
                "launch_day": launch_day,
                "window_start": days - int(rng.integers(14, 29)),
                "price": price,
            }
        )
    return pd.DataFrame(rows), info


def _products_table(
    catalogue: _Catalogue,
    switch_sku: int,
    is_dropship: np.ndarray,
    preorder_products: pd.DataFrame,
    cal: _Calendar,
) -> pd.DataFrame:
    """The product master: the switched SKU names its new supplier (whose lead time applies),
    dropship SKUs are flagged, the pre-order products come last."""
    products_out = catalogue.products.drop(columns=["_cat", "_lt_true", "_lt_sd_true"])
    products_out.loc[switch_sku, ["supplier", "lead_time_days", "lead_time_sd_days"]] = [
        _NEW_SUPPLIER,
        pd.NA,
        np.nan,
    ]
    products_out["preorder"] = "no"
    products_out["launch_date"] = ""
    products_out["dropship"] = np.where(is_dropship, "yes", "no")
    preorder_out = preorder_products.drop(columns=["_launch_day"]).assign(
        preorder="yes",
        launch_date=[cal.iso(d) for d in preorder_products["_launch_day"]],
        dropship="no",
    )
    products_out = pd.concat([products_out, preorder_out], ignore_index=True)
    products_out["lead_time_days"] = products_out["lead_time_days"].astype("Int64")
    return products_out
