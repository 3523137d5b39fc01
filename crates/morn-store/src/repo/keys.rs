//! Gateway API keys.

use async_trait::async_trait;

use super::{map_row, map_rows, paged, paginate};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, Step, args, classify};
use crate::records::{ApiKey, ApiKeyPatch, Page, Paged};

/// API keys: what the gateway authenticates every request with.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// `Conflict { what: "api key" }` when the id, prefix or hash is taken;
    /// Reference when the workspace or user does not exist.
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError>;

    /// The authentication lookup (the hash column is unique and indexed).
    async fn get_api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;

    async fn list_api_keys(
        &self,
        workspace_id: &str,
        page: Page,
    ) -> Result<Paged<ApiKey>, StoreError>;

    /// Applies the set fields of `patch`; returns the updated key.
    async fn update_api_key(&self, id: &str, patch: &ApiKeyPatch) -> Result<ApiKey, StoreError>;

    /// Sets `revoked_at` unless already revoked; returns whether this call revoked it.
    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError>;

    /// Records a use. Never moves `last_used_at` backwards, so batched, out-of-order
    /// touches are harmless. Returns whether the row changed.
    async fn touch_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError>;

    /// In one transaction: gives the live key `old_id` a `grace_until`, and inserts
    /// `new_key` (whose `rotated_from` the caller sets to `old_id`). NotFound when the
    /// old key is missing or revoked; on any failure neither change is made.
    async fn rotate_api_key(
        &self,
        old_id: &str,
        grace_until: i64,
        new_key: &ApiKey,
    ) -> Result<(), StoreError>;

    /// Every key that can still authenticate at `now` (not revoked, not expired, not
    /// past its rotation grace, not belonging to a deactivated user), disabled ones
    /// included: for warming the auth cache. Deactivating a user therefore ends their
    /// keys at the caches' next refresh, and reactivating brings them back.
    async fn list_active_api_keys(&self, now: i64) -> Result<Vec<ApiKey>, StoreError>;
}

const KEY_COLS: &str = "id, workspace_id, user_id, name, prefix, hash, scopes, allowed_models, \
     metadata, expires_at, disabled, created_at, last_used_at, revoked_at, rotated_from, \
     grace_until";

