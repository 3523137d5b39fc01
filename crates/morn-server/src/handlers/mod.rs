//! Route handlers, one module per surface.

pub mod admin;
pub mod anthropic;
mod chat;
pub mod health;
pub mod metrics;
pub mod openai;
