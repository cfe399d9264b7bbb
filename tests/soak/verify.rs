//! The soak's end-of-run checks, each adding what it found wrong to [`Violations`], and
//! the figures they compute on the way.

use super::chaos::Sample;
use super::load::Accepted;
use super::receiver::Arrival;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

#[derive(Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn push(&mut self, v: String) {
        self.0.push(v);
    }

    pub fn extend(&mut self, v: impl IntoIterator<Item = String>) {
        self.0.extend(v);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// At most 40 lines, so a broken run stays readable.
    pub fn report(&self) -> String {
        let mut lines: Vec<String> = self.0.iter().take(40).map(|v| format!("- {v}")).collect();
        if self.0.len() > 40 {
            lines.push(format!("- ... and {} more", self.0.len() - 40));
        }
        lines.join("\n")
    }
}

/// The names the panel must hold: each domain whose last accepted event (highest id: the
/// service applies a domain's events in id order) is an add.
pub fn wanted(accepted: &[Accepted]) -> BTreeSet<String> {
    let mut last: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for a in accepted {
        let entry = last.entry(&a.domain).or_insert((a.id, a.kind));
        if a.id >= entry.0 {
            *entry = (a.id, a.kind);
        }
    }
    last.into_iter()
        .filter(|(_, (_, kind))| *kind == "add-domain")
        .map(|(d, _)| d.to_string())
        .collect()
}

/// Every accepted event is `done`; distinct keys name distinct events; an event is what
/// its client posted.
pub fn events(v: &mut Violations, accepted: &[Accepted], views: &BTreeMap<i64, Value>) {
    let mut by_id: BTreeMap<i64, &Accepted> = BTreeMap::new();
    for a in accepted {
        if let Some(other) = by_id.insert(a.id, a) {
            v.push(format!(
                "keys {} and {} were both answered with event {}",
                other.key, a.key, a.id
            ));
        }
        match views.get(&a.id) {
            None => v.push(format!(
                "event {} ({} {}, key {}) never finished",
                a.id, a.kind, a.domain, a.key
            )),
            Some(e) if e["state"] != "done" => v.push(format!(
                "event {} ({} {}, key {}) is {} after {} attempt(s): {}",
                a.id, a.kind, a.domain, a.key, e["state"], e["attempts"], e["error"]
            )),
            Some(e) if e["event"] != a.kind || e["domain"] != a.domain.as_str() => v.push(format!(
                "event {} is {} {}, but {} posted {} {}",
                a.id, e["event"], e["domain"], a.key, a.kind, a.domain
            )),
            Some(_) => {}
        }
    }
}

/// The database holds one event per key, and only the clients' keys: no event was stored
/// twice across kills and resent posts.
pub fn stored_once(v: &mut Violations, db: &Path, accepted: &[Accepted]) {
    let conn =
        match rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        {
            Ok(c) => c,
            Err(e) => return v.push(format!("cannot open {}: {e}", db.display())),
        };
    let keys: BTreeSet<&str> = accepted.iter().map(|a| a.key.as_str()).collect();
    let rows: Vec<(i64, Option<String>)> = match conn
        .prepare("SELECT id, idempotency_key FROM events ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()
        }) {
        Ok(rows) => rows,
        Err(e) => return v.push(format!("reading the events: {e}")),
    };
    if rows.len() != keys.len() {
        v.push(format!(
            "{} events stored for {} keys",
            rows.len(),
            keys.len()
        ));
    }
    for (id, key) in rows {
        if !key.as_deref().is_some_and(|k| keys.contains(k)) {
            v.push(format!(
                "event {id} stored with a key no client has: {key:?}"
            ));
        }
    }
}

/// The panel holds exactly the wanted names, each once.
pub fn panel(v: &mut Violations, wanted: &BTreeSet<String>, panel: &[String]) {
    let held: BTreeSet<String> = panel.iter().cloned().collect();
    if held.len() != panel.len() {
        v.push(format!("the panel holds duplicates: {panel:?}"));
    }
    for missing in wanted.difference(&held) {
        v.push(format!("{missing} is wanted and not on the panel"));
    }
    for extra in held.difference(wanted) {
        v.push(format!("{extra} is on the panel and not wanted"));
    }
}

