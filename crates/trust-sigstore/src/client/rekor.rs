//! Rekor v1 client. Every entry the log returns is verified before it is handed out:
//!
//! 1. its UUID is the RFC 6962 leaf hash of its body (optionally prefixed by a 16-hex tree id);
//! 2. its signed entry timestamp verifies with a log key of the trusted root whose log id it names
//!    (and whose validity covers the integrated time);
//! 3. its inclusion proof recomputes the root of a checkpoint signed by that log;
//! 4. for a created entry, its canonicalized body records exactly what was submitted.
//!
//! Any failure is [`ClientError::Verify`] with the trust-core code of the check
//! (`tlog.set_invalid`, `tlog.inclusion_proof_mismatch`, `tlog.body_mismatch`, ...).
//!
//! The v1 API spells hashes and log ids in hex; [`VerifiedEntry::to_bundle_json`] gives the
//! bundle v0.3 `tlogEntries[]` element (base64, decimal strings).

use super::error::ClientError;
use super::http::{HttpClient, Idempotency, Service};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use trust_core::crypto::{pem_decode, Digest};
use trust_core::tlog::{
    check_entry_body, leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion_with_checkpoint, verify_set,
    Checkpoint, ExpectedEntry, TlogError,
};
use trust_core::trust_root::{TransparencyLog, TrustedRoot};

/// An entry to add to the log.
#[derive(Clone, Debug)]
pub enum ProposedEntry {
    /// `hashedrekord` 0.0.1: a signature over an artifact digest.
    HashedRekord {
        /// The artifact digest.
        digest: Digest,
        /// The signature over it.
        signature: Vec<u8>,
        /// The verifier: the signing certificate PEM (or a `PUBLIC KEY` PEM).
        verifier_pem: String,
    },
    /// `dsse` 0.0.1: a DSSE envelope.
    Dsse {
        /// The envelope JSON (`payloadType`, base64 `payload`, `signatures[].sig`).
        envelope_json: String,
        /// The verifier: the signing certificate PEM (or a `PUBLIC KEY` PEM).
        verifier_pem: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope {
    pub(crate) payload_type: String,
    pub(crate) payload: String,
    pub(crate) signatures: Vec<EnvelopeSig>,
}

#[derive(Deserialize)]
pub(crate) struct EnvelopeSig {
    pub(crate) sig: String,
}

/// What a proposed entry's logged body must record, owned.
struct Expected {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<Vec<u8>>,
    verifier_der: Vec<u8>,
    verifier_is_cert: bool,
}

impl ProposedEntry {
    /// `(kind, apiVersion)`.
    pub fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ProposedEntry::HashedRekord { .. } => ("hashedrekord", "0.0.1"),
            ProposedEntry::Dsse { .. } => ("dsse", "0.0.1"),
        }
    }

