//! `POST /v1/verify-and-permit-upload`: the upload gateway.
//!
//! The producer's (inner) bundle must verify for its expected signer, and every listed artifact
//! digest must be a subject of its in-toto statement (or equal the digest it signed). When all
//! holds, certus-trust outer-signs a permission statement about those artifacts and logs it.
//! Every decision, permitted or denied, is recorded. certus-trust never touches the storage.

use super::verify::{bundle_bytes, record, signer_of, verify_bundle, Outcome, SignerCheck};
use super::{now_secs, parse_digest};
use crate::error::{ApiError, JsonBody};
use crate::{RequestId, SharedState};
use axum::extract::State;
use axum::{Extension, Json};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trust_core::crypto::Digest;
use trust_core::time::UnixTime;
use trust_core::verifier::VerifiedBundle;
use trust_sigstore::embedded::local::{SignContent, SignRequest};
use trust_store::{AuditEvent, UploadPermission};
use utoipa::ToSchema;

/// The predicate type of certus-trust's upload-permission statements.
pub const UPLOAD_PERMISSION_PREDICATE: &str = "https://certus.dev/upload-permission/v1";

/// An artifact to upload.
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRef {
    /// Its name (file name, image name).
    pub name: String,
    /// Its digest, `sha256:<hex>`.
    pub digest: String,
}

/// Git provenance of the scan.
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct GitRef {
    /// Repository URL.
    pub repository: String,
    /// Commit SHA.
    pub commit: String,
    /// Branch.
    pub branch: Option<String>,
}

/// Where the artifacts go.
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// `s3` or `oci`.
    pub kind: String,
    /// S3 bucket (required for `s3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// S3 key prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// OCI reference (required for `oci`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// An expected signer.
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct SignerRef {
    /// Certificate identity (SAN), exact.
    pub identity: String,
    /// OIDC issuer, exact.
    pub issuer: String,
}

/// The request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermitBody {
    /// The producer's scan id.
    pub scan_id: String,
    /// The artifacts to be uploaded.
    pub artifacts: Vec<ArtifactRef>,
    /// The producer's Sigstore bundle over them (an in-toto statement, or a signature over one digest).
    #[schema(value_type = Object)]
    pub inner_bundle: Box<serde_json::value::RawValue>,
    /// Digest of a manifest listing the artifacts, if the inner bundle signs that manifest.
    pub manifest_digest: Option<String>,
    /// Git provenance.
    pub git: Option<GitRef>,
    /// Where the artifacts go.
    pub destination: Destination,
    /// The inner signer to expect (default: the server's configured one).
    pub expected_inner_signer: Option<SignerRef>,
    /// A named policy (in the server's policy file) the inner signer must satisfy, instead of
    /// `expected_inner_signer`.
    pub policy: Option<String>,
    /// Artifact type, for the policy's rule scopes.
    pub artifact_type: Option<String>,
}

/// Where the inner signing was logged.
#[derive(Serialize, ToSchema)]
pub struct EntryRef {
    /// Entry UUID (hex leaf hash).
    pub uuid: String,
    /// Log index.
    pub index: u64,
}

/// The proof of the decision.
#[derive(Serialize, ToSchema)]
pub struct VerificationProof {
    /// The inner bundle's log entry.
    pub inner_entry: Option<EntryRef>,
    /// certus-trust's bundle over the permission statement (when permitted).
    #[schema(value_type = Option<Object>)]
    pub outer_bundle: Option<Value>,
    /// The outer entry's id (when permitted).
    pub outer_entry_id: Option<String>,
}

/// The decision.
#[derive(Serialize, ToSchema)]
pub struct PermitResponse {
    /// Whether the upload is permitted.
    pub permitted: bool,
    /// The decision's id.
    pub permission_id: String,
    /// Why (`permitted`, or the specific denial code and message).
    pub reason: String,
    /// The verified inner signer.
    pub inner_signer: Option<SignerRef>,
    /// The artifacts the decision covers.
    pub artifacts: Vec<ArtifactRef>,
    /// The destination the decision covers.
    pub destination: Destination,
    /// Proof material.
    pub verification_proof: VerificationProof,
    /// Until when the permission holds (RFC 3339).
    pub expires_at: String,
}

