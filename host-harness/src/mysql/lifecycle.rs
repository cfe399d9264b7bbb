//! The lifecycle's records in MySQL: what `lifecycle::database` keeps in SQLite, each change
//! one transaction with the stage change it causes written to the outbox in it.
//!
//! A due check is claimed with a lease (`check_owner`, `check_until_ms`), so with several
//! instances each check runs once; saving its result ends the lease.

use super::{Mysql, params};
use crate::lifecycle::database::{
    CertView, DnsView, DomainRecord, NameRecord, StageChange, now_ms, stage_body,
};
use anyhow::Result;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, IsolationLevel, TxOpts};
use std::collections::BTreeMap;

impl Mysql {
    /// [`crate::lifecycle::database::Database::upsert_for`]'s arguments and whether the
    /// outbox is kept.
    #[allow(clippy::too_many_arguments)]
    pub fn upsert_for(
        &self,
        domain: &str,
        site: u64,
        kind: &str,
        names: &[String],
        now: i64,
        event: Option<i64>,
        outbox: bool,
    ) -> Result<()> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let exists: Option<i64> = tx
                .exec_first("SELECT 1 FROM domains WHERE domain = ? FOR UPDATE", (domain,))
                .await?;
            if exists.is_some() {
                tx.exec_drop(
                    "UPDATE domains SET site = ?, kind = ?, attempts = 0, backoff = 0, next_check_ms = ?,
                     phase_started_ms = CASE WHEN phase = 'done' THEN phase_started_ms ELSE ? END,
                     updated_ms = ? WHERE domain = ?",
                    params![site as i64, kind, now, now, now, domain],
                )
                .await?;
            } else {
                tx.exec_drop(
                    "INSERT INTO domains (domain, site, kind, stage, phase, phase_started_ms, next_check_ms,
                     diagnosis, created_ms, updated_ms)
                     VALUES (?, ?, ?, 'checking-dns', 'dns', ?, ?, '[]', ?, ?)",
                    params![domain, site as i64, kind, now, now, now, now],
                )
                .await?;
                if outbox {
                    let names: Vec<NameRecord> = names.iter().map(|n| unchecked(n)).collect();
                    let body = stage_body(&StageChange {
                        domain,
                        site,
                        kind,
                        previous: None,
                        stage: "checking-dns",
                        names: &names,
                        diagnosis: &[],
                        event,
                    });
                    tx.exec_drop(
                        "INSERT INTO outbox (domain, body, created_ms, next_attempt_ms) VALUES (?, ?, ?, ?)",
                        params![domain, body.as_str(), body_ms(), body_ms()],
                    )
                    .await?;
                }
            }
            let mut keep = vec![mysql_async::Value::from(domain)];
            keep.extend(names.iter().map(|n| mysql_async::Value::from(n.as_str())));
            let placeholders = names.iter().map(|_| "?").collect::<Vec<_>>().join(",");
            tx.exec_drop(
                format!("DELETE FROM names WHERE domain = ? AND name NOT IN ({placeholders})"),
                mysql_async::Params::Positional(keep),
            )
            .await?;
            let dns = serde_json::to_string(&DnsView::unchecked())?;
            let cert = serde_json::to_string(&CertView::unchecked())?;
            for name in names {
                tx.exec_drop(
                    "INSERT IGNORE INTO names (domain, name, dns, certificate, requirements, panel)
                     VALUES (?, ?, ?, ?, '[]', '{}')",
                    params![domain, name.as_str(), dns.as_str(), cert.as_str()],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub fn remove_for(&self, domain: &str, event: Option<i64>, outbox: bool) -> Result<bool> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let before: Option<(i64, String, String)> = tx
                .exec_first(
                    "SELECT site, kind, stage FROM domains WHERE domain = ? FOR UPDATE",
                    (domain,),
                )
                .await?;
            let Some((site, kind, stage)) = before else {
                tx.commit().await?;
                return Ok(false);
            };
            tx.exec_drop("DELETE FROM domains WHERE domain = ?", (domain,))
                .await?;
            if outbox {
                let body = stage_body(&StageChange {
                    domain,
                    site: site as u64,
                    kind: &kind,
                    previous: Some(&stage),
                    stage: "removed",
                    names: &[],
                    diagnosis: &[],
                    event,
                });
                tx.exec_drop(
                    "INSERT INTO outbox (domain, body, created_ms, next_attempt_ms) VALUES (?, ?, ?, ?)",
                    params![domain, body.as_str(), body_ms(), body_ms()],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    pub fn get_domain(&self, domain: &str) -> Result<Option<DomainRecord>> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            read(&mut conn, domain).await
        })
    }

    pub fn all_domains(&self) -> Result<Vec<DomainRecord>> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let domains: Vec<String> = conn
                .query("SELECT domain FROM domains ORDER BY domain")
                .await?;
            let mut out = Vec::with_capacity(domains.len());
            for d in &domains {
                if let Some(record) = read(&mut conn, d).await? {
                    out.push(record);
                }
            }
            Ok(out)
        })
    }

    /// Claims the domains whose check is due and that no instance is checking (its lease
    /// expired or never taken), soonest first.
    pub fn due_domains(&self, now: i64, limit: usize) -> Result<Vec<String>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut opts = TxOpts::default();
            opts.with_isolation_level(IsolationLevel::ReadCommitted);
            let mut tx = conn.start_transaction(opts).await?;
            let due: Vec<String> = tx
                .exec(
                    "SELECT domain FROM domains WHERE next_check_ms <= ?
                       AND (check_until_ms IS NULL OR check_until_ms < ?)
                     ORDER BY next_check_ms LIMIT ? FOR UPDATE SKIP LOCKED",
                    (now, now, limit as i64),
                )
                .await?;
            for d in &due {
                tx.exec_drop(
                    "UPDATE domains SET check_owner = ?, check_until_ms = ? WHERE domain = ?",
                    params![self.instance.as_str(), now + self.lease_ms, d.as_str()],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(due)
        })
    }

    /// When the soonest check may be claimed (due, and not being checked elsewhere).
    pub fn next_check(&self) -> Result<Option<i64>> {
        self.first("SELECT MIN(GREATEST(next_check_ms, COALESCE(check_until_ms, 0))) FROM domains")
    }

    /// See `Database::save_checked` for `read`; answers whether the record was written.
    pub fn save(
        &self,
        record: &DomainRecord,
        summary: &str,
        outbox: bool,
        read: Option<(&str, i64)>,
    ) -> Result<bool> {
        let diagnosis = serde_json::to_string(&record.diagnosis)?;
        let mut names = Vec::new();
        for n in &record.names {
            names.push((
                n.name.clone(),
                serde_json::to_string(&n.dns)?,
                serde_json::to_string(&n.certificate)?,
                serde_json::to_string(&n.requirements)?,
                serde_json::to_string(&n.panel)?,
                n.requested_ms,
            ));
        }
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let current: Option<(String, i64)> = tx
                .exec_first(
                    "SELECT stage, next_check_ms FROM domains WHERE domain = ? FOR UPDATE",
                    (record.domain.as_str(),),
                )
                .await?;
            let Some((previous, next_check_ms)) = current else {
                // Removed while it was being checked: nothing to keep.
                tx.commit().await?;
                return Ok(false);
            };
            if let Some((stage, next)) = read
                && (stage != previous || next != next_check_ms)
            {
                // Changed while it was being checked: the newer write stays; the check's
                // claim ends.
                tx.exec_drop(
                    "UPDATE domains SET check_owner = NULL, check_until_ms = NULL WHERE domain = ?",
                    (record.domain.as_str(),),
                )
                .await?;
                tx.commit().await?;
                return Ok(false);
            }
            tx.exec_drop(
                "UPDATE domains SET stage = ?, phase = ?, phase_started_ms = ?, attempts = ?, checks = ?,
                 backoff = ?, next_check_ms = ?, last_check_ms = ?, done_ms = ?, diagnosis = ?, updated_ms = ?,
                 check_owner = NULL, check_until_ms = NULL
                 WHERE domain = ?",
                params![
                    record.stage.as_str(),
                    record.phase.as_str(),
                    record.phase_started_ms,
                    record.attempts,
                    record.checks,
                    record.backoff,
                    record.next_check_ms,
                    record.last_check_ms,
                    record.done_ms,
                    diagnosis.as_str(),
                    now_ms(),
                    record.domain.as_str()
                ],
            )
            .await?;
            for (name, dns, cert, req, panel, requested) in &names {
                tx.exec_drop(
                    "UPDATE names SET dns = ?, certificate = ?, requirements = ?, panel = ?, requested_ms = ?
                     WHERE domain = ? AND name = ?",
                    params![
                        dns.as_str(),
                        cert.as_str(),
                        req.as_str(),
                        panel.as_str(),
                        *requested,
                        record.domain.as_str(),
                        name.as_str()
                    ],
                )
                .await?;
            }
            tx.exec_drop(
                "INSERT INTO checks (domain, at_ms, stage, summary) VALUES (?, ?, ?, ?)",
                params![
                    record.domain.as_str(),
                    record.last_check_ms.unwrap_or_else(now_ms),
                    record.stage.as_str(),
                    summary
                ],
            )
            .await?;
            // A bounded timeline: the last 200 checks of each domain.
            let cut: Option<i64> = tx
                .exec_first(
                    "SELECT id FROM checks WHERE domain = ? ORDER BY id DESC LIMIT 1 OFFSET 199",
                    (record.domain.as_str(),),
                )
                .await?;
            if let Some(cut) = cut {
                tx.exec_drop(
                    "DELETE FROM checks WHERE domain = ? AND id < ?",
                    (record.domain.as_str(), cut),
                )
                .await?;
            }
            if outbox && previous != record.stage {
                let body = stage_body(&StageChange {
                    domain: &record.domain,
                    site: record.site,
                    kind: &record.kind,
                    previous: Some(&previous),
                    stage: &record.stage,
                    names: &record.names,
                    diagnosis: &record.diagnosis,
                    event: None,
                });
                tx.exec_drop(
                    "INSERT INTO outbox (domain, body, created_ms, next_attempt_ms) VALUES (?, ?, ?, ?)",
                    params![record.domain.as_str(), body.as_str(), body_ms(), body_ms()],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    pub fn timeline(&self, domain: &str, limit: usize) -> Result<Vec<(i64, String, String)>> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            Ok(conn
                .exec(
                    "SELECT at_ms, stage, summary FROM checks WHERE domain = ? ORDER BY id DESC LIMIT ?",
                    (domain, limit as i64),
                )
                .await?)
        })
    }
}

