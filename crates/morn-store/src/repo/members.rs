//! Organization and workspace memberships.
//!
//! An organization or workspace never loses its last owner: demoting or removing the
//! only owner is refused with `StoreError::Conflict { what: "last owner" }`. The check and the write run in one transaction that first locks the
//! parent row (a no-op update), so two owners demoting each other at the same moment on
//! PostgreSQL cannot both succeed: the second waits for the first and then sees its
//! write (SQLite serializes writers anyway).

use async_trait::async_trait;

use super::orgs::{org_row, workspace_row};
use super::{map_row, map_rows, paged, paginate, role};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, Step, args};
use crate::records::{OrgMembership, Page, Paged, UserOrg, UserWorkspace, WorkspaceMembership};

/// The `what` of the conflict returned when a write would leave no owner.
const LAST_OWNER: &str = "last owner";

/// Reported by the guarded write when it changed nothing; never leaves this module.
const GUARD: &str = "membership guard";

/// Who belongs where, with which role.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Adds the member, or changes the role of an existing one (keeping its
    /// `created_at`). Reference when the organization or user does not exist; Conflict
    /// `"last owner"` when it would demote the organization's only owner.
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

    /// Conflict `"last owner"` when the user is the organization's only owner.
    async fn remove_org_membership(&self, org_id: &str, user_id: &str) -> Result<bool, StoreError>;

    /// Adds the member, or changes the role of an existing one. Conflict
    /// `"last owner"` when it would demote the workspace's only owner.
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

    /// Conflict `"last owner"` when the user is the workspace's only owner.
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
        let upsert =
            Query::new("INSERT INTO org_memberships (org_id, user_id, role, created_at) VALUES (")
                .binds(args![&m.org_id, &m.user_id, m.role.as_str(), m.created_at])
                .sql(
                    ") ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role \
                     WHERE org_memberships.role <> 'owner' OR ",
                )
                .bind(m.role.as_str())
                .sql(" = 'owner' OR EXISTS (SELECT 1 FROM org_memberships o WHERE o.org_id = ")
                .bind(&m.org_id)
                .sql(" AND o.role = 'owner' AND o.user_id <> ")
                .bind(&m.user_id)
                .sql(")");
        let lock = Query::new("UPDATE orgs SET name = name WHERE id = ").bind(&m.org_id);
        match guarded(self, lock, upsert, "organization membership").await {
            // An insert always writes a row: nothing written means the guard refused.
            Err(StoreError::NotFound { what: GUARD }) => Err(last_owner()),
            other => other,
        }
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
        let delete = Query::new("DELETE FROM org_memberships WHERE org_id = ")
            .bind(org_id)
            .sql(" AND user_id = ")
            .bind(user_id)
            .sql(" AND (role <> 'owner' OR EXISTS (SELECT 1 FROM org_memberships o WHERE o.org_id = ")
            .bind(org_id)
            .sql(" AND o.role = 'owner' AND o.user_id <> ")
            .bind(user_id)
            .sql("))");
        let lock = Query::new("UPDATE orgs SET name = name WHERE id = ").bind(org_id);
        match guarded(self, lock, delete, "organization membership").await {
            Ok(()) => Ok(true),
            // Nothing deleted: either there was no such member, or the guard refused.
            Err(StoreError::NotFound { what: GUARD }) => {
                match self.get_org_membership(org_id, user_id).await? {
                    Some(_) => Err(last_owner()),
                    None => Ok(false),
                }
            }
            Err(err) => Err(err),
        }
    }

    async fn upsert_workspace_membership(&self, m: &WorkspaceMembership) -> Result<(), StoreError> {
        let upsert = Query::new(
            "INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at) VALUES (",
        )
        .binds(args![
            &m.workspace_id,
            &m.user_id,
            m.role.as_str(),
            m.created_at
        ])
        .sql(
            ") ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role \
             WHERE workspace_memberships.role <> 'owner' OR ",
        )
        .bind(m.role.as_str())
        .sql(
            " = 'owner' OR EXISTS (SELECT 1 FROM workspace_memberships o \
             WHERE o.workspace_id = ",
        )
        .bind(&m.workspace_id)
        .sql(" AND o.role = 'owner' AND o.user_id <> ")
        .bind(&m.user_id)
        .sql(")");
        let lock =
            Query::new("UPDATE workspaces SET name = name WHERE id = ").bind(&m.workspace_id);
        match guarded(self, lock, upsert, "workspace membership").await {
            Err(StoreError::NotFound { what: GUARD }) => Err(last_owner()),
            other => other,
        }
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
        let delete = Query::new("DELETE FROM workspace_memberships WHERE workspace_id = ")
            .bind(workspace_id)
            .sql(" AND user_id = ")
            .bind(user_id)
            .sql(
                " AND (role <> 'owner' OR EXISTS (SELECT 1 FROM workspace_memberships o \
                 WHERE o.workspace_id = ",
            )
            .bind(workspace_id)
            .sql(" AND o.role = 'owner' AND o.user_id <> ")
            .bind(user_id)
            .sql("))");
        let lock = Query::new("UPDATE workspaces SET name = name WHERE id = ").bind(workspace_id);
        match guarded(self, lock, delete, "workspace membership").await {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound { what: GUARD }) => {
                match self.get_workspace_membership(workspace_id, user_id).await? {
                    Some(_) => Err(last_owner()),
                    None => Ok(false),
                }
            }
            Err(err) => Err(err),
        }
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

/// Runs `lock` (a no-op update of the parent row, which serializes writers to its
/// memberships) then `write`, in one transaction. `NotFound { what: GUARD }` when
/// `write` changed no row.
async fn guarded<B: Backend>(
    backend: &B,
    lock: Query,
    write: Query,
    what: &'static str,
) -> Result<(), StoreError> {
    let steps = vec![Step::new(lock), Step::expect_row(write, GUARD)];
    backend.transaction(steps, what).await
}

fn last_owner() -> StoreError {
    StoreError::Conflict { what: LAST_OWNER }
}
