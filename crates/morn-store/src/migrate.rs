//! A small embedded migrator: numbered SQL files compiled into the binary, applied in
//! order inside one transaction each, recorded in `morn_migrations`.
//!
//! sqlx's own migrator needs its macros (and a database at compile time) or the files
//! on disk at run time; a single binary wants neither.

/// One schema migration.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// SQLite migrations, in order. Append only; never edit a released one.
pub(crate) const SQLITE: &[Migration] = &[Migration {
    version: 1,
    name: "meta",
    sql: include_str!("../migrations/sqlite/0001_meta.sql"),
}];
