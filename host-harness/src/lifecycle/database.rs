//! The lifecycle's embedded store: one SQLite database under the state directory, in WAL
//! mode, every check written in one transaction (a process killed mid-check leaves the
//! previous state whole and the check is simply done again), schema migrations from the
//! first version on (`PRAGMA user_version`).

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// Migrations, in order; index + 1 is the schema version they bring.
const MIGRATIONS: &[&str] = &[
    // 1: domains, their names, and the timeline of checks.
    "CREATE TABLE domains (
        domain TEXT PRIMARY KEY,
        site INTEGER NOT NULL,
        kind TEXT NOT NULL,
        stage TEXT NOT NULL,
        phase TEXT NOT NULL,
        phase_started_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        checks INTEGER NOT NULL DEFAULT 0,
        backoff INTEGER NOT NULL DEFAULT 0,
        next_check_ms INTEGER NOT NULL,
        last_check_ms INTEGER,
        done_ms INTEGER,
        diagnosis TEXT NOT NULL DEFAULT '[]',
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX domains_due ON domains(next_check_ms);
    CREATE TABLE names (
        domain TEXT NOT NULL REFERENCES domains(domain) ON DELETE CASCADE,
        name TEXT NOT NULL,
        dns TEXT NOT NULL,
        certificate TEXT NOT NULL,
        requirements TEXT NOT NULL DEFAULT '[]',
        panel TEXT NOT NULL DEFAULT '{}',
        requested_ms INTEGER,
        PRIMARY KEY (domain, name)
    );
    CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        domain TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        stage TEXT NOT NULL,
        summary TEXT NOT NULL
    );
    CREATE INDEX checks_domain ON checks(domain, at_ms);",
    // 2: the service (`domain-host serve`): its event queue (ids in accepted order, never
    // reused; idempotency keys unique) and the outbox of stage changes for the callback.
    "CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        domain TEXT NOT NULL,
        site INTEGER NOT NULL,
        idempotency_key TEXT UNIQUE,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        accepted_ms INTEGER NOT NULL,
        started_ms INTEGER,
        finished_ms INTEGER,
        report TEXT,
        error TEXT
    );
    CREATE INDEX events_queue ON events(state, id);
    CREATE INDEX events_domain ON events(domain, state, id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        body TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        delivered_ms INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_pending ON outbox(delivered_ms, domain, id);",
    // 3: a remove-domain event says whether `www.<domain>` is mapped on its own (review #9).
    "ALTER TABLE events ADD COLUMN www_mapped INTEGER NOT NULL DEFAULT 0",
    // 4: a stage change the callback refused too often is dead (kept for the operator,
    // no longer holding its domain's later changes); finished events are pruned by age.
    "ALTER TABLE outbox ADD COLUMN dead_ms INTEGER;
    CREATE INDEX events_finished ON events(finished_ms) WHERE finished_ms IS NOT NULL",
];

/// The routing track of a name, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsView {
    pub state: String,
    pub reason: String,
    pub found: Vec<String>,
    pub expected: Vec<String>,
}

/// The certificate track of a name, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertView {
    pub state: String,
    pub reason: String,
    pub issuer: Option<String>,
    /// Unix seconds.
    pub not_after: Option<i64>,
    pub days_left: Option<i64>,
}

impl DnsView {
    pub fn unchecked() -> Self {
        DnsView {
            state: "unknown".into(),
            reason: "not-checked-yet".into(),
            found: vec![],
            expected: vec![],
        }
    }
}

