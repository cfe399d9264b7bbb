//! The service's queue and outbox in MySQL, shared by every instance.
//!
//! An instance claims an event with a lease (`lease_owner`, `lease_until_ms`) that it renews
//! while the event runs. A running event whose lease expired (its instance died) is taken
//! like a queued one: it is applied again only then. A domain's line holds across
//! instances: only the first of a domain's queued, running or blocked events is ever
//! claimed, and the claim locks it (`FOR UPDATE SKIP LOCKED`: two instances claiming at once
//! take different events, never wait on each other). Deliveries are leased the same way.

use super::{Mysql, id_list, params};
use crate::service::queue::{Accepted, Claimed, Delivery, EventView, NewEvent, rfc3339};
use anyhow::Result;
use mysql_async::prelude::Queryable;
use mysql_async::{IsolationLevel, TxOpts};

fn read_committed() -> TxOpts {
    let mut opts = TxOpts::default();
    opts.with_isolation_level(IsolationLevel::ReadCommitted);
    opts
}

/// A queued event due now, or a running one whose lease expired.
const CLAIMABLE: &str =
    "((state = 'queued' AND next_attempt_ms <= ?) OR (state = 'running' AND lease_until_ms < ?))";

impl Mysql {
    pub fn accept(&self, event: &NewEvent, now: i64, key_ttl_ms: i64) -> Result<Accepted> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let mut failed = None;
            if let Some(key) = &event.idempotency_key {
                type Seen = (i64, String, String, i64, bool, String, i64);
                let seen: Option<Seen> = tx
                    .exec_first(
                        "SELECT id, kind, domain, site, www_mapped, state, accepted_ms FROM events
                         WHERE idempotency_key = ? FOR UPDATE",
                        (key,),
                    )
                    .await?;
                if let Some((id, kind, domain, site, www_mapped, state, accepted_ms)) = seen {
                    let expired = accepted_ms < now.saturating_sub(key_ttl_ms);
                    let same = kind == event.kind
                        && domain == event.domain
                        && site as u64 == event.site
                        && www_mapped == event.www_mapped;
                    if !expired && !same {
                        return Ok(Accepted::Conflict(id));
                    }
                    if !expired && state != "failed" {
                        return Ok(Accepted::Repeat(id));
                    }
                    tx.exec_drop(
                        "UPDATE events SET idempotency_key = NULL WHERE id = ?",
                        (id,),
                    )
                    .await?;
                    if !expired {
                        failed = Some(id);
                    }
                }
            }
            tx.exec_drop(
                "INSERT INTO events (kind, domain, site, idempotency_key, state, next_attempt_ms, accepted_ms, www_mapped)
                 VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                params![
                    event.kind.as_str(),
                    event.domain.as_str(),
                    event.site as i64,
                    event.idempotency_key.as_deref(),
                    now,
                    now,
                    event.www_mapped
                ],
            )
            .await?;
            let id = tx.last_insert_id().unwrap_or_default() as i64;
            tx.commit().await?;
            Ok(match failed {
                Some(failed) => Accepted::Again { id, failed },
                None => Accepted::New(id),
            })
        })
        .or_else(|e| {
            // Two instances took the same new key at once: the loser finds the winner's.
            if super::server_code(&e) == Some(1062) {
                self.accept(event, now, key_ttl_ms)
            } else {
                Err(e)
            }
        })
    }

    pub fn block(&self, id: i64, reason: &str) -> Result<()> {
        self.exec(
            "UPDATE events SET state = 'blocked', attempts = GREATEST(attempts - 1, 0), error = ?,
             lease_owner = NULL, lease_until_ms = NULL WHERE id = ?",
            params![reason, id],
        )
        .map(drop)
    }

    pub fn unblock_or_update(&self, now: i64, reason: Option<&str>) -> Result<usize> {
        let n = match reason {
            None => self.exec(
                "UPDATE events SET state = 'queued', next_attempt_ms = ?, error = NULL WHERE state = 'blocked'",
                params![now],
            )?,
            Some(reason) => self.exec(
                "UPDATE events SET error = ? WHERE state = 'blocked'",
                params![reason],
            )?,
        };
        Ok(n as usize)
    }

    pub fn retry(&self, id: i64, now: i64) -> Result<Option<String>> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let state: Option<String> = tx
                .exec_first("SELECT state FROM events WHERE id = ? FOR UPDATE", (id,))
                .await?;
            if state.as_deref() == Some("failed") {
                tx.exec_drop(
                    "UPDATE events SET state = 'queued', attempts = 0, next_attempt_ms = ?, finished_ms = NULL,
                     error = NULL, lease_owner = NULL, lease_until_ms = NULL WHERE id = ?",
                    (now, id),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(state)
        })
    }

    pub fn prune(&self, before: i64) -> Result<usize> {
        let n = self.exec(
            "DELETE FROM events WHERE finished_ms IS NOT NULL AND finished_ms < ? AND state IN ('done', 'failed')",
            params![before],
        )?;
        self.exec(
            "DELETE FROM outbox WHERE dead_ms IS NOT NULL AND dead_ms < ?",
            params![before],
        )?;
        Ok(n as usize)
    }

    /// Events this instance (by its name) left running when it stopped: queued again now.
    /// Other instances' running events are theirs until their lease expires.
    pub fn requeue_running(&self, now: i64) -> Result<usize> {
        let n = self.exec(
            "UPDATE events SET state = 'queued', next_attempt_ms = ?, lease_owner = NULL, lease_until_ms = NULL
             WHERE state = 'running' AND lease_owner = ?",
            params![now, self.instance.as_str()],
        )?;
        Ok(n as usize)
    }

    pub fn claim(&self, now: i64, limit: usize) -> Result<Vec<Claimed>> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut tx = conn.start_transaction(read_committed()).await?;
            // The first of each domain's line that may run now (a plain read: it locks
            // nothing, and the claim below checks each again under its lock).
            let heads: Vec<i64> = tx
                .exec(
                    format!(
                        "SELECT e.id FROM events e WHERE {} AND e.id = (SELECT MIN(p.id) FROM events p
                           WHERE p.domain = e.domain AND p.state IN ('queued', 'running', 'blocked'))
                         ORDER BY e.id LIMIT ?",
                        CLAIMABLE
                    ),
                    (now, now, limit as i64),
                )
                .await?;
            if heads.is_empty() {
                tx.commit().await?;
                return Ok(vec![]);
            }
            type Row = (i64, String, String, i64, u32, bool);
            let rows: Vec<Row> = tx
                .exec(
                    format!(
                        "SELECT id, kind, domain, site, attempts, www_mapped FROM events
                         WHERE id IN ({}) AND {CLAIMABLE} ORDER BY id FOR UPDATE SKIP LOCKED",
                        id_list(&heads)
                    ),
                    (now, now),
                )
                .await?;
            let claimed: Vec<Claimed> = rows
                .into_iter()
                .map(|(id, kind, domain, site, attempts, www_mapped)| Claimed {
                    id,
                    kind,
                    domain,
                    site: site as u64,
                    attempt: attempts + 1,
                    www_mapped,
                })
                .collect();
            if !claimed.is_empty() {
                let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
                tx.exec_drop(
                    format!(
                        "UPDATE events SET state = 'running', attempts = attempts + 1, started_ms = ?,
                         lease_owner = ?, lease_until_ms = ? WHERE id IN ({})",
                        id_list(&ids)
                    ),
                    params![now, self.instance.as_str(), now + self.lease_ms],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(claimed)
        })
    }

    /// Extends this instance's lease on a running event; `false`: it is no longer ours.
    pub fn renew(&self, id: i64, now: i64) -> Result<bool> {
        let n = self.exec(
            "UPDATE events SET lease_until_ms = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
            params![now + self.lease_ms, id, self.instance.as_str()],
        )?;
        Ok(n == 1)
    }

    /// Ends an attempt this instance holds; `false`: its lease was lost (it expired and
    /// another instance took the event), so this result is not the event's.
    pub fn finish(
        &self,
        id: i64,
        state: &str,
        report: &str,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let n = self.exec(
            "UPDATE events SET state = ?, report = ?, error = ?, finished_ms = ?, lease_owner = NULL, lease_until_ms = NULL
             WHERE id = ? AND state = 'running' AND lease_owner = ?",
            params![state, report, error, now, id, self.instance.as_str()],
        )?;
        Ok(n == 1)
    }

    pub fn reschedule(&self, id: i64, at: i64, report: &str, error: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE events SET state = 'queued', next_attempt_ms = ?, report = ?, error = ?, lease_owner = NULL,
             lease_until_ms = NULL WHERE id = ? AND state = 'running' AND lease_owner = ?",
            params![at, report, error, id, self.instance.as_str()],
        )?;
        Ok(n == 1)
    }

    /// When the first event of some domain's line may next be claimed: a queued one when
    /// due, a running one when its lease expires (its instance may be gone).
    pub fn next_due(&self) -> Result<Option<i64>> {
        self.first(
            "SELECT MIN(CASE WHEN e.state = 'queued' THEN e.next_attempt_ms ELSE e.lease_until_ms END)
             FROM events e WHERE e.state IN ('queued', 'running')
               AND e.id = (SELECT MIN(p.id) FROM events p
                           WHERE p.domain = e.domain AND p.state IN ('queued', 'running', 'blocked'))",
        )
    }

    pub fn get(&self, id: i64) -> Result<Option<EventView>> {
        type Row = (
            i64,
            String,
            String,
            i64,
            String,
            u32,
            Option<String>,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
            Option<String>,
        );
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let row: Option<(Row, Option<String>)> = conn
                .exec_first(
                    "SELECT id, kind, domain, site, state, attempts, idempotency_key, accepted_ms, started_ms,
                            finished_ms, next_attempt_ms, error, report FROM events WHERE id = ?",
                    (id,),
                )
                .await
                .map(|r: Option<mysql_async::Row>| {
                    r.map(|mut r| {
                        let report: Option<String> = r.take(12).unwrap_or(None);
                        let row = (
                            r.take(0).unwrap_or_default(),
                            r.take(1).unwrap_or_default(),
                            r.take(2).unwrap_or_default(),
                            r.take(3).unwrap_or_default(),
                            r.take(4).unwrap_or_default(),
                            r.take(5).unwrap_or_default(),
                            r.take(6).unwrap_or(None),
                            r.take(7).unwrap_or_default(),
                            r.take(8).unwrap_or(None),
                            r.take(9).unwrap_or(None),
                            r.take(10).unwrap_or_default(),
                            r.take(11).unwrap_or(None),
                        );
                        (row, report)
                    })
                })?;
            Ok(row.map(
                |(
                    (id, event, domain, site, state, attempts, key, accepted, started, finished, next, error),
                    report,
                )| EventView {
                    id,
                    event,
                    domain,
                    site_id: site as u64,
                    attempts,
                    idempotency_key: key,
                    accepted_at: rfc3339(accepted),
                    started_at: started.map(rfc3339),
                    finished_at: finished.map(rfc3339),
                    next_attempt_at: (state == "queued").then(|| rfc3339(next)),
                    error,
                    report: report.and_then(|t| serde_json::from_str(&t).ok()),
                    state,
                },
            ))
        })
    }

    pub fn counts(&self) -> Result<Vec<(String, i64)>> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            Ok(conn
                .query("SELECT state, COUNT(*) FROM events GROUP BY state ORDER BY state")
                .await?)
        })
    }

    /// Claims (with a lease) stage changes due for delivery, each the first undelivered
    /// live one of its domain and not leased by an instance that is delivering it.
    pub fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let mut tx = conn.start_transaction(read_committed()).await?;
            let heads: Vec<i64> = tx
                .exec(
                    "SELECT o.id FROM outbox o
                     WHERE o.delivered_ms IS NULL AND o.dead_ms IS NULL AND o.next_attempt_ms <= ?
                       AND (o.lease_until_ms IS NULL OR o.lease_until_ms < ?)
                       AND o.id = (SELECT MIN(p.id) FROM outbox p
                                   WHERE p.delivered_ms IS NULL AND p.dead_ms IS NULL AND p.domain = o.domain)
                     ORDER BY o.id LIMIT ?",
                    (now, now, limit as i64),
                )
                .await?;
            if heads.is_empty() {
                tx.commit().await?;
                return Ok(vec![]);
            }
            let rows: Vec<(i64, String, String, u32)> = tx
                .exec(
                    format!(
                        "SELECT id, domain, body, attempts FROM outbox
                         WHERE id IN ({}) AND delivered_ms IS NULL AND dead_ms IS NULL
                           AND (lease_until_ms IS NULL OR lease_until_ms < ?)
                         ORDER BY id FOR UPDATE SKIP LOCKED",
                        id_list(&heads)
                    ),
                    (now,),
                )
                .await?;
            if !rows.is_empty() {
                let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
                tx.exec_drop(
                    format!(
                        "UPDATE outbox SET lease_owner = ?, lease_until_ms = ? WHERE id IN ({})",
                        id_list(&ids)
                    ),
                    params![self.instance.as_str(), now + self.lease_ms],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(rows
                .into_iter()
                .map(|(id, domain, body, attempts)| Delivery {
                    id,
                    domain,
                    body,
                    attempts,
                })
                .collect())
        })
    }

    pub fn delivered(&self, id: i64, now: i64) -> Result<()> {
        self.exec(
            "UPDATE outbox SET delivered_ms = ?, attempts = attempts + 1, last_error = NULL,
             lease_owner = NULL, lease_until_ms = NULL WHERE id = ?",
            params![now, id],
        )?;
        self.exec(
            "DELETE FROM outbox WHERE delivered_ms IS NOT NULL AND delivered_ms < ?",
            params![now - 7 * 86_400_000],
        )?;
        Ok(())
    }

    pub fn delivery_failed(
        &self,
        id: i64,
        at: i64,
        error: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<bool> {
        // `dead_ms` first: MySQL assigns left to right, so it still sees the old count.
        self.exec(
            "UPDATE outbox SET dead_ms = CASE WHEN attempts + 1 >= ? THEN ? ELSE NULL END,
             attempts = attempts + 1, next_attempt_ms = ?, last_error = ?,
             lease_owner = NULL, lease_until_ms = NULL WHERE id = ?",
            params![max_attempts, now, at, error, id],
        )?;
        let dead: Option<i64> = self.first_with(
            "SELECT dead_ms IS NOT NULL FROM outbox WHERE id = ?",
            params![id],
        )?;
        Ok(dead == Some(1))
    }

    pub fn outbox_dead(&self) -> Result<i64> {
        Ok(self
            .first("SELECT COUNT(*) FROM outbox WHERE dead_ms IS NOT NULL")?
            .unwrap_or(0))
    }

    pub fn blocked(&self) -> Result<(i64, Option<String>)> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let row: Option<(i64, Option<String>)> = conn
                .query_first(
                    "SELECT COUNT(*), (SELECT error FROM events WHERE state = 'blocked' ORDER BY id DESC LIMIT 1)
                     FROM events WHERE state = 'blocked'",
                )
                .await?;
            Ok(row.unwrap_or((0, None)))
        })
    }

    /// Undelivered live stage changes, and when the first of some domain's line may next be
    /// claimed (due, and its lease, if another instance holds one, expired).
    pub fn outbox_pending(&self) -> Result<(i64, Option<i64>)> {
        let count = self
            .first("SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL AND dead_ms IS NULL")?
            .unwrap_or(0);
        let next = self.first(
            "SELECT MIN(GREATEST(o.next_attempt_ms, COALESCE(o.lease_until_ms, 0))) FROM outbox o
             WHERE o.delivered_ms IS NULL AND o.dead_ms IS NULL
               AND o.id = (SELECT MIN(p.id) FROM outbox p
                           WHERE p.delivered_ms IS NULL AND p.dead_ms IS NULL AND p.domain = o.domain)",
        )?;
        Ok((count, next))
    }

    /// One statement; answers the rows it changed.
    pub(crate) fn exec(&self, sql: &str, params: mysql_async::Params) -> Result<u64> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            conn.exec_drop(sql, params.clone()).await?;
            Ok(conn.affected_rows())
        })
    }

    /// The first column of the first row (NULL and no row are both `None`).
    pub(crate) fn first(&self, sql: &str) -> Result<Option<i64>> {
        self.first_with(sql, mysql_async::Params::Empty)
    }

    pub(crate) fn first_with(&self, sql: &str, params: mysql_async::Params) -> Result<Option<i64>> {
        self.run(|| async {
            let mut conn = self.pool.get_conn().await?;
            let value: Option<Option<i64>> = conn.exec_first(sql, params.clone()).await?;
            Ok(value.flatten())
        })
    }
}
