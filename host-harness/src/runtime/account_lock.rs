//! Events for the same integration and account run one at a time, across processes.
//!
//! Panels such as ServerPilot replace the whole domain list, so two events racing through
//! read-modify-write would lose a domain (the PHP plugin has this bug). An advisory lock
//! file per integration and account, under the state directory, serialises them.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Holds the lock until dropped (the OS releases it if the process dies).
#[derive(Debug)]
pub struct AccountLock {
    _file: File,
    /// Waiters of this process queue here first (in order, woken at once when it is
    /// released) instead of polling the file: the service runs many events at once.
    _local: tokio::sync::OwnedMutexGuard<()>,
}

/// One in-process queue per lock file.
fn local(path: &Path) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static LOCALS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCALS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // Per-domain locks would pile up in a long-running service: forget idle queues.
    if map.len() > 1024 {
        map.retain(|_, queue| Arc::strong_count(queue) > 1);
    }
    map.entry(path.to_path_buf()).or_default().clone()
}

/// The lock for an account, or for one domain of it when the provider's events for
/// different domains are independent.
pub fn lock_path(
    lock_dir: &Path,
    integration: &str,
    account_key: &str,
    domain: Option<&str>,
) -> PathBuf {
    let key = match domain {
        Some(domain) => format!("{account_key}\n{domain}"),
        None => account_key.to_string(),
    };
    let digest = Sha256::digest(key.as_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    lock_dir.join(format!("{integration}-{short}.lock"))
}

/// Waits up to `wait` for the lock.
pub async fn acquire(path: PathBuf, wait: Duration) -> Result<AccountLock> {
    if let Some(dir) = path.parent() {
        crate::sandbox::files::shared_dir(dir)?;
    }
    let started = Instant::now();
    let queue = local(&path);
    let local = match tokio::time::timeout(wait, queue.lock_owned()).await {
        Ok(guard) => guard,
        Err(_) => anyhow::bail!(
            "another domain-host has been working on this integration for over {}s \
             (lock file {})",
            wait.as_secs(),
            path.display()
        ),
    };
    let file = crate::sandbox::files::open_lock_file(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(AccountLock {
                    _file: file,
                    _local: local,
                });
            }
            Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "another domain-host has been working on this integration for over {}s \
                 (lock file {})",
                wait.as_secs(),
                path.display()
            ),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_account_same_file_other_account_other_file() {
        let dir = Path::new("/state");
        let path = |account, domain| lock_path(dir, "x", account, domain);
        assert_eq!(path("APP=1", None), path("APP=1", None));
        assert_ne!(path("APP=1", None), path("APP=2", None));
        assert!(path("APP=1", None).starts_with("/state"));
        assert_ne!(path("APP=1", Some("a.com")), path("APP=1", Some("b.com")));
        assert_ne!(path("APP=1", Some("a.com")), path("APP=1", None));
    }

    #[tokio::test]
    async fn second_holder_waits_then_times_out() {
        let dir = std::env::temp_dir().join(format!("dh-lock-test-{}", std::process::id()));
        let path = lock_path(&dir, "x", "k", None);
        let first = acquire(path.clone(), Duration::from_secs(1)).await.unwrap();
        let err = acquire(path.clone(), Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("another domain-host"), "{err}");
        drop(first);
        acquire(path, Duration::from_millis(100)).await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
