//! WPMU DEV Hosting: the hosted site's domains, one list (`www.` a name of its own; the
//! first, the site's primary). Its API has no removal (`DELETE` is no route): remove-domain
//! writes nothing and names what to remove by hand in the Hub. So the cases that need a
//! deletion skip, and those proving nothing is deleted (the primary, an absent name) run:
//! they prove the component sends no write on a remove.

use super::{Creds, Panel, Skip, Table};
use panel_emulators::Emulator;
use panel_emulators::wpmudev::WpmuDev as Emu;

const KEY: &str = "wpmudev-conformance-key-2e4a6c8b0d";
const BAD_KEY: &str = "wpmudev-wrong-key-86420";
const SITE: &str = "31337";
const PRIMARY: &str = "network.example";

pub struct WpmuDev(Emulator<Emu>);

impl Panel for WpmuDev {
    const ID: &'static str = "wpmudev";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }
    /// WPMU DEV's hosting defines the site id constant itself.
    const ID_CONSTANT: &'static str = "WPMUDEV_HOSTING_SITE_ID";

    fn start() -> Self {
        WpmuDev(Emulator::spawn(Emu::new(KEY, SITE, PRIMARY), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (key, site) = match creds {
            Creds::Good => (KEY, SITE),
            Creds::Bad => (BAD_KEY, SITE),
            Creds::WrongId => (KEY, "99999"),
        };
        let mut table = Table::new(format!(
            "constants = {{ WPMUDEV_HOSTING_SITE_ID = \"{site}\" }}\n\
             env = [\"WU_WPMUDEV_API_KEY\"]\n\
             routes = {{ \"premium.wpmudev.org\" = \"{}\" }}",
            self.0.base_url()
        ));
        table.env.push(("WU_WPMUDEV_API_KEY".into(), key.into()));
        Some(table)
    }

    fn names(&self) -> Vec<String> {
        let mut names = self.0.lock().panel.domains.clone();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.domains.push(name.into());
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        Err("the site's domains are one list without owner: every name on it is the site's")
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(PRIMARY.into())
    }

    fn removes(&self) -> Result<(), Skip> {
        Err("WPMU DEV's hosting API has no removal: remove-domain names what to remove by hand")
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", format!("/api/hosting/v1/{SITE}/domains"))
    }

    /// Never sent (see [`Panel::removes`]); the route a removal would take.
    fn delete_request(&self) -> (&'static str, String) {
        ("DELETE", format!("/api/hosting/v1/{SITE}/domains"))
    }

    fn secrets(&self) -> Vec<String> {
        vec![KEY.into(), BAD_KEY.into()]
    }

    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Err("WPMU DEV issues each domain's certificate by itself: there is no request to send")
    }
}
