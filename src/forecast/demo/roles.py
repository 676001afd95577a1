"""Which SKUs and SKU-locations play which part in the demo.

Four steady SKU-locations end the history out of stock (two with a PO coming, two without:
the backorder scenarios); dropship SKUs keep no stock; one SKU moves to the new supplier late
in the history; about 25% of the series get stockout spells; six SKU-locations with a little
stock are oversold by the open book. A series is ``sku * n_locations + location``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecast.demo.products import _Catalogue
from forecast.demo.suppliers import _SWITCH_DAYS


@dataclass(frozen=True)
class _Roles:
    launch_series: np.ndarray  # launch day per series
    steady: np.ndarray  # SKUs with the whole history that are not intermittent
    zero_with_po: np.ndarray  # series out of stock at the end, with a PO coming
    zero_no_po: np.ndarray  # series out of stock at the end, with no PO
    terminal: np.ndarray  # both of them: their last stockout spell runs to the end
    dropship_skus: np.ndarray
    is_dropship: np.ndarray  # per SKU
    dropship_series: np.ndarray
    switch_sku: int  # moves to the new supplier on `switch_day`
    switch_day: int
    switch_series: np.ndarray
    chosen: np.ndarray  # series with stockout spells
    spells: list[tuple[int, int, int]]  # (series, first day, last day)


def _assign_roles(
    rng: np.random.Generator,
    rng_x: np.random.Generator,
    catalogue: _Catalogue,
    n_locations: int,
    days: int,
) -> _Roles:
    """The scenarios and stockout spells (from `rng`), dropship SKUs and the supplier switch
    (from the second stream `rng_x`)."""
    n_skus = catalogue.n_skus
    n_series = n_skus * n_locations
    launch_series = np.repeat(catalogue.launch, n_locations)
    steady = np.flatnonzero(~catalogue.is_intermittent & (catalogue.launch == 0))
    # four SKU-locations end the history out of stock: two with a PO coming, two without
    scen_skus = rng.choice(steady, size=4, replace=False)
    scen_series = scen_skus * n_locations + rng.integers(n_locations, size=4)
    zero_with_po, zero_no_po = np.sort(scen_series[:2]), np.sort(scen_series[2:])
    terminal = np.concatenate([zero_with_po, zero_no_po])
    dropship_skus, switch_sku = _dropship_and_switch(
        rng_x, catalogue, np.setdiff1d(steady, scen_skus)
    )
    is_dropship = np.zeros(n_skus, dtype=bool)
    is_dropship[dropship_skus] = True
    dropship_series = np.flatnonzero(np.repeat(is_dropship, n_locations))
    others = np.setdiff1d(np.arange(n_series), np.concatenate([terminal, dropship_series]))
    n_chosen = max(len(terminal), round(0.25 * n_series)) - len(terminal)
    chosen = np.sort(np.concatenate([terminal, rng.choice(others, n_chosen, replace=False)]))
    spells = _stockout_spells(rng, launch_series, days, chosen, terminal)
    return _Roles(
        launch_series=launch_series,
        steady=steady,
        zero_with_po=zero_with_po,
        zero_no_po=zero_no_po,
        terminal=terminal,
        dropship_skus=dropship_skus,
        is_dropship=is_dropship,
        dropship_series=dropship_series,
        switch_sku=switch_sku,
        switch_day=days - 1 - _SWITCH_DAYS,
        switch_series=switch_sku * n_locations + np.arange(n_locations),
        chosen=chosen,
        spells=spells,
    )


def _dropship_and_switch(
    rng: np.random.Generator, catalogue: _Catalogue, free: np.ndarray
) -> tuple[np.ndarray, int]:
    """Dropship SKUs (shipped by the supplier: no stock, no spells; 1, or 2 from 50 SKUs) and
    the SKU that moves to a new supplier late in the history, both from the steady SKUs outside
    the scenarios (`free`)."""
    n_dropship = min(1 if catalogue.n_skus < 50 else 2, len(free) - 1)
    # prefer SKUs whose supplier also delivers stocked SKUs: its receipts then show the risk
    sup_of = catalogue.products["supplier"].to_numpy()
    shared = np.array([(sup_of == sup_of[s]).sum() > 1 for s in free])
    pool = free[shared] if shared.sum() >= n_dropship + 1 else free
    dropship_skus = np.sort(rng.choice(pool, size=n_dropship, replace=False))
    switch_sku = int(rng.choice(np.setdiff1d(free, dropship_skus)))
    return dropship_skus, switch_sku


def _stockout_spells(
    rng: np.random.Generator,
    launch_series: np.ndarray,
    days: int,
    chosen: np.ndarray,
    terminal: np.ndarray,
) -> list[tuple[int, int, int]]:
    """(series, first day, last day) spells: 1-4 of 3-14 days per chosen series.

    `terminal` series also get a spell that runs to the last day (stock 0 at the as-of date).
    """
    spells = []
    for n in chosen:
        lo = int(launch_series[n]) + 14
        hi = days - 3
        if n in terminal:
            dur = int(rng.integers(4, 11))
            spells.append((int(n), days - dur, days - 1))
            hi = days - dur - 20
        k = int(rng.integers(1, 5)) - (1 if n in terminal else 0)
        while k > 0 and (hi - lo) // k < 20:
            k -= 1
        seg = (hi - lo) // k if k > 0 else 0
        for i in range(k):
            dur = int(rng.integers(3, 15))
            a = lo + i * seg + int(rng.integers(0, seg - dur))
            spells.append((int(n), a, a + dur - 1))
    return sorted(spells)


def _oversold(roles: _Roles, final: np.ndarray, n_locations: int) -> np.ndarray:
    """Six steady SKU-locations with a little stock at the end (`final`, per series), outside
    the spells and dropship, that get orders for more than they hold, from several customers at
    once: who is served first then depends on the allocation policy."""
    candidates = np.setdiff1d(
        roles.steady[:, None] * n_locations + np.arange(n_locations), roles.chosen
    )
    candidates = np.setdiff1d(candidates, roles.dropship_series)
    candidates = candidates[final[candidates] > 0]
    return np.sort(candidates[np.argsort(final[candidates], kind="stable")[:6]])
