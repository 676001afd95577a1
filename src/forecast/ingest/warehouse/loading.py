"""Loading input files: reading them raw, validating every row in SQL, recording rejects.

:meth:`WarehouseLoading.load_file` reads a file with DuckDB's own readers (all columns as text,
each row with its 1-based line), builds one typed select list and one list of error expressions
from the contract's columns (types, required, bounds, yes/no words, choices, date order, columns
required when another has a value, known SKUs), rejects all but the last row of a duplicated key,
writes each bad row to ``rejects`` with its file, line, column and reason, and upserts the good
rows (``INSERT OR REPLACE`` on the table's key); a snapshot table (``Table.snapshot``) is
replaced as a whole instead. The reads of the loaded inputs (``sales``, ``rejects``) sit here too.

Lines are physical lines of the file as an editor shows them (header = line 1), also after a
quoted field that spans lines; Parquet rows are numbered from 1 (the first row). An optional
column whose every filled cell has the wrong type is one reject for the column (line 1, the
header; 0 for a Parquet schema) and the column is ignored; in a required column it fails the file.
Rejects are keyed by the file's resolved path and its content: loading the same file again, by
any path, replaces its rejects.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from forecast.ingest.contract import (
    DATE_MAX,
    DATE_MIN,
    FALSE_WORDS,
    ISO_DATE_PATTERN,
    MAX_MAGNITUDE,
    MAX_TEXT_LENGTH,
    TRUE_WORDS,
    Column,
    ContractError,
    Table,
)
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
    fingerprint: str = ""
    #: Columns ignored because every filled cell had the wrong type (one reject each).
    column_errors: list[str] = field(default_factory=list)


class WarehouseLoading(WarehouseConnection):
    """Loading and validating input files, and reading the input tables back."""

    #: The last CSV read could not be read with standard quoting (see ``_read_csv``).
    _quoting_fallback = False

    def load_file(
        self, table: Table, path: str | Path, run_id: str | None = None, today: date | None = None
    ) -> LoadResult:
        """Validate ``path`` against ``table`` and load its good rows; record the bad ones.

        ``today`` is the day of the load (dates may lie at most ``table.max_days_ahead`` days
        after it). Raises ContractError when the file cannot be read, lacks a required column
        or a required column holds no value of its type.
        """
        path = Path(path)
        file_label = str(path.resolve())
        fingerprint = _fingerprint(path)
        structural = self._read_raw(path)
        header = [r[0] for r in self.con.execute("DESCRIBE _raw").fetchall() if r[0] != "_line"]
        by_lower = {h.strip().lower(): h for h in header}
        missing = [c for c in table.required_columns if c not in by_lower]
        if missing:
            raise ContractError(
                f"{path}: missing required column(s) {', '.join(missing)} for table "
                f"{table.name!r}; the file has: {', '.join(header) or '(no columns)'}",
                column=missing[0],
            )
        known = {c.name for c in table.columns}
        ignored = [h for h in header if h.strip().lower() not in known]
        limits = {"today": today or date.today(), "max_days_ahead": table.max_days_ahead,
                  "file_name": path.name}
        column_rejects = self._check_rows(table, by_lower, limits, path)
        rows_read = self.con.execute("SELECT count(*) FROM _checked").fetchall()[0][0]
        structural = pd.concat([f for f in (column_rejects, structural) if len(f)]
                               or [structural], ignore_index=True)
        self._commit_load(table, file_label, fingerprint, structural, run_id)
        rejected_rows = self.con.execute(
            "SELECT count(*) FROM _checked WHERE len(_errs) > 0"
        ).fetchall()[0][0]
        n_structural = len(structural) - len(column_rejects)
        return LoadResult(
            table=table.name,
            file=file_label,
            rows_read=rows_read + n_structural,
            loaded=rows_read - rejected_rows,
            rejected=rejected_rows + n_structural,
            ignored_columns=ignored,
            fingerprint=fingerprint,
            column_errors=column_rejects["column_name"].tolist(),
        )

    def _check_rows(
        self, table: Table, by_lower: dict[str, str], limits: dict[str, object], path: Path
    ) -> pd.DataFrame:
        """Build ``_checked`` (typed rows with their errors); returns the column-level rejects.

        A column whose every filled cell fails its type is one error for the column: ignored
        (its default applies) when optional, the file fails when it is required."""
        self._build_checked(table, by_lower, limits)
        wrong = self._wrong_type_columns(table, by_lower)
        if not wrong:
            return pd.DataFrame(columns=["line", "column_name", "value", "reason"])
        required = [c for c in wrong if table.column(c).required]
        if required:
            c = required[0]
            raise ContractError(
                f"{path}: column {c} holds no valid {table.column(c).type} value "
                f"(e.g. {wrong[c]!r}); table {table.name!r} needs it",
                column=c,
            )
        self._build_checked(table, {k: v for k, v in by_lower.items() if k not in wrong}, limits)
        schema_line = 0 if path.name.lower().endswith(".parquet") else 1
        return pd.DataFrame({
            "line": schema_line,
            "column_name": list(wrong),
            "value": [str(v) for v in wrong.values()],
            "reason": [f"column {c} has no valid {table.column(c).type} value (e.g. {v!r}): "
                       "the column is ignored and its default used" for c, v in wrong.items()],
        })

    def _build_checked(self, table: Table, by_lower: dict[str, str], limits: dict[str, object]) -> None:
        select, errors, params = self._validation_sql(table, by_lower, limits)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _checked AS SELECT _line, {select}, "
            f"list_filter([{', '.join(errors) or 'NULL'}], lambda e: e.msg IS NOT NULL) AS _errs "
            f"FROM _raw",
            params,
        )
        self._check_duplicates(table)

    def _wrong_type_columns(self, table: Table, by_lower: dict[str, str]) -> dict[str, object]:
        """Columns (present in the file) whose every filled cell has a type error, with the
        first such value; at least two filled cells (one bad cell is a row's error)."""
        typed = [c for c in table.columns if c.type != "str" and c.name in by_lower]
        if not typed:
            return {}
        counts = ", ".join(f"count({_raw_of(by_lower, c.name)})" for c in typed)
        filled = self.con.execute(f"SELECT {counts} FROM _raw").fetchall()[0]
        bad = dict(self.con.execute(
            "SELECT e.col, count(*) FROM (SELECT unnest(_errs) AS e FROM _checked) "
            "WHERE e.kind = 'type' GROUP BY e.col"
        ).fetchall())
        wrong = {}
        for c, n in zip(typed, filled, strict=True):
            if n >= 2 and bad.get(c.name, 0) == n:
                wrong[c.name] = self.con.execute(
                    f"SELECT {_raw_of(by_lower, c.name)} FROM _raw WHERE "
                    f"{_raw_of(by_lower, c.name)} IS NOT NULL LIMIT 1"
                ).fetchall()[0][0]
        return wrong

    def _commit_load(
        self, table: Table, file_label: str, fingerprint: str, structural: pd.DataFrame,
        run_id: str | None,
    ) -> None:
        """In one transaction: the file's rejects replace those of its earlier loads (same
        resolved path or same content), and its good rows are upserted (a snapshot table
        drops its old rows first)."""
        cols = ", ".join(c.name for c in table.columns)
        try:
            self.con.execute("BEGIN TRANSACTION")
            self.con.execute(
                "DELETE FROM rejects WHERE table_name = ? AND (file = ? OR fingerprint = ?)",
                [table.name, file_label, fingerprint],
            )
            self.con.execute(
                "INSERT INTO rejects SELECT ?, ?, ?, _line, _errs[1].col, _errs[1].val, "
                "array_to_string(list_transform(_errs, lambda e: e.msg), '; '), ? "
                "FROM _checked WHERE len(_errs) > 0",
                [run_id, table.name, file_label, fingerprint],
            )
            if len(structural):
                self.con.register(
                    "_structural", structural.assign(run_id=run_id, table_name=table.name,
                                                     file=file_label, fingerprint=fingerprint)
                )
                self.con.execute(
                    "INSERT INTO rejects SELECT run_id, table_name, file, line, column_name, value, "
                    "reason, fingerprint FROM _structural"
                )
                self.con.unregister("_structural")
            self._clear_snapshot(table)
            self.con.execute(
                f"INSERT OR REPLACE INTO {table.name} ({cols}) "
                f"SELECT {cols} FROM _checked WHERE len(_errs) = 0"
            )
            self._bump_version(table)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def _clear_snapshot(self, table: Table) -> None:
        if not table.snapshot:
            return
        self._bump_version(table)
        if table.snapshot_rows is None:
            self.con.execute(f"DELETE FROM {table.name}")
        else:
            column, value = table.snapshot_rows
            self.con.execute(f"DELETE FROM {table.name} WHERE {column} = ?", [value])

    def record_skipped_file(
        self, table: Table, path: Path, error: ContractError, reason: str, run_id: str | None
    ) -> None:
        """One reject for a whole file that could not load (its earlier rejects go)."""
        label, fingerprint = str(Path(path).resolve()), _fingerprint(Path(path))
        self.con.execute(
            "DELETE FROM rejects WHERE table_name = ? AND (file = ? OR fingerprint = ?)",
            [table.name, label, fingerprint],
        )
        self.con.execute(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
            [run_id, table.name, label, 1, error.column or "(file)", reason, fingerprint],
        )

    def clear_snapshot_table(self, table: Table) -> None:
        """Empty a snapshot table whose file is absent or skipped: the state now is unknown, so
        the run uses the table's documented default rather than an old state."""
        self._clear_snapshot(table)

    def _read_raw(self, path: Path) -> pd.DataFrame:
        """Read ``path`` as text into the temp table ``_raw`` with its ``_line`` column.

        Returns the structurally broken lines (CSV rows with too many columns, bad quoting ...)
        as reject rows; the rest of the file loads.
        """
        name = path.name.lower()
        if name.endswith(".parquet"):
            self._read_parquet(path)
            return pd.DataFrame(columns=["line", "column_name", "value", "reason"])
        if not name.endswith((".csv", ".csv.gz")):
            raise ContractError(f"{path}: unsupported file type (use .csv, .csv.gz or .parquet)")
        self._read_csv(path)
        bad = self.con.execute(
            "SELECT line, coalesce(column_name, 'column ' || (column_idx + 1)) AS column_name, "
            "csv_line, error_type, error_message FROM _rej_errors ORDER BY line"
        ).df()
        bad = bad.drop_duplicates("line")
        n_good = self.con.execute("SELECT count(*) FROM _raw0").fetchall()[0][0]
        header = [r[0] for r in self.con.execute("DESCRIBE _raw0").fetchall()]
        if n_good == 0 and not len(bad) and header == ["column0"]:
            raise ContractError(f"{path}: the file is empty (no header line)")
        # DuckDB numbers records (header = 1); the k-th good row is the k-th record that was not
        # rejected. A quoted field spanning lines makes records and lines differ: map them.
        records = np.arange(2, n_good + len(bad) + 2, dtype=np.int64)
        good = np.setdiff1d(records, bad["line"].to_numpy(dtype=np.int64))[:n_good]
        starts = _record_start_lines(path, n_good + len(bad) + 1)
        if starts is not None:
            good = starts[good - 1]
            bad["line"] = starts[np.minimum(bad["line"].to_numpy(dtype=np.int64), len(starts)) - 1]
        lines = pd.DataFrame({"_rid": np.arange(n_good, dtype=np.int64), "_line": good})
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

    def _read_parquet(self, path: Path) -> None:
        self._quoting_fallback = False
        try:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _raw AS SELECT COLUMNS(lambda c: c <> 'file_row_number')"
                "::VARCHAR, file_row_number + 1 AS _line "
                "FROM read_parquet(?, file_row_number = true)",
                [str(path)],
            )
        except duckdb.Error as exc:
            raise ContractError(f"{path}: cannot be read as a table: {_short(exc)}") from exc

    def _read_csv(self, path: Path) -> None:
        """Into ``_raw0``: standard CSV quoting first; a file whose quoting the reader cannot
        make out (an unterminated quote) is read again as the sniffer sees it, and the stray
        quotes are rejected by the row checks."""
        self.con.execute("DROP TABLE IF EXISTS _rej_errors")
        self.con.execute("DROP TABLE IF EXISTS _rej_scans")
        query = ("CREATE OR REPLACE TEMP TABLE _raw0 AS SELECT * FROM read_csv(?, all_varchar = true, "
                 "header = true, store_rejects = true, rejects_table = '_rej_errors', "
                 "rejects_scan = '_rej_scans'{})")
        self._quoting_fallback = False
        try:
            try:
                self.con.execute(query.format(", quote = '\"', escape = '\"'"), [str(path)])
            except duckdb.InvalidInputException:
                self._quoting_fallback = True
                self.con.execute("DROP TABLE IF EXISTS _rej_errors")
                self.con.execute("DROP TABLE IF EXISTS _rej_scans")
                self.con.execute(query.format(""), [str(path)])
        except duckdb.Error as exc:
            raise ContractError(f"{path}: cannot be read as a table: {_short(exc)}") from exc

    def _validation_sql(
        self, table: Table, by_lower: dict[str, str], limits: dict[str, object]
    ) -> tuple[str, list[str], dict[str, object]]:
        """Typed select list, error expressions and bound parameters for ``table``."""
        select: list[str] = []
        errors: list[str] = []
        params: dict[str, object] = {}
        stray_quotes = self._quoting_fallback
        for c in table.columns:
            src = by_lower.get(c.name)
            raw = f"NULLIF(trim({_ident(src)}), '')" if src else "NULL::VARCHAR"
            typed = _typed_expr(c, raw)
            p = f"default_{c.name}"
            if c.name == table.line_key:  # an empty key is the file name and line
                params["file_name"] = f"{limits['file_name']}:"
                select.append(f"COALESCE({typed}, $file_name || _line::VARCHAR) AS {c.name}")
            elif c.default is not None:
                params[p] = c.default
                select.append(f"COALESCE({typed}, ${p}) AS {c.name}")
            else:
                select.append(f"{typed} AS {c.name}")
            checks = _column_checks(c, raw, typed, params, limits, stray_quotes)
            for kind, cond, msg in checks:
                errors.append(
                    f"{{'col': '{c.name}', 'val': {raw}, 'kind': '{kind}', "
                    f"'msg': CASE WHEN {cond} THEN {msg} END}}"
                )
        for earlier, later in table.ordered:
            t_early = _typed_expr(table.column(earlier), _raw_of(by_lower, earlier))
            t_late = _typed_expr(table.column(later), _raw_of(by_lower, later))
            errors.append(
                f"{{'col': '{later}', 'val': {_raw_of(by_lower, later)}, 'kind': 'row', 'msg': CASE WHEN "
                f"{t_late} < {t_early} THEN '{later} is before {earlier}' END}}"
            )
        for k, req in enumerate(table.required_when):
            params[f"when_{k}"] = req.value
            when_typed = _typed_expr(table.column(req.when), _raw_of(by_lower, req.when))
            when_col = table.column(req.when)
            if when_col.default is not None:
                when_typed = f"COALESCE({when_typed}, $default_{req.when})"
            errors.append(
                f"{{'col': '{req.column}', 'val': NULL::VARCHAR, 'kind': 'row', 'msg': CASE WHEN "
                f"{when_typed} = $when_{k} AND {_raw_of(by_lower, req.column)} IS NULL "
                f"THEN '{req.reason}' END}}"
            )
        errors.extend(_sign_checks(table, by_lower))
        if table.checks_sku:
            # A hash semi-join on the known SKUs (a list lookup per row was O(rows x SKUs)).
            self.con.execute("CREATE OR REPLACE TEMP TABLE _known_skus AS "
                             "SELECT sku FROM products UNION SELECT DISTINCT sku FROM sales")
            sku_raw = _raw_of(by_lower, "sku")
            errors.append(
                f"{{'col': 'sku', 'val': {sku_raw}, 'kind': 'row', 'msg': CASE WHEN {sku_raw} IS NOT NULL AND "
                f"{sku_raw} NOT IN (SELECT sku FROM _known_skus) THEN 'unknown sku ' || {sku_raw} || "
                f"' (not in products or sales)' END}}"
            )
        if table.name == "campaigns":
            sku_raw, cat_raw = _raw_of(by_lower, "sku"), _raw_of(by_lower, "category")
            errors.append(
                f"{{'col': 'sku', 'val': NULL::VARCHAR, 'kind': 'row', 'msg': CASE WHEN {sku_raw} IS NULL AND "
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
                     THEN [{{'col': '{table.key[0]}', 'val': NULL::VARCHAR, 'kind': 'row',
                            'msg': 'duplicate key ({key}): superseded by line ' || _last}}]
                     ELSE _errs END AS _errs
            FROM ranked
            """
        )

    # -- reads ------------------------------------------------------------------------------
    def sales(self, as_of: date | None = None, skus: list[str] | None = None) -> pd.DataFrame:
        """Sales history up to and including ``as_of`` (all of it when None), of ``skus`` only
        when given."""
        return self.con.execute(
            "SELECT * FROM sales WHERE (?::DATE IS NULL OR date <= ?::DATE) "
            "AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], sku)) ORDER BY sku, location, date",
            [as_of, as_of, skus, skus],
        ).df()

    def last_sales_date(self) -> date | None:
        return self.con.execute("SELECT max(date) FROM sales").fetchall()[0][0]

    def rejects(self, table: str | None = None) -> pd.DataFrame:
        return self.con.execute(
            "SELECT * FROM rejects WHERE ?::VARCHAR IS NULL OR table_name = ? ORDER BY file, line",
            [table, table],
        ).df()


def _sign_checks(table: Table, by_lower: dict[str, str]) -> list[str]:
    """Error expressions of the table's sign rules (a sale's quantity is <= 0)."""
    errors = []
    for rule in table.signs:
        when = table.column(rule.when)
        when_typed = _typed_expr(when, _raw_of(by_lower, rule.when))
        if when.default is not None:
            when_typed = f"COALESCE({when_typed}, $default_{rule.when})"
        values = ", ".join("'" + v.replace("'", "''") + "'" for v in rule.values)
        raw = _raw_of(by_lower, rule.column)
        typed = _typed_expr(table.column(rule.column), raw)
        op = ">" if rule.sign < 0 else "<"
        errors.append(
            f"{{'col': '{rule.column}', 'val': {raw}, 'kind': 'row', 'msg': CASE WHEN "
            f"{when_typed} IN ({values}) AND {typed} {op} 0 THEN "
            f"'{rule.column} ' || {raw} || ' {rule.reason}' END}}"
        )
    return errors


def _raw_of(by_lower: dict[str, str], name: str) -> str:
    src = by_lower.get(name)
    return f"NULLIF(trim({_ident(src)}), '')" if src else "NULL::VARCHAR"


def _short(exc: Exception) -> str:
    """A DuckDB error without its SQL excerpt and error class: ``Unexpected end of GZIP stream``."""
    first = str(exc).strip().splitlines()[0]
    return first.split("Error: ", 1)[-1]


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record_start_lines(path: Path, n_records: int) -> np.ndarray | None:
    """The physical line (1-based) on which each CSV record starts, header included, or None
    when every record is one line (the common case: counting newlines tells)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if n_lines == n_records:
        return None
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline="\n"))  # lines end at \n only
    starts, previous = [], 0
    try:
        for row in reader:
            if row:
                starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error:  # a stray carriage return: keep DuckDB's record numbers
        return None
    if len(starts) < n_records:
        return None
    return np.asarray(starts, dtype=np.int64)