/// The lifecycle records exactly the wanted domains.
pub fn lifecycle(v: &mut Violations, wanted: &BTreeSet<String>, records: &[Value]) {
    let recorded: BTreeSet<String> = records
        .iter()
        .filter_map(|r| r["domain"].as_str().map(str::to_string))
        .collect();
    for missing in wanted.difference(&recorded) {
        v.push(format!("{missing} is wanted and has no lifecycle record"));
    }
    for extra in recorded.difference(wanted) {
        v.push(format!("{extra} has a lifecycle record and is not wanted"));
    }
}

pub struct Callbacks {
    pub outbox: usize,
    pub acknowledged: usize,
    pub refused: usize,
    pub repeated: usize,
}

/// The outbox as the service left it: id, domain, when delivered.
pub fn read_outbox(v: &mut Violations, db: &Path) -> Vec<(i64, String, Option<i64>)> {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| {
            c.prepare("SELECT id, domain, delivered_ms FROM outbox ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()
        })
        .unwrap_or_else(|e| {
            v.push(format!("reading the outbox: {e}"));
            vec![]
        })
}

/// Every stage change in the outbox was delivered and acknowledged, and nothing else was;
/// per domain, deliveries arrived in id order, each change's `previous_stage` is the stage
/// the one before it set (none after `removed`), and the last one is the domain's stage.
pub fn callbacks(
    v: &mut Violations,
    outbox: &[(i64, String, Option<i64>)],
    arrivals: &[Arrival],
    records: &[Value],
) -> Callbacks {
    let acked: Vec<&Arrival> = arrivals.iter().filter(|a| a.status == 200).collect();
    let acked_ids: BTreeSet<i64> = acked.iter().map(|a| a.delivery).collect();
    let stored: BTreeSet<i64> = outbox.iter().map(|(id, _, _)| *id).collect();
    for (id, domain, delivered) in outbox {
        if delivered.is_none() {
            v.push(format!("stage change {id} of {domain} never delivered"));
        }
        if !acked_ids.contains(id) {
            v.push(format!(
                "stage change {id} of {domain} is not among the receiver's acknowledged deliveries"
            ));
        }
    }
    for id in acked_ids.difference(&stored) {
        v.push(format!(
            "the receiver got delivery {id}, unknown to the outbox"
        ));
    }
    // Per domain: arrival order is delivery order, and the stages chain.
    let mut by_domain: BTreeMap<&str, Vec<&Arrival>> = BTreeMap::new();
    for a in arrivals {
        by_domain.entry(&a.domain).or_default().push(a);
    }
    let mut repeated = 0;
    for (domain, list) in &by_domain {
        let mut highest = 0;
        let mut stage: Option<&str> = None;
        let mut seen = BTreeSet::new();
        for a in list {
            if a.delivery < highest {
                v.push(format!(
                    "{domain}: delivery {} arrived after {highest}",
                    a.delivery
                ));
            }
            highest = highest.max(a.delivery);
            if a.status != 200 {
                continue;
            }
            if !seen.insert(a.delivery) {
                repeated += 1;
                continue;
            }
            if a.previous.as_deref() != stage {
                v.push(format!(
                    "{domain}: delivery {} says {:?} -> {}, the receiver last had {stage:?}",
                    a.delivery, a.previous, a.stage
                ));
            }
            stage = (a.stage != "removed").then_some(a.stage.as_str());
        }
        let now = records
            .iter()
            .find(|r| r["domain"] == *domain)
            .and_then(|r| r["stage"].as_str());
        if stage != now {
            v.push(format!(
                "{domain}: the receiver's last stage is {stage:?}, the service's {now:?}"
            ));
        }
    }
    Callbacks {
        outbox: outbox.len(),
        acknowledged: acked_ids.len(),
        refused: arrivals.iter().filter(|a| a.status != 200).count(),
        repeated,
    }
}

