//! The HTTP layer every Sigstore client uses: hyper 1 (HTTP/1.1) over rustls with the aws-lc-rs
//! provider, per-endpoint timeouts, CA pinning, body limits and bounded, jittered retries.
//!
//! - `https://` is verified against the Mozilla (webpki) roots, or only against
//!   [`EndpointConfig::ca_bundle`] when one is set (pinning: the bundle *replaces* the defaults).
//!   `http://` is allowed for private and loopback deployments.
//! - [`EndpointConfig::timeout`] bounds one whole attempt, response body included;
//!   [`EndpointConfig::total_timeout`] bounds all attempts and waits together.
//! - Retries ([`EndpointConfig::max_retries`]) happen only on 5xx, on 429 (honouring a
//!   `Retry-After` in seconds, capped by [`EndpointConfig::max_retry_after`]) and on transport
//!   failures: connection failures always (the request never reached the server), timeouts and
//!   broken connections only when the request is [`Idempotency::Safe`]. Other 4xx are final.
//! - Every failure is a [`ClientError`] that names the [`Service`] and the URL.

use super::error::ClientError;
use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The Sigstore service an endpoint belongs to (named in every error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// The certificate authority (Fulcio).
    Fulcio,
    /// The transparency log (Rekor).
    Rekor,
    /// An RFC 3161 timestamp authority.
    Tsa,
    /// A TUF repository serving the trust material.
    Tuf,
    /// An OpenID Connect provider.
    Oidc,
}

impl Service {
    /// Lower-case name, as in error codes and problem documents (`fulcio`, `rekor`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Service::Fulcio => "fulcio",
            Service::Rekor => "rekor",
            Service::Tsa => "tsa",
            Service::Tuf => "tuf",
            Service::Oidc => "oidc",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Fulcio => "Fulcio",
            Service::Rekor => "Rekor",
            Service::Tsa => "TSA",
            Service::Tuf => "TUF",
            Service::Oidc => "OIDC",
        })
    }
}

/// How one endpoint is reached.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// Bound on one attempt: connect, request, response headers and the whole body.
    pub timeout: Duration,
    /// Bound on establishing the TCP connection (part of `timeout`).
    pub connect_timeout: Duration,
    /// Bound on all attempts and retry waits together.
    pub total_timeout: Duration,
    /// Retries after the first attempt (0 = no retry).
    pub max_retries: u32,
    /// First backoff delay; doubled per retry, jittered to 50-100 %, capped at 8x.
    pub initial_backoff: Duration,
    /// Longest `Retry-After` wait honoured; a longer one is capped to this.
    pub max_retry_after: Duration,
    /// PEM certificates that replace the default web roots for this endpoint (pinning).
    pub ca_bundle: Option<String>,
    /// Largest response body accepted, in bytes.
    pub max_body: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(60),
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_retry_after: Duration::from_secs(10),
            ca_bundle: None,
            max_body: 8 * 1024 * 1024,
        }
    }
}

/// Whether repeating a request after an ambiguous failure (timeout or a connection broken after
/// the request was sent) is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating is harmless (GET; Fulcio and TSA POSTs; Rekor POSTs, whose duplicates are 409).
    Safe,
    /// Only retried when the request certainly never reached the server.
    Unsafe,
}

/// A response whose whole body has been read.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// A header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An HTTP client for one service's endpoints, cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct HttpClient {
    service: Service,
    config: Arc<EndpointConfig>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("service", &self.service)
            .field("config", &self.config)
            .finish()
    }
}

/// The outcome of one attempt, before retry policy.
enum Attempt {
    Done(Response),
    Failed { error: ClientError, retry: bool },
}

impl HttpClient {
    /// A client for `service` with `config`. Fails (`client.config`) on an unusable CA bundle.
    pub fn new(service: Service, config: EndpointConfig) -> Result<HttpClient, ClientError> {
        let cfg_err = |detail: String| ClientError::Config { service, detail };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = match &config.ca_bundle {
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let cert = cert.map_err(|e| cfg_err(format!("CA bundle: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| cfg_err(format!("CA bundle certificate: {e}")))?;
                }
                if roots.is_empty() {
                    return Err(cfg_err("CA bundle holds no certificate".into()));
                }
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| cfg_err(format!("TLS: {e}")))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
            }
            None => hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(provider)
                .map_err(|e| cfg_err(format!("TLS: {e}")))?,
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_nodelay(true);
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HttpClient {
            service,
            config: Arc::new(config),
            client,
        })
    }

    /// The service this client talks to.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Its endpoint configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// `GET url`, with retries; a non-2xx final status is [`ClientError::Status`].
    pub async fn get(&self, url: &str, accept: &str) -> Result<Response, ClientError> {
        let resp = self
            .execute(
                Method::GET,
                url,
                &[(header::ACCEPT, accept)],
                Bytes::new(),
                Idempotency::Safe,
            )
            .await?;
        self.ensure_success(url, resp)
    }