def _typed_expr(c: Column, raw: str) -> str:
    if c.type == "date":
        # Only ISO dates: '2024/03/15' or '2024-3-5' are not read as dates.
        return (f"CASE WHEN regexp_full_match({raw}, $iso_date) THEN COALESCE(TRY_CAST({raw} AS DATE), "
                f"TRY_CAST(TRY_CAST({raw} AS TIMESTAMP) AS DATE)) END")
    if c.type == "timestamp":
        return f"CASE WHEN regexp_full_match({raw}, $iso_date) THEN TRY_CAST({raw} AS TIMESTAMP) END"
    if c.type in ("float", "int"):
        return f"TRY_CAST({raw} AS DOUBLE)"
    if c.type == "bool":
        return (f"CASE WHEN list_contains($true_words, lower({raw})) THEN true "
                f"WHEN list_contains($false_words, lower({raw})) THEN false END")
    if c.choices:
        return f"lower({raw})"
    return raw


def _column_checks(
    c: Column, raw: str, typed: str, params: dict[str, object], limits: dict[str, object],
    stray_quotes: bool = False,
) -> list[tuple[str, str, str]]:
    """(kind, condition, message expression) triples for one column; a true condition rejects
    the row. Kind ``type`` marks a value that is not of the column's type (a column of them
    all is one error for the column)."""
    checks: list[tuple[str, str, str]] = []
    if c.required:
        checks.append(("row", f"{raw} IS NULL", f"'missing {c.name}'"))
    if c.type == "date":
        checks.extend(_date_checks(c, raw, typed, params, limits))
    if c.type == "timestamp":
        checks.extend(_date_checks(c, raw, f"({typed})::DATE", params, limits, "timestamp"))
    if c.type in ("float", "int"):
        checks.extend(_number_checks(c, raw, typed, params))
    if c.type == "bool":
        params["true_words"], params["false_words"] = list(TRUE_WORDS), list(FALSE_WORDS)
        checks.append(
            ("type", f"{raw} IS NOT NULL AND {typed} IS NULL",
             f"'not a yes/no value in {c.name}: ' || {raw}")
        )
    if c.type == "str":
        checks.extend(_text_checks(c, raw, params, stray_quotes))
    if c.choices:
        params[f"choices_{c.name}"] = list(c.choices)
        checks.append(
            (
                "row",
                f"{raw} IS NOT NULL AND NOT list_contains($choices_{c.name}, lower({raw}))",
                f"'{c.name} ' || {raw} || ' is not one of {'/'.join(c.choices)}'",
            )
        )
    return checks


