"""What each waiting customer receives: at most one message a day, in their language.

:mod:`forecast.backorders.notifications` says which order *lines* changed; customers do not read
lines, they read messages. This module turns the waiting lines of the allocation in use (rows
of :func:`forecast.backorders.allocation.allocate`, or of the backorder book, which carries the
same columns) into one message per customer and day, listing that customer's waiting lines
grouped by order, each with its status and date.

**Moments** (most important first; a line's moment is the first that applies, a message's
``moment`` the most important of its lines', the others listed in ``moments``):

============== ================================================================================
backordered    the line waits (backordered, partial, no supply planned, or a dropship line
               expected after its promise) and the customer was never told, or was last told it
               was ready: the new date and the reason ("supplier delivery expected on D", or "no
               delivery planned yet: we will tell you by D", D = today + the cadence)
date_changed   a told line's ETA moved by ``date_change_days`` or more (earlier or later)
               against the ETA last told, or gained or lost its supply date
ready_to_ship  a line told it was waiting now ships in full (stock arrived or was allocated)
preorder_      a pre-order line (ordered before its product's ``launch_date``) seen for the
confirmed      first time before launch: confirmed with the launch date, not a backorder notice
still_waiting  a told line still waits and nothing was said about it for ``cadence_days`` or
               more (it gets an update every ``cadence_days`` days even when nothing moved;
               pre-orders only after launch)
============== ================================================================================

**One a day.** The message day is the run's as-of date. A customer who already got a message
that day gets no second one: what a later run of the same day finds is said the next day (the
moments are found by comparing the lines with what was last told, so nothing is lost). A rerun
on unchanged data therefore sends nothing twice. Lines ordered after the as-of date are left
out (they did not exist yet that day).

**Easy cancellation.** A waiting line is offered a one-step cancellation when it is late beyond
``cancel_late_days`` (days late at its ETA, or no supply planned), its date moved later by more
than ``cancel_moved_days`` against the date last told, or its cancellation probability (before
its ETA, :mod:`forecast.backorders.cancellation`) exceeds ``cancel_risk``; each comparison is
strict, so a line exactly at a threshold is not offered. The offer then stands in every later
message about the line. The link comes from ``cancel_url_template`` (placeholders
``{order_id}``, ``{line_id}`` = ``sku-location``, ``{sku}``, ``{location}``, ``{customer_id}``),
and the message promises a refund and a reply within ``cancel_reply_days`` days.

**Wording** comes from Jinja2 templates, one folder per language (``templates/messages/<lang>/``:
``subject.txt.j2``, ``text.txt.j2``, ``sms.txt.j2``; French and English shipped; another folder
with the same files can replace them). The language is the customer's ``language`` (its first two
letters, lower case) when a folder exists for it, else the default. The SMS version is at most
``sms_max_chars`` characters (rendered without the link, then cut, when longer). The channel comes
from the customer's ``email`` / ``phone`` (``email``, ``sms``, ``email+sms``, or ``none`` when
neither is on file: nothing is invented).

:func:`build_messages` is pure (frames in, frames out): the publish step and a stock sync that
releases lines can both call it with the lines and the state read from the warehouse
(``Warehouse.message_line_state``), then record :attr:`MessagePlan.lines` and
:attr:`MessagePlan.messages`.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import jinja2
import numpy as np
import pandas as pd

from forecast.config import RunSettings

LINE_KEY = ["order_id", "sku", "location"]
#: Moments, most important first.
MOMENTS = ("backordered", "date_changed", "ready_to_ship", "preorder_confirmed", "still_waiting")
WAITING = ("backordered", "partial", "no_supply_planned")
MESSAGE_COLUMNS = [
    "message_id", "customer_id", "order_id", "moment", "language", "channel", "subject", "text",
    "sms_text", "lines", "cancel_url", "created_for_run",
]
#: The ``customer_messages`` history table: the export's columns, the other moments, the day.
HISTORY_COLUMNS = [*MESSAGE_COLUMNS, "moments", "day", "created_at"]
#: The ``customer_message_lines`` table: each line a message listed (the state next time).
LINE_COLUMNS = [
    "message_id", "customer_id", "order_id", "sku", "location", "day", "moment", "status", "eta",
    "promised_date", "cancel_offered", "cancel_url", "created_for_run", "created_at",
]
#: What was last told per line (``Warehouse.message_line_state``).
STATE_COLUMNS = [*LINE_KEY, "told_on", "told_status", "told_eta", "cancel_offered_on"]
URL_FIELDS = frozenset({"order_id", "line_id", "sku", "location", "customer_id"})
TEMPLATE_FILES = ("subject.txt.j2", "text.txt.j2", "sms.txt.j2")


@dataclass(frozen=True)
class MessageSettings:
    """Message rules (``RunSettings`` fields of the same meaning; see the module docstring)."""

    default_language: str = "en"
    date_change_days: int = 2
    cadence_days: int = 7
    cancel_late_days: float = 7
    cancel_moved_days: float = 7
    cancel_risk: float = 0.25
    cancel_url_template: str = (
        "https://shop.example/account/orders/{order_id}/cancel?line={line_id}")
    cancel_reply_days: int = 2
    templates_dir: Path | None = None
    sms_max_chars: int = 160

    def __post_init__(self) -> None:
        check_url_template(self.cancel_url_template)
        if self.cadence_days < 1:
            raise ValueError(f"message cadence must be at least 1 day, got {self.cadence_days}")

    @classmethod
    def from_run(cls, settings: RunSettings) -> MessageSettings:
        """The message rules of a run's settings (``message_*`` and ``cancel_*`` fields)."""
        return cls(
            default_language=settings.message_language,
            date_change_days=settings.message_date_change_days,
            cadence_days=settings.message_cadence_days,
            cancel_late_days=settings.cancel_offer_late_days,
            cancel_moved_days=settings.cancel_offer_moved_days,
            cancel_risk=settings.cancel_offer_risk,
            cancel_url_template=settings.cancel_url_template,
            cancel_reply_days=settings.cancel_reply_days,
            templates_dir=settings.message_templates_dir,
        )


