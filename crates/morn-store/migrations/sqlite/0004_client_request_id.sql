-- The caller's own `x-request-id`, kept beside Morn's `request_id`. Until now the
-- caller's id was the ledger's unique key, so two requests sent with the same id were
-- stored as one (the second skipped as a replay): a caller could keep requests off
-- its invoice. Rows written before this migration keep the caller's id (if any) in
-- `request_id`. Keep in step with migrations/postgres/0004_client_request_id.sql.
ALTER TABLE usage_records ADD COLUMN client_request_id TEXT;
