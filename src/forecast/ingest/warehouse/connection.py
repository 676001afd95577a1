"""The warehouse connection: opening the file, the schema, and the table names.

:class:`WarehouseConnection` opens the DuckDB file (raising :class:`WarehouseLockedError` while
another process writes it), creates the input tables from :mod:`forecast.ingest.contract` and the
output tables of ``sql/schema.sql`` (read from the package ``forecast.ingest``), and gives a
warehouse made by an older version the contract's new optional columns. It also holds the table
name constants (``PLAN_TABLES``, ``BACKTEST_TABLES``, ``OUTPUT_TABLES``, ``SNAPSHOT_TABLES``) that
every other SQL statement checks a name against, and the quoting helpers for the few identifiers
and paths that cannot be bound parameters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Self

import duckdb
import pandas as pd

from forecast.ingest.contract import TABLES, Table

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
    "positions",
)
#: Backtest results: the latest backtest run's rows (see ``drop_other_runs``).
BACKTEST_TABLES = ("backtest_series", "backtest_summary")
OUTPUT_TABLES = PLAN_TABLES + BACKTEST_TABLES
#: Every table the published snapshot holds: inputs, plan outputs and the bookkeeping tables.
SNAPSHOT_TABLES = tuple(TABLES) + OUTPUT_TABLES + (
    "rejects", "runs", "notifications", "eta_history", "customer_messages",
    "customer_message_lines", "stock_syncs", "stock_alerts",
)

_SQL_TYPES = {"str": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN"}


#: How long a writer retries when another process holds the warehouse file (a notebook's
#: read-only connection, a DuckDB shell): readers come and go, so the nightly run waits for
#: them this long before it fails naming the holder.
LOCK_WAIT_SECONDS = 30.0


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse file."""


def lock_holder(message: str) -> str:
    """Who holds a DuckDB file lock, from DuckDB's message: ``PID 123 (python3 notebook.py)``."""
    match = re.search(r"\(PID (\d+)\)", message)
    if not match:
        return "another process"
    pid = match.group(1)
    try:
        command = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                           .replace("\0", " ").split())
    except OSError:
        command = ""
    return f"PID {pid}" + (f" ({command[:120]})" if command else "")


def _ident(name: str) -> str:
    """Quote an identifier (column names read from a file header)."""
    return '"' + name.replace('"', '""') + '"'


def _sql_path(path: Path) -> str:
    """COPY ... TO does not take a bound parameter; the path is ours, quotes are escaped."""
    return str(path).replace("'", "''")


def input_table_ddl(table: Table) -> str:
    cols = []
    for c in table.columns:
        not_null = " NOT NULL" if c.name in table.key else ""
        cols.append(f"    {c.name} {_SQL_TYPES[c.type]}{not_null}")
    cols.append(f"    PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n" + ",\n".join(cols) + "\n);"


class WarehouseConnection:
    """The connection to the warehouse file, with the schema created on first use.

    The base of :class:`forecast.ingest.warehouse.Warehouse`: the loading and output parts
    run their SQL on ``self.con``.
    """

    def __init__(
        self, path: str | Path, *, read_only: bool = False, lock_wait: float | None = None
    ) -> None:
        """Open the file; a writer retries a held lock for ``lock_wait`` seconds (default
        :data:`LOCK_WAIT_SECONDS`; a reader does not wait) and then fails naming the holder."""
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        wait = (0.0 if read_only else LOCK_WAIT_SECONDS) if lock_wait is None else lock_wait
        self.con = self._connect(wait)
        if not read_only:
            self._create_schema()

    def _connect(self, wait: float) -> duckdb.DuckDBPyConnection:
        deadline, pause = time.monotonic() + wait, 0.1
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=self.read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseLockedError(
                        f"{self.path}: the warehouse is in use by {lock_holder(str(exc))}"
                        + (f" (waited {wait:g} s)" if wait else "")
                        + "; close that connection, or read the published snapshot (OUT/snapshot)"
                    ) from exc
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT around the block; ROLLBACK when it raises."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

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
        added = False
        for c in table.columns:
            if c.name not in have:
                self.con.execute(f"ALTER TABLE {table.name} ADD COLUMN {c.name} {_SQL_TYPES[c.type]}")
                added = True
        if added:  # its snapshot file must be written again (forecast.ingest.warehouse.outputs)
            self.con.execute("CREATE TABLE IF NOT EXISTS table_versions "
                             "(table_name VARCHAR PRIMARY KEY, version BIGINT NOT NULL)")
            self._bump_version(table)

    def _bump_version(self, table: Table) -> None:
        """The input table changed (or may have): the next snapshot writes its file again."""
        self.con.execute(
            "INSERT INTO table_versions VALUES (?, 1) ON CONFLICT (table_name) "
            "DO UPDATE SET version = table_versions.version + 1", [table.name])

    # -- tables by name ---------------------------------------------------------------------
    def row_counts(self) -> dict[str, int]:
        names = [r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
        return {n: self.con.execute(f"SELECT count(*) FROM {_ident(n)}").fetchall()[0][0] for n in names}

    def table(self, name: str) -> pd.DataFrame:
        if name not in TABLES and name not in SNAPSHOT_TABLES:
            raise KeyError(f"unknown table {name!r}")
        # Input tables come back in key order: DuckDB's scan order varies between runs, and sums
        # such as a lead-time s.d. would differ in their last digits (same inputs, same outputs).
        order = f" ORDER BY {', '.join(TABLES[name].key)}" if name in TABLES else ""
        return self.con.execute(f"SELECT * FROM {name}{order}").df()

