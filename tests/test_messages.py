"""Customer messages (forecast.backorders.messages): one per customer and day, moments on a
cadence, the cancellation offer at its thresholds, French and English wording, no repeats."""

from __future__ import annotations

import json
from datetime import date, timedelta

import jinja2
import pandas as pd
import pytest

from forecast.backorders.messages import (
    MESSAGE_COLUMNS,
    MOMENTS,
    MessageSettings,
    build_messages,
    cancel_offers,
    filter_messages,
    line_moments,
    shipped_templates_dir,
)
from forecast.ingest.warehouse import Warehouse

DAY0 = date(2026, 10, 1)
PRODUCTS = pd.DataFrame([
    {"sku": "KETTLE", "name": "Kettle", "preorder": False, "launch_date": None},
    {"sku": "PHONE", "name": "Phone X", "preorder": True, "launch_date": date(2026, 11, 20)},
])
CUSTOMERS = pd.DataFrame([
    {"customer_id": "C1", "language": "fr", "email": "c1@example.com", "phone": None},
    {"customer_id": "C2", "language": "EN-gb", "email": None, "phone": "+44 7700 900002"},
    {"customer_id": "C3", "language": None, "email": None, "phone": None},
])


def line(order_id="O1", customer_id="C1", sku="KETTLE", status="backordered", eta="2026-11-30",
         promised="2026-10-05", ordered=DAY0, delay=None, risk=0.0, allocated_now=0.0, qty=2.0):
    eta_ts = pd.Timestamp(eta) if eta else None
    if delay is None and eta_ts is not None:
        delay = max((eta_ts - pd.Timestamp(promised)).days, 0)
    return {"order_id": order_id, "customer_id": customer_id, "sku": sku, "location": "main",
            "quantity": qty, "allocated_now": allocated_now, "status": status,
            "order_date": pd.Timestamp(ordered), "promised_date": pd.Timestamp(promised),
            "eta": eta_ts, "delay_days": delay, "cancel_probability": risk}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def send(wh: Warehouse, lines: pd.DataFrame, day: date, cfg: MessageSettings | None = None,
         run_id: str = "r"):
    """One publish: build from the warehouse's state, record, return the plan."""
    plan = build_messages(lines, wh.message_line_state(), CUSTOMERS, PRODUCTS, day, cfg,
                          f"{run_id}-{day}", wh.last_message_days())
    wh.record_customer_messages(plan.messages, plan.lines)
    return plan


def test_a_line_waiting_20_days_gets_its_7_and_14_day_updates_exactly_once(tmp_path) -> None:
    lines = frame(line())
    with Warehouse(tmp_path / "w.duckdb") as wh:
        sent = {}
        for k in range(21):
            day = DAY0 + timedelta(days=k)
            plan = send(wh, lines, day)
            assert len(plan.messages) <= 1
            if len(plan.messages):
                sent[k] = plan.messages["moment"].iloc[0]
        history = wh.customer_messages()
    assert sent == {0: "backordered", 7: "still_waiting", 14: "still_waiting"}
    assert sorted(pd.to_datetime(history["day"]).dt.date) == [
        DAY0, DAY0 + timedelta(days=7), DAY0 + timedelta(days=14)]


def test_a_date_change_restarts_the_cadence(tmp_path) -> None:
    with Warehouse(tmp_path / "w.duckdb") as wh:
        sent = {}
        for k in range(15):
            eta = "2026-11-30" if k < 4 else "2026-12-04"  # moved 4 days later on day 4
            plan = send(wh, frame(line(eta=eta)), DAY0 + timedelta(days=k))
            if len(plan.messages):
                sent[k] = plan.messages["moment"].iloc[0]
    assert sent == {0: "backordered", 4: "date_changed", 11: "still_waiting"}


