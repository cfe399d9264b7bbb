//! CyberPanel: alias child domains of the master website (`www.` is served with the
//! child, never a child of its own), created by an asynchronous job and deleted through
//! the cloudAPI, where every call shares one path and the body's `controller` tells them
//! apart; each child gets a certificate of its own (`issueSSL` per virtual host).

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::cyberpanel::CyberPanel as Emu;
use panel_emulators::{Emulator, Fault, Request};
use sha2::Digest;

const HOST: &str = "cp.hosting-panel.test";
const PASSWORD: &str = "cp-conformance-Pa55-8812";
const BAD_PASSWORD: &str = "cp-wrong-Pa55-0000";
const MASTER: &str = "network.example";
/// The cloudAPI's one path, and the fault markers `create_request`/`delete_request` give
/// (turned into a fault on the body's controller by `inject`).
const CLOUD_API: &str = "/cloudAPI/";
const CREATE: &str = "/cloudAPI/#submitDomainCreation";
const DELETE: &str = "/cloudAPI/#submitDomainDeletion";
/// The controllers that change the panel.
const WRITES: [&str; 3] = ["submitDomainCreation", "submitDomainDeletion", "issueSSL"];

/// The token CyberPanel stores: `Basic ` + sha256 hex of `admin:password`.
fn token_for(password: &str) -> String {
    let digest = sha2::Sha256::digest(format!("admin:{password}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("Basic {hex}")
}

pub struct CyberPanel(Emulator<Emu>);

impl Panel for CyberPanel {
    const ID: &'static str = "cyberpanel";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let emu = Emu::new(PASSWORD, &token_for(PASSWORD), MASTER);
        CyberPanel(Emulator::spawn(emu, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (password, master) = match creds {
            Creds::Good => (PASSWORD, MASTER),
            Creds::Bad => (BAD_PASSWORD, MASTER),
            Creds::WrongId => (PASSWORD, "elsewhere.example"),
        };
        Some(Table::new(format!(
            "constants = {{ WU_CYBERPANEL_HOST = \"{HOST}\", WU_CYBERPANEL_USERNAME = \"admin\", \
             WU_CYBERPANEL_PASSWORD = \"{password}\", WU_CYBERPANEL_API_TOKEN = \"{}\", \
             WU_CYBERPANEL_MASTER_DOMAIN = \"{master}\" }}\n\
             routes = {{ \"{HOST}\" = \"{}\" }}",
            token_for(password),
            self.0.base_url()
        )))
    }

    /// The master website and its children.
    fn names(&self) -> Vec<String> {
        let mut names = self.0.lock().panel.children(MASTER);
        names.push(MASTER.into());
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed(MASTER, &[name]);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // A child with a document root of its own: this integration only makes aliases.
        (self.0.lock().panel).seed_own_root(MASTER, &[super::DOMAIN]);
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(MASTER.into())
    }

    /// A fault on [`CREATE`] or [`DELETE`] hits only the cloudAPI call with that controller.
    fn inject(&self, fault: Fault) {
        let controller = match fault.path_prefix.as_deref() {
            Some(CREATE) => Some("submitDomainCreation"),
            Some(DELETE) => Some("submitDomainDeletion"),
            _ => None,
        };
        match controller {
            Some(controller) => self.0.inject(
                fault
                    .on("POST", CLOUD_API)
                    .when_body_contains(&format!("\"{controller}\"")),
            ),
            None => self.0.inject(fault),
        }
    }

    /// CyberPanel serves `www.` with the child: it is never a child of its own.
    fn names_of(&self, domain: &str, _www: bool) -> Vec<String> {
        vec![domain.to_string()]
    }

    /// Every call is a POST; the cloudAPI's controller says which write.
    fn is_write(&self, request: &Request) -> bool {
        request.path == CLOUD_API
            && request.json().is_ok_and(|body| {
                WRITES
                    .iter()
                    .any(|w| body["controller"].as_str() == Some(w))
            })
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", CREATE.into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", DELETE.into())
    }

    fn secrets(&self) -> Vec<String> {
        let hex = |p: &str| token_for(p)[6..].to_string();
        vec![
            PASSWORD.into(),
            BAD_PASSWORD.into(),
            hex(PASSWORD),
            hex(BAD_PASSWORD),
        ]
    }

    fn certify(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.certificates.push(name.into());
        Ok(())
    }

    fn certificate_names(&self) -> Vec<String> {
        let mut names = self.0.lock().panel.certificates.clone();
        names.sort();
        names.dedup();
        names
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err("each child domain gets a certificate of its own (issueSSL per virtual host)")
    }

    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.ssl_failures.insert(
            name.into(),
            format!("Failed to obtain SSL for: {name}. Verify DNS points here."),
        );
        Ok(())
    }
}
