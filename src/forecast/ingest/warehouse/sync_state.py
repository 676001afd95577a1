"""The intraday stock sync's bookkeeping: which movements it counted, which files it read, the
threshold alerts it raised and closed, and one row per sync (``forecast.sync``).

Every write here happens inside the sync's publish transaction
(:meth:`forecast.ingest.warehouse.outputs.WarehouseOutputs.publish_run`), so a sync killed before
its commit leaves all of it as the previous sync left it.
"""

from __future__ import annotations

import json

import pandas as pd

from forecast.ingest.warehouse.connection import WarehouseConnection


class WarehouseSync(WarehouseConnection):
    """Reads and writes of ``applied_movements``, ``sync_files``, ``stock_alerts`` and
    ``stock_syncs``."""

    def new_movement_ids(self) -> pd.DataFrame:
        """movement_id, sku, location of the loaded movements no sync has counted yet."""
        return self.con.execute(
            "SELECT m.movement_id, m.sku, m.location FROM stock_movements m "
            "ANTI JOIN applied_movements a USING (movement_id) ORDER BY m.movement_id"
        ).df()

    def movements(self) -> pd.DataFrame:
        """Every loaded stock movement."""
        return self.con.execute(
            "SELECT * FROM stock_movements ORDER BY sku, location, moved_at, movement_id").df()

    def order_lines(self, status: str | None = None, skus: list[str] | None = None) -> pd.DataFrame:
        """``customer_orders`` rows of one ``status`` and/or of ``skus`` only, in key order (the
        sync reads the open lines and the pre-order products' history, not every line ever)."""
        return self.con.execute(
            "SELECT * FROM customer_orders WHERE (?::VARCHAR IS NULL OR status = ?) "
            "AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], sku)) "
            "ORDER BY order_id, sku, location", [status, status, skus, skus]).df()

    def sync_file_fingerprints(self) -> dict[str, str]:
        """table -> fingerprint of the file a sync last read for it."""
        return dict(self.con.execute("SELECT table_name, fingerprint FROM sync_files").fetchall())

    def open_stock_alerts(self) -> pd.DataFrame:
        return self.con.execute(
            "SELECT * FROM stock_alerts WHERE closed_at IS NULL ORDER BY sku, location, kind").df()

    def stock_alerts(self, sync_id: str | None = None) -> pd.DataFrame:
        """Alerts raised or closed by ``sync_id`` (all when None), newest first."""
        return self.con.execute(
            "SELECT * FROM stock_alerts WHERE ? IS NULL OR opened_by = ? OR closed_by = ? "
            "ORDER BY opened_at DESC, sku, location, kind", [sync_id, sync_id, sync_id]).df()

    def stock_syncs(self, limit: int = 20) -> pd.DataFrame:
        return self.con.execute(
            "SELECT * FROM stock_syncs ORDER BY started_at DESC LIMIT ?", [limit]).df()

    def last_sync(self) -> dict | None:
        frame = self.stock_syncs(1)
        return frame.iloc[0].to_dict() if len(frame) else None

    def sync_base(self, run_id: str) -> str | None:
        """The nightly run a sync applied (None when ``run_id`` is not a sync)."""
        rows = self.con.execute("SELECT base_run FROM stock_syncs WHERE sync_id = ?", [run_id]).fetchall()
        return rows[0][0] if rows else None

    def run_record(self, run_id: str) -> dict:
        """A run's parameters and input fingerprints (parsed) and forecast cache key."""
        rows = self.con.execute(
            "SELECT parameters, input_fingerprints, forecast_key FROM runs WHERE run_id = ?",
            [run_id]).fetchall()
        params, prints, key = rows[0] if rows else (None, None, None)
        return {"parameters": json.loads(params) if params else {},
                "input_fingerprints": json.loads(prints) if prints else {}, "forecast_key": key}

    def set_sync_seconds(self, sync_id: str, seconds: float) -> None:
        self.con.execute("UPDATE stock_syncs SET seconds = ? WHERE sync_id = ?", [seconds, sync_id])

    def record_sync(self, row: dict, applied: pd.DataFrame, files: dict[str, tuple[str, str]],
                    raised: pd.DataFrame, closed: pd.DataFrame) -> None:
        """The sync's row, the movements it counted (movement_id), the files it read (table ->
        (file, fingerprint)), its new alerts and the alerts it closed (alert_id, closed_at,
        closed_by). Runs inside the caller's transaction."""
        self.con.execute(
            "INSERT OR REPLACE INTO stock_syncs BY NAME SELECT * FROM (SELECT "
            + ", ".join(f"?::{_SYNC_TYPES[k]} AS {k}" for k in row) + ")", list(row.values()))
        if len(applied):
            self.con.register("_applied", applied[["movement_id"]].assign(sync_id=row["sync_id"]))
            try:
                self.con.execute("INSERT OR IGNORE INTO applied_movements BY NAME SELECT * FROM _applied")
            finally:
                self.con.unregister("_applied")
        for table, (file, fingerprint) in files.items():
            self.con.execute("INSERT OR REPLACE INTO sync_files VALUES (?, ?, ?, ?)",
                             [table, file, fingerprint, row["sync_id"]])
        if len(raised):
            self.con.register("_raised", raised)
            try:
                self.con.execute("INSERT OR REPLACE INTO stock_alerts BY NAME SELECT * FROM _raised")
            finally:
                self.con.unregister("_raised")
        if len(closed):
            self.con.register("_closed", closed[["alert_id", "closed_at", "closed_by"]])
            try:
                self.con.execute(
                    "UPDATE stock_alerts SET closed_at = c.closed_at, closed_by = c.closed_by "
                    "FROM _closed c WHERE stock_alerts.alert_id = c.alert_id")
            finally:
                self.con.unregister("_closed")


_SYNC_TYPES = {
    "sync_id": "VARCHAR", "base_run": "VARCHAR", "started_at": "TIMESTAMP",
    "finished_at": "TIMESTAMP", "synced_to": "TIMESTAMP", "movements_new": "BIGINT",
    "movements_rejected": "BIGINT", "series_changed": "BIGINT", "alerts_raised": "BIGINT",
    "alerts_closed": "BIGINT", "lines_released": "BIGINT", "customers_told": "BIGINT",
    "recommendations_changed": "BIGINT", "seconds": "DOUBLE",
}
