//! Rekor v2 (rekor-tiles) client: `POST /api/v2/log/entries` with `hashedrekord` 0.0.2 or
//! `dsse` 0.0.2 requests, and the tile-based read API (`/api/v2/checkpoint`,
//! `/api/v2/tile/{L}/{N}`, `/api/v2/tile/entries/{N}`, C2SP tlog-tiles).
//!
//! A created entry (a `TransparencyLogEntry`) is verified before it is returned: a log of the
//! trusted root with its log id, its inclusion proof against a checkpoint signed by that log,
//! and its canonicalized body recording exactly what was submitted. v2 entries have no signed
//! entry timestamp and no integrated time: signing time comes from a TSA.

use super::error::ClientError;
use super::http::{HttpClient, Idempotency, Service};
use super::rekor::{LogEndpoint, ProposedEntry, VerifiedEntry, VerifiedInclusionProof};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::{Decode, Encode};
use serde::Deserialize;
use serde_json::{json, Value};
use trust_core::crypto::{KeyKind, PublicKey};
use trust_core::tlog::{leaf_hash, verify_inclusion_with_checkpoint, Checkpoint, TlogError};
use trust_core::trust_root::TrustedRoot;

/// Entries per full tile / entry bundle (C2SP tlog-tiles).
pub const TILE_WIDTH: u64 = 256;

/// The C2SP tlog-tiles path of tile index `n`: three-digit groups, all but the last prefixed
/// with `x` (`1234067` -> `x001/x234/067`).
pub fn tile_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The Rekor v2 `keyDetails` name for a public key.
fn key_details(key: &PublicKey) -> &'static str {
    match key.kind() {
        KeyKind::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
        KeyKind::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
        KeyKind::EcdsaP521 => "PKIX_ECDSA_P521_SHA_512",
        KeyKind::Ed25519 => "PKIX_ED25519",
        KeyKind::Rsa { bits: 3072 } => "PKIX_RSA_PKCS1V15_3072_SHA256",
        KeyKind::Rsa { bits: 4096 } => "PKIX_RSA_PKCS1V15_4096_SHA256",
        KeyKind::Rsa { .. } => "PKIX_RSA_PKCS1V15_2048_SHA256",
    }
}

/// The v2 `Verifier` JSON for the entry's verifier (certificate or public key).
fn verifier_json(entry: &ProposedEntry) -> Result<Value, String> {
    let (der, is_cert) = entry.verifier()?;
    let spki = if is_cert {
        let cert = x509_cert::Certificate::from_der(&der).map_err(|e| format!("verifier certificate: {e}"))?;
        cert.tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| format!("verifier certificate: {e}"))?
    } else {
        der.clone()
    };
    let key = PublicKey::from_spki_der(&spki).map_err(|e| format!("verifier key: {e}"))?;
    let field = if is_cert { "x509Certificate" } else { "publicKey" };
    Ok(json!({field: {"rawBytes": B64.encode(&der)}, "keyDetails": key_details(&key)}))
}

