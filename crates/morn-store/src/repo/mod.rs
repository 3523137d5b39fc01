//! The store traits, one per aggregate, and their single implementation for every
//! [`Backend`]: the SQL here runs unchanged on SQLite and PostgreSQL.
//!
//! Conventions:
//! - `get_*` return `Ok(None)` when nothing matches.
//! - `update_*` on a missing row return `StoreError::NotFound`.
//! - `delete_*`, `remove_*`, `revoke_*` are idempotent and return whether a row changed.
//! - Lists that can grow without bound are keyset-paginated by id ([`Page`]).
//! - Every write is one statement or one transaction.

mod audit;
mod catalog;
mod keys;
mod members;
mod orgs;
mod policy;
mod sessions;
mod usage;
mod usage_hourly;
mod users;
mod vault;

pub use audit::AuditStore;
pub use catalog::CatalogStore;
pub use keys::KeyStore;
pub use members::MemberStore;
pub use orgs::OrgStore;
pub use policy::PolicyStore;
pub use sessions::SessionStore;
pub use usage::UsageStore;
pub use users::UserStore;
pub use vault::VaultStore;

use async_trait::async_trait;

use crate::StoreError;
use crate::backend::{Backend, Query};
use crate::records::{Page, Paged, Role};

/// Everything the platform persists about identity and tenancy. Object safe: hold it
/// as `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    OrgStore
    + MemberStore
    + UserStore
    + KeyStore
    + SessionStore
    + AuditStore
    + VaultStore
    + CatalogStore
    + UsageStore
    + PolicyStore
    + Send
    + Sync
{
    /// `"sqlite"` or `"postgres"`.
    fn backend_name(&self) -> &'static str;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The highest applied migration.
    async fn schema_version(&self) -> Result<i64, StoreError>;

    /// Closes the connection pool, letting in-flight queries finish.
    async fn close(&self);
}

#[async_trait]
impl<B: Backend> Store for B {
    fn backend_name(&self) -> &'static str {
        B::NAME
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Backend::ping(self).await
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        Backend::schema_version(self).await
    }

    async fn close(&self) {
        Backend::close(self).await;
    }
}

/// Appends the keyset condition and order for `page` to a query whose WHERE clause is
/// already open. `id_col` is the unique, time-ordered column the list is keyed on.
/// Fetches one row more than the limit to learn whether another page exists.
fn paginate(query: Query, page: &Page, id_col: &'static str) -> Query {
    let query = match &page.after {
        Some(after) => query.sql(" AND ").sql(id_col).sql(" > ").bind(after),
        None => query,
    };
    query
        .sql(" ORDER BY ")
        .sql(id_col)
        .sql(" LIMIT ")
        .bind(i64::from(page.effective_limit()) + 1)
}

/// Cuts the extra row [`paginate`] fetched and sets `next_after`.
fn paged<T>(mut data: Vec<T>, page: &Page, id: impl Fn(&T) -> &str) -> Paged<T> {
    let limit = page.effective_limit() as usize;
    let next_after = if data.len() > limit {
        data.truncate(limit);
        data.last().map(|last| id(last).to_owned())
    } else {
        None
    };
    Paged { data, next_after }
}

/// Reads a stored role; the CHECK constraint makes a bad one a corrupt database.
fn role(text: &str) -> Result<Role, sqlx::Error> {
    Role::parse(text).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {text:?}").into()))
}

/// Maps every row with `map`.
fn map_rows<R, T>(
    rows: Vec<R>,
    map: impl Fn(&R) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(|row| map(row).map_err(StoreError::from))
        .collect()
}

/// Maps an optional row with `map`.
fn map_row<R, T>(
    row: Option<R>,
    map: impl Fn(&R) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, StoreError> {
    row.as_ref().map(map).transpose().map_err(StoreError::from)
}

/// Appends ` AND workspace_id = $ws`, or ` AND workspace_id IS NULL` for the
/// organization-wide scope: lists and lookups match one scope exactly.
fn in_scope(query: Query, workspace_id: Option<&str>) -> Query {
    match workspace_id {
        Some(ws) => query.sql(" AND workspace_id = ").bind(ws),
        None => query.sql(" AND workspace_id IS NULL"),
    }
}
