//! The provider and model catalog, scoped to an organization or one workspace.

use async_trait::async_trait;

use super::{in_scope, map_row, map_rows};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, args, classify};
use crate::records::{ModelRecord, ProviderRecord};

/// Upstream providers and the model names routed to them. Lookups take the
/// organization id, so one tenant can never read another's records by id.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Conflict when the name is taken in its scope; Reference when the workspace or
    /// secret does not exist in the organization.
    async fn create_provider(&self, provider: &ProviderRecord) -> Result<(), StoreError>;

    async fn get_provider(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<ProviderRecord>, StoreError>;

    /// Providers of exactly one scope (`None`: the organization-wide ones), by name.
    async fn list_providers(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<ProviderRecord>, StoreError>;

    /// Writes name, kind, base_url, secret_id, headers and updated_at of the provider
    /// with this id and organization.
    async fn update_provider(&self, provider: &ProviderRecord) -> Result<(), StoreError>;

    async fn delete_provider(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;

    /// Every provider of every tenant, for loading the router.
    async fn list_all_providers(&self) -> Result<Vec<ProviderRecord>, StoreError>;

    /// Conflict when the name is taken in its scope.
    async fn create_model(&self, model: &ModelRecord) -> Result<(), StoreError>;

    async fn get_model(&self, org_id: &str, id: &str) -> Result<Option<ModelRecord>, StoreError>;

    /// Models of exactly one scope (`None`: the organization-wide ones), by name.
    async fn list_models(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<ModelRecord>, StoreError>;

    /// Writes name, spec and updated_at of the model with this id and organization.
    async fn update_model(&self, model: &ModelRecord) -> Result<(), StoreError>;

    async fn delete_model(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;

    /// Every model of every tenant, for loading the router.
    async fn list_all_models(&self) -> Result<Vec<ModelRecord>, StoreError>;
}

const PROVIDER_COLS: &str = "id, org_id, workspace_id, name, kind, base_url, secret_id, headers, \
     created_at, updated_at";
const MODEL_COLS: &str = "id, org_id, workspace_id, name, spec, created_at, updated_at";

fn provider_row(row: &impl RowRead) -> Result<ProviderRecord, sqlx::Error> {
    Ok(ProviderRecord {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        workspace_id: row.opt_text("workspace_id")?,
        name: row.text("name")?,
        kind: row.text("kind")?,
        base_url: row.opt_text("base_url")?,
        secret_id: row.opt_text("secret_id")?,
        headers: row.json("headers")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn model_row(row: &impl RowRead) -> Result<ModelRecord, sqlx::Error> {
    Ok(ModelRecord {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        workspace_id: row.opt_text("workspace_id")?,
        name: row.text("name")?,
        spec: row.json("spec")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn select_providers() -> Query {
    Query::new("SELECT ")
        .sql(PROVIDER_COLS)
        .sql(" FROM providers WHERE ")
}

fn select_models() -> Query {
    Query::new("SELECT ")
        .sql(MODEL_COLS)
        .sql(" FROM models WHERE ")
}

/// `DELETE FROM <table> WHERE org_id = $1 AND id = $2`.
fn delete_in_org(table_sql: &'static str, org_id: &str, id: &str) -> Query {
    Query::new(table_sql)
        .sql(" WHERE org_id = ")
        .bind(org_id)
        .sql(" AND id = ")
        .bind(id)
}

fn one_changed(rows: u64, what: &'static str) -> Result<(), StoreError> {
    match rows {
        0 => Err(StoreError::NotFound { what }),
        _ => Ok(()),
    }
}

#[async_trait]
impl<B: Backend> CatalogStore for B {
    async fn create_provider(&self, p: &ProviderRecord) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO providers (")
            .sql(PROVIDER_COLS)
            .sql(") VALUES (")
            .binds(args![
                &p.id,
                &p.org_id,
                &p.workspace_id,
                &p.name,
                &p.kind,
                &p.base_url,
                &p.secret_id,
                &p.headers,
                p.created_at,
                p.updated_at,
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "provider"))?;
        Ok(())
    }

    async fn get_provider(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<ProviderRecord>, StoreError> {
        let query = select_providers()
            .sql("org_id = ")
            .bind(org_id)
            .sql(" AND id = ")
            .bind(id);
        map_row(self.fetch_optional(query).await?, provider_row)
    }

    async fn list_providers(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<ProviderRecord>, StoreError> {
        let query = select_providers().sql("org_id = ").bind(org_id);
        let query = in_scope(query, workspace_id).sql(" ORDER BY name");
        map_rows(self.fetch_all(query).await?, provider_row)
    }

    async fn update_provider(&self, p: &ProviderRecord) -> Result<(), StoreError> {
        let query = Query::new("UPDATE providers SET name = ")
            .bind(&p.name)
            .sql(", kind = ")
            .bind(&p.kind)
            .sql(", base_url = ")
            .bind(&p.base_url)
            .sql(", secret_id = ")
            .bind(&p.secret_id)
            .sql(", headers = ")
            .bind(&p.headers)
            .sql(", updated_at = ")
            .bind(p.updated_at)
            .sql(" WHERE org_id = ")
            .bind(&p.org_id)
            .sql(" AND id = ")
            .bind(&p.id);
        let rows = self
            .execute(query)
            .await
            .map_err(|e| classify(e, "provider"))?;
        one_changed(rows, "provider")
    }

    async fn delete_provider(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        let query = delete_in_org("DELETE FROM providers", org_id, id);
        Ok(self.execute(query).await? > 0)
    }

    async fn list_all_providers(&self) -> Result<Vec<ProviderRecord>, StoreError> {
        let query = select_providers().sql("1 = 1 ORDER BY id");
        map_rows(self.fetch_all(query).await?, provider_row)
    }

    async fn create_model(&self, m: &ModelRecord) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO models (")
            .sql(MODEL_COLS)
            .sql(") VALUES (")
            .binds(args![
                &m.id,
                &m.org_id,
                &m.workspace_id,
                &m.name,
                &m.spec,
                m.created_at,
                m.updated_at,
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "model"))?;
        Ok(())
    }

    async fn get_model(&self, org_id: &str, id: &str) -> Result<Option<ModelRecord>, StoreError> {
        let query = select_models()
            .sql("org_id = ")
            .bind(org_id)
            .sql(" AND id = ")
            .bind(id);
        map_row(self.fetch_optional(query).await?, model_row)
    }

    async fn list_models(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<ModelRecord>, StoreError> {
        let query = select_models().sql("org_id = ").bind(org_id);
        let query = in_scope(query, workspace_id).sql(" ORDER BY name");
        map_rows(self.fetch_all(query).await?, model_row)
    }

    async fn update_model(&self, m: &ModelRecord) -> Result<(), StoreError> {
        let query = Query::new("UPDATE models SET name = ")
            .bind(&m.name)
            .sql(", spec = ")
            .bind(&m.spec)
            .sql(", updated_at = ")
            .bind(m.updated_at)
            .sql(" WHERE org_id = ")
            .bind(&m.org_id)
            .sql(" AND id = ")
            .bind(&m.id);
        let rows = self
            .execute(query)
            .await
            .map_err(|e| classify(e, "model"))?;
        one_changed(rows, "model")
    }

    async fn delete_model(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        let query = delete_in_org("DELETE FROM models", org_id, id);
        Ok(self.execute(query).await? > 0)
    }

    async fn list_all_models(&self) -> Result<Vec<ModelRecord>, StoreError> {
        let query = select_models().sql("1 = 1 ORDER BY id");
        map_rows(self.fetch_all(query).await?, model_row)
    }
}
