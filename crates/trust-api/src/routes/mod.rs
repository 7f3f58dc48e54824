//! Route handlers, one module per area of the API.

use crate::error::ApiError;
use crate::SharedState;
use axum::routing::{get, post};
use axum::Router;
use trust_core::crypto::{Digest, HashAlgorithm};

pub mod fulcio;
pub mod health;
pub mod keys;
pub mod permit;
pub mod rekor;
pub mod sign;
pub mod transparency;
pub mod verify;

/// Every route of the API (without middleware).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/sign", post(sign::sign))
        .route("/v1/verify", post(verify::verify))
        .route("/v1/verify-and-permit-upload", post(permit::verify_and_permit_upload))
        .route("/v1/transparency", get(transparency::search))
        .route("/v1/transparency/checkpoint", get(transparency::checkpoint))
        .route("/v1/transparency/proof", get(transparency::consistency))
        .route("/v1/transparency/{entry_id}", get(transparency::entry))
        .route("/v1/keys", get(keys::keys))
        .route("/v1/keys/trusted-root", get(keys::trusted_root))
        .route("/v1/keys/trust-config", get(keys::trust_config))
        .route("/v1/health", get(health::health))
        .route("/v1/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .route("/v1/openapi.json", get(crate::openapi::openapi_json))
        // The standard Sigstore protocols (local mode as a private Sigstore).
        .route("/api/v2/signingCert", post(fulcio::signing_cert))
        .route("/api/v2/trustBundle", get(fulcio::trust_bundle))
        .route("/api/v2/configuration", get(fulcio::configuration))
        .route("/api/v1/timestamp", post(fulcio::timestamp))
        .route("/api/v1/timestamp/certchain", get(fulcio::timestamp_chain))
        .route("/api/v1/log", get(rekor::log_info))
        .route("/api/v1/log/publicKey", get(rekor::public_key))
        .route("/api/v1/log/proof", get(rekor::log_proof))
        .route(
            "/api/v1/log/entries",
            post(rekor::create_entry).get(rekor::entry_by_index),
        )
        .route("/api/v1/log/entries/retrieve", post(rekor::retrieve_entries))
        .route("/api/v1/log/entries/{uuid}", get(rekor::entry_by_uuid))
        .route("/api/v1/index/retrieve", post(rekor::search_index))
        .route("/api/v2/log/entries", post(rekor::create_entry_v2))
        .route("/api/v2/checkpoint", get(rekor::checkpoint_v2))
        .route("/api/v2/tile/entries/{*index}", get(rekor::entry_bundle))
        .route("/api/v2/tile/{level}/{*index}", get(rekor::tile))
}

/// Parses `sha256:<64 lowercase hex>` with a specific error naming the field.
pub(crate) fn parse_digest(field: &str, value: &str) -> Result<Digest, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "request.invalid_digest",
            format!("{field} must be \"sha256:\" followed by 64 lowercase hex digits, got {value:?}"),
        )
    };
    let hex_part = value.strip_prefix("sha256:").ok_or_else(bad)?;
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad());
    }
    let bytes = hex::decode(hex_part).map_err(|_| bad())?;
    Digest::new(HashAlgorithm::Sha256, &bytes).ok_or_else(bad)
}

/// Decodes standard base64 with a specific error naming the field.
pub(crate) fn parse_base64(field: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| ApiError::bad_request("request.invalid_base64", format!("{field} is not valid base64: {e}")))
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> i64 {
    trust_sigstore::embedded::now().secs()
}
