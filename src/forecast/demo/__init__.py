"""Deterministic demo data set in the project's input contract.

`generate_demo(out_dir)` writes one file per input table plus ``truth.json``. Everything comes
from ``numpy.random.default_rng(seed)`` and a second stream ``default_rng([seed, 1])`` for the
receipts, order history, pre-orders, dropship and flash sale (no global state, no wall clock),
so the same seed and arguments give byte-identical files. The history ends at ``end_date`` (the
planning "as of" date); open purchase orders, open customer orders and planned campaigns lie
after it.

Tables written (``sales.csv.gz``, the rest plain ``.csv``):

``sales``            date, sku, location, quantity, price, on_hand (one row per SKU x location
                     x day from the SKU's launch date)
``products``         sku, name, category, department, unit_cost, unit_price, supplier,
                     lead_time_days, lead_time_sd_days, moq, pack_size, service_level,
                     preorder, launch_date, dropship
``suppliers``        supplier, name, lead_time_days, lead_time_sd_days, order_cost
``campaigns``        sku, category, location, start_date, end_date, kind, discount_pct,
                     stock_quantity
``events``           date, name, kind, location
``inventory``        sku, location, on_hand, as_of
``purchase_orders``  po_id, sku, location, supplier, quantity, expected_date
``receipts``         po_id, sku, location, supplier, order_date, expected_date, received_date,
                     quantity
``customers``        customer_id, segment, lifetime_value, language, email, phone
``customer_orders``  order_id, customer_id, sku, location, quantity, order_date, shipping,
                     promised_date, unit_price, status, status_date

How demand is made (the truth, per SKU x location x day)::

    mean = level * location_factor * trend * weekly[category, weekday]
           * yearly[category, day of year] * events[location, category, day]
           * campaign[sku, location, day] * launch_ramp
    demand ~ NegativeBinomial(mean, dispersion)        (sales = min(demand, stock))

Each feature is there to exercise one part of the pipeline:

- Stockout spells (about 25% of SKU-locations, 1-4 spells of 3-14 days with ``on_hand`` 0
  and sales 0, or below demand on the first day): **censored demand** handling.
- Slow SKUs (about 20%, 0.05-0.6 units a day, very overdispersed): **intermittent models**
  (Croston / TSB) and the ABC/XYZ classes.
- Campaigns, past and planned (price promos whose uplift grows with the discount, e-mails,
  feature ads; SKU-level or category-wide; one store or all) and the 7-day, -20% dip after
  price promos (pantry loading): **campaign uplift** features and the planned-uplift term
  of the reorder point.
- Country holidays, retail events (Black Friday, Christmas week, Halloween, Back to school,
  ...) and one local event per store, with category-specific effects; stores closed on
  Christmas Day (sales 0): **event features**.
- Category-specific weekly (weekend peak) and yearly (summer drinks and frozen, winter
  snacks) seasonality and a small per-SKU trend: the **statistical forecasters**.
- New SKUs launched 30-120 days before the end, ramping up: **cold start**.
- Stock follows a replenishment sawtooth (a buyer orders when the inventory position falls
  below a reorder point; deliveries arrive after a random lead time), so ``inventory`` and the
  open ``purchase_orders`` are consistent with the last day of ``sales``.
- Open customer orders from the last 21 days, about 20% express, some already past their
  promised date, and a handful of SKU-locations whose open orders exceed stock (stock 0 with a
  PO coming, stock 0 with no PO at all, small positive stock): **backorders, allocation and
  express priority**.
- About 20% of products have no lead time of their own (their quoted lead time is the
  supplier's): **lead-time fallback** to the ``suppliers`` table; a few products carry their
  own service level (0.99 or 0.97): **service-level override**.
- Every simulated purchase order delivered by the end is a ``receipts`` row: expected = order
  date + quoted lead time, received = order date + the true lead time drawn from the
  supplier's reliability (:data:`_RELIABILITY`: SUP01 and SUP04 reliably on time, SUP06 often
  late with a long tail), or the day after a stockout spell that held it back. One SKU moves to
  a new supplier (SUP07) 35 days before the end, so SUP07 has only a few receipts:
  **supplier scorecard, real lead-time distributions and the minimum-sample fallback**.
- Customer order history over the last 180 days: lines shipped (mostly on time; late when
  ordered during a stockout spell, after a random handling delay, or when a dropship supplier
  is late) and lines cancelled after a delay with a known Weibull curve; lines still waiting
  past their promise stay open: **backorder book and cancellation risk**.
- Dropship SKUs (1, or 2 from 50 SKUs): sales history and customer orders, no inventory, no
  purchase orders, ``on_hand`` empty: **dropship planning**.
- Pre-order products (1, or 2 from 50 SKUs) launching after the end: no sales, open pre-order
  lines promised on or just after the launch date: **pre-order forecasting and first purchase**.
- A planned 3-day ``flash_sale`` on one SKU-location whose stock set aside is below the
  expected demand of the sale and above the spare stock at its start: **flash-sale cap and the
  largest promisable quantity**.

``truth.json`` records what a test can check against: the campaign multipliers per (kind,
category), the post-campaign dip, the intermittent and new SKUs, event effects, weekly and
yearly profiles, stockout spells, the backorder scenarios, each series' recent mean demand,
each supplier's reliability, the supplier switch, the cancellation curve, the order-history
counts, the dropship SKUs, the pre-order products' demand after launch and the flash sale.

Modules, one per table or step (all names private; :func:`generate_demo` runs the steps)::

    common           file names, the day grid (_Calendar), the category table, CSV writing
    products         products: the catalogue, SKU types (intermittent, new), pre-order products
    suppliers        suppliers: master data and true delivery reliability (_RELIABILITY)
    events           events: holidays, retail and local events, their multipliers
    campaigns        campaigns: past and planned campaigns, uplifts and the post-promo dip
    demand           the demand truth (mean and draws per SKU x location x day)
    roles            which SKUs play which part: scenarios, dropship, supplier switch, spells
    stock            the replenishment simulation (lead-time plan, stock run)
    sales            sales and inventory, read off the stock run
    purchase_orders  receipts and the open purchase orders
    customers        customers
    customer_orders  customer_orders: order history, open book, pre-order lines
    flash_sale       the planned flash sale (a campaigns row)
    truth            truth.json
    generate         generate_demo: the steps in the order of the random draws
"""

from forecast.demo.common import TABLE_FILES
from forecast.demo.customer_orders import _lines_gumbel as _lines_gumbel
from forecast.demo.customer_orders import _lines_successive as _lines_successive
from forecast.demo.generate import generate_demo
from forecast.demo.suppliers import _RELIABILITY as _RELIABILITY

__all__ = ["TABLE_FILES", "generate_demo"]
