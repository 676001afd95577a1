-- Output and bookkeeping tables of the warehouse. Input tables are created from the contract
-- (forecast.ingest.contract.TABLES) by forecast.ingest.warehouse. Every output row carries the run that made it.

CREATE TABLE IF NOT EXISTS runs (
    run_id            VARCHAR PRIMARY KEY,
    started_at        TIMESTAMP NOT NULL,
    finished_at       TIMESTAMP,
    status            VARCHAR NOT NULL,          -- running | succeeded | failed | abandoned
    data_dir          VARCHAR,
    as_of             DATE,
    horizon           INTEGER,
    frequency         VARCHAR,
    parameters        JSON,
    input_fingerprints JSON,                     -- file -> sha256 of its bytes
    rows_loaded       JSON,                      -- table -> rows loaded
    rows_rejected     JSON,                      -- table -> rows rejected
    step_seconds      JSON,                      -- step -> wall seconds
    forecast_key      VARCHAR,                   -- hash of inputs + forecast settings (cache key)
    warnings          JSON,                      -- problems that did not stop the run
    error             VARCHAR
);

-- The run whose outputs readers see. Steps write their outputs under their own run id; the
-- publish step moves this pointer in one transaction, so a crashed or killed run never leaves
-- readers with half a plan.
CREATE TABLE IF NOT EXISTS published (
    run_id       VARCHAR NOT NULL,
    published_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS rejects (
    run_id      VARCHAR,
    table_name  VARCHAR NOT NULL,
    file        VARCHAR NOT NULL,
    line        BIGINT,                          -- physical line in the file (header = line 1; Parquet: row, first = 1)
    column_name VARCHAR,
    value       VARCHAR,
    reason      VARCHAR NOT NULL,
    fingerprint VARCHAR                          -- sha256 of the file: its rejects are replaced on reload
);
-- A warehouse made before rejects were keyed by content.
ALTER TABLE rejects ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;

CREATE TABLE IF NOT EXISTS forecasts (
    run_id   VARCHAR NOT NULL,
    sku      VARCHAR NOT NULL,
    location VARCHAR NOT NULL,
    date     DATE NOT NULL,
    mean     DOUBLE NOT NULL,
    q05 DOUBLE, q10 DOUBLE, q25 DOUBLE, q50 DOUBLE, q75 DOUBLE, q90 DOUBLE, q95 DOUBLE, q99 DOUBLE,
    model    VARCHAR NOT NULL,
    planned_mean DOUBLE                          -- the distribution's mean: max(mean, rate_floor)
);
ALTER TABLE forecasts ADD COLUMN IF NOT EXISTS planned_mean DOUBLE;

CREATE TABLE IF NOT EXISTS policies (
    run_id              VARCHAR NOT NULL,
    sku                 VARCHAR NOT NULL,
    location            VARCHAR NOT NULL,
    abc_class           VARCHAR,
    xyz_class           VARCHAR,
    service_level       DOUBLE,
    service_kind        VARCHAR,                 -- cycle | fill_rate
    service_source      VARCHAR,                 -- product | class
    policy              VARCHAR,                 -- sQ | sS | RS
    review_period_days  DOUBLE,
    lead_time_days      DOUBLE,
    lead_time_sd_days   DOUBLE,
    lead_time_source    VARCHAR,                 -- product | supplier | default
    mean_daily_demand   DOUBLE,
    sd_daily_demand     DOUBLE,
    lead_time_demand    DOUBLE,
    lead_time_demand_sd DOUBLE,
    campaign_uplift_pct DOUBLE,                  -- lead-time demand over the usual rate, a planned campaign inside P
    safety_stock        DOUBLE,
    reorder_point       DOUBLE,                  -- the minimum threshold
    order_quantity      DOUBLE,
    max_level           DOUBLE,                  -- reorder point + order quantity, or order-up-to
    unit_cost           DOUBLE,
    supplier            VARCHAR,
    moq                 DOUBLE,
    pack_size           DOUBLE,
    lead_time_sd_source VARCHAR,                 -- product | supplier | default (cv x lead time)
    order_quantity_basis VARCHAR                 -- eoq | eoq_capped | days_of_cover | days_of_cover_capped | fixed | review_period
);
-- Warehouses created before these two columns existed get them here (no-op otherwise).
ALTER TABLE policies ADD COLUMN IF NOT EXISTS lead_time_sd_source VARCHAR;
ALTER TABLE policies ADD COLUMN IF NOT EXISTS order_quantity_basis VARCHAR;
-- Planner overrides (forecast.planning.overrides): the computed values beside the ones used.
ALTER TABLE policies ADD COLUMN IF NOT EXISTS recommended_reorder_point DOUBLE;
ALTER TABLE policies ADD COLUMN IF NOT EXISTS recommended_max_level DOUBLE;
ALTER TABLE policies ADD COLUMN IF NOT EXISTS recommended_order_quantity DOUBLE;
ALTER TABLE policies ADD COLUMN IF NOT EXISTS recommended_service_level DOUBLE;
ALTER TABLE policies ADD COLUMN IF NOT EXISTS recommended_policy VARCHAR;
ALTER TABLE policies ADD COLUMN IF NOT EXISTS override VARCHAR;     -- "min 10 set by planner; recommended 14"
-- The same uplift where no planned campaign falls inside P (the forecast's season, a part's peak).
ALTER TABLE policies ADD COLUMN IF NOT EXISTS seasonal_uplift_pct DOUBLE;

CREATE TABLE IF NOT EXISTS recommendations (
    run_id              VARCHAR NOT NULL,
    sku                 VARCHAR NOT NULL,
    location            VARCHAR NOT NULL,
    supplier            VARCHAR,
    on_hand             DOUBLE,
    on_order            DOUBLE,
    backordered         DOUBLE,
    allocated           DOUBLE,
    inventory_position  DOUBLE,
    reorder_point       DOUBLE,
    max_level           DOUBLE,
    order_quantity      DOUBLE,
    order_by            DATE,
    expected_arrival    DATE,
    days_of_cover_now   DOUBLE,
    days_of_cover_after DOUBLE,
    unit_cost           DOUBLE,
    line_value          DOUBLE,
    urgent              BOOLEAN,
    explanation         VARCHAR
);
ALTER TABLE recommendations ADD COLUMN IF NOT EXISTS override VARCHAR;

CREATE TABLE IF NOT EXISTS risk (
    run_id                 VARCHAR NOT NULL,
    sku                    VARCHAR NOT NULL,
    location               VARCHAR NOT NULL,
    stockout_probability   DOUBLE,
    fill_rate              DOUBLE,
    expected_backorders    DOUBLE,
    expected_days_out      DOUBLE,
    first_stockout_p50     DATE,
    first_stockout_p10     DATE,
    horizon_days           INTEGER,
    paths                  INTEGER
);

-- Risk measures that match a fill-rate target (forecast.backorders.risk); older warehouses get
-- the columns here (no-op otherwise).
ALTER TABLE risk ADD COLUMN IF NOT EXISTS planned_fill_rate DOUBLE;      -- the plan's expected fill rate
ALTER TABLE risk ADD COLUMN IF NOT EXISTS fill_rate_gap DOUBLE;          -- simulated - planned fill rate
ALTER TABLE risk ADD COLUMN IF NOT EXISTS next_receipt_date DATE;        -- first open PO, or an order placed today
ALTER TABLE risk ADD COLUMN IF NOT EXISTS stockout_before_receipt_probability DOUBLE;
ALTER TABLE risk ADD COLUMN IF NOT EXISTS units_short_before_receipt DOUBLE;
ALTER TABLE risk ADD COLUMN IF NOT EXISTS at_risk BOOLEAN;               -- fill 5+ points under plan, or out before next receipt
ALTER TABLE risk ADD COLUMN IF NOT EXISTS at_risk_reason VARCHAR;

CREATE TABLE IF NOT EXISTS risk_bands (
    run_id   VARCHAR NOT NULL,
    sku      VARCHAR NOT NULL,
    location VARCHAR NOT NULL,
    date     DATE NOT NULL,
    stock_p10 DOUBLE,
    stock_p50 DOUBLE,
    stock_p90 DOUBLE
);

CREATE TABLE IF NOT EXISTS allocations (
    run_id        VARCHAR NOT NULL,
    policy        VARCHAR NOT NULL,              -- fifo | priority | fair | retention
    order_id      VARCHAR NOT NULL,
    customer_id   VARCHAR,
    segment       VARCHAR,
    sku           VARCHAR NOT NULL,
    location      VARCHAR NOT NULL,
    quantity      DOUBLE,
    allocated_now DOUBLE,
    order_date    DATE,
    promised_date DATE,
    eta           DATE,
    delay_days    DOUBLE,
    status        VARCHAR,                       -- allocated | partial | backordered | no_supply_planned | dropship
    supplier      VARCHAR,                       -- the product's supplier (ships dropship lines)
    cancel_probability    DOUBLE,                -- P(cancelled before the ETA | open now)
    expected_revenue_lost DOUBLE                 -- waiting quantity x unit price x cancel_probability
);
-- Warehouses created before these columns existed get them here (no-op otherwise).
ALTER TABLE policies ADD COLUMN IF NOT EXISTS planned_fill_rate DOUBLE;  -- the SKU's expected fill rate (its share of a class's pooled level)
ALTER TABLE allocations ADD COLUMN IF NOT EXISTS supplier VARCHAR;
ALTER TABLE allocations ADD COLUMN IF NOT EXISTS cancel_probability DOUBLE;
ALTER TABLE allocations ADD COLUMN IF NOT EXISTS expected_revenue_lost DOUBLE;

