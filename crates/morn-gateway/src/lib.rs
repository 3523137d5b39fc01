//! morn-gateway
