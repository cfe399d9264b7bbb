//! WP Engine: domains of the install (`www.` a domain of its own), deleted by id; each
//! domain's certificate follows its ownership TXT. The password comes from the environment.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::Emulator;
use panel_emulators::wpengine::WpEngine as Emu;

const USER: &str = "wpe-api-user-4d2c";
const PASSWORD: &str = "wpe-conformance-pass-9f8e7d";
const BAD_PASSWORD: &str = "wpe-wrong-password-1234";
const INSTALL: &str = "294deacc-d8b8-4005-82c4-0727ba8ddde0";
const PRIMARY: &str = "network.example";

pub struct WpEngine(Emulator<Emu>);

impl Panel for WpEngine {
    const ID: &'static str = "wpengine";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        WpEngine(Emulator::spawn(Emu::new(USER, PASSWORD, INSTALL, PRIMARY), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (password, install) = match creds {
            Creds::Good => (PASSWORD, INSTALL),
            Creds::Bad => (BAD_PASSWORD, INSTALL),
            Creds::WrongId => (PASSWORD, "11111111-2222-4333-a444-555555555555"),
        };
        Some(Table {
            body: format!(
                "constants = {{ WU_WPENGINE_API_USER = \"{USER}\", WU_WPENGINE_INSTALL_ID = \"{install}\" }}\n\
                 env = [\"WU_WPENGINE_API_PASSWORD\"]\n\
                 routes = {{ \"api.wpengineapi.com\" = \"{}\" }}",
                self.0.base_url()
            ),
            env: vec![("WU_WPENGINE_API_PASSWORD".into(), password.into())],
        })
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.install(INSTALL).domains.iter())
            .map(|d| d.name.clone())
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed(INSTALL, &[name.to_string()]);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another install's domain.
        (self.0.lock().panel).add_install("other-install", &[super::DOMAIN]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(PRIMARY.into())
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", format!("/v1/installs/{INSTALL}/domains"))
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("DELETE", format!("/v1/installs/{INSTALL}/domains/"))
    }

    fn secrets(&self) -> Vec<String> {
        vec![PASSWORD.into(), BAD_PASSWORD.into()]
    }

    /// Planted domains are verified with an active certificate already.
    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Ok(())
    }

    /// Names whose certificate is active or being issued.
    fn certificate_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.install(INSTALL).domains.iter())
            .filter(|d| d.ssl_status == "active" || d.ssl_status == "pending")
            .map(|d| d.name.clone())
            .collect();
        names.sort();
        names
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err("each domain has a certificate of its own")
    }

    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        shared.panel.failing.insert(name.into());
        let d = (shared.panel.install_mut(INSTALL).domains.iter_mut())
            .find(|d| d.name == name)
            .expect("planted");
        d.ssl_status = "pending".into();
        Ok(())
    }
}