def test_three_moments_of_one_day_give_one_message(tmp_path) -> None:
    day1 = DAY0 + timedelta(days=3)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        send(wh, frame(line("O1", sku="KETTLE"), line("O2", sku="KETTLE")), DAY0)
        # Day 3: O1's date moved 10 days, O2 is allocated, O3 is new and cannot ship.
        plan = send(wh, frame(
            line("O1", sku="KETTLE", eta="2026-12-10"),
            line("O2", sku="KETTLE", status="allocated", eta=str(day1), allocated_now=2.0),
            line("O3", sku="KETTLE", ordered=day1, promised="2026-10-10"),
        ), day1)
    assert len(plan.messages) == 1
    message = plan.messages.iloc[0]
    assert message["moment"] == "backordered"
    assert message["moments"] == "date_changed,ready_to_ship"
    assert message["order_id"] == "O3;O1;O2"
    listed = json.loads(message["lines"])
    assert [(x["order_id"], x["moment"]) for x in listed] == [
        ("O3", "backordered"), ("O1", "date_changed"), ("O2", "ready_to_ship")]
    assert message["message_id"] == f"M{day1:%Y%m%d}-C1"
    # French (C1's language): the grouped lines say their status and date.
    assert "Commande O1 :" in message["text"] and "10 décembre 2026" in message["text"]
    assert "prêt à être expédié" in message["text"]


@pytest.mark.parametrize(("field", "below", "above"), [
    ("delay", 7, 8), ("risk", 0.25, 0.26)])
def test_cancellation_is_offered_exactly_beyond_a_threshold(field, below, above) -> None:
    cfg = MessageSettings(cancel_late_days=7, cancel_risk=0.25)
    rows = [line(order_id="AT", **{field: below}), line(order_id="BEYOND", **{field: above})]
    if field == "risk":  # keep the lateness under its own threshold
        rows = [{**r, "delay_days": 1} for r in rows]
    moments = line_moments(frame(*rows), None, PRODUCTS, DAY0, cfg).set_index("order_id")
    assert not moments.loc["AT", "cancel_offered"]
    assert moments.loc["BEYOND", "cancel_offered"]
    assert moments.loc["BEYOND", "cancel_reason"] == ("late" if field == "delay" else "risk")


def test_cancellation_is_offered_when_the_date_moves_later_beyond_the_threshold(tmp_path) -> None:
    cfg = MessageSettings(cancel_late_days=100, cancel_moved_days=7, date_change_days=2)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        send(wh, frame(line("O1", delay=1), line("O2", customer_id="C2", delay=1)), DAY0, cfg)
        later = DAY0 + timedelta(days=1)
        plan = send(wh, frame(line("O1", eta="2026-12-07", delay=1),      # 7 days later: not beyond
                              line("O2", customer_id="C2", eta="2026-12-08", delay=1)), later, cfg)
        offers = cancel_offers(wh.message_line_state(), plan.lines)
    by_order = plan.lines.set_index("order_id")
    assert not by_order.loc["O1", "cancel_offered"] and by_order.loc["O2", "cancel_offered"]
    assert by_order.loc["O2", "cancel_url"] == (
        "https://shop.example/account/orders/O2/cancel?line=KETTLE-main")
    message = plan.messages.set_index("customer_id").loc["C2"]
    assert message["cancel_url"] == by_order.loc["O2", "cancel_url"]
    assert "refund you in full and confirm within 2 days" in message["text"]
    assert offers.set_index("order_id").loc["O2", "cancel_offered_on"] == later
    assert "O1" not in set(offers["order_id"])


def test_no_supply_is_offered_and_the_offer_stands_later(tmp_path) -> None:
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first = send(wh, frame(line(status="no_supply_planned", eta=None, delay=None)), DAY0)
        # Supply found, on time now: the date change still carries the standing offer.
        again = send(wh, frame(line(eta="2026-10-04", delay=0)), DAY0 + timedelta(days=2))
        offered_on = cancel_offers(wh.message_line_state(), again.lines)["cancel_offered_on"]
    assert bool(first.lines["cancel_offered"].iloc[0])
    assert "no delivery planned yet" not in first.messages["text"].iloc[0]  # French customer
    assert "aucune livraison prévue" in first.messages["text"].iloc[0]
    assert again.messages["moment"].iloc[0] == "date_changed"
    assert bool(again.lines["cancel_offered"].iloc[0])
    assert list(offered_on) == [DAY0]


