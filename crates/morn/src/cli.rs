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
    /// Administration: bootstrap, master key.
    Admin(AdminArgs),
    /// Manage API keys.
    Keys(KeysArgs),
}

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub common: ConfigArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the first organization, workspace and owner, and an API key; prints the
    /// owner's password and the key once.
    Bootstrap {
        #[arg(long, default_value = "Default")]
        org: String,
        #[arg(long, default_value = "Default")]
        workspace: String,
        #[arg(long)]
        email: String,
    },
    /// Re-encrypt every stored secret under a new vault master key.
    RotateMasterKey,
    /// Print a new random vault master key (base64).
    GenerateMasterKey,
}

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub common: ConfigArgs,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key in a workspace; prints the key once.
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        name: String,
        /// Comma-separated models the key may use (default: all).
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Comma-separated scopes: chat, embeddings, models (default: all).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a workspace's keys (never the secrets).
    List {
        #[arg(long)]
        workspace: String,
    },
    /// Revoke a key by id.
    Revoke { id: String },
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
