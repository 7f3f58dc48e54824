//! trust-api: certus-trust's REST surface on axum (hyper 1).
//!
//! [`router`] builds every route of `docs/design.md` over an [`AppState`]; the server binary
//! only loads its configuration, opens the store and the local services, and calls [`serve`].
//! Errors are problem documents ([`error::ApiError`]); every request carries an `X-Request-ID`
//! (read when well-formed, minted otherwise, echoed, and on every log line); bodies are limited;
//! metrics and the OpenAPI document are served.

#![forbid(unsafe_code)]

mod backend;
pub mod error;
pub mod metrics;
pub mod openapi;
mod recorder;
pub mod routes;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use error::ApiError;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tracing::Instrument;
use trust_core::verifier::Verifier;
use trust_policy::PolicySet;
use trust_store::Store;

pub use backend::Backend;
pub use recorder::Recorder;

/// The request-ID header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request-level settings.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Longest a request may take before it is answered with 503.
    pub request_timeout: Duration,
    /// Whether signings get an RFC 3161 timestamp from the embedded TSA.
    pub timestamp_signatures: bool,
    /// The inner signer the upload gateway expects when a request names none.
    pub default_inner_signer: Option<(String, String)>,
    /// How long an upload permission stays valid.
    pub permission_ttl: Duration,
    /// The named policy (in the policy file) the upload gateway applies to the inner signer when
    /// a request names neither an expected signer nor a policy.
    pub default_inner_policy: Option<String>,
    /// The OIDC issuers trusted by the Fulcio-protocol endpoint (`None`: no token is accepted).
    pub oidc: Option<Arc<trust_sigstore::oidc::OidcVerifier>>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            timestamp_signatures: true,
            default_inner_signer: None,
            permission_ttl: Duration::from_secs(3600),
            default_inner_policy: None,
            oidc: None,
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    /// Where signings go: the embedded services or Fulcio/Rekor/TSA.
    pub backend: Backend,
    /// The store (records, permissions, audit).
    pub store: Arc<Store>,
    /// The verifier over the server's trusted root (its own keys or the TUF-distributed root,
    /// plus any configured roots); replaced whole when the trusted root is refreshed.
    verifier: RwLock<Arc<Verifier>>,
    /// Batched writer of verification records.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: metrics::Metrics,
    /// Request-level settings.
    pub config: ApiConfig,
    /// The signer policies (from `policy_file`), swapped whole on reload.
    policies: RwLock<Option<Arc<PolicySet>>>,
}

/// Shared state handle.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// Builds the state; starts the verification-record writer (needs a tokio runtime).
    pub fn new(
        backend: Backend,
        store: Arc<Store>,
        verifier: Verifier,
        config: ApiConfig,
        policies: Option<PolicySet>,
    ) -> SharedState {
        Arc::new(Self {
            backend,
            recorder: Recorder::start(store.clone()),
            store,
            verifier: RwLock::new(Arc::new(verifier)),
            metrics: metrics::Metrics::default(),
            config,
            policies: RwLock::new(policies.map(Arc::new)),
        })
    }

    /// The current verifier.
    pub fn verifier(&self) -> Arc<Verifier> {
        match self.verifier.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the verifier (a refreshed trusted root); verifications in flight finish with
    /// the previous one.
    pub fn set_verifier(&self, verifier: Verifier) {
        let v = Arc::new(verifier);
        match self.verifier.write() {
            Ok(mut g) => *g = v,
            Err(poisoned) => *poisoned.into_inner() = v,
        }
    }

    /// The current policy set, if a policy file is configured.
    pub fn policies(&self) -> Option<Arc<PolicySet>> {
        match self.policies.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the policy set (a reload). Requests in flight keep the set they started with.
    pub fn set_policies(&self, set: PolicySet) {
        let set = Some(Arc::new(set));
        match self.policies.write() {
            Ok(mut g) => *g = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }
}

/// The request id of the current request (set by the middleware).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

/// A random (version 4) UUID, for request and permission ids.
pub(crate) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        // The system RNG failing leaves bigger problems; ids stay unique per process anyway.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        b[..8].copy_from_slice(&COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_be_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Request id, tracing span, timeout and metrics around every request.
async fn around(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(valid_request_id)
        .unwrap_or_else(uuid_v4);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let mut response =
        match tokio::time::timeout(state.config.request_timeout, next.run(req).instrument(span.clone())).await {
            Ok(r) => r,
            Err(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "request.timeout",
                format!("the request took longer than {:?}", state.config.request_timeout),
            )
            .into_response(),
        };
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.request(&method, &route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, route = %route, "request finished");
    });
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("route.not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "route.method_not_allowed",
        "method not allowed on this route",
    )
}

/// Every route, with the middleware.
pub fn router(state: SharedState) -> Router {
    let limit = state.config.body_limit;
    routes::routes()
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), around))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then finishes in-flight
/// requests (graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
