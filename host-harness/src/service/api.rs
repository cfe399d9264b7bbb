//! The HTTP API (axum). Every route but `/healthz` needs `Authorization: Bearer <token>`;
//! every answer is JSON passed through redaction.
//!
//! Two tokens: the event token (WordPress holds it) may post and read events, read
//! domains and integrations, ask a domain to be verified and run an integration's
//! read-only test, and run a reconcile dry run; the operator token may do all that and
//! what changes panels wholesale or re-drives work: reconcile with apply or prune, event
//! retry. `/metrics` takes the operator token or a metrics token.

use super::State;
use super::queue::{self, Accepted, NewEvent};
use crate::commands;
use crate::reconcile;
use crate::runtime::operation::Operation;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

type Shared = axum::extract::State<Arc<State>>;

pub fn router(state: Arc<State>) -> Router {
    let authed = Router::new()
        .route("/v1/events", post(post_event))
        .route("/v1/events/{id}", get(get_event))
        .route("/v1/domains", get(list_domains))
        .route("/v1/domains/{domain}", get(get_domain))
        .route("/v1/domains/{domain}/verify", post(verify_domain))
        .route("/v1/integrations", get(list_integrations))
        .route("/v1/integrations/{id}/test", post(test_integration))
        .route("/v1/reconcile", post(post_reconcile))
        .route("/v1/events/{id}/retry", post(retry_event))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    let scrape =
        Router::new()
            .route("/metrics", get(metrics))
            .route_layer(middleware::from_fn_with_state(
                state.clone(),
                authorize_metrics,
            ));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(scrape)
        .merge(authed)
        .fallback(not_found)
        .with_state(state)
}

/// A JSON answer, redacted like everything the host prints.
fn json<T: serde::Serialize>(state: &State, status: StatusCode, value: &T) -> Response {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
    let text = state.secrets.redact(&text);
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(text))
        .unwrap_or_default()
}

fn error(state: &State, status: StatusCode, message: impl std::fmt::Display) -> Response {
    json(
        state,
        status,
        &serde_json::json!({ "error": message.to_string() }),
    )
}

/// Who called: the holder of the event token, or the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Event,
    Operator,
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Each configured token is compared in constant time (digests of both sides, so neither
/// the content nor the length of a token shows in the timing), all of them every time.
fn matches(digest: Option<&[u8; 32]>, given: &str) -> bool {
    digest.is_some_and(|d| super::same_token(d, given))
}

fn unauthorized(state: &State, given: Option<&str>) -> Response {
    state.metrics.unauthorized.fetch_add(1, Ordering::Relaxed);
    let mut response = error(
        state,
        StatusCode::UNAUTHORIZED,
        if given.is_none() {
            "missing bearer token: send Authorization: Bearer <token>"
        } else {
            "wrong bearer token"
        },
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// The answer to the event token on an operator's call.
fn operator_only(state: &State, what: &str) -> Response {
    state.metrics.unauthorized.fetch_add(1, Ordering::Relaxed);
    error(
        state,
        StatusCode::FORBIDDEN,
        if state.operator_digest.is_some() {
            format!("{what} needs the operator token, not the event token")
        } else {
            format!(
                "{what} needs the operator token, and none is configured: set [service] operator_token_env"
            )
        },
    )
}

/// `Authorization: Bearer <event or operator token>`; the role goes to the handler.
async fn authorize(state: Shared, mut request: Request, next: Next) -> Response {
    let given = bearer(&request);
    let event = given.is_some_and(|t| super::same_token(&state.token_digest, t));
    let operator = given.is_some_and(|t| matches(state.operator_digest.as_ref(), t));
    let role = match (operator, event) {
        (true, _) => Role::Operator,
        (false, true) => Role::Event,
        (false, false) => return unauthorized(&state, given),
    };
    request.extensions_mut().insert(role);
    next.run(request).await
}

/// `/metrics`: the operator token or the metrics token (never the event token).
async fn authorize_metrics(state: Shared, request: Request, next: Next) -> Response {
    let given = bearer(&request);
    let operator = given.is_some_and(|t| matches(state.operator_digest.as_ref(), t));
    let scraper = given.is_some_and(|t| matches(state.metrics_digest.as_ref(), t));
    if operator || scraper {
        return next.run(request).await;
    }
    if given.is_some_and(|t| super::same_token(&state.token_digest, t)) {
        return operator_only(&state, "/metrics (or a [service] metrics_token)");
    }
    unauthorized(&state, given)
}

async fn not_found(state: Shared) -> Response {
    error(&state, StatusCode::NOT_FOUND, "no such route")
}

/// Runs a database call on the blocking pool: the store's one connection is behind a
/// mutex, and an async worker never waits on it.
async fn blocking<T: Send + 'static>(
    state: &State,
    f: impl FnOnce(&crate::lifecycle::database::Database) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| anyhow::anyhow!("the database call stopped: {e}"))?
}

/// `{"ok", "instance", "store"}`: 200 when the database answers, else 503 with why (a
/// load balancer then sends WordPress to another instance).
async fn healthz(state: Shared) -> Response {
    let ping = blocking(&state, |s| s.ping()).await;
    let (status, ok, error) = match ping {
        Ok(()) => (StatusCode::OK, true, None),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            false,
            Some(format!("the database does not answer: {e:#}")),
        ),
    };
    let mut body = serde_json::json!({
        "ok": ok,
        "instance": state.instance,
        "store": state.store.kind(),
    });
    if let Some(error) = error {
        body["error"] = error.into();
    }
    json(&state, status, &body)
}

