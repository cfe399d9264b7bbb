//! GridPane: domains of the site, one record per name (`www.` is not a separate alias),
//! deleted by id; each domain's own certificate (the SSL toggle).

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::Emulator;
use panel_emulators::gridpane::GridPane as Emu;

const TOKEN: &str = "gp-conformance-pat-7c1e9a4b";
const BAD_TOKEN: &str = "gp-wrong-token-123456";
const SERVER: u64 = 33046;
const SITE: u64 = 495737;
const PRIMARY: &str = "network.example";

pub struct GridPane(Emulator<Emu>);

impl Panel for GridPane {
    const ID: &'static str = "gridpane";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        GridPane(Emulator::spawn(Emu::new(TOKEN, SERVER, SITE, PRIMARY), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (token, site) = match creds {
            Creds::Good => (TOKEN, SITE),
            Creds::Bad => (BAD_TOKEN, SITE),
            Creds::WrongId => (TOKEN, 999),
        };
        Some(Table::new(format!(
            "constants = {{ WU_GRIDPANE_API_KEY = \"{token}\", WU_GRIDPANE_SERVER_ID = \"{SERVER}\", WU_GRIDPANE_APP_ID = \"{site}\" }}\n\
             routes = {{ \"my.gridpane.com\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// The site's domains, its primary included.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.domains.iter())
            .filter(|d| d.site_id == SITE)
            .map(|d| d.url.clone())
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed(SITE, &[name.to_string()]);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another site's alias: removal only ever looks at this site's domains.
        let mut shared = self.0.lock();
        shared.panel.add_site(777, SERVER, "other-network.example");
        shared.panel.seed(777, &[super::DOMAIN.to_string()]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(PRIMARY.into())
    }

    /// GridPane serves `www.` with its domain: it is not an alias of its own.
    fn names_of(&self, domain: &str, _www: bool) -> Vec<String> {
        vec![domain.to_string()]
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", "/oauth/api/v1/domain".into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("DELETE", "/oauth/api/v1/domain/".into())
    }

    /// GridPane's own login page with HTTP 200 (the emulator's `login_page`).
    fn error_inside_200(&self) {
        self.0.lock().panel.login_page = true;
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.into(), BAD_TOKEN.into()]
    }

    fn certify(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        let d = (shared.panel.domains.iter_mut())
            .find(|d| d.url == name)
            .expect("planted");
        d.is_ssl = true;
        d.ssl_status = Some("succeed".into());
        Ok(())
    }

    /// Names whose certificate is issued or being issued.
    fn certificate_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.domains.iter())
            .filter(|d| d.site_id == SITE && d.is_ssl)
            .filter(|d| d.ssl_status.as_deref() != Some("failed"))
            .map(|d| d.url.clone())
            .collect();
        names.sort();
        names
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err("each domain has a certificate of its own")
    }

    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.failing.insert(name.into());
        Ok(())
    }
}
