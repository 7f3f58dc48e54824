//! The embedded transparency log over the Rekor v1 REST protocol (`/api/v1/log...`,
//! `/api/v1/index/retrieve`), in Rekor's OpenAPI JSON shapes, for sigstore-python and cosign.
//!
//! Limits: `index/retrieve` searches by `hash` only (the store indexes artifact digests, not
//! keys or emails); `entries/retrieve` takes `entryUUIDs` and `logIndexes` (not `entries`).

use crate::error::{ApiError, JsonBody};
use crate::SharedState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use trust_core::crypto::pem_encode;
use trust_sigstore::embedded::local::tlog_entry_json;
use trust_sigstore::embedded::local::{LocalError, MAX_PROPOSED_ENTRY};
use trust_sigstore::embedded::log::InclusionProof;
use trust_sigstore::embedded::store::{LogLeaf, LogStore};

/// Most UUIDs / indexes / results in one retrieve request.
const MAX_RETRIEVE: usize = 100;

/// Rekor's `LogEntry`: `{uuid: LogEntryAnon}`.
fn log_entry(leaf: &LogLeaf, log_id: &[u8], proof: &InclusionProof) -> Value {
    let mut m = Map::new();
    m.insert(
        leaf.uuid.clone(),
        json!({
            "body": B64.encode(&leaf.body),
            "integratedTime": leaf.integrated_time,
            "logID": hex::encode(log_id),
            "logIndex": leaf.index,
            "verification": {
                "signedEntryTimestamp": B64.encode(&leaf.signed_entry_timestamp),
                "inclusionProof": {
                    "checkpoint": proof.checkpoint,
                    "hashes": proof.hashes.iter().map(hex::encode).collect::<Vec<_>>(),
                    "logIndex": proof.log_index,
                    "rootHash": hex::encode(proof.root_hash),
                    "treeSize": proof.tree_size,
                },
            },
        }),
    );
    Value::Object(m)
}

async fn entry_with_proof(state: &SharedState, leaf: &LogLeaf) -> Result<Value, ApiError> {
    let log = state.local()?.log();
    let proof = log.inclusion_proof(leaf.index, None).await?;
    Ok(log_entry(leaf, &log.log_id(), &proof))
}

/// An error in Rekor's shape, `{"code": <HTTP status>, "message": ...}` (what Rekor clients such
/// as cosign decode), with certus-trust's stable code as `certus_code`; a 409 carries the
/// existing entry's `Location`, as Rekor's does.
#[derive(Debug)]
pub struct RekorError {
    error: ApiError,
    location: Option<String>,
}

impl<E: Into<ApiError>> From<E> for RekorError {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
            location: None,
        }
    }
}

impl IntoResponse for RekorError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.error.status.as_u16(),
            "message": self.error.detail,
            "certus_code": self.error.code,
        });
        let mut resp = (self.error.status, Json(body)).into_response();
        if let Some(l) = self.location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
            resp.headers_mut().insert(header::LOCATION, l);
        }
        resp
    }
}

fn rekor_error(e: LocalError) -> RekorError {
    match &e {
        LocalError::Duplicate(uuid) => RekorError {
            error: ApiError::new(
                StatusCode::CONFLICT,
                e.code(),
                format!("an equivalent entry already exists in the transparency log with UUID {uuid}"),
            ),
            location: Some(format!("/api/v1/log/entries/{uuid}")),
        },
        _ => e.into(),
    }
}

/// Rekor v1 `createLogEntry`: checks the proposed `hashedrekord` / `dsse` 0.0.1 entry, appends
/// its canonical form, answers 201 with the entry, its SET and inclusion proof.
#[utoipa::path(post, path = "/api/v1/log/entries", tag = "rekor",
    responses((status = 201, description = "LogEntry"), (status = 400, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn create_entry(
    State(state): State<SharedState>,
    JsonBody(proposed): JsonBody<Value>,
) -> Result<Response, RekorError> {
    if proposed.to_string().len() > MAX_PROPOSED_ENTRY {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            "the proposed entry is too large",
        )
        .into());
    }
    let entry = state.local()?.append_proposed(&proposed).await.map_err(rekor_error)?;
    let body = log_entry(&entry.leaf, &entry.log_id, &entry.inclusion_proof);
    let location = format!("/api/v1/log/entries/{}", entry.leaf.uuid);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

fn parse_uuid(uuid: &str) -> Result<String, ApiError> {
    // Rekor's sharded entry ids are a 16-hex-digit tree id followed by the 64-digit uuid.
    let u = match uuid.len() {
        80 => uuid.get(16..).unwrap_or(uuid),
        _ => uuid,
    };
    if u.len() != 64 || !u.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "rekor.invalid_uuid",
            format!("{uuid:?} is not an entry UUID (64 hex digits)"),
        ));
    }
    Ok(u.to_ascii_lowercase())
}

