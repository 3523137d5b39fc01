//! morn-providers