@dataclass(frozen=True)
class MessagePlan:
    """One run's messages (``HISTORY_COLUMNS``) and the lines they listed (``LINE_COLUMNS``)."""

    messages: pd.DataFrame
    lines: pd.DataFrame


def check_url_template(template: str) -> str:
    """The template itself, or a ValueError naming an unknown ``{placeholder}``."""
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    unknown = sorted(names - URL_FIELDS)
    if unknown:
        raise ValueError(f"cancel URL template {template!r}: unknown placeholder(s) "
                         f"{', '.join(unknown)} (use {', '.join(sorted(URL_FIELDS))})")
    return template


def cancel_url(template: str, customer_id: str, order_id: str, sku: str, location: str) -> str:
    """The one-step cancellation link of an order line (values URL-quoted)."""
    values = {"order_id": order_id, "sku": sku, "location": location,
              "customer_id": customer_id, "line_id": f"{sku}-{location}"}
    return template.format(**{k: quote(str(v), safe="") for k, v in values.items()})


# -- moments -------------------------------------------------------------------------------------


def line_moments(
    lines: pd.DataFrame,
    state: pd.DataFrame | None,
    products: pd.DataFrame | None,
    as_of: date,
    cfg: MessageSettings,
) -> pd.DataFrame:
    """Each open line with its moment today (None: nothing new), whether it waits, and its
    cancellation offer.

    ``lines``: order_id, customer_id, sku, location, quantity, allocated_now, status,
    order_date, promised_date, eta, delay_days, cancel_probability (allocation or book rows of
    one policy). ``state``: ``STATE_COLUMNS`` (what was last told per line). ``products``: sku
    [, name, preorder, launch_date]. Adds: name, launch_date, preorder_pending, waiting,
    told_on, told_status, told_eta, moment, cancel_offered, cancel_reason.
    """
    today = pd.Timestamp(as_of)
    frame = lines[pd.to_datetime(lines["order_date"]) <= today].copy()
    frame = frame.merge(_product_facts(products), on="sku", how="left")
    frame = frame.merge(_state(state), on=LINE_KEY, how="left")
    eta = pd.to_datetime(frame["eta"])
    promised = pd.to_datetime(frame["promised_date"])
    launch = pd.to_datetime(frame["launch_date"])
    told_eta = pd.to_datetime(frame["told_eta"])
    status = frame["status"].astype(str)

    dropship_late = (status == "dropship") & eta.notna() & promised.notna() & (eta > promised)
    waiting = status.isin(WAITING) | dropship_late
    preorder = frame["preorder"].fillna(False).astype(bool) & launch.notna()
    preorder = preorder & (pd.to_datetime(frame["order_date"]) < launch)
    pending = preorder & (today < launch)
    told = frame["told_on"].notna()
    told_waiting = told & (frame["told_status"] != "allocated")
    change = (eta - told_eta).dt.days
    moved = (eta.notna() & told_eta.notna() & (change.abs() >= cfg.date_change_days)) | (
        eta.isna() != told_eta.isna())
    silent_days = (today - pd.to_datetime(frame["told_on"])).dt.days

    conditions = [
        waiting & ~pending & (~told | ~told_waiting),
        waiting & told_waiting & moved,
        (status == "allocated") & told_waiting,
        pending & ~told,
        waiting & told_waiting & ~pending & (silent_days >= cfg.cadence_days),
    ]
    moment = pd.Series(np.select(conditions, list(MOMENTS), default=""), index=frame.index)
    frame["moment"] = moment.astype(object).where(moment != "", None)
    frame["waiting"] = waiting | pending
    frame["preorder_pending"] = pending

    # The offer: strictly beyond a threshold; once made it stands while the line waits.
    delay = pd.to_numeric(frame["delay_days"], errors="coerce")
    late = (delay > cfg.cancel_late_days) | (status == "no_supply_planned")
    later = told & told_eta.notna() & eta.notna() & (change > cfg.cancel_moved_days)
    risky = pd.to_numeric(frame["cancel_probability"], errors="coerce") > cfg.cancel_risk
    before = frame["cancel_offered_on"].notna()
    frame["cancel_offered"] = frame["waiting"] & (late | later | risky | before)
    frame["cancel_reason"] = np.select(
        [late, later, risky, before], ["late", "moved_later", "risk", "offered_before"], default="")
    frame.loc[~frame["cancel_offered"], "cancel_reason"] = ""
    return frame.reset_index(drop=True)