async fn leaf_by_uuid(state: &SharedState, uuid: &str) -> Result<Option<LogLeaf>, ApiError> {
    Ok(state.local()?.log().store().leaf_by_uuid(&parse_uuid(uuid)?).await?)
}

fn not_found(what: String) -> ApiError {
    ApiError::not_found("rekor.entry_not_found", format!("no entry {what}"))
}

/// Rekor v1 `getLogEntryByUUID`.
#[utoipa::path(get, path = "/api/v1/log/entries/{uuid}", tag = "rekor",
    params(("uuid" = String, Path, description = "entry UUID")),
    responses((status = 200, description = "LogEntry"), (status = 404, body = crate::error::Problem)))]
pub async fn entry_by_uuid(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, RekorError> {
    let leaf = leaf_by_uuid(&state, &uuid).await?.ok_or_else(|| not_found(uuid))?;
    Ok(Json(entry_with_proof(&state, &leaf).await?))
}

/// Query of `GET /api/v1/log/entries`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct IndexQuery {
    /// The entry's log index.
    log_index: Option<u64>,
}

/// Rekor v1 `getLogEntryByIndex`.
#[utoipa::path(get, path = "/api/v1/log/entries", tag = "rekor", params(IndexQuery),
    responses((status = 200, description = "LogEntry"), (status = 404, body = crate::error::Problem)))]
pub async fn entry_by_index(
    State(state): State<SharedState>,
    Query(q): Query<IndexQuery>,
) -> Result<Json<Value>, RekorError> {
    let index = q
        .log_index
        .ok_or_else(|| ApiError::bad_request("rekor.missing_log_index", "query parameter logIndex is required"))?;
    let leaf = state
        .local()?
        .log()
        .store()
        .leaf(index)
        .await?
        .ok_or_else(|| not_found(format!("at index {index}")))?;
    Ok(Json(entry_with_proof(&state, &leaf).await?))
}

/// Body of `POST /api/v1/log/entries/retrieve`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrieveRequest {
    #[serde(default, rename = "entryUUIDs")]
    entry_uuids: Vec<String>,
    #[serde(default)]
    log_indexes: Vec<u64>,
    #[serde(default)]
    entries: Vec<Value>,
}

/// Rekor v1 `searchLogQuery`: the entries for the given UUIDs and indexes (missing ones are
/// left out, as Rekor does).
#[utoipa::path(post, path = "/api/v1/log/entries/retrieve", tag = "rekor",
    responses((status = 200, description = "array of LogEntry"), (status = 400, body = crate::error::Problem)))]
pub async fn retrieve_entries(
    State(state): State<SharedState>,
    JsonBody(req): JsonBody<RetrieveRequest>,
) -> Result<Json<Vec<Value>>, RekorError> {
    if !req.entries.is_empty() {
        return Err(ApiError::bad_request(
            "rekor.unsupported_search",
            "searching by proposed entries is not supported; use entryUUIDs or logIndexes",
        )
        .into());
    }
    if req.entry_uuids.len() + req.log_indexes.len() > MAX_RETRIEVE {
        return Err(ApiError::bad_request(
            "rekor.too_many",
            format!("at most {MAX_RETRIEVE} UUIDs and indexes per request"),
        )
        .into());
    }
    let mut out = Vec::new();
    for uuid in &req.entry_uuids {
        if let Some(leaf) = leaf_by_uuid(&state, uuid).await? {
            out.push(entry_with_proof(&state, &leaf).await?);
        }
    }
    for &i in &req.log_indexes {
        if let Some(leaf) = state.local()?.log().store().leaf(i).await? {
            out.push(entry_with_proof(&state, &leaf).await?);
        }
    }
    Ok(Json(out))
}

/// Body of `POST /api/v1/index/retrieve`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexRequest {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    public_key: Option<Value>,
    #[serde(default)]
    email: Option<String>,
}

/// Rekor v1 `searchIndex`: the UUIDs of every entry for an artifact `hash` (`sha256:<hex>` or
/// bare hex). Searching by `publicKey` or `email` is not supported (400).
#[utoipa::path(post, path = "/api/v1/index/retrieve", tag = "rekor",
    responses((status = 200, description = "array of UUIDs"), (status = 400, body = crate::error::Problem)))]
