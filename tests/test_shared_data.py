"""The real data folders in ../shared/data load as they are (skipped when absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.config import RunSettings
from forecast.ingest.warehouse import Warehouse
from forecast.pipeline import forecast_step, ingest
from tests.conftest import FAST_MODELS, shared_folder

CASES = [
    ("m5_dev", "2016-03-27", 28, 112, "D"),
    ("dominicks_oj", None, 12, 913, "W-THU"),
    ("carparts", None, 12, 2509, "MS"),
]


@pytest.mark.shared
@pytest.mark.parametrize(("name", "as_of", "horizon", "series", "freq"), CASES)
def test_shared_folder_loads_and_forecasts(name, as_of, horizon, series, freq, tmp_path) -> None:
    folder = shared_folder(name)
    settings = RunSettings(data_dir=folder, out_dir=tmp_path, as_of=as_of, horizon=horizon,
                           models=FAST_MODELS)
    summary = ingest(settings, "r")
    assert sum(summary.rejected.values()) == 0
    result = forecast_step(settings, "r")
    assert result["frequency"] == freq and result["series"] == series
    with Warehouse(settings.warehouse_path) as wh:
        fc = wh.output("forecasts", "r")
    assert len(fc) == series * horizon
    assert fc.groupby(["sku", "location"]).size().eq(horizon).all()
    assert fc["mean"].notna().all() and (fc["mean"] >= 0).all()
    if as_of:
        assert fc["date"].min() == pd.Timestamp(as_of) + pd.Timedelta(days=1)
