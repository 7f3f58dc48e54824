//! `POST /v1/sign`.

use super::parse_digest;
use crate::error::{ApiError, JsonBody};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trust_core::time::UnixTime;
use trust_sigstore::embedded::local::{SignContent, SignRequest};
use trust_sigstore::embedded::log::{InclusionProof, LoggedEntry};
use utoipa::ToSchema;

/// A signing request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    /// The artifact digest, `sha256:<hex>`.
    pub artifact: String,
    /// Free-text artifact type (recorded).
    pub artifact_type: Option<String>,
    /// Subject name (recorded; the in-toto subject name when a statement is signed).
    pub subject: Option<String>,
    /// Sign an in-toto statement with this predicate type (DSSE) instead of the digest.
    pub predicate_type: Option<String>,
    /// The statement's predicate (a JSON object; requires `predicate_type`).
    #[schema(value_type = Option<Object>)]
    pub predicate: Option<Value>,
}

/// An inclusion proof with its checkpoint.
#[derive(Serialize, ToSchema)]
pub struct InclusionProofDto {
    /// Leaf index.
    pub log_index: u64,
    /// Tree size of the proof.
    pub tree_size: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// Audit path, hex, leaf side first.
    pub hashes: Vec<String>,
    /// The signed checkpoint (C2SP note) for that tree size.
    pub checkpoint: String,
}

impl From<&InclusionProof> for InclusionProofDto {
    fn from(p: &InclusionProof) -> Self {
        Self {
            log_index: p.log_index,
            tree_size: p.tree_size,
            root_hash: hex::encode(p.root_hash),
            hashes: p.hashes.iter().map(hex::encode).collect(),
            checkpoint: p.checkpoint.clone(),
        }
    }
}

/// Where a signing was logged.
#[derive(Serialize, ToSchema)]
pub struct TransparencyEntryDto {
    /// Entry UUID (hex leaf hash).
    pub uuid: String,
    /// Log index.
    pub index: u64,
    /// Integrated time, RFC 3339.
    pub timestamp: String,
    /// Log id, hex.
    pub log_id: String,
    /// Inclusion proof against the checkpoint of its batch.
    pub inclusion_proof: InclusionProofDto,
}

impl From<&LoggedEntry> for TransparencyEntryDto {
    fn from(e: &LoggedEntry) -> Self {
        Self {
            uuid: e.leaf.uuid.clone(),
            index: e.leaf.index,
            timestamp: UnixTime::from_secs(e.leaf.integrated_time).to_string(),
            log_id: hex::encode(e.log_id),
            inclusion_proof: (&e.inclusion_proof).into(),
        }
    }
}

/// The signer of a signing.
#[derive(Serialize, ToSchema)]
pub struct SignerDto {
    /// Certificate identity (SAN).
    pub identity: String,
    /// OIDC issuer.
    pub issuer: String,
}

/// A completed signing.
#[derive(Serialize, ToSchema)]
pub struct SignResponse {
    /// The transparency entry id (its UUID): `GET /v1/transparency/{entry_id}`.
    pub entry_id: String,
    /// The signature, base64.
    pub signature: String,
    /// The short-lived signing certificate, PEM.
    pub certificate: String,
    /// Who signed.
    pub signer: SignerDto,
    /// The log entry.
    pub transparency_entry: TransparencyEntryDto,
    /// The Sigstore bundle (v0.3).
    #[schema(value_type = Object)]
    pub bundle: Value,
}

/// Signs an artifact digest, or an in-toto statement about it.
///
/// The signing is logged and recorded before the response, which carries the Sigstore bundle.
#[utoipa::path(post, path = "/v1/sign", request_body = SignBody, tag = "signing",
    responses((status = 201, body = SignResponse), (status = 400, body = crate::error::Problem),
              (status = 503, body = crate::error::Problem)))]
pub async fn sign(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody<SignBody>,
) -> Result<(StatusCode, Json<SignResponse>), ApiError> {
    let artifact = parse_digest("artifact", &body.artifact)?;
    let content = match (&body.predicate_type, body.predicate) {
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "request.predicate_without_type",
                "predicate requires predicate_type",
            ))
        }
        (None, None) => SignContent::Digest,
        (Some(t), predicate) => {
            let predicate = predicate.unwrap_or_else(|| Value::Object(Default::default()));
            if !predicate.is_object() {
                return Err(ApiError::bad_request(
                    "request.invalid_predicate",
                    "predicate must be a JSON object",
                ));
            }
            SignContent::InToto {
                predicate_type: t.clone(),
                predicate,
                subject_name: body.subject.clone().unwrap_or_else(|| body.artifact.clone()),
                additional_subjects: Vec::new(),
            }
        }
    };
    let result = state
        .sign(SignRequest {
            artifact,
            content,
            artifact_type: body.artifact_type,
            subject: body.subject,
            timestamp: state.config.timestamp_signatures,
            identity: None,
        })
        .await;
    let signed = match result {
        Ok(s) => {
            state.metrics.signing("ok");
            s
        }
        Err(e) => {
            state.metrics.signing(&e.code);
            return Err(e);
        }
    };
    tracing::info!(index = signed.entry.index, uuid = %signed.entry.uuid, "signed");
    let bundle = serde_json::from_str(&signed.bundle).unwrap_or(Value::Null);
    Ok((
        StatusCode::CREATED,
        Json(SignResponse {
            entry_id: signed.entry.uuid.clone(),
            signature: B64.encode(&signed.signature),
            certificate: signed.certificate_pem,
            signer: SignerDto {
                identity: signed.identity,
                issuer: signed.issuer,
            },
            transparency_entry: signed.entry,
            bundle,
        }),
    ))
}
