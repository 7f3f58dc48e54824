//! `POST /v1/verify`: a bundle, or a detached signature and certificate, for an artifact digest.

use super::{now_secs, parse_base64, parse_digest};
use crate::error::{ApiError, JsonBody};
use crate::{RequestId, SharedState};
use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trust_core::crypto::{pem_decode, Digest, PublicKey};
use trust_core::policy::{CertificateIdentity, PolicyBuilder};
use trust_core::time::UnixTime;
use trust_core::verifier::{VerifiedBundle, VerifiedSigner};
use trust_core::ErrorFamily;
use trust_store::VerificationRecord;
use utoipa::ToSchema;

/// A verification request: `bundle`, or the detached `signature` + `certificate`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The artifact digest, `sha256:<hex>`.
    pub artifact: String,
    /// The Sigstore bundle (a JSON object, or a string holding one).
    #[schema(value_type = Option<Object>)]
    pub bundle: Option<Value>,
    /// Detached: the signature over the artifact digest, base64.
    pub signature: Option<String>,
    /// Detached: the signing certificate, PEM.
    pub certificate: Option<String>,
    /// Expected certificate identity (SAN), exact; requires `issuer`.
    pub identity: Option<String>,
    /// Expected OIDC issuer, exact; requires `identity`.
    pub issuer: Option<String>,
    /// Expected public key (PEM), for key-signed bundles.
    pub key: Option<String>,
    /// A named policy from the server's policy file.
    pub policy: Option<String>,
}

/// One reason a verification failed.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct ErrorDto {
    /// Stable code (`tlog.inclusion_proof_mismatch`, `cert.identity_mismatch` ...).
    pub code: String,
    /// Human reason.
    pub message: String,
}

/// The verdict.
#[derive(Serialize, ToSchema)]
pub struct VerifyResponse {
    /// Whether the bundle verified for the artifact and the expected signer.
    pub valid: bool,
    /// When this verification ran (RFC 3339).
    pub verified_at: String,
    /// The verified signer identity (SAN), or `key:<key id>` for key-signed bundles.
    pub signer: Option<String>,
    /// The verified signer's OIDC issuer.
    pub issuer: Option<String>,
    /// The verified log index.
    pub transparency_index: Option<u64>,
    /// The verified integrated time (RFC 3339).
    pub integrated_time: Option<String>,
    /// The signing certificate's chain, PEM, leaf first.
    pub certificate_chain: Vec<String>,
    /// Why it failed (empty when valid).
    pub errors: Vec<ErrorDto>,
    /// Notes that do not make it fail.
    pub warnings: Vec<String>,
    /// The full verification result when valid (every Fulcio extension, times, entries).
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// Who a verified bundle was signed by: (identity, issuer, chain).
pub(crate) fn signer_of(v: &VerifiedBundle) -> (Option<String>, Option<String>, Vec<String>) {
    match &v.signer {
        VerifiedSigner::Certificate {
            identity,
            issuer,
            certificate_chain,
            ..
        } => (Some(identity.clone()), issuer.clone(), certificate_chain.clone()),
        VerifiedSigner::PublicKey { key_id } => (Some(format!("key:{key_id}")), None, Vec::new()),
        _ => (None, None, Vec::new()),
    }
}

/// The bundle bytes of a request field: a JSON object, or a string holding one.
pub(crate) fn bundle_bytes(field: &str, bundle: &Value) -> Result<Vec<u8>, ApiError> {
    match bundle {
        Value::Object(_) => {
            serde_json::to_vec(bundle).map_err(|e| ApiError::bad_request("request.invalid_bundle", e.to_string()))
        }
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        _ => Err(ApiError::bad_request(
            "request.invalid_bundle",
            format!("{field} must be a Sigstore bundle (a JSON object)"),
        )),
    }
}

/// Finds the bundle this service issued for a detached signature + certificate over `digest`.
async fn detached_bundle(
    state: &SharedState,
    digest: &Digest,
    signature: &str,
    certificate: &str,
) -> Result<Option<String>, ApiError> {
    use base64::Engine;
    let sig = parse_base64("signature", signature)?;
    let (label, cert_der) = pem_decode(certificate)
        .map_err(|e| ApiError::bad_request("request.invalid_pem", format!("certificate is not PEM: {e}")))?;
    if label != "CERTIFICATE" {
        return Err(ApiError::bad_request(
            "request.invalid_pem",
            format!("certificate is a PEM {label:?}, not a CERTIFICATE"),
        ));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let (want_sig, want_cert) = (b64.encode(&sig), b64.encode(&cert_der));
    for record in state.store.signed_artifacts_by_digest(&digest.to_string()).await? {
        let Ok(bundle) = serde_json::from_str::<Value>(&record.bundle) else {
            continue;
        };
        let sig_matches = bundle["messageSignature"]["signature"].as_str() == Some(&want_sig)
            || bundle["dsseEnvelope"]["signatures"][0]["sig"].as_str() == Some(&want_sig);
        let cert_matches = bundle["verificationMaterial"]["certificate"]["rawBytes"].as_str() == Some(&want_cert);
        if sig_matches && cert_matches {
            return Ok(Some(record.bundle));
        }
    }
    Ok(None)
}

/// The outcome of one verification, before recording.
pub(crate) struct Outcome {
    pub verified: Result<VerifiedBundle, ErrorDto>,
    pub warnings: Vec<String>,
}

/// Verifies `bundle` for `digest` against the server's trusted root with the signer constraint
/// of the request. Input errors (malformed bundle, bad PEM) are `Err`; failed verification is an
/// `Ok` outcome with the reason.
pub(crate) fn verify_bundle(
    state: &SharedState,
    digest: &Digest,
    bundle: &[u8],
    identity: Option<(&str, &str)>,
    key: Option<&str>,
) -> Result<Outcome, ApiError> {
    let mut warnings = Vec::new();
    let mut policy = PolicyBuilder::new()
        .artifact_digest(*digest)
        .now(trust_sigstore::embedded::local::now());
    policy = match (identity, key) {
        (Some((san, issuer)), None) => policy.certificate_identity(
            CertificateIdentity::exact(san, issuer).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?,
        ),
        (None, Some(pem)) => policy.public_key(
            PublicKey::from_pem(pem).map_err(|e| ApiError::bad_request("request.invalid_key", format!("key: {e}")))?,
        ),
        (None, None) => {
            warnings
                .push("no identity, key or policy given: any signer the trusted root vouches for is accepted".into());
            policy.unsafe_ignore_identity()
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "request.conflicting_signer",
                "give either identity + issuer or key, not both",
            ))
        }
    };
    let policy = policy
        .build()
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let verified = match state.verifier.verify_json(bundle, &policy) {
        Ok(v) => Ok(v),
        Err(e) if e.family() == ErrorFamily::Input => return Err(ApiError::bad_request(e.code(), e.to_string())),
        Err(e) => Err(ErrorDto {
            code: e.code().to_owned(),
            message: e.to_string(),
        }),
    };
    Ok(Outcome { verified, warnings })
}

