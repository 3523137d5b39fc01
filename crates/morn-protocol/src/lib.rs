//! morn-protocol
