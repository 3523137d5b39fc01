-- Facts about this installation (schema version, instance id, creation time).
CREATE TABLE IF NOT EXISTS morn_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO morn_meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