def _product_facts(products: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["sku", "name", "preorder", "launch_date"]
    if products is None or products.empty:
        return pd.DataFrame(columns=columns).astype(object)
    facts = products.reindex(columns=columns).drop_duplicates("sku", keep="last")
    facts["preorder"] = facts["preorder"].astype(object).where(facts["preorder"].notna(), False)
    return facts


def _state(state: pd.DataFrame | None) -> pd.DataFrame:
    if state is None or state.empty:
        return pd.DataFrame(columns=STATE_COLUMNS).astype(object)
    return state.reindex(columns=STATE_COLUMNS).drop_duplicates(LINE_KEY, keep="last")


# -- messages ------------------------------------------------------------------------------------


def build_messages(
    lines: pd.DataFrame,
    state: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    products: pd.DataFrame | None,
    as_of: date,
    cfg: MessageSettings | None = None,
    run_id: str | None = None,
    last_message_days: pd.DataFrame | None = None,
    created_at: datetime | None = None,
) -> MessagePlan:
    """The messages of day ``as_of``: one per customer with at least one line whose moment is
    today, unless ``last_message_days`` (customer_id, day) says the customer already got one
    that day (or later). Each message lists the customer's waiting lines and today's ready
    ones, grouped by order. See :func:`line_moments` for ``lines``, ``state``, ``products``;
    ``customers``: customer_id[, language, email, phone]."""
    cfg = cfg or MessageSettings()
    stamp = pd.Timestamp(created_at or datetime.now())
    frame = line_moments(lines, state, products, as_of, cfg)
    frame = frame[frame["moment"].notna() | frame["waiting"]]
    due = set(frame.loc[frame["moment"].notna(), "customer_id"].astype(str))
    if last_message_days is not None and len(last_message_days):
        days = pd.to_datetime(last_message_days["day"]).dt.date
        served = set(last_message_days.loc[days >= as_of, "customer_id"].astype(str))
        due -= served
    frame = _in_message_order(frame[frame["customer_id"].astype(str).isin(due)])
    contacts = _contacts(customers, cfg)
    renderer = _renderer(cfg.templates_dir)
    day = pd.Timestamp(as_of).date()
    # Every line's view at once; a customer's lines are contiguous, in message order.
    ids = frame["customer_id"].astype(str).to_numpy()
    views = [_line_view(r, c, cfg, day) for r, c in zip(frame.itertuples(index=False), ids, strict=True)]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], dtype=int)
    ends = [*starts[1:], len(ids)] if len(ids) else []
    messages, listed = [], []
    for start, end in zip(starts, ends, strict=True):
        customer_id = ids[start]
        message, rows = _message(customer_id, views[start:end], contacts.get(customer_id, {}),
                                 as_of, cfg, renderer, run_id)
        messages.append({**message, "created_at": stamp})
        listed.extend({**r, "created_at": stamp} for r in rows)
    return MessagePlan(
        pd.DataFrame(messages, columns=HISTORY_COLUMNS),
        pd.DataFrame(listed, columns=LINE_COLUMNS),
    )


