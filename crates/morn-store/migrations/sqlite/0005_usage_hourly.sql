-- Per-hour sums of the usage ledger, per tenant and model: what budgets, reports and
-- invoices read for whole hours, instead of four tenant indexes on `usage_records`.
-- Every request inserted a row into each of those indexes (four b-tree inserts of
-- 36-character ids, about half of SQLite's work per ledger row); a batch now adds to
-- one `usage_hourly` row per hour, tenant and model it touches. Partial hours at
-- either end of a range are still read from `usage_records` (through `usage_time`).
-- Written in the same transaction as the ledger rows it sums. Absent ids are '' here
-- (NULLs are never equal, so they could not be part of the key).
-- Keep in step with migrations/postgres/0005_usage_hourly.sql.
CREATE TABLE usage_hourly (
    hour_start         INTEGER NOT NULL,
    org_id             TEXT NOT NULL,
    workspace_id       TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    model              TEXT NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_micros        INTEGER NOT NULL,
    PRIMARY KEY (hour_start, org_id, workspace_id, user_id, key_id, model)
) WITHOUT ROWID;
-- One tenant's 30-day range is at most 720 hours times its models (and its keys, for
-- a workspace or an organization); the primary key serves instance-wide ranges.
CREATE INDEX usage_hourly_key ON usage_hourly (key_id, hour_start);
CREATE INDEX usage_hourly_user ON usage_hourly (user_id, hour_start);
CREATE INDEX usage_hourly_workspace ON usage_hourly (workspace_id, hour_start);
CREATE INDEX usage_hourly_org ON usage_hourly (org_id, hour_start);

INSERT INTO usage_hourly (hour_start, org_id, workspace_id, user_id, key_id, model,
    requests, errors, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, reasoning_tokens, cost_micros)
SELECT created_at - created_at % 3600000, COALESCE(org_id, ''),
    COALESCE(workspace_id, ''), COALESCE(user_id, ''), COALESCE(key_id, ''), model,
    COUNT(*), COUNT(error_class), SUM(input_tokens), SUM(output_tokens),
    SUM(cache_read_tokens), SUM(cache_write_tokens), SUM(reasoning_tokens),
    SUM(cost_micros)
FROM usage_records
GROUP BY 1, 2, 3, 4, 5, 6;

DROP INDEX usage_key_time;
DROP INDEX usage_user_time;
DROP INDEX usage_workspace_time;
DROP INDEX usage_org_time;