pub async fn search_index(
    State(state): State<SharedState>,
    JsonBody(req): JsonBody<IndexRequest>,
) -> Result<Json<Vec<String>>, RekorError> {
    if req.public_key.is_some() || req.email.is_some() {
        return Err(ApiError::bad_request(
            "rekor.unsupported_search",
            "this log indexes artifact hashes only; search by hash",
        )
        .into());
    }
    let hash = req
        .hash
        .ok_or_else(|| ApiError::bad_request("rekor.missing_hash", "send a hash (sha256:<hex>)"))?;
    let prefixed = if hash.contains(':') {
        hash
    } else {
        format!("sha256:{hash}")
    };
    let digest = super::parse_digest("hash", &prefixed.to_ascii_lowercase())?;
    let leaves = state
        .local()?
        .log()
        .store()
        .leaves_by_digest(&digest.to_string())
        .await?;
    Ok(Json(leaves.into_iter().map(|l| l.uuid).collect()))
}

/// Rekor v1 `getLogInfo`.
#[utoipa::path(get, path = "/api/v1/log", tag = "rekor", responses((status = 200, description = "LogInfo")))]
pub async fn log_info(State(state): State<SharedState>) -> Result<Json<Value>, RekorError> {
    let log = state.local()?.log();
    let cp = log.checkpoint().await?;
    Ok(Json(json!({
        "rootHash": hex::encode(cp.root_hash),
        "treeSize": cp.tree_size,
        "signedTreeHead": cp.note,
        "treeID": log.config().tree_id.to_string(),
        "inactiveShards": [],
    })))
}

/// Query of `GET /api/v1/log/proof`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ProofQuery {
    /// Older size (default 1).
    first_size: Option<u64>,
    /// Newer size.
    last_size: Option<u64>,
}

/// Rekor v1 `getLogProof`: consistency proof and the root at `lastSize`.
#[utoipa::path(get, path = "/api/v1/log/proof", tag = "rekor", params(ProofQuery),
    responses((status = 200, description = "ConsistencyProof"), (status = 400, body = crate::error::Problem)))]
pub async fn log_proof(
    State(state): State<SharedState>,
    Query(q): Query<ProofQuery>,
) -> Result<Json<Value>, RekorError> {
    let last = q
        .last_size
        .ok_or_else(|| ApiError::bad_request("rekor.missing_last_size", "query parameter lastSize is required"))?;
    let first = q.first_size.unwrap_or(1);
    let log = state.local()?.log();
    let hashes = log.consistency_proof(first, last).await?;
    let root = log.root_at(last).await?;
    Ok(Json(json!({
        "rootHash": hex::encode(root),
        "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

/// Rekor v1 `getPublicKey`: the log key, PEM.
#[utoipa::path(get, path = "/api/v1/log/publicKey", tag = "rekor",
    responses((status = 200, content_type = "application/x-pem-file")))]
pub async fn public_key(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let pem = pem_encode("PUBLIC KEY", state.local()?.log().public_key_der());
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response())
}

/// Rekor v2 `CreateEntry`: a `hashedRekordRequestV002` checked and logged as `hashedrekord`
/// 0.0.2; answers the `TransparencyLogEntry` (protobuf JSON) with its inclusion proof and
/// checkpoint, without an inclusion promise or integrated time (as Rekor v2: a signed timestamp
/// from a TSA is the time evidence).
#[utoipa::path(post, path = "/api/v2/log/entries", tag = "rekor",
    responses((status = 201, description = "TransparencyLogEntry"), (status = 400, body = crate::error::Problem)))]
pub async fn create_entry_v2(
    State(state): State<SharedState>,
    JsonBody(request): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let entry = state.local()?.append_proposed_v2(&request).await?;
    let mut body = tlog_entry_json(&entry);
    if let Some(o) = body.as_object_mut() {
        // A Rekor v2 answer: no inclusion promise, no integrated time.
        o.remove("inclusionPromise");
        o.remove("integratedTime");
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Rekor v2 `GET /api/v2/checkpoint`: the latest signed checkpoint (C2SP signed note).
#[utoipa::path(get, path = "/api/v2/checkpoint", tag = "rekor",
    responses((status = 200, content_type = "text/plain")))]
pub async fn checkpoint_v2(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let cp = state.local()?.log().checkpoint().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], cp.note).into_response())
}

/// Width of a full tile (tlog-tiles).
const TILE_WIDTH: u64 = 256;

