//! Organization and workspace memberships.

use async_trait::async_trait;

use super::orgs::{org_row, workspace_row};
use super::{map_row, map_rows, paged, paginate, role};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, args, classify};
use crate::records::{OrgMembership, Page, Paged, UserOrg, UserWorkspace, WorkspaceMembership};

/// Who belongs where, with which role.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Adds the member, or changes the role of an existing one (keeping its
    /// `created_at`). Reference when the organization or user does not exist.
    async fn upsert_org_membership(&self, membership: &OrgMembership) -> Result<(), StoreError>;

    async fn get_org_membership(
        &self,
        org_id: &str,
        user_id: &str,
    ) -> Result<Option<OrgMembership>, StoreError>;

    /// Keyset-paginated by user id.
    async fn list_org_members(
        &self,
        org_id: &str,
        page: Page,
    ) -> Result<Paged<OrgMembership>, StoreError>;

    async fn remove_org_membership(&self, org_id: &str, user_id: &str) -> Result<bool, StoreError>;

    /// Adds the member, or changes the role of an existing one.
    async fn upsert_workspace_membership(
        &self,
        membership: &WorkspaceMembership,
    ) -> Result<(), StoreError>;

    async fn get_workspace_membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<WorkspaceMembership>, StoreError>;

    /// Keyset-paginated by user id.
    async fn list_workspace_members(
        &self,
        workspace_id: &str,
        page: Page,
    ) -> Result<Paged<WorkspaceMembership>, StoreError>;

    async fn remove_workspace_membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError>;

    /// The organizations a user belongs to, oldest first.
    async fn list_user_orgs(&self, user_id: &str) -> Result<Vec<UserOrg>, StoreError>;

    /// The workspaces a user belongs to, oldest first.
    async fn list_user_workspaces(&self, user_id: &str) -> Result<Vec<UserWorkspace>, StoreError>;
}

fn org_membership_row(row: &impl RowRead) -> Result<OrgMembership, sqlx::Error> {
    Ok(OrgMembership {
        org_id: row.text("org_id")?,
        user_id: row.text("user_id")?,
        role: role(&row.text("role")?)?,
        created_at: row.int("created_at")?,
    })
}

fn workspace_membership_row(row: &impl RowRead) -> Result<WorkspaceMembership, sqlx::Error> {
    Ok(WorkspaceMembership {
        workspace_id: row.text("workspace_id")?,
        user_id: row.text("user_id")?,
        role: role(&row.text("role")?)?,
        created_at: row.int("created_at")?,
    })
}

#[async_trait]
impl<B: Backend> MemberStore for B {
    async fn upsert_org_membership(&self, m: &OrgMembership) -> Result<(), StoreError> {
        let query =
            Query::new("INSERT INTO org_memberships (org_id, user_id, role, created_at) VALUES (")
                .binds(args![&m.org_id, &m.user_id, m.role.as_str(), m.created_at])
                .sql(") ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "organization membership"))?;
        Ok(())
    }

    async fn get_org_membership(
        &self,
        org_id: &str,
        user_id: &str,
    ) -> Result<Option<OrgMembership>, StoreError> {
        let query = Query::new(
            "SELECT org_id, user_id, role, created_at FROM org_memberships WHERE org_id = ",
        )
        .bind(org_id)
        .sql(" AND user_id = ")
        .bind(user_id);
        map_row(self.fetch_optional(query).await?, org_membership_row)
    }

    async fn list_org_members(
        &self,
        org_id: &str,
        page: Page,
    ) -> Result<Paged<OrgMembership>, StoreError> {
        let query = Query::new(
            "SELECT org_id, user_id, role, created_at FROM org_memberships WHERE org_id = ",
        )
        .bind(org_id);
        let rows = self.fetch_all(paginate(query, &page, "user_id")).await?;
        let rows = map_rows(rows, org_membership_row)?;
        Ok(paged(rows, &page, |m| &m.user_id))
    }

    async fn remove_org_membership(&self, org_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let query = Query::new("DELETE FROM org_memberships WHERE org_id = ")
            .bind(org_id)
            .sql(" AND user_id = ")
            .bind(user_id);
        Ok(self.execute(query).await? > 0)
    }

    async fn upsert_workspace_membership(&self, m: &WorkspaceMembership) -> Result<(), StoreError> {
        let query = Query::new(
            "INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at) VALUES (",
        )
        .binds(args![
            &m.workspace_id,
            &m.user_id,
            m.role.as_str(),
            m.created_at
        ])
        .sql(") ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "workspace membership"))?;
        Ok(())
    }

    async fn get_workspace_membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<WorkspaceMembership>, StoreError> {
        let query = Query::new(
            "SELECT workspace_id, user_id, role, created_at FROM workspace_memberships \
             WHERE workspace_id = ",
        )
        .bind(workspace_id)
        .sql(" AND user_id = ")
        .bind(user_id);
        map_row(self.fetch_optional(query).await?, workspace_membership_row)
    }

    async fn list_workspace_members(
        &self,
        workspace_id: &str,
        page: Page,
    ) -> Result<Paged<WorkspaceMembership>, StoreError> {
        let query = Query::new(
            "SELECT workspace_id, user_id, role, created_at FROM workspace_memberships \
             WHERE workspace_id = ",
        )
        .bind(workspace_id);
        let rows = self.fetch_all(paginate(query, &page, "user_id")).await?;
        let rows = map_rows(rows, workspace_membership_row)?;
        Ok(paged(rows, &page, |m| &m.user_id))
    }

    async fn remove_workspace_membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let query = Query::new("DELETE FROM workspace_memberships WHERE workspace_id = ")
            .bind(workspace_id)
            .sql(" AND user_id = ")
            .bind(user_id);
        Ok(self.execute(query).await? > 0)
    }

    async fn list_user_orgs(&self, user_id: &str) -> Result<Vec<UserOrg>, StoreError> {
        let query = Query::new(
            "SELECT o.id, o.name, o.slug, o.created_at, m.role FROM org_memberships m \
             JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ",
        )
        .bind(user_id)
        .sql(" ORDER BY o.id");
        map_rows(self.fetch_all(query).await?, |row| {
            Ok(UserOrg {
                org: org_row(row)?,
                role: role(&row.text("role")?)?,
            })
        })
    }

    async fn list_user_workspaces(&self, user_id: &str) -> Result<Vec<UserWorkspace>, StoreError> {
        let query = Query::new(
            "SELECT w.id, w.org_id, w.name, w.slug, w.created_at, m.role \
             FROM workspace_memberships m JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = ",
        )
        .bind(user_id)
        .sql(" ORDER BY w.id");
        map_rows(self.fetch_all(query).await?, |row| {
            Ok(UserWorkspace {
                workspace: workspace_row(row)?,
                role: role(&row.text("role")?)?,
            })
        })
    }
}
