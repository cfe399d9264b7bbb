//! The panel conformance suite: invariants every panel integration keeps, written once and
//! proved against each panel's emulator through a small adapter ([`Panel`]).
//!
//! Each case is a generic function below; the [`conformance!`] macro makes one `#[test]` per
//! case for a panel, in a module named after it, so a failure reads
//! `serverpilot::add_twice_changes_nothing`: the panel and the invariant.
//!
//! Adding a panel:
//! 1. Write `tests/conformance/<panel>.rs`: a struct holding its `Emulator`, and
//!    `impl Panel` for it (spawn the emulator, the config table, plant and read names,
//!    how its create and delete requests look). Copy a neighbour: `gridpane.rs` is a
//!    per-name panel, `serverpilot.rs` a one-list panel, `hostinger.rs` a DNS panel.
//!    What the panel cannot express returns `Err("why")` and the case says it skipped.
//! 2. Add `pub mod <panel>;` below and one line `conformance!(<panel> => ...);` in
//!    `tests/conformance_e2e.rs`.
//!
//! What a case checks, it checks from the outside: the emulator's request log (a write is
//! any request [`Panel::is_write`] says changes the panel) and the names the panel serves
//! afterwards, never the component's own words alone.

use crate::support::{Case, Run, strings};
use panel_emulators::{Fault, Request, Response};
use serde_json::Value;

pub mod bigscoots;
pub mod bunnynet;
pub mod closte;
pub mod cloudflare;
pub mod cloudways;
pub mod cpanel;
pub mod cyberpanel;
pub mod directadmin;
pub mod enhance;
pub mod gridpane;
pub mod hestia;
pub mod hostinger;
pub mod laravel_forge;
pub mod plesk;
pub mod rocket;
pub mod runcloud;
pub mod serverpilot;
pub mod wpengine;
pub mod wpmudev;

/// Why a panel cannot express a case (printed when the case skips).
pub type Skip = &'static str;

/// The CA's cap on names in one certificate, and how to read the certificates' name lists.
pub type NameCap<P> = (usize, fn(&P) -> Vec<Vec<String>>);

/// The mapped domain every case works on, its neighbours and the names for certificates.
/// All sit in one zone (not `example.com`, which Cloudflare refuses as a custom hostname)
/// so that DNS panels find a zone for them.
pub const ZONE: &str = "acme-widgets.com";
pub const DOMAIN: &str = "shop.acme-widgets.com";
pub const WWW: &str = "www.shop.acme-widgets.com";
pub const NEIGHBOUR: &str = "blog.acme-widgets.com";
pub const CHILD: &str = "cart.shop.acme-widgets.com";

/// Which credentials a config carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creds {
    Good,
    /// The right ids with a wrong secret.
    Bad,
    /// The right secret with an id (app, site, zone, install...) that does not exist.
    WrongId,
}

/// An integration's table and the environment its runs need.
pub struct Table {
    /// Lines of `[integrations.<id>]` after `enabled = true`: constants, routes, env.
    pub body: String,
    pub env: Vec<(String, String)>,
}

impl Table {
    pub fn new(body: String) -> Self {
        Table {
            body,
            env: Vec::new(),
        }
    }
}

/// One panel, as the cases see it: an emulator and how to drive it.
pub trait Panel: Sized {
    /// The integration id (`[integrations.<ID>]`, the report's `id`).
    const ID: &'static str;

    /// The constant (or its prefix) a wrong id's message must name: most constants are the
    /// plugin's `WU_…`; some panels define their own (WPMU DEV's `WPMUDEV_HOSTING_SITE_ID`).
    const ID_CONSTANT: &'static str = "WU_";

    /// Spawns the emulator with the panel's primary domain (if it has one).
    fn start() -> Self;

    /// The integration's table for these credentials; `None` when the panel has no such
    /// config (a panel without ids has no wrong id).
    fn table(&self, creds: Creds) -> Option<Table>;

    /// Every name the panel serves (or holds records for), sorted.
    fn names(&self) -> Vec<String>;

    /// Puts `name` on the panel as this integration would have created it.
    fn plant(&self, name: &str);

