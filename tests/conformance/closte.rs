//! Closte: the site's domain aliases, one list (`www.` an alias of its own) beside the
//! main domain; the API key goes in the form body and query; errors are `{success: false}`
//! inside HTTP 200.

use super::{Creds, Panel, Skip, Table};
use panel_emulators::closte::Closte as Emu;
use panel_emulators::{Emulator, Fault, Request, Response};

const KEY: &str = "closte-conformance-key-4b6d8f0a2c";
const BAD_KEY: &str = "closte-wrong-key-97531";
const MAIN: &str = "network.example";

pub struct Closte(Emulator<Emu>);

impl Panel for Closte {
    const ID: &'static str = "closte";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        Closte(Emulator::spawn(Emu::new(KEY, MAIN), 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let key = match creds {
            Creds::Good => KEY,
            Creds::Bad => BAD_KEY,
            // The key is the site's: the config names no site.
            Creds::WrongId => return None,
        };
        let mut table = Table::new(format!(
            "env = [\"CLOSTE_CLIENT_API_KEY\"]\nsecrets_in_query = true\nroutes = {{ \"app.closte.com\" = \"{}\" }}",
            self.0.base_url()
        ));
        table.env.push(("CLOSTE_CLIENT_API_KEY".into(), key.into()));
        Some(table)
    }

    /// The main domain and every alias.
    fn names(&self) -> Vec<String> {
        let mut names = self.0.lock().panel.names();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        self.0.lock().panel.seed(&[name]);
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        Err("the key is one site's and its aliases are one list: every alias on it is the site's")
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(MAIN.into())
    }

    /// Every call but `getdomains` is a POST; `gettaskstatus` only reads.
    fn is_write(&self, request: &Request) -> bool {
        request.method != "GET" && !request.path.ends_with("/gettaskstatus")
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", "/api/client/adddomainalias".into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", "/api/client/deletedomainalias".into())
    }

    /// Closte's own envelope: `{"success": false, "error"}` with HTTP 200.
    fn error_inside_200(&self) {
        let refusal =
            serde_json::json!({"success": false, "error": "Service temporarily unavailable"});
        self.inject(Fault::respond(Response::json(200, &refusal), 1000));
    }

    fn secrets(&self) -> Vec<String> {
        vec![KEY.into(), BAD_KEY.into()]
    }

    fn certify(&self, _name: &str) -> Result<(), Skip> {
        Err("Closte issues each alias's certificate by itself: there is no request to send")
    }
}
