"""The one reader of the published snapshot: what the report, the notebooks and the read commands see.

The nightly run publishes one Parquet file per table (:meth:`Warehouse.publish_snapshot`). Readers
open it here, never the warehouse file, so they neither block nor wait for a running pipeline.
Table names are checked against :data:`SNAPSHOT_TABLES` or come from the snapshot's own files;
every data value is a bound parameter.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from forecast.ingest.warehouse import SNAPSHOT_TABLES, _ident, _sql_path

__all__ = ["SNAPSHOT_TABLES", "open_snapshot", "read_snapshot"]


def open_snapshot(snapshot_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per table of a published snapshot.

    Never touches the warehouse file, so it neither blocks nor waits for a running pipeline.
    """
    snapshot_dir = Path(snapshot_dir)
    if not snapshot_dir.is_dir():
        raise FileNotFoundError(
            f"{snapshot_dir}: no snapshot yet; run `forecast demo` or `forecast run` first"
        )
    con = duckdb.connect()
    for file in sorted(snapshot_dir.glob("*.parquet")):
        con.execute(
            f"CREATE VIEW {_ident(file.stem)} AS SELECT * FROM read_parquet('{_sql_path(file)}')"
        )
    return con


def read_snapshot(
    snapshot_dir: str | Path, names: tuple[str, ...], skus: list[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Tables of a published snapshot, optionally only the rows of ``skus`` (tables with a sku
    column); tables missing from the snapshot come back empty."""
    con = open_snapshot(snapshot_dir)
    try:
        present = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        frames = {}
        for name in names:
            if name not in present:
                frames[name] = pd.DataFrame()
                continue
            cols = {r[0] for r in con.execute(f"DESCRIBE {_ident(name)}").fetchall()}
            if skus is not None and "sku" in cols:
                frames[name] = con.execute(
                    f"SELECT * FROM {_ident(name)} WHERE list_contains(?, sku)", [list(skus)]
                ).df()
            else:
                frames[name] = con.execute(f"SELECT * FROM {_ident(name)}").df()
        return frames
    finally:
        con.close()
