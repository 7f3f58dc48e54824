//! The OpenAPI document, generated from the handlers and types.

use crate::routes::{fulcio, health, keys, permit, rekor, sign, transparency, verify};
use axum::Json;
use utoipa::OpenApi;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "certus-trust",
        description = "Sign, verify, log and gate uploads with Sigstore."
    ),
    paths(
        sign::sign,
        verify::verify,
        permit::verify_and_permit_upload,
        transparency::entry,
        transparency::search,
        transparency::checkpoint,
        transparency::consistency,
        keys::keys,
        keys::trusted_root,
        keys::trust_config,
        health::health,
        health::ready,
        health::metrics,
        openapi_json,
        fulcio::signing_cert,
        fulcio::trust_bundle,
        fulcio::configuration,
        fulcio::timestamp,
        fulcio::timestamp_chain,
        rekor::create_entry,
        rekor::entry_by_uuid,
        rekor::entry_by_index,
        rekor::retrieve_entries,
        rekor::search_index,
        rekor::log_info,
        rekor::log_proof,
        rekor::public_key,
        rekor::create_entry_v2,
        rekor::checkpoint_v2,
        rekor::tile,
        rekor::entry_bundle,
    ),
    components(schemas(crate::error::Problem))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", responses((status = 200, body = Object)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
