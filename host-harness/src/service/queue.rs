//! The service's event queue and callback outbox, in the lifecycle's database (schemas 2
//! and 3):
//! every change is one transaction, so a process killed at any point leaves each event
//! either not accepted, queued, running (re-queued on start) or finished.

use crate::lifecycle::database::Database;
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
}

/// Commits an event (or finds the one its idempotency key names).
pub fn accept(store: &Database, event: &NewEvent, now: i64) -> Result<Accepted> {
    store.transaction(|tx| {
        if let Some(key) = &event.idempotency_key {
            let seen: Option<(i64, String, String, i64, bool)> = tx
                .query_row(
                    "SELECT id, kind, domain, site, www_mapped FROM events WHERE idempotency_key = ?1",
                    [key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            if let Some((id, kind, domain, site, www_mapped)) = seen {
                let same = kind == event.kind
                    && domain == event.domain
                    && site as u64 == event.site
                    && www_mapped == event.www_mapped;
                return Ok(if same {
                    Accepted::Repeat(id)
                } else {
                    Accepted::Conflict(id)
                });
            }
        }
        tx.execute(
            "INSERT INTO events (kind, domain, site, idempotency_key, state, next_attempt_ms, accepted_ms, www_mapped)
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5, ?6)",
            params![
                event.kind,
                event.domain,
                event.site as i64,
                event.idempotency_key,
                now,
                event.www_mapped
            ],
        )?;
        Ok(Accepted::New(tx.last_insert_rowid()))
    })
}

/// Events a killed process left running go back to the queue, ready now.
pub fn requeue_running(store: &Database, now: i64) -> Result<usize> {
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
    store.transaction(|tx| {
        let claimed: Vec<Claimed> = {
            let mut stmt = tx.prepare_cached(
                "SELECT e.id, e.kind, e.domain, e.site, e.attempts, e.www_mapped FROM events e
                 WHERE e.state = 'queued' AND e.next_attempt_ms <= ?1
                   AND e.id = (SELECT MIN(p.id) FROM events p
                               WHERE p.domain = e.domain AND p.state IN ('queued', 'running'))
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
        for c in &claimed {
            tx.execute(
                "UPDATE events SET state = 'running', attempts = ?2, started_ms = ?3 WHERE id = ?1",
                params![c.id, c.attempt, now],
            )?;
        }
        Ok(claimed)
    })
}

/// An event's last attempt ended: `done` or `failed` for good.
pub fn finish(
    store: &Database,
    id: i64,
    state: &str,
    report: &str,
    error: Option<&str>,
    now: i64,
) -> Result<()> {
    store.transaction(|tx| {
        tx.execute(
            "UPDATE events SET state = ?2, report = ?3, error = ?4, finished_ms = ?5 WHERE id = ?1",
            params![id, state, report, error, now],
        )?;
        Ok(())
    })
}

/// A transient failure: queued again for `at`.
pub fn reschedule(store: &Database, id: i64, at: i64, report: &str, error: &str) -> Result<()> {
    store.transaction(|tx| {
        tx.execute(
            "UPDATE events SET state = 'queued', next_attempt_ms = ?2, report = ?3, error = ?4 WHERE id = ?1",
            params![id, at, report, error],
        )?;
        Ok(())
    })
}

/// When the next queued event that is first in its domain's line is due, if one is (an
/// event behind a running one waits for it, not for a time).
pub fn next_due(store: &Database) -> Result<Option<i64>> {
    store.with_connection(|c| {
        Ok(c.query_row(
            "SELECT MIN(e.next_attempt_ms) FROM events e WHERE e.state = 'queued'
               AND e.id = (SELECT MIN(p.id) FROM events p
                           WHERE p.domain = e.domain AND p.state IN ('queued', 'running'))",
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
    /// `queued`, `running`, `done` or `failed`.
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

/// Stage changes due for delivery, each the oldest undelivered one of its domain (so a
/// domain's changes arrive in order).
pub fn due_deliveries(store: &Database, now: i64, limit: usize) -> Result<Vec<Delivery>> {
    store.with_connection(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT o.id, o.domain, o.body, o.attempts FROM outbox o
             WHERE o.delivered_ms IS NULL AND o.next_attempt_ms <= ?1
               AND o.id = (SELECT MIN(p.id) FROM outbox p
                           WHERE p.delivered_ms IS NULL AND p.domain = o.domain)
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

pub fn delivery_failed(store: &Database, id: i64, at: i64, error: &str) -> Result<()> {
    store.transaction(|tx| {
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1",
            params![id, at, error],
        )?;
        Ok(())
    })
}

/// Undelivered stage changes, and when the next one first in its domain's line is due.
pub fn outbox_pending(store: &Database) -> Result<(i64, Option<i64>)> {
    store.with_connection(|c| {
        let count = c.query_row(
            "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL",
            [],
            |r| r.get(0),
        )?;
        let next = c.query_row(
            "SELECT MIN(o.next_attempt_ms) FROM outbox o WHERE o.delivered_ms IS NULL
               AND o.id = (SELECT MIN(p.id) FROM outbox p
                           WHERE p.delivered_ms IS NULL AND p.domain = o.domain)",
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
        let Accepted::New(id) = accept(&store, &remove, 1).unwrap() else {
            panic!("not new")
        };
        assert_eq!(accept(&store, &remove, 2).unwrap(), Accepted::Repeat(id));
        remove.www_mapped = false;
        assert_eq!(accept(&store, &remove, 3).unwrap(), Accepted::Conflict(id));
        let claimed = claim(&store, 10, 10).unwrap();
        assert_eq!((claimed[0].id, claimed[0].www_mapped), (id, true));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn one_domain_in_order_different_domains_at_once() {
        let (dir, store) = scratch();
        let a1 = accept(&store, &event("add-domain", "a.com", None), 1).unwrap();
        let a2 = accept(&store, &event("remove-domain", "a.com", None), 2).unwrap();
        let b1 = accept(&store, &event("add-domain", "b.com", None), 3).unwrap();
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
        let Accepted::New(a1) = accept(&store, &event("add-domain", "a.com", None), 1).unwrap()
        else {
            panic!()
        };
        accept(&store, &event("remove-domain", "a.com", None), 2).unwrap();
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
        let first = accept(&store, &event("add-domain", "a.com", Some("k1")), 1).unwrap();
        let Accepted::New(id) = first else { panic!() };
        assert_eq!(
            accept(&store, &event("add-domain", "a.com", Some("k1")), 2).unwrap(),
            Accepted::Repeat(id)
        );
        assert_eq!(
            accept(&store, &event("remove-domain", "a.com", Some("k1")), 3).unwrap(),
            Accepted::Conflict(id)
        );
        assert_eq!(counts(&store).unwrap(), vec![("queued".to_string(), 1)]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
