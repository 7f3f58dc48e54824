//! Sigstore bundles (`dev.sigstore.bundle.v1.Bundle`, media types v0.1 to v0.3) in proto3 JSON.
//!
//! [`Bundle::from_json`] turns bytes into a typed, structurally valid bundle or a [`BundleError`]:
//! unknown fields are tolerated, omitted proto3 defaults are honoured, int64 values are accepted as
//! strings or numbers, both camelCase and original field names are accepted, and every base64 field
//! is decoded up front so that later checks work on bytes.

use crate::crypto::{Digest, HashAlgorithm};
use crate::trust_root::b64;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::borrow::Cow;

/// A bundle that does not parse or is structurally invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not JSON, or not the Bundle shape.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// A media type this version does not understand.
    #[error("unsupported bundle media type {0:?}")]
    UnsupportedMediaType(String),
    /// A base64 field does not decode.
    #[error("invalid base64 in {field}")]
    InvalidBase64 {
        /// The JSON path of the field.
        field: &'static str,
    },
    /// A required part is missing for this bundle version.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A value is out of its allowed range or has the wrong shape.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The JSON path of the field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl BundleError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Malformed(_) => "bundle.malformed",
            BundleError::UnsupportedMediaType(_) => "bundle.unsupported_version",
            BundleError::InvalidBase64 { .. } => "bundle.invalid_base64",
            BundleError::Missing(_) => "bundle.missing_field",
            BundleError::Invalid { .. } => "bundle.invalid_field",
        }
    }
}

/// Bundle format version, from the media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum BundleVersion {
    /// `application/vnd.dev.sigstore.bundle+json;version=0.1`
    #[serde(rename = "0.1")]
    V0_1,
    /// `...;version=0.2`
    #[serde(rename = "0.2")]
    V0_2,
    /// `...;version=0.3` or `application/vnd.dev.sigstore.bundle.v0.3+json`
    #[serde(rename = "0.3")]
    V0_3,
}

impl BundleVersion {
    /// Parses a bundle media type.
    pub fn from_media_type(mt: &str) -> Option<Self> {
        Some(match mt {
            "application/vnd.dev.sigstore.bundle+json;version=0.1" => BundleVersion::V0_1,
            "application/vnd.dev.sigstore.bundle+json;version=0.2" => BundleVersion::V0_2,
            "application/vnd.dev.sigstore.bundle+json;version=0.3"
            | "application/vnd.dev.sigstore.bundle.v0.3+json" => BundleVersion::V0_3,
            _ => return None,
        })
    }

    /// The canonical media type of this version (v0.3 uses the newer spelling).
    pub fn media_type(self) -> &'static str {
        match self {
            BundleVersion::V0_1 => "application/vnd.dev.sigstore.bundle+json;version=0.1",
            BundleVersion::V0_2 => "application/vnd.dev.sigstore.bundle+json;version=0.2",
            BundleVersion::V0_3 => "application/vnd.dev.sigstore.bundle.v0.3+json",
        }
    }
}

/// What identifies the signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerMaterial {
    /// A leaf certificate (DER), optionally followed by chain certificates the bundle carried
    /// (v0.1/v0.2 `x509CertificateChain`; they are never trusted, only inspected).
    Certificate {
        /// The leaf certificate, DER.
        leaf: Vec<u8>,
        /// Further certificates from the bundle's chain, DER.
        chain: Vec<Vec<u8>>,
    },
    /// A public key identified out of band by a hint; the verifier needs the key from the policy.
    PublicKey {
        /// The key hint (opaque).
        hint: String,
    },
}

/// An RFC 6962 inclusion proof with its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the entry in the tree the proof is for.
    pub log_index: u64,
    /// Root hash of that tree.
    pub root_hash: [u8; 32],
    /// Size of that tree.
    pub tree_size: u64,
    /// Sibling hashes, leaf to root.
    pub hashes: Vec<[u8; 32]>,
    /// The signed-note checkpoint envelope (required since v0.2; v0.1 proofs may lack one, the SET
    /// then being the log's only signed statement).
    pub checkpoint: Option<String>,
}