impl CertView {
    pub fn unchecked() -> Self {
        CertView {
            state: "unknown".into(),
            reason: "not-checked-yet".into(),
            issuer: None,
            not_after: None,
            days_left: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameRecord {
    pub name: String,
    pub dns: DnsView,
    pub certificate: CertView,
    /// Records a provider asked the customer to create (`dns-requirements`).
    pub requirements: Vec<crate::runtime::operation::RecordView>,
    /// The panels' own view of the certificate, by integration.
    pub panel: BTreeMap<String, serde_json::Value>,
    pub requested_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainRecord {
    pub domain: String,
    pub site: u64,
    /// `mapped` or `subdomain`.
    pub kind: String,
    pub stage: String,
    /// `dns`, `certificate` or `done`.
    pub phase: String,
    pub phase_started_ms: i64,
    /// Failed checks in the current phase (checks that could not run do not count).
    pub attempts: u32,
    pub checks: u32,
    pub backoff: u32,
    pub next_check_ms: i64,
    pub last_check_ms: Option<i64>,
    pub done_ms: Option<i64>,
    pub diagnosis: Vec<String>,
    pub names: Vec<NameRecord>,
}

/// The store: SQLite in the state directory (one machine), or a shared MySQL/MariaDB
/// database (`[store]`). Every caller goes through the same methods (and the functions of
/// `service::queue`); each answers from the backend it has.
pub struct Database {
    backend: Backend,
    /// Whether stage changes are written to the outbox (a callback is configured).
    outbox: std::sync::atomic::AtomicBool,
}

enum Backend {
    Sqlite(Mutex<Connection>),
    Mysql(crate::mysql::Mysql),
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Database {
    /// Opens (creating and migrating) the database.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            crate::sandbox::files::private_dir(dir)?;
        }
        // Every event, report, customer domain and callback body is in here: 0600 whatever
        // the umask or the state directory's mode. SQLite gives the `-wal` and `-shm` files
        // the main file's mode; ones an older version left are made private too.
        crate::sandbox::files::owner_only_file(path)?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        for suffix in ["-wal", "-shm"] {
            let side = path.with_file_name(format!(
                "{}{suffix}",
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
            ));
            if side.exists() {
                crate::sandbox::files::owner_only_file(&side)?;
            }
        }
        // Committed transactions survive a killed process; FULL would also survive a
        // power loss at the cost of an fsync per commit.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The queue's and the lifecycle's statements are prepared once and kept (parsing
        // them again for every event and check was a tenth of the service's CPU).
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&conn)?;
        Ok(Database {
            backend: Backend::Sqlite(Mutex::new(conn)),
            outbox: Default::default(),
        })
    }

    /// Connects to the shared database of `[store]` (creating and migrating its schema);
    /// `instance` names the leases this process takes.
    pub fn open_mysql(config: &crate::config::StoreConfig, instance: &str) -> Result<Self> {
        Ok(Database {
            backend: Backend::Mysql(crate::mysql::Mysql::connect(config, instance)?),
            outbox: Default::default(),
        })
    }

    pub fn from_mysql(mysql: crate::mysql::Mysql) -> Self {
        Database {
            backend: Backend::Mysql(mysql),
            outbox: Default::default(),
        }
    }

    /// The shared database, when this store is one.
    pub fn mysql(&self) -> Option<&crate::mysql::Mysql> {
        match &self.backend {
            Backend::Mysql(m) => Some(m),
            Backend::Sqlite(_) => None,
        }
    }

    /// `sqlite` or `mysql`, as `/healthz` and `status` say.
    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Mysql(_) => "mysql",
        }
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Mysql(m) => m.ping(),
            Backend::Sqlite(_) => self.with_connection(|c| {
                c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
                Ok(())
            }),
        }
    }

    /// From now on, every stage change is also written to the outbox, in the transaction
    /// that changes the stage (the service delivers it to the callback).
    pub fn keep_outbox(&self, on: bool) {
        self.outbox.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    fn outbox_on(&self) -> bool {
        self.outbox.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `synchronous = FULL`: an fsync per commit, so a commit also survives a power loss.
    pub fn synchronous_full(&self) -> Result<()> {
        if self.mysql().is_some() {
            // The database's own durability settings (innodb_flush_log_at_trx_commit) rule.
            return Ok(());
        }
        self.conn()?.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.lock().unwrap_or_else(|e| e.into_inner())),
            Backend::Mysql(_) => bail!("this call is for the SQLite store only"),
        }
    }

    /// Runs `f` in one transaction on the store's connection.
    pub fn transaction<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Creates a domain's record, or refreshes it after another add: the names it serves
    /// now are kept (with what was learnt about them), new ones added, others dropped; the
    /// schedule restarts.
    pub fn upsert(
        &self,
        domain: &str,
        site: u64,
        kind: &str,
        names: &[String],
        now: i64,
    ) -> Result<()> {
        self.upsert_for(domain, site, kind, names, now, None)
    }

    /// [`Database::upsert`] on behalf of a service event (named in the stage change).
    pub fn upsert_for(
        &self,
        domain: &str,
        site: u64,
        kind: &str,
        names: &[String],
        now: i64,
        event: Option<i64>,
    ) -> Result<()> {
        let outbox = self.outbox_on();
        if let Some(m) = self.mysql() {
            return m.upsert_for(domain, site, kind, names, now, event, outbox);
        }
        self.transaction(|tx| {
            let exists: bool = tx
                .prepare_cached("SELECT 1 FROM domains WHERE domain = ?1")?
                .query_row([domain], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                tx.prepare_cached(
                    "UPDATE domains SET site = ?2, kind = ?3, attempts = 0, backoff = 0, next_check_ms = ?4,
                     phase_started_ms = CASE WHEN phase = 'done' THEN phase_started_ms ELSE ?4 END,
                     updated_ms = ?4 WHERE domain = ?1",
                )?
                .execute(params![domain, site as i64, kind, now])?;
            } else {
                tx.prepare_cached(
                    "INSERT INTO domains (domain, site, kind, stage, phase, phase_started_ms, next_check_ms, created_ms, updated_ms)
                     VALUES (?1, ?2, ?3, 'checking-dns', 'dns', ?4, ?4, ?4, ?4)",
                )?
                .execute(params![domain, site as i64, kind, now])?;
                if outbox {
                    let names: Vec<NameRecord> = names
                        .iter()
                        .map(|n| NameRecord {
                            name: n.clone(),
                            dns: DnsView::unchecked(),
                            certificate: CertView::unchecked(),
                            requirements: vec![],
                            panel: BTreeMap::new(),
                            requested_ms: None,
                        })
                        .collect();
                    stage_change(
                        tx,
                        StageChange {
                            domain,
                            site,
                            kind,
                            previous: None,
                            stage: "checking-dns",
                            names: &names,
                            diagnosis: &[],
                            event,
                        },
                    )?;
                }
            }
            let placeholders = names.iter().map(|_| "?").collect::<Vec<_>>().join(",");
            let mut keep: Vec<&dyn rusqlite::ToSql> = vec![&domain];
            for n in names {
                keep.push(n);
            }
            tx.execute(
                &format!("DELETE FROM names WHERE domain = ? AND name NOT IN ({placeholders})"),
                rusqlite::params_from_iter(keep),
            )?;
            for name in names {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO names (domain, name, dns, certificate) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                        domain,
                        name,
                        serde_json::to_string(&DnsView::unchecked())?,
                        serde_json::to_string(&CertView::unchecked())?
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Ends a domain's record (it was removed from the network).
    pub fn remove(&self, domain: &str) -> Result<bool> {
        self.remove_for(domain, None)
    }

    /// [`Database::remove`] on behalf of a service event (named in the stage change).
    pub fn remove_for(&self, domain: &str, event: Option<i64>) -> Result<bool> {
        let outbox = self.outbox_on();
        if let Some(m) = self.mysql() {
            return m.remove_for(domain, event, outbox);
        }
        self.transaction(|tx| {
            let before: Option<(i64, String, String)> = tx
                .query_row(
                    "SELECT site, kind, stage FROM domains WHERE domain = ?1",
                    [domain],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((site, kind, stage)) = before else {
                return Ok(false);
            };
            tx.execute("DELETE FROM domains WHERE domain = ?1", [domain])?;
            if outbox {
                stage_change(
                    tx,
                    StageChange {
                        domain,
                        site: site as u64,
                        kind: &kind,
                        previous: Some(&stage),
                        stage: "removed",
                        names: &[],
                        diagnosis: &[],
                        event,
                    },
                )?;
            }
            Ok(true)
        })
    }

    pub fn get(&self, domain: &str) -> Result<Option<DomainRecord>> {
        if let Some(m) = self.mysql() {
            return m.get_domain(domain);
        }
        let conn = self.conn()?;
        read(&conn, domain)
    }

    /// Every domain, by name.
    pub fn all(&self) -> Result<Vec<DomainRecord>> {
        if let Some(m) = self.mysql() {
            return m.all_domains();
        }
        let conn = self.conn()?;
        let domains: Vec<String> = conn
            .prepare("SELECT domain FROM domains ORDER BY domain")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        domains
            .iter()
            .filter_map(|d| read(&conn, d).transpose())
            .collect()
    }

    /// Domains whose next check is due, soonest first (in a shared store: claimed, so
    /// each is checked by one instance).
    pub fn due(&self, now: i64, limit: usize) -> Result<Vec<String>> {
        if let Some(m) = self.mysql() {
            return m.due_domains(now, limit);
        }
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT domain FROM domains WHERE next_check_ms <= ?1 ORDER BY next_check_ms LIMIT ?2",
        )?;
        let out = stmt
            .query_map(params![now, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(out)
    }

    /// A page of [`Database::due`] for a long run of checks: due domains after `after` (a
    /// cursor this answers; `None` to start), in the same order. The run asks for the next
    /// page while the last ones are still being checked, and a page holds only what is
    /// being checked now, so memory does not grow with the number of domains. (In a shared
    /// store each page is claimed, so the next one skips those being checked; the cursor
    /// is not needed there.)
    pub fn due_page(
        &self,
        now: i64,
        after: Option<DueCursor>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<DueCursor>)> {
        if let Some(m) = self.mysql() {
            return Ok((m.due_domains(now, limit)?, after));
        }
        let (ms, rowid) = after.map(|c| (c.0, c.1)).unwrap_or((i64::MIN, i64::MIN));
        let conn = self.conn()?;
        // The index on next_check_ms holds (next_check_ms, rowid) in order: the cursor
        // starts each page where the last ended.
        let mut stmt = conn.prepare_cached(
            "SELECT domain, next_check_ms, rowid FROM domains
             WHERE next_check_ms <= ?1 AND (next_check_ms, rowid) > (?2, ?3)
             ORDER BY next_check_ms, rowid LIMIT ?4",
        )?;
        let mut cursor = after;
        let mut out = Vec::new();
        let mut rows = stmt.query(params![now, ms, rowid, limit as i64])?;
        while let Some(r) = rows.next()? {
            out.push(r.get(0)?);
            cursor = Some(DueCursor(r.get(1)?, r.get(2)?));
        }
        Ok((out, cursor))
    }

    /// When the soonest check is due, if any domain is recorded.
    pub fn next_due(&self) -> Result<Option<i64>> {
        if let Some(m) = self.mysql() {
            return m.next_check();
        }
        let conn = self.conn()?;
        Ok(conn.query_row("SELECT MIN(next_check_ms) FROM domains", [], |r| r.get(0))?)
    }

    /// Writes a check's result: the domain, its names and a timeline entry, at once.
    pub fn save(&self, record: &DomainRecord, summary: &str) -> Result<()> {
        self.save_if(record, summary, None).map(|_| ())
    }

    /// [`Database::save`] for a check's result, only if the record is still as the check
    /// read it (`read`: its stage and next check then). A panel's failure, a re-add or a
    /// removal that landed while the check ran is newer than what the check saw, and
    /// stays; answers whether the result was written.
    pub fn save_checked(
        &self,
        record: &DomainRecord,
        summary: &str,
        read: (&str, i64),
    ) -> Result<bool> {
        self.save_if(record, summary, Some(read))
    }

    fn save_if(
        &self,
        record: &DomainRecord,
        summary: &str,
        read: Option<(&str, i64)>,
    ) -> Result<bool> {
        let outbox = self.outbox_on();
        if let Some(m) = self.mysql() {
            return m.save(record, summary, outbox, read);
        }
        self.transaction(|tx| {
            let current: Option<(String, i64)> = tx
                .prepare_cached("SELECT stage, next_check_ms FROM domains WHERE domain = ?1")?
                .query_row([&record.domain], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((previous, next_check_ms)) = current else {
                // Removed while it was being checked: nothing to keep.
                return Ok(false);
            };
            if let Some((stage, next)) = read
                && (stage != previous || next != next_check_ms)
            {
                return Ok(false);
            }
            let previous = outbox.then_some(previous);
            let updated = tx.prepare_cached(
                "UPDATE domains SET stage = ?2, phase = ?3, phase_started_ms = ?4, attempts = ?5, checks = ?6,
                 backoff = ?7, next_check_ms = ?8, last_check_ms = ?9, done_ms = ?10, diagnosis = ?11, updated_ms = ?12
                 WHERE domain = ?1",
            )?.execute(
                params![
                    record.domain,
                    record.stage,
                    record.phase,
                    record.phase_started_ms,
                    record.attempts,
                    record.checks,
                    record.backoff,
                    record.next_check_ms,
                    record.last_check_ms,
                    record.done_ms,
                    serde_json::to_string(&record.diagnosis)?,
                    now_ms()
                ],
            )?;
            if updated == 0 {
                return Ok(false);
            }
            for n in &record.names {
                tx.prepare_cached(
                    "UPDATE names SET dns = ?3, certificate = ?4, requirements = ?5, panel = ?6, requested_ms = ?7
                     WHERE domain = ?1 AND name = ?2",
                )?.execute(
                    params![
                        record.domain,
                        n.name,
                        serde_json::to_string(&n.dns)?,
                        serde_json::to_string(&n.certificate)?,
                        serde_json::to_string(&n.requirements)?,
                        serde_json::to_string(&n.panel)?,
                        n.requested_ms
                    ],
                )?;
            }
            tx.prepare_cached(
                "INSERT INTO checks (domain, at_ms, stage, summary) VALUES (?1, ?2, ?3, ?4)",
            )?.execute(
                params![record.domain, record.last_check_ms.unwrap_or_else(now_ms), record.stage, summary],
            )?;
            // A bounded timeline: the last 200 checks of each domain.
            tx.prepare_cached(
                "DELETE FROM checks WHERE domain = ?1 AND id NOT IN
                 (SELECT id FROM checks WHERE domain = ?1 ORDER BY id DESC LIMIT 200)",
            )?
            .execute([&record.domain])?;
            if let Some(previous) = previous
                && previous != record.stage
            {
                stage_change(
                    tx,
                    StageChange {
                        domain: &record.domain,
                        site: record.site,
                        kind: &record.kind,
                        previous: Some(&previous),
                        stage: &record.stage,
                        names: &record.names,
                        diagnosis: &record.diagnosis,
                        event: None,
                    },
                )?;
            }
            Ok(true)
        })
    }

    /// The latest checks of a domain, newest first.
    pub fn timeline(&self, domain: &str, limit: usize) -> Result<Vec<(i64, String, String)>> {
        if let Some(m) = self.mysql() {
            return m.timeline(domain, limit);
        }
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT at_ms, stage, summary FROM checks WHERE domain = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let out = stmt
            .query_map(params![domain, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(out)
    }

    /// Runs `f` with the raw connection (the service's queue lives in the same database).
    pub fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut *self.conn()?)
    }
}

/// Where a page of due domains ended (next_check_ms, rowid): see [`Database::due_page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCursor(i64, i64);

/// A domain's stage changed: what the callback says about it.
pub(crate) struct StageChange<'a> {
    pub domain: &'a str,
    pub site: u64,
    pub kind: &'a str,
    pub previous: Option<&'a str>,
    pub stage: &'a str,
    pub names: &'a [NameRecord],
    pub diagnosis: &'a [String],
    pub event: Option<i64>,
}

/// Writes a stage change to the outbox, in the caller's transaction.
fn stage_change(tx: &rusqlite::Transaction, change: StageChange<'_>) -> Result<()> {
    let now = now_ms();
    tx.execute(
        "INSERT INTO outbox (domain, body, created_ms, next_attempt_ms) VALUES (?1, ?2, ?3, ?3)",
        params![change.domain, stage_body(&change), now],
    )?;
    Ok(())
}

/// The callback's body for a stage change (JSON text).
pub(crate) fn stage_body(change: &StageChange<'_>) -> String {
    let now = now_ms();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(now.max(0) as u64);
    let names: Vec<serde_json::Value> = change
        .names
        .iter()
        .map(|n| {
            serde_json::json!({
                "name": n.name,
                "dns": n.dns.state,
                "dns_reason": n.dns.reason,
                "certificate": n.certificate.state,
                "certificate_reason": n.certificate.reason,
            })
        })
        .collect();
    let body = serde_json::json!({
        "domain": change.domain,
        "site": change.site,
        "kind": change.kind,
        "stage": change.stage,
        "previous_stage": change.previous,
        "names": names,
        "diagnosis": change.diagnosis,
        "event_id": change.event,
        "changed_at": humantime::format_rfc3339_millis(at).to_string(),
    });
    body.to_string()
}

fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        bail!(
            "the database is from a newer domain-host (schema {version}; this one knows {known})"
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))
        .with_context(|| format!("migrating the database to schema {}", i + 1))?;
    }
    Ok(())
}

fn read(conn: &Connection, domain: &str) -> Result<Option<DomainRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT domain, site, kind, stage, phase, phase_started_ms, attempts, checks, backoff,
                    next_check_ms, last_check_ms, done_ms, diagnosis FROM domains WHERE domain = ?1",
        )?
        .query_row(
            [domain],
            |r| {
                Ok(DomainRecord {
                    domain: r.get(0)?,
                    site: r.get::<_, i64>(1)? as u64,
                    kind: r.get(2)?,
                    stage: r.get(3)?,
                    phase: r.get(4)?,
                    phase_started_ms: r.get(5)?,
                    attempts: r.get(6)?,
                    checks: r.get(7)?,
                    backoff: r.get(8)?,
                    next_check_ms: r.get(9)?,
                    last_check_ms: r.get(10)?,
                    done_ms: r.get(11)?,
                    diagnosis: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
                    names: vec![],
                })
            },
        )
        .optional()?;
    let Some(mut record) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT name, dns, certificate, requirements, panel, requested_ms FROM names WHERE domain = ?1
         ORDER BY length(name), name",
    )?;
    record.names = stmt
        .query_map([domain], |r| {
            let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
            Ok((
                r.get::<_, String>(0)?,
                json(1)?,
                json(2)?,
                json(3)?,
                json(4)?,
                r.get(5)?,
            ))
        })?
        .map(|row| {
            let (name, dns, cert, req, panel, requested_ms) = row?;
            Ok(NameRecord {
                name,
                dns: serde_json::from_str(&dns).unwrap_or_else(|_| DnsView::unchecked()),
                certificate: serde_json::from_str(&cert).unwrap_or_else(|_| CertView::unchecked()),
                requirements: serde_json::from_str(&req).unwrap_or_default(),
                panel: serde_json::from_str(&panel).unwrap_or_default(),
                requested_ms,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "dh-store-{}-{}",
            std::process::id(),
            crate::sandbox::files::hex(&crate::sandbox::files::random_bytes::<4>())
        ));
        dir.join("domain-host.db")
    }

    /// A check saves its result only over the record it read: a panel's failure (or a
    /// re-add) written while it ran stays, and the check's stale stage does not replace it.
    #[test]
    fn a_check_does_not_overwrite_what_changed_while_it_ran() {
        let path = scratch();
        let store = Database::open(&path).unwrap();
        let names = vec!["shop.example.com".to_string()];
        store
            .upsert("shop.example.com", 3, "mapped", &names, 1000)
            .unwrap();
        let read = store.get("shop.example.com").unwrap().unwrap();
        // Meanwhile the panel failed the domain's removal.
        let mut failed = read.clone();
        failed.stage = "failed".into();
        store.save(&failed, "panel failed").unwrap();
        let mut checked = read.clone();
        checked.stage = "checking-ssl".into();
        checked.next_check_ms = 5000;
        let at_read = (read.stage.as_str(), read.next_check_ms);
        assert!(!store.save_checked(&checked, "checked", at_read).unwrap());
        assert_eq!(
            store.get("shop.example.com").unwrap().unwrap().stage,
            "failed"
        );
        // A re-add moves the next check: the check read before it does not land either.
        store
            .upsert("shop.example.com", 3, "mapped", &names, 3000)
            .unwrap();
        let read = store.get("shop.example.com").unwrap().unwrap();
        store
            .upsert("shop.example.com", 3, "mapped", &names, 4000)
            .unwrap();
        let at_read = (read.stage.as_str(), read.next_check_ms);
        assert!(!store.save_checked(&checked, "checked", at_read).unwrap());
        // Nothing changed since the read: the check's result is written.
        let read = store.get("shop.example.com").unwrap().unwrap();
        let at_read = (read.stage.as_str(), read.next_check_ms);
        assert!(store.save_checked(&checked, "checked", at_read).unwrap());
        assert_eq!(
            store.get("shop.example.com").unwrap().unwrap().stage,
            "checking-ssl"
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn records_are_created_refreshed_and_ended() {
        let path = scratch();
        let store = Database::open(&path).unwrap();
        let names = vec![
            "shop.example.com".to_string(),
            "www.shop.example.com".to_string(),
        ];
        store
            .upsert("shop.example.com", 3, "mapped", &names, 1000)
            .unwrap();
        let r = store.get("shop.example.com").unwrap().unwrap();
        assert_eq!(
            (r.stage.as_str(), r.names.len(), r.next_check_ms),
            ("checking-dns", 2, 1000)
        );
        assert_eq!(r.names[0].name, "shop.example.com");
        // The www policy changed: the www name goes, the apex keeps what was learnt.
        let mut r2 = r.clone();
        r2.names[0].dns.state = "ok".into();
        store.save(&r2, "checked").unwrap();
        store
            .upsert("shop.example.com", 3, "mapped", &names[..1], 2000)
            .unwrap();
        let r = store.get("shop.example.com").unwrap().unwrap();
        assert_eq!(r.names.len(), 1);
        assert_eq!(r.names[0].dns.state, "ok");
        assert_eq!(store.due(2000, 10).unwrap(), vec!["shop.example.com"]);
        assert!(store.remove("shop.example.com").unwrap());
        assert!(store.get("shop.example.com").unwrap().is_none());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn due_pages_follow_each_other_without_repeating() {
        let path = scratch();
        let store = Database::open(&path).unwrap();
        for i in 0..25 {
            let d = format!("d{i:02}.example.com");
            // Three domains share each due time: the cursor orders them by rowid.
            store
                .upsert(&d, 1, "mapped", std::slice::from_ref(&d), 1000 + i / 3)
                .unwrap();
        }
        store
            .upsert(
                "later.example.com",
                1,
                "mapped",
                &["later.example.com".into()],
                5000,
            )
            .unwrap();
        let mut all = vec![];
        let mut cursor = None;
        loop {
            let (page, next) = store.due_page(2000, cursor, 4).unwrap();
            if page.is_empty() {
                break;
            }
            all.extend(page);
            cursor = next;
        }
        assert_eq!(all, store.due(2000, 100).unwrap());
        assert_eq!(all.len(), 25, "the later one is not due");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    /// F13: the database and its `-wal`/`-shm` are 0600 whatever the umask and the state
    /// directory's mode, and a database an older version left 0644 is made private.
    #[test]
    fn the_database_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let path = scratch();
        let dir = path.parent().unwrap();
        std::fs::DirBuilder::new().mode(0o755).create(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let side = |suffix: &str| dir.join(format!("domain-host.db{suffix}"));
        // An older version's database, created with the umask's 0644, and its WAL.
        drop(Connection::open(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(side("-wal"), b"").unwrap();
        std::fs::set_permissions(side("-wal"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = Database::open(&path).unwrap();
        store
            .upsert("a.example.com", 1, "mapped", &["a.example.com".into()], 1)
            .unwrap();
        for file in [path.clone(), side("-wal"), side("-shm")] {
            assert!(file.exists(), "{}", file.display());
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(store);
        // A fresh database in a 0755 directory, under the usual 022 umask.
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::DirBuilder::new().mode(0o755).create(dir).unwrap();
        let store = Database::open(&path).unwrap();
        store
            .upsert("b.example.com", 1, "mapped", &["b.example.com".into()], 1)
            .unwrap();
        for file in [path.clone(), side("-wal"), side("-shm")] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_symlink_in_place_of_the_database_is_refused() {
        let path = scratch();
        let dir = path.parent().unwrap();
        crate::sandbox::files::private_dir(dir).unwrap();
        let elsewhere = dir.join("elsewhere.db");
        std::fs::write(&elsewhere, b"").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        let err = Database::open(&path).err().unwrap().to_string();
        assert!(err.contains("symlink"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reopening_keeps_the_schema_and_refuses_a_newer_one() {
        let path = scratch();
        drop(Database::open(&path).unwrap());
        let store = Database::open(&path).unwrap();
        store
            .upsert(
                "a.example.com",
                1,
                "subdomain",
                &["a.example.com".into()],
                1,
            )
            .unwrap();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Database::open(&path).err().unwrap().to_string();
        assert!(err.contains("newer domain-host"), "{err}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
