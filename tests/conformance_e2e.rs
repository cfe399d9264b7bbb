//! The panel conformance suite (`tests/conformance/`): the invariants every panel keeps,
//! each proved against each panel's emulator. A test is named `<panel>::<invariant>`.

mod support;

#[macro_use]
mod conformance;

conformance!(serverpilot => ServerPilot);
conformance!(runcloud => RunCloud);
conformance!(cloudflare => Cloudflare);
conformance!(gridpane => GridPane);
conformance!(laravel_forge => Forge);
conformance!(wpengine => WpEngine);
conformance!(hostinger => Hostinger);
conformance!(directadmin => DirectAdmin);
conformance!(cyberpanel => CyberPanel);
conformance!(hestia => Hestia);
conformance!(cloudways => Cloudways);
conformance!(enhance => Enhance);
conformance!(cpanel => CPanel);
conformance!(plesk => Plesk);
conformance!(bunnynet => BunnyNet);
conformance!(rocket => Rocket);
conformance!(closte => Closte);
conformance!(wpmudev => WpmuDev);
conformance!(bigscoots => BigScoots);
