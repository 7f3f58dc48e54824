//! The OpenAPI document, generated from the handlers and types.

use crate::routes::{health, keys, permit, sign, transparency, verify};
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
    ),
    components(schemas(crate::error::Problem))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", responses((status = 200, body = Object)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
