// node run.mjs <transpiled-component.js> <operation> [domain] [site] [www]
// Prints {"ok": true, "outcome": {...}} or {"ok": false, "error": {...}} and the log.
const [modulePath, operation, domain, site, www] = process.argv.slice(2);
const component = await import(modulePath);
const { logLines } = await import("./host-imports.mjs");
const provider = component.provider;
const event = { domain: domain ?? "", siteId: BigInt(site ?? 0), www: www === "true", attempt: 1 };

const calls = {
  metadata: () => provider.metadata(),
  test: () => provider.testConnection(),
  "add-domain": () => provider.addDomain(event),
  "remove-domain": () => provider.removeDomain(event),
  "add-subdomain": () => provider.addSubdomain(event),
  "remove-subdomain": () => provider.removeSubdomain(event),
  "list-domains": () => provider.listDomains(),
  "request-certificate": () => provider.requestCertificate(event),
};
const call = calls[operation];
if (!call) {
  console.error(`unknown operation ${operation}`);
  process.exit(2);
}
const bigints = (_, v) => (typeof v === "bigint" ? Number(v) : v);
try {
  const outcome = call();
  console.log(JSON.stringify({ ok: true, outcome, log: logLines }, bigints));
} catch (e) {
  // jco throws a ComponentError whose payload is the provider-error variant.
  console.log(JSON.stringify({ ok: false, error: e.payload ?? String(e), log: logLines }, bigints));
  process.exitCode = 1;
}
