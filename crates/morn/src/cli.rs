//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Morn: an LLM gateway, API platform and chat workspace in one binary.
#[derive(Debug, Parser)]
#[command(name = "morn", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Work with configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML). `MORN_*` environment variables override it.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, indexes). Overrides config.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: ConfigArgs,
    /// Address to listen on. Overrides config. Port 0 picks a free port.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (with the current environment applied) and print
    /// every problem with its location.
    Check {
        /// The file to check.
        path: PathBuf,
    },
}
