//! Laravel Forge: domain records of the site (`www.` a redirect setting of the record),
//! deleted by id; each record's own certificate.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::Emulator;
use panel_emulators::laravel_forge::{Certificate, Forge as Emu};

const TOKEN: &str = "forge-conformance-token-7f3a9c";
const BAD_TOKEN: &str = "forge-wrong-token-000111";
const ORG: &str = "acme-hosting";
const SERVER: u64 = 301;
const SITE: u64 = 7001;
const PRIMARY: &str = "network.example";

pub struct Forge(Emulator<Emu>);

fn site_path() -> String {
    format!("/api/orgs/{ORG}/servers/{SERVER}/sites/{SITE}")
}

impl Panel for Forge {
    const ID: &'static str = "laravel-forge";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        Forge(Emulator::spawn(Emu::new(TOKEN, ORG, SERVER, SITE, PRIMARY), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (token, site) = match creds {
            Creds::Good => (TOKEN, SITE),
            Creds::Bad => (BAD_TOKEN, SITE),
            Creds::WrongId => (TOKEN, 9),
        };
        Some(Table::new(format!(
            "constants = {{ WU_FORGE_API_TOKEN = \"{token}\", WU_FORGE_ORGANIZATION = \"{ORG}\", WU_FORGE_SERVER_ID = \"{SERVER}\", WU_FORGE_SITE_ID = \"{site}\" }}\n\
             routes = {{ \"forge.laravel.com\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.site(SERVER, SITE).domains.iter())
            .map(|d| d.name.clone())
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        (self.0.lock().panel).seed(SERVER, SITE, &[name.to_string()], "none");
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another site's record on the same server.
        (self.0.lock().panel).add_site(SERVER, 7002, &["other.example", super::DOMAIN]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(PRIMARY.into())
    }

    /// `www.` is the record's redirect setting (`www_redirect_type`), not a record.
    fn names_of(&self, domain: &str, _www: bool) -> Vec<String> {
        vec![domain.to_string()]
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", format!("{}/domains", site_path()))
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("DELETE", format!("{}/domains/", site_path()))
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.into(), BAD_TOKEN.into()]
    }

    fn certify(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        let record = (shared.panel.site_mut(SERVER, SITE).domains.iter_mut())
            .find(|d| d.name == name)
            .expect("planted");
        record.certificates.push(Certificate {
            id: 5000 + record.id,
            request_status: "created".into(),
            status: "installed".into(),
            active: true,
            reads: 0,
        });
        Ok(())
    }

    /// Names with a certificate installed or being installed.
    fn certificate_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.site(SERVER, SITE).domains.iter())
            .filter(|d| d.certificates.last().is_some_and(|c| c.status != "failed"))
            .map(|d| d.name.clone())
            .collect();
        names.sort();
        names
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err("each domain record has a certificate of its own")
    }

    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.failing.insert(name.into());
        Ok(())
    }
}
