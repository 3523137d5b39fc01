//! morn-mock binary
fn main() {}
