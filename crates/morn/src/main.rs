//! The `morn` binary: parses the command line and runs one command.

mod admin;
mod cli;
mod commands;
mod config;
mod identity;
mod logging;
mod startup;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the gateway allocates many small, short-lived buffers per request (JSON
/// values, headers, SSE chunks); glibc malloc showed as ~10% of CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    commands::run(cli)
}