async fn metrics(state: Shared) -> Response {
    let counts = blocking(&state, |s| {
        Ok((
            queue::counts(s)?,
            queue::outbox_pending(s)?.0,
            queue::outbox_dead(s)?,
        ))
    })
    .await
    .unwrap_or_default();
    let (events, outbox, dead) = counts;
    let mut text = state.metrics.render(&events, outbox, dead);
    // Several instances share a store: each sample says which one served it. One SQLite
    // instance keeps the unlabelled samples it always had.
    if state.store.mysql().is_some() {
        text = super::metrics::label_instance(&text, &state.instance);
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(Body::from(text))
        .unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    event: String,
    domain: String,
    /// A number, or its digits in a string (as PHP often holds ids), as `--site` reads it.
    site_id: serde_json::Value,
    /// For `remove-domain`: `www.<domain>` is mapped as a domain of its own, so it stays
    /// (as `--www-mapped`).
    #[serde(default)]
    www_mapped: bool,
}

fn site_id(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

const EVENTS: [&str; 4] = [
    "add-domain",
    "remove-domain",
    "add-subdomain",
    "remove-subdomain",
];

/// `POST /v1/events`: validated as on the command line; `202 {"id"}` once committed.
async fn post_event(state: Shared, headers: HeaderMap, body: Bytes) -> Response {
    let refuse = |message: String| {
        state.metrics.refused.fetch_add(1, Ordering::Relaxed);
        error(&state, StatusCode::BAD_REQUEST, message)
    };
    let body: EventBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return refuse(format!(
                "the body must be JSON {{\"event\": \"add-domain\", \"domain\": \"shop.example.com\", \"site_id\": 3}}: {e}"
            ));
        }
    };
    let Some(site) = site_id(&body.site_id) else {
        return refuse(format!(
            "site_id must be a site's number (0 or more), not {}",
            body.site_id
        ));
    };
    if !EVENTS.contains(&body.event.as_str()) {
        return refuse(format!(
            "unknown event {:?}: one of {}",
            body.event,
            EVENTS.join(", ")
        ));
    }
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.trim().is_empty() && k.len() <= 255 => Some(k.trim().to_string()),
            _ => {
                return refuse(
                    "Idempotency-Key must be 1 to 255 visible ASCII characters".to_string(),
                );
            }
        },
    };
    let event = match commands::domain_event(&state.network.config, &body.domain, site)
        .and_then(|e| commands::check_wildcards(&e, &state.network.integrations).map(|_| e))
    {
        Ok(e) => e,
        Err(e) => return refuse(format!("{e:#}")),
    };
    let new = NewEvent {
        kind: body.event,
        domain: event.domain,
        site,
        idempotency_key: key,
        www_mapped: body.www_mapped,
    };
    let ttl = state.service.idempotency_ttl.as_millis() as i64;
    let accepted = match &state.acceptor {
        Some(acceptor) => acceptor.accept(new).await,
        None => {
            blocking(&state, move |s| {
                queue::accept(s, &new, crate::lifecycle::database::now_ms(), ttl)
            })
            .await
        }
    };
    match accepted {
        Ok(Accepted::New(id)) => {
            state.metrics.accepted.fetch_add(1, Ordering::Relaxed);
            state.wake_events.notify_one();
            json(
                &state,
                StatusCode::ACCEPTED,
                &serde_json::json!({ "id": id }),
            )
        }
        // The same event under its key failed for good: stored anew (never a false
        // success), the answer naming the failed one.
        Ok(Accepted::Again { id, failed }) => {
            state.metrics.accepted.fetch_add(1, Ordering::Relaxed);
            state.wake_events.notify_one();
            json(
                &state,
                StatusCode::ACCEPTED,
                &serde_json::json!({ "id": id, "replaces_failed": failed }),
            )
        }
        Ok(Accepted::Repeat(id)) => {
            state.metrics.repeated.fetch_add(1, Ordering::Relaxed);
            json(&state, StatusCode::OK, &serde_json::json!({ "id": id }))
        }
        Ok(Accepted::Conflict(id)) => error(
            &state,
            StatusCode::CONFLICT,
            format!("this Idempotency-Key was used for a different event (id {id})"),
        ),
        Err(e) => error(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the event could not be stored: {e:#}"),
        ),
    }
}

