//! Persistence for Morn: records (tenants, users, keys, sessions, audit, vault,
//! catalog) behind one object-safe [`Store`] trait with two implementations, the
//! embedded [`SqliteStore`] (default) and [`PgStore`] (cluster mode).
//!
//! `Store` is the union of one trait per aggregate ([`OrgStore`], [`UserStore`],
//! [`KeyStore`]...), so a service can take just the slice it needs. Every method is
//! callable on an `Arc<dyn Store>` as is; on a concrete store (`SqliteStore`,
//! `PgStore`) bring the traits into scope with `use morn_store::prelude::*;`.
//!
//! The traits use `async-trait` (boxed futures) because native `async fn` in traits is
//! not object safe. The query code in `repo/` is written once for both databases; see
//! `backend.rs` for how.

mod backend;
mod metering;
mod migrate;
mod pooled;
mod postgres;
mod records;
mod repo;
mod sqlite;

pub use metering::*;
pub use postgres::PgStore;
pub use records::*;
pub use repo::{
    AuditStore, CatalogStore, KeyStore, MemberStore, OrgStore, PolicyStore, SessionStore, Store,
    UsageStore, UserStore, VaultStore,
};
pub use sqlite::SqliteStore;

/// The store traits, for calling their methods on a concrete store.
pub mod prelude {
    pub use crate::repo::{
        AuditStore, CatalogStore, KeyStore, MemberStore, OrgStore, PolicyStore, SessionStore,
        Store, UsageStore, UserStore, VaultStore,
    };
}

/// Store failures. Details are for logs; callers show a generic message, except for
/// the typed variants, which map to client errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the SQLite connection the usage ledger's inserts use (`sqlite/bulk.rs`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    /// A uniqueness rule was broken (an email, a slug, a key hash, a name in scope).
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    /// The row an update targets does not exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A referenced row does not exist, or a row is still referenced.
    #[error("{what}: a referenced record is missing or still in use")]
    Reference { what: &'static str },
}