/// One transparency log entry as carried in the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogEntry {
    /// Global log index.
    pub log_index: u64,
    /// Log id (key id of the log).
    pub log_id: Vec<u8>,
    /// Entry kind (`hashedrekord`, `dsse`, `intoto`).
    pub kind: String,
    /// Entry version (`0.0.1`, `0.0.2`).
    pub version: String,
    /// Integrated time in seconds (0 when absent, as in Rekor v2).
    pub integrated_time: i64,
    /// Signed entry timestamp, if any.
    pub signed_entry_timestamp: Option<Vec<u8>>,
    /// Inclusion proof, if any.
    pub inclusion_proof: Option<InclusionProof>,
    /// The canonicalized body, decoded.
    pub canonicalized_body: Vec<u8>,
}

/// One DSSE signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsseSignature {
    /// Signature bytes.
    pub sig: Vec<u8>,
    /// Optional key id.
    pub keyid: String,
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Payload bytes (decoded).
    pub payload: Vec<u8>,
    /// Payload type, for example `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// Signatures.
    pub signatures: Vec<DsseSignature>,
}

/// What was signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A signature over an artifact (its digest is an unauthenticated hint).
    MessageSignature {
        /// The digest the bundle claims, if any.
        digest: Option<Digest>,
        /// Signature bytes.
        signature: Vec<u8>,
    },
    /// A DSSE envelope (normally an in-toto statement about the artifact).
    Dsse(Envelope),
}

/// A parsed, structurally valid bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// Format version.
    pub version: BundleVersion,
    /// Signer material.
    pub signer: SignerMaterial,
    /// Transparency log entries.
    pub tlog_entries: Vec<TlogEntry>,
    /// RFC 3161 signed timestamps (DER).
    pub rfc3161_timestamps: Vec<Vec<u8>>,
    /// The signed content.
    pub content: Content,
}

impl Content {
    /// The signature bytes that timestamps and log entries refer to.
    pub fn signature_bytes(&self) -> &[u8] {
        match self {
            Content::MessageSignature { signature, .. } => signature,
            Content::Dsse(env) => env.signatures.first().map(|s| s.sig.as_slice()).unwrap_or_default(),
        }
    }
}

// ---- raw proto3 JSON shape -------------------------------------------------------------------

// String fields are spelled `Cow<'a, str>` with `#[serde(borrow)]`: only then does serde borrow
// them from the input (it recognises the type by name, so an alias, an `Option` or a `Vec` of
// it would allocate every string); `Option` and `Vec` positions use [`BorrowedStr`].

/// A JSON string borrowed from the input unless it contains escapes.
#[derive(Deserialize)]
#[serde(transparent)]
struct BorrowedStr<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct RawBundle<'a> {
    #[serde(rename = "mediaType", alias = "media_type", borrow)]
    media_type: Option<BorrowedStr<'a>>,
    #[serde(rename = "verificationMaterial", alias = "verification_material", borrow)]
    verification_material: Option<RawMaterial<'a>>,
    #[serde(rename = "messageSignature", alias = "message_signature", borrow)]
    message_signature: Option<RawMessageSignature<'a>>,
    #[serde(rename = "dsseEnvelope", alias = "dsse_envelope", borrow)]
    dsse_envelope: Option<RawEnvelope<'a>>,
}

#[derive(Deserialize)]
struct RawMaterial<'a> {
    #[serde(rename = "x509CertificateChain", alias = "x509_certificate_chain", borrow)]
    x509_certificate_chain: Option<RawChain<'a>>,
    #[serde(borrow)]
    certificate: Option<RawBytes<'a>>,
    #[serde(rename = "publicKey", alias = "public_key", borrow)]
    public_key: Option<RawHint<'a>>,
    #[serde(rename = "tlogEntries", alias = "tlog_entries", default, borrow)]
    tlog_entries: Vec<RawTlogEntry<'a>>,
    #[serde(rename = "timestampVerificationData", alias = "timestamp_verification_data", borrow)]
    timestamp_verification_data: Option<RawTimestampData<'a>>,
}

#[derive(Deserialize)]
struct RawChain<'a> {
    #[serde(default, borrow)]
    certificates: Vec<RawBytes<'a>>,
}

