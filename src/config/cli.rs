//! The command line: the subcommands and their own arguments. The
//! settings every command shares are [`Config`], flattened into [`Cli`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::Config;

/// `access-service [serve|migrate|dev-token|hash-key|health]`.
#[derive(Debug, Parser)]
#[command(
    name = "access-service",
    version,
    about = "Who may do what in a multi-user email-marketing account, over gRPC"
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
}

/// The binary's subcommands.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API (the default).
    Serve,
    /// Apply database migrations and seed the built-in roles, then exit.
    Migrate,
    /// Print an actor token made with a local development key, for trying
    /// the token mode on loopback (the server accepts its issuer there only).
    DevToken(DevTokenArgs),
    /// Make an API key (or read one from stdin) and print the line that
    /// configures it: ACCESS_API_KEYS holds only the key's hash.
    HashKey(HashKeyArgs),
    /// Ask a server's grpc.health.v1 whether it is serving: exit status 0
    /// when it is, 1 otherwise (for a container's HEALTHCHECK).
    Health(HealthArgs),
}

/// `access-service dev-token`: what the token says.
#[derive(Clone, Debug, Args)]
pub struct DevTokenArgs {
    /// The person the token proves (its `sub`).
    #[arg(long)]
    pub sub: String,
    /// Their address, stated as verified; `<sub>@example.com` when omitted.
    #[arg(long)]
    pub email: Option<String>,
    /// The session passed two-factor (`amr` holds `mfa`).
    #[arg(long)]
    pub mfa: bool,
    /// Seconds the token lives.
    #[arg(long, default_value_t = 3600)]
    pub ttl_secs: i64,
    /// Where the development key and its JWKS are kept (made the first time).
    #[arg(long, default_value = ".access-service-dev")]
    pub dir: PathBuf,
}

/// `access-service hash-key`: the key's name and scopes, and where the key
/// comes from.
#[derive(Clone, Debug, Args)]
pub struct HashKeyArgs {
    /// The key's name, as the metrics and activity entries name the caller.
    #[arg(long)]
    pub name: String,
    /// Its scopes, `+`-separated: check, read, write, platform, invitation_tokens.
    #[arg(long, default_value = "check")]
    pub scopes: String,
    /// Read the key from stdin (its first line) instead of making a new
    /// one: a key given on the command line would be in the shell's history.
    #[arg(long)]
    pub stdin: bool,
}

/// `access-service health`: whom to ask.
#[derive(Clone, Debug, Args)]
pub struct HealthArgs {
    /// The server's plaintext gRPC address; by default ACCESS_HEALTH_ADDR
    /// when set (the plaintext health port beside a TLS one), else
    /// ACCESS_LISTEN_ADDR, an unspecified host (0.0.0.0, [::]) asked on loopback.
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// The service whose status to ask; empty: the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
    /// How long to wait for the answer, in milliseconds.
    #[arg(long, default_value_t = 3_000)]
    pub timeout_ms: u64,
}
