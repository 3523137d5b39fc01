//! The audit trail.

use async_trait::async_trait;

use super::{map_rows, paged};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, args, classify};
use crate::records::{AuditEvent, AuditFilter, Page, Paged};

/// Append-only record of who did what.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Reference when the organization does not exist.
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// The organization's events matching `filter`, newest first (by `created_at`,
    /// then id). `page.after` is the id of the last event already seen.
    async fn list_audit(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEvent>, StoreError>;
}

const AUDIT_COLS: &str = "id, org_id, workspace_id, actor_type, actor_id, action, target_type, \
     target_id, ip, user_agent, details, created_at";

fn audit_row(row: &impl RowRead) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        workspace_id: row.opt_text("workspace_id")?,
        actor_type: row.text("actor_type")?,
        actor_id: row.text("actor_id")?,
        action: row.text("action")?,
        target_type: row.text("target_type")?,
        target_id: row.opt_text("target_id")?,
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        details: row.json("details")?,
        created_at: row.int("created_at")?,
    })
}

#[async_trait]
impl<B: Backend> AuditStore for B {
    async fn append_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO audit_events (")
            .sql(AUDIT_COLS)
            .sql(") VALUES (")
            .binds(args![
                &e.id,
                &e.org_id,
                &e.workspace_id,
                &e.actor_type,
                &e.actor_id,
                &e.action,
                &e.target_type,
                &e.target_id,
                &e.ip,
                &e.user_agent,
                &e.details,
                e.created_at,
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "audit event"))?;
        Ok(())
    }

    async fn list_audit(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEvent>, StoreError> {
        let mut query = Query::new("SELECT ")
            .sql(AUDIT_COLS)
            .sql(" FROM audit_events WHERE org_id = ")
            .bind(org_id)
            .and_if("workspace_id = ", filter.workspace_id.as_deref())
            .and_if("actor_id = ", filter.actor_id.as_deref())
            .and_if("action = ", filter.action.as_deref())
            .and_if("created_at >= ", filter.since)
            .and_if("created_at < ", filter.until);
        if let Some(after) = &page.after {
            // Keyset on (created_at, id) descending, positioned by the last seen id.
            query = query
                .sql(
                    " AND (created_at, id) < \
                     (SELECT created_at, id FROM audit_events WHERE id = ",
                )
                .bind(after)
                .sql(")");
        }
        let query = query
            .sql(" ORDER BY created_at DESC, id DESC LIMIT ")
            .bind(i64::from(page.effective_limit()) + 1);
        let rows = map_rows(self.fetch_all(query).await?, audit_row)?;
        Ok(paged(rows, &page, |event| &event.id))
    }
}
