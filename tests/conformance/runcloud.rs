//! RunCloud: domain records of the web application (`www` a flag of the record), deleted
//! by id; one web-application certificate RunCloud redeploys over all its names.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::Emulator;
use panel_emulators::runcloud::RunCloud as Emu;

const TOKEN: &str = "rc-conformance-token-abcdef";
const BAD_TOKEN: &str = "rc-wrong-token-5555555555";
const SERVER: u64 = 101;
const APP: u64 = 202;
const PRIMARY: &str = "network.example";

pub struct RunCloud(Emulator<Emu>);

impl Panel for RunCloud {
    const ID: &'static str = "runcloud";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let emu = Emu::new(TOKEN, "rc-key", "rc-secret-000", SERVER, APP, PRIMARY);
        RunCloud(Emulator::spawn(emu, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (token, app) = match creds {
            Creds::Good => (TOKEN, APP),
            Creds::Bad => (BAD_TOKEN, APP),
            Creds::WrongId => (TOKEN, 999),
        };
        Some(Table::new(format!(
            "constants = {{ WU_RUNCLOUD_API_TOKEN = \"{token}\", WU_RUNCLOUD_SERVER_ID = \"{SERVER}\", WU_RUNCLOUD_APP_ID = \"{app}\" }}\n\
             routes = {{ \"manage.runcloud.io\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.webapp(SERVER, APP).domains.iter())
            .map(|d| d.name.clone())
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed(SERVER, APP, &[name.to_string()]);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another web application's name: this integration only ever looks at its own.
        self.0
            .lock()
            .panel
            .add_webapp(SERVER, 303, &[super::DOMAIN]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(PRIMARY.into())
    }

    /// `www` is the record's flag: RunCloud serves and redirects it with the domain.
    fn names_of(&self, domain: &str, _www: bool) -> Vec<String> {
        vec![domain.to_string()]
    }

    fn create_request(&self) -> (&'static str, String) {
        (
            "POST",
            format!("/api/v3/servers/{SERVER}/webapps/{APP}/domains"),
        )
    }

    fn delete_request(&self) -> (&'static str, String) {
        (
            "DELETE",
            format!("/api/v3/servers/{SERVER}/webapps/{APP}/domains/"),
        )
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.into(), BAD_TOKEN.into()]
    }

    fn certify(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        let app = shared.panel.webapp_mut(SERVER, APP);
        app.certificate
            .as_mut()
            .expect("the web app's certificate")
            .covered
            .push(name.into());
        Ok(())
    }

    fn certificate_names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let app = shared.panel.webapp(SERVER, APP);
        let mut names: Vec<String> = app
            .certificate
            .iter()
            .flat_map(|c| c.covered.clone())
            .chain(
                app.domain_certificates
                    .values()
                    .flat_map(|c| c.covered.clone()),
            )
            .collect();
        names.sort();
        names
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err(
            "RunCloud composes the web application's certificate; the component only asks for a redeploy",
        )
    }

    fn break_dns(&self, _name: &str) -> Result<(), Skip> {
        Err("the redeploy is one request for the web application; RunCloud decides per name")
    }
}