def _contacts(customers: pd.DataFrame | None, cfg: MessageSettings) -> dict[str, dict]:
    if customers is None or customers.empty:
        return {}
    frame = customers.reindex(columns=["customer_id", "language", "email", "phone"])
    out = {}
    for row in frame.itertuples(index=False):
        out[str(row.customer_id)] = {
            "language": _filled(row.language), "email": _filled(row.email),
            "phone": _filled(row.phone)}
    return out


def _filled(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def channel(contact: dict) -> str:
    """email, sms, email+sms or none: only what the customer gave."""
    parts = [name for name, key in (("email", "email"), ("sms", "phone")) if contact.get(key)]
    return "+".join(parts) or "none"


def _in_message_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Lines by customer, then as a message lists them: the most important moment first, the
    latest line first within it (no planned supply counts as latest), then order, SKU and
    location. The first line of a customer is its message's lead line (the subject's)."""
    rank = {m: i for i, m in enumerate(MOMENTS)}
    lateness = pd.to_numeric(frame["delay_days"], errors="coerce").fillna(0).where(
        frame["status"] != "no_supply_planned", np.inf)
    ordered = frame.assign(_cid=frame["customer_id"].astype(str),
                           _rank=frame["moment"].map(rank).fillna(len(MOMENTS)), _late=-lateness)
    ordered = ordered.sort_values(["_cid", "_rank", "_late", "order_id", "sku", "location"],
                                  kind="stable")
    return ordered.drop(columns=["_cid", "_rank", "_late"])


def _message(
    customer_id: str, line_dicts: list[dict], contact: dict, as_of: date, cfg: MessageSettings,
    renderer: Renderer, run_id: str | None,
) -> tuple[dict, list[dict]]:
    """One customer's message (a history row) and the lines it lists (their views, in message
    order: :func:`_in_message_order`)."""
    present = {line["moment"] for line in line_dicts if line["moment"]}
    found = [m for m in MOMENTS if m in present]
    moment, others = found[0], found[1:]
    language = renderer.language(contact.get("language"), cfg.default_language)
    day = pd.Timestamp(as_of).date()
    message_id = f"M{day:%Y%m%d}-{customer_id}"
    orders: dict[str, list[dict]] = {}
    for line in line_dicts:
        orders.setdefault(line["order_id"], []).append(line)
    offers = [line for line in line_dicts if line["cancel_offered"]]
    context = {
        "customer_id": customer_id, "moment": moment, "moments": others, "day": day,
        "orders": [{"order_id": k, "lines": v} for k, v in orders.items()],
        "lead": line_dicts[0], "n_lines": len(line_dicts), "cancel_offers": offers,
        "reply_days": cfg.cancel_reply_days, "next_update": day + timedelta(days=cfg.cadence_days),
    }
    subject, text, sms = renderer.render(language, context, cfg.sms_max_chars)
    urls = list(dict.fromkeys(line["cancel_url"] for line in offers))
    message = {
        "message_id": message_id, "customer_id": customer_id,
        "order_id": ";".join(orders), "moment": moment, "language": language,
        "channel": channel(contact), "subject": subject, "text": text, "sms_text": sms,
        "lines": json.dumps([_line_json(line) for line in line_dicts]),
        "cancel_url": " ".join(urls) or None, "created_for_run": run_id,
        "moments": ",".join(others), "day": day,
    }
    rows = [{
        "message_id": message_id, "customer_id": customer_id, "order_id": line["order_id"],
        "sku": line["sku"], "location": line["location"], "day": day,
        "moment": line["moment"], "status": line["status"], "eta": line["eta"],
        "promised_date": line["promised_date"], "cancel_offered": line["cancel_offered"],
        "cancel_url": line["cancel_url"] or None, "created_for_run": run_id,
    } for line in line_dicts]
    return message, rows


def _day_or_none(value: object) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _line_view(r: object, customer_id: str, cfg: MessageSettings, day: date) -> dict:
    """What a template sees of one line (every key always present)."""
    eta = _day_or_none(r.eta)
    if r.status == "allocated":
        reason = "ready"
    elif r.preorder_pending:
        reason = "preorder"
    elif eta is None:
        reason = "no_delivery"
    elif r.status == "dropship":
        reason = "dropship"
    else:
        reason = "delivery"
    offered = bool(r.cancel_offered)
    name = r.name if isinstance(r.name, str) and r.name.strip() else str(r.sku)
    return {
        "order_id": str(r.order_id), "sku": str(r.sku), "location": str(r.location),
        "name": name, "quantity": float(r.quantity), "allocated_now": float(r.allocated_now or 0),
        "status": str(r.status), "moment": r.moment if isinstance(r.moment, str) else None,
        "eta": eta, "promised_date": _day_or_none(r.promised_date),
        "launch_date": _day_or_none(r.launch_date), "reason": reason,
        "late": reason == "no_delivery" or bool(pd.notna(r.delay_days) and r.delay_days > 0),
        "tell_by": day + timedelta(days=cfg.cadence_days),
        "cancel_offered": offered, "cancel_reason": str(r.cancel_reason),
        "cancel_url": cancel_url(cfg.cancel_url_template, customer_id, str(r.order_id),
                                 str(r.sku), str(r.location)) if offered else "",
    }


def _line_json(line: dict) -> dict:
    keys = ("order_id", "sku", "location", "quantity", "status", "moment", "eta",
            "promised_date", "reason", "cancel_offered", "cancel_url")
    return {k: (line[k].isoformat() if isinstance(line[k], date) else line[k]) for k in keys}


# -- templates -----------------------------------------------------------------------------------


def shipped_templates_dir() -> Path:
    """The templates shipped with the package (``templates/messages``)."""
    return Path(str(resources.files("forecast.backorders").joinpath("templates/messages")))


class Renderer:
    """Subject, text and SMS of a message from one folder per language (StrictUndefined: a
    template naming a field the context lacks fails instead of printing nothing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.languages = tuple(sorted(
            p.name for p in self.folder.iterdir()
            if p.is_dir() and all((p / f).is_file() for f in TEMPLATE_FILES)))
        if not self.languages:
            raise ValueError(f"{self.folder}: no message templates (a folder per language with "
                             f"{', '.join(TEMPLATE_FILES)})")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.folder)), undefined=jinja2.StrictUndefined,
            autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)

    def language(self, wanted: str | None, default: str) -> str:
        code = (wanted or "").strip().lower()[:2]
        if code in self.languages:
            return code
        if default in self.languages:
            return default
        raise ValueError(f"{self.folder}: no message templates for the default language "
                         f"{default!r} (have {', '.join(self.languages)})")

    def render(self, language: str, context: dict, sms_max_chars: int) -> tuple[str, str, str]:
        def part(name: str, **extra: object) -> str:
            template = self.env.get_template(f"{language}/{name}")
            return template.render(**context, **extra).strip()

        subject = " ".join(part("subject.txt.j2").split())
        text = part("text.txt.j2")
        sms = " ".join(part("sms.txt.j2", with_link=True).split())
        if len(sms) > sms_max_chars:
            sms = " ".join(part("sms.txt.j2", with_link=False).split())
        if len(sms) > sms_max_chars:
            sms = sms[: sms_max_chars - 1].rstrip() + "…"
        return subject, text, sms