pub struct Memory {
    pub start_mib: f64,
    pub end_mib: f64,
    pub max_mib: f64,
    pub max_all_mib: f64,
    /// The growth allowed.
    pub bound_mib: f64,
    /// Nine samples across the window: seconds since the process started, MiB.
    pub trace: Vec<(u64, f64)>,
    pub window: Duration,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The last process's RSS from `warm_up` after its first sample to the end of the load:
/// the mean of its first five samples against the mean of its last five, which may differ
/// by `floor_mib` plus `share` of the start.
pub fn memory(
    v: &mut Violations,
    samples: &[Sample],
    warm_up: Duration,
    load_ended: Duration,
    (floor_mib, share): (f64, f64),
) -> Memory {
    let max_all = samples.iter().map(|s| s.kib).max().unwrap_or(0);
    let Some(last) = samples.last().map(|s| s.pid) else {
        v.push("no RSS sample".into());
        return Memory {
            start_mib: 0.0,
            end_mib: 0.0,
            max_mib: 0.0,
            max_all_mib: 0.0,
            bound_mib: 0.0,
            trace: vec![],
            window: Duration::ZERO,
        };
    };
    let lifetime: Vec<&Sample> = samples.iter().filter(|s| s.pid == last).collect();
    let born = lifetime[0].at;
    let window: Vec<&Sample> = lifetime
        .iter()
        .copied()
        .filter(|s| s.at >= born + warm_up && s.at <= load_ended)
        .collect();
    if window.len() < 20 {
        v.push(format!(
            "the last process lived {:.0} s under load after warm-up: too short to measure",
            load_ended.saturating_sub(born + warm_up).as_secs_f64()
        ));
    }
    let mean = |s: &[&Sample]| mib(s.iter().map(|s| s.kib).sum::<u64>() / s.len().max(1) as u64);
    let start = mean(&window[..window.len().min(5)]);
    let end = mean(&window[window.len().saturating_sub(5)..]);
    let max = window.iter().map(|s| s.kib).max().unwrap_or(0);
    let bound_mib = floor_mib + share * start;
    if end - start > bound_mib {
        v.push(format!(
            "RSS grew {:.1} MiB (from {start:.1} to {end:.1}) under steady load: bound {bound_mib:.1} MiB",
            end - start
        ));
    }
    Memory {
        start_mib: start,
        end_mib: end,
        max_mib: mib(max),
        max_all_mib: mib(max_all),
        bound_mib,
        trace: (0..9)
            .filter_map(|i| window.get(i * window.len().saturating_sub(1) / 8))
            .map(|s| ((s.at - born).as_secs(), mib(s.kib)))
            .collect(),
        window: window
            .last()
            .zip(window.first())
            .map(|(l, f)| l.at - f.at)
            .unwrap_or_default(),
    }
}

fn ms(text: &Value) -> Option<i64> {
    let t = humantime::parse_rfc3339(text.as_str()?).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// Accepted-to-done (the service's own timestamps): p50, p99, max in ms.
pub fn latency(views: &BTreeMap<i64, Value>) -> (i64, i64, i64) {
    let mut all: Vec<i64> = views
        .values()
        .filter_map(|e| Some(ms(&e["finished_at"])? - ms(&e["accepted_at"])?))
        .collect();
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0)
    };
    (at(0.50), at(0.99), all.last().copied().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    //! The checks catch what they are for (these run in the normal suite).
    use super::*;
    use serde_json::json;

    fn arrival(delivery: i64, domain: &str, previous: Option<&str>, stage: &str) -> Arrival {
        Arrival {
            delivery,
            domain: domain.into(),
            stage: stage.into(),
            previous: previous.map(str::to_string),
            status: 200,
        }
    }

    fn outbox(ids: &[i64]) -> Vec<(i64, String, Option<i64>)> {
        ids.iter()
            .map(|i| (*i, "a.test".to_string(), Some(1)))
            .collect()
    }

    fn clean() -> Vec<Arrival> {
        vec![
            arrival(1, "a.test", None, "checking-dns"),
            arrival(2, "a.test", Some("checking-dns"), "done"),
            arrival(3, "a.test", Some("done"), "removed"),
            arrival(4, "a.test", None, "checking-dns"),
        ]
    }

    fn check(outbox_ids: &[i64], arrivals: &[Arrival]) -> Vec<String> {
        let mut v = Violations::default();
        let records = [json!({"domain": "a.test", "stage": "checking-dns"})];
        callbacks(&mut v, &outbox(outbox_ids), arrivals, &records);
        v.0
    }

    #[test]
    fn a_clean_callback_history_passes() {
        assert_eq!(check(&[1, 2, 3, 4], &clean()), Vec::<String>::new());
        // A change delivered twice (a kill between the 2xx and its record) is allowed.
        let mut twice = clean();
        twice.insert(2, arrival(2, "a.test", Some("checking-dns"), "done"));
        assert_eq!(check(&[1, 2, 3, 4], &twice), Vec::<String>::new());
    }

    #[test]
    fn a_missing_unknown_reordered_or_unchained_change_is_caught() {
        let mut missing = clean();
        missing.remove(1);
        let found = check(&[1, 2, 3, 4], &missing);
        assert!(
            found.iter().any(|f| f.contains("stage change 2")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.contains("receiver last had")),
            "{found:?}"
        );
        let found = check(&[1, 2, 3], &clean());
        assert!(
            found.iter().any(|f| f.contains("unknown to the outbox")),
            "{found:?}"
        );
        let mut reordered = clean();
        reordered.swap(0, 1);
        let found = check(&[1, 2, 3, 4], &reordered);
        assert!(
            found.iter().any(|f| f.contains("arrived after")),
            "{found:?}"
        );
        let mut undelivered = outbox(&[1, 2, 3, 4]);
        undelivered[3].2 = None;
        let mut v = Violations::default();
        let records = [json!({"domain": "a.test", "stage": "checking-dns"})];
        callbacks(&mut v, &undelivered, &clean(), &records);
        assert!(
            v.0.iter().any(|f| f.contains("never delivered")),
            "{:?}",
            v.0
        );
        // The service says another stage than the receiver last got.
        let mut v = Violations::default();
        let records = [json!({"domain": "a.test", "stage": "done"})];
        callbacks(&mut v, &outbox(&[1, 2, 3, 4]), &clean(), &records);
        assert!(v.0.iter().any(|f| f.contains("last stage")), "{:?}", v.0);
    }

    #[test]
    fn the_wanted_set_follows_the_last_event_of_each_domain() {
        let a = |id, kind, domain: &str| Accepted {
            id,
            key: format!("k{id}"),
            kind,
            domain: domain.into(),
        };
        let accepted = [
            a(3, "remove-domain", "x.test"),
            a(1, "add-domain", "x.test"),
            a(2, "add-domain", "y.test"),
            a(4, "remove-domain", "z.test"),
        ];
        assert_eq!(
            wanted(&accepted).into_iter().collect::<Vec<_>>(),
            ["y.test"]
        );
        let mut v = Violations::default();
        panel(
            &mut v,
            &wanted(&accepted),
            &["y.test".into(), "y.test".into(), "z.test".into()],
        );
        assert_eq!(v.len(), 2, "a duplicate and an extra: {:?}", v.0);
    }

    #[test]
    fn growing_memory_is_caught() {
        let samples = |growth_kib: u64| -> Vec<Sample> {
            (0..100)
                .map(|i| Sample {
                    pid: 7,
                    at: Duration::from_millis(500 * i),
                    kib: 20_000 + growth_kib * i / 100,
                })
                .collect()
        };
        let mut v = Violations::default();
        memory(
            &mut v,
            &samples(1_000),
            Duration::from_secs(10),
            Duration::from_secs(60),
            (4.0, 0.1),
        );
        assert!(v.is_empty(), "{:?}", v.0);
        memory(
            &mut v,
            &samples(40_000),
            Duration::from_secs(10),
            Duration::from_secs(60),
            (4.0, 0.1),
        );
        assert_eq!(v.len(), 1, "{:?}", v.0);
    }
}