fn validate(body: &PermitBody) -> Result<Vec<Digest>, ApiError> {
    if body.scan_id.trim().is_empty() {
        return Err(ApiError::bad_request("request.missing_scan_id", "scan_id is empty"));
    }
    if body.artifacts.is_empty() {
        return Err(ApiError::bad_request("request.no_artifacts", "artifacts is empty"));
    }
    let mut digests = Vec::with_capacity(body.artifacts.len());
    for (i, a) in body.artifacts.iter().enumerate() {
        if a.name.trim().is_empty() {
            return Err(ApiError::bad_request(
                "request.invalid_artifact",
                format!("artifacts[{i}].name is empty"),
            ));
        }
        digests.push(parse_digest(&format!("artifacts[{i}].digest"), &a.digest)?);
    }
    match body.destination.kind.as_str() {
        "s3" if body.destination.bucket.as_deref().is_none_or(|b| b.trim().is_empty()) => {
            return Err(ApiError::bad_request(
                "request.invalid_destination",
                "destination.bucket is required for s3",
            ))
        }
        "oci"
            if body
                .destination
                .reference
                .as_deref()
                .is_none_or(|r| r.trim().is_empty()) =>
        {
            return Err(ApiError::bad_request(
                "request.invalid_destination",
                "destination.reference is required for oci",
            ))
        }
        "s3" | "oci" => {}
        other => {
            return Err(ApiError::bad_request(
                "request.invalid_destination",
                format!("destination.kind must be \"s3\" or \"oci\", got {other:?}"),
            ))
        }
    }
    if let Some(m) = &body.manifest_digest {
        parse_digest("manifest_digest", m)?;
    }
    Ok(digests)
}

/// The inner entry's UUID and index, from the bundle's first log entry.
fn inner_entry(bundle: &[u8], verified: &VerifiedBundle) -> Option<EntryRef> {
    let v: Value = serde_json::from_slice(bundle).ok()?;
    let body = v["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"].as_str()?;
    let body = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
    Some(EntryRef {
        uuid: hex::encode(trust_core::tlog::leaf_hash(&body)),
        index: verified.tlog_entries.first()?.log_index,
    })
}

/// Every listed digest must be a statement subject, or the signed digest itself.
fn uncovered<'a>(verified: &VerifiedBundle, artifacts: &'a [ArtifactRef], digests: &[Digest]) -> Vec<&'a str> {
    let covered = |d: &Digest| match &verified.statement {
        Some(st) => st.subjects.iter().any(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|h| h.eq_ignore_ascii_case(&hex::encode(d.as_bytes())))
        }),
        None => verified.artifact_digest == d.to_string(),
    };
    artifacts
        .iter()
        .zip(digests)
        .filter(|(_, d)| !covered(d))
        .map(|(a, _)| a.name.as_str())
        .collect()
}

/// Decides whether artifacts may be uploaded, and outer-signs the permission.
///
/// The producer's inner signature and the artifact digests are verified against the expected
/// signer; when all holds, certus-trust signs and logs a permission statement. Denials carry a
/// specific reason.
#[utoipa::path(post, path = "/v1/verify-and-permit-upload", request_body = PermitBody, tag = "upload gateway",
    responses((status = 200, body = PermitResponse), (status = 400, body = crate::error::Problem)))]