    /// The proposed-entry JSON of Rekor's OpenAPI (`POST /api/v1/log/entries`).
    pub fn to_json(&self) -> Value {
        match self {
            ProposedEntry::HashedRekord {
                digest,
                signature,
                verifier_pem,
            } => json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": digest.algorithm().name(), "value": hex::encode(digest.as_bytes())}},
                    "signature": {"content": B64.encode(signature), "publicKey": {"content": B64.encode(verifier_pem)}},
                },
            }),
            ProposedEntry::Dsse {
                envelope_json,
                verifier_pem,
            } => json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {"proposedContent": {"envelope": envelope_json, "verifiers": [B64.encode(verifier_pem)]}},
            }),
        }
    }

    /// The verifier DER and whether it is a certificate.
    pub(crate) fn verifier(&self) -> Result<(Vec<u8>, bool), String> {
        let pem = match self {
            ProposedEntry::HashedRekord { verifier_pem, .. } | ProposedEntry::Dsse { verifier_pem, .. } => verifier_pem,
        };
        let (label, der) = pem_decode(pem).map_err(|e| format!("verifier PEM: {e}"))?;
        match label.as_str() {
            "CERTIFICATE" => Ok((der, true)),
            "PUBLIC KEY" => Ok((der, false)),
            other => Err(format!("verifier PEM label {other}")),
        }
    }

    fn expected(&self) -> Result<Expected, String> {
        let (verifier_der, verifier_is_cert) = self.verifier()?;
        match self {
            ProposedEntry::HashedRekord { signature, .. } => Ok(Expected {
                payload_type: String::new(),
                payload: Vec::new(),
                signatures: vec![signature.clone()],
                verifier_der,
                verifier_is_cert,
            }),
            ProposedEntry::Dsse { envelope_json, .. } => {
                let env = Self::envelope(envelope_json)?;
                let payload = B64.decode(&env.payload).map_err(|e| format!("DSSE payload: {e}"))?;
                let signatures = env
                    .signatures
                    .iter()
                    .map(|s| B64.decode(&s.sig))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("DSSE signature: {e}"))?;
                Ok(Expected {
                    payload_type: env.payload_type,
                    payload,
                    signatures,
                    verifier_der,
                    verifier_is_cert,
                })
            }
        }
    }

    /// Parses a DSSE envelope JSON (at least one signature).
    pub(crate) fn envelope(envelope_json: &str) -> Result<Envelope, String> {
        let env: Envelope = serde_json::from_str(envelope_json).map_err(|e| format!("DSSE envelope: {e}"))?;
        if env.signatures.is_empty() {
            return Err("DSSE envelope has no signature".into());
        }
        Ok(env)
    }

    /// Checks that a logged `body` of `version` (`0.0.1` from Rekor v1, `0.0.2` from v2)
    /// records exactly this entry.
    pub(crate) fn check_body(&self, version: &str, body: &[u8]) -> Result<(), TlogError> {
        let expected = self.expected().map_err(TlogError::BodyMalformed)?;
        let expected = &expected;
        let (kind, _) = self.kind();
        match self {
            ProposedEntry::HashedRekord { digest, .. } => check_entry_body(
                kind,
                version,
                body,
                &ExpectedEntry::MessageSignature {
                    signature: expected.signatures.first().map(Vec::as_slice).unwrap_or_default(),
                    digest,
                    verifier_der: &expected.verifier_der,
                    verifier_is_cert: expected.verifier_is_cert,
                },
            ),
            ProposedEntry::Dsse { .. } => {
                let sigs: Vec<&[u8]> = expected.signatures.iter().map(Vec::as_slice).collect();
                check_entry_body(
                    kind,
                    version,
                    body,
                    &ExpectedEntry::Dsse {
                        payload_type: &expected.payload_type,
                        payload: &expected.payload,
                        signatures: &sigs,
                        verifier_der: &expected.verifier_der,
                        verifier_is_cert: expected.verifier_is_cert,
                    },
                )
            }
        }
    }
}

/// A verified inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedInclusionProof {
    /// The leaf's index in its shard's tree.
    pub log_index: u64,
    /// The tree size proven against.
    pub tree_size: u64,
    /// The root hash at that size.
    pub root_hash: [u8; 32],
    /// The audit path.
    pub hashes: Vec<[u8; 32]>,
    /// The signed checkpoint (note) for that size.
    pub checkpoint: String,
}

/// A log entry whose SET, inclusion proof and checkpoint were verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// The UUID as the log returned it (64 hex, or 80 with the tree-id prefix).
    pub uuid: String,
    /// Global log index.
    pub log_index: u64,
    /// Log id (SHA-256 of the log key).
    pub log_id: Vec<u8>,
    /// Seconds since the Unix epoch (0 for Rekor v2, which has no integrated time).
    pub integrated_time: i64,
    /// The canonicalized body.
    pub body: Vec<u8>,
    /// The body's `kind`.
    pub kind: String,
    /// The body's `apiVersion`.
    pub version: String,
    /// The signed entry timestamp (Rekor v1; v2 logs have none).
    pub signed_entry_timestamp: Option<Vec<u8>>,
    /// The inclusion proof.
    pub inclusion_proof: VerifiedInclusionProof,
}