-- The cancellation curve a run used (forecast.backorders.cancellation): fitted on the order history or
-- the default, with the data behind it. F(d) = limit_share * (1 - exp(-(d / scale_days) ^ shape)).
CREATE TABLE IF NOT EXISTS cancellation_curve (
    run_id         VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,             -- fitted | default
    limit_share    DOUBLE NOT NULL,              -- the curve's limit: share a wait without end loses
    scale_days     DOUBLE NOT NULL,
    shape          DOUBLE NOT NULL,
    cancellations  INTEGER,                      -- cancellations after the promised date
    censored       INTEGER,                      -- shipped and open lines (right-censored)
    cancelled_before_promise INTEGER,            -- left out of the fit
    max_days_late  DOUBLE,
    log_likelihood DOUBLE,
    note           VARCHAR
);

-- The backorder book (forecast.backorders.book): every open order line under the allocation
-- policy in use, with its ETA change since the last published run and what the customer was
-- last told.
CREATE TABLE IF NOT EXISTS backorders (
    run_id            VARCHAR NOT NULL,
    order_id          VARCHAR NOT NULL,
    customer_id       VARCHAR,
    segment           VARCHAR,
    sku               VARCHAR NOT NULL,
    location          VARCHAR NOT NULL,
    supplier          VARCHAR,
    quantity          DOUBLE,
    allocated_now     DOUBLE,
    status            VARCHAR,                   -- allocated | partial | backordered | no_supply_planned | dropship
    order_date        DATE,
    days_waiting      INTEGER,                   -- as-of date - order date
    promised_date     DATE,
    eta               DATE,
    previous_eta      DATE,                      -- the last published run's ETA
    eta_change_days   DOUBLE,                    -- eta - previous_eta
    previous_status   VARCHAR,
    delay_days        DOUBLE,                    -- eta - promised_date
    late              BOOLEAN,                   -- ETA after the promise, or no supply planned
    cancel_probability    DOUBLE,
    expected_revenue_lost DOUBLE,
    last_told_at      TIMESTAMP,
    last_told_kind    VARCHAR,
    last_told_status  VARCHAR,
    last_told_eta     DATE,
    last_told_message VARCHAR,
    policy            VARCHAR
);
-- The day a customer message first offered to cancel the line (forecast.backorders.messages).
ALTER TABLE backorders ADD COLUMN IF NOT EXISTS cancel_offered_on DATE;