def _date_checks(
    c: Column, raw: str, typed: str, params: dict[str, object], limits: dict[str, object],
    what: str = "date",
) -> list[tuple[str, str, str]]:
    """ISO only, inside DATE_MIN..DATE_MAX, at most ``max_days_ahead`` days after the load day
    (``what``: date or timestamp, as the messages say)."""
    today = limits["today"]
    params["iso_date"] = ISO_DATE_PATTERN
    params["date_min"], params["date_max"] = DATE_MIN, DATE_MAX
    params["latest_date"] = min(DATE_MAX, today + timedelta(days=int(limits["max_days_ahead"])))
    return [
        ("type", f"{raw} IS NOT NULL AND NOT regexp_full_match({raw}, $iso_date)",
         f"'not an ISO {what} ({_ISO_FORMS[what]}) in {c.name}: ' || {raw}"),
        ("type", f"{raw} IS NOT NULL AND regexp_full_match({raw}, $iso_date) AND {typed} IS NULL",
         f"'unparseable {what} in {c.name}: ' || {raw}"),
        ("row", f"{typed} < $date_min OR {typed} > $date_max",
         f"'{c.name} ' || {raw} || ' is outside {DATE_MIN}..{DATE_MAX}'"),
        ("row", f"{typed} <= $date_max AND {typed} > $latest_date",
         (f"'{c.name} ' || {raw} || ' is more than {limits['max_days_ahead']} days after the "
          f"day of the load ({today})'")),
    ]


