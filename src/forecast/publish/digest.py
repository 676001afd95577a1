"""What planners see after a run: a short digest (markdown + tables) and its delivery.

The digest compares the published run with the previous published one: orders to place today,
alerts that are new since the previous plan, SKUs at risk of a backorder, the waiting
customers whose dates moved, and the messages sent to waiting customers (per moment). The Prefect flow turns it into artifacts; a configured webhook
receives it as JSON (plain HTTP POST, e.g. a Slack/Teams incoming webhook or an internal service).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from forecast.backorders.messages import MOMENTS, moment_counts
from forecast.ingest.warehouse import Warehouse

RISK_THRESHOLD = 0.5  # stockout probability within the simulation horizon


@dataclass
class Digest:
    run_id: str | None
    as_of: date | None
    orders_today: pd.DataFrame
    new_alerts: pd.DataFrame
    at_risk: pd.DataFrame
    customers_to_notify: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    #: Messages this run sent to waiting customers (``customer_messages`` rows).
    customer_messages: pd.DataFrame = field(default_factory=pd.DataFrame)

    def markdown(self) -> str:
        c = self.counts
        lines = [
            f"# Plan {self.run_id} (as of {self.as_of})",
            "",
            (f"- **{c['orders_today']}** orders to place today "
             f"(value {c['orders_today_value']:,}), {c['orders_total']} in the next days"),
            f"- **{c['new_alerts']}** new alerts ({c['alerts']} in all)",
            (f"- **{c['at_risk']}** SKU-locations at risk (fill rate 5+ points under plan, or out "
            "before the next receipt)" + (f"; **{c['not_simulated']}** not simulated: no stock record"
                                          if c.get("not_simulated") else "")),
            f"- **{c['customers_to_notify']}** waiting order lines whose customers should be told",
            (f"- **{c.get('customer_messages', 0)}** messages to waiting customers "
             f"({_moment_text(c)}), {c.get('cancellation_offers', 0)} offering a cancellation"),
            "",
        ]
        if len(self.new_alerts):
            lines += ["## New alerts", ""]
            lines += [f"- [{r.severity}] {r.message}" for r in self.new_alerts.head(20).itertuples()]
            if len(self.new_alerts) > 20:
                lines.append(f"- ... {len(self.new_alerts) - 20} more")
        return "\n".join(lines)

    def payload(self) -> dict:
        """JSON-ready form for a webhook."""
        return {
            "run_id": self.run_id,
            "as_of": str(self.as_of),
            "counts": self.counts,
            "text": self.markdown(),
            "new_alerts": self.new_alerts.astype(str).to_dict(orient="records"),
            "orders_today": self.orders_today.astype(str).to_dict(orient="records"),
            "customer_messages": self.customer_messages.reindex(columns=_MESSAGE_FIELDS)
            .astype(str).to_dict(orient="records"),
        }


_MESSAGE_FIELDS = ["message_id", "customer_id", "moment", "moments", "language", "channel",
                   "subject", "cancel_url"]


def _moment_text(counts: dict[str, int]) -> str:
    parts = [f"{counts[f'messages_{m}']} {m}" for m in MOMENTS if counts.get(f"messages_{m}")]
    return ", ".join(parts) or "none"


def _alert_key(frame: pd.DataFrame) -> pd.Series:
    return frame["sku"].astype(str) + "|" + frame["location"].astype(str) + "|" + frame["kind"].astype(str)


def build_digest(wh: Warehouse, run_id: str | None = None) -> Digest:
    """Digest of ``run_id`` (default: the published run) against the run published before it.

    Orders today: urgent ones or those whose order-by date is today (the as-of date) or past;
    customers: the notices this run recorded (under the allocation policy in use)."""
    run_id = run_id or wh.published_run()
    recs = wh.output("recommendations", run_id)
    alerts = wh.output("alerts", run_id)
    risk = wh.output("risk", run_id)
    previous = wh.previous_published_run(run_id) if run_id else None
    as_of = wh.last_sales_date()
    if previous is not None:
        before = set(_alert_key(wh.output("alerts", previous)))
        new_alerts = alerts[~_alert_key(alerts).isin(before)] if len(alerts) else alerts
    else:
        new_alerts = alerts
    if len(recs):
        due = pd.to_datetime(recs["order_by"]) <= pd.Timestamp(as_of)
        today = recs[recs["urgent"].astype(bool) | due]
    else:
        today = recs
    # At risk as the report counts it (forecast.backorders.risk); older runs: P(stockout).
    flagged = (risk["at_risk"].fillna(False).astype(bool) if "at_risk" in risk
               else risk["stockout_probability"] > RISK_THRESHOLD) if len(risk) else None
    at_risk = risk[flagged].sort_values(
        "stockout_probability", ascending=False
    ) if len(risk) else risk
    notify = wh.notifications_sent(run_id)  # newly backordered or re-dated lines, told once
    sent = wh.customer_messages(run_id) if run_id else wh.customer_messages().iloc[0:0]
    counts = {
        "orders_today": len(today),
        "orders_today_value": round(float(today["line_value"].sum())) if len(today) else 0,
        "orders_total": len(recs),
        "alerts": len(alerts),
        "new_alerts": len(new_alerts),
        "at_risk": len(at_risk),
        # no stock record (no inventory row, no on_hand in sales): planned, not simulated
        "not_simulated": int(risk["stockout_probability"].isna().sum()) if len(risk) else 0,
        "customers_to_notify": len(notify),
        "customer_messages": len(sent),
        "cancellation_offers": int(sent["cancel_url"].notna().sum()) if len(sent) else 0,
        **{f"messages_{m}": n for m, n in moment_counts(sent).items()},
    }
    return Digest(run_id, as_of, today, new_alerts, at_risk, notify, counts, sent)


def post_webhook(url: str, payload: dict, timeout: float = 10.0) -> int:
    """POST the payload as JSON; returns the HTTP status (raises on network errors)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload, default=str).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "forecast-pipeline"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status
