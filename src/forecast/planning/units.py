"""Whole units: order quantities, reorder points and max levels of items sold in whole units.

Most items are counted in pieces: a buyer cannot order 36.23 of them and a reorder point of
3.036 means nothing on a shelf. Every product is sold in whole units unless its ``products``
row says ``fractional`` = yes (sold by the kg, the metre ...), which keeps the decimals.

Why rounding up is the right way. With whole-unit demand and stock, the inventory position is
a whole number, so an (s,Q) policy with a real reorder point s orders exactly when the position
is at or below floor(s): any s in [k, k + 1) is the same policy. The fill rate grows with s, so
the smallest whole reorder point that delivers at least the fill rate of the real solution s* is
ceil(s*) (Zipkin 2000, Ch. 6: (r,q) policies with discrete demand take integer r). Order
quantities are rounded up before the MOQ and the pack size apply, so Q stays at least what the
order-quantity rule asked for; max = s + Q is then whole as well.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Below this a value counts as whole already (floating-point residue of a sum).
_TOLERANCE = 1e-9


def sold_in_whole_units(frame: pd.DataFrame) -> np.ndarray:
    """Per row: True unless its ``fractional`` flag (the products column) is set.

    >>> sold_in_whole_units(pd.DataFrame({"fractional": [True, None, False]})).tolist()
    [False, True, True]
    """
    if "fractional" not in frame:
        return np.ones(len(frame), dtype=bool)
    flags = frame["fractional"].astype(object).where(frame["fractional"].notna(), False)
    return ~flags.astype(bool).to_numpy()


def round_up_whole(values: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """ceil(x) where ``whole`` (x within 1e-9 of an integer stays that integer), x elsewhere.

    >>> round_up_whole(np.array([36.23, 3.0000000001, 2.5]), np.array([True, True, False])).tolist()
    [37.0, 3.0, 2.5]
    """
    values = np.asarray(values, dtype=float)
    return np.where(whole, np.ceil(values - _TOLERANCE), values)
