"""The DuckDB warehouse: the only module that talks to DuckDB.

One file holds the input tables (created from :mod:`forecast.ingest.contract`), the ``rejects`` table and
the output tables of ``sql/schema.sql``. Loading reads each file with DuckDB's own readers (all
columns as text), validates every row in SQL, writes each bad row to ``rejects`` with its file,
line, column and reason, and upserts the good rows (``INSERT OR REPLACE`` on the table's key, so
loading the same folder twice changes nothing and a newer row replaces an older one).

SQL text is built only from the contract's own identifiers; every data value is a bound parameter.
DuckDB lets one process hold a file for writing; readers that must not block the pipeline use the
Parquet snapshot written by :meth:`Warehouse.publish_snapshot` (read by :mod:`forecast.ingest.published`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from forecast.ingest.contract import FALSE_WORDS, TABLES, TRUE_WORDS, Column, ContractError, Table

#: Output tables of the nightly plan: staged per run, shown for the published run.
PLAN_TABLES = (
    "forecasts",
    "policies",
    "recommendations",
    "risk",
    "risk_bands",
    "allocations",
    "alerts",
    "forecast_models",
    "campaign_uplift",
    "supplier_scorecard",
    "cancellation_curve",
    "backorders",
    "flash_sales",
)
#: Backtest results: the latest backtest run's rows (see ``drop_other_runs``).
BACKTEST_TABLES = ("backtest_series", "backtest_summary")
OUTPUT_TABLES = PLAN_TABLES + BACKTEST_TABLES
#: Every table the published snapshot holds: inputs, plan outputs and the bookkeeping tables.
SNAPSHOT_TABLES = tuple(TABLES) + OUTPUT_TABLES + (
    "rejects", "runs", "notifications", "eta_history",
)

_RUN_ID = re.compile(r"[0-9A-Za-z_.:-]+")
_SQL_TYPES = {"str": "VARCHAR", "date": "DATE", "float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN"}


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse file for writing."""


