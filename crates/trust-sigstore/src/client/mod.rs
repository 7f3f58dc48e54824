//! Clients for remote Sigstore services (the `sigstore` mode).
//!
//! - [`http`]: the HTTP layer every client uses (hyper + rustls on aws-lc-rs; per-endpoint
//!   timeouts, CA pinning, body limit, bounded jittered retries on 5xx/429/transport failures
//!   only) and the [`Service`] names.
//! - [`error`]: [`ClientError`], naming the service and URL; [`ClientError::is_unavailable`]
//!   tells an outage (answer 503) from a refused request or a response that failed verification.
//! - [`config`]: the signing config v0.2 and `ClientTrustConfig`, and service selection
//!   ([`SigningConfig::select`]: validity, API version, ANY/EXACT/ALL).
//! - [`fulcio`]: Fulcio v2 (`signingCert` with a public key + proof of possession or a CSR;
//!   `trustBundle`; `configuration`).
//! - [`rekor`]: Rekor v1 (create `hashedrekord`/`dsse`, reads, search, log info, consistency),
//!   every entry verified (SET, inclusion proof, checkpoint, logged body) before it is returned.
//! - [`rekor_v2`]: Rekor v2 (create 0.0.2 entries, checkpoint, tiles).
//! - [`tsa`]: RFC 3161 timestamps, verified against the trusted root's TSAs.
//! - [`token`]: the service's own identity token (file re-read on change, env, static).
//! - [`services`]: the clients of one signing, built from the selected services.
//!
//! A signing is, in outline ([`crate::remote::SigstoreSigner`] is the orchestrator):
//!
//! ```text
//! let ctc = ClientTrustConfig::from_json(&bytes)?;               // or TUF
//! let now = trust_sigstore::embedded::now();
//! let clients = ServiceClients::new(&ctc.signing_config.select(now)?, &ctc.trusted_root,
//!                                   &EndpointConfigs::default())?;
//! let token = TokenSource::file("/var/run/secrets/tokens/sigstore").token(now)?;
//! let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256)?;  // ephemeral
//! let cert = clients.fulcio.signing_cert(&token.jwt, &CertificateRequest::csr(&key)?).await?;
//! let signature = key.sign_digest(&digest)?;
//! let entry = clients.rekor[0].create_entry(&ProposedEntry::HashedRekord {
//!     digest, signature: signature.clone(), verifier_pem: cert.leaf_pem() }).await?;
//! let ts = clients.tsas[0].timestamp(&signature).await?;           // if any TSA is selected
//! // bundle v0.3: certificate = cert.leaf_der(), tlogEntries = [entry.to_bundle_json()],
//! //              timestampVerificationData.rfc3161Timestamps = [ts.response_der]  (the whole TimeStampResp)
//! ```

pub mod config;
pub mod error;
pub mod fulcio;
pub mod http;
pub mod rekor;
pub mod rekor_v2;
pub mod services;
pub mod token;
pub mod tsa;

pub use config::{ClientTrustConfig, ConfigError, SelectedServices, Selector, ServiceEndpoint, SigningConfig};
pub use error::ClientError;
pub use fulcio::{CertificateRequest, FulcioClient, SigningCertificate};
pub use http::{EndpointConfig, HttpClient, Idempotency, Response, Service};
pub use rekor::{ProposedEntry, RekorClient, VerifiedEntry};
pub use rekor_v2::RekorV2Client;
pub use services::{AnyRekor, EndpointConfigs, HttpClients, ServiceClients};
pub use token::{IdentityToken, TokenClaims, TokenError, TokenSource};
pub use tsa::{SignedTimestamp, TsaClient};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod testserver;