/// Parses a tlog-tiles index path (`x001/x234/067`, optionally followed by `.p/<width>`) into
/// the tile index and the requested width.
fn parse_tile_path(path: &str) -> Result<(u64, u64), ApiError> {
    let bad = || ApiError::bad_request("rekor.invalid_tile_path", format!("{path:?} is not a tile index path"));
    let mut parts: Vec<&str> = path.split('/').collect();
    let mut width = TILE_WIDTH;
    if parts.len() >= 2 && parts[parts.len() - 2].ends_with(".p") {
        let w: u64 = parts.pop().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
        if w == 0 || w >= TILE_WIDTH {
            return Err(bad());
        }
        width = w;
        let last = parts.pop().ok_or_else(bad)?;
        parts.push(last.strip_suffix(".p").ok_or_else(bad)?);
    }
    let (last, prefix) = parts.split_last().ok_or_else(bad)?;
    let mut index: u64 = 0;
    for p in prefix {
        let d = p.strip_prefix('x').filter(|d| d.len() == 3).ok_or_else(bad)?;
        index = index
            .checked_mul(1000)
            .and_then(|i| i.checked_add(d.parse::<u64>().ok()?))
            .ok_or_else(bad)?;
    }
    if last.len() != 3 {
        return Err(bad());
    }
    let d: u64 = last.parse().map_err(|_| bad())?;
    index = index.checked_mul(1000).and_then(|i| i.checked_add(d)).ok_or_else(bad)?;
    Ok((index, width))
}

fn tile_not_found(what: &str) -> ApiError {
    ApiError::not_found("rekor.tile_not_found", format!("the log has no {what} yet"))
}

/// tlog-tiles hash tile: `width` hashes of the level-`8 * level` subtrees starting at
/// `index * 256`, concatenated (served only when all of them are complete).
#[utoipa::path(get, path = "/api/v2/tile/{level}/{index}", tag = "rekor",
    params(("level" = u8, Path, description = "tile level"), ("index" = String, Path, description = "tile index path, e.g. x001/234 or 005.p/17")),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = crate::error::Problem)))]
pub async fn tile(
    State(state): State<SharedState>,
    Path((level, path)): Path<(u8, String)>,
) -> Result<Response, ApiError> {
    let (index, width) = parse_tile_path(&path)?;
    let node_level = u32::from(level) * 8;
    if node_level >= 64 {
        return Err(ApiError::bad_request(
            "rekor.invalid_tile_path",
            "tile level out of range",
        ));
    }
    let store = state.local()?.log().store();
    let size = store.tree_size().await?;
    let first = index
        .checked_mul(TILE_WIDTH)
        .ok_or_else(|| tile_not_found("such tile"))?;
    let nodes_at_level = size >> node_level;
    if first.checked_add(width).is_none_or(|end| end > nodes_at_level) {
        return Err(tile_not_found("such tile"));
    }
    let ids: Vec<_> = (first..first + width)
        .map(|i| trust_sigstore::embedded::store::NodeId {
            level: node_level as u8,
            index: i,
        })
        .collect();
    let hashes = store.nodes(&ids).await?;
    let body: Vec<u8> = hashes.concat();
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

/// tlog-tiles entry bundle: the canonicalized bodies of entries `index * 256 ..`, each as a
/// big-endian 16-bit length and the bytes.
#[utoipa::path(get, path = "/api/v2/tile/entries/{index}", tag = "rekor",
    params(("index" = String, Path, description = "tile index path")),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = crate::error::Problem)))]
pub async fn entry_bundle(State(state): State<SharedState>, Path(path): Path<String>) -> Result<Response, ApiError> {
    let (index, width) = parse_tile_path(&path)?;
    let store = state.local()?.log().store();
    let size = store.tree_size().await?;
    let first = index
        .checked_mul(TILE_WIDTH)
        .ok_or_else(|| tile_not_found("such entries"))?;
    if first.checked_add(width).is_none_or(|end| end > size) {
        return Err(tile_not_found("such entries"));
    }
    let mut body = Vec::new();
    for i in first..first + width {
        let leaf = store.leaf(i).await?.ok_or_else(|| tile_not_found("such entries"))?;
        let len = u16::try_from(leaf.body.len()).map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "rekor.entry_too_large",
                format!("entry {i} is longer than an entry bundle can hold"),
            )
        })?;
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(&leaf.body);
    }
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_parse_as_tlog_tiles_names_them() {
        let ok = |p: &str| parse_tile_path(p).map_err(|e| e.detail);
        assert_eq!(ok("000"), Ok((0, 256)));
        assert_eq!(ok("x001/x234/067"), Ok((1_234_067, 256)));
        assert_eq!(ok("005.p/17"), Ok((5, 17)));
        assert_eq!(ok("x001/002.p/255"), Ok((1002, 255)));
        for bad in ["5", "005.p/0", "005.p/256", "y001/002", "x01/002", "005/", "abc"] {
            assert!(parse_tile_path(bad).is_err(), "{bad}");
        }
    }
}
