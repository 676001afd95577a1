"""Loading input files: reading them raw, validating every row in SQL, recording rejects.

:meth:`WarehouseLoading.load_file` reads a file with DuckDB's own readers (all columns as text,
each row with its 1-based line), builds one typed select list and one list of error expressions
from the contract's columns (types, required, bounds, yes/no words, choices, date order, columns
required when another has a value, known SKUs), rejects all but the last row of a duplicated key,
writes each bad row to ``rejects`` with its file, line, column and reason, and upserts the good
rows (``INSERT OR REPLACE`` on the table's key). The reads of the loaded inputs (``sales``,
``rejects``) sit here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from forecast.ingest.contract import FALSE_WORDS, TRUE_WORDS, Column, ContractError, Table
from forecast.ingest.warehouse.connection import WarehouseConnection, _ident


@dataclass
class LoadResult:
    """What loading one file did."""

    table: str
    file: str
    rows_read: int
    loaded: int
    rejected: int
    ignored_columns: list[str] = field(default_factory=list)


class WarehouseLoading(WarehouseConnection):
    """Loading and validating input files, and reading the input tables back."""

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