#[derive(Deserialize)]
struct RawBytes<'a> {
    #[serde(rename = "rawBytes", alias = "raw_bytes", default, borrow)]
    raw_bytes: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawHint<'a> {
    #[serde(default, borrow)]
    hint: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawTimestampData<'a> {
    #[serde(rename = "rfc3161Timestamps", alias = "rfc3161_timestamps", default, borrow)]
    rfc3161_timestamps: Vec<RawSignedTimestamp<'a>>,
}

#[derive(Deserialize)]
struct RawSignedTimestamp<'a> {
    #[serde(rename = "signedTimestamp", alias = "signed_timestamp", default, borrow)]
    signed_timestamp: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawTlogEntry<'a> {
    #[serde(rename = "logIndex", alias = "log_index", default, deserialize_with = "int64")]
    log_index: i64,
    #[serde(rename = "logId", alias = "log_id", borrow)]
    log_id: Option<RawLogId<'a>>,
    #[serde(rename = "kindVersion", alias = "kind_version", borrow)]
    kind_version: Option<RawKindVersion<'a>>,
    #[serde(
        rename = "integratedTime",
        alias = "integrated_time",
        default,
        deserialize_with = "int64"
    )]
    integrated_time: i64,
    #[serde(rename = "inclusionPromise", alias = "inclusion_promise", borrow)]
    inclusion_promise: Option<RawPromise<'a>>,
    #[serde(rename = "inclusionProof", alias = "inclusion_proof", borrow)]
    inclusion_proof: Option<RawProof<'a>>,
    #[serde(rename = "canonicalizedBody", alias = "canonicalized_body", default, borrow)]
    canonicalized_body: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawLogId<'a> {
    #[serde(rename = "keyId", alias = "key_id", default, borrow)]
    key_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawKindVersion<'a> {
    #[serde(default, borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    version: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawPromise<'a> {
    #[serde(rename = "signedEntryTimestamp", alias = "signed_entry_timestamp", default, borrow)]
    signed_entry_timestamp: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawProof<'a> {
    #[serde(rename = "logIndex", alias = "log_index", default, deserialize_with = "int64")]
    log_index: i64,
    #[serde(rename = "rootHash", alias = "root_hash", default, borrow)]
    root_hash: Cow<'a, str>,
    #[serde(rename = "treeSize", alias = "tree_size", default, deserialize_with = "int64")]
    tree_size: i64,
    #[serde(default, borrow)]
    hashes: Vec<BorrowedStr<'a>>,
    #[serde(borrow)]
    checkpoint: Option<RawCheckpoint<'a>>,
}

#[derive(Deserialize)]
struct RawCheckpoint<'a> {
    #[serde(default, borrow)]
    envelope: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawMessageSignature<'a> {
    #[serde(rename = "messageDigest", alias = "message_digest", borrow)]
    message_digest: Option<RawHashOutput<'a>>,
    #[serde(default, borrow)]
    signature: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawHashOutput<'a> {
    #[serde(default, borrow)]
    algorithm: Cow<'a, str>,
    #[serde(default, borrow)]
    digest: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(default, borrow)]
    payload: Cow<'a, str>,
    #[serde(rename = "payloadType", alias = "payload_type", default, borrow)]
    payload_type: Cow<'a, str>,
    #[serde(default, borrow)]
    signatures: Vec<RawDsseSig<'a>>,
}

#[derive(Deserialize)]
struct RawDsseSig<'a> {
    #[serde(default, borrow)]
    sig: Cow<'a, str>,
    #[serde(default, borrow)]
    keyid: Cow<'a, str>,
}

/// proto3 JSON int64: a JSON string of decimal digits, or a JSON number.
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString<'a> {
        Int(i64),
        Str(#[serde(borrow)] Cow<'a, str>),
    }
    match IntOrString::deserialize(d)? {
        IntOrString::Int(i) => Ok(i),
        IntOrString::Str(s) => s.parse().map_err(|_| de::Error::custom(format!("invalid int64 {s:?}"))),
    }
}

fn decode(field: &'static str, s: &str) -> Result<Vec<u8>, BundleError> {
    b64(s).map_err(|_| BundleError::InvalidBase64 { field })
}

