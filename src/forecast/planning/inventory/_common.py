"""What every inventory formula shares: the scalar-or-array result, argument checks and a
safeguarded Newton root finder.

A scalar-only call returns a plain Python ``float``/``int``/``str`` (:func:`_out`); every check
names the argument and the first offending value (and its index) in its message.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatOut = float | NDArray[np.float64]
IntOut = int | NDArray[np.int64]
StrOut = str | NDArray[np.str_]


def _out(x: ArrayLike) -> float | int | str | np.ndarray:
    """A 0-d result becomes a Python scalar; arrays are returned as they are."""
    arr = np.asarray(x)
    return arr.item() if arr.ndim == 0 else arr


def _first_offender(arr: np.ndarray, bad: np.ndarray) -> str:
    if arr.ndim == 0:
        return repr(arr.item())
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = index[0] if len(index) == 1 else index
    return f"{arr[index].item()!r} at index {where}"


def _check_service_level(value: ArrayLike, name: str) -> np.ndarray:
    """Service levels are fractions strictly inside (0, 1); NaN is rejected too."""
    arr = np.asarray(value, dtype=float)
    bad = ~((arr > 0.0) & (arr < 1.0))
    if bad.any():
        hint = " (service levels are fractions: 95% is 0.95)" if np.any(arr > 1) else ""
        raise ValueError(
            f"{name} must be strictly between 0 and 1; got {_first_offender(arr, bad)}{hint}"
        )
    return arr


def _check_nonnegative(value: ArrayLike, name: str) -> np.ndarray:
    """NaN passes (it propagates to a NaN result); negative numbers are rejected."""
    arr = np.asarray(value, dtype=float)
    bad = arr < 0
    if bad.any():
        raise ValueError(f"{name} must be >= 0; got {_first_offender(arr, bad)}")
    return arr


def _check_positive(value: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    bad = ~(arr > 0)
    if bad.any():
        raise ValueError(f"{name} must be > 0; got {_first_offender(arr, bad)}")
    return arr


def _check_integer(value: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    bad = ~(np.isfinite(arr) & (arr == np.round(arr)))
    if bad.any():
        raise ValueError(f"{name} must be integer-valued; got {_first_offender(arr, bad)}")
    return arr.astype(np.int64)


def _newton_decreasing(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    lo: np.ndarray,
    hi: np.ndarray,
    x0: np.ndarray,
    *,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> np.ndarray:
    """Elementwise root of a decreasing function with fun(lo) >= 0 >= fun(hi).

    Newton steps, kept inside the shrinking bracket by falling back to bisection, so it
    converges for every element and in a handful of iterations for smooth functions.
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    for _ in range(max_iter):
        f, fprime = fun(x)
        positive = f > 0
        lo = np.where(positive, x, lo)
        hi = np.where(positive, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_new = np.where(f == 0, x, x - f / fprime)
        outside = ~((x_new >= lo) & (x_new <= hi))
        x_new = np.where(outside, 0.5 * (lo + hi), x_new)
        scale = np.maximum(1.0, np.abs(x_new))
        done = (np.abs(x_new - x) <= tol * scale) | (hi - lo <= tol * scale) | np.isnan(x_new)
        x = x_new
        if done.all():
            return x
    raise RuntimeError("root finding did not converge")  # pragma: no cover - defensive


def _costs(holding_cost: ArrayLike, stockout_cost: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return _check_positive(holding_cost, "holding_cost"), _check_positive(
        stockout_cost, "stockout_cost"
    )