-- Every published run's ETA per open order line (forecast.backorders.book.eta_history_rows),
-- appended at publish and never pruned: the run-to-run history of each customer's date.
CREATE TABLE IF NOT EXISTS eta_history (
    run_id      VARCHAR NOT NULL,
    as_of       DATE,
    recorded_at TIMESTAMP NOT NULL,
    policy      VARCHAR,
    order_id    VARCHAR NOT NULL,
    sku         VARCHAR NOT NULL,
    location    VARCHAR NOT NULL,
    status      VARCHAR,
    eta         DATE
);

CREATE TABLE IF NOT EXISTS alerts (
    run_id   VARCHAR NOT NULL,
    sku      VARCHAR NOT NULL,
    location VARCHAR NOT NULL,
    kind     VARCHAR NOT NULL,                   -- below_min | will_cross_min | orders_exceed_stock | negative_stock
    severity VARCHAR NOT NULL,                   -- high | medium | low
    date     DATE,
    message  VARCHAR NOT NULL
);

-- The distribution behind each series' forecast (see forecast.forecasting.distribution): with the means in
-- `forecasts` it rebuilds sample paths and lead-time demand for the plan and simulate steps.
CREATE TABLE IF NOT EXISTS forecast_models (
    run_id     VARCHAR NOT NULL,
    sku        VARCHAR NOT NULL,
    location   VARCHAR NOT NULL,
    model      VARCHAR NOT NULL,
    nb_size    DOUBLE,                           -- negative-binomial size k (NULL = Poisson)
    level_var  DOUBLE,                           -- variance of the shared level error
    frequency  VARCHAR NOT NULL,                 -- D | W-<DAY> | MS
    history_end DATE,
    rate_floor DOUBLE                            -- a slow mover's distribution mean floor per period (NULL = none)
);
ALTER TABLE forecast_models ADD COLUMN IF NOT EXISTS rate_floor DOUBLE;

