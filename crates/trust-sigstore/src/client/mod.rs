//! Clients for remote Sigstore services (the `sigstore` mode): the HTTP layer ([`http`]) with
//! timeouts, pinning and bounded retries, and the typed [`ClientError`] every client returns.

pub mod error;
pub mod http;

pub use error::ClientError;
pub use http::{EndpointConfig, HttpClient, Idempotency, Response, Service};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod testserver;
