//! Clients for remote Sigstore services (the `sigstore` mode): the HTTP layer ([`http`]) with
//! timeouts, pinning and bounded retries, and the typed [`ClientError`] every client returns.

pub mod config;
pub mod error;
pub mod fulcio;
pub mod http;
pub mod rekor;
pub mod rekor_v2;
pub mod token;
pub mod tsa;

pub use config::{ClientTrustConfig, ConfigError, SelectedServices, Selector, ServiceEndpoint, SigningConfig};
pub use error::ClientError;
pub use fulcio::{CertificateRequest, FulcioClient, SigningCertificate};
pub use http::{EndpointConfig, HttpClient, Idempotency, Response, Service};
pub use rekor::{ProposedEntry, RekorClient, VerifiedEntry};
pub use rekor_v2::RekorV2Client;
pub use token::{IdentityToken, TokenClaims, TokenError, TokenSource};
pub use tsa::{SignedTimestamp, TsaClient};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod testserver;
