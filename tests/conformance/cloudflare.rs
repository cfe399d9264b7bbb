//! Cloudflare: mapped domains are custom hostnames of the SaaS zone (each with its own
//! certificate), subdomain sites proxied records of the network zone; errors come in an
//! envelope (`success: false`), also with HTTP 200.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::cloudflare::Cloudflare as Emu;
use panel_emulators::{Emulator, Fault, Response};

const TOKEN: &str = "cf-conformance-token-0123456789abcdef";
const BAD_TOKEN: &str = "cf-wrong-token-99999999999";
const ZONE: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const SAAS: &str = "9a7806061c88ada191ed06f989cc3dac";
const NETWORK: &str = "network-sites.com";

pub struct Cloudflare(Emulator<Emu>);

impl Panel for Cloudflare {
    const ID: &'static str = "cloudflare";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let mut cf = Emu::new(TOKEN);
        cf.add_zone(ZONE, NETWORK);
        cf.add_zone(SAAS, "saas-host.net");
        cf.zone_mut(SAAS).fallback_origin = Some("fallback.saas-host.net".into());
        // The network's own domain: the apex record of the network zone.
        cf.seed_record(ZONE, "A", NETWORK, "192.0.2.1");
        Cloudflare(Emulator::spawn(cf, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (token, zone) = match creds {
            Creds::Good => (TOKEN, ZONE),
            Creds::Bad => (BAD_TOKEN, ZONE),
            Creds::WrongId => (TOKEN, "ffffffffffffffffffffffffffffffff"),
        };
        Some(Table::new(format!(
            "constants = {{ WU_CLOUDFLARE_API_KEY = \"{token}\", WU_CLOUDFLARE_ZONE_ID = \"{zone}\", WU_CLOUDFLARE_SAAS_ZONE_ID = \"{SAAS}\" }}\n\
             routes = {{ \"api.cloudflare.com\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// The SaaS zone's custom hostnames and the network zone's record names.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.zone(SAAS).hostnames.iter())
            .map(|h| h.hostname.clone())
            .chain(
                shared
                    .panel
                    .zone(ZONE)
                    .records
                    .iter()
                    .map(|r| r.name.clone()),
            )
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed_hostname(SAAS, name);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        let name = format!("site3.{NETWORK}");
        (self.0.lock().panel).seed_record(ZONE, "A", &name, "192.0.2.10");
        Ok(("remove-subdomain", name))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(NETWORK.into())
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", format!("/client/v4/zones/{SAAS}/custom_hostnames"))
    }

    fn delete_request(&self) -> (&'static str, String) {
        (
            "DELETE",
            format!("/client/v4/zones/{SAAS}/custom_hostnames/"),
        )
    }

    fn error_inside_200(&self) {
        let refusal = Response::json(
            200,
            &serde_json::json!({"success": false, "errors": [{"code": 1000, "message": "refused"}],
                "messages": [], "result": null}),
        );
        self.inject(Fault::respond(refusal, 1000));
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.into(), BAD_TOKEN.into()]
    }

    fn certify(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.activate(name, "2027-03-01T12:00:00Z");
        Ok(())
    }

    fn certificate_names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.zone(SAAS).hostnames.iter())
            .filter(|h| h.ssl_status != "deleted")
            .map(|h| h.hostname.clone())
            .collect();
        names.sort();
        names
    }

    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Err("each custom hostname has a certificate of its own")
    }

    fn break_dns(&self, _name: &str) -> Result<(), Skip> {
        Err(
            "each custom hostname is validated alone by Cloudflare; the emulator has no per-name DNS failure",
        )
    }
}
