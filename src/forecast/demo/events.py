"""The ``events`` table and the calendar effects on demand.

Country holidays (from the `holidays` package), retail events listed in `_EVENT_EFFECTS`
(Black Friday, Christmas week, Halloween, Back to school, ...) and one local summer fair per
store, each with category-specific multipliers; stores are closed on Christmas Day.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import numpy as np
import pandas as pd

from forecast.demo.common import _CATS

_TOWNS = ("Northgate", "Southport", "Eastfield", "Westbrook", "Central")


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` (Mon=0) of a month; n = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _thanksgiving(y: int) -> date:
    return _nth_weekday(y, 11, 3, 4)


_BBQ = {"beverages": 1.25, "snacks": 1.15, "frozen": 1.2}

# name, kind, anchor(year), (first, last) day offsets from the anchor, category multipliers.
# kind "holiday" rows come from the `holidays` package; "retail" ones are listed by us.
_EVENT_EFFECTS = (
    ("New Year's Day", "holiday", lambda y: date(y, 1, 1), (0, 0), dict.fromkeys(_CATS, 0.7)),
    (
        "Super Bowl Sunday",
        "retail",
        lambda y: _nth_weekday(y, 2, 6, 2),
        (-1, 0),
        {"snacks": 1.5, "beverages": 1.4},
    ),
    ("Memorial Day", "holiday", lambda y: _nth_weekday(y, 5, 0, -1), (-3, 0), _BBQ),
    (
        "Independence Day",
        "holiday",
        lambda y: date(y, 7, 4),
        (-3, 0),
        {"beverages": 1.4, "snacks": 1.3, "frozen": 1.3},
    ),
    (
        "Back to school",
        "retail",
        lambda y: _nth_weekday(y, 8, 0, 2),
        (0, 13),
        {"snacks": 1.15, "personal_care": 1.15},
    ),
    ("Labor Day", "holiday", lambda y: _nth_weekday(y, 9, 0, 1), (-3, 0), _BBQ),
    ("Halloween", "retail", lambda y: date(y, 10, 31), (-6, 0), {"snacks": 1.5}),
    (
        "Thanksgiving shopping",
        "holiday",
        _thanksgiving,
        (-3, -1),
        {"snacks": 1.3, "frozen": 1.3, "beverages": 1.2},
    ),
    ("Thanksgiving Day", "holiday", _thanksgiving, (0, 0), dict.fromkeys(_CATS, 0.5)),
    (
        "Black Friday",
        "retail",
        lambda y: _thanksgiving(y) + timedelta(days=1),
        (0, 3),
        {
            "household": 1.4,
            "personal_care": 1.4,
            "beverages": 1.2,
            "snacks": 1.2,
            "pet": 1.2,
            "frozen": 1.1,
        },
    ),
    ("Cyber Monday", "retail", lambda y: _thanksgiving(y) + timedelta(days=4), (0, -1), {}),
    (
        "Christmas week",
        "holiday",
        lambda y: date(y, 12, 25),
        (-7, -1),
        {
            "beverages": 1.4,
            "snacks": 1.4,
            "frozen": 1.4,
            "household": 1.2,
            "personal_care": 1.2,
            "pet": 1.1,
        },
    ),
    ("Christmas Day", "holiday", lambda y: date(y, 12, 25), (0, 0), dict.fromkeys(_CATS, 0.0)),
    (
        "New Year's Eve",
        "retail",
        lambda y: date(y, 12, 31),
        (0, 0),
        {"beverages": 1.4, "snacks": 1.2},
    ),
)
_LOCAL_EFFECT = {"beverages": 1.6, "snacks": 1.4}  # local fair: that store, that day and the next
_LOCAL_WINDOW = (0, 1)


def _events(
    rng: np.random.Generator, start: date, n_grid: int, locations: list[str]
) -> tuple[np.ndarray, pd.DataFrame, list[dict]]:
    """Event multipliers (location, category, day) over the grid, the events table, the truth."""
    last = start + timedelta(days=n_grid - 1)
    mult = np.ones((len(locations), len(_CATS), n_grid))
    rows: list[tuple[str, str, str, str]] = []
    years = range(start.year, last.year + 1)

    def apply(anchor: date, window: tuple[int, int], effect: dict, loc: slice | int) -> None:
        for offset in range(window[0], window[1] + 1):
            i = (anchor - start).days + offset
            if 0 <= i < n_grid:
                for c, m in effect.items():
                    mult[loc, _CATS.index(c), i] *= m

    for name, kind, anchor_of, window, effect in _EVENT_EFFECTS:
        for y in years:
            anchor = anchor_of(y)
            apply(anchor, window, effect, slice(None))
            if kind == "retail" and start <= anchor <= last:
                rows.append((anchor.isoformat(), name, "retail", ""))
    for d, name in sorted(holidays.US(years=list(years)).items()):
        if start <= d <= last:
            rows.append((d.isoformat(), name, "holiday", ""))

    truth = [
        {"name": n, "kind": k, "window_days": list(w), "multipliers": e, "location": None}
        for n, k, _, w, e in _EVENT_EFFECTS
        if e
    ]
    for li, loc in enumerate(locations):
        town = _TOWNS[li] if li < len(_TOWNS) else f"Town {li + 1}"
        month, day = int(rng.integers(5, 10)), int(rng.integers(1, 29))
        name = f"{town} summer fair"
        for y in years:
            anchor = date(y, month, day)
            apply(anchor, _LOCAL_WINDOW, _LOCAL_EFFECT, li)
            if start <= anchor <= last:
                rows.append((anchor.isoformat(), name, "local", loc))
        truth.append(
            {
                "name": name,
                "kind": "local",
                "window_days": list(_LOCAL_WINDOW),
                "multipliers": _LOCAL_EFFECT,
                "location": loc,
                "month_day": f"{month:02d}-{day:02d}",
            }
        )
    events = pd.DataFrame(rows, columns=["date", "name", "kind", "location"])
    events = events.sort_values(["date", "kind", "location", "name"], kind="stable")
    return mult, events.reset_index(drop=True), truth