def test_a_rerun_on_unchanged_data_sends_nothing_new(tmp_path) -> None:
    lines = frame(line("O1"), line("O2", customer_id="C2", sku="PHONE", eta="2026-11-20",
                                   promised="2026-11-20"))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first = send(wh, lines, DAY0)
        again = send(wh, lines, DAY0, run_id="rerun")
        next_day = send(wh, lines, DAY0 + timedelta(days=1))
        assert len(wh.customer_messages()) == 2
    assert sorted(first.messages["moment"]) == ["backordered", "preorder_confirmed"]
    assert again.messages.empty and next_day.messages.empty


def test_one_message_a_day_defers_a_later_change_to_the_next_day(tmp_path) -> None:
    with Warehouse(tmp_path / "w.duckdb") as wh:
        send(wh, frame(line()), DAY0)
        same_day = send(wh, frame(line(eta="2026-12-20")), DAY0)
        next_day = send(wh, frame(line(eta="2026-12-20")), DAY0 + timedelta(days=1))
    assert same_day.messages.empty
    assert next_day.messages["moment"].tolist() == ["date_changed"]


def test_language_channel_and_lines_ordered_later_are_left_out() -> None:
    rows = frame(line("O1", customer_id="C1"), line("O2", customer_id="C2"),
                 line("O3", customer_id="C3"),
                 line("O4", customer_id="C3", ordered=DAY0 + timedelta(days=1)))
    plan = build_messages(rows, None, CUSTOMERS, PRODUCTS, DAY0, run_id="r1")
    got = plan.messages.set_index("customer_id")
    assert got["language"].to_dict() == {"C1": "fr", "C2": "en", "C3": "en"}
    assert got["channel"].to_dict() == {"C1": "email", "C2": "sms", "C3": "none"}
    assert got.loc["C3", "order_id"] == "O3"
    assert list(plan.messages.columns[: len(MESSAGE_COLUMNS)]) == MESSAGE_COLUMNS
    assert (plan.messages["created_for_run"] == "r1").all()


def _one_of_each_moment() -> dict[str, tuple[pd.DataFrame, pd.DataFrame | None, date]]:
    """Lines, state and day that give each moment."""
    told = pd.DataFrame([{"order_id": order, "sku": "KETTLE", "location": "main",
                          "told_on": DAY0, "told_status": "backordered",
                          "told_eta": date(2026, 11, 30), "cancel_offered_on": None}
                         for order in ("O1", "O2")])
    week = DAY0 + timedelta(days=7)
    return {
        "backordered": (frame(line(), line("O2", status="no_supply_planned", eta=None)), None,
                        DAY0),
        "date_changed": (frame(line(eta="2026-12-25")), told, week),
        "ready_to_ship": (frame(line(status="allocated", eta=str(week), allocated_now=2)),
                          told, week),
        "preorder_confirmed": (frame(line(sku="PHONE", eta="2026-11-20", promised="2026-11-20")),
                               None, DAY0),
        "still_waiting": (frame(line(), line("O2", status="partial", allocated_now=1)), told,
                          week),
    }


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_templates_render_every_moment_in_both_languages(language, moment) -> None:
    lines, state, day = _one_of_each_moment()[moment]
    customers = CUSTOMERS.assign(language=language)
    plan = build_messages(lines, state, customers, PRODUCTS, day)
    message = plan.messages.iloc[0]
    assert message["moment"] == moment and message["language"] == language
    for part in ("subject", "text", "sms_text"):
        assert message[part].strip() and "None" not in message[part], part
    assert len(message["sms_text"]) <= 160
    listed = json.loads(message["lines"])
    assert listed[0]["order_id"] in message["subject"]  # the lead line
    month = {"en": ["November", "December"], "fr": ["novembre", "décembre"]}[language]
    for x in listed:
        assert f"{x['order_id']}" in message["text"]
        if x["eta"] and x["status"] != "allocated":
            d = date.fromisoformat(x["eta"])
            assert f"{d.day} {month[d.month - 11]} {d.year}" in message["text"]


