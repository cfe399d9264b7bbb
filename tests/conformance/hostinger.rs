//! Hostinger: DNS only. A mapped name is a CNAME to the network's domain in the zone of
//! the portfolio that owns it; other records of the zone are the customer's.

use super::{Creds, Panel, Skip, Table, ZONE};
use panel_emulators::Emulator;
use panel_emulators::hostinger::Hostinger as Emu;

const TOKEN: &str = "hst-conformance-token-5e8d2a7c";
const BAD_TOKEN: &str = "hst-wrong-token-000";
const TARGET: &str = "network.example";

pub struct Hostinger(Emulator<Emu>);

/// `name` relative to the test zone (`@` for its apex).
fn relative(name: &str) -> String {
    match name.strip_suffix(&format!(".{ZONE}")) {
        Some(label) => label.to_string(),
        None => "@".to_string(),
    }
}

impl Panel for Hostinger {
    const ID: &'static str = "hostinger";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        Hostinger(Emulator::spawn(Emu::new(TOKEN, &[ZONE, TARGET]), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let token = match creds {
            Creds::Good => TOKEN,
            Creds::Bad => BAD_TOKEN,
            // The network domain is a CNAME target, never looked up as an id.
            Creds::WrongId => return None,
        };
        Some(Table::new(format!(
            "constants = {{ WU_HOSTINGER_API_TOKEN = \"{token}\", WU_HOSTINGER_NETWORK_DOMAIN = \"{TARGET}\" }}\n\
             routes = {{ \"developers.hostinger.com\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// The names of every A, AAAA and CNAME record of every zone.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.zones.iter())
            .flat_map(|(zone, sets)| {
                sets.iter()
                    .filter(|s| ["A", "AAAA", "CNAME"].contains(&s.kind.as_str()))
                    .map(move |s| match s.name.as_str() {
                        "@" => zone.clone(),
                        label => format!("{label}.{zone}"),
                    })
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn plant(&self, name: &str) {
        (self.0.lock().panel).seed(ZONE, &relative(name), "CNAME", TARGET);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // The customer's own A record at the mapped name.
        (self.0.lock().panel).seed(ZONE, &relative(super::DOMAIN), "A", "198.51.100.4");
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(TARGET.into())
    }

    fn create_request(&self) -> (&'static str, String) {
        ("PUT", "/api/dns/v1/zones/".into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("DELETE", "/api/dns/v1/zones/".into())
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.into(), BAD_TOKEN.into()]
    }
}
