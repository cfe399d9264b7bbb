//! Rocket.net: the site's additional domains (`www.` a name of its own), deleted by id,
//! behind a session the host logs into (`POST /v1/login`, not a write).

use super::{Creds, Panel, Skip, Table};
use panel_emulators::rocket::Rocket as Emu;
use panel_emulators::{Emulator, Request};

const EMAIL: &str = "owner@network.example";
const PASSWORD: &str = "rk-conformance-pass-8c2d4e6f";
const BAD_PASSWORD: &str = "rk-wrong-pass-13579";
const SITE: u64 = 4242;
const MAIN: &str = "network.example";

pub struct Rocket(Emulator<Emu>);

impl Panel for Rocket {
    const ID: &'static str = "rocket";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        Rocket(Emulator::spawn(Emu::new(EMAIL, PASSWORD, SITE, MAIN), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (password, site) = match creds {
            Creds::Good => (PASSWORD, SITE),
            Creds::Bad => (BAD_PASSWORD, SITE),
            Creds::WrongId => (PASSWORD, 999),
        };
        Some(Table::new(format!(
            "constants = {{ WU_ROCKET_EMAIL = \"{EMAIL}\", WU_ROCKET_PASSWORD = \"{password}\", WU_ROCKET_SITE_ID = \"{site}\" }}\n\
             routes = {{ \"api.rocket.net\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// The site's main domain and its additional domains.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names = shared.panel.names(SITE);
        names.push(shared.panel.site(SITE).main_domain.clone());
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed(SITE, &[name.to_string()]);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another site of the account holds the name: removal looks at this site only.
        (self.0.lock().panel).add_site(77, "other-network.example", &[super::DOMAIN]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(MAIN.into())
    }

    /// The host's session login is a POST that changes nothing on the panel.
    fn is_write(&self, request: &Request) -> bool {
        request.method != "GET" && request.path != "/v1/login"
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", format!("/v1/sites/{SITE}/domains"))
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("DELETE", format!("/v1/sites/{SITE}/domains/"))
    }

    fn secrets(&self) -> Vec<String> {
        // The session tokens the emulator hands out (`….rocket-<n>.sig`) are secrets too.
        vec![
            PASSWORD.into(),
            BAD_PASSWORD.into(),
            "eyJhbGciOiJIUzI1NiJ9.rocket-".into(),
        ]
    }

    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Err("Rocket.net issues each domain's certificate by itself: there is no request to send")
    }
}