async fn get_event(state: Shared, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error(&state, StatusCode::BAD_REQUEST, "an event id is a number");
    };
    match blocking(&state, move |s| queue::get(s, id)).await {
        Ok(Some(view)) => json(&state, StatusCode::OK, &view),
        Ok(None) => error(&state, StatusCode::NOT_FOUND, format!("no event {id}")),
        Err(e) => error(&state, StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}

/// `POST /v1/events/{id}/retry` (operator): a `failed` event queued again.
async fn retry_event(
    state: Shared,
    axum::Extension(role): axum::Extension<Role>,
    Path(id): Path<String>,
) -> Response {
    if role != Role::Operator {
        return operator_only(&state, "retrying an event");
    }
    let Ok(id) = id.parse::<i64>() else {
        return error(&state, StatusCode::BAD_REQUEST, "an event id is a number");
    };
    let now = crate::lifecycle::database::now_ms();
    match blocking(&state, move |s| queue::retry(s, id, now)).await {
        Ok(Some(previous)) if previous == "failed" => {
            state.say(&format!("event {id}: queued again by the operator"));
            state.wake_events.notify_one();
            json(
                &state,
                StatusCode::OK,
                &serde_json::json!({ "id": id, "state": "queued" }),
            )
        }
        Ok(Some(previous)) => error(
            &state,
            StatusCode::CONFLICT,
            format!("event {id} is {previous}: only a failed event can be retried"),
        ),
        Ok(None) => error(&state, StatusCode::NOT_FOUND, format!("no event {id}")),
        Err(e) => error(&state, StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}

/// Lifecycle errors as answers: no `[lifecycle]` 409, a bad name 400, no record 404.
fn lifecycle_error(state: &State, e: anyhow::Error) -> Response {
    let message = format!("{e:#}");
    let status = if state.network.lifecycle.is_none() {
        StatusCode::CONFLICT
    } else if message.starts_with("invalid domain") {
        StatusCode::BAD_REQUEST
    } else if message.starts_with("no record of") {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error(state, status, message)
}

async fn list_domains(state: Shared) -> Response {
    match commands::statuses(&state.network, None) {
        Ok(list) => json(&state, StatusCode::OK, &list),
        Err(e) => lifecycle_error(&state, e),
    }
}

async fn get_domain(state: Shared, Path(domain): Path<String>) -> Response {
    match commands::statuses(&state.network, Some(&domain)) {
        Ok(mut list) => json(&state, StatusCode::OK, &list.remove(0)),
        Err(e) => lifecycle_error(&state, e),
    }
}

async fn verify_domain(state: Shared, Path(domain): Path<String>) -> Response {
    let result = commands::verify_now(&state.network, &domain).await;
    state.wake_outbox.notify_one();
    match result {
        Ok(status) => json(&state, StatusCode::OK, &status),
        Err(e) => lifecycle_error(&state, e),
    }
}

async fn list_integrations(state: Shared) -> Response {
    json(
        &state,
        StatusCode::OK,
        &commands::integration_list(&state.network),
    )
}

async fn test_integration(state: Shared, Path(id): Path<String>) -> Response {
    let known = state.network.integrations.iter().any(|i| i.id == id)
        || state.network.failed.iter().any(|f| f.id == id);
    if !known {
        return error(
            &state,
            StatusCode::NOT_FOUND,
            format!("no enabled integration {id:?}"),
        );
    }
    let report = state
        .network
        .event_from(&Operation::TestConnection, None, Some(&id))
        .await;
    json(&state, StatusCode::OK, &report)
}

/// `POST /v1/reconcile?apply=true&prune=true&force=true`, the body the `--wanted` list. A
/// dry run takes either token; apply or prune the operator's.
async fn post_reconcile(
    state: Shared,
    axum::Extension(role): axum::Extension<Role>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut mode = reconcile::Mode {
        max_share: state.service.prune_max_share,
        ..Default::default()
    };
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
        let on = match value {
            "true" | "1" | "" => true,
            "false" | "0" => false,
            _ => {
                return error(
                    &state,
                    StatusCode::BAD_REQUEST,
                    format!("{key}={value}: use true or false"),
                );
            }
        };
        match key {
            "apply" => mode.apply = on,
            "prune" => mode.prune = on,
            "force" => mode.force = on,
            _ => {
                return error(
                    &state,
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {key:?}: apply, prune, force"),
                );
            }
        }
    }
    if (mode.apply || mode.prune) && role != Role::Operator {
        return operator_only(&state, "reconcile with apply or prune");
    }
    let text = String::from_utf8_lossy(&body);
    let wanted =
        match reconcile::parse_wanted(&text).and_then(|w| reconcile::check_wanted(&w).map(|_| w)) {
            Ok(w) => w,
            Err(e) => return error(&state, StatusCode::BAD_REQUEST, format!("{e:#}")),
        };
    if let Err(e) = reconcile::check_prune(&wanted, mode) {
        return error(&state, StatusCode::CONFLICT, format!("{e:#}"));
    }
    let report = commands::reconcile_network(&state.network, &wanted, mode).await;
    state.wake_outbox.notify_one();
    // A prune held back by prune_max_share: 409, with what was found and done.
    let held: Vec<String> = report
        .integrations
        .iter()
        .filter_map(|i| i.prune_refused.clone().map(|r| format!("{}: {r}", i.id)))
        .collect();
    if !held.is_empty() {
        return json(
            &state,
            StatusCode::CONFLICT,
            &serde_json::json!({ "error": held.join("; "), "report": report }),
        );
    }
    json(&state, StatusCode::OK, &report)
}
