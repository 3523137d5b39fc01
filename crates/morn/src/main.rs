//! morn binary
fn main() {}
