//! Hestia: aliases of the network's web domain (`www.` an alias of its own), added and
//! deleted by commands posted to `/api/` (every call shares the path; the form's `cmd`
//! tells them apart, exit codes come inside HTTP 200); one Let's Encrypt certificate for
//! the web domain, re-issued with the names it keeps and the event's.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::hestia::Hestia as Emu;
use panel_emulators::{Emulator, Fault, Request};

const ADMIN: &str = "admin";
const PASSWORD: &str = "hestia-conformance-pw-61!q";
const BAD_PASSWORD: &str = "hestia-wrong-pw-0000";
const ACCOUNT: &str = "wpnet";
const WEB: &str = "network-main.com";
const PANEL_HOST: &str = "hcp.hosting-panel.test";
/// The fault markers `create_request`/`delete_request` give (turned into a fault on the
/// form's command by `inject`).
const API: &str = "/api/";
const CREATE: &str = "/api/#v-add-web-domain-alias";
const DELETE: &str = "/api/#v-delete-web-domain-alias";

pub struct Hestia(Emulator<Emu>);

impl Hestia {
    fn certificate(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names = shared
            .panel
            .domain(ACCOUNT, WEB)
            .unwrap()
            .certificate
            .clone();
        names.sort();
        names
    }
}

impl Panel for Hestia {
    const ID: &'static str = "hestia";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let mut panel = Emu::new(ADMIN, PASSWORD);
        panel.add_user_domain(ACCOUNT, WEB, &[]);
        Hestia(Emulator::spawn(panel, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (password, account) = match creds {
            Creds::Good => (PASSWORD, ACCOUNT),
            Creds::Bad => (BAD_PASSWORD, ACCOUNT),
            Creds::WrongId => (PASSWORD, "nobody"),
        };
        Some(Table::new(format!(
            "constants = {{ WU_HESTIA_API_URL = \"https://{PANEL_HOST}:8083\", WU_HESTIA_API_USER = \"{ADMIN}\", \
             WU_HESTIA_API_PASSWORD = \"{password}\", WU_HESTIA_ACCOUNT = \"{account}\", WU_HESTIA_WEB_DOMAIN = \"{WEB}\" }}\n\
             routes = {{ \"{PANEL_HOST}\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// Every user's web domains and their aliases.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.users.values())
            .flat_map(|domains| {
                domains.iter().flat_map(|(name, web)| {
                    std::iter::once(name.clone()).chain(web.aliases.clone())
                })
            })
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        let mut shared = self.0.lock();
        let web = shared.panel.domain_mut(ACCOUNT, WEB).unwrap();
        web.aliases.push(name.into());
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another user's alias: this integration only ever touches its own web domain.
        (self.0.lock().panel).add_user_domain("otheruser", "other-site.org", &[super::DOMAIN]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(WEB.into())
    }

    /// A fault on [`CREATE`] or [`DELETE`] hits only the post running that command.
    fn inject(&self, fault: Fault) {
        let command = match fault.path_prefix.as_deref() {
            Some(CREATE) => Some("v-add-web-domain-alias"),
            Some(DELETE) => Some("v-delete-web-domain-alias"),
            _ => None,
        };
        match command {
            Some(command) => self.0.inject(
                fault
                    .on("POST", API)
                    .when_body_contains(&format!("cmd={command}")),
            ),
            None => self.0.inject(fault),
        }
    }

    /// Every call is a POST; the form's `cmd` says whether it only lists.
    fn is_write(&self, request: &Request) -> bool {
        request
            .form_params()
            .get("cmd")
            .is_some_and(|cmd| !cmd.starts_with("v-list-"))
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", CREATE.into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", DELETE.into())
    }

    fn secrets(&self) -> Vec<String> {
        vec![PASSWORD.into(), BAD_PASSWORD.into()]
    }

    /// The web domain's Let's Encrypt certificate covers `name` (and the web domain).
    fn certify(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        let web = shared.panel.domain_mut(ACCOUNT, WEB).unwrap();
        web.letsencrypt = true;
        if web.certificate.is_empty() {
            web.certificate.push(WEB.into());
        }
        web.certificate.push(name.into());
        Ok(())
    }

    fn certificate_names(&self) -> Vec<String> {
        self.certificate()
    }

    /// Let's Encrypt's 100 names, on the web domain's one certificate.
    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Ok((100, |panel: &Self| vec![panel.certificate()]))
    }

    /// Let's Encrypt cannot validate `name` (Hestia's exit 15).
    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.le_failing.push(name.into());
        Ok(())
    }
}
