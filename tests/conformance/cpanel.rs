//! cPanel: addon domains of the account (cPanel serves `www.` with each; the addon's own
//! `label.<main>` subdomain is cPanel's bookkeeping, not a name of its own), created with
//! UAPI and deleted by the key cPanel keeps; failures come inside HTTP 200. AutoSSL is
//! one check of the whole account.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::cpanel::CPanel as Emu;
use panel_emulators::{Emulator, Request};

const USER: &str = "cpuser";
const TOKEN: &str = "CPTOKENCONFORMANCE0123456789ABCDEF";
const BAD_TOKEN: &str = "BADTOKEN999999999999999999";
const PASSWORD: &str = "cp-password-conformance-!@#";
const MAIN: &str = "hosting-main.com";
const PANEL_HOST: &str = "cp.hosting-panel.test";
/// The functions that change the panel.
const WRITES: [&str; 5] = [
    "addaddondomain",
    "deladdondomain",
    "addsubdomain",
    "delsubdomain",
    "start_autossl_check",
];
const AUTOSSL: &str =
    "AutoSSL is one check of the whole account: cPanel picks the names, the component sends none";

pub struct CPanel(Emulator<Emu>);

/// The cPanel function a request calls: UAPI's path, or API 2's `cpanel_jsonapi_func`.
fn function(request: &Request) -> String {
    match request.path.strip_prefix("/execute/") {
        Some(rest) => rest.rsplit('/').next().unwrap_or_default().to_string(),
        None => (request.query_param("cpanel_jsonapi_func"))
            .or_else(|| request.form_params().get("cpanel_jsonapi_func").cloned())
            .unwrap_or_default(),
    }
}

impl Panel for CPanel {
    const ID: &'static str = "cpanel";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        CPanel(Emulator::spawn(Emu::new(USER, TOKEN, PASSWORD, MAIN), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let token = match creds {
            Creds::Good => TOKEN,
            Creds::Bad => BAD_TOKEN,
            // The account is the user's: there is no id to get wrong (a wrong user is a
            // rejected login).
            Creds::WrongId => return None,
        };
        Some(Table::new(format!(
            "constants = {{ WU_CPANEL_USERNAME = \"{USER}\", WU_CPANEL_API_TOKEN = \"{token}\", WU_CPANEL_HOST = \"{PANEL_HOST}\" }}\n\
             routes = {{ \"{PANEL_HOST}\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// The main domain, the addon domains and the parked ones.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let panel = &shared.panel;
        let mut names: Vec<String> = std::iter::once(panel.main_domain.clone())
            .chain(panel.addons.iter().map(|a| a.domain.clone()))
            .chain(panel.parked.iter().cloned())
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        (self.0.lock().panel).seed_addon(name, &name.replace('.', ""));
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // A parked domain: this integration only ever creates addon domains.
        (self.0.lock().panel.parked).push(super::DOMAIN.into());
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(MAIN.into())
    }

    /// cPanel serves `www.` with the addon domain: it is not a name of its own.
    fn names_of(&self, domain: &str, _www: bool) -> Vec<String> {
        vec![domain.to_string()]
    }

    fn is_write(&self, request: &Request) -> bool {
        WRITES.contains(&function(request).as_str())
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", "/execute/AddonDomain/addaddondomain".into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", "/execute/AddonDomain/deladdondomain".into())
    }

    /// cPanel's own refusal inside HTTP 200: the account's addon limit.
    fn error_inside_200(&self) {
        self.0.lock().panel.addon_limit = Some(0);
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.into(), BAD_TOKEN.into(), PASSWORD.into()]
    }

    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Err(AUTOSSL)
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err(AUTOSSL)
    }

    fn break_dns(&self, _name: &str) -> Result<(), Skip> {
        Err("AutoSSL checks every name of the account by itself: one name's DNS blocks no other")
    }
}
