"""Output tables and run bookkeeping: staging, publishing and reading a run's results.

A run stages its outputs under its own ``run_id`` (:meth:`WarehouseOutputs.replace_outputs`, or
:meth:`WarehouseOutputs.copy_outputs` for a cached step); :meth:`WarehouseOutputs.publish` moves
the pointer readers follow and prunes old runs; :meth:`WarehouseOutputs.output` reads a table for
a run. Also here: the ``runs`` history (start, finish, forecast cache keys), the Parquet snapshot
(:meth:`WarehouseOutputs.publish_snapshot`, swapped in whole), and the append-only customer
notifications, customer messages and ETA history.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd

from forecast.ingest.warehouse.connection import (
    OUTPUT_TABLES,
    PLAN_TABLES,
    SNAPSHOT_TABLES,
    WarehouseConnection,
    _ident,
    _sql_path,
)

_RUN_ID = re.compile(r"[0-9A-Za-z_.:-]+")
#: Beside a snapshot's files: the input tables' versions it was written at.
VERSIONS_FILE = "table_versions.json"


def _read_versions(snapshot: Path | None) -> dict[str, int]:
    if snapshot is None:
        return {}
    try:
        return json.loads((Path(snapshot) / VERSIONS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _link(source: Path, target: Path) -> bool:
    """Hard-link ``source`` to ``target`` (False when it cannot: then the file is written)."""
    try:
        target.unlink(missing_ok=True)
        os.link(source.resolve(), target)
        return True
    except OSError:
        return False


class WarehouseOutputs(WarehouseConnection):
    """Output tables of a run, the published pointer, the run history and the snapshot."""

    # -- writes ---------------------------------------------------------------------------
    def replace_outputs(self, frames: dict[str, pd.DataFrame], run_id: str) -> None:
        """Stage output tables under ``run_id`` in one transaction (replacing that run's rows).

        Readers keep seeing the published run until :meth:`publish` moves the pointer. Columns
        of a frame that the table does not have are left out."""
        for name in frames:
            if name not in OUTPUT_TABLES:
                raise KeyError(f"{name!r} is not an output table")
        try:
            self.con.execute("BEGIN TRANSACTION")
            for name, frame in frames.items():
                staged = frame.assign(run_id=run_id)
                table_cols = [r[0] for r in self.con.execute(f"DESCRIBE {name}").fetchall()]
                cols = ", ".join(_ident(c) for c in table_cols if c in staged.columns)
                self.con.register("_staged", staged)
                self.con.execute(f"DELETE FROM {name} WHERE run_id = ?", [run_id])
                self.con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _staged")
                self.con.unregister("_staged")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def copy_outputs(self, names: tuple[str, ...], from_run: str, to_run: str) -> None:
        """Stage another run's rows of ``names`` under ``to_run`` (a cached step)."""
        try:
            self.con.execute("BEGIN TRANSACTION")
            for name in names:
                if name not in OUTPUT_TABLES:
                    raise KeyError(f"{name!r} is not an output table")
                self.con.execute(f"DELETE FROM {name} WHERE run_id = ?", [to_run])
                self.con.execute(
                    f"INSERT INTO {name} SELECT * REPLACE (?::VARCHAR AS run_id) FROM {name} "
                    "WHERE run_id = ?",
                    [to_run, from_run],
                )
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def publish(self, run_id: str, keep: int = 3) -> list[str]:
        """Make ``run_id`` the run readers see, in one transaction, and drop the rows of runs
        older than the last ``keep`` published ones (staged rows of unpublished runs too).
        Returns the runs kept."""
        with self.transaction():
            return self._move_pointer(run_id, keep)

    def publish_run(
        self, run_id: str, snapshot_dir: Path, *, notices: pd.DataFrame, etas: pd.DataFrame,
        keep: int = 3, before_commit: Callable[[], None] | None = None,
        messages: tuple[pd.DataFrame, pd.DataFrame] | None = None,
        before_snapshot: Callable[[], None] | None = None, reuse_snapshot: Path | None = None,
    ) -> list[str]:
        """Publish a run in one transaction: the pointer moves, old runs are pruned, the run's
        customer notices and ETAs are appended, the snapshot of exactly that state is written
        to ``snapshot_dir`` (from inside the transaction; ``before_snapshot`` writes first what
        else the snapshot must show), and ``before_commit`` runs last (the pipeline completes
        its staged files there). A kill before the commit changes nothing readers see.
        ``reuse_snapshot``: the current snapshot, whose unchanged input tables are linked, not
        written again. Returns the runs kept."""
        with self.transaction():
            kept = self._move_pointer(run_id, keep)
            self._append_notifications(notices)
            self._append_eta_history(etas)
            if messages is not None:  # the customer messages sent (and their lines)
                self._append_customer_messages(*messages)
            if before_snapshot is not None:
                before_snapshot()
            self._write_snapshot(Path(snapshot_dir), reuse=reuse_snapshot)
            if before_commit is not None:
                before_commit()
        return kept

    def _move_pointer(self, run_id: str, keep: int) -> list[str]:
        self.con.execute("INSERT INTO published VALUES (?, ?)", [run_id, datetime.now()])
        keep_ids = [
            r[0] for r in self.con.execute(
                "SELECT run_id FROM published GROUP BY run_id ORDER BY max(published_at) DESC "
                "LIMIT ?", [keep],
            ).fetchall()
        ]
        for name in PLAN_TABLES:
            self.con.execute(f"DELETE FROM {name} WHERE NOT list_contains(?, run_id)", [keep_ids])
        self.con.execute("DELETE FROM published WHERE NOT list_contains(?, run_id)", [keep_ids])
        return keep_ids

    def kept_runs(self) -> list[str]:
        """The published runs whose rows are kept, newest first."""
        return [r[0] for r in self.con.execute(
            "SELECT run_id FROM published GROUP BY run_id ORDER BY max(published_at) DESC"
        ).fetchall()]

    def run_rows(self, name: str, run_id: str) -> pd.DataFrame:
        """Exactly ``run_id``'s rows of an output table (none when it has none)."""
        if name not in OUTPUT_TABLES:
            raise KeyError(f"{name!r} is not an output table")
        return self.con.execute(
            f"SELECT * EXCLUDE (run_id) FROM {name} WHERE run_id = ?", [run_id]
        ).df().assign(run_id=run_id)

    def drop_other_runs(self, names: tuple[str, ...], run_id: str) -> None:
        """Keep only ``run_id``'s rows in ``names`` (backtest tables hold the latest backtest)."""
        for name in names:
            if name not in OUTPUT_TABLES:
                raise KeyError(f"{name!r} is not an output table")
            self.con.execute(f"DELETE FROM {name} WHERE run_id <> ?", [run_id])

    def previous_published_run(self, run_id: str) -> str | None:
        """The run published before ``run_id`` (whose rows are still kept), if any."""
        rows = self.con.execute(
            "SELECT run_id FROM published WHERE published_at < "
            "(SELECT coalesce(max(published_at), now()::TIMESTAMP) FROM published WHERE run_id = ?) "
            "AND run_id <> ? ORDER BY published_at DESC LIMIT 1",
            [run_id, run_id],
        ).fetchall()
        return rows[0][0] if rows else None

    def published_run(self) -> str | None:
        rows = self.con.execute(
            "SELECT run_id FROM published ORDER BY published_at DESC LIMIT 1"
        ).fetchall()
        return rows[0][0] if rows else None

    def output(self, name: str, run_id: str | None = None) -> pd.DataFrame:
        """Rows of an output table for ``run_id``; by default the published run's.

        A run that has no rows of its own in the table (a step run alone) reads the published
        run's, and failing that the most recent run that has rows."""
        if name not in OUTPUT_TABLES:
            raise KeyError(f"{name!r} is not an output table")
        source = self.output_run(name, run_id)
        return self.con.execute(
            f"SELECT * EXCLUDE (run_id) FROM {name} WHERE run_id = ?", [source]
        ).df().assign(run_id=source)

    def output_run(self, name: str, run_id: str | None = None) -> str | None:
        """Which run's rows :meth:`output` reads for ``name``.

        Plan tables: ``run_id``'s own rows when it has some, else the published run's; a step
        run alone (its run has no rows yet) before anything was published reads the most recent
        run that has rows. Backtest tables: the latest backtest run's."""
        published = self.published_run() if name in PLAN_TABLES else None
        for candidate in (run_id, published):
            if candidate is not None and self.con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {name} WHERE run_id = ? LIMIT 1)", [candidate]
            ).fetchall()[0][0]:
                return candidate
        if name in PLAN_TABLES and run_id is None:
            return published
        rows = self.con.execute(
            f"SELECT o.run_id FROM (SELECT DISTINCT run_id FROM {name}) o "
            "LEFT JOIN runs r USING (run_id) ORDER BY r.started_at DESC NULLS LAST LIMIT 1"
        ).fetchall()
        return rows[0][0] if rows else None

    # -- runs -------------------------------------------------------------------------------
    def start_run(self, run_id: str, **fields: object) -> None:
        self.con.execute(
            "INSERT INTO runs (run_id, started_at, status, data_dir, as_of, horizon, parameters, "
            "input_fingerprints) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
            [
                run_id,
                datetime.now(),
                str(fields.get("data_dir")),
                fields.get("as_of"),
                fields.get("horizon"),
                json.dumps(fields.get("parameters", {}), default=str),
                json.dumps(fields.get("input_fingerprints", {})),
            ],
        )

    def finish_run(self, run_id: str, *, status: str, **fields: object) -> None:
        self.con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, frequency = ?, rows_loaded = ?, "
            "rows_rejected = ?, step_seconds = ?, error = ?, as_of = coalesce(?, as_of), "
            "input_fingerprints = coalesce(?, input_fingerprints), warnings = ? WHERE run_id = ?",
            [
                datetime.now(),
                status,
                fields.get("frequency"),
                json.dumps(fields.get("rows_loaded", {})),
                json.dumps(fields.get("rows_rejected", {})),
                json.dumps(fields.get("step_seconds", {})),
                fields.get("error"),
                fields.get("as_of"),
                json.dumps(fields["input_fingerprints"]) if "input_fingerprints" in fields else None,
                json.dumps(fields.get("warnings", [])),
                run_id,
            ],
        )

    def abandon_running_runs(self, by_run: str) -> list[str]:
        """Mark runs still ``running`` as ``abandoned``: called by a run holding the run lock,
        so none of them is still going (they were killed or their machine stopped)."""
        stale = [r[0] for r in self.con.execute(
            "SELECT run_id FROM runs WHERE status = 'running' AND run_id <> ?", [by_run]
        ).fetchall()]
        published = self.published_run()
        for run in stale:
            note = "; its plan had been published" if run == published else ""
            self.con.execute(
                "UPDATE runs SET status = 'abandoned', finished_at = coalesce(finished_at, ?), "
                "error = ? WHERE run_id = ?",
                [datetime.now(),
                 f"the run stopped before it finished (killed?); found by run {by_run}{note}", run],
            )
        return stale

    def set_forecast_key(self, run_id: str, key: str) -> None:
        self.con.execute("UPDATE runs SET forecast_key = ? WHERE run_id = ?", [key, run_id])

    def run_with_forecast_key(self, key: str, exclude: str) -> str | None:
        """A succeeded run with this forecast cache key whose forecast rows are still kept."""
        rows = self.con.execute(
            "SELECT r.run_id FROM runs r WHERE r.forecast_key = ? AND r.run_id <> ? "
            "AND r.status = 'succeeded' AND EXISTS (SELECT 1 FROM forecasts f WHERE f.run_id = r.run_id) "
            "ORDER BY r.started_at DESC LIMIT 1",
            [key, exclude],
        ).fetchall()
        return rows[0][0] if rows else None

    def runs(self, limit: int = 20) -> pd.DataFrame:
        return self.con.execute(
            "SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", [limit]
        ).df()

    # -- snapshot ---------------------------------------------------------------------------
    def publish_snapshot(self, snapshot_dir: str | Path) -> Path:
        """Write every table as Parquet into a new folder and swap it in place of the old one,
        so readers (notebooks, read commands) never see a half-written snapshot."""
        snapshot_dir = Path(snapshot_dir)
        if snapshot_dir.is_symlink():  # OUT/snapshot -> current/snapshot: swap the real folder
            snapshot_dir = snapshot_dir.resolve()
        snapshot_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=snapshot_dir.parent))
        self._write_snapshot(staging)
        old = snapshot_dir.with_name(snapshot_dir.name + ".old")
        if snapshot_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(snapshot_dir, old)
        os.replace(staging, snapshot_dir)
        shutil.rmtree(old, ignore_errors=True)
        return snapshot_dir

    def _write_snapshot(self, target: Path, names: tuple[str, ...] = SNAPSHOT_TABLES,
                        reuse: Path | None = None) -> None:
        """One Parquet file per table in ``target``: output tables hold the published run's rows.

        With ``reuse`` (the snapshot readers see now), an input table unchanged since that
        snapshot was written (the same ``table_versions`` counter, recorded beside its files in
        :data:`VERSIONS_FILE`) is hard-linked from it instead of written again."""
        target.mkdir(parents=True, exist_ok=True)
        versions = dict(self.con.execute("SELECT table_name, version FROM table_versions").fetchall())
        prior = _read_versions(reuse)
        for name in names:
            if name not in SNAPSHOT_TABLES:
                raise KeyError(f"{name!r} is not a snapshot table")
            if reuse is not None and name in versions and prior.get(name) == versions[name] \
                    and _link(Path(reuse) / f"{name}.parquet", target / f"{name}.parquet"):
                continue
            if name in OUTPUT_TABLES:
                # COPY takes no bound parameters: the run id is ours (timestamp + hex), and
                # checked to be exactly that before it goes into the statement.
                source = self.output_run(name)
                if source is not None and not _RUN_ID.fullmatch(source):
                    raise ValueError(f"unexpected run id {source!r}")
                where = f"WHERE run_id = '{source}'" if source else "WHERE false"
                query = f"(SELECT * FROM {name} {where})"
            else:
                query = name
            self.con.execute(f"COPY {query} TO '{_sql_path(target / f'{name}.parquet')}' (FORMAT parquet)")
        if set(names) == set(SNAPSHOT_TABLES):
            (target / VERSIONS_FILE).write_text(json.dumps(versions, sort_keys=True))

    def refresh_snapshot_table(self, name: str, snapshot_dir: Path) -> None:
        """Rewrite one table of the current snapshot in place (write, then rename): the run
        history after a run ends, so ``forecast runs`` on the snapshot shows how it ended."""
        snapshot_dir = Path(snapshot_dir)
        if not snapshot_dir.is_dir():
            return
        tmp = Path(tempfile.mkdtemp(prefix=".refresh-", dir=snapshot_dir))
        try:
            self._write_snapshot(tmp, (name,))
            os.replace(tmp / f"{name}.parquet", snapshot_dir / f"{name}.parquet")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- customer notifications (forecast.backorders.notifications) --------------------------------------
    def notification_history(self) -> pd.DataFrame:
        """The last notice per order line (order_id, sku, location): what the customer knows."""
        return self.con.execute(
            "SELECT * FROM notifications "
            "QUALIFY row_number() OVER (PARTITION BY order_id, sku, location "
            "ORDER BY notified_at DESC) = 1 ORDER BY order_id, sku, location"
        ).df()

    def notifications_sent(self, run_id: str | None) -> pd.DataFrame:
        """The notices a run recorded (the customers that run said to tell)."""
        return self.con.execute(
            "SELECT * FROM notifications WHERE run_id = ? ORDER BY order_id, sku, location", [run_id]
        ).df()

    def record_notifications(self, rows: pd.DataFrame) -> int:
        """Append notices sent (rows of ``forecast.backorders.notifications.history_rows``); returns rows."""
        return self._append_notifications(rows)

    def _append_notifications(self, rows: pd.DataFrame) -> int:
        if rows.empty:
            return 0
        self.con.register("_notices", rows)
        try:
            self.con.execute("INSERT INTO notifications BY NAME SELECT * FROM _notices")
        finally:
            self.con.unregister("_notices")
        return len(rows)

    # -- ETA history of open order lines (forecast.backorders.book) ---------------------------------
    def eta_history(self, exclude_run: str | None = None) -> pd.DataFrame:
        """The latest recorded ETA per order line from runs other than ``exclude_run``."""
        return self.con.execute(
            "SELECT * FROM eta_history WHERE run_id IS DISTINCT FROM ? "
            "QUALIFY row_number() OVER (PARTITION BY order_id, sku, location "
            "ORDER BY recorded_at DESC) = 1 ORDER BY order_id, sku, location",
            [exclude_run],
        ).df()

    def record_eta_history(self, rows: pd.DataFrame) -> int:
        """Append a published run's ETAs (``forecast.backorders.book.eta_history_rows``); never
        pruned with old runs, so a line's dates can be followed run to run."""
        with self.transaction():
            return self._append_eta_history(rows)

    def _append_eta_history(self, rows: pd.DataFrame) -> int:
        if rows.empty:
            return 0
        self.con.register("_etas", rows)
        try:
            # A retried publish records its run once.
            self.con.execute("DELETE FROM eta_history WHERE list_contains(?, run_id)",
                             [sorted(rows["run_id"].astype(str).unique())])
            self.con.execute("INSERT INTO eta_history BY NAME SELECT * FROM _etas")
        finally:
            self.con.unregister("_etas")
        return len(rows)

    # -- customer messages (forecast.backorders.messages) ------------------------------------
    def message_line_state(self) -> pd.DataFrame:
        """Per order line listed in a customer message: the day, status and ETA last told
        (told_on, told_status, told_eta) and the first day a cancellation was offered."""
        return self.con.execute(
            "SELECT order_id, sku, location, day AS told_on, status AS told_status, "
            "eta AS told_eta, min(CASE WHEN cancel_offered THEN day END) OVER w AS cancel_offered_on "
            "FROM customer_message_lines WINDOW w AS (PARTITION BY order_id, sku, location) "
            "QUALIFY row_number() OVER (PARTITION BY order_id, sku, location "
            "ORDER BY day DESC, created_at DESC) = 1 ORDER BY order_id, sku, location"
        ).df()

    def last_message_days(self) -> pd.DataFrame:
        """customer_id, day: the day of each customer's latest message."""
        return self.con.execute(
            "SELECT customer_id, max(day) AS day FROM customer_messages GROUP BY customer_id "
            "ORDER BY customer_id"
        ).df()

    def record_customer_messages(self, messages: pd.DataFrame, lines: pd.DataFrame) -> int:
        """Append a run's messages and the lines they list (``forecast.backorders.messages``
        ``MessagePlan``) in one transaction; a retried publish replaces its own message ids."""
        with self.transaction():
            return self._append_customer_messages(messages, lines)

    def _append_customer_messages(self, messages: pd.DataFrame, lines: pd.DataFrame) -> int:
        if messages.empty:
            return 0
        ids = sorted(messages["message_id"].astype(str).unique())
        self.con.register("_messages", messages)
        self.con.register("_message_lines", lines)
        try:
            for table in ("customer_messages", "customer_message_lines"):
                self.con.execute(f"DELETE FROM {table} WHERE list_contains(?, message_id)", [ids])
            self.con.execute("INSERT INTO customer_messages BY NAME SELECT * FROM _messages")
            self.con.execute("INSERT INTO customer_message_lines BY NAME SELECT * FROM _message_lines")
        finally:
            self.con.unregister("_messages")
            self.con.unregister("_message_lines")
        return len(messages)

    def customer_messages(self, run_id: str | None = None) -> pd.DataFrame:
        """Messages sent, newest first; only those ``run_id`` created when given."""
        return self.con.execute(
            "SELECT * FROM customer_messages WHERE ? IS NULL OR created_for_run = ? "
            "ORDER BY day DESC, customer_id", [run_id, run_id]
        ).df()
