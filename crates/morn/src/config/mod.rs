//! Configuration: one TOML file, overridden by `MORN_*` environment variables, checked
//! for unknown keys and semantic problems, then turned into runtime settings.
//!
//! - [`schema`]: the file's shape, with defaults.
//! - [`load`]: reading the file, applying the environment, collecting every problem
//!   with its location instead of stopping at the first.
//! - [`resolve`]: semantic checks and secrets resolution into [`Settings`].

mod load;
mod locate;
mod resolve;
mod routes;
mod schema;

pub use load::{Problem, load};
pub use resolve::{Settings, resolve};
pub use schema::{LogFormat, RedisFailureMode};
