//! The two backends behind `/v1/sign` (and the upload gateway's outer signature): the embedded
//! services (local mode) or Fulcio, Rekor and TSAs (sigstore mode).

use crate::error::ApiError;
use crate::routes::sign::{InclusionProofDto, TransparencyEntryDto};
use crate::AppState;
use axum::http::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use trust_core::time::UnixTime;
use trust_sigstore::client::config::CLIENT_TRUST_CONFIG_MEDIA_TYPE;
use trust_sigstore::client::rekor::VerifiedEntry;
use trust_sigstore::client::ClientError;
use trust_sigstore::embedded::local::{LocalSigstore, SignRequest};
use trust_sigstore::embedded::store::SignedArtifact;
use trust_sigstore::remote::{SignError, SigstoreSigner};
use trust_store::Store;

/// Where signings go.
pub enum Backend {
    /// The embedded CA, log and TSA (boxed: it is large next to the other variant).
    Local(Box<LocalSigstore<Store>>),
    /// Fulcio, Rekor and TSAs from the signing config.
    Sigstore(Arc<SigstoreSigner>),
}

/// A completed signing, whichever backend made it.
pub(crate) struct Signing {
    pub bundle: String,
    pub signature: Vec<u8>,
    pub certificate_pem: String,
    pub identity: String,
    pub issuer: String,
    pub entry: TransparencyEntryDto,
}

impl From<SignError> for ApiError {
    fn from(e: SignError) -> Self {
        let status = if e.is_unavailable() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            match e {
                // A client that cannot even be set up (an unusable CA list in the trusted root, a
                // bad URL in the signing config) is this server's configuration, not the service.
                SignError::Service(ClientError::Config { .. }) => StatusCode::SERVICE_UNAVAILABLE,
                SignError::Content(_) => StatusCode::BAD_REQUEST,
                SignError::Service(_) | SignError::Verify(_) => StatusCode::BAD_GATEWAY,
                SignError::Material(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            }
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// The log's time, or (Rekor v2, which has none) the signing's own clock.
fn entry_time(e: &VerifiedEntry) -> i64 {
    if e.integrated_time != 0 {
        e.integrated_time
    } else {
        trust_sigstore::embedded::now().secs()
    }
}

fn entry_dto(e: &VerifiedEntry) -> TransparencyEntryDto {
    let p = &e.inclusion_proof;
    TransparencyEntryDto {
        uuid: e.uuid.clone(),
        index: e.log_index,
        timestamp: UnixTime::from_secs(entry_time(e)).to_string(),
        log_id: hex::encode(&e.log_id),
        inclusion_proof: InclusionProofDto {
            log_index: p.log_index,
            tree_size: p.tree_size,
            root_hash: hex::encode(p.root_hash),
            hashes: p.hashes.iter().map(hex::encode).collect(),
            checkpoint: p.checkpoint.clone(),
        },
    }
}

impl AppState {
    /// The embedded services, or 404 in sigstore mode.
    pub fn local(&self) -> Result<&LocalSigstore<Store>, ApiError> {
        match &self.backend {
            Backend::Local(l) => Ok(l),
            Backend::Sigstore(_) => Err(ApiError::not_found(
                "mode.local_only",
                "this server runs in sigstore mode: the embedded log and keys are not served (use Rekor and the TUF trusted root)",
            )),
        }
    }

    /// Who this service signs as (identity, OIDC issuer), for policy rules about the service's
    /// own signatures: the configured signer (local mode) or the identity of its current OIDC
    /// token (sigstore mode; `None` while no usable token is available).
    pub fn service_identity(&self) -> Option<(String, String)> {
        match &self.backend {
            Backend::Local(l) => Some((l.manifest().identity.clone(), l.manifest().oidc_issuer.clone())),
            Backend::Sigstore(s) => s.identity(),
        }
    }

    /// The trusted root the server verifies its own signings with: its own keys (local mode) or
    /// the TUF-distributed (or configured) root (sigstore mode).
    pub fn trusted_root_json(&self) -> Value {
        match &self.backend {
            Backend::Local(l) => l.trusted_root(),
            Backend::Sigstore(s) => s.material().trusted_root_json,
        }
    }

    /// The sigstore-python `ClientTrustConfig` for signing the way this server does.
    pub fn client_trust_config_json(&self) -> Value {
        match &self.backend {
            Backend::Local(l) => l.client_trust_config(),
            Backend::Sigstore(s) => {
                let m = s.material();
                serde_json::json!({
                    "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
                    "trustedRoot": m.trusted_root_json,
                    "signingConfig": m.signing_config_json,
                })
            }
        }
    }

    /// Signs with the configured backend and records the signing. Local mode records it in the
    /// log's transaction; sigstore mode records it after every service answered and the bundle
    /// verified (a failure before that records nothing).
    pub(crate) async fn sign(&self, req: SignRequest) -> Result<Signing, ApiError> {
        match &self.backend {
            Backend::Local(local) => {
                let s = local.sign(req).await?;
                Ok(Signing {
                    entry: (&s.entry).into(),
                    bundle: s.bundle,
                    signature: s.signature,
                    certificate_pem: s.certificate_pem,
                    identity: s.identity,
                    issuer: s.issuer,
                })
            }
            Backend::Sigstore(signer) => {
                if req.identity.is_some() {
                    return Err(ApiError::bad_request(
                        "request.identity_override",
                        "sigstore mode signs as the identity of the service's OIDC token",
                    ));
                }
                let s = signer.sign(&req.artifact, &req.content).await?;
                let first = s.entries.first().ok_or_else(|| {
                    ApiError::new(StatusCode::BAD_GATEWAY, "rekor.failed", "no transparency log entry")
                })?;
                self.store
                    .insert_signed_artifact(&SignedArtifact {
                        digest: req.artifact.to_string(),
                        artifact_type: req.artifact_type,
                        subject: req.subject,
                        predicate_type: s.predicate_type.clone(),
                        signer_identity: s.identity.clone(),
                        signer_issuer: s.issuer.clone(),
                        bundle: s.bundle.clone(),
                        log_index: first.log_index,
                        entry_uuid: first.uuid.clone(),
                        created: entry_time(first),
                    })
                    .await?;
                Ok(Signing {
                    entry: entry_dto(first),
                    bundle: s.bundle,
                    signature: s.signature,
                    certificate_pem: s.certificate_pem,
                    identity: s.identity,
                    issuer: s.issuer,
                })
            }
        }
    }
}
