"""The ``customers`` table: `_N_CUSTOMERS` customers in four segments with a lifetime value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.demo.common import _N_CUSTOMERS

_SEGMENTS = ("vip", "loyal", "regular", "new")


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    seg = rng.choice(len(_SEGMENTS), size=_N_CUSTOMERS, p=[0.05, 0.2, 0.5, 0.25])
    scale = np.array([4000.0, 1200.0, 300.0, 40.0])[seg]
    spread = np.array([0.4, 0.5, 0.6, 0.7])[seg]
    return pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:05d}" for i in range(_N_CUSTOMERS)],
            "segment": np.array(_SEGMENTS)[seg],
            "lifetime_value": np.round(scale * np.exp(rng.normal(0.0, spread)), 2),
        }
    )
