//! bunny.net DNS: records for subdomain sites only (mapped domains are left alone), so the
//! cases' events are `add-subdomain` and `remove-subdomain` of a site in the network's zone.
//! A site's record points at the configured target; a record of the same name with
//! another value is the customer's.

use super::{Creds, Panel, Skip, Table, ZONE};
use panel_emulators::Emulator;
use panel_emulators::bunnynet::BunnyNet as Emu;

const KEY: &str = "bunny-conformance-key-3d9f7a1c-0b2e";
const BAD_KEY: &str = "bunny-wrong-key-0000111122";
const ZONE_ID: u64 = 4711;
const TARGET: &str = "203.0.113.5";
/// Record type A, as bunny.net numbers it.
const A: u8 = 0;

pub struct BunnyNet(Emulator<Emu>);

/// `name` relative to the test zone (empty for its apex, as bunny.net names the apex).
fn relative(name: &str) -> String {
    name.strip_suffix(&format!(".{ZONE}"))
        .unwrap_or_default()
        .to_string()
}

impl Panel for BunnyNet {
    const ID: &'static str = "bunnynet";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    /// The network's zone, its apex (the network's main site) pointing at the target.
    fn start() -> Self {
        let emu = Emulator::spawn(Emu::new(KEY, ZONE_ID, ZONE), 0).expect("emulator");
        emu.lock().panel.seed(ZONE_ID, A, "", TARGET);
        BunnyNet(emu)
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (key, zone) = match creds {
            Creds::Good => (KEY, ZONE_ID),
            Creds::Bad => (BAD_KEY, ZONE_ID),
            Creds::WrongId => (KEY, 999),
        };
        Some(Table::new(format!(
            "constants = {{ WU_BUNNYNET_API_KEY = \"{key}\", WU_BUNNYNET_ZONE_ID = \"{zone}\", WU_BUNNYNET_TARGET = \"{TARGET}\" }}\n\
             routes = {{ \"api.bunny.net\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    fn commands(&self) -> (&'static str, &'static str) {
        ("add-subdomain", "remove-subdomain")
    }

    /// The names of the zone's A, AAAA and CNAME records.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.0.lock().panel.records(ZONE_ID).into_iter())
            .filter(|r| r.kind <= 2)
            .map(|r| match r.name.as_str() {
                "" => ZONE.to_string(),
                label => format!("{label}.{ZONE}"),
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn plant(&self, name: &str) {
        (self.0.lock().panel).seed(ZONE_ID, A, &relative(name), TARGET);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // The customer's own A record at the site's name, pointing elsewhere.
        (self.0.lock().panel).seed(ZONE_ID, A, &relative(super::DOMAIN), "198.51.100.4");
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    /// The zone's apex: the network's main site, never a subdomain site's record.
    fn primary(&self) -> Result<String, Skip> {
        Ok(ZONE.into())
    }

    fn create_request(&self) -> (&'static str, String) {
        ("PUT", format!("/dnszone/{ZONE_ID}/records"))
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("DELETE", format!("/dnszone/{ZONE_ID}/records/"))
    }

    fn secrets(&self) -> Vec<String> {
        vec![KEY.into(), BAD_KEY.into()]
    }
}