impl VerifiedEntry {
    /// The bundle v0.3 `verificationMaterial.tlogEntries[]` element.
    pub fn to_bundle_json(&self) -> Value {
        let p = &self.inclusion_proof;
        let mut v = json!({
            "logIndex": self.log_index.to_string(),
            "logId": {"keyId": B64.encode(&self.log_id)},
            "kindVersion": {"kind": self.kind, "version": self.version},
            "inclusionProof": {
                "logIndex": p.log_index.to_string(),
                "rootHash": B64.encode(p.root_hash),
                "treeSize": p.tree_size.to_string(),
                "hashes": p.hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": {"envelope": p.checkpoint},
            },
            "canonicalizedBody": B64.encode(&self.body),
        });
        // Rekor v2 entries have neither (the TSA's timestamp is the time evidence).
        if self.integrated_time != 0 {
            v["integratedTime"] = json!(self.integrated_time.to_string());
        }
        if let Some(set) = &self.signed_entry_timestamp {
            v["inclusionPromise"] = json!({"signedEntryTimestamp": B64.encode(set)});
        }
        v
    }
}

/// A verified signed tree head of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogInfo {
    /// Tree size.
    pub tree_size: u64,
    /// Root hash.
    pub root_hash: [u8; 32],
    /// The active shard's tree id, as reported.
    pub tree_id: Option<String>,
    /// The signed checkpoint (note).
    pub signed_tree_head: String,
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: u64,
    verification: Option<RawVerification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawVerification {
    inclusion_proof: Option<RawProof>,
    signed_entry_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    checkpoint: Option<String>,
    hashes: Vec<String>,
    log_index: u64,
    root_hash: String,
    tree_size: u64,
}

#[derive(Deserialize)]
struct BodyKind {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
}

