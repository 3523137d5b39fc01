//! Refresh tokens: sign-in sessions as families of single-use tokens.

use async_trait::async_trait;

use super::{map_row, map_rows};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, args, classify};
use crate::records::RefreshToken;

/// Refresh tokens and the sessions (token families) they form.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Conflict when the hash is taken; Reference when the user does not exist.
    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError>;

    async fn get_refresh_token_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<RefreshToken>, StoreError>;

    /// Marks the token used, atomically: returns `true` only for the one call that
    /// changed it from unused to used. A `false` for an existing token means it was
    /// already used (or revoked) — a reuse, which should revoke its family.
    async fn mark_refresh_token_used(&self, id: &str, at: i64) -> Result<bool, StoreError>;

    /// Revokes every not yet revoked token of the family; returns how many.
    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> Result<u64, StoreError>;

    /// The user's live sessions at `now`: the current (unused, unrevoked, unexpired)
    /// token of each family, newest first.
    async fn list_sessions(&self, user_id: &str, now: i64)
    -> Result<Vec<RefreshToken>, StoreError>;

    /// Revokes every token of the user (sign out everywhere); returns how many.
    async fn revoke_user_sessions(&self, user_id: &str, at: i64) -> Result<u64, StoreError>;

    /// Housekeeping: deletes tokens that expired before `before`; returns how many.
    async fn delete_expired_refresh_tokens(&self, before: i64) -> Result<u64, StoreError>;
}

const TOKEN_COLS: &str = "id, user_id, family_id, hash, created_at, expires_at, used_at, \
     revoked_at, user_agent, ip";

fn token_row(row: &impl RowRead) -> Result<RefreshToken, sqlx::Error> {
    Ok(RefreshToken {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        family_id: row.text("family_id")?,
        hash: row.text("hash")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        used_at: row.opt_int("used_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        user_agent: row.opt_text("user_agent")?,
        ip: row.opt_text("ip")?,
    })
}

#[async_trait]
impl<B: Backend> SessionStore for B {
    async fn insert_refresh_token(&self, t: &RefreshToken) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO refresh_tokens (")
            .sql(TOKEN_COLS)
            .sql(") VALUES (")
            .binds(args![
                &t.id,
                &t.user_id,
                &t.family_id,
                &t.hash,
                t.created_at,
                t.expires_at,
                t.used_at,
                t.revoked_at,
                &t.user_agent,
                &t.ip,
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "refresh token"))?;
        Ok(())
    }

    async fn get_refresh_token_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let query = Query::new("SELECT ")
            .sql(TOKEN_COLS)
            .sql(" FROM refresh_tokens WHERE hash = ")
            .bind(hash);
        map_row(self.fetch_optional(query).await?, token_row)
    }

    async fn mark_refresh_token_used(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        // One conditional UPDATE: the database serialises concurrent calls on the row,
        // and only the first still sees `used_at IS NULL`.
        let query = Query::new("UPDATE refresh_tokens SET used_at = ")
            .bind(at)
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" AND used_at IS NULL AND revoked_at IS NULL");
        Ok(self.execute(query).await? == 1)
    }

    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> Result<u64, StoreError> {
        let query = Query::new("UPDATE refresh_tokens SET revoked_at = ")
            .bind(at)
            .sql(" WHERE family_id = ")
            .bind(family_id)
            .sql(" AND revoked_at IS NULL");
        Ok(self.execute(query).await?)
    }

    async fn list_sessions(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<RefreshToken>, StoreError> {
        let query = Query::new("SELECT ")
            .sql(TOKEN_COLS)
            .sql(" FROM refresh_tokens WHERE user_id = ")
            .bind(user_id)
            .sql(" AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ")
            .bind(now)
            .sql(" ORDER BY created_at DESC, id DESC");
        map_rows(self.fetch_all(query).await?, token_row)
    }

    async fn revoke_user_sessions(&self, user_id: &str, at: i64) -> Result<u64, StoreError> {
        let query = Query::new("UPDATE refresh_tokens SET revoked_at = ")
            .bind(at)
            .sql(" WHERE user_id = ")
            .bind(user_id)
            .sql(" AND revoked_at IS NULL");
        Ok(self.execute(query).await?)
    }

    async fn delete_expired_refresh_tokens(&self, before: i64) -> Result<u64, StoreError> {
        let query = Query::new("DELETE FROM refresh_tokens WHERE expires_at < ").bind(before);
        Ok(self.execute(query).await?)
    }
}
