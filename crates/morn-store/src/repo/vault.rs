//! The secret vault: ciphertext only; encryption lives in the service layer.

use async_trait::async_trait;

use super::{in_scope, map_row, map_rows};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, args, classify};
use crate::records::{SecretCiphertext, VaultSecret};

/// Encrypted secrets scoped to an organization or one of its workspaces.
#[async_trait]
pub trait VaultStore: Send + Sync {
    /// Inserts the secret, or replaces the ciphertext, nonce, key id, hint and
    /// `updated_at` of the secret with the same (organization, workspace, name),
    /// keeping its id and `created_at`. Returns the stored secret.
    async fn put_secret(&self, secret: &VaultSecret) -> Result<VaultSecret, StoreError>;

    async fn get_secret(&self, org_id: &str, id: &str) -> Result<Option<VaultSecret>, StoreError>;

    async fn get_secret_by_name(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
        name: &str,
    ) -> Result<Option<VaultSecret>, StoreError>;

    /// Secrets of exactly one scope (`None`: the organization-wide ones), by name.
    async fn list_secrets(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<VaultSecret>, StoreError>;

    /// Reference when a provider still uses the secret.
    async fn delete_secret(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;

    /// Every secret of every tenant, for master-key rotation.
    async fn list_all_secrets(&self) -> Result<Vec<VaultSecret>, StoreError>;

    /// Re-encrypted material for one secret (master-key rotation). Each secret
    /// records its `key_id`, so a rotation interrupted halfway stays readable.
    async fn update_secret_ciphertext(
        &self,
        id: &str,
        new: &SecretCiphertext,
    ) -> Result<(), StoreError>;
}

const SECRET_COLS: &str = "id, org_id, workspace_id, name, ciphertext, nonce, key_id, hint, \
     created_at, updated_at";

fn secret_row(row: &impl RowRead) -> Result<VaultSecret, sqlx::Error> {
    Ok(VaultSecret {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        workspace_id: row.opt_text("workspace_id")?,
        name: row.text("name")?,
        ciphertext: row.bytes("ciphertext")?,
        nonce: row.bytes("nonce")?,
        key_id: row.text("key_id")?,
        hint: row.text("hint")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn select_secret() -> Query {
    Query::new("SELECT ")
        .sql(SECRET_COLS)
        .sql(" FROM vault_secrets WHERE ")
}

#[async_trait]
impl<B: Backend> VaultStore for B {
    async fn put_secret(&self, s: &VaultSecret) -> Result<VaultSecret, StoreError> {
        let query = Query::new("INSERT INTO vault_secrets (")
            .sql(SECRET_COLS)
            .sql(") VALUES (")
            .binds(args![
                &s.id,
                &s.org_id,
                &s.workspace_id,
                &s.name,
                s.ciphertext.as_slice(),
                s.nonce.as_slice(),
                &s.key_id,
                &s.hint,
                s.created_at,
                s.updated_at,
            ])
            .sql(
                ") ON CONFLICT (org_id, COALESCE(workspace_id, ''), name) DO UPDATE SET \
                 ciphertext = excluded.ciphertext, nonce = excluded.nonce, \
                 key_id = excluded.key_id, hint = excluded.hint, \
                 updated_at = excluded.updated_at RETURNING ",
            )
            .sql(SECRET_COLS);
        let row = self
            .fetch_optional(query)
            .await
            .map_err(|e| classify(e, "secret"))?;
        // RETURNING yields the row on insert and on update alike.
        map_row(row, secret_row)?.ok_or(StoreError::NotFound { what: "secret" })
    }

    async fn get_secret(&self, org_id: &str, id: &str) -> Result<Option<VaultSecret>, StoreError> {
        let query = select_secret()
            .sql("org_id = ")
            .bind(org_id)
            .sql(" AND id = ")
            .bind(id);
        map_row(self.fetch_optional(query).await?, secret_row)
    }

    async fn get_secret_by_name(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
        name: &str,
    ) -> Result<Option<VaultSecret>, StoreError> {
        let query = select_secret().sql("org_id = ").bind(org_id);
        let query = in_scope(query, workspace_id).sql(" AND name = ").bind(name);
        map_row(self.fetch_optional(query).await?, secret_row)
    }

    async fn list_secrets(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<VaultSecret>, StoreError> {
        let query = select_secret().sql("org_id = ").bind(org_id);
        let query = in_scope(query, workspace_id).sql(" ORDER BY name");
        map_rows(self.fetch_all(query).await?, secret_row)
    }

    async fn delete_secret(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        let query = Query::new("DELETE FROM vault_secrets WHERE org_id = ")
            .bind(org_id)
            .sql(" AND id = ")
            .bind(id);
        let deleted = self
            .execute(query)
            .await
            .map_err(|e| classify(e, "secret"))?;
        Ok(deleted > 0)
    }

    async fn list_all_secrets(&self) -> Result<Vec<VaultSecret>, StoreError> {
        let query = select_secret().sql("1 = 1 ORDER BY id");
        map_rows(self.fetch_all(query).await?, secret_row)
    }

    async fn update_secret_ciphertext(
        &self,
        id: &str,
        new: &SecretCiphertext,
    ) -> Result<(), StoreError> {
        let query = Query::new("UPDATE vault_secrets SET ciphertext = ")
            .bind(new.ciphertext.as_slice())
            .sql(", nonce = ")
            .bind(new.nonce.as_slice())
            .sql(", key_id = ")
            .bind(&new.key_id)
            .sql(", updated_at = ")
            .bind(new.updated_at)
            .sql(" WHERE id = ")
            .bind(id);
        match self.execute(query).await? {
            0 => Err(StoreError::NotFound { what: "secret" }),
            _ => Ok(()),
        }
    }
}
