"""CSV exports at full precision: each one read back equals the warehouse rows it came from."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from forecast.ingest.warehouse import Warehouse
from forecast.publish.exports import (
    EXPORTS,
    MONEY_COLUMNS,
    RATE_COLUMNS,
    format_number,
    format_numbers,
)

#: The rows of each export, by these columns (the warehouse scan order is not the file's).
ROW_KEYS = {
    "forecasts": ["sku", "location", "date"],
    "policies": ["sku", "location"],
    "recommendations": ["sku", "location", "order_by"],
    "alerts": ["sku", "location", "kind", "message"],
    "risk": ["sku", "location"],
    "allocations": ["policy", "order_id", "sku", "location"],
    "backorders": ["order_id", "sku", "location"],
    "supplier_scorecard": ["supplier"],
    "flash_sales": ["sku", "location", "start_date"],
}
SCIENTIFIC = re.compile(r"(?<![\w.])[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+(?![\w])")


def _key_text(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for key in keys:
        values = frame[key]
        if pd.api.types.is_datetime64_any_dtype(values) or key.endswith("date") or key == "order_by":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        out[key] = values.astype(str)
    return out


def test_numbers_are_written_without_scientific_notation_and_at_their_precision() -> None:
    assert format_number(11791.44) == "11791.44"  # the 4-digit "%.4g" wrote 1.179e+04
    assert format_number(123456789.125) == "123456789.125"
    assert format_number(36.0) == "36" and format_number(-0.0001, 2) == "0.00"
    assert format_number(0.000012345) == "0.000012345"
    assert format_number(float("nan")) == ""
    frame = pd.DataFrame({"line_value": [11791.444], "fill_rate": [0.987654], "units": [2.0],
                          "sku": ["A"]})
    assert format_numbers(frame).iloc[0].tolist() == ["11791.44", "0.9877", "2", "A"]


def test_every_export_reads_back_as_the_warehouse_values(demo_run) -> None:
    settings, _ = demo_run
    checked = 0
    with Warehouse(settings.warehouse_path) as wh:
        for filename, (table, columns) in EXPORTS.items():
            path = settings.exports_dir / filename
            if not path.exists():
                continue
            text = path.read_text()
            assert not SCIENTIFIC.search(text), (filename, SCIENTIFIC.search(text).group(0))
            stored = wh.output(table).reindex(columns=columns)
            if table == "allocations":
                stored = stored[stored["policy"] == settings.allocation_policy]
            exported = pd.read_csv(path, dtype=str, keep_default_na=False)
            assert list(exported.columns) == columns and len(exported) == len(stored), filename
            if stored.empty:
                continue
            keys = ROW_KEYS[table]
            stored = stored.assign(_k=_key_text(stored, keys).agg("\x1f".join, axis=1))
            exported = exported.assign(_k=_key_text(exported, keys).agg("\x1f".join, axis=1))
            stored = stored.set_index("_k").sort_index()
            exported = exported.set_index("_k").sort_index()
            assert stored.index.is_unique and (stored.index == exported.index).all(), filename
            for column in columns:
                if not pd.api.types.is_float_dtype(stored[column]):
                    continue
                want = stored[column].to_numpy(dtype=float)
                got = pd.to_numeric(exported[column].replace("", np.nan)).to_numpy(dtype=float)
                if column in MONEY_COLUMNS:
                    want = np.round(want, 2)
                elif column in RATE_COLUMNS:
                    want = np.round(want, 4)
                assert np.array_equal(got, want, equal_nan=True), (filename, column)
                checked += int(np.isfinite(want).sum())
    assert checked > 5_000


@pytest.mark.parametrize("filename, columns", [
    ("policies.csv", ["order_quantity", "reorder_point", "max_level"]),
    ("reorder_recommendations.csv", ["order_quantity", "reorder_point", "max_level"]),
])
def test_quantities_of_whole_unit_items_are_whole_numbers(demo_run, filename, columns) -> None:
    settings, _ = demo_run
    exported = pd.read_csv(settings.exports_dir / filename, dtype=str, keep_default_na=False)
    assert len(exported)
    for column in columns:
        values = exported[column][exported[column] != ""]
        assert values.str.fullmatch(r"-?[0-9]+").all(), (column, values[~values.str.fullmatch(r"-?[0-9]+")].head())
