"""Run bench/peers.py in the peers venv (``make peers``) on a panel's history and read back the
forecasts as (n_series, h) arrays in the panel's row order. Used by accuracy.py and scale.py."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
STATS_PEERS = ("AutoETS", "ADIDA", "IMAPA", "TSB", "CrostonSBA", "HistoricAverage")


def available() -> bool:
    return PEERS_PYTHON.exists()


def _long(y: np.ndarray, dates: pd.DatetimeIndex, price: np.ndarray | None) -> pd.DataFrame:
    """Observed periods of ``y`` as ``unique_id, ds, y`` (unique_id = row number)."""
    rows, cols = np.nonzero(~np.isnan(y))
    frame = pd.DataFrame({"unique_id": rows.astype(str), "ds": dates[cols], "y": y[rows, cols]})
    if price is not None:
        frame["price"] = _filled(price)[rows, cols]
    return frame


def _filled(price: np.ndarray) -> np.ndarray:
    """Prices carried forward then backward along time (the peers need one every period)."""
    frame = pd.DataFrame(price.T)
    return frame.ffill().bfill().fillna(0.0).to_numpy().T


def forecasts(
    y_train: np.ndarray,
    dates: pd.DatetimeIndex,
    horizon: int,
    pandas_freq: str,
    season_length: int,
    models: tuple[str, ...],
    price: np.ndarray | None = None,
    jobs: int = 1,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, float]]]:
    """Each peer's mean forecast (n, horizon) and its wall/CPU seconds.

    ``price`` (n, T + horizon) feeds the LightGBM model (history and future). Series with no
    observation at all are not passed to the peers and forecast 0."""
    if not available():
        raise RuntimeError(f"{PEERS_PYTHON} not found: run `make peers` first")
    n, t = y_train.shape
    future_dates = pd.date_range(dates[t - 1], periods=horizon + 1, freq=pandas_freq)[1:]
    all_dates = dates[:t].append(future_dates)
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        folder = Path(tmp)
        train = _long(y_train, dates[:t], None if price is None else price[:, :t])
        train.to_csv(folder / "train.csv", index=False)
        cmd = [str(PEERS_PYTHON), str(ROOT / "bench" / "peers.py"), "--train", str(folder / "train.csv"),
               "--horizon", str(horizon), "--freq", pandas_freq, "--season-length", str(season_length),
               "--models", ",".join(models), "--jobs", str(jobs), "--out", str(folder / "out.csv")]
        if price is not None:
            filled = _filled(price)
            present = np.unique(train["unique_id"].astype(int))
            rows = np.repeat(present, horizon)
            cols = np.tile(np.arange(t, t + horizon), len(present))
            future = pd.DataFrame({"unique_id": rows.astype(str), "ds": all_dates[cols],
                                   "price": filled[rows, cols]})
            future.to_csv(folder / "future.csv", index=False)
            cmd += ["--future", str(folder / "future.csv")]
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        out = pd.read_csv(folder / "out.csv", parse_dates=["ds"])
        seconds = json.loads((folder / "out.csv.json").read_text())
    out = out.sort_values(["unique_id", "ds"], key=lambda c: c.astype(int) if c.name == "unique_id" else c)
    row = out["unique_id"].astype(int).to_numpy()
    # step k of each series' forecast: a series whose last periods were not observed is
    # forecast from its last observation by the peers, its k-th value is read as period T + k
    col = out.groupby("unique_id").cumcount().to_numpy()
    if (col >= horizon).any():
        raise RuntimeError("peers returned more periods than the horizon")
    result = {}
    for name in models:
        mean = np.zeros((n, horizon))
        mean[row, col] = out[name].to_numpy(dtype=float)
        result[name] = np.nan_to_num(mean)
    return result, seconds
