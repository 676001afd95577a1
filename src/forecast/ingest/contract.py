"""The input data contract: which tables a data folder may hold, their columns, types and rules.

A data folder holds one file per table, named after the table, as ``.csv``, ``.csv.gz`` or
``.parquet`` (``sales.csv.gz``, ``products.csv`` ...). Only ``sales`` is required. Column names are
matched case-insensitively; unknown columns are ignored (and reported), missing optional columns
take their documented default.

Every row is validated when it is loaded (see :mod:`forecast.ingest.warehouse`): a row that breaks a rule
is written to the ``rejects`` table with its file, line, column and reason, and the good rows load.
A file that lacks a required column fails as a whole with :class:`ContractError` (for an
optional table the pipeline then skips the file, see ``Table.without``). Plausibility limits
(dates, magnitudes, text length) are the constants below. Snapshot tables (``Table.snapshot``:
the state now) are replaced by each load of their file; the others are history, upserted.

This module is pure description: the rules here are turned into SQL by the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

ColumnType = Literal["str", "date", "timestamp", "float", "int", "bool"]

#: Location used when a table has no ``location`` column (one-location businesses).
DEFAULT_LOCATION = "main"
#: Suffixes accepted for a table file, in the order they are looked for.
FILE_SUFFIXES = (".parquet", ".csv.gz", ".csv")
SHIPPING_CHOICES = ("standard", "express")
SEGMENT_DEFAULT = "regular"
#: Order line statuses: only ``open`` lines wait for stock; shipped and cancelled lines are
#: history (they date the lines with ``status_date``; the cancellation curve is fitted on them).
ORDER_STATUSES = ("open", "shipped", "cancelled")
OPEN_STATUS = "open"
#: Text accepted in a yes/no column (case-insensitive); empty = the column's default.
TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")
#: Policies a planner override may set (matched lower-case, as every choice).
OVERRIDE_POLICIES = ("sq", "ss", "rs")
#: The campaign kind whose sale is limited to the stock set aside for it (``stock_quantity``).
FLASH_SALE = "flash_sale"

# -- plausibility limits, checked on every row at ingest (the README lists them) ------------
#: Dates outside this window are rejected (a year-9999 or year-1 row would make a run build a
#: daily calendar of thousands of years).
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)
#: How far after the day of the load a date may lie: planned dates (campaigns, purchase orders,
#: promised dates, launches) up to about ten years; dates of things that already happened
#: (sales, receipts: ``Table.max_days_ahead``) at most a week (clocks and time zones).
MAX_DAYS_AHEAD = 3660
PAST_DAYS_AHEAD = 7
#: Only ISO dates load: ``YYYY-MM-DD``, optionally with an ISO time of day (Parquet timestamps).
ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"
#: A timestamp column takes the same ISO form (a date alone is midnight), in the stock system's
#: local time: no time-zone suffix (``2026-11-01T10:40:00``, ``2026-11-01 10:40``).
ISO_TIMESTAMP_PATTERN = ISO_DATE_PATTERN
#: Kinds of stock movement, and the sign of the quantity each may carry (``stock_movements``).
MOVEMENT_KINDS = ("sale", "receipt", "adjustment", "return", "transfer_in", "transfer_out", "count")
MOVEMENT_OUT = ("sale", "transfer_out")  # stock leaving: quantity <= 0
MOVEMENT_IN = ("receipt", "return", "transfer_in")  # stock arriving: quantity >= 0
MOVEMENT_COUNT = "count"  # quantity = the counted level (>= 0); sets on hand
#: Numbers beyond this magnitude are rejected (a quantity of 1e308 overflows the simulation).
MAX_MAGNITUDE = 1e9
#: Text longer than this is rejected (not cut in the exports).
MAX_TEXT_LENGTH = 255


class ContractError(ValueError):
    """A file that cannot be loaded at all (wrong layout, unreadable, unknown format);
    ``column`` names the column at fault when there is one."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``default`` fills a missing column or an empty cell of an optional column. ``min_value`` /
    ``max_value`` bound numeric values (inclusive unless ``exclusive`` is set); ``choices``
    restricts text values (compared lower-case). A ``bool`` column takes yes/no words
    (:data:`TRUE_WORDS`, :data:`FALSE_WORDS`).
    """

    name: str
    type: ColumnType = "str"
    required: bool = False
    default: object = None
    min_value: float | None = None
    max_value: float | None = None
    exclusive: bool = False
    choices: tuple[str, ...] | None = None
    doc: str = ""


@dataclass(frozen=True)
class RequiredWhen:
    """``column`` must be filled on rows where ``when`` equals ``value`` (a pre-order product
    needs its launch date; a flash sale needs the stock set aside for it)."""

    column: str
    when: str
    value: object
    reason: str


@dataclass(frozen=True)
class SignRule:
    """On rows whose ``when`` column is one of ``values``, ``column`` must be <= 0 (``sign``
    -1) or >= 0 (``sign`` +1): a sale takes stock away, a receipt brings it."""

    column: str
    when: str
    values: tuple[str, ...]
    sign: int
    reason: str


@dataclass(frozen=True)
class Table:
    """One input table: its columns, its key (a newer row with the same key replaces the older
    one) and the reference checks (``sku`` must be a known product)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    checks_sku: bool = False
    doc: str = ""
    # Date pairs (earlier, later): the later one may not precede the earlier one.
    ordered: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # Conditional requirements: a row whose ``when`` column equals ``value`` must fill ``column``.
    required_when: tuple[RequiredWhen, ...] = field(default_factory=tuple)
    #: Sign rules (a sale's quantity is negative).
    signs: tuple[SignRule, ...] = field(default_factory=tuple)
    #: A key column whose empty cell is filled with ``<file name>:<line>`` (an idempotence key
    #: that stays the same when the same file is read again).
    line_key: str | None = None
    #: How far after the day of the load this table's dates may be (see MAX_DAYS_AHEAD).
    max_days_ahead: int = MAX_DAYS_AHEAD
    #: A snapshot table holds "the state now": each load of its file replaces the table as a
    #: whole (rows missing from the file leave). ``snapshot_rows`` limits that to the rows
    #: whose column equals the value (a customer order file replaces the open lines; shipped
    #: and cancelled lines are history). Other tables are history: upserted on their key.
    snapshot: bool = False
    snapshot_rows: tuple[str, object] | None = None
    #: What the run does without this table (said when its file is skipped).
    without: str = ""

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _loc(doc: str = "location; empty or missing = the default location") -> Column:
    return Column("location", "str", default=DEFAULT_LOCATION, doc=doc)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "sales",
            (
                Column("date", "date", required=True, doc="day (or first day of the week/month)"),
                Column("sku", "str", required=True),
                Column("quantity", "float", required=True, min_value=0, doc="units sold, >= 0"),
                _loc(),
                Column("price", "float", min_value=0, doc="unit price that day"),
                Column("on_hand", "float", min_value=0, doc="end-of-day stock; 0 = stockout"),
            ),
            key=("sku", "location", "date"),
            required=True,
            max_days_ahead=PAST_DAYS_AHEAD,
            doc="sales history, one row per sku, location and date",
        ),
        Table(
            "products",
            (
                Column("sku", "str", required=True),
                Column("name", "str"),
                Column("category", "str", default="uncategorised"),
                Column("department", "str"),
                Column("unit_cost", "float", min_value=0),
                Column("unit_price", "float", min_value=0),
                Column("supplier", "str"),
                Column("lead_time_days", "float", min_value=0),
                Column("lead_time_sd_days", "float", min_value=0),
                Column("moq", "float", min_value=0),
                Column("pack_size", "float", min_value=0, exclusive=True),
                Column("service_level", "float", min_value=0, max_value=1, exclusive=True),
                Column("preorder", "bool", default=False,
                       doc="sold before launch: orders taken before launch_date are pre-orders"),
                Column("launch_date", "date", doc="first day the product can ship; required for pre-order"),
                Column("dropship", "bool", default=False,
                       doc="shipped by the supplier: no stock policy, orders passed on"),
                Column("fractional", "bool", default=False,
                       doc="sold in fractions (kg, m): order quantities and stock levels keep "
                           "decimals; otherwise whole units"),
            ),
            key=("sku",),
            snapshot=True,
            without="unit cost 1, categories uncategorised, lead times from suppliers or the default",
            required_when=(
                RequiredWhen("launch_date", "preorder", True, "pre-order product has no launch_date"),
            ),
            doc="product master",
        ),
        Table(
            "suppliers",
            (
                Column("supplier", "str", required=True),
                Column("name", "str"),
                Column("lead_time_days", "float", min_value=0),
                Column("lead_time_sd_days", "float", min_value=0),
                Column("order_cost", "float", min_value=0),
            ),
            key=("supplier",),
            snapshot=True,
            without="products without a lead time use the default lead time",
            doc="supplier defaults for products that do not state their own lead time",
        ),
        Table(
            "campaigns",
            (
                Column("start_date", "date", required=True),
                Column("end_date", "date", required=True),
                Column("sku", "str", default=""),
                Column("category", "str", default=""),
                Column("location", "str", default="", doc="empty = every location"),
                Column("kind", "str", default="promotion"),
                Column("discount_pct", "float", min_value=0, max_value=100),
                Column("stock_quantity", "float", min_value=0,
                       doc="flash_sale: units set aside for the sale (its sales are capped there)"),
            ),
            key=("sku", "category", "location", "start_date", "kind"),
            ordered=(("start_date", "end_date"),),
            checks_sku=True,
            without="no campaign features; campaigns loaded before are kept",
            required_when=(
                RequiredWhen("stock_quantity", "kind", FLASH_SALE, "flash_sale campaign has no stock_quantity"),
            ),
            doc="marketing campaigns, past and planned; either sku or category is given",
        ),
        Table(
            "events",
            (
                Column("date", "date", required=True),
                Column("name", "str", required=True),
                Column("kind", "str", default="event"),
                Column("location", "str", default="", doc="empty = every location"),
            ),
            key=("date", "name", "location"),
            without="no event features; events loaded before are kept",
            doc="calendar events and holidays",
        ),
        Table(
            "inventory",
            (
                Column("sku", "str", required=True),
                Column("on_hand", "float", required=True),
                _loc(),
                Column("as_of", "date"),
            ),
            key=("sku", "location"),
            checks_sku=True,
            snapshot=True,
            without="stock from the last on_hand in sales, else no order recommendations",
            doc="stock on hand (negative stock is loaded and flagged by the planning step)",
        ),
        Table(
            "purchase_orders",
            (
                Column("sku", "str", required=True),
                Column("quantity", "float", required=True, min_value=0, exclusive=True),
                Column("expected_date", "date", required=True),
                Column("po_id", "str", default=""),
                _loc(),
                Column("supplier", "str"),
            ),
            key=("po_id", "sku", "location", "expected_date"),
            checks_sku=True,
            snapshot=True,
            without="nothing counted as on order",
            doc="open purchase orders (not yet received)",
        ),
        Table(
            "customer_orders",
            (
                Column("order_id", "str", required=True),
                Column("customer_id", "str", required=True),
                Column("sku", "str", required=True),
                Column("quantity", "float", required=True, min_value=0, exclusive=True),
                Column("order_date", "date", required=True),
                _loc(),
                Column("shipping", "str", default="standard", choices=SHIPPING_CHOICES),
                Column("promised_date", "date"),
                Column("unit_price", "float", min_value=0),
                Column("status", "str", default=OPEN_STATUS, choices=ORDER_STATUSES,
                       doc="open lines wait for stock; shipped/cancelled lines are history"),
                Column("status_date", "date", doc="when the line shipped or was cancelled"),
            ),
            key=("order_id", "sku", "location"),
            checks_sku=True,
            ordered=(("order_date", "promised_date"), ("order_date", "status_date")),
            snapshot=True,
            snapshot_rows=("status", OPEN_STATUS),
            without="no open customer orders: nothing allocated or backordered",
            doc="customer order lines: the open ones (waiting or backordered) and, optionally, "
            "past ones with their status (fits the cancellation curve)",
        ),
        Table(
            "receipts",
            (
                Column("po_id", "str", required=True),
                Column("sku", "str", required=True),
                Column("supplier", "str", required=True),
                Column("order_date", "date", required=True),
                Column("received_date", "date", required=True),
                Column("expected_date", "date", doc="the date the supplier confirmed"),
                Column("quantity", "float", min_value=0, exclusive=True),
                _loc(),
            ),
            key=("po_id", "sku", "location"),
            checks_sku=True,
            ordered=(("order_date", "received_date"), ("order_date", "expected_date")),
            max_days_ahead=PAST_DAYS_AHEAD,
            without="lead times from products and suppliers; receipts loaded before are kept",
            doc="received purchase orders: each supplier's real lead times and on-time rate",
        ),
        Table(
            "customers",
            (
                Column("customer_id", "str", required=True),
                Column("segment", "str", default=SEGMENT_DEFAULT),
                Column("lifetime_value", "float", min_value=0),
                Column("language", "str", doc="messages in this language (fr, en ...); empty = the default"),
                Column("email", "str", doc="customer messages by e-mail (never invented)"),
                Column("phone", "str", doc="customer messages by SMS (never invented)"),
            ),
            key=("customer_id",),
            snapshot=True,
            without="every customer in the regular segment",
            doc="customers",
        ),
        Table(
            "overrides",
            (
                Column("sku", "str", required=True),
                Column("location", "str", default="", doc="empty = every location of the SKU"),
                Column("reorder_point", "float", min_value=0, doc="min set by the planner (the reorder point)"),
                Column("max_level", "float", min_value=0, doc="max set by the planner (order-up-to level)"),
                Column("order_quantity", "float", min_value=0, exclusive=True,
                       doc="fixed order quantity Q set by the planner"),
                Column("service_level", "float", min_value=0, max_value=1, exclusive=True,
                       doc="service level for this SKU and location, a fraction"),
                Column("policy", "str", choices=OVERRIDE_POLICIES, doc="stock policy: sQ, sS or RS"),
                Column("review_period_days", "float", min_value=0, exclusive=True,
                       doc="review period of an RS policy override"),
                Column("expires", "date", doc="last day the override holds; empty = until removed"),
                Column("reason", "str", doc="why the planner set it (shown beside it)"),
            ),
            key=("sku", "location"),
            checks_sku=True,
            doc="planner overrides per SKU and location: min, max, order quantity, service level, "
            "policy; the plan uses them and shows the computed value beside each",
        ),
        Table(
            "stock_movements",
            (
                Column("sku", "str", required=True),
                Column("quantity", "float", required=True,
                       doc="signed units: negative leaves stock (sale, transfer_out), positive "
                           "arrives (receipt, return, transfer_in); count: the counted level"),
                Column("moved_at", "timestamp", required=True,
                       doc="when it happened, ISO local time (2026-11-01T10:40:00)"),
                _loc(),
                Column("kind", "str", default="adjustment", choices=MOVEMENT_KINDS,
                       doc="count sets on hand to the quantity; the others add it"),
                Column("reference", "str", default="",
                       doc="PO, order or count id: a receipt naming an open po_id reduces that "
                           "PO; a sale naming an open order_id ships that line"),
                Column("movement_id", "str",
                       doc="idempotence key; empty = <file name>:<line>"),
            ),
            key=("movement_id",),
            checks_sku=True,
            max_days_ahead=PAST_DAYS_AHEAD,
            line_key="movement_id",
            signs=(
                SignRule("quantity", "kind", MOVEMENT_OUT, -1,
                         "must be <= 0 for a sale or transfer_out (stock leaving)"),
                SignRule("quantity", "kind", (*MOVEMENT_IN, MOVEMENT_COUNT), 1,
                         "must be >= 0 for a receipt, return, transfer_in or count"),
            ),
            without="no stock movements: stock is the inventory snapshot as loaded",
            doc="stock movements as they happen (ERP / stock system), applied by `forecast "
            "sync` between nightly runs and by the nightly run after its stock snapshot",
        ),
    )
}

