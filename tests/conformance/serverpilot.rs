//! ServerPilot: one list of names on the app (`www.` a name of its own), written whole.

use super::{Creds, Panel, Skip, Table};
use panel_emulators::Emulator;
use panel_emulators::serverpilot::ServerPilot as Emu;

const CLIENT_ID: &str = "cid_conformance";
const API_KEY: &str = "sp-conformance-key-0123456789";
const BAD_KEY: &str = "sp-wrong-key-9876543210";
const APP: &str = "nlcN0TwdZAyNEgdp";

pub struct ServerPilot(Emulator<Emu>);

impl Panel for ServerPilot {
    const ID: &'static str = "serverpilot";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        ServerPilot(Emulator::spawn(Emu::new(CLIENT_ID, API_KEY, APP), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (key, app) = match creds {
            Creds::Good => (API_KEY, APP),
            Creds::Bad => (BAD_KEY, APP),
            Creds::WrongId => (API_KEY, "noSuchApp"),
        };
        Some(Table::new(format!(
            "constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{key}\", WU_SERVER_PILOT_APP_ID = \"{app}\" }}\n\
             routes = {{ \"api.serverpilot.io\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    fn names(&self) -> Vec<String> {
        let mut names = self.0.lock().panel.app(APP).domains.clone();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.app_mut(APP).domains.push(name.into());
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        Err("the app's list of names has no owner: every name on it is the app's")
    }

    fn primary(&self) -> Result<String, Skip> {
        Err("an app's names are one list without a primary")
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", format!("/v1/apps/{APP}"))
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", format!("/v1/apps/{APP}"))
    }

    fn secrets(&self) -> Vec<String> {
        vec![API_KEY.into(), BAD_KEY.into()]
    }

    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Err(
            "AutoSSL is one switch for the whole app: ServerPilot picks its names, the component sends none",
        )
    }
}
