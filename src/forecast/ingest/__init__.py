"""Stage 1, ingest: the input contract, the DuckDB warehouse and the published snapshot.

- ``contract``: every input table, its columns, types, rules and reject reasons;
- ``warehouse/``: the only writer of DuckDB (connection and schema, loading and validation,
  output reads and writes); SQL in ``sql/`` or constants with bound parameters;
- ``published``: the one reader of the published Parquet snapshot (report, notebooks, read
  commands, what-if), which never opens the warehouse file.

Imports nothing from later stages.
"""

from forecast._lazy import lazy_exports

#: submodule -> the public names it defines
_EXPORTS = {
    "contract": ("TABLES", "LOAD_ORDER", "ContractError", "find_table_files"),
    "warehouse": ("Warehouse", "WarehouseLockedError", "LoadResult"),
    "published": ("open_snapshot", "read_snapshot"),
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
