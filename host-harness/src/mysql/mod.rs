//! The shared store (`[store]`): the queue, the lifecycle and the outbox in a MySQL 8 or
//! MariaDB 10.6+ database that several `domain-host serve` instances (and the CLI) share.
//!
//! The rest of the host calls the store synchronously (as it calls SQLite): every call
//! here runs the async driver (`mysql_async`) to completion on the calling thread, its
//! sockets and timers driven by a small runtime of the store's own, and is bounded by
//! `[store] timeout` so a lost database is an error, never a hang.
//!
//! - [`schema`]: versioned migrations, one instance at a time (a named lock);
//! - [`queue`]: events claimed with a lease (`FOR UPDATE SKIP LOCKED`), deliveries too;
//! - [`lifecycle`]: domains, names, the timeline and stage changes; due checks leased;
//! - [`copy`]: `domain-host store copy`, an SQLite state directory into an empty database.

pub mod copy;
pub(crate) mod lifecycle;
pub(crate) mod queue;
pub(crate) mod schema;

use crate::config::StoreConfig;
use anyhow::{Context, Result, anyhow, bail};
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use std::future::Future;
use std::time::Duration;

pub struct Mysql {
    runtime: Option<tokio::runtime::Runtime>,
    pub(crate) pool: Pool,
    /// Who holds the leases this process takes.
    pub instance: String,
    /// How long a lease lasts without renewal.
    pub lease_ms: i64,
    timeout: Duration,
}

impl Mysql {
    /// Connects and brings the schema up to date.
    pub fn connect(config: &StoreConfig, instance: &str) -> Result<Self> {
        let (url, password) = config.url()?;
        Self::connect_url(&url, password, instance, config.lease, config.timeout)
    }

    pub fn connect_url(
        url: &str,
        password: Option<String>,
        instance: &str,
        lease: Duration,
        timeout: Duration,
    ) -> Result<Self> {
        // The URL may hold the password: errors name what is wrong, never the URL.
        let opts = Opts::from_url(url).map_err(|e| {
            anyhow!("store: the database URL is not a mysql://user:password@host:port/database URL ({})", kind_of(&e))
        })?;
        if opts.db_name().is_none_or(str::is_empty) {
            bail!("store: the database URL names no database (mysql://user@host:3306/database)");
        }
        let mut builder = OptsBuilder::from_opts(opts)
            .pool_opts(
                PoolOpts::default().with_constraints(PoolConstraints::new(0, 16).expect("0 <= 16")),
            )
            .stmt_cache_size(64);
        if let Some(password) = password {
            builder = builder.pass(Some(password));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("domain-host-store")
            .enable_all()
            .build()
            .context("store: cannot start its runtime")?;
        let pool = {
            let _inside = runtime.enter();
            Pool::new(builder)
        };
        let store = Mysql {
            runtime: Some(runtime),
            pool,
            instance: instance.to_string(),
            lease_ms: lease.as_millis() as i64,
            timeout,
        };
        store
            .run(|| schema::migrate(&store.pool, &store.instance))
            .context("store: cannot prepare the database")?;
        Ok(store)
    }

    /// Runs one database call to completion, within the timeout, on a thread of its own
    /// that belongs to no runtime. The callers are synchronous but often run on a worker of
    /// the service's runtime: driving the call there would let tokio park its wake-ups
    /// (cooperative budget, deferred wakers) on that worker, which is blocked here, and the
    /// call would never end, not even by its timeout.
    fn block_on<T: Send>(&self, call: impl Future<Output = Result<T>> + Send) -> Result<T> {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the store's runtime lives as long as it");
        let timeout = self.timeout;
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    runtime.block_on(async move {
                        match tokio::time::timeout(timeout, call).await {
                            Ok(result) => result,
                            Err(_) => Err(anyhow!(
                                "the database did not answer within {} ms",
                                timeout.as_millis()
                            )),
                        }
                    })
                })
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the database call panicked")))
        })
    }

    /// [`Mysql::block_on`], again when InnoDB chose this transaction as a deadlock's victim
    /// (two instances claiming at once) or a lock wait timed out: it was rolled back whole.
    pub(crate) fn run<T: Send, F: Future<Output = Result<T>> + Send>(
        &self,
        mut call: impl FnMut() -> F,
    ) -> Result<T> {
        let mut tries = 0u64;
        loop {
            match self.block_on(call()) {
                Err(e) if tries < 5 && rolled_back(&e) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(5 * tries));
                }
                result => return result.map_err(|e| StoreError(describe(&e)).into()),
            }
        }
    }

    /// `SELECT 1`.
    pub fn ping(&self) -> Result<()> {
        use mysql_async::prelude::Queryable;
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            conn.query_drop("SELECT 1").await?;
            Ok(())
        })
    }
}

impl Drop for Mysql {
    fn drop(&mut self) {
        // Dropped where blocking is not allowed (an async task): let the runtime go in the
        // background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A call to the shared store failed (most often: the database cannot be reached). What
/// depended on it is not recorded; the service tries the work again (an event whose
/// lifecycle record this stopped is queued again, not done).
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the database: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// A URL error without the URL (it may hold the password).
fn kind_of(e: &mysql_async::UrlError) -> &'static str {
    match e {
        mysql_async::UrlError::UnsupportedScheme { .. } => "the scheme must be mysql",
        mysql_async::UrlError::Invalid => "it does not parse",
        mysql_async::UrlError::UnknownParameter { .. } => "an unknown parameter",
        mysql_async::UrlError::InvalidParamValue { .. } => "a parameter's value is not valid",
        _ => "it is not valid",
    }
}

/// Deadlock victim (1213) or lock wait timeout (1205): the transaction can simply run again.
fn rolled_back(e: &anyhow::Error) -> bool {
    matches!(server_code(e), Some(1213 | 1205))
}

pub(crate) fn server_code(e: &anyhow::Error) -> Option<u16> {
    e.chain()
        .find_map(|c| match c.downcast_ref::<mysql_async::Error>() {
            Some(mysql_async::Error::Server(s)) => Some(s.code),
            _ => None,
        })
}

/// The driver's error, said plainly (a lost connection is the usual one).
fn describe(e: &anyhow::Error) -> String {
    for cause in e.chain() {
        if let Some(my) = cause.downcast_ref::<mysql_async::Error>() {
            return match my {
                mysql_async::Error::Io(io) => format!("cannot reach it ({io})"),
                mysql_async::Error::Server(s) => format!("error {}: {}", s.code, s.message),
                mysql_async::Error::Driver(d) => format!("{d}"),
                other => format!("{other}"),
            };
        }
    }
    format!("{e:#}")
}

/// `1, 2, 3` for an `IN (...)` list of ids (numbers, never text from outside).
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Positional parameters of mixed types: `params![a, b, c]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => {
        mysql_async::Params::Positional(vec![$(mysql_async::Value::from($v)),*])
    };
}
pub(crate) use params;
