//! BigScoots: each WordPress site is a sub-site of the primary WPO site with one domain.
//! The event's site (4) starts on its network address (`network.example`, a subdirectory
//! network's host, which is the network's primary domain); mapping sets the sub-site's
//! domain, removal sets the network address back. Other names live on other sub-sites.
//! `www.` is not a name on BigScoots (one domain per sub-site).

use super::{Creds, DOMAIN, Panel, Skip, Table};
use panel_emulators::bigscoots::BigScoots as Emu;
use panel_emulators::{Emulator, Fault, Response};

const EMAIL: &str = "network-admin@network.example";
const KEY: &str = "bigscoots-conformance-key-5f1b9d3e7a";
const BAD_KEY: &str = "bigscoots-wrong-key-24680";
const PRIMARY_UUID: &str = "0f3c9a2e-5d14-4b7e-9c61-2e8f4a7d1b90";
const NETWORK: &str = "network.example";
/// The event's site (`--site 4`).
const SITE: u64 = 4;

pub struct BigScoots(Emulator<Emu>);

impl BigScoots {
    fn sub_site(&self) -> String {
        format!("/v1/multi-sites/sub-sites/{PRIMARY_UUID}/{SITE}")
    }
}

impl Panel for BigScoots {
    const ID: &'static str = "bigscoots";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let mut panel = Emu::new(EMAIL, KEY, PRIMARY_UUID, NETWORK);
        panel.seed(SITE, &format!("{NETWORK}/shop"), "");
        BigScoots(Emulator::spawn(panel, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (key, primary) = match creds {
            Creds::Good => (KEY, PRIMARY_UUID),
            Creds::Bad => (BAD_KEY, PRIMARY_UUID),
            Creds::WrongId => (KEY, "11111111-2222-4333-a444-555555555555"),
        };
        let mut table = Table::new(format!(
            "constants = {{ WU_BIGSCOOTS_API_EMAIL = \"{EMAIL}\", WU_BIGSCOOTS_PRIMARY_UUID = \"{primary}\" }}\n\
             env = [\"WU_BIGSCOOTS_API_KEY\"]\n\
             routes = {{ \"api.bigscoots.com\" = \"{}\" }}",
            self.0.base_url()
        ));
        table.env.push(("WU_BIGSCOOTS_API_KEY".into(), key.into()));
        Some(table)
    }

    /// The primary site's domain and every sub-site's domain.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.subs.values())
            .map(|s| s.domain.clone())
            .chain([NETWORK.to_string()])
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The event's domain becomes site 4's domain (as add-domain sets it); any other name
    /// is the domain of a sub-site of its own. A planted domain has no certificate yet.
    fn plant(&self, name: &str) {
        let mut shared = self.0.lock();
        let blog = if name == DOMAIN {
            SITE
        } else {
            let blog = shared
                .panel
                .subs
                .keys()
                .max()
                .map_or(100, |m| m.max(&99) + 1);
            shared.panel.seed(blog, &format!("{NETWORK}/s{blog}"), name);
            blog
        };
        let sub = shared.panel.subs.get_mut(&blog).expect("seeded");
        sub.domain = name.into();
        sub.ssl = "none".into();
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another sub-site is served on the name: removing it from site 4 leaves it alone.
        (self.0.lock().panel).seed(7, &format!("{NETWORK}/seven"), DOMAIN);
        Ok(("remove-domain", DOMAIN.into()))
    }

    /// Site 4's network address, the network's primary domain.
    fn primary(&self) -> Result<String, Skip> {
        Ok(NETWORK.into())
    }

    /// One domain per sub-site: `www.` is noted, not sent.
    fn names_of(&self, domain: &str, _www: bool) -> Vec<String> {
        vec![domain.to_string()]
    }

    fn create_request(&self) -> (&'static str, String) {
        ("PATCH", self.sub_site())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("PATCH", self.sub_site())
    }

    /// BigScoots' own failure inside a 2xx: `{"success": false, "message"}`.
    fn error_inside_200(&self) {
        let refusal = serde_json::json!({"success": false, "message": "Sub-site is locked"});
        self.inject(Fault::respond(Response::json(200, &refusal), 1000));
    }

    fn secrets(&self) -> Vec<String> {
        vec![KEY.into(), BAD_KEY.into()]
    }

    fn certify(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        let sub = (shared.panel.subs.values_mut())
            .find(|s| s.domain == name)
            .expect("planted");
        sub.ssl = "issued".into();
        Ok(())
    }

    /// The domains of sub-sites whose certificate is issued or being issued.
    fn certificate_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.subs.values())
            .filter(|s| s.ssl == "issued" || s.ssl == "pending")
            .map(|s| s.domain.clone())
            .collect();
        names.sort();
        names
    }

    fn name_cap(&self) -> Result<super::NameCap<Self>, Skip> {
        Err("each sub-site has a certificate of its own, for its one domain")
    }

    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.failing.insert(name.into());
        Ok(())
    }
}
