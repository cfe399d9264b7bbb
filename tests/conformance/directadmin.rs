//! DirectAdmin: domain pointers of the user's domain (`www.` a pointer of its own),
//! `alias` pointers ours, redirecting ones not; `error=1` answers come with HTTP 200.

use super::{Creds, Panel, Skip, Table};
use panel_emulators::directadmin::{DirectAdmin as Emu, LoginKey};
use panel_emulators::{Emulator, Fault, Response};

const USER: &str = "wpadmin";
const PASSWORD: &str = "da-conformance-Pass-4417";
const KEY: &str = "DAKEYconformance8170ZYXWVUTSRQPONMLKJIHGFEDCBA";
const BAD_KEY: &str = "DAKEYwrong000000000000000000000000000000";
const DOMAIN: &str = "network-main.com";
const PANEL_HOST: &str = "da.hosting-panel.test";

pub struct DirectAdmin(Emulator<Emu>);

impl Panel for DirectAdmin {
    const ID: &'static str = "directadmin";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let mut panel = Emu::new(USER, PASSWORD, DOMAIN);
        panel.keys.push(LoginKey {
            key: KEY.into(),
            commands: None,
        });
        DirectAdmin(Emulator::spawn(panel, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (key, domain) = match creds {
            Creds::Good => (KEY, DOMAIN),
            Creds::Bad => (BAD_KEY, DOMAIN),
            Creds::WrongId => (KEY, "not-mine.com"),
        };
        Some(Table::new(format!(
            "constants = {{ WU_DIRECTADMIN_HOST = \"{PANEL_HOST}\", WU_DIRECTADMIN_USERNAME = \"{USER}\", WU_DIRECTADMIN_API_TOKEN = \"{key}\", WU_DIRECTADMIN_DOMAIN = \"{domain}\" }}\n\
             routes = {{ \"{PANEL_HOST}\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// The user's domains and every pointer of the network's domain.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.domains.keys().cloned())
            .chain(shared.panel.pointers(DOMAIN))
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        let mut shared = self.0.lock();
        shared
            .panel
            .domains
            .get_mut(DOMAIN)
            .unwrap()
            .insert(name.into(), true);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // A redirecting pointer: this integration only ever creates alias pointers.
        let mut shared = self.0.lock();
        (shared.panel.domains.get_mut(DOMAIN).unwrap()).insert(super::DOMAIN.into(), false);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(DOMAIN.into())
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", "/CMD_API_DOMAIN_POINTER".into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", "/CMD_API_DOMAIN_POINTER".into())
    }

    /// DirectAdmin's `error=1` with HTTP 200, on the pointer write.
    fn error_inside_200(&self) {
        let refusal = Response::json(
            200,
            &serde_json::json!({"error": "1", "text": "Cannot create pointer", "details": "refused"}),
        );
        self.inject(Fault::respond(refusal, 1000).on("POST", "/CMD_API_DOMAIN_POINTER"));
    }

    fn secrets(&self) -> Vec<String> {
        vec![PASSWORD.into(), KEY.into(), BAD_KEY.into()]
    }
}
