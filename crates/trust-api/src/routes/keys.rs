//! `GET /v1/keys...`: the service's public keys and trust material.

use crate::SharedState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One public key or certificate chain of the service.
#[derive(Serialize, ToSchema)]
pub struct KeyDto {
    /// What it is for: `transparency-log`, `certificate-transparency-log`, `certificate-authority`,
    /// `timestamp-authority`.
    pub role: String,
    /// Key id (SHA-256 of the SPKI, hex) for keys; of the first certificate's key for chains.
    pub key_id: Option<String>,
    /// The public key (PEM), for log keys.
    pub public_key: Option<String>,
    /// The chain (PEM, leaf-most first), for authorities.
    pub certificate_chain: Vec<String>,
    /// Start of validity, RFC 3339.
    pub valid_from: Option<String>,
    /// End of validity (retired keys), RFC 3339.
    pub valid_until: Option<String>,
    /// The URL it is published under.
    pub url: Option<String>,
}

/// Every key.
#[derive(Serialize, ToSchema)]
pub struct KeysResponse {
    /// The keys, current ones first.
    pub keys: Vec<KeyDto>,
}

fn pem_of(b64: &str, label: &str) -> Option<String> {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some(trust_core::crypto::pem_encode(label, &der))
}

/// The service's public keys with key ids and roles.
///
/// Derived from its trusted root, so the two never disagree.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", responses((status = 200, body = KeysResponse)))]
pub async fn keys(State(state): State<SharedState>) -> Json<KeysResponse> {
    let root = state.trusted_root_json();
    let mut keys = Vec::new();
    let validity = |v: &Value| {
        (
            v["start"].as_str().map(str::to_owned),
            v["end"].as_str().map(str::to_owned),
        )
    };
    for (list, role) in [
        ("tlogs", "transparency-log"),
        ("ctlogs", "certificate-transparency-log"),
    ] {
        for log in root[list].as_array().into_iter().flatten() {
            let (valid_from, valid_until) = validity(&log["publicKey"]["validFor"]);
            let key_id = log["logId"]["keyId"].as_str().and_then(|k| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(k)
                    .ok()
                    .map(hex::encode)
            });
            keys.push(KeyDto {
                role: role.into(),
                key_id,
                public_key: log["publicKey"]["rawBytes"]
                    .as_str()
                    .and_then(|k| pem_of(k, "PUBLIC KEY")),
                certificate_chain: Vec::new(),
                valid_from,
                valid_until,
                url: log["baseUrl"].as_str().map(str::to_owned),
            });
        }
    }
    for (list, role) in [
        ("certificateAuthorities", "certificate-authority"),
        ("timestampAuthorities", "timestamp-authority"),
    ] {
        for ca in root[list].as_array().into_iter().flatten() {
            let (valid_from, valid_until) = validity(&ca["validFor"]);
            let chain: Vec<String> = ca["certChain"]["certificates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["rawBytes"].as_str().and_then(|b| pem_of(b, "CERTIFICATE")))
                .collect();
            let key_id = chain
                .first()
                .and_then(|pem| trust_core::crypto::pem_decode(pem).ok())
                .and_then(|(_, der)| {
                    trust_core::x509::Certificate::from_der(&der)
                        .ok()
                        .map(|c| c.public_key().key_id())
                })
                .map(hex::encode);
            keys.push(KeyDto {
                role: role.into(),
                key_id,
                public_key: None,
                certificate_chain: chain,
                valid_from,
                valid_until,
                url: ca["uri"].as_str().map(str::to_owned),
            });
        }
    }
    Json(KeysResponse { keys })
}

/// The `trusted_root.json` that verifies everything this service signs.
#[utoipa::path(get, path = "/v1/keys/trusted-root", tag = "keys", responses((status = 200, body = Object)))]
pub async fn trusted_root(State(state): State<SharedState>) -> Json<Value> {
    Json(state.trusted_root_json())
}

/// The sigstore-python `ClientTrustConfig` (trusted root + signing config).
#[utoipa::path(get, path = "/v1/keys/trust-config", tag = "keys", responses((status = 200, body = Object)))]
pub async fn trust_config(State(state): State<SharedState>) -> Json<Value> {
    Json(state.client_trust_config_json())
}
