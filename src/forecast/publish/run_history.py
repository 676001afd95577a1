"""The run history for people: one summary row per run (status, duration, rows loaded and
rejected, warnings) and a run's details (step timings, rows per table, input fingerprints,
warnings, the settings it ran with), from the ``runs`` table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from forecast.publish.tables import cell

SUMMARY_COLUMNS = ["run_id", "status", "started_at", "seconds", "as_of", "rows_loaded",
                   "rows_rejected", "warnings", "error"]


def _parsed(value: object) -> object:
    """A JSON column's value as Python (DuckDB returns JSON as text)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return {}
    if isinstance(value, str):
        return json.loads(value) if value else {}
    return value


def runs_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run, newest first: total seconds, rows loaded and rejected over all tables,
    the number of warnings and the error (if any)."""
    if runs.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    runs = runs.sort_values("started_at", ascending=False)
    rows = []
    for r in runs.itertuples(index=False):
        seconds = _parsed(r.step_seconds)
        rows.append({
            "run_id": r.run_id, "status": r.status, "started_at": r.started_at,
            "seconds": sum(seconds.values()) if seconds else None, "as_of": r.as_of,
            "rows_loaded": sum(_parsed(r.rows_loaded).values()) if _parsed(r.rows_loaded) else None,
            "rows_rejected": sum(_parsed(r.rows_rejected).values()) if _parsed(r.rows_rejected) else None,
            "warnings": len(_parsed(r.warnings) or []), "error": r.error,
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def run_details(runs: pd.DataFrame, run_id: str) -> dict[str, pd.DataFrame]:
    """A run's details as tables: ``run`` (status, dates, data folder, settings file),
    ``steps`` (seconds per step), ``tables`` (rows loaded and rejected), ``inputs`` (file and
    SHA-256), ``warnings`` and ``settings`` (every setting the run used). KeyError if unknown."""
    match = runs[runs["run_id"].astype(str).str.startswith(run_id)]
    if match.empty:
        raise KeyError(run_id)
    r = match.sort_values("started_at").iloc[-1]
    settings = _parsed(r["parameters"]) or {}
    facts = [("run_id", r["run_id"]), ("status", r["status"]),
             ("started_at", cell(r["started_at"], "datetime")),
             ("finished_at", cell(r["finished_at"], "datetime")), ("as_of", cell(r["as_of"], "date")),
             ("frequency", r["frequency"]),
             ("data_dir", r["data_dir"]), ("settings file", settings.get("config_file")),
             ("error", r["error"])]
    loaded, rejected = _parsed(r["rows_loaded"]), _parsed(r["rows_rejected"])
    seconds = _parsed(r["step_seconds"])
    return {
        "run": pd.DataFrame(facts, columns=["field", "value"]).astype({"value": object}),
        "steps": pd.DataFrame({"step": list(seconds), "seconds": list(seconds.values())}),
        "tables": pd.DataFrame({"table": list(loaded), "loaded": list(loaded.values()),
                                "rejected": [rejected.get(t, 0) for t in loaded]}),
        "inputs": pd.DataFrame(
            [{"file": Path(f).name, "sha256": h} for f, h in _parsed(r["input_fingerprints"]).items()],
            columns=["file", "sha256"]),
        "warnings": pd.DataFrame({"warning": list(_parsed(r["warnings"]) or [])}),
        "settings": pd.DataFrame(
            [{"key": k, "value": json.dumps(v) if isinstance(v, dict | list) else v}
             for k, v in settings.items()], columns=["key", "value"]).astype({"value": object}),
    }