-- Campaign uplift estimated from past campaigns, per kind and category (multipliers).
CREATE TABLE IF NOT EXISTS campaign_uplift (
    run_id    VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,
    category  VARCHAR NOT NULL,
    campaigns INTEGER,                           -- past campaigns behind the estimate
    uplift    DOUBLE,                            -- demand multiplier during the campaign
    post_dip  DOUBLE                             -- multiplier of the days after it
);

-- Flash sales (campaign kind flash_sale) per SKU and location: the forecast capped by the stock
-- set aside and the largest quantity promisable without backordering other orders
-- (cumulative available-to-promise, forecast.planning.sales_models).
CREATE TABLE IF NOT EXISTS flash_sales (
    run_id              VARCHAR NOT NULL,
    sku                 VARCHAR NOT NULL,
    location            VARCHAR NOT NULL,
    start_date          DATE NOT NULL,
    end_date            DATE NOT NULL,
    stock_quantity      DOUBLE,                  -- units set aside for the sale
    forecast_uncapped   DOUBLE,                  -- expected sale demand without the cap (NULL: beyond the horizon)
    forecast_capped     DOUBLE,                  -- E[min(demand, stock_quantity)]
    sellout_probability DOUBLE,                  -- P(sale demand >= stock_quantity)
    cap_factor          DOUBLE,                  -- capped / uncapped: daily means in the sale are scaled by it
    on_hand             DOUBLE,
    committed           DOUBLE,                  -- open customer order lines
    safety_stock        DOUBLE,
    next_receipt_date   DATE,                    -- as-of + lead time: a new order can arrive then
    max_promisable      DOUBLE,                  -- min of the cumulative ATP from the start to next_receipt_date
    max_promisable_confirmed DOUBLE,             -- the same from stock and open POs only (no new order)
    binding_date        DATE,                    -- where that minimum is
    shortfall           DOUBLE,                  -- stock_quantity - max_promisable when positive
    verdict             VARCHAR
);