/// The time a stage change is written (its `changed_at` is taken the same way).
fn body_ms() -> i64 {
    now_ms()
}

fn unchecked(name: &str) -> NameRecord {
    NameRecord {
        name: name.to_string(),
        dns: DnsView::unchecked(),
        certificate: CertView::unchecked(),
        requirements: vec![],
        panel: BTreeMap::new(),
        requested_ms: None,
    }
}

async fn read(conn: &mut Conn, domain: &str) -> Result<Option<DomainRecord>> {
    type Row = (
        String,
        i64,
        String,
        String,
        String,
        i64,
        u32,
        u32,
        u32,
        i64,
        Option<i64>,
        Option<i64>,
    );
    let row: Option<(Row, String)> = conn
        .exec_first(
            "SELECT domain, site, kind, stage, phase, phase_started_ms, attempts, checks, backoff,
                    next_check_ms, last_check_ms, done_ms, diagnosis FROM domains WHERE domain = ?",
            (domain,),
        )
        .await
        .map(|r: Option<mysql_async::Row>| {
            r.map(|mut r| {
                let diagnosis: String = r.take(12).unwrap_or_default();
                let row: Row = (
                    r.take(0).unwrap_or_default(),
                    r.take(1).unwrap_or_default(),
                    r.take(2).unwrap_or_default(),
                    r.take(3).unwrap_or_default(),
                    r.take(4).unwrap_or_default(),
                    r.take(5).unwrap_or_default(),
                    r.take(6).unwrap_or_default(),
                    r.take(7).unwrap_or_default(),
                    r.take(8).unwrap_or_default(),
                    r.take(9).unwrap_or_default(),
                    r.take(10).unwrap_or(None),
                    r.take(11).unwrap_or(None),
                );
                (row, diagnosis)
            })
        })?;
    let Some((
        (
            domain,
            site,
            kind,
            stage,
            phase,
            phase_started_ms,
            attempts,
            checks,
            backoff,
            next,
            last,
            done,
        ),
        diagnosis,
    )) = row
    else {
        return Ok(None);
    };
    type NameRow = (String, String, String, String, String, Option<i64>);
    let names: Vec<NameRow> = conn
        .exec(
            "SELECT name, dns, certificate, requirements, panel, requested_ms FROM names WHERE domain = ?
             ORDER BY LENGTH(name), name",
            (domain.as_str(),),
        )
        .await?;
    Ok(Some(DomainRecord {
        site: site as u64,
        kind,
        stage,
        phase,
        phase_started_ms,
        attempts,
        checks,
        backoff,
        next_check_ms: next,
        last_check_ms: last,
        done_ms: done,
        diagnosis: serde_json::from_str(&diagnosis).unwrap_or_default(),
        names: names
            .into_iter()
            .map(|(name, dns, cert, req, panel, requested_ms)| NameRecord {
                name,
                dns: serde_json::from_str(&dns).unwrap_or_else(|_| DnsView::unchecked()),
                certificate: serde_json::from_str(&cert).unwrap_or_else(|_| CertView::unchecked()),
                requirements: serde_json::from_str(&req).unwrap_or_default(),
                panel: serde_json::from_str(&panel).unwrap_or_default(),
                requested_ms,
            })
            .collect(),
        domain,
    }))
}
