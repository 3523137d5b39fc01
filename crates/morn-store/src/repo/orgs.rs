//! Organizations and workspaces.

use async_trait::async_trait;

use super::{map_row, map_rows, paged, paginate};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, Step, args, classify};
use crate::records::{Organization, Page, Paged, Role, Workspace};

/// Tenants and their workspaces.
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Conflict when the slug is taken.
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError>;

    /// Creates an organization, its first workspace, and makes `owner_user_id` owner
    /// of both (memberships dated `org.created_at`), all in one transaction.
    async fn create_org_with_owner(
        &self,
        org: &Organization,
        workspace: &Workspace,
        owner_user_id: &str,
    ) -> Result<(), StoreError>;

    async fn get_org(&self, id: &str) -> Result<Option<Organization>, StoreError>;

    async fn get_org_by_slug(&self, slug: &str) -> Result<Option<Organization>, StoreError>;

    async fn list_orgs(&self, page: Page) -> Result<Paged<Organization>, StoreError>;

    /// Returns the updated organization.
    async fn update_org_name(&self, id: &str, name: &str) -> Result<Organization, StoreError>;

    /// Conflict when the slug is taken in the organization; Reference when the
    /// organization does not exist.
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError>;

    async fn get_workspace(&self, id: &str) -> Result<Option<Workspace>, StoreError>;

    async fn list_workspaces(
        &self,
        org_id: &str,
        page: Page,
    ) -> Result<Paged<Workspace>, StoreError>;

    /// Deletes the workspace with its memberships, API keys, secrets, providers and
    /// models (cascades). Returns whether it existed.
    async fn delete_workspace(&self, id: &str) -> Result<bool, StoreError>;

    /// `(workspace id, organization id)` of every workspace: the in-memory key cache
    /// uses it to know each key's organization.
    async fn list_workspace_orgs(&self) -> Result<Vec<(String, String)>, StoreError>;
}

const ORG_COLS: &str = "id, name, slug, created_at";
const WORKSPACE_COLS: &str = "id, org_id, name, slug, created_at";

pub(super) fn org_row(row: &impl RowRead) -> Result<Organization, sqlx::Error> {
    Ok(Organization {
        id: row.text("id")?,
        name: row.text("name")?,
        slug: row.text("slug")?,
        created_at: row.int("created_at")?,
    })
}

pub(super) fn workspace_row(row: &impl RowRead) -> Result<Workspace, sqlx::Error> {
    Ok(Workspace {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        name: row.text("name")?,
        slug: row.text("slug")?,
        created_at: row.int("created_at")?,
    })
}

fn insert_org(org: &Organization) -> Query {
    Query::new("INSERT INTO orgs (id, name, slug, created_at) VALUES (")
        .binds(args![&org.id, &org.name, &org.slug, org.created_at])
        .sql(")")
}

fn insert_workspace(ws: &Workspace) -> Query {
    Query::new("INSERT INTO workspaces (id, org_id, name, slug, created_at) VALUES (")
        .binds(args![&ws.id, &ws.org_id, &ws.name, &ws.slug, ws.created_at])
        .sql(")")
}

fn select_org() -> Query {
    Query::new("SELECT ").sql(ORG_COLS).sql(" FROM orgs WHERE ")
}

#[async_trait]
impl<B: Backend> OrgStore for B {
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.execute(insert_org(org))
            .await
            .map_err(|e| classify(e, "organization"))?;
        Ok(())
    }

    async fn create_org_with_owner(
        &self,
        org: &Organization,
        workspace: &Workspace,
        owner_user_id: &str,
    ) -> Result<(), StoreError> {
        let owner = Role::Owner.as_str();
        let steps = vec![
            Step::new(insert_org(org)),
            Step::new(insert_workspace(workspace)),
            Step::new(
                Query::new(
                    "INSERT INTO org_memberships (org_id, user_id, role, created_at) VALUES (",
                )
                .binds(args![&org.id, owner_user_id, owner, org.created_at])
                .sql(")"),
            ),
            Step::new(
                Query::new(
                    "INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at) \
                     VALUES (",
                )
                .binds(args![&workspace.id, owner_user_id, owner, org.created_at])
                .sql(")"),
            ),
        ];
        self.transaction(steps, "organization").await
    }

    async fn get_org(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        let row = self
            .fetch_optional(select_org().sql("id = ").bind(id))
            .await?;
        map_row(row, org_row)
    }

    async fn get_org_by_slug(&self, slug: &str) -> Result<Option<Organization>, StoreError> {
        let row = self
            .fetch_optional(select_org().sql("slug = ").bind(slug))
            .await?;
        map_row(row, org_row)
    }

    async fn list_orgs(&self, page: Page) -> Result<Paged<Organization>, StoreError> {
        let query = paginate(select_org().sql("1 = 1"), &page, "id");
        let rows = map_rows(self.fetch_all(query).await?, org_row)?;
        Ok(paged(rows, &page, |org| &org.id))
    }

    async fn update_org_name(&self, id: &str, name: &str) -> Result<Organization, StoreError> {
        let query = Query::new("UPDATE orgs SET name = ")
            .bind(name)
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" RETURNING ")
            .sql(ORG_COLS);
        map_row(self.fetch_optional(query).await?, org_row)?.ok_or(StoreError::NotFound {
            what: "organization",
        })
    }

    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        self.execute(insert_workspace(workspace))
            .await
            .map_err(|e| classify(e, "workspace"))?;
        Ok(())
    }

    async fn get_workspace(&self, id: &str) -> Result<Option<Workspace>, StoreError> {
        let query = Query::new("SELECT ")
            .sql(WORKSPACE_COLS)
            .sql(" FROM workspaces WHERE id = ")
            .bind(id);
        map_row(self.fetch_optional(query).await?, workspace_row)
    }

    async fn list_workspaces(
        &self,
        org_id: &str,
        page: Page,
    ) -> Result<Paged<Workspace>, StoreError> {
        let query = Query::new("SELECT ")
            .sql(WORKSPACE_COLS)
            .sql(" FROM workspaces WHERE org_id = ")
            .bind(org_id);
        let rows = map_rows(
            self.fetch_all(paginate(query, &page, "id")).await?,
            workspace_row,
        )?;
        Ok(paged(rows, &page, |ws| &ws.id))
    }

    async fn list_workspace_orgs(&self) -> Result<Vec<(String, String)>, StoreError> {
        let query = Query::new("SELECT id, org_id FROM workspaces");
        map_rows(self.fetch_all(query).await?, |row| {
            Ok((row.text("id")?, row.text("org_id")?))
        })
    }

    async fn delete_workspace(&self, id: &str) -> Result<bool, StoreError> {
        let query = Query::new("DELETE FROM workspaces WHERE id = ").bind(id);
        let deleted = self
            .execute(query)
            .await
            .map_err(|e| classify(e, "workspace"))?;
        Ok(deleted > 0)
    }
}
