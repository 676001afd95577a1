"""Fitted-model artifacts: what the engine chose and why, so a forecast can be traced and reused.

Each forecast run writes ``MODELS_DIR/<run_id>/``:

- ``metadata.json``: run id, creation time, engine configuration, frequency, horizon, end of
  history, series count, fingerprints of the input files, the inner-backtest score of every
  candidate (mean over series), the interval calibration, the estimated campaign uplift and the
  library versions;
- ``weights.parquet``: per series (sku, location), the weight of every candidate model (an
  intermittent series' forecast is the per-period median of its models with weight);
- ``scores.parquet``: per series, every candidate's inner-backtest error (scaled squared error;
  for intermittent series the MASE of block sums, ``EngineConfig.intermittent_score``).

``load_weights`` reads a run's weights back so a later run can reuse a model choice.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from forecast.forecasting.engine import EngineConfig, EngineResult
from forecast.forecasting.series import Panel

LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "prophet", "duckdb", "prefect")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_model_artifacts(
    folder: Path,
    run_id: str,
    result: EngineResult,
    panel: Panel,
    cfg: EngineConfig,
    horizon: int,
    fingerprints: dict[str, str] | None = None,
) -> Path:
    target = Path(folder) / run_id
    target.mkdir(parents=True, exist_ok=True)
    keys = panel.keys.reset_index(drop=True)
    pd.concat([keys, result.weights.reset_index(drop=True)], axis=1).to_parquet(target / "weights.parquet")
    pd.concat([keys, result.backtest_scores.reset_index(drop=True)], axis=1).to_parquet(
        target / "scores.parquet"
    )
    meta = {
        "run_id": run_id,
        "created": datetime.now().isoformat(timespec="seconds"),
        "engine_config": dataclasses.asdict(cfg),
        "frequency": panel.freq.pandas_freq,
        "horizon": horizon,
        "history_end": str(panel.dates[-1].date()),
        "series": panel.n_series,
        "input_fingerprints": fingerprints or {},
        "inner_backtest_mean_score": {
            k: (None if pd.isna(v) else float(v)) for k, v in result.backtest_scores.mean().items()
        },
        "mean_weight": {k: float(v) for k, v in result.weights.mean().items()},
        "calibration": result.calibration,
        "campaign_uplift": result.uplift.to_dict(orient="records"),
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "libraries": library_versions(),
    }
    (target / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    return target


def load_weights(folder: Path, run_id: str) -> pd.DataFrame:
    """Per-series model weights of an earlier run (columns sku, location, <models>)."""
    return pd.read_parquet(Path(folder) / run_id / "weights.parquet")
