"""Stage 4, backorders: risk, and who gets scarce stock with what date.

- ``simulation``: Monte Carlo of stock, stockouts, fill rate and expected backorders;
- ``risk``: the risk measures that match a fill-rate target (``at_risk`` and why);
- ``allocation``: stock on hand and arriving to waiting order lines (fifo, priority, fair,
  retention) with the date each customer should be told;
- ``cancellation``: the chance a waiting line is cancelled (curve, fitted with censoring);
- ``book``: the backorder book and its ETA history; ``notifications``: what to tell whom;
- ``messages``: what each waiting customer receives (one message a day, in their language,
  with a one-step cancellation when the wait is too long).

Imports from ingest, forecasting and planning only.
"""

from forecast._lazy import lazy_exports

#: submodule -> the public names it defines
_EXPORTS = {
    "simulation": ("SimulationConfig", "SimulationResult", "simulate"),
    "risk": ("risk_measures", "next_receipt_period"),
    "allocation": ("allocate", "compare_policies", "summarise_allocation", "planned_receipts"),
    "cancellation": ("CancellationCurve",),
    "book": ("backorder_book", "book_summary"),
    "notifications": ("customer_notices",),
    "messages": ("MessageSettings", "build_messages"),
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
