//! `dev.sigstore.trustroot.v1.TrustedRoot` (`trusted_root.json`): the material a verifier trusts.
//!
//! Parsing is strict about what matters (every key parses, every validity window has a start,
//! certificate chains are non-empty) and tolerant of unknown JSON fields.

use crate::crypto::{HashAlgorithm, KeyError, PublicKey};
use crate::time::{TimeRange, UnixTime};
use base64::Engine;
use serde::Deserialize;

/// A malformed trusted root.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustRootError {
    /// Not JSON, or not the TrustedRoot shape.
    #[error("malformed trusted root: {0}")]
    Malformed(String),
    /// A media type this version does not understand.
    #[error("unsupported trusted root media type {0:?}")]
    UnsupportedMediaType(String),
    /// A key in the root does not parse.
    #[error("{what}: {source}")]
    BadKey {
        /// Which entry.
        what: String,
        /// Why.
        source: KeyError,
    },
    /// A validity window without its start, or with an unparsable bound.
    #[error("{what}: invalid validFor: {reason}")]
    BadValidity {
        /// Which entry.
        what: String,
        /// Why.
        reason: String,
    },
}

impl TrustRootError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TrustRootError::Malformed(_) => "trust_root.malformed",
            TrustRootError::UnsupportedMediaType(_) => "trust_root.unsupported_media_type",
            TrustRootError::BadKey { .. } => "trust_root.bad_key",
            TrustRootError::BadValidity { .. } => "trust_root.bad_validity",
        }
    }
}

/// A transparency log (Rekor) or certificate transparency log instance.
#[derive(Clone, Debug)]
pub struct TransparencyLog {
    /// Base URL, for example `https://rekor.sigstore.dev`.
    pub base_url: String,
    /// Hash used by the log's Merkle tree.
    pub hash_algorithm: HashAlgorithm,
    /// The log's signing key.
    pub key: PublicKey,
    /// Log id (for Rekor / CT: SHA-256 of the DER SPKI, as given in the root).
    pub log_id: Vec<u8>,
    /// When this key may be used.
    pub valid_for: TimeRange,
}

impl TransparencyLog {
    /// The checkpoint origin / signed-note name for this log: the base URL without scheme and
    /// trailing slash (`log2025-1.rekor.sigstore.dev`).
    pub fn origin(&self) -> &str {
        let s = self.base_url.as_str();
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        s.trim_end_matches('/')
    }
}

/// A certificate authority (Fulcio) or timestamp authority with its chain.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    /// The authority's URI (may be empty for TSAs).
    pub uri: String,
    /// Subject organization and common name, as given in the root.
    pub subject: (String, String),
    /// DER certificates, leaf-most first and the root last, as in the JSON.
    pub certificates: Vec<Vec<u8>>,
    /// When certificates issued (or timestamps signed) by this authority are trusted.
    pub valid_for: TimeRange,
}

/// A parsed trusted root.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    /// Rekor instances.
    pub tlogs: Vec<TransparencyLog>,
    /// Certificate transparency logs.
    pub ctlogs: Vec<TransparencyLog>,
    /// Fulcio instances.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

const MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.trustedroot";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: Option<String>,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
    #[serde(default)]
    timestamp_authorities: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    hash_algorithm: Option<String>,
    public_key: RawKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: String,
    #[serde(default)]
    key_details: String,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawRange {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    subject: RawSubject,
    cert_chain: RawChain,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSubject {
    #[serde(default)]
    organization: String,
    #[serde(default)]
    common_name: String,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

/// Standard base64, ignoring line breaks as Go's and Python's decoders do (some bundles wrap long
/// fields at 76 columns).
pub(crate) fn b64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    // Decode first: a line break is not base64, so unwrapped text (the usual case) decodes or fails
    // exactly as before, without a separate scan for line breaks (a char-set `contains` over every
    // field cost as much as the decoding itself).
    match engine.decode(s) {
        Err(_) if s.bytes().any(|b| b == b'\n' || b == b'\r') => engine.decode(s.replace(['\n', '\r'], "")),
        other => other,
    }
}

fn range(what: &str, r: Option<&RawRange>) -> Result<TimeRange, TrustRootError> {
    let bad = |reason: String| TrustRootError::BadValidity {
        what: what.to_string(),
        reason,
    };
    let r = r.ok_or_else(|| bad("missing".into()))?;
    let start = r.start.as_deref().ok_or_else(|| bad("missing start".into()))?;
    let start = UnixTime::parse_rfc3339(start).map_err(|e| bad(e.to_string()))?;
    let end = match r.end.as_deref() {
        Some(e) => Some(UnixTime::parse_rfc3339(e).map_err(|e| bad(e.to_string()))?),
        None => None,
    };
    if end.is_some_and(|e| e < start) {
        return Err(bad("end before start".into()));
    }
    Ok(TimeRange { start, end })
}

fn parse_log(kind: &str, i: usize, raw: RawLog) -> Result<TransparencyLog, TrustRootError> {
    let what = format!("{kind}[{i}] ({})", raw.base_url);
    let malformed = |m: String| TrustRootError::Malformed(format!("{what}: {m}"));
    let bytes = b64(&raw.public_key.raw_bytes).map_err(|e| malformed(format!("publicKey.rawBytes: {e}")))?;
    let key = if raw.public_key.key_details == "PKCS1_RSA_PKCS1V5" {
        PublicKey::from_pkcs1_rsa_der(&bytes)
    } else {
        PublicKey::from_spki_der(&bytes)
    }
    .map_err(|source| TrustRootError::BadKey {
        what: what.clone(),
        source,
    })?;
    let hash_algorithm = match raw.hash_algorithm.as_deref() {
        None => HashAlgorithm::Sha256,
        Some(h) => HashAlgorithm::from_name(h).ok_or_else(|| malformed(format!("hashAlgorithm {h:?}")))?,
    };
    let log_id = b64(&raw.log_id.key_id).map_err(|e| malformed(format!("logId.keyId: {e}")))?;
    let valid_for = range(&what, raw.public_key.valid_for.as_ref())?;
    Ok(TransparencyLog {
        base_url: raw.base_url,
        hash_algorithm,
        key,
        log_id,
        valid_for,
    })
}

fn parse_ca(kind: &str, i: usize, raw: RawCa) -> Result<CertificateAuthority, TrustRootError> {
    let what = format!("{kind}[{i}] ({})", raw.uri);
    if raw.cert_chain.certificates.is_empty() {
        return Err(TrustRootError::Malformed(format!("{what}: empty certChain")));
    }
    let certificates = raw
        .cert_chain
        .certificates
        .iter()
        .map(|c| b64(&c.raw_bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TrustRootError::Malformed(format!("{what}: certChain: {e}")))?;
    let valid_for = range(&what, raw.valid_for.as_ref())?;
    Ok(CertificateAuthority {
        uri: raw.uri,
        subject: (raw.subject.organization, raw.subject.common_name),
        certificates,
        valid_for,
    })
}

impl TrustedRoot {
    /// Parses `trusted_root.json`.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustRootError> {
        let raw: RawRoot = serde_json::from_slice(json).map_err(|e| TrustRootError::Malformed(e.to_string()))?;
        if let Some(mt) = &raw.media_type {
            if !mt.starts_with(MEDIA_TYPE_PREFIX) {
                return Err(TrustRootError::UnsupportedMediaType(mt.clone()));
            }
        }
        let tlogs = raw
            .tlogs
            .into_iter()
            .enumerate()
            .map(|(i, l)| parse_log("tlogs", i, l))
            .collect::<Result<_, _>>()?;
        let ctlogs = raw
            .ctlogs
            .into_iter()
            .enumerate()
            .map(|(i, l)| parse_log("ctlogs", i, l))
            .collect::<Result<_, _>>()?;
        let certificate_authorities = raw
            .certificate_authorities
            .into_iter()
            .enumerate()
            .map(|(i, c)| parse_ca("certificateAuthorities", i, c))
            .collect::<Result<_, _>>()?;
        let timestamp_authorities = raw
            .timestamp_authorities
            .into_iter()
            .enumerate()
            .map(|(i, c)| parse_ca("timestampAuthorities", i, c))
            .collect::<Result<_, _>>()?;
        Ok(TrustedRoot {
            tlogs,
            ctlogs,
            certificate_authorities,
            timestamp_authorities,
        })
    }

    /// Transparency logs with this log id (there may be several key generations).
    pub fn tlogs_by_id<'a>(&'a self, log_id: &'a [u8]) -> impl Iterator<Item = &'a TransparencyLog> + 'a {
        self.tlogs.iter().filter(move |l| l.log_id == log_id)
    }

    /// CT logs with this log id.
    pub fn ctlogs_by_id<'a>(&'a self, log_id: &'a [u8]) -> impl Iterator<Item = &'a TransparencyLog> + 'a {
        self.ctlogs.iter().filter(move |l| l.log_id == log_id)
    }
}