pub async fn verify_and_permit_upload(
    State(state): State<SharedState>,
    Extension(request_id): Extension<RequestId>,
    JsonBody(body): JsonBody<PermitBody>,
) -> Result<Json<PermitResponse>, ApiError> {
    let digests = validate(&body)?;
    let bundle = bundle_bytes("inner_bundle", &body.inner_bundle)?;
    // The digest the inner bundle is verified for: the manifest when given, else the first artifact.
    let anchor = match &body.manifest_digest {
        Some(m) => parse_digest("manifest_digest", m)?,
        None => digests[0],
    };
    let config = &state.config;
    let check =
        match (&body.expected_inner_signer, &body.policy) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "request.conflicting_signer",
                    "give expected_inner_signer or policy, not both",
                ))
            }
            (Some(s), None) => SignerCheck::Identity(&s.identity, &s.issuer),
            (None, Some(p)) => SignerCheck::Policy {
                name: p,
                artifact_type: body.artifact_type.as_deref(),
                subject: Some(&body.scan_id),
            },
            (None, None) => match (&config.default_inner_policy, &config.default_inner_signer) {
                (Some(p), _) => SignerCheck::Policy {
                    name: p,
                    artifact_type: body.artifact_type.as_deref(),
                    subject: Some(&body.scan_id),
                },
                (None, Some((identity, issuer))) => SignerCheck::Identity(identity, issuer),
                (None, None) => return Err(ApiError::bad_request(
                    "request.no_expected_signer",
                    "expected_inner_signer or policy is required: this server has no default inner signer configured",
                )),
            },
        };
    let outcome: Outcome = verify_bundle(&state, &anchor, &bundle, check)?;
    record(&state, &anchor, &outcome, &request_id.0).await?;

    let permission_id = crate::uuid_v4();
    let now = now_secs();
    let ttl = i64::try_from(state.config.permission_ttl.as_secs()).unwrap_or(i64::MAX);
    let expires = now.saturating_add(ttl);
    let first_error = outcome.errors().into_iter().next();
    let (decision, inner_signer, inner) = match &outcome.verified {
        Err(e) => (Err(format!("{}: {}", e.code, e.message)), None, None),
        Ok(v) if !outcome.valid() => {
            let (identity, issuer, _) = signer_of(v);
            let signer = identity
                .zip(issuer)
                .map(|(identity, issuer)| SignerRef { identity, issuer });
            let reason =
                first_error.map_or_else(|| "policy.denied".to_owned(), |e| format!("{}: {}", e.code, e.message));
            (Err(reason), signer, inner_entry(&bundle, v))
        }
        Ok(v) => {
            let (identity, issuer, _) = signer_of(v);
            let signer = identity
                .zip(issuer)
                .map(|(identity, issuer)| SignerRef { identity, issuer });
            let missing = uncovered(v, &body.artifacts, &digests);
            let decision = if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "permit.digest_not_signed: the inner signature does not cover {}",
                    missing.join(", ")
                ))
            };
            (decision, signer, inner_entry(&bundle, v))
        }
    };

    let mut proof = VerificationProof {
        inner_entry: inner,
        outer_bundle: None,
        outer_entry_id: None,
    };
    let reason = match &decision {
        Ok(()) => {
            let inner_signer = inner_signer.clone();
            let predicate = json!({
                "permissionId": permission_id,
                "scanId": body.scan_id,
                "destination": body.destination,
                "git": body.git,
                "manifestDigest": body.manifest_digest,
                "innerSigner": inner_signer,
                "innerEntry": proof.inner_entry.as_ref().map(|e| json!({"uuid": e.uuid, "index": e.index})),
                "expiresAt": UnixTime::from_secs(expires).to_string(),
            });
            let mut named = body.artifacts.iter().zip(&digests);
            let Some((first, first_digest)) = named.next() else {
                return Err(ApiError::bad_request("request.no_artifacts", "artifacts is empty"));
            };
            let signed = state
                .sign(SignRequest {
                    artifact: *first_digest,
                    content: SignContent::InToto {
                        predicate_type: UPLOAD_PERMISSION_PREDICATE.into(),
                        predicate,
                        subject_name: first.name.clone(),
                        additional_subjects: named.map(|(a, d)| (a.name.clone(), *d)).collect(),
                    },
                    artifact_type: Some("upload-permission".into()),
                    subject: Some(body.scan_id.clone()),
                    timestamp: state.config.timestamp_signatures,
                    identity: None,
                })
                .await?;
            state.metrics.signing("ok");
            proof.outer_bundle = serde_json::from_str(&signed.bundle).ok();
            proof.outer_entry_id = Some(signed.entry.uuid);
            "permitted".to_owned()
        }
        Err(reason) => reason.clone(),
    };
    let permitted = decision.is_ok();
    let code = reason.split(':').next().unwrap_or("denied").to_owned();
    state.metrics.permit(permitted, &code);
    let artifacts_json = serde_json::to_string(&body.artifacts).unwrap_or_default();
    let destination_json = serde_json::to_string(&body.destination).unwrap_or_default();
    state
        .store
        .insert_upload_permission(&UploadPermission {
            id: permission_id.clone(),
            scan_id: body.scan_id.clone(),
            permitted,
            reason: reason.clone(),
            inner_signer_identity: inner_signer.as_ref().map(|s| s.identity.clone()),
            inner_signer_issuer: inner_signer.as_ref().map(|s| s.issuer.clone()),
            artifacts_json,
            destination_json,
            inner_entry_uuid: proof.inner_entry.as_ref().map(|e| e.uuid.clone()),
            inner_entry_index: proof.inner_entry.as_ref().map(|e| e.index),
            outer_entry_uuid: proof.outer_entry_id.clone(),
            outer_bundle: proof.outer_bundle.as_ref().map(Value::to_string),
            expires_at: expires,
            created: now,
        })
        .await?;
    state
        .store
        .append_audit_event(&AuditEvent {
            time: now,
            actor: inner_signer
                .as_ref()
                .map_or_else(|| "unverified".to_owned(), |s| s.identity.clone()),
            action: "verify-and-permit-upload".into(),
            target: body.scan_id.clone(),
            outcome: if permitted { "permitted".into() } else { code },
            detail_json: json!({"permission_id": permission_id, "reason": reason}).to_string(),
            request_id: Some(request_id.0.clone()),
        })
        .await?;
    tracing::info!(permitted, permission_id = %permission_id, reason = %reason, "upload decision");
    Ok(Json(PermitResponse {
        permitted,
        permission_id,
        reason,
        inner_signer,
        artifacts: body.artifacts,
        destination: body.destination,
        verification_proof: proof,
        expires_at: UnixTime::from_secs(expires).to_string(),
    }))
}
