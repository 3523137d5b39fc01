//! morn-server
