//! Rekor v1 entry bodies, as the embedded log stores them (canonical JSON: sorted keys, no
//! whitespace), and the signed entry timestamp payload.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::json;
use trust_core::crypto::{sha256, Digest};

/// Entry kind and version as a bundle's `kindVersion` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// `hashedrekord` 0.0.1: a signature over an artifact digest.
    HashedRekord,
    /// `dsse` 0.0.1: a DSSE envelope.
    Dsse,
    /// `hashedrekord` 0.0.2 (Rekor v2): a signature over a digest, protobuf-JSON body.
    HashedRekordV002,
}

impl EntryKind {
    /// The Rekor kind.
    pub fn kind(self) -> &'static str {
        match self {
            Self::HashedRekord | Self::HashedRekordV002 => "hashedrekord",
            Self::Dsse => "dsse",
        }
    }

    /// The Rekor API version of the kind.
    pub fn version(self) -> &'static str {
        match self {
            Self::HashedRekordV002 => "0.0.2",
            _ => "0.0.1",
        }
    }
}

fn canonical(value: &serde_json::Value) -> Vec<u8> {
    // serde_json's map is a BTreeMap (no `preserve_order`): keys come out sorted, and
    // `to_vec` writes no whitespace, which is RFC 8785 for these string-only documents.
    serde_json::to_vec(value).unwrap_or_default()
}

/// `hashedrekord` 0.0.1 body for `signature` over `digest`, verified by the PEM certificate.
pub fn hashedrekord_v001(digest: &Digest, signature: &[u8], cert_pem: &str) -> Vec<u8> {
    canonical(&json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": digest.algorithm().name(), "value": hex::encode(digest.as_bytes())}},
            "signature": {"content": B64.encode(signature), "publicKey": {"content": B64.encode(cert_pem)}},
        },
    }))
}

/// `dsse` 0.0.1 body for an envelope (`envelope_json` as stored in the bundle) with its decoded
/// `payload` and signatures, verified by the PEM certificate.
pub fn dsse_v001(envelope_json: &[u8], payload: &[u8], signatures: &[&[u8]], cert_pem: &str) -> Vec<u8> {
    let pairs: Vec<(&[u8], &str)> = signatures.iter().map(|s| (*s, cert_pem)).collect();
    dsse_v001_with(envelope_json, payload, &pairs)
}

/// `dsse` 0.0.1 body with each signature paired with the PEM verifier (certificate or public
/// key) that verifies it.
pub fn dsse_v001_with(envelope_json: &[u8], payload: &[u8], signatures: &[(&[u8], &str)]) -> Vec<u8> {
    let sigs: Vec<_> = signatures
        .iter()
        .map(|(s, pem)| json!({"signature": B64.encode(s), "verifier": B64.encode(pem)}))
        .collect();
    canonical(&json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex::encode(sha256(envelope_json))},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(sha256(payload))},
            "signatures": sigs,
        },
    }))
}

/// `hashedrekord` 0.0.2 body (Rekor v2): `algorithm` is the protobuf name (`SHA2_256` ...),
/// `verifier` the protobuf-JSON verifier (`keyDetails` and `x509Certificate` or `publicKey`).
pub fn hashedrekord_v002(algorithm: &str, digest: &[u8], signature: &[u8], verifier: serde_json::Value) -> Vec<u8> {
    canonical(&json!({
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {"hashedRekordV002": {
            "data": {"algorithm": algorithm, "digest": B64.encode(digest)},
            "signature": {"content": B64.encode(signature), "verifier": verifier},
        }},
    }))
}

/// The canonical JSON a signed entry timestamp signs.
pub fn set_payload(body: &[u8], integrated_time: i64, log_id: &[u8], log_index: u64) -> Vec<u8> {
    canonical(&json!({
        "body": B64.encode(body),
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
    }))
}
