"""Campaign covariates: which campaign covers each (series, period) cell, and since when.

Campaigns (contract table ``campaigns``) name either an ``sku`` or a ``category`` (the other is
empty) and a ``location`` (empty = every location). They are mapped onto series by SKU, or by
the series' product category (``products`` table), with a vectorised interval expansion: one
``(series, period)`` cell per covered period, never a per-day Python loop. Where campaigns
overlap, the *strongest* one describes the cell: the largest discount, ties broken by the kind
whose campaigns are on average deeper (then by the later campaign row), so a price promotion
wins over an e-mail sent the same week.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.forecasting.covariate_calendar import _forward_fill_index, _period_of, _text
from forecast.forecasting.series import Frequency

#: Periods after a campaign for which ``days_after_campaign`` counts (28 days, in periods).
AFTER_CAP_DAYS = 28.0
NO_CAMPAIGN = "none"


def _normalise_campaigns(campaigns: pd.DataFrame) -> pd.DataFrame:
    """Contract columns with defaults: text as stripped str, discount as a 0..1 fraction."""
    out = pd.DataFrame(
        {
            "sku": _text(campaigns["sku"]) if "sku" in campaigns else "",
            "category": _text(campaigns["category"]) if "category" in campaigns else "",
            "location": _text(campaigns["location"]) if "location" in campaigns else "",
            "kind": _text(campaigns["kind"]) if "kind" in campaigns else "promotion",
            "start_date": pd.to_datetime(campaigns["start_date"]).to_numpy(),
            "end_date": pd.to_datetime(campaigns["end_date"]).to_numpy(),
        },
        index=pd.RangeIndex(len(campaigns)),
    )
    out.loc[out["kind"] == "", "kind"] = "promotion"
    pct = (
        pd.to_numeric(campaigns["discount_pct"], errors="coerce").to_numpy(dtype=float)
        if "discount_pct" in campaigns
        else np.zeros(len(campaigns))
    )
    out["discount"] = np.clip(np.nan_to_num(pct, nan=0.0), 0.0, 100.0) / 100.0
    return out


def _campaign_series_pairs(
    table: pd.DataFrame, keys: pd.DataFrame, category: np.ndarray, category_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(campaign row, series) pairs a campaign applies to: by SKU or by category, at its
    location or (empty location) at every location. Integer keys, no string joins."""
    sku_index = pd.Index(pd.unique(_text(keys["sku"])))
    loc_index = pd.Index(pd.unique(_text(keys["location"])))
    series_sku = sku_index.get_indexer(_text(keys["sku"])).astype(np.int64)
    series_loc = loc_index.get_indexer(_text(keys["location"])).astype(np.int64)
    series_cat = np.asarray(category, dtype=np.int64)
    n_loc = max(len(loc_index), 1)
    camp_sku = sku_index.get_indexer(table["sku"].to_numpy()).astype(np.int64)
    camp_cat = pd.Index(category_names).get_indexer(table["category"].to_numpy()).astype(np.int64)
    camp_loc = loc_index.get_indexer(table["location"].to_numpy()).astype(np.int64)
    by_sku = table["sku"].to_numpy() != ""
    by_cat = ~by_sku & (table["category"].to_numpy() != "") & (camp_cat > 0)
    every_loc = table["location"].to_numpy() == ""
    known_loc = every_loc | (camp_loc >= 0)
    rows, series = [], []
    for use, camp_key, series_key in (
        (
            by_sku & ~every_loc & known_loc,
            camp_sku * n_loc + camp_loc,
            series_sku * n_loc + series_loc,
        ),
        (by_sku & every_loc, camp_sku, series_sku),
        (
            by_cat & ~every_loc & known_loc,
            camp_cat * n_loc + camp_loc,
            series_cat * n_loc + series_loc,
        ),
        (by_cat & every_loc, camp_cat, series_cat),
    ):
        r, i = _match(np.flatnonzero(use & (camp_key >= 0)), camp_key, series_key)
        rows.append(r)
        series.append(i)
    return np.concatenate(rows), np.concatenate(series)


def _match(
    campaign_rows: np.ndarray, campaign_key: np.ndarray, series_key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All (campaign row, series) pairs with equal keys, by a sorted search on the series."""
    order = np.argsort(series_key, kind="stable")
    sorted_key = series_key[order]
    key = campaign_key[campaign_rows]
    lo = np.searchsorted(sorted_key, key, side="left")
    hi = np.searchsorted(sorted_key, key, side="right")
    owner, position = _expand_intervals(lo, hi - 1)
    return campaign_rows[owner], order[position]


def _expand_intervals(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval expansion: for intervals [first_j, last_j] return (interval j, period) per cell."""
    lengths = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(first.size), lengths)
    offsets = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, first[owner] + offsets


@dataclass
class _CampaignGrid:
    """The campaign fields of :class:`Covariates` (``(n, n_periods)`` arrays) and the table."""

    active: np.ndarray
    discount: np.ndarray
    kind: np.ndarray
    days_into: np.ndarray
    campaign_id: np.ndarray
    kind_names: list[str]
    by_kind: dict[str, np.ndarray]
    table: pd.DataFrame | None


