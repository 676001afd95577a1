"""Stage 4, backorders: risk, and who gets scarce stock with what date.

- ``simulation``: Monte Carlo of stock, stockouts, fill rate and expected backorders;
- ``allocation``: stock on hand and arriving to waiting order lines (fifo, priority, fair,
  retention) with the date each customer should be told;
- ``cancellation``: the chance a waiting line is cancelled (curve, fitted with censoring);
- ``book``: the backorder book and its ETA history; ``notifications``: what to tell whom.

Imports from ingest, forecasting and planning only.
"""

from forecast._lazy import lazy_exports

_EXPORTS = {
    "SimulationConfig": "simulation",
    "SimulationResult": "simulation",
    "simulate": "simulation",
    "allocate": "allocation",
    "compare_policies": "allocation",
    "summarise_allocation": "allocation",
    "CancellationCurve": "cancellation",
    "backorder_book": "book",
    "book_summary": "book",
    "customer_notices": "notifications",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
