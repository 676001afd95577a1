"""The ``campaigns`` table: past and planned campaigns and their effect on demand.

Price promos (uplift grows with the discount; a 7-day, -20% dip after them: pantry loading),
e-mails and feature ads, SKU-level or category-wide, in one store or all. Past campaigns never
overlap for one SKU (dip included); planned ones start 1-60 days after the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.demo.common import _CATEGORIES, _CATS, _HORIZON, _Calendar, _Category

_DIP_DAYS = 7
_DIP_MULTIPLIER = 0.8  # pantry loading: -20% for a week after a price promo

_KINDS = ("price_promo", "email", "feature_ad")


def _uplift(kind: str, cat: _Category, discount: float) -> float:
    if kind == "price_promo":
        return 1.0 + cat.promo_elasticity * discount / 100.0
    if kind == "email":
        return 1.0 + cat.email_lift
    return 1.0 + cat.ad_lift + cat.promo_elasticity * discount / 100.0


def _draw_kind(rng: np.random.Generator, p: tuple[float, float, float]) -> tuple[str, float]:
    kind = _KINDS[int(rng.choice(3, p=p))]
    if kind == "price_promo":
        return kind, float(rng.choice([10, 15, 20, 25, 30, 35, 40]))
    if kind == "feature_ad":
        return kind, float(rng.choice([0, 0, 5, 10]))
    return kind, 0.0


def _campaign(sku: int, cat: int, loc: int, start: int, dur: int, kind: str, disc: float) -> dict:
    return {
        "sku": sku,
        "cat": cat,
        "loc": loc,
        "start": start,
        "end": start + dur - 1,
        "kind": kind,
        "discount": disc,
    }


def _campaigns(
    rng: np.random.Generator, cat_idx: np.ndarray, launch: np.ndarray, n_loc: int, days: int
) -> list[dict]:
    """Past campaigns (never overlapping for one SKU, dip included) and planned ones.

    Each campaign: sku (index or -1), cat, loc (index or -1), start, end (grid indices), kind,
    discount. Planned ones start 1-60 days after the last history day (index days - 1).
    """
    n_skus = len(cat_idx)
    n_cat = len(_CATS)
    n_grid = days + _HORIZON
    busy = np.zeros((n_cat, n_grid), dtype=bool)  # category-wide campaign days + dip + margin
    out: list[dict] = []

    def pick_loc() -> int:
        return int(rng.integers(n_loc)) if n_loc > 1 and rng.random() < 0.25 else -1

    for c in range(n_cat):
        t = int(rng.integers(10, 60))
        while True:
            dur = int(rng.integers(3, 15))
            if t + dur + _DIP_DAYS >= days:
                break
            kind, disc = _draw_kind(rng, (0.3, 0.4, 0.3))
            out.append(_campaign(-1, c, pick_loc(), t, dur, kind, disc))
            busy[c, max(0, t - 3) : t + dur + _DIP_DAYS + 3] = True
            t += dur + int(rng.integers(60, 150))
        if rng.random() < 0.6:  # a planned category-wide campaign
            t = days + int(rng.integers(0, 60))
            dur = int(rng.integers(3, 15))
            kind, disc = _draw_kind(rng, (0.4, 0.4, 0.2))
            out.append(_campaign(-1, c, -1, t, dur, kind, disc))
            busy[c, t - 3 : t + dur + _DIP_DAYS + 3] = True

    for s in range(n_skus):
        c = int(cat_idx[s])
        t = int(launch[s]) + int(rng.integers(7, 60))
        while True:
            dur = int(rng.integers(3, 15))
            if t + dur + _DIP_DAYS >= days:
                break
            if busy[c, max(0, t - 3) : t + dur + _DIP_DAYS + 3].any():
                t += 7
                continue
            kind, disc = _draw_kind(rng, (0.55, 0.25, 0.2))
            out.append(_campaign(s, c, pick_loc(), t, dur, kind, disc))
            t += dur + _DIP_DAYS + int(rng.integers(20, 110))
        if rng.random() < 0.35:  # a planned SKU campaign
            t = days + int(rng.integers(0, 60))
            dur = int(rng.integers(3, 15))
            if not busy[c, t - 3 : t + dur + _DIP_DAYS + 3].any():
                kind, disc = _draw_kind(rng, (0.55, 0.25, 0.2))
                out.append(_campaign(s, c, pick_loc(), t, dur, kind, disc))
    return out


def _campaign_arrays(
    campaigns: list[dict], cat_idx: np.ndarray, n_loc: int, n_grid: int
) -> tuple[np.ndarray, np.ndarray]:
    """Demand multiplier and discount (sku, location, day) implied by the campaigns."""
    n_skus = len(cat_idx)
    mult = np.ones((n_skus, n_loc, n_grid))
    discount = np.zeros((n_skus, n_loc, n_grid))
    for cp in campaigns:
        skus = np.flatnonzero(cat_idx == cp["cat"]) if cp["sku"] < 0 else np.array([cp["sku"]])
        locs = np.arange(n_loc) if cp["loc"] < 0 else np.array([cp["loc"]])
        ix = (skus[:, None], locs[None, :])
        a, b = cp["start"], cp["end"] + 1
        mult[ix + (slice(a, b),)] *= _uplift(
            cp["kind"], _CATEGORIES[_CATS[cp["cat"]]], cp["discount"]
        )
        if cp["kind"] == "price_promo":
            mult[ix + (slice(b, b + _DIP_DAYS),)] *= _DIP_MULTIPLIER
        if cp["discount"] > 0:
            window = discount[ix + (slice(a, b),)]
            discount[ix + (slice(a, b),)] = np.maximum(window, cp["discount"])
    return mult, discount


def _campaigns_table(
    campaigns: list[dict], stock_quantity: np.ndarray, skus: np.ndarray, cal: _Calendar
) -> pd.DataFrame:
    """The ``campaigns`` table, by start date; `stock_quantity` per campaign (NaN: none)."""
    campaigns_df = pd.DataFrame(
        {
            "sku": [skus[c["sku"]] if c["sku"] >= 0 else "" for c in campaigns],
            "category": [_CATS[c["cat"]] if c["sku"] < 0 else "" for c in campaigns],
            "location": [cal.locations[c["loc"]] if c["loc"] >= 0 else "" for c in campaigns],
            "start_date": [cal.iso(c["start"]) for c in campaigns],
            "end_date": [cal.iso(c["end"]) for c in campaigns],
            "kind": [c["kind"] for c in campaigns],
            "discount_pct": [c["discount"] for c in campaigns],
            "stock_quantity": pd.array(stock_quantity, dtype="Int64"),
        }
    )
    return campaigns_df.sort_values(
        ["start_date", "category", "sku", "location"], kind="stable"
    ).reset_index(drop=True)


def _campaign_truth(campaigns: list[dict], days: int) -> dict:
    """Multiplier per (kind, category), with the mean over the past campaigns that used it."""
    truth: dict = {kind: {} for kind in _KINDS}
    for ci, c in enumerate(_CATS):
        cat = _CATEGORIES[c]
        past = [cp for cp in campaigns if cp["cat"] == ci and cp["end"] < days]
        for kind in _KINDS:
            used = [cp for cp in past if cp["kind"] == kind]
            mults = [_uplift(kind, cat, cp["discount"]) for cp in used]
            entry: dict = {
                "n_past_campaigns": len(used),
                "mean_multiplier": round(float(np.mean(mults)), 4) if mults else None,
            }
            if kind == "price_promo":
                entry |= {
                    "formula": "1 + elasticity * discount_pct / 100",
                    "elasticity": cat.promo_elasticity,
                    "mean_discount_pct": round(float(np.mean([cp["discount"] for cp in used])), 4)
                    if used
                    else None,
                }
            elif kind == "email":
                entry |= {
                    "formula": "1 + lift",
                    "lift": cat.email_lift,
                    "multiplier": round(1 + cat.email_lift, 4),
                }
            else:
                entry |= {
                    "formula": "1 + lift + elasticity * discount_pct / 100",
                    "lift": cat.ad_lift,
                    "elasticity": cat.promo_elasticity,
                }
            truth[kind][c] = entry
    return truth
