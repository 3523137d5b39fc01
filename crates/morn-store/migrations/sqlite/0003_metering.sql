-- Metering: the usage ledger and the policies kept as data (rate limits, budgets,
-- price overrides). Money is integer micro-units; times are unix milliseconds.
-- Keep in step with migrations/postgres/0003_metering.sql.

-- One row per request. Tenant ids are not foreign keys: the ledger outlives the keys,
-- users and workspaces it talks about, and inserting must never fail on them.
CREATE TABLE usage_records (
    request_id         TEXT PRIMARY KEY NOT NULL,
    created_at         INTEGER NOT NULL,
    org_id             TEXT,
    workspace_id       TEXT,
    user_id            TEXT,
    key_id             TEXT,
    endpoint           TEXT NOT NULL,
    model              TEXT NOT NULL,
    deployment         TEXT,
    stream             INTEGER NOT NULL CHECK (stream IN (0, 1)),
    status             INTEGER NOT NULL,
    error_class        TEXT,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_micros        INTEGER NOT NULL,
    estimated          INTEGER NOT NULL CHECK (estimated IN (0, 1)),
    cache_hit          INTEGER NOT NULL CHECK (cache_hit IN (0, 1)),
    latency_ms         INTEGER NOT NULL,
    ttft_ms            INTEGER
);
-- Every report is a time range, usually within one key, user, workspace or
-- organization: each index finds a 30-day range of one tenant without touching other
-- rows, and `usage_time` serves instance-wide ranges. The sums need most columns, so
-- covering indexes would nearly copy the table for little gain: a range reads a few
-- hundred rows per key (see examples/usage_index_bench.rs).
CREATE INDEX usage_key_time ON usage_records (key_id, created_at);
CREATE INDEX usage_user_time ON usage_records (user_id, created_at);
CREATE INDEX usage_workspace_time ON usage_records (workspace_id, created_at);
CREATE INDEX usage_org_time ON usage_records (org_id, created_at);
CREATE INDEX usage_time ON usage_records (created_at);

-- A rule belongs to the workspace of its scope (for a workspace scope, the workspace
-- itself). One rule per scope, scope id and model (or none): two rules for the same
-- subject would leave which one holds to chance.
CREATE TABLE rate_limits (
    id             TEXT PRIMARY KEY NOT NULL,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id   TEXT NOT NULL,
    scope          TEXT NOT NULL CHECK (scope IN ('key', 'user', 'workspace')),
    scope_id       TEXT NOT NULL,
    model          TEXT,
    rpm            INTEGER CHECK (rpm IS NULL OR rpm > 0),
    tpm            INTEGER CHECK (tpm IS NULL OR tpm > 0),
    max_concurrent INTEGER CHECK (max_concurrent IS NULL OR max_concurrent > 0),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CHECK (rpm IS NOT NULL OR tpm IS NOT NULL OR max_concurrent IS NOT NULL),
    CHECK (scope <> 'workspace' OR scope_id = workspace_id),
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);
CREATE INDEX rate_limits_workspace ON rate_limits (org_id, workspace_id, id);
CREATE UNIQUE INDEX rate_limits_subject
    ON rate_limits (workspace_id, scope, scope_id, COALESCE(model, ''));

CREATE TABLE budgets (
    id             TEXT PRIMARY KEY NOT NULL,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id   TEXT NOT NULL,
    scope          TEXT NOT NULL CHECK (scope IN ('key', 'user', 'workspace')),
    scope_id       TEXT NOT NULL,
    period         TEXT NOT NULL CHECK (period IN ('day', 'month', 'total')),
    amount_micros  INTEGER NOT NULL CHECK (amount_micros >= 0),
    alert_percents TEXT NOT NULL,
    webhook_url    TEXT,
    hard_stop      INTEGER NOT NULL CHECK (hard_stop IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CHECK (scope <> 'workspace' OR scope_id = workspace_id),
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);
CREATE INDEX budgets_workspace ON budgets (org_id, workspace_id, id);
-- One budget per subject and period.
CREATE UNIQUE INDEX budgets_subject ON budgets (workspace_id, scope, scope_id, period);

-- Soft alerts already sent: the primary key makes one replica win each alert.
CREATE TABLE budget_alerts (
    budget_id    TEXT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL,
    percent      INTEGER NOT NULL,
    fired_at     INTEGER NOT NULL,
    PRIMARY KEY (budget_id, period_start, percent)
);

-- `workspace_id` NULL: the whole organization (the composite foreign key is then not
-- checked, as both databases skip it when a column is NULL).
CREATE TABLE price_overrides (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id TEXT,
    model        TEXT NOT NULL,
    deployment   TEXT,
    price        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);
CREATE INDEX price_overrides_org ON price_overrides (org_id, workspace_id, id);
-- One override per workspace (or none), model and deployment (or none); COALESCE
-- because a plain unique index treats NULLs as distinct.
CREATE UNIQUE INDEX price_overrides_subject
    ON price_overrides (org_id, COALESCE(workspace_id, ''), model, COALESCE(deployment, ''));
