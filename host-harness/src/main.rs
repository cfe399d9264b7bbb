use clap::{Parser, Subcommand};
use domain_host::commands::{self, Command, Options};
use domain_host::sandbox::logs::Level;
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
        /// `www.` + DOMAIN is mapped as a domain of its own: it stays on the panels.
        #[arg(long)]
        www_mapped: bool,
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
    /// The names each panel serves (integrations with list-domains), or one's.
    ListDomains { id: Option<String> },
    /// DNS for a mapped domain now points at the server: ask the panels for a certificate.
    RequestCertificate {
        domain: String,
        #[arg(long)]
        site: u64,
    },
    /// The panels' own view of a domain's certificate (integrations with certificate-status).
    CertificateStatus {
        domain: String,
        #[arg(long, default_value_t = 0)]
        site: u64,
    },
    /// The records each panel needs the customer to create for a domain.
    DnsRequirements {
        domain: String,
        #[arg(long, default_value_t = 0)]
        site: u64,
    },
    /// The lifecycle's view: every domain, or one with its names, checks and diagnosis.
    Status { domain: Option<String> },
    /// Check a domain's DNS and certificates now (resetting its schedule).
    Verify {
        domain: Option<String>,
        /// Keep checking, as scheduled, until the domain is done or failed.
        #[arg(long)]
        wait: bool,
        /// Check every domain whose next check is due (for cron).
        #[arg(long, conflicts_with = "domain")]
        due: bool,
        /// With --wait: stop waiting after this long ("90s", "1h").
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Run the HTTP service WordPress posts events to (the `[service]` table), until
    /// SIGTERM or SIGINT.
    Serve {
        /// Listen here instead of service.listen (port 0: any free port; the address is
        /// printed as "listening on ADDRESS").
        #[arg(long, value_name = "ADDRESS")]
        listen: Option<std::net::SocketAddr>,
    },
    /// The shared store (`[store]`).
    Store {
        #[command(subcommand)]
        action: StoreCmd,
    },
    /// Compare what WordPress has (a JSON list) with what each panel serves; exit 0 when in
    /// sync, 1 when drift remains.
    Reconcile {
        /// JSON: [{"domain": "shop.example.com", "site": 3, "kind": "mapped"|"subdomain"}]
        #[arg(long, value_name = "FILE")]
        wanted: PathBuf,
        /// Add what is missing (the normal add path, locks and retries included).
        #[arg(long)]
        apply: bool,
        /// Also remove what the panel has that WordPress does not (never the panel's
        /// primary or the network's own names).
        #[arg(long)]
        prune: bool,
        /// Prune even when the wanted list is empty or the prune would remove more than
        /// [service] prune_max_share (default 20%) of a panel's names.
        #[arg(long, requires = "prune")]
        force: bool,
    },
}

#[derive(Subcommand)]
enum StoreCmd {
    /// Copy this config's SQLite database (state_dir) into an empty MySQL/MariaDB database:
    /// events, lifecycle, outbox and idempotency keys, ids kept.
    Copy {
        /// mysql://user@host:3306/database (the password in --password-env, or in the URL)
        #[arg(long, value_name = "URL")]
        to: String,
        /// The environment variable holding the database password.
        #[arg(long, value_name = "NAME")]
        password_env: Option<String>,
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
                std::process::exit(commands::EXIT_USAGE);
            }
        },
    };
    let options = Options {
        config: cli.config.unwrap_or_else(commands::default_config_path),
        json: cli.json,
        log_level,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let command = match cli.command {
        Cmd::Serve { listen } => {
            let status = runtime.block_on(domain_host::service::run(&options, listen));
            std::process::exit(status);
        }
        Cmd::Store {
            action: StoreCmd::Copy { to, password_env },
        } => {
            let status = domain_host::mysql::copy::run(&options, &to, password_env.as_deref());
            std::process::exit(status);
        }
        Cmd::List => Command::List,
        Cmd::Approve { id } => Command::Approve { id },
        Cmd::Test { id } => Command::Test { id },
        Cmd::AddDomain { domain, site } => Command::AddDomain { domain, site },
        Cmd::RemoveDomain {
            domain,
            site,
            www_mapped,
        } => Command::RemoveDomain {
            domain,
            site,
            www_mapped,
        },
        Cmd::AddSubdomain { host, site } => Command::AddSubdomain { host, site },
        Cmd::RemoveSubdomain { host, site } => Command::RemoveSubdomain { host, site },
        Cmd::ListDomains { id } => Command::ListDomains { id },
        Cmd::Status { domain } => Command::Status { domain },
        Cmd::CertificateStatus { domain, site } => Command::CertificateStatus { domain, site },
        Cmd::DnsRequirements { domain, site } => Command::DnsRequirements { domain, site },
        Cmd::Verify {
            domain,
            wait,
            due,
            timeout,
        } => Command::Verify {
            domain,
            wait,
            due,
            timeout,
        },
        Cmd::RequestCertificate { domain, site } => Command::RequestCertificate { domain, site },
        Cmd::Reconcile {
            wanted,
            apply,
            prune,
            force,
        } => Command::Reconcile {
            wanted,
            apply,
            prune,
            force,
        },
    };
    let status = runtime.block_on(commands::run(&options, command));
    std::process::exit(status);
}
