"""The ``suppliers`` table and how each supplier really delivers (the receipts' truth).

`_SUPPLIERS` is what the master data says (quoted lead time and its sd, order cost);
`_RELIABILITY` is how the supplier actually performs against that quote. One SKU moves to
the new supplier `_NEW_SUPPLIER` `_SWITCH_DAYS` days before the end, so it has few receipts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# supplier, name, lead_time_days, lead_time_sd_days, order_cost (what the master data says)
_SUPPLIERS = (
    ("SUP01", "Northwind Beverages", 5, 1.0, 40.0),
    ("SUP02", "Crunch Foods Co", 7, 1.5, 35.0),
    ("SUP03", "CleanHome Distribution", 14, 3.0, 60.0),
    ("SUP04", "Polar Frozen Logistics", 3, 0.5, 80.0),
    ("SUP05", "PawPlanet Wholesale", 10, 2.0, 50.0),
    ("SUP06", "Global Import Partners", 30, 6.0, 150.0),
    ("SUP07", "Harbor Sourcing Ltd", 8, 1.5, 45.0),  # onboarded late in the history: few receipts
)
_SUPPLIER_INDEX = {row[0]: i for i, row in enumerate(_SUPPLIERS)}
_NEW_SUPPLIER = "SUP07"
_SWITCH_DAYS = 35  # one SKU moves to the new supplier this many days before the end


@dataclass(frozen=True)
class _Reliability:
    """How a supplier really delivers against the lead time it quoted (the receipts' truth).

    actual lead time = rint(quoted + bias + sd * Z + B * E), at least 1 day, with
    Z ~ N(0, 1), B ~ Bernoulli(late_probability), E ~ Exponential(mean late_mean_days):
    a normal spread around the quote plus, now and then, a long late tail.
    """

    bias_days: float
    sd_days: float
    late_probability: float
    late_mean_days: float

    def mean_delay(self) -> float:
        """E[actual - quoted] = bias + p * m (rounding to whole days is unbiased)."""
        return self.bias_days + self.late_probability * self.late_mean_days

    def on_time_probability(self) -> float:
        """P(received on or before the expected date) = P(bias + sd Z + B E < 0.5).

        = (1 - p) Phi(x / sd) + p F(x),  x = 0.5 - bias, with F the exponentially modified
        normal CDF  F(x) = Phi(x / sd) - exp(-x / m + sd^2 / (2 m^2)) Phi(x / sd - sd / m)
        (Grushka 1972, "Characterization of exponentially modified Gaussian peaks").
        """
        x, sd, m, p = 0.5 - self.bias_days, self.sd_days, self.late_mean_days, self.late_probability
        emg = _phi(x / sd) - math.exp(-x / m + sd**2 / (2 * m**2)) * _phi(x / sd - sd / m)
        return (1 - p) * _phi(x / sd) + p * emg


def _phi(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# SUP01 and SUP04 deliver reliably on time; SUP06 (the importer) is often late with a long tail.
_RELIABILITY = {
    "SUP01": _Reliability(bias_days=-1.0, sd_days=0.7, late_probability=0.03, late_mean_days=2.0),
    "SUP02": _Reliability(bias_days=0.0, sd_days=1.0, late_probability=0.08, late_mean_days=3.0),
    "SUP03": _Reliability(bias_days=0.0, sd_days=2.0, late_probability=0.12, late_mean_days=5.0),
    "SUP04": _Reliability(bias_days=-0.5, sd_days=0.5, late_probability=0.05, late_mean_days=1.5),
    "SUP05": _Reliability(bias_days=0.0, sd_days=1.5, late_probability=0.10, late_mean_days=4.0),
    "SUP06": _Reliability(bias_days=1.0, sd_days=3.0, late_probability=0.35, late_mean_days=12.0),
    "SUP07": _Reliability(bias_days=0.0, sd_days=1.5, late_probability=0.15, late_mean_days=4.0),
}


def _reliability_arrays(supplier: np.ndarray) -> tuple[np.ndarray, ...]:
    """bias, sd, late probability, late mean per element of a supplier-index array."""
    table = np.array(
        [
            [r.bias_days, r.sd_days, r.late_probability, r.late_mean_days]
            for r in (_RELIABILITY[row[0]] for row in _SUPPLIERS)
        ]
    )
    return tuple(table[supplier, k] for k in range(4))


def _suppliers_table() -> pd.DataFrame:
    """The ``suppliers`` table: the master data of every supplier."""
    return pd.DataFrame(
        _SUPPLIERS,
        columns=["supplier", "name", "lead_time_days", "lead_time_sd_days", "order_cost"],
    )


def _supplier_truth(receipts: pd.DataFrame) -> dict:
    """Per supplier: the reliability parameters, what they imply, and the receipts behind them."""
    counts = receipts["supplier"].value_counts()
    on_time = (
        (receipts["received_date"] <= receipts["expected_date"])
        .groupby(receipts["supplier"])
        .mean()
    )
    out = {}
    for sup, rel in _RELIABILITY.items():
        out[sup] = {
            "quoted_lead_time_days": _SUPPLIERS[_SUPPLIER_INDEX[sup]][2],
            "bias_days": rel.bias_days,
            "sd_days": rel.sd_days,
            "late_probability": rel.late_probability,
            "late_mean_days": rel.late_mean_days,
            "formula": "actual = max(1, rint(quoted + bias + sd * Z + B * E)), "
            "B ~ Bernoulli(late_probability), E ~ Exponential(mean late_mean_days)",
            "mean_delay_days": round(rel.mean_delay(), 4),
            "on_time_probability": round(rel.on_time_probability(), 4),
            "receipts": int(counts.get(sup, 0)),
            "observed_on_time_rate": round(float(on_time[sup]), 4) if sup in on_time else None,
        }
    return out
