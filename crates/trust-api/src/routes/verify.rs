//! `POST /v1/verify`: a bundle, or a detached signature and certificate, for an artifact digest.

use super::{now_secs, parse_base64, parse_digest};
use crate::error::{ApiError, JsonBody};
use crate::{RequestId, SharedState};
use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use trust_core::bundle::{Bundle, SignerMaterial};
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
    pub bundle: Option<Box<RawValue>>,
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
    /// A named policy from the server's policy file (instead of identity/issuer or key).
    pub policy: Option<String>,
    /// Artifact type, for the policy's rule scopes.
    pub artifact_type: Option<String>,
    /// Subject name, for the policy's rule scopes.
    pub subject: Option<String>,
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
    /// The full verification result when it verified (every Fulcio extension, times, entries).
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    /// The policy decision (every matched rule and reason), when a policy was asked for.
    #[schema(value_type = Option<Object>)]
    pub policy_decision: Option<Value>,
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

/// The bundle bytes of a request field: a JSON object (passed on as sent, not re-encoded), or a
/// string holding one.
pub(crate) fn bundle_bytes(field: &str, bundle: &RawValue) -> Result<Vec<u8>, ApiError> {
    let raw = bundle.get();
    match raw.trim_start().as_bytes().first() {
        Some(b'{') => Ok(raw.as_bytes().to_vec()),
        Some(b'"') => serde_json::from_str::<String>(raw)
            .map(String::into_bytes)
            .map_err(|e| ApiError::bad_request("request.invalid_bundle", format!("{field}: {e}"))),
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

/// Who must have signed.
pub(crate) enum SignerCheck<'a> {
    /// A certificate with this identity (SAN) and OIDC issuer, exact.
    Identity(&'a str, &'a str),
    /// This public key (PEM).
    Key(&'a str),
    /// A named policy of the server's policy file, with the request's context.
    Policy {
        /// The policy name.
        name: &'a str,
        /// Artifact type, for rule scopes.
        artifact_type: Option<&'a str>,
        /// Subject, for rule scopes.
        subject: Option<&'a str>,
    },
    /// Anyone the trusted root vouches for (answered with a warning).
    Any,
}

/// The outcome of one verification, before recording.
pub(crate) struct Outcome {
    /// The cryptographic verification.
    pub verified: Result<VerifiedBundle, ErrorDto>,
    /// Why the policy denied (empty when it allowed, or when no policy was asked for).
    pub policy_failures: Vec<ErrorDto>,
    /// The policy decision, when a policy was asked for.
    pub decision: Option<trust_policy::Decision>,
    /// Notes that do not make it fail.
    pub warnings: Vec<String>,
}

impl Outcome {
    /// Verified and allowed.
    pub fn valid(&self) -> bool {
        self.verified.is_ok() && self.policy_failures.is_empty()
    }

    /// Every reason it is not valid.
    pub fn errors(&self) -> Vec<ErrorDto> {
        match &self.verified {
            Err(e) => vec![e.clone()],
            Ok(_) => self.policy_failures.clone(),
        }
    }
}

fn failure_dto(f: &trust_policy::Failure) -> ErrorDto {
    let rule = f.rule.as_deref().map_or_else(String::new, |r| format!("rule {r}: "));
    ErrorDto {
        code: f.code.as_str().to_owned(),
        message: format!("{rule}expected {}, found {}", f.expected, f.actual),
    }
}

/// Verifies `bundle` for `digest` against the server's trusted root and checks the signer.
/// Input errors (malformed bundle, bad PEM, unknown policy) are `Err`; failed verification or a
/// policy denial is an `Ok` outcome with every reason.
pub(crate) fn verify_bundle(
    state: &SharedState,
    digest: &Digest,
    bundle: &[u8],
    check: SignerCheck<'_>,
) -> Result<Outcome, ApiError> {
    let now = trust_sigstore::embedded::now();
    let bad = |e: trust_core::policy::PolicyError| ApiError::bad_request(e.code(), e.to_string());
    let base = || PolicyBuilder::new().artifact_digest(*digest).now(now);
    // Parsed once: the policy branch reads the signer kind from it too.
    let parsed = Bundle::from_json(bundle).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let run = |policy: &trust_core::policy::VerificationPolicy<'_>| match state.verifier().verify(&parsed, policy) {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.family() == ErrorFamily::Input => Err(ApiError::bad_request(e.code(), e.to_string())),
        Err(e) => Ok(Err(ErrorDto {
            code: e.code().to_owned(),
            message: e.to_string(),
        })),
    };
    let mut warnings = Vec::new();
    let (verified, decision) = match check {
        SignerCheck::Identity(san, issuer) => {
            let id = CertificateIdentity::exact(san, issuer).map_err(bad)?;
            (run(&base().certificate_identity(id).build().map_err(bad)?)?, None)
        }
        SignerCheck::Key(pem) => {
            let key = PublicKey::from_pem(pem)
                .map_err(|e| ApiError::bad_request("request.invalid_key", format!("key: {e}")))?;
            (run(&base().public_key(key).build().map_err(bad)?)?, None)
        }
        SignerCheck::Any => {
            warnings
                .push("no identity, key or policy given: any signer the trusted root vouches for is accepted".into());
            (run(&base().unsafe_ignore_identity().build().map_err(bad)?)?, None)
        }
        SignerCheck::Policy {
            name,
            artifact_type,
            subject,
        } => {
            let set = state.policies().ok_or_else(|| {
                ApiError::bad_request("policy.not_configured", "this server has no policy file (policy_file)")
            })?;
            if set.get(name).is_none() {
                return Err(ApiError::bad_request(
                    "policy.unknown",
                    format!("no policy named {name:?}"),
                ));
            }
            // The policy decides who may sign: verify certificate bundles for any identity, and
            // key bundles with each key the policy names until one verifies.
            let verified = match parsed.signer {
                SignerMaterial::Certificate { .. } => run(&base().unsafe_ignore_identity().build().map_err(bad)?)?,
                _ => {
                    let mut result = Err(ErrorDto {
                        code: "policy.key_not_authorized".into(),
                        message: format!("signed with a public key, and policy {name:?} names no key authority"),
                    });
                    for key in set.authority_keys(name) {
                        result = run(&base().public_key(key.clone()).build().map_err(bad)?)?;
                        if result.is_ok() {
                            break;
                        }
                    }
                    result
                }
            };
            let decision = match &verified {
                Ok(v) => {
                    let service = state
                        .service_identity()
                        .map(|(identity, issuer)| trust_policy::ServiceIdentity::certificate(identity, issuer));
                    let ctx = trust_policy::Context {
                        artifact_type,
                        subject,
                        now,
                        service: service.as_ref(),
                    };
                    Some(
                        set.evaluate(name, &[v], &ctx)
                            .map_err(|e| ApiError::bad_request("policy.unusable", e.to_string()))?,
                    )
                }
                Err(_) => None,
            };
            (verified, decision)
        }
    };
    let policy_failures = match &decision {
        Some(d) if !d.allowed => d.failures.iter().map(failure_dto).collect(),
        _ => Vec::new(),
    };
    if let Some(d) = &decision {
        // Warn mode (or warn rules): the failures are returned, the verdict stands.
        let soft = if d.allowed {
            d.failures.iter().chain(&d.warnings)
        } else {
            d.warnings.iter().chain(&[])
        };
        warnings.extend(soft.map(|f| {
            let e = failure_dto(f);
            format!("{}: {}", e.code, e.message)
        }));
    }
    Ok(Outcome {
        verified,
        policy_failures,
        decision,
        warnings,
    })
}

/// Records a verification (group commit) and counts it.
pub(crate) async fn record(
    state: &SharedState,
    digest: &Digest,
    outcome: &Outcome,
    request_id: &str,
) -> Result<(), ApiError> {
    let valid = outcome.valid();
    let codes = outcome.errors().into_iter().map(|e| e.code).collect();
    let (signer, issuer, index) = match &outcome.verified {
        Ok(v) => {
            let (s, i, _) = signer_of(v);
            (s, i, v.tlog_entries.first().map(|e| e.log_index))
        }
        Err(_) => (None, None, None),
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
    let check = match (&body.identity, &body.issuer, &body.key, &body.policy) {
        (Some(i), Some(s), None, None) => SignerCheck::Identity(i, s),
        (None, None, Some(k), None) => SignerCheck::Key(k),
        (None, None, None, Some(p)) => SignerCheck::Policy {
            name: p,
            artifact_type: body.artifact_type.as_deref(),
            subject: body.subject.as_deref(),
        },
        (None, None, None, None) => SignerCheck::Any,
        (Some(_), None, _, _) | (None, Some(_), _, _) => {
            return Err(ApiError::bad_request(
                "request.identity_needs_issuer",
                "identity and issuer go together",
            ))
        }
        _ => {
            return Err(ApiError::bad_request(
                "request.conflicting_signer",
                "give one of identity + issuer, key, or policy",
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
                    policy_failures: Vec::new(),
                    decision: None,
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
    let outcome = verify_bundle(&state, &digest, &bundle, check)?;
    record(&state, &digest, &outcome, &request_id.0).await?;
    Ok(Json(response(outcome)))
}

fn response(outcome: Outcome) -> VerifyResponse {
    let verified_at = trust_sigstore::embedded::now().to_string();
    let valid = outcome.valid();
    let errors = outcome.errors();
    let policy_decision = outcome.decision.as_ref().and_then(|d| serde_json::to_value(d).ok());
    let mut r = VerifyResponse {
        valid,
        verified_at,
        signer: None,
        issuer: None,
        transparency_index: None,
        integrated_time: None,
        certificate_chain: Vec::new(),
        errors,
        warnings: outcome.warnings,
        details: None,
        policy_decision,
    };
    if let Ok(v) = &outcome.verified {
        let (signer, issuer, certificate_chain) = signer_of(v);
        let entry = v.tlog_entries.first();
        r.signer = signer;
        r.issuer = issuer;
        r.transparency_index = entry.map(|e| e.log_index);
        r.integrated_time = entry.and_then(|e| e.integrated_time).map(|t: UnixTime| t.to_string());
        r.certificate_chain = certificate_chain;
        r.details = serde_json::to_value(v).ok();
    }
    r
}