-- Supplier reliability from received purchase orders (forecast.planning.suppliers.supplier_scorecard).
CREATE TABLE IF NOT EXISTS supplier_scorecard (
    run_id                VARCHAR NOT NULL,
    supplier              VARCHAR NOT NULL,
    name                  VARCHAR,
    skus                  INTEGER,                -- products naming this supplier
    receipts              INTEGER,                -- receipt lines in the look-back window
    purchase_orders       INTEGER,                -- distinct POs received in the window
    on_time_rate          DOUBLE,                 -- share of lines received by the expected date
    mean_days_late        DOUBLE,                 -- over late lines
    late_units_share      DOUBLE,
    lead_time_mean        DOUBLE,                 -- received - order date, days
    lead_time_sd          DOUBLE,
    lead_time_p50         DOUBLE,
    lead_time_p90         DOUBLE,
    quoted_lead_time_days DOUBLE,                 -- suppliers table, else its products' mean, else default
    lead_time_gap_days    DOUBLE,                 -- measured mean - quoted
    lead_time_used        VARCHAR,                -- receipts | quoted
    open_pos              INTEGER,
    open_units            DOUBLE,
    overdue_pos           INTEGER,                -- open POs expected before the as-of date
    overdue_units         DOUBLE,
    dropship_skus         INTEGER,
    dropship_open_lines   INTEGER,
    dropship_late_share   DOUBLE,                 -- 1 - on-time rate (enough receipts only)
    dropship_lines_late_expected DOUBLE,
    rating                VARCHAR,                -- reliable | often_late | slower_than_quoted | unreliable | too_few_receipts
    verdict               VARCHAR
);

-- Rolling-origin backtests (`forecast backtest`): per model, series and fold, and overall.
CREATE TABLE IF NOT EXISTS backtest_series (
    run_id   VARCHAR NOT NULL,
    model    VARCHAR NOT NULL,
    sku      VARCHAR NOT NULL,
    location VARCHAR NOT NULL,
    fold     INTEGER NOT NULL,
    cutoff   DATE,
    mase DOUBLE, rmsse DOUBLE, wape DOUBLE, bias DOUBLE, spl DOUBLE, coverage_90 DOUBLE,
    pinball_sum14_q90 DOUBLE, pinball_sum14_q95 DOUBLE, weight DOUBLE
);

CREATE TABLE IF NOT EXISTS backtest_summary (
    run_id   VARCHAR NOT NULL,
    model    VARCHAR NOT NULL,
    mase DOUBLE, rmsse DOUBLE, wrmsse DOUBLE, wape DOUBLE, bias DOUBLE, spl DOUBLE,
    coverage_90 DOUBLE, pinball_sum14_q90 DOUBLE, pinball_sum14_q95 DOUBLE
);
-- coverage_90 counted by the non-randomized PIT (forecast.forecasting.evaluation.pit_coverage)
ALTER TABLE backtest_series ADD COLUMN IF NOT EXISTS pit_coverage_90 DOUBLE;
ALTER TABLE backtest_summary ADD COLUMN IF NOT EXISTS pit_coverage_90 DOUBLE;

-- What each customer was last told about a waiting order line (forecast.backorders.notifications): one
-- row per notice sent, never updated; the latest row per (order_id, sku, location) counts.
CREATE TABLE IF NOT EXISTS notifications (
    order_id      VARCHAR NOT NULL,
    sku           VARCHAR NOT NULL,
    location      VARCHAR NOT NULL,
    customer_id   VARCHAR,
    told_status   VARCHAR NOT NULL,              -- allocated | partial | backordered | no_supply_planned | dropship
    told_eta      DATE,                          -- NULL: no supply date given
    promised_date DATE,
    kind          VARCHAR,                       -- delayed | backordered | no_supply | dated | earlier | available
    message       VARCHAR,
    policy        VARCHAR,                       -- allocation policy the notice was based on
    run_id        VARCHAR,
    notified_at   TIMESTAMP NOT NULL
);

-- What each customer was sent (forecast.backorders.messages): one row per message, never
-- updated; at most one per customer and day (message_id = M<day>-<customer_id>).
CREATE TABLE IF NOT EXISTS customer_messages (
    message_id      VARCHAR NOT NULL,
    customer_id     VARCHAR NOT NULL,
    order_id        VARCHAR,                     -- the orders it lists, ;-separated
    moment          VARCHAR NOT NULL,            -- backordered | date_changed | ready_to_ship | preorder_confirmed | still_waiting
    moments         VARCHAR,                     -- the other moments merged into it, ,-separated
    language        VARCHAR,
    channel         VARCHAR,                     -- email | sms | email+sms | none
    subject         VARCHAR,
    text            VARCHAR,
    sms_text        VARCHAR,
    lines           VARCHAR,                     -- JSON list of the lines it lists
    cancel_url      VARCHAR,                     -- cancellation links offered, space-separated
    created_for_run VARCHAR,
    day             DATE NOT NULL,               -- the run's as-of date
    created_at      TIMESTAMP NOT NULL
);