    /// Puts a record this integration did not create on the panel (a customer's, another
    /// site's) and returns the command and name of the event that must leave it alone.
    fn plant_customer(&self) -> Result<(&'static str, String), Skip>;

    /// The panel's primary domain (present from [`Panel::start`]).
    fn primary(&self) -> Result<String, Skip>;

    /// The panel's emulator (what the requests go to).
    type Emulated: panel_emulators::server::Panel;

    fn emulator(&self) -> &panel_emulators::Emulator<Self::Emulated>;

    /// Every request the panel received, in order.
    fn requests(&self) -> Vec<Request> {
        self.emulator().requests()
    }

    /// Injects a fault; panels whose API has one path for every call (the call named in
    /// the body) aim it at the call the case means.
    fn inject(&self, fault: Fault) {
        self.emulator().inject(fault)
    }

    /// The names an event creates or removes on this panel (`www.` is a name of its own on
    /// most panels; an attribute of the record on some).
    fn names_of(&self, domain: &str, www: bool) -> Vec<String> {
        if www {
            vec![domain.to_string(), format!("www.{domain}")]
        } else {
            vec![domain.to_string()]
        }
    }

    /// The commands of the events this integration acts on, for `add-domain` and
    /// `remove-domain` in the cases: mapped domains on most panels; a DNS panel that only
    /// holds records for subdomain sites acts on `add-subdomain` and `remove-subdomain`.
    fn commands(&self) -> (&'static str, &'static str) {
        ("add-domain", "remove-domain")
    }

    /// Whether the integration deletes names at all: `Err(why)` when the panel offers no
    /// removal. The cases that need a deletion then skip; those proving that nothing is
    /// deleted (a customer's record, the primary, an absent name) still run.
    fn removes(&self) -> Result<(), Skip> {
        Ok(())
    }

    /// Whether a request changes the panel.
    fn is_write(&self, request: &Request) -> bool {
        request.method != "GET"
    }

    /// Method and path prefix of the request that creates a name.
    fn create_request(&self) -> (&'static str, String);

    /// Method and path prefix of the request that deletes a name.
    fn delete_request(&self) -> (&'static str, String);

    /// Makes the panel answer an error inside HTTP 200. By default every request gets a
    /// login page with 200 (the shape a proxy or an expired session gives any panel);
    /// panels with an error envelope (`success: false`, `error=1`) use that instead.
    fn error_inside_200(&self) {
        let page = Response {
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<!DOCTYPE html><html><head><title>Log in</title></head><body>Please log in</body></html>"
                .to_vec(),
        };
        self.inject(Fault::respond(page, 1000));
    }

    /// Every secret of the good and bad configs: none may reach any output.
    fn secrets(&self) -> Vec<String>;

    /// Makes the panel's certificate cover `name` (a name already planted).
    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Err("the panel has no certificate this integration manages")
    }

    /// The names the panel's certificates cover (or will cover: requested and issuing).
    fn certificate_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// The most names one certificate may carry when this integration composes the list,
    /// and the certificates' name lists (to check each against it).
    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err("the integration never composes a certificate's list of names")
    }

    /// Makes `name`'s DNS wrong as the panel sees it (its certificate cannot be issued).
    fn break_dns(&self, _name: &str) -> Result<(), Skip> {
        Err("the panel has no certificate this integration manages")
    }
}

/// A config with retries fast enough for tests.
const FAST_RETRY: &str = "[retry]\nbase_delay_ms = 10";

/// A scratch folder and a panel.
pub struct Rig<P: Panel> {
    pub case: Case,
    pub panel: P,
}

impl<P: Panel> Rig<P> {
    pub fn new(name: &str) -> Self {
        Rig {
            case: Case::new(&format!("conformance-{}-{name}", P::ID)),
            panel: P::start(),
        }
    }

    /// Writes the config (`www` policy and `creds`) and runs `domain-host --json args`.
    pub fn run(&self, www: &str, creds: Creds, args: &[&str]) -> Run {
        let table = self
            .panel
            .table(creds)
            .unwrap_or_else(|| panic!("{} has no {creds:?} config", P::ID));
        self.case.write_config(&format!(
            "www = \"{www}\"\n{FAST_RETRY}\n[integrations.{}]\nenabled = true\n{}\n",
            P::ID,
            table.body
        ));
        let env: Vec<(&str, &str)> = table
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut full = vec!["--json", "--log-level", "trace"];
        full.extend_from_slice(args);
        // The cases say `add-domain`/`remove-domain`; the panel's own commands are sent.
        let (add, remove) = self.panel.commands();
        match full[3] {
            "add-domain" => full[3] = add,
            "remove-domain" => full[3] = remove,
            _ => {}
        }
        self.case.run_with_env(&full, &env)
    }