    /// `POST url` with `body` of `content_type`, with retries; a non-2xx final status is
    /// [`ClientError::Status`].
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        accept: &str,
        body: impl Into<Bytes>,
        idempotency: Idempotency,
    ) -> Result<Response, ClientError> {
        let headers = [(header::CONTENT_TYPE, content_type), (header::ACCEPT, accept)];
        let resp = self
            .execute(Method::POST, url, &headers, body.into(), idempotency)
            .await?;
        self.ensure_success(url, resp)
    }

    /// `GET url` and parse the JSON body.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, ClientError> {
        let resp = self.get(url, "application/json").await?;
        self.decode_json(url, &resp.body)
    }

    /// `POST url` with a JSON body and parse the JSON response.
    pub async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        body: &serde_json::Value,
        idempotency: Idempotency,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| self.decode(url, format!("request JSON: {e}")))?;
        let resp = self
            .post(url, "application/json", "application/json", body, idempotency)
            .await?;
        self.decode_json(url, &resp.body)
    }

    /// Parses `body` as JSON, mapping failures to [`ClientError::Decode`].
    pub fn decode_json<T: serde::de::DeserializeOwned>(&self, url: &str, body: &[u8]) -> Result<T, ClientError> {
        serde_json::from_slice(body).map_err(|e| self.decode(url, format!("response JSON: {e}")))
    }

    /// A [`ClientError::Decode`] for this service.
    pub fn decode(&self, url: &str, detail: impl Into<String>) -> ClientError {
        ClientError::Decode {
            service: self.service,
            url: url.to_string(),
            detail: detail.into(),
        }
    }

    /// Turns a non-2xx response into [`ClientError::Status`].
    pub fn ensure_success(&self, url: &str, resp: Response) -> Result<Response, ClientError> {
        if resp.status.is_success() {
            Ok(resp)
        } else {
            Err(self.status_error(url, &resp))
        }
    }

    fn status_error(&self, url: &str, resp: &Response) -> ClientError {
        ClientError::Status {
            service: self.service,
            url: url.to_string(),
            code: resp.status.as_u16(),
            message: excerpt(&resp.body),
        }
    }

    /// Sends a request with the retry policy and returns the final response, whatever its status
    /// (5xx and 429 are retried while attempts and time remain, then returned as they are).
    pub async fn execute(
        &self,
        method: Method,
        url: &str,
        headers: &[(header::HeaderName, &str)],
        body: Bytes,
        idempotency: Idempotency,
    ) -> Result<Response, ClientError> {
        let uri: http::Uri = url.parse().map_err(|e| ClientError::Config {
            service: self.service,
            detail: format!("invalid URL {url:?}: {e}"),
        })?;
        match uri.scheme_str() {
            Some("http") | Some("https") => {}
            _ => {
                return Err(ClientError::Config {
                    service: self.service,
                    detail: format!("URL {url:?} is not http:// or https://"),
                })
            }
        }
        let cfg = &*self.config;
        let deadline = Instant::now() + cfg.total_timeout;
        let mut attempt = 0u32;
        loop {
            let mut req = Request::builder().method(method.clone()).uri(uri.clone());
            for (name, value) in headers {
                let value = HeaderValue::from_str(value).map_err(|e| ClientError::Config {
                    service: self.service,
                    detail: format!("header {name}: {e}"),
                })?;
                req = req.header(name, value);
            }
            let req = req.body(Full::new(body.clone())).map_err(|e| ClientError::Config {
                service: self.service,
                detail: format!("request: {e}"),
            })?;
            let now = Instant::now();
            let budget = cfg.timeout.min(deadline.saturating_duration_since(now));
            let outcome = match tokio::time::timeout(budget, self.attempt(url, req, idempotency)).await {
                Ok(outcome) => outcome,
                Err(_) => Attempt::Failed {
                    error: ClientError::Timeout {
                        service: self.service,
                        url: url.to_string(),
                        after: now.elapsed(),
                    },
                    retry: idempotency == Idempotency::Safe,
                },
            };
            let (wait, last) = match outcome {
                Attempt::Done(resp) => {
                    let status = resp.status;
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        return Ok(resp);
                    }
                    let retry_after = resp
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(cfg.max_retry_after));
                    (
                        retry_after.unwrap_or_else(|| backoff(cfg.initial_backoff, attempt)),
                        Ok(resp),
                    )
                }
                Attempt::Failed { error, retry: false } => return Err(error),
                Attempt::Failed { error, retry: true } => (backoff(cfg.initial_backoff, attempt), Err(error)),
            };
            if attempt >= cfg.max_retries || Instant::now() + wait >= deadline {
                return last;
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, url: &str, req: Request<Full<Bytes>>, idempotency: Idempotency) -> Attempt {
        let resp = match self.client.request(req).await {
            Ok(r) => r,
            Err(e) => {
                let detail = error_chain(&e);
                return if e.is_connect() {
                    Attempt::Failed {
                        error: ClientError::Connect {
                            service: self.service,
                            url: url.to_string(),
                            detail,
                        },
                        retry: true,
                    }
                } else {
                    Attempt::Failed {
                        error: ClientError::Transport {
                            service: self.service,
                            url: url.to_string(),
                            detail,
                        },
                        retry: idempotency == Idempotency::Safe,
                    }
                };
            }
        };
        let (parts, body) = resp.into_parts();
        let limit = self.config.max_body;
        match Limited::new(body, limit).collect().await {
            Ok(b) => Attempt::Done(Response {
                status: parts.status,
                headers: parts.headers,
                body: b.to_bytes(),
            }),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Attempt::Failed {
                error: ClientError::BodyTooLarge {
                    service: self.service,
                    url: url.to_string(),
                    limit,
                },
                retry: false,
            },
            Err(e) => Attempt::Failed {
                error: ClientError::Transport {
                    service: self.service,
                    url: url.to_string(),
                    detail: format!("reading the response body: {e}"),
                },
                retry: idempotency == Idempotency::Safe,
            },
        }
    }
}

/// `initial * 2^attempt` (capped at 8x), jittered uniformly into its upper half.
fn backoff(initial: Duration, attempt: u32) -> Duration {
    let full = initial.saturating_mul(1 << attempt.min(3));
    let mut r = [0u8; 2];
    let frac = if aws_lc_rs::rand::fill(&mut r).is_ok() {
        f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX)
    } else {
        1.0
    };
    full / 2 + full.mul_f64(0.5 * frac)
}

/// The error and its sources, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// The first 200 characters of a body, printable only, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    let mut out: String = joined.chars().take(200).collect();
    if joined.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