-- Each order line a customer message listed: what the customer now knows of it (the latest row
-- per order_id, sku, location counts) and when a cancellation was offered.
CREATE TABLE IF NOT EXISTS customer_message_lines (
    message_id      VARCHAR NOT NULL,
    customer_id     VARCHAR,
    order_id        VARCHAR NOT NULL,
    sku             VARCHAR NOT NULL,
    location        VARCHAR NOT NULL,
    day             DATE NOT NULL,
    moment          VARCHAR,                     -- the line's own moment that day (NULL: listed, nothing new)
    status          VARCHAR,
    eta             DATE,
    promised_date   DATE,
    cancel_offered  BOOLEAN,
    cancel_url      VARCHAR,
    created_for_run VARCHAR,
    created_at      TIMESTAMP NOT NULL
);

-- Stock positions the plan (or an intraday sync) ended with, per series: what the next sync
-- compares against to find crossings (forecast.sync).
CREATE TABLE IF NOT EXISTS positions (
    run_id              VARCHAR NOT NULL,
    sku                 VARCHAR NOT NULL,
    location            VARCHAR NOT NULL,
    on_hand             DOUBLE,                  -- usable stock (negative counted as 0)
    on_hand_recorded    DOUBLE,
    on_order            DOUBLE,
    committed           DOUBLE,                  -- open customer order units
    allocated           DOUBLE,
    backordered         DOUBLE,
    inventory_position  DOUBLE,
    stock_as_of         TIMESTAMP                -- the last movement counted (NULL: the snapshot)
);

-- Intraday stock syncs (forecast.sync): each one is also a published run (its sync_id).
CREATE TABLE IF NOT EXISTS stock_syncs (
    sync_id                 VARCHAR PRIMARY KEY,
    base_run                VARCHAR,             -- the nightly plan whose policies it applied
    started_at              TIMESTAMP NOT NULL,
    finished_at             TIMESTAMP,
    synced_to               TIMESTAMP,           -- the latest movement applied
    movements_new           BIGINT,
    movements_rejected      BIGINT,
    series_changed          BIGINT,
    alerts_raised           BIGINT,
    alerts_closed           BIGINT,
    lines_released          BIGINT,
    customers_told          BIGINT,
    recommendations_changed BIGINT,
    seconds                 DOUBLE
);

-- Movements a sync has counted (its watermark): a rerun finds none of them new.
CREATE TABLE IF NOT EXISTS applied_movements (
    movement_id VARCHAR PRIMARY KEY,
    sync_id     VARCHAR NOT NULL
);

-- Input files a sync has read, by content: an unchanged file is not read again.
CREATE TABLE IF NOT EXISTS sync_files (
    table_name  VARCHAR PRIMARY KEY,
    file        VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    sync_id     VARCHAR NOT NULL
);

-- Threshold alerts raised by syncs: one per crossing, open until the position recovers.
CREATE TABLE IF NOT EXISTS stock_alerts (
    alert_id   VARCHAR PRIMARY KEY,              -- <sync_id>:<kind>:<sku>@<location>
    sku        VARCHAR NOT NULL,
    location   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,                 -- below_min | stockout | orders_exceed_stock
    severity   VARCHAR,
    opened_at  TIMESTAMP NOT NULL,               -- the movement that crossed
    opened_by  VARCHAR NOT NULL,                 -- sync_id
    level      DOUBLE,                           -- position (or on hand) when it crossed
    threshold  DOUBLE,                           -- the minimum, 0, or the open order units
    closed_at  TIMESTAMP,
    closed_by  VARCHAR,
    message    VARCHAR
);

-- A counter per input table, raised by every load or clear of it: a snapshot reuses (links)
-- the previous snapshot's file of a table whose version is unchanged (forecast.sync).
CREATE TABLE IF NOT EXISTS table_versions (
    table_name VARCHAR PRIMARY KEY,
    version    BIGINT NOT NULL
);