    /// Runs an event command for `name` with good credentials.
    pub fn event(&self, www: &str, command: &str, name: &str) -> Run {
        self.run(www, Creds::Good, &[command, name, "--site", "4"])
    }

    pub fn writes(&self) -> Vec<String> {
        self.panel
            .requests()
            .iter()
            .filter(|r| self.panel.is_write(r))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Every log file of the case's state folder.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        let dir = self.case.dir.join("state/logs");
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        text
    }
}

fn report<P: Panel>(run: &Run) -> Value {
    run.integration(P::ID)
}

/// The report's notes without the host's "attempt N failed" lines.
fn own_notes(report: &Value) -> Vec<String> {
    strings(&report["notes"])
        .into_iter()
        .filter(|n| !n.starts_with("attempt "))
        .collect()
}

/// The faulted run's first note names what the fault-free run's first note names, with
/// the same verb ("added", "removed"). Details after the names may differ: a write
/// recovered after a lost answer is read back, not answered.
fn reports_the_same_names(faulted: &Value, clean: &Value) {
    let (faulted, clean) = (own_notes(faulted), own_notes(clean));
    let first = |notes: &[String]| notes.first().cloned().unwrap_or_default();
    let (f, c) = (first(&faulted), first(&clean));
    assert_eq!(
        f.split_whitespace().next(),
        c.split_whitespace().next(),
        "{faulted:?} vs {clean:?}"
    );
    let named = |note: &str, name: &str| {
        note.split(|ch: char| ch.is_whitespace() || ch == ',')
            .any(|w| w == name)
    };
    for name in [DOMAIN, WWW] {
        assert_eq!(named(&f, name), named(&c, name), "{faulted:?} vs {clean:?}");
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names.dedup();
    names
}

fn with(names: &[String], added: &[String]) -> Vec<String> {
    sorted(names.iter().chain(added).cloned().collect())
}

fn without(names: &[String], removed: &[String]) -> Vec<String> {
    sorted(
        names
            .iter()
            .filter(|n| !removed.contains(n))
            .cloned()
            .collect(),
    )
}

fn skip<P: Panel>(case: &str, why: Skip) {
    eprintln!("conformance: {}::{case} skipped: {why}", P::ID);
}

fn ok(run: &Run, what: &str) {
    assert_eq!(run.status, 0, "{what}:\n{}", run.all_output());
}

// ---------------------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------------------

/// `test` reads: nothing is written and the panel serves what it served.
pub fn test_only_reads<P: Panel>() {
    let rig = Rig::<P>::new("test");
    rig.panel.plant(DOMAIN);
    let before = rig.panel.names();
    let run = rig.run("always", Creds::Good, &["test", P::ID]);
    ok(&run, "test");
    assert!(rig.writes().is_empty(), "test wrote: {:?}", rig.writes());
    assert_eq!(rig.panel.names(), before);
}

/// An add creates exactly the event's names and reports a change.
pub fn add_creates_exactly_what_the_panel_needs<P: Panel>() {
    let rig = Rig::<P>::new("add");
    rig.panel.plant(NEIGHBOUR);
    let before = rig.panel.names();
    let run = rig.event("always", "add-domain", DOMAIN);
    ok(&run, "add");
    assert_eq!(report::<P>(&run)["changed"], true, "{}", run.stdout);
    assert_eq!(
        rig.panel.names(),
        with(&before, &rig.panel.names_of(DOMAIN, true))
    );
}

/// A second add of the same event changes nothing and reports no change. (A panel may be
/// asked and refuse, as RunCloud's create answers "already exists": the state decides.)
pub fn add_twice_changes_nothing<P: Panel>() {
    let rig = Rig::<P>::new("add-twice");
    ok(&rig.event("always", "add-domain", DOMAIN), "first add");
    let names = rig.panel.names();
    let run = rig.event("always", "add-domain", DOMAIN);
    ok(&run, "second add");
    assert_eq!(report::<P>(&run)["changed"], false, "{}", run.stdout);
    assert_eq!(rig.panel.names(), names);
}

/// A removal deletes the event's names and nothing else: not a neighbour, not a name
/// under the domain.
pub fn remove_deletes_only_the_events_names<P: Panel>() {
    let rig = Rig::<P>::new("remove");
    if let Err(why) = rig.panel.removes() {
        return skip::<P>("remove_deletes_only_the_events_names", why);
    }
    let event_names = rig.panel.names_of(DOMAIN, true);
    for name in event_names
        .iter()
        .map(String::as_str)
        .chain([NEIGHBOUR, CHILD])
    {
        rig.panel.plant(name);
    }
    let before = rig.panel.names();
    let run = rig.event("always", "remove-domain", DOMAIN);
    ok(&run, "remove");
    assert_eq!(report::<P>(&run)["changed"], true, "{}", run.stdout);
    assert_eq!(rig.panel.names(), without(&before, &event_names));
}

/// A record this integration did not create is never deleted (nor touched at all).
pub fn remove_never_deletes_a_customers_record<P: Panel>() {
    let rig = Rig::<P>::new("customer");
    let (command, name) = match rig.panel.plant_customer() {
        Ok(planted) => planted,
        Err(why) => return skip::<P>("remove_never_deletes_a_customers_record", why),
    };
    let before = rig.panel.names();
    let run = rig.event("always", command, &name);
    assert_ne!(report::<P>(&run)["changed"], true, "{}", run.all_output());
    assert!(rig.writes().is_empty(), "wrote: {:?}", rig.writes());
    assert_eq!(rig.panel.names(), before);
}

/// The primary domain is never removed, whatever the event says.
pub fn remove_never_deletes_the_primary_domain<P: Panel>() {
    let rig = Rig::<P>::new("primary");
    let primary = match rig.panel.primary() {
        Ok(primary) => primary,
        Err(why) => return skip::<P>("remove_never_deletes_the_primary_domain", why),
    };
    let before = rig.panel.names();
    assert!(before.contains(&primary), "{primary} not in {before:?}");
    let run = rig.event("always", "remove-domain", &primary);
    assert_ne!(report::<P>(&run)["changed"], true, "{}", run.all_output());
    assert!(rig.writes().is_empty(), "wrote: {:?}", rig.writes());
    assert_eq!(rig.panel.names(), before);
}

/// `www.<domain>` stays when the remove event says `www = false` (the host's decision:
/// the policy does not want it, or it is mapped of its own).
pub fn remove_keeps_www_while_it_is_mapped<P: Panel>() {
    let rig = Rig::<P>::new("www-mapped");
    if let Err(why) = rig.panel.removes() {
        return skip::<P>("remove_keeps_www_while_it_is_mapped", why);
    }
    rig.panel.plant(DOMAIN);
    rig.panel.plant(WWW);
    let before = rig.panel.names();
    // The policy wants `www.`, but WordPress maps `www.<domain>` on its own (the bridge's
    // `www_mapped`, the CLI's `--www-mapped`): the host sends the remove with `www = false`.
    // A panel whose removal is a subdomain event (no `--www-mapped` there) gets the same
    // `www = false` from a policy without `www.`.
    let run = if rig.panel.commands().1 == "remove-domain" {
        rig.run(
            "always",
            Creds::Good,
            &["remove-domain", DOMAIN, "--site", "4", "--www-mapped"],
        )
    } else {
        rig.event("never", "remove-domain", DOMAIN)
    };
    ok(&run, "remove");
    assert!(
        rig.panel.names().contains(&WWW.to_string()),
        "{WWW} was removed: {:?}\n{}",
        rig.panel.names(),
        run.stdout
    );
    assert_eq!(rig.panel.names(), without(&before, &[DOMAIN.to_string()]));
}

/// Removing a name the panel does not have succeeds, unchanged, without a write.
pub fn removing_an_absent_name_changes_nothing<P: Panel>() {
    let rig = Rig::<P>::new("remove-absent");
    rig.panel.plant(NEIGHBOUR);
    let before = rig.panel.names();
    let run = rig.event("always", "remove-domain", DOMAIN);
    ok(&run, "remove");
    assert_eq!(report::<P>(&run)["changed"], false, "{}", run.stdout);
    assert!(rig.writes().is_empty(), "wrote: {:?}", rig.writes());
    assert_eq!(rig.panel.names(), before);
}

/// Rejected credentials are `bad_credentials`, not retried, write nothing (the panel's
/// state: a refused request is no write), and the wrong secret is never printed.
pub fn bad_credentials_are_explained_and_write_nothing<P: Panel>() {
    let rig = Rig::<P>::new("bad-credentials");
    let before = rig.panel.names();
    for args in [
        vec!["test", P::ID],
        vec!["add-domain", DOMAIN, "--site", "4"],
    ] {
        let run = rig.run("always", Creds::Bad, &args);
        assert_eq!(run.status, 1, "{args:?}: {}", run.all_output());
        let r = report::<P>(&run);
        assert_eq!(r["error"]["kind"], "bad_credentials", "{args:?}: {r}");
        assert!(!r["error"]["message"].as_str().unwrap_or("").is_empty());
        assert_eq!(r["attempts"], 1, "a rejection is not retried: {r}");
        let out = format!("{}{}", run.all_output(), rig.logs());
        for secret in rig.panel.secrets() {
            assert!(!out.contains(&secret), "{secret} printed:\n{out}");
        }
    }
    assert_eq!(rig.panel.names(), before, "nothing was written");
}

/// An id that does not exist is `not_found`, with a message, and nothing is written.
pub fn a_wrong_id_is_explained_and_writes_nothing<P: Panel>() {
    let rig = Rig::<P>::new("wrong-id");
    let before = rig.panel.names();
    if rig.panel.table(Creds::WrongId).is_none() {
        return skip::<P>(
            "a_wrong_id_is_explained_and_writes_nothing",
            "the config has no id",
        );
    }
    for args in [
        vec!["test", P::ID],
        vec!["add-domain", DOMAIN, "--site", "4"],
    ] {
        let run = rig.run("always", Creds::WrongId, &args);
        assert_eq!(run.status, 1, "{args:?}: {}", run.all_output());
        let r = report::<P>(&run);
        assert_eq!(r["error"]["kind"], "not_found", "{args:?}: {r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(P::ID_CONSTANT),
            "the message names the constant to check: {r}"
        );
    }
    assert_eq!(rig.panel.names(), before, "nothing was written");
}

/// An error the panel answers with HTTP 200 is an error: the add fails and the panel
/// serves what it served.
pub fn an_error_inside_http_200_is_an_error<P: Panel>() {
    let rig = Rig::<P>::new("error-in-200");
    let before = rig.panel.names();
    rig.panel.error_inside_200();
    let run = rig.event("always", "add-domain", DOMAIN);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let r = report::<P>(&run);
    assert!(r["error"]["kind"].is_string(), "{r}");
    assert_eq!(rig.panel.names(), before);
}

/// A 503 and a 429 on the first request are retried and the event completes.
pub fn a_503_and_a_429_are_retried<P: Panel>() {
    let busy = Response::json(429, &serde_json::json!({"message": "Too Many Requests"}))
        .with_header("retry-after", "1");
    for (what, fault) in [
        ("503", Fault::status(503, 1)),
        ("429", Fault::respond(busy, 1)),
    ] {
        let rig = Rig::<P>::new(what);
        let before = rig.panel.names();
        rig.panel.inject(fault);
        let run = rig.event("always", "add-domain", DOMAIN);
        ok(&run, what);
        let r = report::<P>(&run);
        assert_eq!(r["attempts"], 2, "{what}: {r}");
        assert_eq!(r["changed"], true, "{what}: {r}");
        assert_eq!(
            rig.panel.names(),
            with(&before, &rig.panel.names_of(DOMAIN, true)),
            "{what}"
        );
    }
}

/// A create the panel applied before answering 503 is reported as a fault-free run
/// reports it, and written once: the writes are those of a fault-free run.
pub fn a_create_applied_before_a_503_is_reported_once_and_right<P: Panel>() {
    let clean = Rig::<P>::new("apply-503-clean");
    let expected = clean.event("always", "add-domain", DOMAIN);
    ok(&expected, "fault-free add");

    let rig = Rig::<P>::new("apply-503");
    let (method, path) = rig.panel.create_request();
    rig.panel
        .inject(Fault::apply_then_status(503, 1).on(method, &path));
    let run = rig.event("always", "add-domain", DOMAIN);
    ok(&run, "add");
    let r = report::<P>(&run);
    assert_eq!(r["attempts"], 2, "the fault was hit: {r}");
    assert_eq!(r["changed"], true, "{r}");
    reports_the_same_names(&r, &report::<P>(&expected));
    assert_eq!(rig.panel.names(), clean.panel.names());
    assert_eq!(rig.writes(), clean.writes(), "written once");
}

/// A delete the panel applied before the connection dropped is reported as a fault-free
/// run reports it, and sent once.
pub fn a_delete_applied_before_a_dropped_connection_is_reported_once_and_right<P: Panel>() {
    let rigs = [
        Rig::<P>::new("apply-drop-clean"),
        Rig::<P>::new("apply-drop"),
    ];
    if let Err(why) = rigs[0].panel.removes() {
        return skip::<P>(
            "a_delete_applied_before_a_dropped_connection_is_reported_once_and_right",
            why,
        );
    }
    for rig in &rigs {
        for name in rig.panel.names_of(DOMAIN, true) {
            rig.panel.plant(&name);
        }
    }
    let (method, path) = rigs[1].panel.delete_request();
    rigs[1]
        .panel
        .inject(Fault::apply_then_drop(1).on(method, &path));
    let expected = rigs[0].event("always", "remove-domain", DOMAIN);
    ok(&expected, "fault-free remove");
    let run = rigs[1].event("always", "remove-domain", DOMAIN);
    ok(&run, "remove");
    let r = report::<P>(&run);
    assert_eq!(r["attempts"], 2, "the fault was hit: {r}");
    assert_eq!(r["changed"], true, "{r}");
    reports_the_same_names(&r, &report::<P>(&expected));
    assert_eq!(rigs[1].panel.names(), rigs[0].panel.names());
    assert_eq!(rigs[1].writes(), rigs[0].writes(), "sent once");
}

/// A certificate request for one name keeps every name the certificate covered.
pub fn a_certificate_request_keeps_every_covered_name<P: Panel>() {
    let rig = Rig::<P>::new("certificate-keeps");
    let covered = ["a.acme-widgets.com", "b.acme-widgets.com"];
    for name in covered.iter().chain([&DOMAIN]) {
        rig.panel.plant(name);
    }
    for name in covered {
        if let Err(why) = rig.panel.certify(name) {
            return skip::<P>("a_certificate_request_keeps_every_covered_name", why);
        }
    }
    let run = rig.event("never", "request-certificate", DOMAIN);
    ok(&run, "request-certificate");
    let after = rig.panel.certificate_names();
    for name in covered {
        assert!(
            after.contains(&name.to_string()),
            "{name} lost its certificate: {after:?}"
        );
    }
}

/// When the integration composes a certificate's names, no certificate carries more
/// than the CA's cap, however many names the panel serves.
pub fn a_certificate_request_stays_under_the_name_cap<P: Panel>() {
    let rig = Rig::<P>::new("certificate-cap");
    let (cap, certificates) = match rig.panel.name_cap() {
        Ok(cap) => cap,
        Err(why) => return skip::<P>("a_certificate_request_stays_under_the_name_cap", why),
    };
    for i in 0..cap + 10 {
        rig.panel.plant(&format!("s{i}.acme-widgets.com"));
    }
    rig.panel.plant(DOMAIN);
    let run = rig.event("never", "request-certificate", DOMAIN);
    ok(&run, "request-certificate");
    for names in certificates(&rig.panel) {
        assert!(
            names.len() <= cap,
            "{} names in one certificate",
            names.len()
        );
    }
    assert!(rig.panel.certificate_names().contains(&DOMAIN.to_string()));
}

/// A name whose DNS does not point here does not block the certificate of another.
pub fn one_name_with_bad_dns_does_not_block_the_others<P: Panel>() {
    let rig = Rig::<P>::new("certificate-bad-dns");
    let bad = "bad.acme-widgets.com";
    rig.panel.plant(bad);
    rig.panel.plant(DOMAIN);
    if let Err(why) = rig.panel.break_dns(bad) {
        return skip::<P>("one_name_with_bad_dns_does_not_block_the_others", why);
    }
    // The bad name asked first, as a network's queue would.
    let _ = rig.event("never", "request-certificate", bad);
    let run = rig.event("never", "request-certificate", DOMAIN);
    ok(&run, "request-certificate of the good name");
    let after = rig.panel.certificate_names();
    assert!(after.contains(&DOMAIN.to_string()), "{after:?}");
}

/// No secret of the panel reaches stdout, stderr or the logs, at trace level, through a
/// test, an add, a remove and a rejected login.
pub fn no_secret_in_any_output<P: Panel>() {
    let rig = Rig::<P>::new("secrets");
    let mut out = String::new();
    for (creds, args) in [
        (Creds::Good, vec!["test", P::ID]),
        (Creds::Good, vec!["add-domain", DOMAIN, "--site", "4"]),
        (Creds::Good, vec!["list-domains"]),
        (Creds::Good, vec!["remove-domain", DOMAIN, "--site", "4"]),
        (Creds::Bad, vec!["add-domain", DOMAIN, "--site", "4"]),
    ] {
        out.push_str(&rig.run("always", creds, &args).all_output());
    }
    out.push_str(&rig.logs());
    for secret in rig.panel.secrets() {
        assert!(!out.contains(&secret), "{secret} printed:\n{out}");
    }
}

/// One `#[test]` per case for a panel: `conformance!(gridpane => GridPane);` (the adapter
/// `GridPane` of `tests/conformance/gridpane.rs`)
/// makes `gridpane::add_twice_changes_nothing` and the rest.
macro_rules! conformance {
    ($panel:ident => $adapter:ident) => {
        mod $panel {
            use crate::conformance as c;
            type P = c::$panel::$adapter;
            #[test]
            fn test_only_reads() {
                c::test_only_reads::<P>()
            }
            #[test]
            fn add_creates_exactly_what_the_panel_needs() {
                c::add_creates_exactly_what_the_panel_needs::<P>()
            }
            #[test]
            fn add_twice_changes_nothing() {
                c::add_twice_changes_nothing::<P>()
            }
            #[test]
            fn remove_deletes_only_the_events_names() {
                c::remove_deletes_only_the_events_names::<P>()
            }
            #[test]
            fn remove_never_deletes_a_customers_record() {
                c::remove_never_deletes_a_customers_record::<P>()
            }
            #[test]
            fn remove_never_deletes_the_primary_domain() {
                c::remove_never_deletes_the_primary_domain::<P>()
            }
            #[test]
            fn remove_keeps_www_while_it_is_mapped() {
                c::remove_keeps_www_while_it_is_mapped::<P>()
            }
            #[test]
            fn removing_an_absent_name_changes_nothing() {
                c::removing_an_absent_name_changes_nothing::<P>()
            }
            #[test]
            fn bad_credentials_are_explained_and_write_nothing() {
                c::bad_credentials_are_explained_and_write_nothing::<P>()
            }
            #[test]
            fn a_wrong_id_is_explained_and_writes_nothing() {
                c::a_wrong_id_is_explained_and_writes_nothing::<P>()
            }
            #[test]
            fn an_error_inside_http_200_is_an_error() {
                c::an_error_inside_http_200_is_an_error::<P>()
            }
            #[test]
            fn a_503_and_a_429_are_retried() {
                c::a_503_and_a_429_are_retried::<P>()
            }
            #[test]
            fn a_create_applied_before_a_503_is_reported_once_and_right() {
                c::a_create_applied_before_a_503_is_reported_once_and_right::<P>()
            }
            #[test]
            fn a_delete_applied_before_a_dropped_connection_is_reported_once_and_right() {
                c::a_delete_applied_before_a_dropped_connection_is_reported_once_and_right::<P>()
            }
            #[test]
            fn a_certificate_request_keeps_every_covered_name() {
                c::a_certificate_request_keeps_every_covered_name::<P>()
            }
            #[test]
            fn a_certificate_request_stays_under_the_name_cap() {
                c::a_certificate_request_stays_under_the_name_cap::<P>()
            }
            #[test]
            fn one_name_with_bad_dns_does_not_block_the_others() {
                c::one_name_with_bad_dns_does_not_block_the_others::<P>()
            }
            #[test]
            fn no_secret_in_any_output() {
                c::no_secret_in_any_output::<P>()
            }
        }
    };
}