fn hash32(field: &'static str, s: &str) -> Result<[u8; 32], BundleError> {
    let v = decode(field, s)?;
    v.try_into().map_err(|v: Vec<u8>| BundleError::Invalid {
        field,
        reason: format!("expected 32 bytes, got {}", v.len()),
    })
}

fn non_negative(field: &'static str, v: i64) -> Result<u64, BundleError> {
    u64::try_from(v).map_err(|_| BundleError::Invalid {
        field,
        reason: format!("negative value {v}"),
    })
}

fn required<'a>(field: &'static str, s: &'a str) -> Result<&'a str, BundleError> {
    if s.is_empty() {
        Err(BundleError::Missing(field))
    } else {
        Ok(s)
    }
}

impl Bundle {
    /// Parses and structurally validates a bundle.
    pub fn from_json(json: &[u8]) -> Result<Bundle, BundleError> {
        let raw: RawBundle<'_> = serde_json::from_slice(json).map_err(|e| BundleError::Malformed(e.to_string()))?;
        let media_type = raw.media_type.ok_or(BundleError::Missing("mediaType"))?.0;
        let version = BundleVersion::from_media_type(&media_type)
            .ok_or_else(|| BundleError::UnsupportedMediaType(media_type.chars().take(100).collect()))?;
        let vm = raw
            .verification_material
            .ok_or(BundleError::Missing("verificationMaterial"))?;

        let signer = match (vm.x509_certificate_chain, vm.certificate, vm.public_key) {
            (Some(chain), None, None) => {
                if version >= BundleVersion::V0_3 {
                    return Err(BundleError::Invalid {
                        field: "verificationMaterial.x509CertificateChain",
                        reason: "v0.3 bundles carry a single certificate".into(),
                    });
                }
                let mut certs = chain
                    .certificates
                    .iter()
                    .map(|c| decode("verificationMaterial.x509CertificateChain.certificates", &c.raw_bytes))
                    .collect::<Result<Vec<_>, _>>()?;
                if certs.is_empty() || certs[0].is_empty() {
                    return Err(BundleError::Missing(
                        "verificationMaterial.x509CertificateChain.certificates",
                    ));
                }
                let leaf = certs.remove(0);
                SignerMaterial::Certificate { leaf, chain: certs }
            }
            (None, Some(cert), None) => {
                if version < BundleVersion::V0_3 {
                    return Err(BundleError::Invalid {
                        field: "verificationMaterial.certificate",
                        reason: "a single certificate needs bundle v0.3; earlier versions carry x509CertificateChain"
                            .into(),
                    });
                }
                let leaf = decode("verificationMaterial.certificate.rawBytes", &cert.raw_bytes)?;
                if leaf.is_empty() {
                    return Err(BundleError::Missing("verificationMaterial.certificate.rawBytes"));
                }
                SignerMaterial::Certificate {
                    leaf,
                    chain: Vec::new(),
                }
            }
            (None, None, Some(pk)) => SignerMaterial::PublicKey {
                hint: pk.hint.into_owned(),
            },
            (None, None, None) => return Err(BundleError::Missing("verificationMaterial.{certificate,publicKey}")),
            _ => {
                return Err(BundleError::Invalid {
                    field: "verificationMaterial",
                    reason: "more than one of x509CertificateChain, certificate, publicKey".into(),
                })
            }
        };

        let tlog_entries = vm
            .tlog_entries
            .into_iter()
            .map(|e| parse_tlog_entry(version, e))
            .collect::<Result<Vec<_>, _>>()?;
        let rfc3161_timestamps = vm
            .timestamp_verification_data
            .map(|t| t.rfc3161_timestamps)
            .unwrap_or_default()
            .iter()
            .map(|t| {
                decode(
                    "timestampVerificationData.rfc3161Timestamps.signedTimestamp",
                    &t.signed_timestamp,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;

        let content = match (raw.message_signature, raw.dsse_envelope) {
            (Some(ms), None) => {
                let signature = decode(
                    "messageSignature.signature",
                    required("messageSignature.signature", &ms.signature)?,
                )?;
                let digest = match ms.message_digest {
                    None => None,
                    Some(md) => {
                        let algorithm =
                            HashAlgorithm::from_name(&md.algorithm).ok_or_else(|| BundleError::Invalid {
                                field: "messageSignature.messageDigest.algorithm",
                                reason: format!("unsupported {:?}", md.algorithm),
                            })?;
                        let bytes = decode("messageSignature.messageDigest.digest", &md.digest)?;
                        Some(Digest::new(algorithm, &bytes).ok_or_else(|| BundleError::Invalid {
                            field: "messageSignature.messageDigest.digest",
                            reason: format!("{} bytes for {}", bytes.len(), algorithm.name()),
                        })?)
                    }
                };
                Content::MessageSignature { digest, signature }
            }
            (None, Some(env)) => {
                let payload = decode("dsseEnvelope.payload", &env.payload)?;
                let signatures = env
                    .signatures
                    .iter()
                    .map(|s| {
                        Ok(DsseSignature {
                            sig: decode(
                                "dsseEnvelope.signatures.sig",
                                required("dsseEnvelope.signatures.sig", &s.sig)?,
                            )?,
                            keyid: s.keyid.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>, BundleError>>()?;
                if signatures.len() != 1 {
                    return Err(BundleError::Invalid {
                        field: "dsseEnvelope.signatures",
                        reason: format!(
                            "a bundle's envelope carries exactly one signature, found {}",
                            signatures.len()
                        ),
                    });
                }
                Content::Dsse(Envelope {
                    payload,
                    payload_type: required("dsseEnvelope.payloadType", &env.payload_type)?.to_string(),
                    signatures,
                })
            }
            (None, None) => return Err(BundleError::Missing("messageSignature or dsseEnvelope")),
            (Some(_), Some(_)) => {
                return Err(BundleError::Invalid {
                    field: "content",
                    reason: "both messageSignature and dsseEnvelope".into(),
                })
            }
        };

        Ok(Bundle {
            version,
            signer,
            tlog_entries,
            rfc3161_timestamps,
            content,
        })
    }
}

fn parse_tlog_entry(version: BundleVersion, e: RawTlogEntry<'_>) -> Result<TlogEntry, BundleError> {
    let log_index = non_negative("tlogEntries.logIndex", e.log_index)?;
    let log_id = decode(
        "tlogEntries.logId.keyId",
        &e.log_id.ok_or(BundleError::Missing("tlogEntries.logId"))?.key_id,
    )?;
    if log_id.is_empty() {
        return Err(BundleError::Missing("tlogEntries.logId.keyId"));
    }
    let kv = e.kind_version.ok_or(BundleError::Missing("tlogEntries.kindVersion"))?;
    let integrated_time = e.integrated_time;
    if integrated_time < 0 {
        return Err(BundleError::Invalid {
            field: "tlogEntries.integratedTime",
            reason: "negative".into(),
        });
    }
    let signed_entry_timestamp = match e.inclusion_promise {
        Some(p) => Some(decode(
            "tlogEntries.inclusionPromise.signedEntryTimestamp",
            required(
                "tlogEntries.inclusionPromise.signedEntryTimestamp",
                &p.signed_entry_timestamp,
            )?,
        )?),
        None => None,
    };
    let inclusion_proof = match e.inclusion_proof {
        Some(p) => {
            let checkpoint = match p.checkpoint {
                Some(c) => Some(required("tlogEntries.inclusionProof.checkpoint.envelope", &c.envelope)?.to_string()),
                None if version == BundleVersion::V0_1 => None,
                None => {
                    return Err(BundleError::Missing(
                        "tlogEntries.inclusionProof.checkpoint (required since v0.2)",
                    ))
                }
            };
            Some(InclusionProof {
                log_index: non_negative("tlogEntries.inclusionProof.logIndex", p.log_index)?,
                root_hash: hash32("tlogEntries.inclusionProof.rootHash", &p.root_hash)?,
                tree_size: non_negative("tlogEntries.inclusionProof.treeSize", p.tree_size)?,
                hashes: p
                    .hashes
                    .iter()
                    .map(|h| hash32("tlogEntries.inclusionProof.hashes", &h.0))
                    .collect::<Result<_, _>>()?,
                checkpoint,
            })
        }
        None => None,
    };
    match version {
        BundleVersion::V0_1 if signed_entry_timestamp.is_none() => {
            return Err(BundleError::Missing("tlogEntries.inclusionPromise (required in v0.1)"))
        }
        BundleVersion::V0_2 | BundleVersion::V0_3 if inclusion_proof.is_none() => {
            return Err(BundleError::Missing("tlogEntries.inclusionProof (required since v0.2)"))
        }
        _ => {}
    }
    let body_b64 = required("tlogEntries.canonicalizedBody", &e.canonicalized_body)?;
    Ok(TlogEntry {
        log_index,
        log_id,
        kind: required("tlogEntries.kindVersion.kind", &kv.kind)?.to_string(),
        version: required("tlogEntries.kindVersion.version", &kv.version)?.to_string(),
        integrated_time,
        signed_entry_timestamp,
        inclusion_proof,
        canonicalized_body: decode("tlogEntries.canonicalizedBody", body_b64)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../fixtures/sigstore-conformance/bundle-verify/{name}/bundle.sigstore.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn parses_every_version() {
        for (name, v) in [
            ("happy-path-v0.1", BundleVersion::V0_1),
            ("happy-path-v0.2", BundleVersion::V0_2),
            ("happy-path-v0.3", BundleVersion::V0_3),
            ("happy-path-v0.3-new-mediaType", BundleVersion::V0_3),
            ("rekor2-dsse-happy-path", BundleVersion::V0_3),
            ("managed-key-happy-path", BundleVersion::V0_3),
        ] {
            let b = Bundle::from_json(&case(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(b.version, v, "{name}");
            assert_eq!(b.tlog_entries.len(), 1, "{name}");
        }
    }

    #[test]
    fn structural_failures_have_specific_codes() {
        for (name, code) in [
            ("bundle-malformed-json_fail", "bundle.malformed"),
            ("bundle-unknown-version_fail", "bundle.unsupported_version"),
            ("bundle-negative-log-index_fail", "bundle.invalid_field"),
            ("bundle-empty-certificate-chain_fail", "bundle.missing_field"),
            ("bundle-invalid-base64-signature_fail", "bundle.invalid_base64"),
            ("intoto-missing-inclusion-proof_fail", "bundle.missing_field"),
        ] {
            let err = Bundle::from_json(&case(name)).unwrap_err();
            assert_eq!(err.code(), code, "{name}: {err}");
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn raw_strings_borrow_from_the_input() {
        // serde only borrows fields spelled `Cow<'a, str>` with `#[serde(borrow)]` (not through an
        // alias, an Option or a Vec): every string of a bundle used to be copied.
        let json = case("happy-path-v0.3");
        let raw: RawBundle<'_> = serde_json::from_slice(&json).unwrap();
        assert!(matches!(raw.media_type.as_ref().unwrap().0, Cow::Borrowed(_)));
        let vm = raw.verification_material.unwrap();
        assert!(matches!(vm.certificate.unwrap().raw_bytes, Cow::Borrowed(_)));
        let e = &vm.tlog_entries[0];
        assert!(matches!(e.canonicalized_body, Cow::Borrowed(_)));
        let p = e.inclusion_proof.as_ref().unwrap();
        assert_eq!(p.hashes.len(), 11);
        assert!(p.hashes.iter().all(|h| matches!(h.0, Cow::Borrowed(_))));
        // A string with escapes (the checkpoint's "\n") is still read, as an owned copy.
        assert!(matches!(&p.checkpoint.as_ref().unwrap().envelope, Cow::Owned(s) if s.contains('\n')));
    }

    #[test]
    fn proto3_json_quirks() {
        let mut v: serde_json::Value = serde_json::from_slice(&case("happy-path-v0.3")).unwrap();
        // int64 as a number, snake_case name, and an unknown field.
        let entry = &mut v["verificationMaterial"]["tlogEntries"][0];
        let idx: i64 = entry["logIndex"].as_str().unwrap().parse().unwrap();
        entry["logIndex"] = serde_json::json!(idx);
        let body = entry["canonicalizedBody"].take();
        entry.as_object_mut().unwrap().remove("canonicalizedBody");
        entry["canonicalized_body"] = body;
        v["someFutureField"] = serde_json::json!({"x": 1});
        let b = Bundle::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(b.tlog_entries[0].log_index, idx as u64);
    }
}
