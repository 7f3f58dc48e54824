//! Liveness, readiness and metrics.

use crate::{Backend, SharedState};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use trust_sigstore::embedded::store::LogStore;
use utoipa::ToSchema;

/// Liveness.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves.
    pub status: &'static str,
}

/// Liveness: the process is serving.
#[utoipa::path(get, path = "/v1/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// One dependency's status.
#[derive(Serialize, ToSchema)]
pub struct Check {
    /// Whether it works.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// Readiness.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// Whether every dependency works.
    pub ready: bool,
    /// Each dependency: `store`, and `log`, `ca`, `tsa` (local mode) or `trust` and one
    /// `fulcio URL`, `rekor URL`, `tsa URL` per selected service (sigstore mode).
    pub checks: BTreeMap<String, Check>,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness of every dependency; 503 when one is not ready.
///
/// The store answers; in local mode the log has a readable signed checkpoint and the CA and TSA
/// certificates are valid now; in sigstore mode the trust material has not expired and every
/// selected Fulcio, Rekor and TSA answers within the check timeout.
#[utoipa::path(get, path = "/v1/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(State(state): State<SharedState>) -> impl IntoResponse {
    let mut checks = BTreeMap::new();
    let store = match tokio::time::timeout(CHECK_TIMEOUT, state.store.tree_size()).await {
        Ok(Ok(n)) => Check {
            ok: true,
            detail: format!("{} reachable, {n} log entries", state.store.target()),
        },
        Ok(Err(e)) => Check {
            ok: false,
            detail: e.to_string(),
        },
        Err(_) => Check {
            ok: false,
            detail: format!("no answer within {CHECK_TIMEOUT:?}"),
        },
    };
    checks.insert("store".to_owned(), store);
    match &state.backend {
        Backend::Local(local) => {
            let log = match tokio::time::timeout(CHECK_TIMEOUT, local.log().checkpoint()).await {
                Ok(Ok(cp)) => Check {
                    ok: true,
                    detail: format!("signed checkpoint at tree size {}", cp.tree_size),
                },
                Ok(Err(e)) => Check {
                    ok: false,
                    detail: e.to_string(),
                },
                Err(_) => Check {
                    ok: false,
                    detail: format!("no checkpoint within {CHECK_TIMEOUT:?}"),
                },
            };
            checks.insert("log".to_owned(), log);
            for (name, ok, detail) in local.authority_status(trust_sigstore::embedded::now()) {
                checks.insert(name.to_owned(), Check { ok, detail });
            }
        }
        Backend::Sigstore(signer) => {
            for s in signer.status(CHECK_TIMEOUT).await {
                let key = if s.url.is_empty() || s.name == "trust" {
                    s.name.to_owned()
                } else {
                    format!("{} {}", s.name, s.url)
                };
                let detail = if s.name == "trust" {
                    format!("{}: {}", s.url, s.detail)
                } else {
                    s.detail
                };
                checks.insert(key, Check { ok: s.ok, detail });
            }
        }
    }
    let ready = checks.values().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Readiness { ready, checks }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, body = String)))]
pub async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}
