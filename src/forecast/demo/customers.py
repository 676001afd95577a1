"""The ``customers`` table: `_N_CUSTOMERS` customers in four segments with a lifetime value,
and how to reach them: a language for two customers in three (French or English, the others
take the default), an e-mail for four in five, a phone for one in two (some have neither;
example.com addresses and the numbers set aside for fiction: +44 7700 900xxx, +33 6 39 98).
The contact columns follow the customer number, not the random stream, so the other tables
stay as they were."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.demo.common import _N_CUSTOMERS

_SEGMENTS = ("vip", "loyal", "regular", "new")


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    seg = rng.choice(len(_SEGMENTS), size=_N_CUSTOMERS, p=[0.05, 0.2, 0.5, 0.25])
    scale = np.array([4000.0, 1200.0, 300.0, 40.0])[seg]
    spread = np.array([0.4, 0.5, 0.6, 0.7])[seg]
    number = np.arange(1, _N_CUSTOMERS + 1)
    ids = [f"C{i:05d}" for i in number]
    language = np.select([number % 3 == 1, number % 3 == 2], ["fr", "en"], default="")
    french = language == "fr"
    email = np.where(number % 5 != 0, [f"{i.lower()}@example.com" for i in ids], "")
    phone = np.where(number % 2 == 0, np.where(
        french, [f"+33 6 39 98 {i // 100 % 100:02d} {i % 100:02d}" for i in number],
        [f"+44 7700 9{i % 100000:05d}" for i in number]), "")
    return pd.DataFrame(
        {
            "customer_id": ids,
            "segment": np.array(_SEGMENTS)[seg],
            "lifetime_value": np.round(scale * np.exp(rng.normal(0.0, spread)), 2),
            "language": language,
            "email": email,
            "phone": phone,
        }
    )
