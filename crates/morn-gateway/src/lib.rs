//! The request pipeline between the HTTP edge and the upstream providers.
//!
//! Today it resolves a model name to its one deployment and calls it; routing across
//! many deployments, retries, fallbacks, caching, limits and metering hook in here.

mod gateway;
mod registry;

pub use gateway::{ChatStream, Gateway};
pub use registry::{Deployment, ModelRegistry};
