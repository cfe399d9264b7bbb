//! The MySQL schema and its versioned migrations.
//!
//! `schema_migrations` holds one row per version applied. DDL commits on its own in MySQL,
//! so what makes two instances starting at once safe is a named lock
//! (`GET_LOCK('domain-host-migrate:<database>')`): one migrates, the other waits, then finds
//! nothing left to do. A database from a newer `domain-host` is refused.

use anyhow::{Result, bail};
use mysql_async::Pool;
use mysql_async::prelude::Queryable;

const TABLE: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/// Migrations, in order; index + 1 is the version each brings. Each is a list of
/// statements (one statement per call).
fn migrations() -> Vec<Vec<String>> {
    vec![
        // 1: what the SQLite schema 1 to 4 holds, plus the leases an instance takes on an
        // event, a due check and a delivery.
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS domains (
                    domain VARCHAR(253) NOT NULL PRIMARY KEY,
                    site BIGINT NOT NULL,
                    kind VARCHAR(16) NOT NULL,
                    stage VARCHAR(32) NOT NULL,
                    phase VARCHAR(16) NOT NULL,
                    phase_started_ms BIGINT NOT NULL,
                    attempts INT NOT NULL DEFAULT 0,
                    checks INT NOT NULL DEFAULT 0,
                    backoff INT NOT NULL DEFAULT 0,
                    next_check_ms BIGINT NOT NULL,
                    last_check_ms BIGINT NULL,
                    done_ms BIGINT NULL,
                    diagnosis MEDIUMTEXT NOT NULL,
                    created_ms BIGINT NOT NULL,
                    updated_ms BIGINT NOT NULL,
                    check_owner VARCHAR(255) NULL,
                    check_until_ms BIGINT NULL,
                    KEY domains_due (next_check_ms)
                ) {TABLE}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS names (
                    domain VARCHAR(253) NOT NULL,
                    name VARCHAR(253) NOT NULL,
                    dns MEDIUMTEXT NOT NULL,
                    certificate MEDIUMTEXT NOT NULL,
                    requirements MEDIUMTEXT NOT NULL,
                    panel MEDIUMTEXT NOT NULL,
                    requested_ms BIGINT NULL,
                    PRIMARY KEY (domain, name),
                    CONSTRAINT names_domain FOREIGN KEY (domain) REFERENCES domains (domain) ON DELETE CASCADE
                ) {TABLE}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS checks (
                    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    domain VARCHAR(253) NOT NULL,
                    at_ms BIGINT NOT NULL,
                    stage VARCHAR(32) NOT NULL,
                    summary MEDIUMTEXT NOT NULL,
                    KEY checks_domain (domain, at_ms)
                ) {TABLE}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS events (
                    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    kind VARCHAR(32) NOT NULL,
                    domain VARCHAR(253) NOT NULL,
                    site BIGINT NOT NULL,
                    idempotency_key VARCHAR(255) NULL,
                    state VARCHAR(16) NOT NULL,
                    attempts INT NOT NULL DEFAULT 0,
                    next_attempt_ms BIGINT NOT NULL,
                    accepted_ms BIGINT NOT NULL,
                    started_ms BIGINT NULL,
                    finished_ms BIGINT NULL,
                    report MEDIUMTEXT NULL,
                    error TEXT NULL,
                    www_mapped TINYINT(1) NOT NULL DEFAULT 0,
                    lease_owner VARCHAR(255) NULL,
                    lease_until_ms BIGINT NULL,
                    UNIQUE KEY events_key (idempotency_key),
                    KEY events_queue (state, id),
                    KEY events_domain (domain, state, id),
                    KEY events_finished (finished_ms)
                ) {TABLE}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS outbox (
                    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    domain VARCHAR(253) NOT NULL,
                    body MEDIUMTEXT NOT NULL,
                    created_ms BIGINT NOT NULL,
                    attempts INT NOT NULL DEFAULT 0,
                    next_attempt_ms BIGINT NOT NULL,
                    delivered_ms BIGINT NULL,
                    last_error TEXT NULL,
                    dead_ms BIGINT NULL,
                    lease_owner VARCHAR(255) NULL,
                    lease_until_ms BIGINT NULL,
                    KEY outbox_pending (delivered_ms, dead_ms, domain, id)
                ) {TABLE}"
            ),
        ],
    ]
}

/// Brings the schema up to date, one instance at a time.
pub(crate) async fn migrate(pool: &Pool, instance: &str) -> Result<()> {
    let mut conn = pool.get_conn().await?;
    let got: Option<Option<i64>> = conn
        .query_first("SELECT GET_LOCK(CONCAT('domain-host-migrate:', DATABASE()), 60)")
        .await?;
    if got.flatten() != Some(1) {
        bail!("another domain-host has held the migration lock for a minute");
    }
    let result = apply(&mut conn, instance).await;
    // Released whatever happened (the lock also goes with the connection).
    let _: Option<Option<i64>> = conn
        .query_first("SELECT RELEASE_LOCK(CONCAT('domain-host-migrate:', DATABASE()))")
        .await
        .unwrap_or(None);
    result
}

async fn apply(conn: &mut mysql_async::Conn, instance: &str) -> Result<()> {
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INT NOT NULL PRIMARY KEY,
            applied_ms BIGINT NOT NULL,
            applied_by VARCHAR(255) NOT NULL
        ) {TABLE}"
    ))
    .await?;
    let version: Option<Option<i64>> = conn
        .query_first("SELECT MAX(version) FROM schema_migrations")
        .await?;
    let version = version.flatten().unwrap_or(0);
    let all = migrations();
    let known = all.len() as i64;
    if version > known {
        bail!(
            "the database is from a newer domain-host (schema {version}; this one knows {known})"
        );
    }
    for (i, statements) in all.iter().enumerate().skip(version as usize) {
        for sql in statements {
            conn.query_drop(sql).await?;
        }
        conn.exec_drop(
            "INSERT INTO schema_migrations (version, applied_ms, applied_by) VALUES (?, ?, ?)",
            (i as i64 + 1, crate::lifecycle::database::now_ms(), instance),
        )
        .await?;
    }
    Ok(())
}
