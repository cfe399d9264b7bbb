//! Cloudways: one list of aliases on the app (`www.` an alias of its own), written whole
//! under the host's token exchange; one Let's Encrypt certificate for the app, replaced
//! by each install with the names it is given.

use super::{Creds, NameCap, Panel, Skip, Table};
use panel_emulators::cloudways::{self as cw, App, Cloudways as Emu};
use panel_emulators::{Emulator, Fault, Request, Response};

const EMAIL: &str = "owner@network.example";
const API_KEY: &str = "cw-conformance-key-8e41c07d";
const BAD_KEY: &str = "cw-wrong-key-0000111";
const SERVER: u64 = 50482;
const APP: u64 = 1234;
const PRIMARY: &str = "network.example";
const TOKEN_EXCHANGE: &str = "/api/v1/oauth/access_token";
const ALIASES: &str = "/api/v1/app/manage/aliases";

pub struct Cloudways(Emulator<Emu>);

impl Cloudways {
    fn certificate(&self) -> Vec<String> {
        let shared = self.0.lock();
        shared
            .panel
            .app(SERVER, APP)
            .certificate
            .clone()
            .unwrap_or_default()
    }
}

impl Panel for Cloudways {
    const ID: &'static str = "cloudways";
    type Emulated = Emu;

    fn emulator(&self) -> &Emulator<Emu> {
        &self.0
    }

    fn start() -> Self {
        let emu = Emu::new(EMAIL, API_KEY, SERVER, APP, PRIMARY);
        Cloudways(Emulator::spawn(emu, 0).expect("emulator"))
    }

    fn table(&self, creds: Creds) -> Option<Table> {
        let (key, app) = match creds {
            Creds::Good => (API_KEY, APP),
            Creds::Bad => (BAD_KEY, APP),
            Creds::WrongId => (API_KEY, 999),
        };
        Some(Table::new(format!(
            "constants = {{ WU_CLOUDWAYS_EMAIL = \"{EMAIL}\", WU_CLOUDWAYS_API_KEY = \"{key}\", \
             WU_CLOUDWAYS_SERVER_ID = \"{SERVER}\", WU_CLOUDWAYS_APP_ID = \"{app}\" }}\n\
             routes = {{ \"api.cloudways.com\" = \"{}\" }}",
            self.0.base_url()
        )))
    }

    /// Every app's primary domain and aliases.
    fn names(&self) -> Vec<String> {
        let shared = self.0.lock();
        let mut names: Vec<String> = (shared.panel.servers.iter())
            .flat_map(|s| s.apps.iter())
            .flat_map(|a| std::iter::once(a.cname.clone()).chain(a.aliases.clone()))
            .collect();
        names.sort();
        names
    }

    fn plant(&self, name: &str) {
        (self.0.lock().panel.app_mut(SERVER, APP).aliases).push(name.into());
    }

    fn plant_customer(&self) -> Result<(&'static str, String), Skip> {
        // Another app's alias: this integration only ever writes its own app's list.
        let mut shared = self.0.lock();
        shared.panel.servers[0].apps.push(App {
            id: 5678,
            label: "customer".into(),
            cname: "customer-site.org".into(),
            aliases: vec![super::DOMAIN.into()],
            certificate: None,
        });
        Ok(("remove-domain", super::DOMAIN.into()))
    }

    fn primary(&self) -> Result<String, Skip> {
        Ok(PRIMARY.into())
    }

    /// The host's token exchange is a POST that changes nothing.
    fn is_write(&self, request: &Request) -> bool {
        request.method != "GET" && request.path != TOKEN_EXCHANGE
    }

    fn create_request(&self) -> (&'static str, String) {
        ("POST", ALIASES.into())
    }

    fn delete_request(&self) -> (&'static str, String) {
        ("POST", ALIASES.into())
    }

    /// Cloudways' `status: false` with HTTP 200, on the alias write.
    fn error_inside_200(&self) {
        let body = serde_json::json!({"status": false, "message": "An operation is already in progress on this application"});
        self.inject(Fault::respond(Response::json(200, &body), 1000).on("POST", ALIASES));
    }

    /// The keys, the session tokens and every password `GET /server` carries.
    fn secrets(&self) -> Vec<String> {
        vec![
            API_KEY.into(),
            BAD_KEY.into(),
            "cw-access-".into(),
            cw::master_password(SERVER),
            cw::app_password(APP),
            cw::sys_password(APP),
            cw::mysql_password(APP),
        ]
    }

    /// The app's certificate covers `name` (and the app's primary domain).
    fn certify(&self, name: &str) -> Result<(), Skip> {
        let mut shared = self.0.lock();
        let certificate = (shared.panel.app_mut(SERVER, APP).certificate)
            .get_or_insert_with(|| vec![PRIMARY.into()]);
        certificate.push(name.into());
        Ok(())
    }

    fn certificate_names(&self) -> Vec<String> {
        let mut names = self.certificate();
        names.sort();
        names
    }

    /// Let's Encrypt's 100 names: the app's certificate and every install's list.
    fn name_cap(&self) -> Result<NameCap<Self>, Skip> {
        Ok((100, |panel: &Self| {
            let installs: Vec<Vec<String>> = (panel.0.lock().panel.installs.iter())
                .map(|i| i.domains.clone())
                .collect();
            installs.into_iter().chain([panel.certificate()]).collect()
        }))
    }

    /// Let's Encrypt cannot validate `name`: the install operation fails.
    fn break_dns(&self, name: &str) -> Result<(), Skip> {
        self.0.lock().panel.failing.insert(name.into());
        Ok(())
    }
}
