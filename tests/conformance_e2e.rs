//! The panel conformance suite (`tests/conformance/`): the invariants every panel keeps,
//! each proved against each panel's emulator. A test is named `<panel>::<invariant>`.

mod support;

#[macro_use]
mod conformance;

conformance!(serverpilot => conformance::serverpilot::ServerPilot);
conformance!(runcloud => conformance::runcloud::RunCloud);
conformance!(cloudflare => conformance::cloudflare::Cloudflare);
conformance!(gridpane => conformance::gridpane::GridPane);
conformance!(laravel_forge => conformance::laravel_forge::Forge);
conformance!(wpengine => conformance::wpengine::WpEngine);
conformance!(hostinger => conformance::hostinger::Hostinger);
conformance!(directadmin => conformance::directadmin::DirectAdmin);