def _campaign_covariates(
    campaigns: pd.DataFrame | None,
    keys: pd.DataFrame,
    products: pd.DataFrame | None,
    category: np.ndarray,
    category_names: list[str],
    edges: np.ndarray,
    freq: Frequency,
    n_periods: int,
) -> _CampaignGrid:
    """Active / discount / kind / days into / campaign row of the strongest campaign per cell,
    and the 0/1 flags of every campaign per kind (see the module doc for mapping and overlaps)."""
    n = len(keys)
    active = np.zeros((n, n_periods), dtype=np.float32)
    discount = np.zeros((n, n_periods), dtype=np.float32)
    kind = np.zeros((n, n_periods), dtype=np.int16)
    days_into = np.full((n, n_periods), -1, dtype=np.int32)
    campaign_id = np.full((n, n_periods), -1, dtype=np.int32)
    kind_names = [NO_CAMPAIGN]
    campaigns_by_kind: dict[str, np.ndarray] = {}
    table = None
    if campaigns is not None and len(campaigns):
        table = _campaign_table(campaigns, kind_names, edges, freq, n_periods)
        if products is None and ((table["sku"] == "") & (table["category"] != "")).any():
            warnings.warn(
                "campaigns name categories but no products table was given: "
                "category-wide campaigns are ignored",
                stacklevel=3,  # the caller of build_covariates
            )
        cell_row, cell_series, period = _campaign_cells(
            table, keys, category, category_names, n_periods
        )
        cell_disc = table["discount"].to_numpy()[cell_row]
        cell_kind = table["kind_code"].to_numpy()[cell_row]
        win = _strongest_campaign(
            table, kind_names, cell_row, cell_series, period, cell_disc, cell_kind, n_periods
        )
        s_win, p_win, r_win = cell_series[win], period[win], cell_row[win]
        active[s_win, p_win] = 1.0
        discount[s_win, p_win] = cell_disc[win]
        kind[s_win, p_win] = cell_kind[win]
        campaign_id[s_win, p_win] = r_win
        start_of = table["first_period"].to_numpy()[r_win]
        days_into[s_win, p_win] = p_win - start_of  # may exceed p - 0 when it began before T0
        for code, name in enumerate(kind_names[1:], start=1):
            sel = cell_kind == code
            flags = np.zeros((n, n_periods), dtype=np.float32)
            flags[cell_series[sel], period[sel]] = 1.0
            campaigns_by_kind[name] = flags
    return _CampaignGrid(
        active, discount, kind, days_into, campaign_id, kind_names, campaigns_by_kind, table
    )


def _campaign_table(
    campaigns: pd.DataFrame,
    kind_names: list[str],
    edges: np.ndarray,
    freq: Frequency,
    n_periods: int,
) -> pd.DataFrame:
    """Normalised campaign rows with their kind code and first / last period; appends the
    campaign kinds, sorted, to ``kind_names`` (which starts as ``[NO_CAMPAIGN]``)."""
    table = _normalise_campaigns(campaigns)
    kind_names += sorted(set(table["kind"]) - {NO_CAMPAIGN})
    table["kind_code"] = pd.Index(kind_names).get_indexer(table["kind"]).astype(np.int16)
    table["first_period"] = _period_of(
        table["start_date"].values.astype("datetime64[D]"), edges, freq.period_days
    )
    table["last_period"] = np.minimum(
        _period_of(table["end_date"].values.astype("datetime64[D]"), edges), n_periods - 1
    )
    return table


def _campaign_cells(
    table: pd.DataFrame,
    keys: pd.DataFrame,
    category: np.ndarray,
    category_names: list[str],
    n_periods: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (campaign row, series, period) cell a campaign covers inside the periods."""
    row, series = _campaign_series_pairs(table, keys, category, category_names)
    first = table["first_period"].to_numpy()[row]
    last = table["last_period"].to_numpy()[row]
    ok = (last >= 0) & (first < n_periods) & (last >= first)
    row, series = row[ok], series[ok]
    first_c = np.maximum(first[ok], 0)
    owner, period = _expand_intervals(first_c, last[ok])
    return row[owner], series[owner], period


def _strongest_campaign(
    table: pd.DataFrame,
    kind_names: list[str],
    cell_row: np.ndarray,
    cell_series: np.ndarray,
    period: np.ndarray,
    cell_disc: np.ndarray,
    cell_kind: np.ndarray,
    n_periods: int,
) -> np.ndarray:
    """Index of the cell that describes each covered (series, period): the strongest campaign."""
    flat = cell_series * n_periods + period
    # Strongest campaign per cell: max discount, then the kind deeper on average, then row.
    kind_depth = table.groupby("kind_code")["discount"].mean()
    depth_rank = kind_depth.rank(method="first").reindex(range(len(kind_names))).fillna(0)
    order = np.lexsort((cell_row, depth_rank.to_numpy()[cell_kind], cell_disc, flat))
    flat_sorted = flat[order]
    last_of_group = np.r_[flat_sorted[1:] != flat_sorted[:-1], True] if flat.size else []
    return order[last_of_group]


def _days_after_campaign(
    active: np.ndarray, kind: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Periods since the last campaign period (1..cap, 0 otherwise), and the kind of that
    campaign."""
    n, n_periods = active.shape
    is_active = active > 0
    last_active = _forward_fill_index(is_active)
    since = np.arange(n_periods, dtype=np.int32)[None, :] - last_active
    recent = (~is_active) & (last_active >= 0) & (since <= cap)
    days_after = np.where(recent, since, 0).astype(np.int32)
    rows = np.arange(n)[:, None]
    after_kind = np.where(recent, kind[rows, np.maximum(last_active, 0)], 0).astype(np.int16)
    return days_after, after_kind