def test_templates_are_strict_about_missing_fields(tmp_path) -> None:
    for lang in ("en", "xx"):
        folder = tmp_path / lang
        folder.mkdir()
        for name in ("subject.txt.j2", "text.txt.j2", "sms.txt.j2"):
            (folder / name).write_text("{{ lead.order_id }} {{ no_such_field }}")
    with pytest.raises(jinja2.UndefinedError, match="no_such_field"):
        build_messages(frame(line()), None, CUSTOMERS, PRODUCTS, DAY0,
                       MessageSettings(templates_dir=tmp_path, default_language="en"))
    assert {p.name for p in shipped_templates_dir().iterdir() if p.is_dir()} >= {"en", "fr"}


def test_settings_refuse_an_unknown_url_placeholder() -> None:
    with pytest.raises(ValueError, match="unknown placeholder.*order"):
        MessageSettings(cancel_url_template="https://x/{order}/cancel")


def test_filter_by_customer_and_merged_moment(tmp_path) -> None:
    history = pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
                            "moment": ["backordered", "still_waiting", "backordered"],
                            "moments": ["ready_to_ship", "", None]})
    assert filter_messages(history, moments=["ready_to_ship"])["customer_id"].tolist() == ["C1"]
    assert filter_messages(history, ["C3"], ["backordered"])["customer_id"].tolist() == ["C3"]
    with pytest.raises(ValueError, match="unknown moment"):
        filter_messages(history, moments=["late"])


def test_the_pipeline_records_exports_and_does_not_repeat_messages(demo_run, tmp_path) -> None:
    import shutil


    shared, summary = demo_run
    # A copy of the run's output folder: publishing again here leaves the shared run alone.
    shutil.copytree(shared.out_dir, tmp_path / "out")
    settings = shared.model_copy(update={"out_dir": tmp_path / "out"})
    exports = settings.exports_dir
    csv = pd.read_csv(exports / "customer_messages.csv")
    records = json.loads((exports / "customer_messages.json").read_text())
    with Warehouse(settings.warehouse_path) as wh:
        stored = wh.customer_messages(summary.run_id)
        book = wh.output("backorders")
        customers = wh.table("customers")
    assert list(csv.columns) == MESSAGE_COLUMNS
    assert len(csv) == len(stored) == len(records) > 0
    assert sorted(csv["message_id"]) == sorted(stored["message_id"])
    assert {r["message_id"]: len(r["lines"]) for r in records} == {
        m: len(json.loads(lines)) for m, lines in zip(stored["message_id"], stored["lines"],
                                                      strict=True)}
    # The demo's customers carry languages and contacts: both languages are used, and a
    # channel is named only where the customer gave an address or a number.
    assert set(stored["language"]) == {"en", "fr"}
    contact = customers.set_index("customer_id")
    for r in stored.itertuples():
        assert ("email" in r.channel) == pd.notna(contact.loc[r.customer_id, "email"])
        assert ("sms" in r.channel) == pd.notna(contact.loc[r.customer_id, "phone"])
    # Offered lines are in the book with the day of the offer.
    offered = {(x["order_id"], x["sku"]) for r in records for x in r["lines"] if x["cancel_offered"]}
    marked = book[book["cancel_offered_on"].notna()]
    assert set(zip(marked["order_id"], marked["sku"], strict=True)) == offered


def test_report_counts_messages_per_moment_with_samples(demo_run) -> None:
    import re

    from markupsafe import escape

    settings, summary = demo_run
    report = next(p for p in summary.exports if p.suffix == ".html").read_text()
    section = report[report.index("<h2>Customer messages</h2>"):]
    section = section[: section.index("</section>")]
    with Warehouse(settings.warehouse_path) as wh:
        sent = wh.customer_messages(summary.run_id)
    assert f"This run sent <b>{len(sent):,}</b> messages" in section
    rows = dict(re.findall(r"<tr><td>(\w+)</td><td class='num'>([\d,]+)</td>", section))
    assert rows == {m: f"{int((sent['moment'] == m).sum()):,}" for m in MOMENTS}
    for moment in set(sent["moment"]):
        first = sent[sent["moment"] == moment].iloc[0]
        assert str(escape(first["subject"])) in section
