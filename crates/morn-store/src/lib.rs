//! morn-store