_ISO_FORMS = {"date": "YYYY-MM-DD", "timestamp": "YYYY-MM-DDTHH:MM[:SS]"}


def _number_checks(
    c: Column, raw: str, typed: str, params: dict[str, object]
) -> list[tuple[str, str, str]]:
    params["max_magnitude"] = MAX_MAGNITUDE
    checks = [
        ("type", f"{raw} IS NOT NULL AND ({typed} IS NULL OR NOT isfinite({typed}))",
         f"'not a number in {c.name}: ' || {raw}"),
        ("row", f"isfinite({typed}) AND abs({typed}) > $max_magnitude",
         f"'{c.name} ' || {raw} || ': beyond the largest magnitude {MAX_MAGNITUDE:g}'"),
    ]
    if c.min_value is not None:
        op = "<=" if c.exclusive else "<"
        word = "must be > " if c.exclusive else "must be >= "
        label = "negative " if (c.min_value == 0 and not c.exclusive) else ""
        params[f"min_{c.name}"] = c.min_value
        checks.append(
            ("row", f"{typed} {op} $min_{c.name}",
             f"'{label}{c.name} ' || {raw} || ': {word}{c.min_value:g}'")
        )
    if c.max_value is not None:
        op = ">=" if c.exclusive else ">"
        word = "must be < " if c.exclusive else "must be <= "
        params[f"max_{c.name}"] = c.max_value
        checks.append(
            ("row", f"{typed} {op} $max_{c.name}",
             f"'{c.name} ' || {raw} || ': {word}{c.max_value:g}'")
        )
    return checks


def _text_checks(
    c: Column, raw: str, params: dict[str, object], stray_quotes: bool
) -> list[tuple[str, str, str]]:
    """Length at most MAX_TEXT_LENGTH, no control characters (a NUL byte), and in a CSV whose
    quoting could not be read (an unterminated quote) no value starting or ending in a quote."""
    params["max_text"] = MAX_TEXT_LENGTH
    params["control_chars"] = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
    checks = [
        ("row", f"length({raw}) > $max_text",
         f"'{c.name} is ' || length({raw}) || ' characters long: at most {MAX_TEXT_LENGTH}'"),
        ("row", f"regexp_matches({raw}, $control_chars)",
         f"'control character in {c.name}: ' || to_json({raw})::VARCHAR"),
    ]
    if stray_quotes:
        checks.append(
            ("row", f"starts_with({raw}, '\"') OR ends_with({raw}, '\"')",
             f"'stray quote in {c.name} (unterminated quoted field?): ' || {raw}")
        )
    return checks
