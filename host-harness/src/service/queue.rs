//! The service's event queue and callback outbox, in the lifecycle's database (schemas 2
//! and 3):
//! every change is one transaction, so a process killed at any point leaves each event
//! either not accepted, queued, running (re-queued on start) or finished.

use crate::lifecycle::database::{Database, now_ms};
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// An event as accepted: normalised, not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: String,
    pub domain: String,
    pub site: u64,
    pub idempotency_key: Option<String>,
    /// For `remove-domain`: `www.<domain>` is mapped as a domain of its own (it stays).
    pub www_mapped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Committed as a new event.
    New(i64),
    /// The idempotency key was seen with the same event: its id.
    Repeat(i64),
    /// The idempotency key was seen with a different event.
    Conflict(i64),
    /// The key was seen with the same event, which `failed`: committed anew (`id`), the
    /// key moved to it from the failed one (`failed`), so a repeat is never a false
    /// success.
    Again { id: i64, failed: i64 },
}

/// Commits an event (or finds the one its idempotency key names). A key older than
/// `key_ttl_ms` names nothing any more (a reused id after a restore is a new event).
pub fn accept(store: &Database, event: &NewEvent, now: i64, key_ttl_ms: i64) -> Result<Accepted> {
    if let Some(m) = store.mysql() {
        return m.accept(event, now, key_ttl_ms);
    }
    store.transaction(|tx| accept_in(tx, event, now, key_ttl_ms))
}

/// [`accept`] for events that arrived together, in one transaction (group commit: one
/// commit for all, not one each), in their order. An error in the batch commits none of
/// it; each is then accepted on its own, so one bad event fails alone. A shared store
/// accepts each in its own transaction, as before.
pub fn accept_batch(
    store: &Database,
    events: &[NewEvent],
    now: i64,
    key_ttl_ms: i64,
) -> Vec<Result<Accepted>> {
    if store.mysql().is_none() && events.len() > 1 {
        let batch = store.transaction(|tx| {
            events
                .iter()
                .map(|e| accept_in(tx, e, now, key_ttl_ms))
                .collect::<Result<Vec<_>>>()
        });
        if let Ok(accepted) = batch {
            return accepted.into_iter().map(Ok).collect();
        }
    }
    events
        .iter()
        .map(|e| accept(store, e, now, key_ttl_ms))
        .collect()
}

fn accept_in(
    tx: &rusqlite::Transaction,
    event: &NewEvent,
    now: i64,
    key_ttl_ms: i64,
) -> Result<Accepted> {
    let mut failed = None;
    if let Some(key) = &event.idempotency_key {
        let seen: Option<(i64, String, String, i64, bool, String, i64)> = tx
            .prepare_cached(
                "SELECT id, kind, domain, site, www_mapped, state, accepted_ms FROM events WHERE idempotency_key = ?1",
            )?
            .query_row(
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .optional()?;
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
            // Expired, or the same event that failed: the key moves to a new event.
            tx.execute(
                "UPDATE events SET idempotency_key = NULL WHERE id = ?1",
                [id],
            )?;
            if !expired {
                failed = Some(id);
            }
        }
    }
    tx.prepare_cached(
        "INSERT INTO events (kind, domain, site, idempotency_key, state, next_attempt_ms, accepted_ms, www_mapped)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5, ?6)",
    )?
    .execute(params![
            event.kind,
            event.domain,
            event.site as i64,
            event.idempotency_key,
            now,
            event.www_mapped
        ],
    )?;
    let id = tx.last_insert_rowid();
    Ok(match failed {
        Some(failed) => Accepted::Again { id, failed },
        None => Accepted::New(id),
    })
}

/// One thread that commits the events POSTs bring, many at a time: each request waits for
/// the commit that holds its event (an answered event is always committed), and requests
/// that arrive while a commit runs share the next one.
pub struct Acceptor {
    jobs: std::sync::mpsc::Sender<AcceptJob>,
}

type AcceptJob = (NewEvent, tokio::sync::oneshot::Sender<Result<Accepted>>);

