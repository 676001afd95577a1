-- Output and bookkeeping tables of the warehouse. Input tables are created from the contract
-- (forecast.contract.TABLES) by forecast.warehouse. Every output row carries the run that made it.

CREATE TABLE IF NOT EXISTS runs (
    run_id            VARCHAR PRIMARY KEY,
    started_at        TIMESTAMP NOT NULL,
    finished_at       TIMESTAMP,
    status            VARCHAR NOT NULL,          -- running | succeeded | failed
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
    line        BIGINT,                          -- 1-based line in the file (header = line 1)
    column_name VARCHAR,
    value       VARCHAR,
    reason      VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS forecasts (
    run_id   VARCHAR NOT NULL,
    sku      VARCHAR NOT NULL,
    location VARCHAR NOT NULL,
    date     DATE NOT NULL,
    mean     DOUBLE NOT NULL,
    q05 DOUBLE, q10 DOUBLE, q25 DOUBLE, q50 DOUBLE, q75 DOUBLE, q90 DOUBLE, q95 DOUBLE, q99 DOUBLE,
    model    VARCHAR NOT NULL
);

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
    campaign_uplift_pct DOUBLE,                  -- planned campaigns inside the protection interval
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
    policy        VARCHAR NOT NULL,              -- fifo | priority | fair
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
    status        VARCHAR                        -- allocated | partial | backordered | no_supply_planned
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

-- The distribution behind each series' forecast (see forecast.distribution): with the means in
-- `forecasts` it rebuilds sample paths and lead-time demand for the plan and simulate steps.
CREATE TABLE IF NOT EXISTS forecast_models (
    run_id     VARCHAR NOT NULL,
    sku        VARCHAR NOT NULL,
    location   VARCHAR NOT NULL,
    model      VARCHAR NOT NULL,
    nb_size    DOUBLE,                           -- negative-binomial size k (NULL = Poisson)
    level_var  DOUBLE,                           -- variance of the shared level error
    frequency  VARCHAR NOT NULL,                 -- D | W-<DAY> | MS
    history_end DATE
);

-- Campaign uplift estimated from past campaigns, per kind and category (multipliers).
CREATE TABLE IF NOT EXISTS campaign_uplift (
    run_id    VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,
    category  VARCHAR NOT NULL,
    campaigns INTEGER,                           -- past campaigns behind the estimate
    uplift    DOUBLE,                            -- demand multiplier during the campaign
    post_dip  DOUBLE                             -- multiplier of the days after it
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

-- What each customer was last told about a waiting order line (forecast.notifications): one
-- row per notice sent, never updated; the latest row per (order_id, sku, location) counts.
CREATE TABLE IF NOT EXISTS notifications (
    order_id      VARCHAR NOT NULL,
    sku           VARCHAR NOT NULL,
    location      VARCHAR NOT NULL,
    customer_id   VARCHAR,
    told_status   VARCHAR NOT NULL,              -- allocated | partial | backordered | no_supply_planned
    told_eta      DATE,                          -- NULL: no supply date given
    promised_date DATE,
    kind          VARCHAR,                       -- delayed | backordered | no_supply | dated | earlier | available
    message       VARCHAR,
    policy        VARCHAR,                       -- allocation policy the notice was based on
    run_id        VARCHAR,
    notified_at   TIMESTAMP NOT NULL
);
