"""ABC classes by annual value and XYZ classes by demand variability.

Source: SPT Ch. 2 (ABC classification); XYZ is its practitioner companion.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from forecast.planning.inventory._common import StrOut, _check_nonnegative, _out


def _check_thresholds(thresholds: tuple[float, float], name: str) -> tuple[float, float]:
    first, second = (float(t) for t in thresholds)
    if not 0 < first < second:
        raise ValueError(f"{name} must satisfy 0 < first < second; got {thresholds!r}")
    return first, second


def abc_classes(
    annual_value: ArrayLike, thresholds: tuple[float, float] = (0.8, 0.95)
) -> NDArray[np.str_]:
    """ABC (Pareto) classes by cumulative share of annual value (usage x unit cost).

    SKUs are ranked by value, descending (stable for ties). An SKU is "A" while the share of
    value ranked above it is below thresholds[0], "B" below thresholds[1], else "C"; so the SKU
    that crosses 80% is still "A" and one dominant SKU is always "A". Zero or NaN value -> "C".
    Returns an array of "A"/"B"/"C" in the input order. Source: SPT Ch. 2 (ABC classification).

    >>> abc_classes([5, 50, 0, 30, 10, 3, 2]).tolist()
    ['B', 'A', 'C', 'A', 'B', 'C', 'C']
    """
    first, second = _check_thresholds(thresholds, "thresholds")
    value = np.asarray(annual_value, dtype=float)
    if value.ndim != 1:
        raise ValueError(f"annual_value must be one-dimensional; got shape {value.shape}")
    value = np.nan_to_num(_check_nonnegative(value, "annual_value"), nan=0.0)
    classes = np.full(value.shape, "C", dtype="<U1")
    total = value.sum()
    if total <= 0:
        return classes
    order = np.argsort(-value, kind="stable")
    ranked = value[order]
    share_above = (np.cumsum(ranked) - ranked) / total
    ranked_classes = np.where(share_above < first, "A", np.where(share_above < second, "B", "C"))
    ranked_classes = np.where(ranked > 0, ranked_classes, "C")
    classes[order] = ranked_classes
    return classes


def xyz_classes(cv: ArrayLike, thresholds: tuple[float, float] = (0.5, 1.0)) -> StrOut:
    """XYZ classes by coefficient of variation of demand (sd / mean).

    cv <= thresholds[0] -> "X" (steady), cv <= thresholds[1] -> "Y", else "Z" (erratic); NaN
    (e.g. no demand history) -> "Z". XYZ is a practitioner companion to ABC (SPT Ch. 2) rather
    than a textbook formula; 0.5 / 1.0 are common default thresholds.

    >>> xyz_classes([0.2, 0.5, 0.8, 1.5, np.nan]).tolist()
    ['X', 'X', 'Y', 'Z', 'Z']
    """
    first, second = _check_thresholds(thresholds, "thresholds")
    cv = _check_nonnegative(cv, "cv")
    classes = np.where(cv <= first, "X", np.where(cv <= second, "Y", "Z"))
    return _out(classes.astype("<U1"))
