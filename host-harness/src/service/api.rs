//! The HTTP API (axum). Every route but `/healthz` and `/metrics` needs
//! `Authorization: Bearer <token>`; every answer is JSON passed through redaction.

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
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
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

/// `Authorization: Bearer <token>`, compared in constant time (digests of both sides, so
/// neither the content nor the length of the token shows in the timing).
async fn authorize(state: Shared, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let ok = given.is_some_and(|t| super::same_token(&state.token_digest, t));
    if !ok {
        state.metrics.unauthorized.fetch_add(1, Ordering::Relaxed);
        let mut response = error(
            &state,
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
        return response;
    }
    next.run(request).await
}

async fn not_found(state: Shared) -> Response {
    error(&state, StatusCode::NOT_FOUND, "no such route")
}

async fn healthz(state: Shared) -> Response {
    match queue::counts(&state.store) {
        Ok(_) => json(&state, StatusCode::OK, &serde_json::json!({ "ok": true })),
        Err(e) => error(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database does not answer: {e:#}"),
        ),
    }
}

async fn metrics(state: Shared) -> Response {
    let events = queue::counts(&state.store).unwrap_or_default();
    let (outbox, _) = queue::outbox_pending(&state.store).unwrap_or((0, None));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(Body::from(state.metrics.render(&events, outbox)))
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
    match queue::accept(&state.store, &new, crate::lifecycle::database::now_ms()) {
        Ok(Accepted::New(id)) => {
            state.metrics.accepted.fetch_add(1, Ordering::Relaxed);
            state.wake_events.notify_one();
            json(
                &state,
                StatusCode::ACCEPTED,
                &serde_json::json!({ "id": id }),
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
    match queue::get(&state.store, id) {
        Ok(Some(view)) => json(&state, StatusCode::OK, &view),
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

/// `POST /v1/reconcile?apply=true&prune=true`, the body the `--wanted` list.
async fn post_reconcile(state: Shared, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let mut mode = reconcile::Mode::default();
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
            _ => {
                return error(
                    &state,
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {key:?}: apply, prune"),
                );
            }
        }
    }
    let text = String::from_utf8_lossy(&body);
    let wanted =
        match reconcile::parse_wanted(&text).and_then(|w| reconcile::check_wanted(&w).map(|_| w)) {
            Ok(w) => w,
            Err(e) => return error(&state, StatusCode::BAD_REQUEST, format!("{e:#}")),
        };
    let report = commands::reconcile_network(&state.network, &wanted, mode).await;
    state.wake_outbox.notify_one();
    json(&state, StatusCode::OK, &report)
}
