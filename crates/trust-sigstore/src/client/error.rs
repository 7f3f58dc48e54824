//! [`ClientError`]: every failure of a Sigstore client, naming the service and the URL.

use super::http::Service;
use std::time::Duration;

/// A Sigstore client failure. [`ClientError::is_unavailable`] separates "the service could not
/// be used right now" (map to 503) from a refused request or a response that failed verification.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// An attempt did not complete within its time bound.
    #[error("{service} at {url}: timed out after {after:?}")]
    Timeout {
        /// The service.
        service: Service,
        /// The URL requested.
        url: String,
        /// How long the last attempt ran.
        after: Duration,
    },
    /// No connection could be made (refused, unreachable, DNS, TLS handshake, connect timeout).
    #[error("{service} at {url}: cannot connect: {detail}")]
    Connect {
        /// The service.
        service: Service,
        /// The URL requested.
        url: String,
        /// The underlying error chain.
        detail: String,
    },
    /// The connection failed after the request was sent (reset, closed mid-body).
    #[error("{service} at {url}: connection failed: {detail}")]
    Transport {
        /// The service.
        service: Service,
        /// The URL requested.
        url: String,
        /// The underlying error chain.
        detail: String,
    },
    /// The service answered with a non-success status (after any retries).
    #[error("{service} at {url}: HTTP {code}: {message}")]
    Status {
        /// The service.
        service: Service,
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        code: u16,
        /// An excerpt of the response body.
        message: String,
    },
    /// The response body exceeded [`super::http::EndpointConfig::max_body`].
    #[error("{service} at {url}: response larger than {limit} bytes")]
    BodyTooLarge {
        /// The service.
        service: Service,
        /// The URL requested.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The response could not be parsed.
    #[error("{service} at {url}: malformed response: {detail}")]
    Decode {
        /// The service.
        service: Service,
        /// The URL requested.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The response parsed but failed verification (signature, proof, body, key): it must not be
    /// trusted.
    #[error("{service} at {url}: response failed verification ({reason}): {detail}")]
    Verify {
        /// The service.
        service: Service,
        /// The URL requested.
        url: String,
        /// Stable code of the failed check (e.g. `tlog.set_invalid`).
        reason: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The client was misconfigured or asked for something invalid (bad URL, bad CA bundle,
    /// unsupported key) — nothing was sent.
    #[error("{service}: {detail}")]
    Config {
        /// The service.
        service: Service,
        /// What was wrong.
        detail: String,
    },
}

impl ClientError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Timeout { .. } => "client.timeout",
            ClientError::Connect { .. } => "client.connect",
            ClientError::Transport { .. } => "client.transport",
            ClientError::Status { .. } => "client.status",
            ClientError::BodyTooLarge { .. } => "client.body_too_large",
            ClientError::Decode { .. } => "client.decode",
            ClientError::Verify { .. } => "client.verify",
            ClientError::Config { .. } => "client.config",
        }
    }

    /// The service concerned.
    pub fn service(&self) -> Service {
        match self {
            ClientError::Timeout { service, .. }
            | ClientError::Connect { service, .. }
            | ClientError::Transport { service, .. }
            | ClientError::Status { service, .. }
            | ClientError::BodyTooLarge { service, .. }
            | ClientError::Decode { service, .. }
            | ClientError::Verify { service, .. }
            | ClientError::Config { service, .. } => *service,
        }
    }

    /// The URL concerned, if a request was made.
    pub fn url(&self) -> Option<&str> {
        match self {
            ClientError::Timeout { url, .. }
            | ClientError::Connect { url, .. }
            | ClientError::Transport { url, .. }
            | ClientError::Status { url, .. }
            | ClientError::BodyTooLarge { url, .. }
            | ClientError::Decode { url, .. }
            | ClientError::Verify { url, .. } => Some(url),
            ClientError::Config { .. } => None,
        }
    }

    /// True when the service could not be used right now (timeout, connection failure, 5xx,
    /// 429): a caller answers 503 naming [`ClientError::service`]. False for refused requests
    /// (other 4xx), malformed or unverifiable responses and configuration errors.
    pub fn is_unavailable(&self) -> bool {
        match self {
            ClientError::Timeout { .. } | ClientError::Connect { .. } | ClientError::Transport { .. } => true,
            ClientError::Status { code, .. } => *code >= 500 || *code == 429,
            _ => false,
        }
    }

    /// The HTTP status, for [`ClientError::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}