/// At most this many events in one commit.
const MAX_BATCH: usize = 256;

impl Acceptor {
    pub fn start(store: std::sync::Arc<Database>, key_ttl_ms: i64) -> Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<AcceptJob>();
        std::thread::Builder::new()
            .name("domain-host-accept".into())
            .spawn(move || {
                // Ends when the service (every sender) is gone.
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let (events, answers): (Vec<NewEvent>, Vec<_>) = batch.into_iter().unzip();
                    let results = accept_batch(&store, &events, now_ms(), key_ttl_ms);
                    for (answer, result) in answers.into_iter().zip(results) {
                        let _ = answer.send(result);
                    }
                }
            })?;
        Ok(Acceptor { jobs })
    }

    /// Commits `event` with whatever else is waiting; answers once it is committed.
    pub async fn accept(&self, event: NewEvent) -> Result<Accepted> {
        let (answer, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send((event, answer))
            .map_err(|_| anyhow::anyhow!("the acceptance thread stopped"))?;
        result
            .await
            .map_err(|_| anyhow::anyhow!("the acceptance thread stopped"))?
    }
}

/// An event that cannot run while an integration cannot load: `blocked` with the reason,
/// the claim's attempt given back (it was not tried). It holds its domain's line.
pub fn block(store: &Database, id: i64, reason: &str) -> Result<()> {
    if let Some(m) = store.mysql() {
        return m.block(id, reason);
    }
    store.transaction(|tx| {
        tx.execute(
            "UPDATE events SET state = 'blocked', attempts = MAX(attempts - 1, 0), error = ?2 WHERE id = ?1",
            params![id, reason],
        )?;
        Ok(())
    })
}

/// Every enabled integration loads now: blocked events are queued again, ready now (in
/// their order, each domain's line kept). Otherwise their reason is brought up to date.
pub fn unblock_or_update(store: &Database, now: i64, reason: Option<&str>) -> Result<usize> {
    if let Some(m) = store.mysql() {
        return m.unblock_or_update(now, reason);
    }
    store.transaction(|tx| {
        Ok(match reason {
            None => tx.execute(
                "UPDATE events SET state = 'queued', next_attempt_ms = ?1, error = NULL WHERE state = 'blocked'",
                [now],
            )?,
            Some(reason) => tx.execute(
                "UPDATE events SET error = ?1 WHERE state = 'blocked'",
                [reason],
            )?,
        })
    })
}

/// `POST /v1/events/{id}/retry`: a `failed` event queued again, ready now, with a fresh
/// count of attempts. Answers the state it was in (only `failed` is re-queued).
pub fn retry(store: &Database, id: i64, now: i64) -> Result<Option<String>> {
    if let Some(m) = store.mysql() {
        return m.retry(id, now);
    }
    store.transaction(|tx| {
        let state: Option<String> = tx
            .query_row("SELECT state FROM events WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        if state.as_deref() == Some("failed") {
            tx.execute(
                "UPDATE events SET state = 'queued', attempts = 0, next_attempt_ms = ?2, finished_ms = NULL, error = NULL WHERE id = ?1",
                params![id, now],
            )?;
        }
        Ok(state)
    })
}

/// Deletes events finished before `before` (their idempotency keys with them) and dead
/// stage changes older than that; answers how many events.
pub fn prune(store: &Database, before: i64) -> Result<usize> {
    if let Some(m) = store.mysql() {
        return m.prune(before);
    }
    store.transaction(|tx| {
        let n = tx.execute(
            "DELETE FROM events WHERE finished_ms IS NOT NULL AND finished_ms < ?1 AND state IN ('done', 'failed')",
            [before],
        )?;
        tx.execute(
            "DELETE FROM outbox WHERE dead_ms IS NOT NULL AND dead_ms < ?1",
            [before],
        )?;
        Ok(n)
    })
}