/// Records a verification (group commit) and counts it.
pub(crate) async fn record(
    state: &SharedState,
    digest: &Digest,
    outcome: &Outcome,
    request_id: &str,
) -> Result<(), ApiError> {
    let (valid, signer, issuer, codes, index) = match &outcome.verified {
        Ok(v) => {
            let (s, i, _) = signer_of(v);
            (true, s, i, Vec::new(), v.tlog_entries.first().map(|e| e.log_index))
        }
        Err(e) => (false, None, None, vec![e.code.clone()], None),
    };
    state.metrics.verification(if valid { "valid" } else { "invalid" });
    state
        .recorder
        .record(VerificationRecord {
            artifact_digest: digest.to_string(),
            valid,
            signer,
            issuer,
            error_codes: codes,
            log_index: index,
            request_id: Some(request_id.to_owned()),
            created: now_secs(),
        })
        .await?;
    Ok(())
}

/// Verifies a Sigstore bundle, or a detached signature and certificate, for an artifact digest.
///
/// The detached pair must be one this service issued (it is looked up in its signing records).
/// The signer is checked against identity + issuer, a key, or nothing (any signer the trusted
/// root vouches for, with a warning).
#[utoipa::path(post, path = "/v1/verify", request_body = VerifyBody, tag = "verification",
    responses((status = 200, body = VerifyResponse), (status = 400, body = crate::error::Problem)))]
pub async fn verify(
    State(state): State<SharedState>,
    Extension(request_id): Extension<RequestId>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let digest = parse_digest("artifact", &body.artifact)?;
    if body.policy.is_some() {
        return Err(ApiError::bad_request(
            "policy.not_configured",
            "this server has no policy file; verify with identity + issuer or key",
        ));
    }
    let identity = match (&body.identity, &body.issuer) {
        (Some(i), Some(s)) => Some((i.as_str(), s.as_str())),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "request.identity_needs_issuer",
                "identity and issuer go together",
            ))
        }
    };
    let bundle = match (&body.bundle, &body.signature, &body.certificate) {
        (Some(b), None, None) => bundle_bytes("bundle", b)?,
        (None, Some(sig), Some(cert)) => match detached_bundle(&state, &digest, sig, cert).await? {
            Some(b) => b.into_bytes(),
            None => {
                let outcome = Outcome {
                    verified: Err(ErrorDto {
                        code: "verify.no_log_entry".into(),
                        message: "no entry in this service's transparency log matches this artifact, signature and certificate".into(),
                    }),
                    warnings: Vec::new(),
                };
                record(&state, &digest, &outcome, &request_id.0).await?;
                return Ok(Json(response(outcome)));
            }
        },
        _ => {
            return Err(ApiError::bad_request(
                "request.missing_material",
                "send either bundle, or signature and certificate",
            ))
        }
    };
    let outcome = verify_bundle(&state, &digest, &bundle, identity, body.key.as_deref())?;
    record(&state, &digest, &outcome, &request_id.0).await?;
    Ok(Json(response(outcome)))
}

fn response(outcome: Outcome) -> VerifyResponse {
    let verified_at = trust_sigstore::embedded::local::now().to_string();
    match outcome.verified {
        Ok(v) => {
            let (signer, issuer, certificate_chain) = signer_of(&v);
            let entry = v.tlog_entries.first();
            VerifyResponse {
                valid: true,
                verified_at,
                signer,
                issuer,
                transparency_index: entry.map(|e| e.log_index),
                integrated_time: entry.and_then(|e| e.integrated_time).map(|t: UnixTime| t.to_string()),
                certificate_chain,
                errors: Vec::new(),
                warnings: outcome.warnings,
                details: serde_json::to_value(&v).ok(),
            }
        }
        Err(e) => VerifyResponse {
            valid: false,
            verified_at,
            signer: None,
            issuer: None,
            transparency_index: None,
            integrated_time: None,
            certificate_chain: Vec::new(),
            errors: vec![e],
            warnings: outcome.warnings,
            details: None,
        },
    }
}
