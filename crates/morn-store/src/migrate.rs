//! A small embedded migrator: numbered SQL files compiled into the binary, applied in
//! order inside one transaction each, recorded in `morn_migrations`. Each backend has
//! its own files with the same numbers, so `schema_version` means the same on both.
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
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "meta",
        sql: include_str!("../migrations/sqlite/0001_meta.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        sql: include_str!("../migrations/sqlite/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "metering",
        sql: include_str!("../migrations/sqlite/0003_metering.sql"),
    },
    Migration {
        version: 4,
        name: "client_request_id",
        sql: include_str!("../migrations/sqlite/0004_client_request_id.sql"),
    },
    Migration {
        version: 5,
        name: "usage_hourly",
        sql: include_str!("../migrations/sqlite/0005_usage_hourly.sql"),
    },
];

/// PostgreSQL migrations, in order, numbered like their SQLite twins.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "meta",
        sql: include_str!("../migrations/postgres/0001_meta.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        sql: include_str!("../migrations/postgres/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "metering",
        sql: include_str!("../migrations/postgres/0003_metering.sql"),
    },
    Migration {
        version: 4,
        name: "client_request_id",
        sql: include_str!("../migrations/postgres/0004_client_request_id.sql"),
    },
    Migration {
        version: 5,
        name: "usage_hourly",
        sql: include_str!("../migrations/postgres/0005_usage_hourly.sql"),
    },
];
