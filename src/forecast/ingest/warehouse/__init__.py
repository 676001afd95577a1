"""The DuckDB warehouse: with :mod:`forecast.ingest.published`, the only code that talks to DuckDB.

One file holds the input tables (created from :mod:`forecast.ingest.contract`), the ``rejects`` table and
the output tables of ``sql/schema.sql``. Loading reads each file with DuckDB's own readers (all
columns as text), validates every row in SQL, writes each bad row to ``rejects`` with its file,
line, column and reason, and upserts the good rows (``INSERT OR REPLACE`` on the table's key, so
loading the same folder twice changes nothing and a newer row replaces an older one).

SQL text is built only from the contract's own identifiers; every data value is a bound parameter.
DuckDB lets one process hold a file for writing; readers that must not block the pipeline use the
Parquet snapshot written by :meth:`Warehouse.publish_snapshot` (read by :mod:`forecast.ingest.published`).

:class:`Warehouse` is composed of three parts, one module each:

- :mod:`~forecast.ingest.warehouse.connection`: opening the file, the schema and its migration,
  the table name constants, row counts;
- :mod:`~forecast.ingest.warehouse.loading`: loading and validating input files, rejects, reads of
  the inputs;
- :mod:`~forecast.ingest.warehouse.outputs`: staging, publishing and reading outputs, the run
  history, the Parquet snapshot, customer notifications and ETA history;
- :mod:`~forecast.ingest.warehouse.sync_state`: the intraday stock sync's movements counted,
  files read, threshold alerts and sync history.
"""

from __future__ import annotations

from forecast.ingest.warehouse.connection import (
    BACKTEST_TABLES,
    LOCK_WAIT_SECONDS,
    OUTPUT_TABLES,
    PLAN_TABLES,
    SNAPSHOT_TABLES,
    WarehouseLockedError,
    _ident,
    _sql_path,
    input_table_ddl,
)
from forecast.ingest.warehouse.loading import LoadResult, WarehouseLoading
from forecast.ingest.warehouse.outputs import WarehouseOutputs
from forecast.ingest.warehouse.sync_state import WarehouseSync

# ``_ident`` and ``_sql_path`` are the quoting helpers forecast.ingest.published shares.
__all__ = [
    "BACKTEST_TABLES",
    "LOCK_WAIT_SECONDS",
    "OUTPUT_TABLES",
    "PLAN_TABLES",
    "SNAPSHOT_TABLES",
    "LoadResult",
    "Warehouse",
    "WarehouseLockedError",
    "_ident",
    "_sql_path",
    "input_table_ddl",
]


class Warehouse(WarehouseLoading, WarehouseOutputs, WarehouseSync):
    """A connection to the warehouse file, with the schema created on first use.

    Use as a context manager. ``read_only=True`` opens for reading (fails while a writer holds
    the file: read the snapshot instead).
    """