/// The Sigstore public-good trusted roots, embedded at build time (see `trust-roots/README.md`).
pub mod embedded {
    /// Production `trusted_root.json`.
    pub const PRODUCTION: &[u8] = include_bytes!("../trust-roots/production/trusted_root.json");
    /// Staging `trusted_root.json`.
    pub const STAGING: &[u8] = include_bytes!("../trust-roots/staging/trusted_root.json");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn parses_public_roots() {
        for which in ["production", "staging"] {
            let root =
                TrustedRoot::from_json(&fixture(&format!("sigstore-trust-roots/{which}/trusted_root.json"))).unwrap();
            assert!(!root.tlogs.is_empty() && !root.ctlogs.is_empty() && !root.certificate_authorities.is_empty());
            // Rekor v1 log ids are the SHA-256 of the DER key (v2 logs derive theirs from the origin).
            for l in root
                .tlogs
                .iter()
                .filter(|l| l.key.kind() != crate::crypto::KeyKind::Ed25519)
            {
                assert_eq!(l.log_id, l.key.key_id(), "{}", l.base_url);
            }
        }
    }

    #[test]
    fn embedded_roots_parse_and_match_fixtures() {
        assert_eq!(
            embedded::PRODUCTION,
            fixture("sigstore-trust-roots/production/trusted_root.json").as_slice()
        );
        assert_eq!(
            embedded::STAGING,
            fixture("sigstore-trust-roots/staging/trusted_root.json").as_slice()
        );
        TrustedRoot::from_json(embedded::PRODUCTION).unwrap();
        TrustedRoot::from_json(embedded::STAGING).unwrap();
    }

    #[test]
    fn missing_validity_start_is_rejected() {
        let json =
            fixture("sigstore-conformance/bundle-verify/trust-root-tlog-missing-validity-start_fail/trusted_root.json");
        let err = TrustedRoot::from_json(&json).unwrap_err();
        assert_eq!(err.code(), "trust_root.bad_validity", "{err}");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn base64_ignores_line_breaks_only() {
        assert_eq!(b64("Y2VydHVzLXRydXN0").unwrap(), b"certus-trust");
        assert_eq!(b64("Y2VydHVz\nLXRy\r\ndXN0").unwrap(), b"certus-trust");
        assert_eq!(b64("Y2VydHVz\nLXRy\r\ndXN0").unwrap(), b64("Y2VydHVzLXRydXN0").unwrap());
        assert!(b64("Y2VydHVz LXRydXN0").is_err());
        assert!(b64("Y2VydHVz\nLXRydXN").is_err());
        assert!(b64("!!!!").is_err());
        assert_eq!(b64("").unwrap(), b"");
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(TrustedRoot::from_json(b"{").unwrap_err().code(), "trust_root.malformed");
        assert_eq!(
            TrustedRoot::from_json(br#"{"mediaType":"text/plain"}"#)
                .unwrap_err()
                .code(),
            "trust_root.unsupported_media_type"
        );
    }
}