/// Events a killed process left running go back to the queue, ready now.
pub fn requeue_running(store: &Database, now: i64) -> Result<usize> {
    if let Some(m) = store.mysql() {
        return m.requeue_running(now);
    }
    store.transaction(|tx| {
        Ok(tx.execute(
            "UPDATE events SET state = 'queued', next_attempt_ms = ?1 WHERE state = 'running'",
            [now],
        )?)
    })
}

/// An event a worker took.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub domain: String,
    pub site: u64,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    /// See [`NewEvent::www_mapped`].
    pub www_mapped: bool,
}

/// Takes up to `limit` events that are due and first in their domain's line (no earlier
/// event of the domain is queued or running), oldest first, and marks them running.
pub fn claim(store: &Database, now: i64, limit: usize) -> Result<Vec<Claimed>> {
    if limit == 0 {
        return Ok(vec![]);
    }
    if let Some(m) = store.mysql() {
        return m.claim(now, limit);
    }
    store.transaction(|tx| {
        let claimed: Vec<Claimed> = {
            let mut stmt = tx.prepare_cached(
                "SELECT e.id, e.kind, e.domain, e.site, e.attempts, e.www_mapped FROM events e
                 WHERE e.state = 'queued' AND e.next_attempt_ms <= ?1
                   AND e.id = (SELECT MIN(p.id) FROM events p
                               WHERE p.domain = e.domain AND p.state IN ('queued', 'running', 'blocked'))
                 ORDER BY e.id LIMIT ?2",
            )?;
            stmt.query_map(params![now, limit as i64], |r| {
                Ok(Claimed {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    domain: r.get(2)?,
                    site: r.get::<_, i64>(3)? as u64,
                    attempt: r.get::<_, u32>(4)? + 1,
                    www_mapped: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut running = tx.prepare_cached(
            "UPDATE events SET state = 'running', attempts = ?2, started_ms = ?3 WHERE id = ?1",
        )?;
        for c in &claimed {
            running.execute(params![c.id, c.attempt, now])?;
        }
        Ok(claimed)
    })
}

/// An event's last attempt ended: `done` or `failed` for good. Answers `false` when this
/// process no longer held the event (a shared store: its lease expired and another instance
/// took it), so the result is not saved.
pub fn finish(
    store: &Database,
    id: i64,
    state: &str,
    report: &str,
    error: Option<&str>,
    now: i64,
) -> Result<bool> {
    if let Some(m) = store.mysql() {
        return m.finish(id, state, report, error, now);
    }
    store.transaction(|tx| {
        tx.prepare_cached(
            "UPDATE events SET state = ?2, report = ?3, error = ?4, finished_ms = ?5 WHERE id = ?1",
        )?
        .execute(params![id, state, report, error, now])?;
        Ok(true)
    })
}

/// Extends this process's lease on a running event (a shared store; SQLite has one
/// process and no leases). `false`: the event is no longer this process's.
pub fn renew(store: &Database, id: i64, now: i64) -> Result<bool> {
    match store.mysql() {
        Some(m) => m.renew(id, now),
        None => Ok(true),
    }
}

/// A transient failure: queued again for `at` (`false` as for [`finish`]).
pub fn reschedule(store: &Database, id: i64, at: i64, report: &str, error: &str) -> Result<bool> {
    if let Some(m) = store.mysql() {
        return m.reschedule(id, at, report, error);
    }
    store.transaction(|tx| {
        tx.prepare_cached(
            "UPDATE events SET state = 'queued', next_attempt_ms = ?2, report = ?3, error = ?4 WHERE id = ?1",
        )?
        .execute(params![id, at, report, error])?;
        Ok(true)
    })
}

/// When the next queued event that is first in its domain's line is due, if one is (an
/// event behind a running one waits for it, not for a time).
pub fn next_due(store: &Database) -> Result<Option<i64>> {
    if let Some(m) = store.mysql() {
        return m.next_due();
    }
    store.with_connection(|c| {
        Ok(c.query_row(
            "SELECT MIN(e.next_attempt_ms) FROM events e WHERE e.state = 'queued'
               AND e.id = (SELECT MIN(p.id) FROM events p
                           WHERE p.domain = e.domain AND p.state IN ('queued', 'running', 'blocked'))",
            [],
            |r| r.get(0),
        )?)
    })
}

/// `GET /v1/events/{id}`.
#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: i64,
    pub event: String,
    pub domain: String,
    pub site_id: u64,
    /// `queued`, `running`, `blocked` (an integration cannot load: `error` says why; it
    /// runs once it loads), `done` or `failed`.
    pub state: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub accepted_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// When a queued event is tried (again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    pub error: Option<String>,
    /// The last attempt's report (per integration: ok, changed, notes, error, attempts).
    pub report: Option<serde_json::Value>,
}

pub fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

pub fn get(store: &Database, id: i64) -> Result<Option<EventView>> {
    if let Some(m) = store.mysql() {
        return m.get(id);
    }
    store.with_connection(|c| {
        Ok(c.query_row(
            "SELECT id, kind, domain, site, state, attempts, idempotency_key, accepted_ms, started_ms,
                    finished_ms, next_attempt_ms, error, report FROM events WHERE id = ?1",
            [id],
            |r| {
                let state: String = r.get(4)?;
                let report: Option<String> = r.get(12)?;
                Ok(EventView {
                    id: r.get(0)?,
                    event: r.get(1)?,
                    domain: r.get(2)?,
                    site_id: r.get::<_, i64>(3)? as u64,
                    attempts: r.get(5)?,
                    idempotency_key: r.get(6)?,
                    accepted_at: rfc3339(r.get(7)?),
                    started_at: r.get::<_, Option<i64>>(8)?.map(rfc3339),
                    finished_at: r.get::<_, Option<i64>>(9)?.map(rfc3339),
                    next_attempt_at: (state == "queued").then(|| rfc3339(r.get(10).unwrap_or(0))),
                    error: r.get(11)?,
                    report: report.and_then(|t| serde_json::from_str(&t).ok()),
                    state,
                })
            },
        )
        .optional()?)
    })
}

/// Events by state.
pub fn counts(store: &Database) -> Result<Vec<(String, i64)>> {
    if let Some(m) = store.mysql() {
        return m.counts();
    }
    store.with_connection(|c| {
        let mut stmt = c.prepare_cached("SELECT state, COUNT(*) FROM events GROUP BY state")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    })
}

/// A stage change waiting for the callback.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub domain: String,
    pub body: String,
    pub attempts: u32,
}

/// Stage changes due for delivery, each the oldest undelivered (and not dead) one of its
/// domain (so a domain's changes arrive in order; a dead one no longer holds them).
pub fn due_deliveries(store: &Database, now: i64, limit: usize) -> Result<Vec<Delivery>> {
    if let Some(m) = store.mysql() {
        return m.due_deliveries(now, limit);
    }
    store.with_connection(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT o.id, o.domain, o.body, o.attempts FROM outbox o
             WHERE o.delivered_ms IS NULL AND o.dead_ms IS NULL AND o.next_attempt_ms <= ?1
               AND o.id = (SELECT MIN(p.id) FROM outbox p
                           WHERE p.delivered_ms IS NULL AND p.dead_ms IS NULL AND p.domain = o.domain)
             ORDER BY o.id LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![now, limit as i64], |r| {
                Ok(Delivery {
                    id: r.get(0)?,
                    domain: r.get(1)?,
                    body: r.get(2)?,
                    attempts: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    })
}

pub fn delivered(store: &Database, id: i64, now: i64) -> Result<()> {
    if let Some(m) = store.mysql() {
        return m.delivered(id, now);
    }
    store.transaction(|tx| {
        tx.execute(
            "UPDATE outbox SET delivered_ms = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        // Delivered changes are kept a week, for the record.
        tx.execute(
            "DELETE FROM outbox WHERE delivered_ms IS NOT NULL AND delivered_ms < ?1",
            [now - 7 * 86_400_000],
        )?;
        Ok(())
    })
}

/// A failed delivery: tried again at `at`, or dead once it has had `max_attempts`
/// (answers whether it is dead now).
pub fn delivery_failed(
    store: &Database,
    id: i64,
    at: i64,
    error: &str,
    max_attempts: u32,
    now: i64,
) -> Result<bool> {
    if let Some(m) = store.mysql() {
        return m.delivery_failed(id, at, error, max_attempts, now);
    }
    store.transaction(|tx| {
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3,
             dead_ms = CASE WHEN attempts + 1 >= ?4 THEN ?5 ELSE NULL END WHERE id = ?1",
            params![id, at, error, max_attempts, now],
        )?;
        Ok(tx.query_row(
            "SELECT dead_ms IS NOT NULL FROM outbox WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?)
    })
}

/// Stage changes the callback never acknowledged within their attempts.
pub fn outbox_dead(store: &Database) -> Result<i64> {
    if let Some(m) = store.mysql() {
        return m.outbox_dead();
    }
    store.with_connection(|c| {
        Ok(c.query_row(
            "SELECT COUNT(*) FROM outbox WHERE dead_ms IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    })
}

/// Blocked events and their reason (the newest one), for `status`.
pub fn blocked(store: &Database) -> Result<(i64, Option<String>)> {
    if let Some(m) = store.mysql() {
        return m.blocked();
    }
    store.with_connection(|c| {
        Ok(c.query_row(
            "SELECT COUNT(*), (SELECT error FROM events WHERE state = 'blocked' ORDER BY id DESC LIMIT 1)
             FROM events WHERE state = 'blocked'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    })
}

/// Undelivered (live) stage changes, and when the next one first in its domain's line is due.
pub fn outbox_pending(store: &Database) -> Result<(i64, Option<i64>)> {
    if let Some(m) = store.mysql() {
        return m.outbox_pending();
    }
    store.with_connection(|c| {
        let count = c.query_row(
            "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL AND dead_ms IS NULL",
            [],
            |r| r.get(0),
        )?;
        let next = c.query_row(
            "SELECT MIN(o.next_attempt_ms) FROM outbox o WHERE o.delivered_ms IS NULL AND o.dead_ms IS NULL
               AND o.id = (SELECT MIN(p.id) FROM outbox p
                           WHERE p.delivered_ms IS NULL AND p.dead_ms IS NULL AND p.domain = o.domain)",
            [],
            |r| r.get(0),
        )?;
        Ok((count, next))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> (std::path::PathBuf, Database) {
        let dir = std::env::temp_dir().join(format!(
            "dh-queue-{}-{}",
            std::process::id(),
            crate::sandbox::files::hex(&crate::sandbox::files::random_bytes::<4>())
        ));
        let store = Database::open(&dir.join("domain-host.db")).unwrap();
        (dir, store)
    }

    const TTL: i64 = 1_000_000;

    fn event(kind: &str, domain: &str, key: Option<&str>) -> NewEvent {
        NewEvent {
            kind: kind.into(),
            domain: domain.into(),
            site: 3,
            idempotency_key: key.map(str::to_string),
            www_mapped: false,
        }
    }

    #[test]
    fn www_mapped_is_kept_with_the_event_and_part_of_its_identity() {
        let (dir, store) = scratch();
        let mut remove = event("remove-domain", "a.com", Some("k1"));
        remove.www_mapped = true;
        let Accepted::New(id) = accept(&store, &remove, 1, TTL).unwrap() else {
            panic!("not new")
        };
        assert_eq!(
            accept(&store, &remove, 2, TTL).unwrap(),
            Accepted::Repeat(id)
        );
        remove.www_mapped = false;
        assert_eq!(
            accept(&store, &remove, 3, TTL).unwrap(),
            Accepted::Conflict(id)
        );
        let claimed = claim(&store, 10, 10).unwrap();
        assert_eq!((claimed[0].id, claimed[0].www_mapped), (id, true));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_batch_commits_together_in_order_and_sees_its_own_keys() {
        let (dir, store) = scratch();
        let events = vec![
            event("add-domain", "a.com", Some("k1")),
            event("add-domain", "b.com", None),
            event("add-domain", "a.com", Some("k1")),
            event("remove-domain", "a.com", Some("k1")),
        ];
        let results: Vec<Accepted> = accept_batch(&store, &events, 1, TTL)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let (Accepted::New(a), Accepted::New(b)) = (results[0], results[1]) else {
            panic!("not new: {results:?}")
        };
        assert!(b > a, "ids in the batch's order");
        assert_eq!(results[2], Accepted::Repeat(a));
        assert_eq!(results[3], Accepted::Conflict(a));
        assert_eq!(counts(&store).unwrap(), vec![("queued".to_string(), 2)]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_acceptor_answers_each_request_after_its_commit() {
        let (dir, store) = scratch();
        let store = std::sync::Arc::new(store);
        let acceptor = Acceptor::start(store.clone(), TTL).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let acceptor = std::sync::Arc::new(acceptor);
        let ids: Vec<i64> = runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..50 {
                let acceptor = acceptor.clone();
                tasks.spawn(async move {
                    let domain = format!("d{i}.com");
                    match acceptor.accept(event("add-domain", &domain, None)).await {
                        Ok(Accepted::New(id)) => id,
                        other => panic!("{other:?}"),
                    }
                });
            }
            tasks.join_all().await
        });
        // Answered means committed: every answered id is in the database.
        for id in ids {
            assert_eq!(get(&store, id).unwrap().unwrap().state, "queued");
        }
        assert_eq!(counts(&store).unwrap(), vec![("queued".to_string(), 50)]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn one_domain_in_order_different_domains_at_once() {
        let (dir, store) = scratch();
        let a1 = accept(&store, &event("add-domain", "a.com", None), 1, TTL).unwrap();
        let a2 = accept(&store, &event("remove-domain", "a.com", None), 2, TTL).unwrap();
        let b1 = accept(&store, &event("add-domain", "b.com", None), 3, TTL).unwrap();
        let ids: Vec<i64> = claim(&store, 10, 10)
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        let (Accepted::New(a1), Accepted::New(a2), Accepted::New(b1)) = (a1, a2, b1) else {
            panic!("not new");
        };
        assert_eq!(ids, vec![a1, b1], "the remove waits for the add");
        assert!(claim(&store, 10, 10).unwrap().is_empty());
        finish(&store, a1, "done", "{}", None, 11).unwrap();
        let next = claim(&store, 12, 10).unwrap();
        assert_eq!((next[0].id, next[0].attempt), (a2, 1));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_rescheduled_event_holds_its_domain_and_a_killed_one_is_requeued() {
        let (dir, store) = scratch();
        let Accepted::New(a1) =
            accept(&store, &event("add-domain", "a.com", None), 1, TTL).unwrap()
        else {
            panic!()
        };
        accept(&store, &event("remove-domain", "a.com", None), 2, TTL).unwrap();
        claim(&store, 5, 10).unwrap();
        reschedule(&store, a1, 100, "{}", "transient").unwrap();
        assert!(
            claim(&store, 50, 10).unwrap().is_empty(),
            "not due, and first in line"
        );
        let again = claim(&store, 100, 10).unwrap();
        assert_eq!((again[0].id, again[0].attempt), (a1, 2));
        // Killed while running: queued again on start, attempts kept.
        assert_eq!(requeue_running(&store, 200).unwrap(), 1);
        assert_eq!(claim(&store, 200, 10).unwrap()[0].attempt, 3);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_idempotency_key_names_one_event() {
        let (dir, store) = scratch();
        let first = accept(&store, &event("add-domain", "a.com", Some("k1")), 1, TTL).unwrap();
        let Accepted::New(id) = first else { panic!() };
        assert_eq!(
            accept(&store, &event("add-domain", "a.com", Some("k1")), 2, TTL).unwrap(),
            Accepted::Repeat(id)
        );
        assert_eq!(
            accept(&store, &event("remove-domain", "a.com", Some("k1")), 3, TTL).unwrap(),
            Accepted::Conflict(id)
        );
        assert_eq!(counts(&store).unwrap(), vec![("queued".to_string(), 1)]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_key_expires_and_a_repeat_of_a_failed_event_is_a_new_event() {
        let (dir, store) = scratch();
        let add = event("add-domain", "a.com", Some("k1"));
        let Accepted::New(first) = accept(&store, &add, 1, TTL).unwrap() else {
            panic!()
        };
        claim(&store, 2, 10).unwrap();
        finish(&store, first, "failed", "{}", Some("bad key"), 3).unwrap();
        let Accepted::Again { id, failed } = accept(&store, &add, 4, TTL).unwrap() else {
            panic!("a failed event is not a success")
        };
        assert_eq!(failed, first);
        assert_eq!(accept(&store, &add, 5, TTL).unwrap(), Accepted::Repeat(id));
        // After the key's lifetime, the same key is a new event (a reused id).
        let Accepted::New(later) = accept(&store, &add, 5 + TTL + 1, TTL).unwrap() else {
            panic!("an expired key names nothing")
        };
        assert!(later > id);
        // A different event under an expired key is not a conflict either.
        let other = event("remove-domain", "a.com", Some("k1"));
        assert!(matches!(
            accept(&store, &other, 10 + 3 * TTL, TTL).unwrap(),
            Accepted::New(_)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn blocked_events_hold_their_line_and_a_failed_one_can_be_retried() {
        let (dir, store) = scratch();
        let Accepted::New(a1) =
            accept(&store, &event("add-domain", "a.com", None), 1, TTL).unwrap()
        else {
            panic!()
        };
        accept(&store, &event("remove-domain", "a.com", None), 2, TTL).unwrap();
        assert_eq!(claim(&store, 3, 10).unwrap()[0].attempt, 1);
        block(&store, a1, "serverpilot cannot load").unwrap();
        assert!(claim(&store, 4, 10).unwrap().is_empty(), "the remove waits");
        assert_eq!(blocked(&store).unwrap().0, 1);
        assert_eq!(unblock_or_update(&store, 5, None).unwrap(), 1);
        let again = claim(&store, 5, 10).unwrap();
        assert_eq!(
            (again[0].id, again[0].attempt),
            (a1, 1),
            "not counted as tried"
        );
        finish(&store, a1, "failed", "{}", Some("x"), 6).unwrap();
        assert_eq!(retry(&store, a1, 7).unwrap().as_deref(), Some("failed"));
        assert_eq!(retry(&store, a1, 7).unwrap().as_deref(), Some("queued"));
        assert_eq!(retry(&store, 999, 7).unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_dead_delivery_no_longer_holds_its_domain_and_old_events_are_pruned() {
        let (dir, store) = scratch();
        store.keep_outbox(true);
        store
            .upsert("a.com", 3, "mapped", &["a.com".to_string()], 1)
            .unwrap();
        store.remove("a.com").unwrap();
        let due = due_deliveries(&store, now_ms_for_test(), 10).unwrap();
        assert_eq!(due.len(), 1, "the second waits for the first");
        assert!(!delivery_failed(&store, due[0].id, 0, "500", 2, 1).unwrap());
        assert!(delivery_failed(&store, due[0].id, 0, "500", 2, 1).unwrap());
        assert_eq!(outbox_dead(&store).unwrap(), 1);
        let next = due_deliveries(&store, now_ms_for_test(), 10).unwrap();
        assert_eq!(next.len(), 1);
        assert_ne!(next[0].id, due[0].id, "the later change goes on");
        let Accepted::New(e) =
            accept(&store, &event("add-domain", "b.com", Some("k")), 1, TTL).unwrap()
        else {
            panic!()
        };
        claim(&store, 2, 10).unwrap();
        finish(&store, e, "done", "{}", None, 100).unwrap();
        assert_eq!(prune(&store, 100).unwrap(), 0, "not older than the cut");
        assert_eq!(prune(&store, 101).unwrap(), 1);
        assert!(get(&store, e).unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn now_ms_for_test() -> i64 {
        crate::lifecycle::database::now_ms() + 1000
    }
}
