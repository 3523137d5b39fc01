//! Route handlers, one module per surface.

pub mod admin;
pub mod anthropic;
pub mod health;
pub mod openai;