def _ident(name: str) -> str:
    """Quote an identifier (column names read from a file header)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class LoadResult:
    """What loading one file did."""

    table: str
    file: str
    rows_read: int
    loaded: int
    rejected: int
    ignored_columns: list[str] = field(default_factory=list)


def input_table_ddl(table: Table) -> str:
    cols = []
    for c in table.columns:
        not_null = " NOT NULL" if c.name in table.key else ""
        cols.append(f"    {c.name} {_SQL_TYPES[c.type]}{not_null}")
    cols.append(f"    PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n" + ",\n".join(cols) + "\n);"


class Warehouse:
    """A connection to the warehouse file, with the schema created on first use.

    Use as a context manager. ``read_only=True`` opens for reading (fails while a writer holds
    the file: read the snapshot instead).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseLockedError(
                    f"{self.path}: the warehouse is in use by another process (a pipeline run "
                    "is writing). Read the published snapshot instead, or wait for the run to end."
                ) from exc
            raise
        if not read_only:
            self._create_schema()

    def __enter__(self) -> Warehouse:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -- schema -----------------------------------------------------------------------------
    def _create_schema(self) -> None:
        for table in TABLES.values():
            self.con.execute(input_table_ddl(table))
            self._add_new_columns(table)
        schema = resources.files("forecast.ingest").joinpath("sql/schema.sql").read_text()
        self.con.execute(schema)

    def _add_new_columns(self, table: Table) -> None:
        """A warehouse made by an older version gains the contract's new optional columns."""
        have = {
            r[0]
            for r in self.con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND NOT internal",
                [table.name],
            ).fetchall()
        }
        for c in table.columns:
            if c.name not in have:
                self.con.execute(f"ALTER TABLE {table.name} ADD COLUMN {c.name} {_SQL_TYPES[c.type]}")

    def row_counts(self) -> dict[str, int]:
        names = [r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
        return {n: self.con.execute(f"SELECT count(*) FROM {_ident(n)}").fetchall()[0][0] for n in names}

    # -- loading ----------------------------------------------------------------------------
    def load_file(self, table: Table, path: str | Path, run_id: str | None = None) -> LoadResult:
        """Validate ``path`` against ``table`` and upsert its good rows; record the bad ones.

        Raises ContractError when the file cannot be read or lacks a required column.
        """
        path = Path(path)
        file_label = str(path)
        structural = self._read_raw(path)
        header = [r[0] for r in self.con.execute("DESCRIBE _raw").fetchall() if r[0] != "_line"]
        by_lower = {h.strip().lower(): h for h in header}
        missing = [c for c in table.required_columns if c not in by_lower]
        if missing:
            raise ContractError(
                f"{path}: missing required column(s) {', '.join(missing)} for table "
                f"{table.name!r}; the file has: {', '.join(header) or '(no columns)'}"
            )
        known = {c.name for c in table.columns}
        ignored = [h for h in header if h.strip().lower() not in known]

        select, errors, params = self._validation_sql(table, by_lower)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _checked AS SELECT _line, {select}, "
            f"list_filter([{', '.join(errors) or 'NULL'}], lambda e: e.msg IS NOT NULL) AS _errs "
            f"FROM _raw",
            params,
        )
        self._check_duplicates(table)
        rows_read = self.con.execute("SELECT count(*) FROM _checked").fetchall()[0][0]
        cols = ", ".join(c.name for c in table.columns)
        try:
            self.con.execute("BEGIN TRANSACTION")
            self.con.execute("DELETE FROM rejects WHERE file = ?", [file_label])
            self.con.execute(
                "INSERT INTO rejects SELECT ?, ?, ?, _line, _errs[1].col, _errs[1].val, "
                "array_to_string(list_transform(_errs, lambda e: e.msg), '; ') "
                "FROM _checked WHERE len(_errs) > 0",
                [run_id, table.name, file_label],
            )
            if len(structural):
                self.con.register(
                    "_structural", structural.assign(run_id=run_id, table_name=table.name, file=file_label)
                )
                self.con.execute(
                    "INSERT INTO rejects SELECT run_id, table_name, file, line, column_name, value, "
                    "reason FROM _structural"
                )
                self.con.unregister("_structural")
            self.con.execute(
                f"INSERT OR REPLACE INTO {table.name} ({cols}) "
                f"SELECT {cols} FROM _checked WHERE len(_errs) = 0"
            )
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        rejected_rows = self.con.execute(
            "SELECT count(*) FROM _checked WHERE len(_errs) > 0"
        ).fetchall()[0][0]
        return LoadResult(
            table=table.name,
            file=file_label,
            rows_read=rows_read + len(structural),
            loaded=rows_read - rejected_rows,
            rejected=rejected_rows + len(structural),
            ignored_columns=ignored,
        )

    def _read_raw(self, path: Path) -> pd.DataFrame:
        """Read ``path`` as text into the temp table ``_raw`` with a 1-based ``_line`` column.

        Returns the structurally broken lines (CSV rows with too many columns, bad quoting ...)
        as reject rows; the rest of the file loads.
        """
        name = path.name.lower()
        try:
            if name.endswith(".parquet"):
                self.con.execute(
                    "CREATE OR REPLACE TEMP TABLE _raw AS SELECT COLUMNS(lambda c: c <> 'file_row_number')"
                    "::VARCHAR, file_row_number + 1 AS _line "
                    "FROM read_parquet(?, file_row_number = true)",
                    [str(path)],
                )
                return pd.DataFrame(columns=["line", "column_name", "value", "reason"])
            if not name.endswith((".csv", ".csv.gz")):
                raise ContractError(f"{path}: unsupported file type (use .csv, .csv.gz or .parquet)")
            self.con.execute("DROP TABLE IF EXISTS _rej_errors")
            self.con.execute("DROP TABLE IF EXISTS _rej_scans")
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _raw0 AS SELECT * FROM read_csv(?, all_varchar = true, "
                "header = true, store_rejects = true, rejects_table = '_rej_errors', "
                "rejects_scan = '_rej_scans')",
                [str(path)],
            )
        except duckdb.Error as exc:
            raise ContractError(f"{path}: cannot be read as a table: {exc}") from exc
        bad = self.con.execute(
            "SELECT line, column_name, csv_line, error_type, error_message FROM _rej_errors "
            "ORDER BY line"
        ).df()
        bad = bad.drop_duplicates("line")
        n_good = self.con.execute("SELECT count(*) FROM _raw0").fetchall()[0][0]
        # The k-th good row sits on the k-th line (header = line 1) that was not rejected.
        all_lines = np.arange(2, n_good + len(bad) + 2, dtype=np.int64)
        good_lines = np.setdiff1d(all_lines, bad["line"].to_numpy(dtype=np.int64))[:n_good]
        lines = pd.DataFrame({"_rid": np.arange(n_good, dtype=np.int64), "_line": good_lines})
        self.con.register("_lines", lines)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _raw AS SELECT r.* EXCLUDE (_rid), l._line FROM "
            "(SELECT rowid AS _rid, * FROM _raw0) r JOIN _lines l USING (_rid) ORDER BY l._line"
        )
        self.con.unregister("_lines")
        self.con.execute("DROP TABLE _raw0")
        return pd.DataFrame(
            {
                "line": bad["line"].astype("int64"),
                "column_name": bad["column_name"].astype("str"),
                "value": bad["csv_line"].astype("str"),
                "reason": "malformed line: "
                + bad["error_type"].astype("str").str.lower()
                + " ("
                + bad["error_message"].astype("str")
                + ")",
            }
        )

    def _validation_sql(
        self, table: Table, by_lower: dict[str, str]
    ) -> tuple[str, list[str], dict[str, object]]:
        """Typed select list, error expressions and bound parameters for ``table``."""
        select: list[str] = []
        errors: list[str] = []
        params: dict[str, object] = {}
        for c in table.columns:
            src = by_lower.get(c.name)
            raw = f"NULLIF(trim({_ident(src)}), '')" if src else "NULL::VARCHAR"
            typed = _typed_expr(c, raw)
            p = f"default_{c.name}"
            if c.default is not None:
                params[p] = c.default
                select.append(f"COALESCE({typed}, ${p}) AS {c.name}")
            else:
                select.append(f"{typed} AS {c.name}")
            for cond, msg in _column_checks(c, raw, typed, params):
                errors.append(
                    f"{{'col': '{c.name}', 'val': {raw}, 'msg': CASE WHEN {cond} THEN {msg} END}}"
                )
        for earlier, later in table.ordered:
            t_early = _typed_expr(table.column(earlier), _raw_of(by_lower, earlier))
            t_late = _typed_expr(table.column(later), _raw_of(by_lower, later))
            errors.append(
                f"{{'col': '{later}', 'val': {_raw_of(by_lower, later)}, 'msg': CASE WHEN "
                f"{t_late} < {t_early} THEN '{later} is before {earlier}' END}}"
            )
        for k, req in enumerate(table.required_when):
            params[f"when_{k}"] = req.value
            when_typed = _typed_expr(table.column(req.when), _raw_of(by_lower, req.when))
            when_col = table.column(req.when)
            if when_col.default is not None:
                when_typed = f"COALESCE({when_typed}, $default_{req.when})"
            errors.append(
                f"{{'col': '{req.column}', 'val': NULL::VARCHAR, 'msg': CASE WHEN "
                f"{when_typed} = $when_{k} AND {_raw_of(by_lower, req.column)} IS NULL "
                f"THEN '{req.reason}' END}}"
            )
        if table.checks_sku:
            params["known_skus"] = self._known_skus()
            sku_raw = _raw_of(by_lower, "sku")
            errors.append(
                f"{{'col': 'sku', 'val': {sku_raw}, 'msg': CASE WHEN {sku_raw} IS NOT NULL AND "
                f"NOT list_contains($known_skus, {sku_raw}) THEN 'unknown sku ' || {sku_raw} || "
                f"' (not in products or sales)' END}}"
            )
        if table.name == "campaigns":
            sku_raw, cat_raw = _raw_of(by_lower, "sku"), _raw_of(by_lower, "category")
            errors.append(
                f"{{'col': 'sku', 'val': NULL::VARCHAR, 'msg': CASE WHEN {sku_raw} IS NULL AND "
                f"{cat_raw} IS NULL THEN 'campaign names neither sku nor category' END}}"
            )
        return ", ".join(select), errors, params

    def _check_duplicates(self, table: Table) -> None:
        """Within one file, the last row of a key wins; earlier ones are rejected."""
        key = ", ".join(table.key)
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _checked AS
            WITH ranked AS (
                SELECT *, row_number() OVER w AS _rank, max(_line) OVER w AS _last
                FROM _checked
                WINDOW w AS (PARTITION BY {key}, len(_errs) = 0)
            )
            SELECT * EXCLUDE (_rank, _last, _errs),
                CASE WHEN len(_errs) = 0 AND _line < _last
                     THEN [{{'col': '{table.key[0]}', 'val': NULL::VARCHAR,
                            'msg': 'duplicate key ({key}): superseded by line ' || _last}}]
                     ELSE _errs END AS _errs
            FROM ranked
            """
        )

    def _known_skus(self) -> list[str]:
        rows = self.con.execute(
            "SELECT sku FROM products UNION SELECT DISTINCT sku FROM sales"
        ).fetchall()
        return [r[0] for r in rows]

    # -- reads ------------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        if name not in TABLES and name not in SNAPSHOT_TABLES:
            raise KeyError(f"unknown table {name!r}")
        return self.con.execute(f"SELECT * FROM {name}").df()

    def sales(self, as_of: date | None = None) -> pd.DataFrame:
        """Sales history up to and including ``as_of`` (all of it when None)."""
        return self.con.execute(
            "SELECT * FROM sales WHERE ?::DATE IS NULL OR date <= ?::DATE ORDER BY sku, location, date",
            [as_of, as_of],
        ).df()

    def last_sales_date(self) -> date | None:
        return self.con.execute("SELECT max(date) FROM sales").fetchall()[0][0]

    def rejects(self, table: str | None = None) -> pd.DataFrame:
        return self.con.execute(
            "SELECT * FROM rejects WHERE ?::VARCHAR IS NULL OR table_name = ? ORDER BY file, line",
            [table, table],
        ).df()

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

    def publish(self, run_id: str, keep: int = 3) -> None:
        """Make ``run_id`` the run readers see, in one transaction, and drop the rows of runs
        older than the last ``keep`` published ones (staged rows of unpublished runs too)."""
        try:
            self.con.execute("BEGIN TRANSACTION")
            self.con.execute("INSERT INTO published VALUES (?, ?)", [run_id, datetime.now()])
            keep_ids = [
                r[0] for r in self.con.execute(
                    "SELECT run_id FROM published GROUP BY run_id ORDER BY max(published_at) DESC "
                    "LIMIT ?", [keep],
                ).fetchall()
            ]
            for name in PLAN_TABLES:
                self.con.execute(
                    f"DELETE FROM {name} WHERE NOT list_contains(?, run_id)", [keep_ids]
                )
            self.con.execute("DELETE FROM published WHERE NOT list_contains(?, run_id)", [keep_ids])
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

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
        snapshot_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=snapshot_dir.parent))
        for name in SNAPSHOT_TABLES:
            target = staging / f"{name}.parquet"
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
            self.con.execute(f"COPY {query} TO '{_sql_path(target)}' (FORMAT parquet)")
        old = snapshot_dir.with_name(snapshot_dir.name + ".old")
        if snapshot_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(snapshot_dir, old)
        os.replace(staging, snapshot_dir)
        shutil.rmtree(old, ignore_errors=True)
        return snapshot_dir

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
        if rows.empty:
            return 0
        self.con.register("_etas", rows)
        try:
            self.con.execute("BEGIN TRANSACTION")
            # A retried publish records its run once.
            self.con.execute("DELETE FROM eta_history WHERE list_contains(?, run_id)",
                             [sorted(rows["run_id"].astype(str).unique())])
            self.con.execute("INSERT INTO eta_history BY NAME SELECT * FROM _etas")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.con.unregister("_etas")
        return len(rows)


def _sql_path(path: Path) -> str:
    """COPY ... TO does not take a bound parameter; the path is ours, quotes are escaped."""
    return str(path).replace("'", "''")


def _raw_of(by_lower: dict[str, str], name: str) -> str:
    src = by_lower.get(name)
    return f"NULLIF(trim({_ident(src)}), '')" if src else "NULL::VARCHAR"


def _typed_expr(c: Column, raw: str) -> str:
    if c.type == "date":
        return f"COALESCE(TRY_CAST({raw} AS DATE), TRY_CAST(TRY_CAST({raw} AS TIMESTAMP) AS DATE))"
    if c.type in ("float", "int"):
        return f"TRY_CAST({raw} AS DOUBLE)"
    if c.type == "bool":
        return (f"CASE WHEN list_contains($true_words, lower({raw})) THEN true "
                f"WHEN list_contains($false_words, lower({raw})) THEN false END")
    if c.choices:
        return f"lower({raw})"
    return raw


def _column_checks(
    c: Column, raw: str, typed: str, params: dict[str, object]
) -> list[tuple[str, str]]:
    """(condition, message expression) pairs for one column; a true condition rejects the row."""
    checks: list[tuple[str, str]] = []
    if c.required:
        checks.append((f"{raw} IS NULL", f"'missing {c.name}'"))
    if c.type == "date":
        checks.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", f"'unparseable date in {c.name}: ' || {raw}")
        )
    if c.type in ("float", "int"):
        checks.append(
            (
                f"{raw} IS NOT NULL AND ({typed} IS NULL OR NOT isfinite({typed}))",
                f"'not a number in {c.name}: ' || {raw}",
            )
        )
        if c.min_value is not None:
            op = "<=" if c.exclusive else "<"
            word = "must be > " if c.exclusive else "must be >= "
            label = "negative " if (c.min_value == 0 and not c.exclusive) else ""
            params[f"min_{c.name}"] = c.min_value
            checks.append(
                (
                    f"{typed} {op} $min_{c.name}",
                    f"'{label}{c.name} ' || {raw} || ': {word}{c.min_value:g}'",
                )
            )
        if c.max_value is not None:
            op = ">=" if c.exclusive else ">"
            word = "must be < " if c.exclusive else "must be <= "
            params[f"max_{c.name}"] = c.max_value
            checks.append(
                (f"{typed} {op} $max_{c.name}", f"'{c.name} ' || {raw} || ': {word}{c.max_value:g}'")
            )
    if c.type == "bool":
        params["true_words"], params["false_words"] = list(TRUE_WORDS), list(FALSE_WORDS)
        checks.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", f"'not a yes/no value in {c.name}: ' || {raw}")
        )
    if c.choices:
        params[f"choices_{c.name}"] = list(c.choices)
        checks.append(
            (
                f"{raw} IS NOT NULL AND NOT list_contains($choices_{c.name}, lower({raw}))",
                f"'{c.name} ' || {raw} || ' is not one of {'/'.join(c.choices)}'",
            )
        )
    return checks