fn key_row(row: &impl RowRead) -> Result<ApiKey, sqlx::Error> {
    Ok(ApiKey {
        id: row.text("id")?,
        workspace_id: row.text("workspace_id")?,
        user_id: row.opt_text("user_id")?,
        name: row.text("name")?,
        prefix: row.text("prefix")?,
        hash: row.text("hash")?,
        scopes: string_list(row, "scopes")?,
        allowed_models: string_list(row, "allowed_models")?,
        metadata: row.json("metadata")?,
        expires_at: row.opt_int("expires_at")?,
        disabled: row.flag("disabled")?,
        created_at: row.int("created_at")?,
        last_used_at: row.opt_int("last_used_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        rotated_from: row.opt_text("rotated_from")?,
        grace_until: row.opt_int("grace_until")?,
    })
}

fn string_list(row: &impl RowRead, col: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_value(row.json(col)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn select_key() -> Query {
    Query::new("SELECT ")
        .sql(KEY_COLS)
        .sql(" FROM api_keys WHERE ")
}

fn insert_key(key: &ApiKey) -> Query {
    Query::new("INSERT INTO api_keys (")
        .sql(KEY_COLS)
        .sql(") VALUES (")
        .binds(args![
            &key.id,
            &key.workspace_id,
            &key.user_id,
            &key.name,
            &key.prefix,
            &key.hash,
            key.scopes.as_slice(),
            key.allowed_models.as_slice(),
            &key.metadata,
            key.expires_at,
            key.disabled,
            key.created_at,
            key.last_used_at,
            key.revoked_at,
            &key.rotated_from,
            key.grace_until,
        ])
        .sql(")")
}

/// `SET a = $1, b = $2...` for the set fields of `patch`; `None` when nothing is set.
fn patch_sets(patch: &ApiKeyPatch) -> Option<Query> {
    let mut query = Query::new("UPDATE api_keys SET ");
    let mut first = true;
    let mut set = |query: Query, column: &'static str| {
        let query = if first { query } else { query.sql(", ") };
        first = false;
        query.sql(column).sql(" = ")
    };
    if let Some(name) = &patch.name {
        query = set(query, "name").bind(name);
    }
    if let Some(scopes) = &patch.scopes {
        query = set(query, "scopes").bind(scopes.as_slice());
    }
    if let Some(models) = &patch.allowed_models {
        query = set(query, "allowed_models").bind(models.as_slice());
    }
    if let Some(metadata) = &patch.metadata {
        query = set(query, "metadata").bind(metadata);
    }
    if let Some(expires_at) = patch.expires_at {
        query = set(query, "expires_at").bind(expires_at);
    }
    if let Some(disabled) = patch.disabled {
        query = set(query, "disabled").bind(disabled);
    }
    (!first).then_some(query)
}

#[async_trait]
impl<B: Backend> KeyStore for B {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.execute(insert_key(key))
            .await
            .map_err(|e| classify(e, "api key"))?;
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = self
            .fetch_optional(select_key().sql("id = ").bind(id))
            .await?;
        map_row(row, key_row)
    }

    async fn get_api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = self
            .fetch_optional(select_key().sql("hash = ").bind(hash))
            .await?;
        map_row(row, key_row)
    }

    async fn list_api_keys(
        &self,
        workspace_id: &str,
        page: Page,
    ) -> Result<Paged<ApiKey>, StoreError> {
        let query = select_key().sql("workspace_id = ").bind(workspace_id);
        let rows = self.fetch_all(paginate(query, &page, "id")).await?;
        let rows = map_rows(rows, key_row)?;
        Ok(paged(rows, &page, |key| &key.id))
    }

    async fn update_api_key(&self, id: &str, patch: &ApiKeyPatch) -> Result<ApiKey, StoreError> {
        let row = match patch_sets(patch) {
            Some(query) => {
                let query = query
                    .sql(" WHERE id = ")
                    .bind(id)
                    .sql(" RETURNING ")
                    .sql(KEY_COLS);
                self.fetch_optional(query).await?
            }
            None => {
                self.fetch_optional(select_key().sql("id = ").bind(id))
                    .await?
            }
        };
        map_row(row, key_row)?.ok_or(StoreError::NotFound { what: "api key" })
    }

    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let query = Query::new("UPDATE api_keys SET revoked_at = ")
            .bind(at)
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" AND revoked_at IS NULL");
        Ok(self.execute(query).await? > 0)
    }

    async fn touch_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let query = Query::new("UPDATE api_keys SET last_used_at = ")
            .bind(at)
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" AND (last_used_at IS NULL OR last_used_at < ")
            .bind(at)
            .sql(")");
        Ok(self.execute(query).await? > 0)
    }

    async fn rotate_api_key(
        &self,
        old_id: &str,
        grace_until: i64,
        new_key: &ApiKey,
    ) -> Result<(), StoreError> {
        let retire = Query::new("UPDATE api_keys SET grace_until = ")
            .bind(grace_until)
            .sql(" WHERE id = ")
            .bind(old_id)
            .sql(" AND revoked_at IS NULL");
        let steps = vec![
            Step::expect_row(retire, "api key"),
            Step::new(insert_key(new_key)),
        ];
        self.transaction(steps, "api key").await
    }

    async fn list_active_api_keys(&self, now: i64) -> Result<Vec<ApiKey>, StoreError> {
        let query = select_key()
            .sql("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ")
            .bind(now)
            .sql(") AND (grace_until IS NULL OR grace_until > ")
            .bind(now)
            // `NOT u.is_active` reads the flag on both backends (boolean on PostgreSQL,
            // 0/1 on SQLite); the lookup uses the users primary key.
            .sql(
                ") AND NOT EXISTS (SELECT 1 FROM users u \
                 WHERE u.id = api_keys.user_id AND NOT u.is_active) ORDER BY id",
            );
        map_rows(self.fetch_all(query).await?, key_row)
    }
}