@cache
def _cached_renderer(folder: str) -> Renderer:
    return Renderer(Path(folder))


def _renderer(folder: Path | None) -> Renderer:
    return _cached_renderer(str(folder or shipped_templates_dir()))


# -- history ------------------------------------------------------------------------------------


def cancel_offers(state: pd.DataFrame | None, plan_lines: pd.DataFrame) -> pd.DataFrame:
    """order_id, sku, location, cancel_offered_on: the first day each line was offered a
    cancellation (earlier offers from ``state``, else this plan's)."""
    columns = [*LINE_KEY, "cancel_offered_on"]
    parts = []
    if state is not None and len(state):
        parts.append(state.loc[state["cancel_offered_on"].notna(), columns])
    if len(plan_lines):
        new = plan_lines[plan_lines["cancel_offered"].astype(bool)]
        parts.append(new[[*LINE_KEY, "day"]].rename(columns={"day": "cancel_offered_on"}))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=columns)
    offers = pd.concat(parts, ignore_index=True)
    offers["cancel_offered_on"] = pd.to_datetime(offers["cancel_offered_on"]).dt.date
    return offers.sort_values("cancel_offered_on").drop_duplicates(LINE_KEY).reset_index(drop=True)


def moment_counts(messages: pd.DataFrame) -> dict[str, int]:
    """Messages per moment (every moment present, 0 when none)."""
    counts = messages["moment"].value_counts() if len(messages) else pd.Series(dtype=int)
    return {m: int(counts.get(m, 0)) for m in MOMENTS}


def filter_messages(
    messages: pd.DataFrame,
    customers: list[str] | None = None,
    moments: list[str] | None = None,
) -> pd.DataFrame:
    """The messages of the given customers and moments (any of each list); a moment matches
    the message's main ``moment`` or one merged into it. An unknown moment is a ValueError."""
    unknown = sorted(set(moments or ()) - set(MOMENTS))
    if unknown:
        raise ValueError(f"unknown moment(s) {', '.join(unknown)}; choose from {', '.join(MOMENTS)}")
    keep = pd.Series(True, index=messages.index)
    if customers:
        keep &= messages["customer_id"].astype(str).isin([str(c) for c in customers])
    if moments:
        merged = messages["moments"].fillna("").astype(str).str.split(",")
        keep &= messages["moment"].isin(moments) | merged.map(lambda ms: bool(set(ms) & set(moments)))
    return messages[keep].reset_index(drop=True)
