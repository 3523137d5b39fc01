-- Identity and tenancy: organizations, workspaces, users, memberships, API keys,
-- refresh tokens, audit events, the secret vault and the provider/model catalog.
-- Ids are UUID v7 text; timestamps are unix milliseconds; JSON is text.
-- Keep in step with migrations/postgres/0002_identity.sql.

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, slug),
    -- Target of the (org_id, workspace_id) foreign keys below, which make a record
    -- of one tenant pointing into another tenant's workspace impossible.
    UNIQUE (org_id, id)
);
-- list_workspaces(org_id) is a keyset scan ordered by id.
CREATE INDEX workspaces_org_id ON workspaces (org_id, id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    name          TEXT NOT NULL,
    password_hash TEXT,
    is_active     INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE org_memberships (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_memberships_user ON org_memberships (user_id);

CREATE TABLE workspace_memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_memberships_user ON workspace_memberships (user_id);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    workspace_id   TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id        TEXT REFERENCES users (id) ON DELETE SET NULL,
    name           TEXT NOT NULL,
    prefix         TEXT NOT NULL UNIQUE,
    hash           TEXT NOT NULL UNIQUE,
    scopes         TEXT NOT NULL,
    allowed_models TEXT NOT NULL,
    metadata       TEXT NOT NULL,
    expires_at     INTEGER,
    disabled       INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    revoked_at     INTEGER,
    rotated_from   TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
    grace_until    INTEGER
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id);
CREATE INDEX api_keys_user ON api_keys (user_id);
CREATE INDEX api_keys_rotated_from ON api_keys (rotated_from);

CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER,
    user_agent TEXT,
    ip         TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, created_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- workspace_id is deliberately not a foreign key: the trail outlives what it describes.
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id TEXT,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT,
    ip           TEXT,
    user_agent   TEXT,
    details      TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX audit_events_org_time ON audit_events (org_id, created_at, id);

CREATE TABLE vault_secrets (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id TEXT,
    name         TEXT NOT NULL,
    ciphertext   BLOB NOT NULL,
    nonce        BLOB NOT NULL,
    key_id       TEXT NOT NULL,
    hint         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);
-- NULLs are distinct in a plain unique index; COALESCE makes an organization-wide
-- name unique too. Upserts name this same expression as their conflict target.
CREATE UNIQUE INDEX vault_secrets_scope_name
    ON vault_secrets (org_id, COALESCE(workspace_id, ''), name);
-- Lists by scope, and the workspace cascade.
CREATE INDEX vault_secrets_scope ON vault_secrets (org_id, workspace_id);

CREATE TABLE providers (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id TEXT,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    base_url     TEXT,
    secret_id    TEXT,
    headers      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- NO ACTION (the default): a secret in use cannot be deleted out from under its
    -- provider, yet deleting a workspace may take both in one cascade (RESTRICT
    -- would check before the cascade reached the provider).
    FOREIGN KEY (org_id, secret_id) REFERENCES vault_secrets (org_id, id),
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX providers_scope_name
    ON providers (org_id, COALESCE(workspace_id, ''), name);
CREATE INDEX providers_secret ON providers (org_id, secret_id);
CREATE INDEX providers_scope ON providers (org_id, workspace_id);

CREATE TABLE models (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id TEXT,
    name         TEXT NOT NULL,
    spec         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX models_scope_name
    ON models (org_id, COALESCE(workspace_id, ''), name);
CREATE INDEX models_scope ON models (org_id, workspace_id);
