//! Enhance: domain mappings of the website (`www.` a mapping of its own), deleted by the
//! `domainId` the list gives; each mapping gets a Let's Encrypt certificate of its own,
//! after a preflight that only reads.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::enhance::Enhance as Emu;
use panel_emulators::{Emulator, Request};

const TOKEN: &str = "enh-conformance-token-7a6b5c4d3e2f";
const BAD_TOKEN: &str = "enh-wrong-token-123456789";
const ORG: &str = "8a3f6c1e-2b4d-4e6f-9a1b-3c5d7e9f1a2b";
const WEBSITE: &str = "4d2c9e7a-6b1f-4a3e-8c5d-2f4a6b8c0d1e";
const HOST: &str = "cp.hosting-panel.test";
const PRIMARY: &str = "network.example";

pub struct Enhance(Emulator<Emu>);

impl Panel for Enhance {
    const ID: &'static str = "enhance";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        Enhance(Emulator::spawn(Emu::new(TOKEN, ORG, WEBSITE, PRIMARY), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (token, website) = match creds {
            Creds::Good => (TOKEN, WEBSITE),
            Creds::Bad => (BAD_TOKEN, WEBSITE),
            Creds::WrongId => (TOKEN, "00000000-0000-0000-0000-000000000000"),
        };
        Some(Table::new(format!(
            "constants = {{ WU_ENHANCE_API_TOKEN = \"{token}\", WU_ENHANCE_API_URL = \"https://{HOST}/api\", \
             WU_ENHANCE_ORG_ID = \"{ORG}\", WU_ENHANCE_WEBSITE_ID = \"{website}\" }}\n\
             routes = {{ \"{HOST}\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// Every website's domains.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.websites.values())
            .flat_map(|w| w.domains.iter().map(|m| m.domain.clone()))
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed(WEBSITE, &[name]);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another organisation's website: this integration only looks at its own website.
        (self.0.lock().panel).add_website("other-org", "other-site", &[super::DOMAIN]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(PRIMARY.into())
    }

    /// The Let's Encrypt preflight is a POST that only reads.
    fn is_write(&self, request: &Request) -> bool {
        request.method != "GET" && !request.path.ends_with("/letsencrypt_preflight")
    }

    fn create_request(&self) -> (&'static str, String) {
        (
            "POST",
            format!("/api/orgs/{ORG}/websites/{WEBSITE}/domains"),
        )
    }

    fn delete_request(&self) -> (&'static str, String) {
        (
            "DELETE",
            format!("/api/orgs/{ORG}/websites/{WEBSITE}/domains/"),
        )
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.into(), BAD_TOKEN.into()]
    }

    fn certify(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        let mapping = (shared
            .panel
            .websites
            .get_mut(WEBSITE)
            .unwrap()
            .domains
            .iter_mut())
        .find(|m| m.domain == name)
        .expect("planted");
        mapping.certificate = true;
        Ok(())
    }

    fn certificate_names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.websites[WEBSITE].domains.iter())
            .filter(|m| m.certificate)
            .map(|m| m.domain.clone())
            .collect();
        names.sort();
        names
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err("each domain mapping gets a certificate of its own")
    }

    /// The preflight answers `canIssue: false` for `name`.
    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        (self.0.lock().panel.le_blocked)
            .insert(name.into(), "DNS does not resolve to this server".into());
        Ok(())
    }
}
