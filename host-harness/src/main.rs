use clap::{Parser, Subcommand};
use domain_host::app::{self, Command, Options};
use domain_host::logs::Level;
use std::path::PathBuf;

/// Runs Ultimate Multisite host integrations (domain-provider components) in a sandbox.
///
/// An event goes to every enabled integration; each reports on its own, and the exit
/// status is 1 when any failed (2 when the command itself could not run).
#[derive(Parser)]
#[command(name = "domain-host", version)]
struct Cli {
    /// Config file [default: $DOMAIN_HOST_CONFIG or ./domain-host.toml]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print a machine-readable JSON report.
    #[arg(long, global = true)]
    json: bool,
    /// Echo integration log lines at or above this level to stderr (trace, debug, info,
    /// warn, error, off) [default: warn].
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List configured integrations, their components, constants, sandbox and approval.
    List,
    /// Approve what the integrations' components ask for now (hosts, constants, auth),
    /// pinning it in the lock file next to the config.
    Approve { id: Option<String> },
    /// Test the connection of every enabled integration, or of one.
    Test { id: Option<String> },
    /// A custom domain was mapped to a site.
    AddDomain {
        domain: String,
        #[arg(long)]
        site: u64,
    },
    /// A mapped domain was removed.
    RemoveDomain {
        domain: String,
        #[arg(long)]
        site: u64,
    },
    /// A site was created on a subdomain network (HOST is its full host name).
    AddSubdomain {
        host: String,
        #[arg(long)]
        site: u64,
    },
    /// A subdomain site was deleted.
    RemoveSubdomain {
        host: String,
        #[arg(long)]
        site: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let log_level = match cli.log_level.as_deref() {
        None => Some(Level::Warn),
        Some("off") => None,
        Some(s) => match Level::parse(s) {
            Some(level) => Some(level),
            None => {
                eprintln!(
                    "domain-host: --log-level must be trace, debug, info, warn, error or off"
                );
                std::process::exit(app::EXIT_USAGE);
            }
        },
    };
    let options = Options {
        config: cli.config.unwrap_or_else(app::default_config_path),
        json: cli.json,
        log_level,
    };
    let command = match cli.command {
        Cmd::List => Command::List,
        Cmd::Approve { id } => Command::Approve { id },
        Cmd::Test { id } => Command::Test { id },
        Cmd::AddDomain { domain, site } => Command::AddDomain { domain, site },
        Cmd::RemoveDomain { domain, site } => Command::RemoveDomain { domain, site },
        Cmd::AddSubdomain { host, site } => Command::AddSubdomain { host, site },
        Cmd::RemoveSubdomain { host, site } => Command::RemoveSubdomain { host, site },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let status = runtime.block_on(app::run(&options, command));
    std::process::exit(status);
}
