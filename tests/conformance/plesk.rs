//! Plesk: site aliases of the network's site (`www.` an alias of its own), created and
//! deleted through the CLI gateway, where every call of a utility shares one path and the
//! body's parameters tell `--info`, `--create` and `--delete` apart; failures come as a
//! non-zero `code` inside HTTP 200.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::plesk::{Plesk as Emu, Site};
use panel_emulators::{Emulator, Fault, Request, Response};

const ADMIN: &str = "admin";
const PASSWORD: &str = "plesk-conformance-pw-3318";
const KEY: &str = "7c6b5a49-3827-4165-9abc-0f1e2d3c4b5a";
const BAD_KEY: &str = "00000000-bad0-4bad-8bad-000000000000";
const SITE: &str = "network-main.com";
const PANEL_HOST: &str = "plesk.hosting-panel.test";
/// The gateway's path, and the fault markers `create_request`/`delete_request` give
/// (turned into a fault on the call's operation by `inject`).
const SITE_ALIAS: &str = "/api/v2/cli/site_alias/call";
const CREATE: &str = "/api/v2/cli/site_alias/call#--create";
const DELETE: &str = "/api/v2/cli/site_alias/call#--delete";
const NO_CERTIFICATE: &str = "Plesk no longer offers request-certificate: a Let's Encrypt run would replace the site's one certificate";

pub struct Plesk(Emulator<Emu>);

impl Panel for Plesk {
    const ID: &'static str = "plesk";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let mut panel = Emu::new(ADMIN, PASSWORD, SITE);
        panel.keys.push(KEY.into());
        Plesk(Emulator::spawn(panel, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (key, site) = match creds {
            Creds::Good => (KEY, SITE),
            Creds::Bad => (BAD_KEY, SITE),
            Creds::WrongId => (KEY, "not-here.com"),
        };
        Some(Table::new(format!(
            "constants = {{ WU_PLESK_HOST = \"{PANEL_HOST}\", WU_PLESK_API_KEY = \"{key}\", WU_PLESK_DOMAIN = \"{site}\" }}\n\
             routes = {{ \"{PANEL_HOST}\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// Every site, its aliases and its subdomains.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.sites.iter())
            .flat_map(|(name, site)| {
                std::iter::once(name.clone())
                    .chain(site.aliases.clone())
                    .chain(site.subdomains.keys().map(move |l| format!("{l}.{name}")))
            })
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        (self.0.lock().panel.site_mut(SITE).unwrap().aliases).push(name.into());
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another site's alias: this integration only ever touches its own site's.
        self.0.lock().panel.sites.insert(
            "other-site.org".into(),
            Site {
                aliases: vec![super::DOMAIN.into()],
                ..Default::default()
            },
        );
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(SITE.into())
    }

    /// A fault on [`CREATE`] or [`DELETE`] hits only the gateway call with that operation.
    fn inject(&self, fault: Fault) {
        let operation = match fault.path_prefix.as_deref() {
            Some(CREATE) => Some("--create"),
            Some(DELETE) => Some("--delete"),
            _ => None,
        };
        match operation {
            Some(operation) => self.0.inject(
                fault
                    .on("POST", SITE_ALIAS)
                    .when_body_contains(&format!("\"{operation}\"")),
            ),
            None => self.0.inject(fault),
        }
    }

    /// A gateway call changes the panel unless it is an `--info` read.
    fn is_write(&self, request: &Request) -> bool {
        request.method != "GET" && !String::from_utf8_lossy(&request.body).contains("\"--info\"")
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", CREATE.into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", DELETE.into())
    }

    /// The gateway's non-zero `code` with HTTP 200, on the alias creation.
    fn error_inside_200(&self) {
        let answer = Response::json(
            200,
            &serde_json::json!({"code": 1, "stdout": "", "stderr": "Unable to update Apache configuration"}),
        );
        self.inject(Fault::respond(answer, 1000).on("POST", CREATE));
    }

    fn secrets(&self) -> Vec<String> {
        vec![PASSWORD.into(), KEY.into(), BAD_KEY.into()]
    }

    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Err(NO_CERTIFICATE)
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err(NO_CERTIFICATE)
    }

    fn break_dns(&self, _name: &str) -> Result<(), Skip> {
        Err(NO_CERTIFICATE)
    }
}