/// The `CreateEntryRequest` JSON for `entry`.
pub fn create_entry_request(entry: &ProposedEntry) -> Result<Value, String> {
    let verifier = verifier_json(entry)?;
    Ok(match entry {
        ProposedEntry::HashedRekord { digest, signature, .. } => json!({
            "hashedRekordRequestV002": {
                "digest": B64.encode(digest.as_bytes()),
                "signature": {"content": B64.encode(signature), "verifier": verifier},
            }
        }),
        ProposedEntry::Dsse { envelope_json, .. } => {
            let env = ProposedEntry::envelope(envelope_json)?;
            json!({
                "dsseRequestV002": {
                    "envelope": {
                        "payload": env.payload,
                        "payloadType": env.payload_type,
                        "signatures": env.signatures.iter().map(|s| json!({"sig": s.sig, "keyid": ""})).collect::<Vec<_>>(),
                    },
                    "verifiers": [verifier],
                }
            })
        }
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    log_index: Option<String>,
    log_id: RawLogId,
    kind_version: RawKindVersion,
    inclusion_proof: Option<RawProof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    log_index: Option<String>,
    root_hash: String,
    tree_size: String,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: String,
}

/// A client of one Rekor v2 instance, verifying against the trusted root's transparency logs.
#[derive(Clone, Debug)]
pub struct RekorV2Client {
    ep: LogEndpoint,
}

impl RekorV2Client {
    /// A client for the Rekor v2 log at `base_url` (e.g. `https://log2025-1.rekor.sigstore.dev`).
    pub fn new(base_url: &str, http: HttpClient, trusted_root: &TrustedRoot) -> RekorV2Client {
        RekorV2Client {
            ep: LogEndpoint::new(base_url, http, trusted_root),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.ep.base_url
    }

    /// `POST /api/v2/log/entries`: logs `entry` and returns the verified entry (its
    /// [`VerifiedEntry::to_bundle_json`] is the bundle's `tlogEntries[]` element).
    pub async fn create_entry(&self, entry: &ProposedEntry) -> Result<VerifiedEntry, ClientError> {
        let url = format!("{}/api/v2/log/entries", self.ep.base_url);
        let request = create_entry_request(entry).map_err(|detail| ClientError::Config {
            service: Service::Rekor,
            detail,
        })?;
        let raw: RawEntry = self.ep.http.post_json(&url, &request, Idempotency::Safe).await?;
        let dec = |what: &str| self.ep.http.decode(&url, format!("TransparencyLogEntry: {what}"));
        let body = B64
            .decode(&raw.canonicalized_body)
            .map_err(|_| dec("canonicalizedBody"))?;
        let log_id = B64.decode(&raw.log_id.key_id).map_err(|_| dec("logId.keyId"))?;
        let log_index: u64 = raw
            .log_index
            .as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| dec("logIndex"))?;
        let (kind, version) = (entry.kind().0, "0.0.2");
        if raw.kind_version.kind != kind || raw.kind_version.version != version {
            return Err(self.ep.verify_err(
                &url,
                &TlogError::EntryKindMismatch {
                    kind: raw.kind_version.kind,
                    version: raw.kind_version.version,
                },
            ));
        }
        let p = raw
            .inclusion_proof
            .ok_or_else(|| self.ep.verify_err(&url, &TlogError::MissingProof))?;
        let checkpoint = p
            .checkpoint
            .ok_or_else(|| self.ep.verify_err(&url, &TlogError::MissingProof))?
            .envelope;
        let b32 = |s: &str| -> Option<[u8; 32]> { B64.decode(s).ok()?.try_into().ok() };
        let root_hash = b32(&p.root_hash).ok_or_else(|| dec("inclusionProof.rootHash"))?;
        let hashes = p
            .hashes
            .iter()
            .map(|h| b32(h))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| dec("inclusionProof.hashes"))?;
        let tree_size: u64 = p.tree_size.parse().map_err(|_| dec("inclusionProof.treeSize"))?;
        let proof_index: u64 = p
            .log_index
            .as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| dec("inclusionProof.logIndex"))?;
        if proof_index != log_index {
            return Err(self.ep.verify_err(
                &url,
                &TlogError::LogIndexMismatch {
                    entry: log_index,
                    proof: proof_index,
                },
            ));
        }
        super::rekor::check_any(self.ep.tlogs.iter().filter(|l| l.log_id == log_id), |log| {
            verify_inclusion_with_checkpoint(&body, proof_index, tree_size, &root_hash, &hashes, &checkpoint, log)
                .map(|_| ())
        })
        .map_err(|e| self.ep.verify_err(&url, &e))?;
        entry
            .check_body(version, &body)
            .map_err(|e| self.ep.verify_err(&url, &e))?;
        Ok(VerifiedEntry {
            uuid: hex::encode(leaf_hash(&body)),
            log_index,
            log_id,
            integrated_time: 0,
            body,
            kind: kind.to_string(),
            version: version.to_string(),
            signed_entry_timestamp: None,
            inclusion_proof: VerifiedInclusionProof {
                log_index: proof_index,
                tree_size,
                root_hash,
                hashes,
                checkpoint,
            },
        })
    }

    /// `GET /api/v2/checkpoint`: the latest checkpoint, verified against the trusted root's
    /// logs. Returns the note and its parse.
    pub async fn checkpoint(&self) -> Result<(String, Checkpoint), ClientError> {
        let url = format!("{}/api/v2/checkpoint", self.ep.base_url);
        let resp = self.ep.http.get(&url, "text/plain").await?;
        let note =
            String::from_utf8(resp.body.to_vec()).map_err(|_| self.ep.http.decode(&url, "checkpoint is not UTF-8"))?;
        let cp = self.ep.verify_tree_head(&url, &note)?;
        Ok((note, cp))
    }

    fn tile_url(&self, what: &str, index: u64, width: Option<u64>) -> Result<String, ClientError> {
        let mut url = format!("{}/api/v2/tile/{what}/{}", self.ep.base_url, tile_path(index));
        match width {
            None | Some(TILE_WIDTH) => {}
            Some(w) if (1..TILE_WIDTH).contains(&w) => url.push_str(&format!(".p/{w}")),
            Some(w) => {
                return Err(ClientError::Config {
                    service: Service::Rekor,
                    detail: format!("tile width {w} is not 1..=256"),
                })
            }
        }
        Ok(url)
    }

    /// `GET /api/v2/tile/{level}/{index}[.p/{width}]`: the tile's hashes (`width` of them, 256 for
    /// a full tile). Tiles are raw hashes; a caller proves them against a verified checkpoint.
    pub async fn tile(&self, level: u8, index: u64, width: Option<u64>) -> Result<Vec<[u8; 32]>, ClientError> {
        let url = self.tile_url(&level.to_string(), index, width)?;
        let body = self.ep.http.get(&url, "application/octet-stream").await?.body;
        let want = width.unwrap_or(TILE_WIDTH);
        if body.len() as u64 != want * 32 {
            return Err(self
                .ep
                .http
                .decode(&url, format!("tile of {} bytes, expected {} hashes", body.len(), want)));
        }
        Ok(body
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect())
    }

    /// `GET /api/v2/tile/entries/{index}[.p/{width}]`: the entry bundle's entries (C2SP: each a
    /// big-endian u16 length then the bytes).
    pub async fn entry_bundle(&self, index: u64, width: Option<u64>) -> Result<Vec<Vec<u8>>, ClientError> {
        let url = self.tile_url("entries", index, width)?;
        let body = self.ep.http.get(&url, "application/octet-stream").await?.body;
        let mut out = Vec::new();
        let mut rest = &body[..];
        while !rest.is_empty() {
            let (len, tail) = match rest {
                [a, b, tail @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), tail),
                _ => return Err(self.ep.http.decode(&url, "truncated entry length")),
            };
            let entry = tail
                .get(..len)
                .ok_or_else(|| self.ep.http.decode(&url, "truncated entry"))?;
            out.push(entry.to_vec());
            rest = tail.get(len..).unwrap_or_default();
        }
        if out.len() as u64 != width.unwrap_or(TILE_WIDTH) {
            return Err(self.ep.http.decode(
                &url,
                format!(
                    "entry bundle of {} entries, expected {}",
                    out.len(),
                    width.unwrap_or(TILE_WIDTH)
                ),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
