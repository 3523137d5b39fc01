//! Persistence. The embedded default is a SQLite file in the data directory; the
//! PostgreSQL backend for cluster mode arrives with the identity work and implements
//! the same store traits.

mod migrate;
mod sqlite;

pub use sqlite::SqliteStore;

/// Store failures. Details are for logs; callers show a generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
}
