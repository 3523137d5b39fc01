//! The `morn` binary: parses the command line and runs one command.

mod cli;
mod commands;
mod config;
mod logging;
mod startup;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    commands::run(cli)
}