#: Load order: reference checks need products and sales first.
LOAD_ORDER = (
    "sales",
    "products",
    "suppliers",
    "customers",
    "campaigns",
    "events",
    "inventory",
    "stock_movements",
    "purchase_orders",
    "customer_orders",
    "receipts",
    "overrides",
)


def find_table_files(data_dir: str | Path) -> dict[str, Path]:
    """Map table name -> file in ``data_dir``; raise ContractError when sales is missing or a
    table has two files (``sales.csv`` and ``sales.parquet``)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ContractError(f"{data_dir}: data folder not found")
    found: dict[str, Path] = {}
    for name in TABLES:
        matches = [data_dir / f"{name}{s}" for s in FILE_SUFFIXES if (data_dir / f"{name}{s}").exists()]
        if len(matches) > 1:
            listed = ", ".join(m.name for m in matches)
            raise ContractError(f"{data_dir}: table {name!r} has several files ({listed}); keep one")
        if matches:
            found[name] = matches[0]
    missing = [t.name for t in TABLES.values() if t.required and t.name not in found]
    if missing:
        raise ContractError(
            f"{data_dir}: required table file missing: {', '.join(missing)} "
            f"(expected e.g. {missing[0]}.csv, {missing[0]}.csv.gz or {missing[0]}.parquet)"
        )
    return found


def describe_contract_markdown() -> str:
    """The contract as a markdown table (kept in the README)."""
    lines = ["| table | column | type | required | default | rule |", "|---|---|---|---|---|---|"]
    for table in TABLES.values():
        for c in table.columns:
            rule = []
            if c.min_value is not None:
                rule.append(f"{'>' if c.exclusive else '>='} {c.min_value:g}")
            if c.max_value is not None:
                rule.append(f"{'<' if c.exclusive else '<='} {c.max_value:g}")
            if c.choices:
                rule.append(" / ".join(c.choices))
            if c.type == "bool":
                rule.append("yes/no")
            default = "" if c.default in (None, "") else str(c.default).lower()
            lines.append(
                f"| {table.name} | {c.name} | {c.type} | {'yes' if c.required else ''} "
                f"| {default} | {', '.join(rule)} {c.doc} |"
            )
    for table in TABLES.values():
        for sign in table.signs:
            lines.append(f"| {table.name} | {sign.column} | | when {sign.when} is "
                         f"{' / '.join(sign.values)} | | {sign.reason} |")
        for req in table.required_when:
            lines.append(f"| {table.name} | {req.column} | | when {req.when} = {str(req.value).lower()} "
                         f"| | rejected otherwise: {req.reason} |")
    return "\n".join(lines)
