// The contract's host imports for Node, plus a thin gate in front of wasi:http.
//
// Configuration comes from the JSON file named by DOMAIN_PROVIDER_CONFIG:
//   { "constants": {...}, "allowed_hosts": ["api.serverpilot.io"],
//     "routes": { "api.serverpilot.io": "http://127.0.0.1:18081" } }
//
// Unlike domain-host, this host hands secrets to the component through config.get (it
// cannot add headers: wasi:http locks a request's headers), and the component's SDK
// attaches them itself.
import { readFileSync } from "node:fs";
import { outgoingHandler as shimHandler } from "@bytecodealliance/preview2-shim/http";

const settings = JSON.parse(readFileSync(process.env.DOMAIN_PROVIDER_CONFIG, "utf8"));
const constants = settings.constants ?? {};
export const logLines = [];

export const config = {
  get(name) {
    const value = constants[name];
    return typeof value === "string" && value.trim() !== "" ? value : undefined;
  },
  isSet(name) {
    return config.get(name) !== undefined;
  },
  // This host hands secrets over, so a "placeholder" is the value itself, encoded as asked.
  secretPlaceholder(name, encoding) {
    const value = config.get(name);
    if (value === undefined) return undefined;
    if (encoding === "url") return encodeURIComponent(value).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
    if (encoding === "json") return JSON.stringify(value).slice(1, -1);
    return value;
  },
};

// One event per process here, so the journal is just this process's memory.
const entries = new Map();
export const journal = {
  remember(key, value) {
    if (entries.size < 64 || entries.has(key)) entries.set(key, value);
  },
  recall(key) {
    return entries.get(key);
  },
};

export const log = {
  log(level, message) {
    logLines.push({ level, message });
    if (process.env.DOMAIN_PROVIDER_LOG) console.error(`[${level}] ${message}`);
  },
};

function allowed(scheme, authority) {
  const https = scheme?.tag === "HTTPS";
  const [host, port] = authority.split(":");
  const effectivePort = port ? Number(port) : https ? 443 : 80;
  return https && effectivePort === 443 && (settings.allowed_hosts ?? []).includes(host.toLowerCase());
}

export const outgoingHandler = {
  handle(request, options) {
    const authority = request.authority() ?? "";
    if (!allowed(request.scheme(), authority)) {
      log.log("warn", `denied ${authority}`);
      throw { tag: "HTTP-request-denied" };
    }
    const route = settings.routes?.[authority.toLowerCase()];
    if (route) {
      const target = new URL(route);
      request.setScheme({ tag: target.protocol === "https:" ? "HTTPS" : "HTTP" });
      request.setAuthority(target.host);
    }
    return shimHandler.handle(request, options);
  },
};
