//! `GET /v1/transparency...`: entries, search by digest, checkpoint, consistency proofs.

use super::parse_digest;
use super::sign::InclusionProofDto;
use crate::error::ApiError;
use crate::SharedState;
use axum::extract::{Path, Query, State};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trust_core::time::UnixTime;
use trust_sigstore::embedded::store::{LogLeaf, LogStore};
use utoipa::{IntoParams, ToSchema};

/// A log entry.
#[derive(Serialize, ToSchema)]
pub struct EntryDto {
    /// Entry UUID (hex leaf hash).
    pub uuid: String,
    /// Log index.
    pub index: u64,
    /// The logged artifact digest.
    pub artifact: String,
    /// Integrated time, RFC 3339.
    pub integrated_time: String,
    /// Integrated time, Unix seconds.
    pub integrated_time_unix: i64,
    /// The canonicalized Rekor body, base64 (what the leaf hash covers).
    pub body: String,
    /// The same body, decoded.
    #[schema(value_type = Object)]
    pub body_json: Value,
    /// The signed entry timestamp, base64.
    pub signed_entry_timestamp: String,
    /// Inclusion proof against the latest checkpoint (with `include_proof=true`).
    pub inclusion_proof: Option<InclusionProofDto>,
}

fn entry_dto(leaf: LogLeaf, proof: Option<InclusionProofDto>) -> EntryDto {
    EntryDto {
        uuid: leaf.uuid,
        index: leaf.index,
        artifact: leaf.artifact_digest,
        integrated_time: UnixTime::from_secs(leaf.integrated_time).to_string(),
        integrated_time_unix: leaf.integrated_time,
        body: B64.encode(&leaf.body),
        body_json: serde_json::from_slice(&leaf.body).unwrap_or(Value::Null),
        signed_entry_timestamp: B64.encode(&leaf.signed_entry_timestamp),
        inclusion_proof: proof,
    }
}

/// Query of `GET /v1/transparency/{entry_id}`.
#[derive(Deserialize, IntoParams)]
pub struct EntryQuery {
    /// Include an inclusion proof against the latest checkpoint.
    include_proof: Option<bool>,
}

/// One entry by UUID (64 hex digits) or by log index, optionally with its inclusion proof.
#[utoipa::path(get, path = "/v1/transparency/{entry_id}", tag = "transparency",
    params(("entry_id" = String, Path, description = "entry UUID or log index"), EntryQuery),
    responses((status = 200, body = EntryDto), (status = 404, body = crate::error::Problem)))]
pub async fn entry(
    State(state): State<SharedState>,
    Path(entry_id): Path<String>,
    Query(q): Query<EntryQuery>,
) -> Result<Json<EntryDto>, ApiError> {
    let store = state.local()?.log().store();
    let leaf = if entry_id.len() == 64 && entry_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        store.leaf_by_uuid(&entry_id.to_ascii_lowercase()).await?
    } else if let Ok(index) = entry_id.parse::<u64>() {
        store.leaf(index).await?
    } else {
        return Err(ApiError::bad_request(
            "request.invalid_entry_id",
            format!("entry id must be a 64-hex-digit UUID or a log index, got {entry_id:?}"),
        ));
    };
    let leaf =
        leaf.ok_or_else(|| ApiError::not_found("transparency.entry_not_found", format!("no entry {entry_id}")))?;
    let proof = if q.include_proof.unwrap_or(false) {
        Some((&state.local()?.log().inclusion_proof(leaf.index, None).await?).into())
    } else {
        None
    };
    Ok(Json(entry_dto(leaf, proof)))
}

/// Query of `GET /v1/transparency`.
#[derive(Deserialize, IntoParams)]
pub struct SearchQuery {
    /// The artifact digest, `sha256:<hex>`.
    artifact: Option<String>,
}

/// Every entry for a digest.
#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    /// The digest searched.
    pub artifact: String,
    /// Every matching entry, by index.
    pub entries: Vec<EntryDto>,
}

/// Every log entry for an artifact digest (not only the first).
#[utoipa::path(get, path = "/v1/transparency", tag = "transparency", params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400, body = crate::error::Problem)))]
pub async fn search(
    State(state): State<SharedState>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchResponse>, ApiError> {
    let artifact = q.artifact.ok_or_else(|| {
        ApiError::bad_request(
            "request.missing_artifact",
            "query parameter artifact=sha256:<hex> is required",
        )
    })?;
    let digest = parse_digest("artifact", &artifact)?;
    let leaves = state
        .local()?
        .log()
        .store()
        .leaves_by_digest(&digest.to_string())
        .await?;
    Ok(Json(SearchResponse {
        artifact: digest.to_string(),
        entries: leaves.into_iter().map(|l| entry_dto(l, None)).collect(),
    }))
}

/// A signed checkpoint.
#[derive(Serialize, ToSchema)]
pub struct CheckpointDto {
    /// Tree size.
    pub tree_size: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// The signed note (C2SP checkpoint).
    pub checkpoint: String,
    /// When it was signed, RFC 3339.
    pub created: String,
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/v1/transparency/checkpoint", tag = "transparency",
    responses((status = 200, body = CheckpointDto)))]
pub async fn checkpoint(State(state): State<SharedState>) -> Result<Json<CheckpointDto>, ApiError> {
    let cp = state.local()?.log().checkpoint().await?;
    Ok(Json(CheckpointDto {
        tree_size: cp.tree_size,
        root_hash: hex::encode(cp.root_hash),
        checkpoint: cp.note,
        created: UnixTime::from_secs(cp.created).to_string(),
    }))
}

/// Query of `GET /v1/transparency/proof`.
#[derive(Deserialize, IntoParams)]
pub struct ProofQuery {
    /// The older tree size.
    from: Option<u64>,
    /// The newer tree size.
    to: Option<u64>,
}

/// A consistency proof.
#[derive(Serialize, ToSchema)]
pub struct ConsistencyDto {
    /// Older size.
    pub from: u64,
    /// Newer size.
    pub to: u64,
    /// RFC 9162 consistency proof, hex.
    pub hashes: Vec<String>,
    /// The root at `from`, hex, when a checkpoint was handed out for that size.
    pub from_root: Option<String>,
    /// The root at `to`, hex, when a checkpoint was handed out for that size.
    pub to_root: Option<String>,
}

/// RFC 9162 consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/transparency/proof", tag = "transparency", params(ProofQuery),
    responses((status = 200, body = ConsistencyDto), (status = 400, body = crate::error::Problem)))]
pub async fn consistency(
    State(state): State<SharedState>,
    Query(q): Query<ProofQuery>,
) -> Result<Json<ConsistencyDto>, ApiError> {
    let (Some(from), Some(to)) = (q.from, q.to) else {
        return Err(ApiError::bad_request(
            "request.missing_sizes",
            "query parameters from and to are required",
        ));
    };
    let log = state.local()?.log();
    let hashes = log.consistency_proof(from, to).await?;
    let root = |n: u64| async move {
        log.store()
            .checkpoint(n)
            .await
            .map(|c| c.map(|c| hex::encode(c.root_hash)))
    };
    Ok(Json(ConsistencyDto {
        from,
        to,
        hashes: hashes.iter().map(hex::encode).collect(),
        from_root: root(from).await?,
        to_root: root(to).await?,
    }))
}