fn hash32(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// Whether `uuid` is a Rekor entry UUID: 64 hex (leaf hash) or 80 hex (tree id + leaf hash).
pub fn is_entry_uuid(uuid: &str) -> bool {
    (uuid.len() == 64 || uuid.len() == 80) && uuid.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The leaf-hash part (last 64 hex) of an entry UUID, lower-cased.
fn uuid_leaf(uuid: &str) -> String {
    uuid.get(uuid.len().saturating_sub(64)..)
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Runs `check` against each of `logs` (several key generations may share one log id): `Ok`
/// once one passes, else the first failure (`UnknownLog` when there is no log to try).
pub(crate) fn check_any<'a>(
    logs: impl IntoIterator<Item = &'a TransparencyLog>,
    check: impl Fn(&TransparencyLog) -> Result<(), TlogError>,
) -> Result<(), TlogError> {
    let mut first_err = None;
    for log in logs {
        match check(log) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(TlogError::UnknownLog))
}

/// A log endpoint and the trusted root's logs it is verified against (shared by the v1 and v2
/// clients).
#[derive(Clone, Debug)]
pub(crate) struct LogEndpoint {
    pub(crate) http: HttpClient,
    pub(crate) base_url: String,
    pub(crate) tlogs: Arc<Vec<TransparencyLog>>,
}

impl LogEndpoint {
    pub(crate) fn new(base_url: &str, http: HttpClient, trusted_root: &TrustedRoot) -> LogEndpoint {
        LogEndpoint {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            tlogs: Arc::new(trusted_root.tlogs.clone()),
        }
    }

    pub(crate) fn verify_err(&self, url: &str, e: &TlogError) -> ClientError {
        ClientError::Verify {
            service: Service::Rekor,
            url: url.to_string(),
            reason: e.code(),
            detail: e.to_string(),
        }
    }

    /// Parses a checkpoint note and verifies it is signed by one of the trusted logs.
    pub(crate) fn verify_tree_head(&self, url: &str, envelope: &str) -> Result<Checkpoint, ClientError> {
        let cp = Checkpoint::parse(envelope).map_err(|e| self.verify_err(url, &e))?;
        check_any(self.tlogs.iter(), |log| verify_checkpoint(&cp, envelope, log))
            .map_err(|e| self.verify_err(url, &e))?;
        Ok(cp)
    }
}

/// A client of one Rekor v1 instance, verifying against the trusted root's transparency logs.
#[derive(Clone, Debug)]
pub struct RekorClient {
    ep: LogEndpoint,
}

impl RekorClient {
    /// A client for the Rekor at `base_url`, trusting the `tlogs` of `trusted_root`.
    pub fn new(base_url: &str, http: HttpClient, trusted_root: &TrustedRoot) -> RekorClient {
        RekorClient {
            ep: LogEndpoint::new(base_url, http, trusted_root),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.ep.base_url
    }

    fn verify_err(&self, url: &str, e: &TlogError) -> ClientError {
        self.ep.verify_err(url, e)
    }

    fn mismatch(&self, url: &str, reason: &'static str, detail: impl Into<String>) -> ClientError {
        ClientError::Verify {
            service: Service::Rekor,
            url: url.to_string(),
            reason,
            detail: detail.into(),
        }
    }

    /// Verifies one `{uuid: entry}` pair (checks 1-3 of the module documentation).
    fn verify_entry(&self, url: &str, uuid: &str, raw: RawEntry) -> Result<VerifiedEntry, ClientError> {
        let body = B64
            .decode(&raw.body)
            .map_err(|e| self.ep.http.decode(url, format!("entry body: {e}")))?;
        let log_id = hex::decode(&raw.log_id).map_err(|e| self.ep.http.decode(url, format!("logID: {e}")))?;
        if !is_entry_uuid(uuid) || uuid_leaf(uuid) != hex::encode(leaf_hash(&body)) {
            return Err(self.mismatch(
                url,
                "rekor.uuid_mismatch",
                format!("entry {uuid} is not the leaf hash of its body"),
            ));
        }
        let kind: BodyKind = serde_json::from_slice(&body)
            .map_err(|e| self.verify_err(url, &TlogError::BodyMalformed(e.to_string())))?;
        let v = raw
            .verification
            .ok_or_else(|| self.verify_err(url, &TlogError::MissingProof))?;
        let set_b64 = v
            .signed_entry_timestamp
            .ok_or_else(|| self.verify_err(url, &TlogError::MissingProof))?;
        let set = B64
            .decode(&set_b64)
            .map_err(|e| self.ep.http.decode(url, format!("signedEntryTimestamp: {e}")))?;
        let p = v
            .inclusion_proof
            .ok_or_else(|| self.verify_err(url, &TlogError::MissingProof))?;
        let checkpoint = p
            .checkpoint
            .ok_or_else(|| self.verify_err(url, &TlogError::MissingProof))?;
        let root_hash = hash32(&p.root_hash).ok_or_else(|| self.ep.http.decode(url, "inclusionProof.rootHash"))?;
        let hashes = p
            .hashes
            .iter()
            .map(|h| hash32(h))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.ep.http.decode(url, "inclusionProof.hashes"))?;
        let log_index = i64::try_from(raw.log_index).map_err(|_| self.ep.http.decode(url, "logIndex"))?;
        check_any(self.ep.tlogs.iter().filter(|l| l.log_id == log_id), |log| {
            verify_set(&set, &raw.body, raw.integrated_time, &log_id, log_index, log)?;
            verify_inclusion_with_checkpoint(&body, p.log_index, p.tree_size, &root_hash, &hashes, &checkpoint, log)
                .map(|_| ())
        })
        .map_err(|e| self.verify_err(url, &e))?;
        Ok(VerifiedEntry {
            uuid: uuid.to_string(),
            log_index: raw.log_index,
            log_id,
            integrated_time: raw.integrated_time,
            body,
            kind: kind.kind,
            version: kind.api_version,
            signed_entry_timestamp: Some(set),
            inclusion_proof: VerifiedInclusionProof {
                log_index: p.log_index,
                tree_size: p.tree_size,
                root_hash,
                hashes,
                checkpoint,
            },
        })
    }

    /// Verifies every entry of a `{uuid: entry}` map.
    fn verify_map(&self, url: &str, map: BTreeMap<String, RawEntry>) -> Result<Vec<VerifiedEntry>, ClientError> {
        map.into_iter()
            .map(|(uuid, raw)| self.verify_entry(url, &uuid, raw))
            .collect()
    }

    fn single(&self, url: &str, body: &[u8]) -> Result<VerifiedEntry, ClientError> {
        let map: BTreeMap<String, RawEntry> = self.ep.http.decode_json(url, body)?;
        if map.len() != 1 {
            return Err(self
                .ep
                .http
                .decode(url, format!("expected one entry, got {}", map.len())));
        }
        self.verify_map(url, map)?
            .pop()
            .ok_or_else(|| self.ep.http.decode(url, "no entry"))
    }

    /// `POST /api/v1/log/entries`: logs `entry` and returns it verified, including that the
    /// logged body records exactly `entry`. If the log already holds it (409 Conflict, e.g. after
    /// a retried request) the existing entry is fetched and verified the same way.
    pub async fn create_entry(&self, entry: &ProposedEntry) -> Result<VerifiedEntry, ClientError> {
        let url = format!("{}/api/v1/log/entries", self.ep.base_url);
        entry.expected().map_err(|detail| ClientError::Config {
            service: Service::Rekor,
            detail,
        })?;
        let body = serde_json::to_vec(&entry.to_json()).map_err(|e| self.ep.http.decode(&url, e.to_string()))?;
        let headers = [
            (http::header::CONTENT_TYPE, "application/json"),
            (http::header::ACCEPT, "application/json"),
        ];
        let resp = self
            .ep
            .http
            .execute(http::Method::POST, &url, &headers, body.into(), Idempotency::Safe)
            .await?;
        let verified = if resp.status == http::StatusCode::CONFLICT {
            let location = resp
                .header("location")
                .map(str::to_string)
                .ok_or_else(|| self.ep.http.status_error(&url, &resp))?;
            let uuid = location.rsplit('/').next().unwrap_or_default().to_string();
            if !is_entry_uuid(&uuid) {
                return Err(self
                    .ep
                    .http
                    .decode(&url, format!("409 Location {location:?} names no entry")));
            }
            self.get_entry(&uuid).await?
        } else {
            let resp = self.ep.http.ensure_success(&url, resp)?;
            self.single(&url, &resp.body)?
        };
        let (kind, version) = entry.kind();
        if verified.kind != kind || verified.version != version {
            return Err(self.verify_err(
                &url,
                &TlogError::EntryKindMismatch {
                    kind: verified.kind.clone(),
                    version: verified.version.clone(),
                },
            ));
        }
        entry
            .check_body(version, &verified.body)
            .map_err(|e| self.verify_err(&url, &e))?;
        Ok(verified)
    }

    /// `GET /api/v1/log/entries/{uuid}` (64- or 80-hex UUID), verified; the entry must be the one
    /// asked for.
    pub async fn get_entry(&self, uuid: &str) -> Result<VerifiedEntry, ClientError> {
        let url = format!("{}/api/v1/log/entries/{uuid}", self.ep.base_url);
        if !is_entry_uuid(uuid) {
            return Err(ClientError::Config {
                service: Service::Rekor,
                detail: format!("{uuid:?} is not an entry UUID (64 or 80 hex digits)"),
            });
        }
        let resp = self.ep.http.get(&url, "application/json").await?;
        let e = self.single(&url, &resp.body)?;
        if uuid_leaf(&e.uuid) != uuid_leaf(uuid) {
            return Err(self.mismatch(&url, "rekor.uuid_mismatch", format!("asked for {uuid}, got {}", e.uuid)));
        }
        Ok(e)
    }

    /// `GET /api/v1/log/entries?logIndex=N`, verified; the entry must have that index.
    pub async fn get_entry_by_index(&self, log_index: u64) -> Result<VerifiedEntry, ClientError> {
        let url = format!("{}/api/v1/log/entries?logIndex={log_index}", self.ep.base_url);
        let resp = self.ep.http.get(&url, "application/json").await?;
        let e = self.single(&url, &resp.body)?;
        if e.log_index != log_index {
            return Err(self.mismatch(
                &url,
                "rekor.index_mismatch",
                format!("asked for index {log_index}, got {}", e.log_index),
            ));
        }
        Ok(e)
    }

    /// `POST /api/v1/log/entries/retrieve` by UUIDs; every returned entry is verified and must be
    /// one of those asked for. Entries the log does not have are simply absent.
    pub async fn retrieve_entries(&self, uuids: &[&str]) -> Result<Vec<VerifiedEntry>, ClientError> {
        let url = format!("{}/api/v1/log/entries/retrieve", self.ep.base_url);
        if let Some(bad) = uuids.iter().find(|u| !is_entry_uuid(u)) {
            return Err(ClientError::Config {
                service: Service::Rekor,
                detail: format!("{bad:?} is not an entry UUID (64 or 80 hex digits)"),
            });
        }
        let maps: Vec<BTreeMap<String, RawEntry>> = self
            .ep
            .http
            .post_json(&url, &json!({"entryUUIDs": uuids}), Idempotency::Safe)
            .await?;
        let wanted: Vec<String> = uuids.iter().map(|u| uuid_leaf(u)).collect();
        let mut out = Vec::new();
        for map in maps {
            for e in self.verify_map(&url, map)? {
                if !wanted.contains(&uuid_leaf(&e.uuid)) {
                    return Err(self.mismatch(
                        &url,
                        "rekor.uuid_mismatch",
                        format!("entry {} was not asked for", e.uuid),
                    ));
                }
                out.push(e);
            }
        }
        Ok(out)
    }

    /// `POST /api/v1/index/retrieve` by artifact digest: every matching entry UUID, across shards
    /// (64-hex or 80-hex tree-id-prefixed forms are both returned as given).
    pub async fn search_by_digest(&self, digest: &Digest) -> Result<Vec<String>, ClientError> {
        let q = json!({"hash": format!("{}:{}", digest.algorithm().name(), hex::encode(digest.as_bytes()))});
        self.search(&q).await
    }

    /// `POST /api/v1/index/retrieve` by signer email.
    pub async fn search_by_email(&self, email: &str) -> Result<Vec<String>, ClientError> {
        self.search(&json!({"email": email})).await
    }

    async fn search(&self, query: &Value) -> Result<Vec<String>, ClientError> {
        let url = format!("{}/api/v1/index/retrieve", self.ep.base_url);
        let uuids: Vec<String> = self.ep.http.post_json(&url, query, Idempotency::Safe).await?;
        if let Some(bad) = uuids.iter().find(|u| !is_entry_uuid(u)) {
            return Err(self.ep.http.decode(&url, format!("{bad:?} is not an entry UUID")));
        }
        Ok(uuids)
    }

    /// `GET /api/v1/log`: the active shard's signed tree head, verified against the trusted
    /// root's logs; the reported size and root must be the checkpoint's.
    pub async fn log_info(&self) -> Result<LogInfo, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            root_hash: String,
            tree_size: u64,
            signed_tree_head: String,
            #[serde(rename = "treeID")]
            tree_id: Option<String>,
        }
        let url = format!("{}/api/v1/log", self.ep.base_url);
        let raw: Raw = self.ep.http.get_json(&url).await?;
        let root_hash = hash32(&raw.root_hash).ok_or_else(|| self.ep.http.decode(&url, "rootHash"))?;
        let checkpoint = self.ep.verify_tree_head(&url, &raw.signed_tree_head)?;
        if checkpoint.tree_size != raw.tree_size || checkpoint.root_hash != root_hash {
            return Err(self.verify_err(&url, &TlogError::CheckpointRootMismatch));
        }
        Ok(LogInfo {
            tree_size: raw.tree_size,
            root_hash,
            tree_id: raw.tree_id,
            signed_tree_head: raw.signed_tree_head,
            checkpoint,
        })
    }

    /// `GET /api/v1/log/proof?firstSize=..&lastSize=..`: proves that `newer` (a verified tree
    /// head) extends `older`. Returns the verified proof hashes.
    pub async fn verify_consistency(&self, older: &LogInfo, newer: &LogInfo) -> Result<Vec<[u8; 32]>, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            root_hash: String,
            hashes: Vec<String>,
        }
        let url = format!(
            "{}/api/v1/log/proof?firstSize={}&lastSize={}",
            self.ep.base_url, older.tree_size, newer.tree_size
        );
        let raw: Raw = self.ep.http.get_json(&url).await?;
        let root = hash32(&raw.root_hash).ok_or_else(|| self.ep.http.decode(&url, "rootHash"))?;
        if root != newer.root_hash {
            return Err(self.verify_err(&url, &TlogError::CheckpointRootMismatch));
        }
        let hashes = raw
            .hashes
            .iter()
            .map(|h| hash32(h))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.ep.http.decode(&url, "hashes"))?;
        verify_consistency(
            older.tree_size,
            newer.tree_size,
            &older.root_hash,
            &newer.root_hash,
            &hashes,
        )
        .map_err(|e| self.verify_err(&url, &e))?;
        Ok(hashes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub(crate) mod tests;
