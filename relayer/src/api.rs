//! The HTTP API (axum).

use std::sync::Arc;

use alloy::primitives::B256;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::job::AttestationRequest;
use crate::metrics::Metrics;
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub token: Arc<String>,
    pub max_outputs: usize,
}

/// The routes, with the body size limit.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/attestations", post(create))
        .route("/v1/attestations/{id}", get(status))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

fn error(code: StatusCode, reason: impl std::fmt::Display) -> Response {
    (code, Json(json!({ "error": reason.to_string() }))).into_response()
}

/// Constant-time comparison of fixed-length digests, so response time leaks neither a prefix
/// of the token nor its length (comparing lengths first would).
fn same(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same(t.as_bytes(), token.as_bytes()))
}

async fn create(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &s.token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "missing or wrong bearer token" })),
        )
            .into_response();
    }
    let req: AttestationRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}")),
    };
    let job = match req.validate(s.max_outputs) {
        Ok(j) => j,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let id = job.id();
    let new = match s.store.enqueue(&job).await {
        Ok(new) => new,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    if new {
        s.metrics.accepted.inc();
    }
    match s.store.view(id).await {
        Ok(Some(v)) => {
            (StatusCode::ACCEPTED, Json(json!({ "id": id, "status": v.status, "duplicate": !new })))
                .into_response()
        }
        Ok(None) => error(StatusCode::INTERNAL_SERVER_ERROR, "job vanished after insert"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

async fn status(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<B256>() else {
        return error(StatusCode::BAD_REQUEST, "job id: expected 0x followed by 64 hex digits");
    };
    match s.store.view(id).await {
        Ok(Some(v)) => Json(v).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no job {id}")),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

async fn health(State(s): State<AppState>) -> Response {
    match s.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render(&s.store).await)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn token_comparison_is_exact_at_any_length() {
        assert!(same(b"cli-test-token-0123456789", b"cli-test-token-0123456789"));
        assert!(!same(b"cli-test-token-0123456789", b"cli-test-token-012345678"));
        assert!(!same(b"cli-test-token-0123456789", b"cli-test-token-0123456789x"));
        assert!(!same(b"", b"x"));
        assert!(same(b"", b""));
    }
}
