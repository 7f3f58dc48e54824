//! Rekor entry bodies: does the canonicalized body record exactly what the bundle holds?
//!
//! Supported kinds:
//! - Rekor v1 `hashedrekord` 0.0.1, `dsse` 0.0.1, `intoto` 0.0.2 (Rekor's JSON types);
//! - Rekor v2 `hashedrekord` 0.0.2 and `dsse` 0.0.2 (protobuf JSON, rekor-tiles).
//!
//! What is compared, per kind:
//! - `hashedrekord`: the artifact digest (algorithm and value), the signature bytes, the verifier
//!   (certificate DER, or SPKI DER for keys; Rekor v1 stores them as base64 PEM). For Rekor v2's
//!   "DSSE logged as hashedrekord" (rekor-v2-spec §6.1.4) the digest is SHA-256(PAE(type, payload))
//!   and the signature is the envelope's one signature.
//! - `dsse` 0.0.1: SHA-256 of the payload, and the signatures with their verifiers. The envelope
//!   hash is not checked: Rekor hashed the envelope JSON as submitted, which a bundle cannot
//!   reproduce (sigstore-go and sigstore-rust skip it too).
//! - `dsse` 0.0.2: the payload hash, the signatures with their verifiers.
//! - `intoto` 0.0.2: payload type, payload hash, payload (when logged), the signatures and their
//!   verifiers. Rekor double-base64-encodes `payload` and `sig` in these bodies.

use super::TlogError;
use crate::crypto::{Digest, HashAlgorithm};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use std::borrow::Cow;

/// What the bundle claims was logged, for comparison with the canonicalized body.
#[derive(Clone, Copy, Debug)]
pub enum ExpectedEntry<'a> {
    /// hashedrekord: a signature over an artifact digest, signed by `verifier_der` (the leaf
    /// certificate DER, or the SPKI DER for keys).
    MessageSignature {
        /// The signature bytes.
        signature: &'a [u8],
        /// The artifact digest the signature is over.
        digest: &'a Digest,
        /// Leaf certificate DER, or SPKI DER.
        verifier_der: &'a [u8],
        /// Whether `verifier_der` is a certificate.
        verifier_is_cert: bool,
    },
    /// DSSE envelope: payload type, payload, signatures (sig bytes), and the signer (cert DER or SPKI DER).
    Dsse {
        /// The envelope's payload type.
        payload_type: &'a str,
        /// The (decoded) payload.
        payload: &'a [u8],
        /// Every signature of the envelope.
        signatures: &'a [&'a [u8]],
        /// Leaf certificate DER, or SPKI DER.
        verifier_der: &'a [u8],
        /// Whether `verifier_der` is a certificate.
        verifier_is_cert: bool,
    },
}

// String fields are spelled `Cow<'a, str>` with `#[serde(borrow)]`: only then does serde borrow
// them from the body (it recognises the type by name, so an alias or an `Option` of it would
// allocate every string); the `Option` position uses [`BorrowedStr`].

/// A JSON string borrowed from the body unless it contains escapes.
#[derive(Deserialize)]
#[serde(transparent)]
struct BorrowedStr<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a, S> {
    #[serde(borrow)]
    api_version: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    spec: S,
}

// ---- Rekor v1 types ----

#[derive(Deserialize)]
struct HashedRekordV001<'a> {
    #[serde(borrow)]
    data: HrData<'a>,
    #[serde(borrow)]
    signature: HrSignature<'a>,
}

#[derive(Deserialize)]
struct HrData<'a> {
    #[serde(borrow)]
    hash: HexHash<'a>,
}

#[derive(Deserialize)]
struct HexHash<'a> {
    #[serde(borrow)]
    algorithm: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HrSignature<'a> {
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(borrow)]
    public_key: HrPublicKey<'a>,
}

#[derive(Deserialize)]
struct HrPublicKey<'a> {
    #[serde(borrow)]
    content: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV001<'a> {
    #[serde(borrow)]
    payload_hash: HexHash<'a>,
    #[serde(borrow)]
    signatures: Vec<DsseV001Signature<'a>>,
}

#[derive(Deserialize)]
struct DsseV001Signature<'a> {
    #[serde(borrow)]
    signature: Cow<'a, str>,
    #[serde(borrow)]
    verifier: Cow<'a, str>,
}

#[derive(Deserialize)]
struct IntotoV002<'a> {
    #[serde(borrow)]
    content: IntotoContent<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoContent<'a> {
    #[serde(borrow)]
    envelope: IntotoEnvelope<'a>,
    #[serde(borrow, default)]
    payload_hash: Option<HexHash<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoEnvelope<'a> {
    #[serde(borrow)]
    payload_type: Cow<'a, str>,
    #[serde(borrow, default)]
    payload: Option<BorrowedStr<'a>>,
    #[serde(borrow)]
    signatures: Vec<IntotoSignature<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoSignature<'a> {
    #[serde(borrow)]
    sig: Cow<'a, str>,
    #[serde(borrow)]
    public_key: Cow<'a, str>,
}

// ---- Rekor v2 types (protobuf JSON) ----

#[derive(Deserialize)]
struct HashedRekordV002Spec<'a> {
    #[serde(borrow, rename = "hashedRekordV002")]
    inner: HashedRekordV002<'a>,
}

#[derive(Deserialize)]
struct HashedRekordV002<'a> {
    #[serde(borrow)]
    data: HashOutput<'a>,
    #[serde(borrow)]
    signature: V2Signature<'a>,
}

#[derive(Deserialize)]
struct HashOutput<'a> {
    #[serde(borrow)]
    algorithm: Cow<'a, str>,
    #[serde(borrow)]
    digest: Cow<'a, str>,
}

#[derive(Deserialize)]
struct V2Signature<'a> {
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(borrow)]
    verifier: V2Verifier<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Verifier<'a> {
    #[serde(borrow, default)]
    public_key: Option<RawBytes<'a>>,
    #[serde(borrow, default)]
    x509_certificate: Option<RawBytes<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes<'a> {
    #[serde(borrow)]
    raw_bytes: Cow<'a, str>,
}

#[derive(Deserialize)]
struct DsseV002Spec<'a> {
    #[serde(borrow, rename = "dsseV002")]
    inner: DsseV002<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV002<'a> {
    #[serde(borrow)]
    payload_hash: HashOutput<'a>,
    #[serde(borrow)]
    signatures: Vec<V2Signature<'a>>,
}

// ---- comparison helpers ----

fn malformed(what: &'static str) -> TlogError {
    TlogError::BodyMalformed(format!("{what} is not valid base64"))
}

/// Streaming comparison of standard base64 text (fed in any pieces) with expected bytes, without
/// allocating: characters are gathered in a stack buffer and decoded a block at a time.
struct B64Compare<'e> {
    expected: &'e [u8],
    offset: usize,
    equal: bool,
    buf: [u8; 1024],
    fill: usize,
    what: &'static str,
}

impl<'e> B64Compare<'e> {
    fn new(expected: &'e [u8], what: &'static str) -> Self {
        B64Compare {
            expected,
            offset: 0,
            equal: true,
            buf: [0; 1024],
            fill: 0,
            what,
        }
    }

    fn flush(&mut self) -> Result<(), TlogError> {
        let mut out = [0u8; 768];
        let chars = self.buf.get(..self.fill).unwrap_or_default();
        let n = STANDARD
            .decode_slice(chars, &mut out)
            .map_err(|_| malformed(self.what))?;
        let decoded = out.get(..n).unwrap_or_default();
        self.equal &= self.expected.get(self.offset..self.offset + n) == Some(decoded);
        self.offset += n;
        self.fill = 0;
        Ok(())
    }

    fn push(&mut self, mut chars: &[u8]) -> Result<(), TlogError> {
        while !chars.is_empty() {
            let room = self.buf.len() - self.fill;
            let (now, later) = chars.split_at(room.min(chars.len()));
            if let Some(dst) = self.buf.get_mut(self.fill..self.fill + now.len()) {
                dst.copy_from_slice(now);
            }
            self.fill += now.len();
            chars = later;
            if self.fill == self.buf.len() {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<bool, TlogError> {
        self.flush()?;
        Ok(self.equal && self.offset == self.expected.len())
    }
}

/// Whether standard base64 `enc` decodes to exactly `expected`, without allocating.
fn b64_eq(enc: &[u8], expected: &[u8], what: &'static str) -> Result<bool, TlogError> {
    let mut cmp = B64Compare::new(expected, what);
    cmp.push(enc)?;
    cmp.finish()
}

/// Whether the hex string `enc` (either case) is exactly `expected`.
fn hex_eq(enc: &str, expected: &[u8], what: &str) -> Result<bool, TlogError> {
    let mut buf = [0u8; 64];
    let out = buf
        .get_mut(..enc.len() / 2)
        .ok_or_else(|| TlogError::BodyMalformed(format!("{what} is too long")))?;
    hex::decode_to_slice(enc, out).map_err(|_| TlogError::BodyMalformed(format!("{what} is not hex")))?;
    Ok(out == expected)
}

fn digest_alg(name: &str) -> Result<HashAlgorithm, TlogError> {
    HashAlgorithm::from_name(name).ok_or_else(|| TlogError::BodyMalformed(format!("unknown hash algorithm {name:?}")))
}

/// Rekor v1 verifiers: base64 of a PEM block. Matches when the block's label is the expected one
/// (`CERTIFICATE` or `PUBLIC KEY`) and its DER is `expected_der`.
fn pem_b64_eq(b64_pem: &str, expected_der: &[u8], is_cert: bool) -> Result<bool, TlogError> {
    let pem = STANDARD.decode(b64_pem).map_err(|_| malformed("verifier"))?;
    let bad = || TlogError::BodyMalformed("verifier is not a single PEM block".into());
    let want_label: &[u8] = if is_cert { b"CERTIFICATE" } else { b"PUBLIC KEY" };

    // Locate "-----BEGIN <label>-----\n<base64 lines>-----END <label>-----" by index.
    let start = pem.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(pem.len());
    let end = pem
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    let text = pem.get(start..end).unwrap_or_default();
    let after_begin = text.strip_prefix(b"-----BEGIN ").ok_or_else(bad)?;
    let eol = after_begin.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
    let label = after_begin
        .get(..eol)
        .unwrap_or_default()
        .trim_ascii_end()
        .strip_suffix(b"-----")
        .ok_or_else(bad)?;
    let before_end = text
        .strip_suffix(b"-----")
        .and_then(|t| t.strip_suffix(label))
        .and_then(|t| t.strip_suffix(b"-----END "))
        .ok_or_else(bad)?;
    let body_start = start + b"-----BEGIN ".len() + eol + 1;
    let body_end = start + before_end.len();
    // Base64 has no '-': one would mean a second block or a broken END line.
    if pem.get(body_start..body_end).is_none_or(|b| b.contains(&b'-')) {
        return Err(bad());
    }
    if label != want_label {
        return Ok(false);
    }
    let mut cmp = B64Compare::new(expected_der, "verifier PEM");
    let mut rest = pem.get(body_start..body_end).unwrap_or_default();
    // Fast path for the usual layout (64-character lines ending in "\n"): no byte scanning.
    while let (Some(line), Some(b'\n')) = (rest.get(..64), rest.get(64)) {
        cmp.push(line)?;
        rest = rest.get(65..).unwrap_or_default();
    }
    for line in rest.split(|&b| b == b'\n') {
        cmp.push(line.trim_ascii())?;
    }
    cmp.finish()
}

/// Rekor v2 verifiers: DER in `x509Certificate.rawBytes` or `publicKey.rawBytes`.
fn v2_verifier_eq(v: &V2Verifier<'_>, expected_der: &[u8], is_cert: bool) -> Result<bool, TlogError> {
    let raw = if is_cert { &v.x509_certificate } else { &v.public_key };
    match raw {
        Some(r) => b64_eq(r.raw_bytes.as_bytes(), expected_der, "verifier"),
        None => Ok(false),
    }
}

fn decimal(n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// SHA-256 of the DSSE pre-authentication encoding
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
pub(crate) fn pae_sha256(payload_type: &str, payload: &[u8]) -> [u8; 32] {
    let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
    crate::crypto::sha256_parts(&[
        b"DSSEv1 ",
        decimal(payload_type.len(), &mut a),
        b" ",
        payload_type.as_bytes(),
        b" ",
        decimal(payload.len(), &mut b),
        b" ",
        payload,
    ])
}

fn ensure(ok: bool, what: &'static str) -> Result<(), TlogError> {
    if ok {
        Ok(())
    } else {
        Err(TlogError::BodyMismatch(what))
    }
}

/// Every logged signature is one of the envelope's and every envelope signature was logged, all
/// under the bundle's verifier.
fn signatures_match<'b, T>(
    logged: &'b [T],
    expected: &[&[u8]],
    sig_eq: impl Fn(&'b T, &[u8]) -> Result<bool, TlogError>,
    verifier_eq: impl Fn(&'b T) -> Result<bool, TlogError>,
) -> Result<(), TlogError> {
    ensure(
        !expected.is_empty() && logged.len() == expected.len(),
        "signature count",
    )?;
    for l in logged {
        ensure(verifier_eq(l)?, "verifier")?;
    }
    for e in expected {
        let mut found = false;
        for l in logged {
            found |= sig_eq(l, e)?;
        }
        ensure(found, "signature")?;
    }
    for l in logged {
        let mut found = false;
        for e in expected {
            found |= sig_eq(l, e)?;
        }
        ensure(found, "signature")?;
    }
    Ok(())
}

fn parse<'a, S: Deserialize<'a>>(kind: &str, version: &str, body: &'a [u8]) -> Result<S, TlogError> {
    let b: Body<'a, S> = serde_json::from_slice(body).map_err(|e| TlogError::BodyMalformed(e.to_string()))?;
    if b.kind != kind || b.api_version != version {
        return Err(kind_mismatch(kind, version));
    }
    Ok(b.spec)
}

fn kind_mismatch(kind: &str, version: &str) -> TlogError {
    TlogError::EntryKindMismatch {
        kind: kind.to_owned(),
        version: version.to_owned(),
    }
}

/// Parses the canonicalized body for (kind, version) and checks it records exactly the expected
/// content (see the module documentation for what is compared).
///
/// Codes: `tlog.unsupported_entry_kind`, `tlog.entry_kind_mismatch` (the kind cannot record this
/// content, or the body's own kind/apiVersion differ), `tlog.body_malformed`, `tlog.body_mismatch`.
pub fn check_entry_body(kind: &str, version: &str, body: &[u8], expected: &ExpectedEntry) -> Result<(), TlogError> {
    match (kind, version, *expected) {
        (
            "hashedrekord",
            "0.0.1",
            ExpectedEntry::MessageSignature {
                signature,
                digest,
                verifier_der,
                verifier_is_cert,
            },
        ) => {
            let spec: HashedRekordV001 = parse(kind, version, body)?;
            let hash = &spec.data.hash;
            ensure(digest_alg(&hash.algorithm)? == digest.algorithm(), "digest algorithm")?;
            ensure(hex_eq(&hash.value, digest.as_bytes(), "digest")?, "digest")?;
            let sig = &spec.signature;
            ensure(b64_eq(sig.content.as_bytes(), signature, "signature")?, "signature")?;
            ensure(
                pem_b64_eq(&sig.public_key.content, verifier_der, verifier_is_cert)?,
                "verifier",
            )
        }
        ("hashedrekord", "0.0.2", _) => {
            let spec: HashedRekordV002Spec = parse(kind, version, body)?;
            let hr = &spec.inner;
            let alg = digest_alg(&hr.data.algorithm)?;
            let pae;
            let (digest_bytes, want_sig, verifier_der, is_cert): (&[u8], &[u8], &[u8], bool) = match *expected {
                ExpectedEntry::MessageSignature {
                    signature,
                    digest,
                    verifier_der,
                    verifier_is_cert,
                } => {
                    ensure(alg == digest.algorithm(), "digest algorithm")?;
                    (digest.as_bytes(), signature, verifier_der, verifier_is_cert)
                }
                ExpectedEntry::Dsse {
                    payload_type,
                    payload,
                    signatures,
                    verifier_der,
                    verifier_is_cert,
                } => {
                    // DSSE logged as hashedrekord: one signature over PAE(type, payload).
                    ensure(alg == HashAlgorithm::Sha256, "digest algorithm")?;
                    let [one] = signatures else {
                        return Err(TlogError::BodyMismatch("signature count"));
                    };
                    pae = pae_sha256(payload_type, payload);
                    (&pae[..], *one, verifier_der, verifier_is_cert)
                }
            };
            ensure(b64_eq(hr.data.digest.as_bytes(), digest_bytes, "digest")?, "digest")?;
            ensure(
                b64_eq(hr.signature.content.as_bytes(), want_sig, "signature")?,
                "signature",
            )?;
            ensure(
                v2_verifier_eq(&hr.signature.verifier, verifier_der, is_cert)?,
                "verifier",
            )
        }
        (
            "dsse",
            "0.0.1",
            ExpectedEntry::Dsse {
                payload,
                signatures,
                verifier_der,
                verifier_is_cert,
                ..
            },
        ) => {
            let spec: DsseV001 = parse(kind, version, body)?;
            let alg = digest_alg(&spec.payload_hash.algorithm)?;
            let want = alg.hash(payload);
            ensure(
                hex_eq(&spec.payload_hash.value, want.as_bytes(), "payload hash")?,
                "payload hash",
            )?;
            signatures_match(
                &spec.signatures,
                signatures,
                |l, e| b64_eq(l.signature.as_bytes(), e, "signature"),
                |l| pem_b64_eq(&l.verifier, verifier_der, verifier_is_cert),
            )
        }
        (
            "dsse",
            "0.0.2",
            ExpectedEntry::Dsse {
                payload,
                signatures,
                verifier_der,
                verifier_is_cert,
                ..
            },
        ) => {
            let spec: DsseV002Spec = parse(kind, version, body)?;
            let d = &spec.inner;
            let alg = digest_alg(&d.payload_hash.algorithm)?;
            let want = alg.hash(payload);
            ensure(
                b64_eq(d.payload_hash.digest.as_bytes(), want.as_bytes(), "payload hash")?,
                "payload hash",
            )?;
            signatures_match(
                &d.signatures,
                signatures,
                |l, e| b64_eq(l.content.as_bytes(), e, "signature"),
                |l| v2_verifier_eq(&l.verifier, verifier_der, verifier_is_cert),
            )
        }
        (
            "intoto",
            "0.0.2",
            ExpectedEntry::Dsse {
                payload_type,
                payload,
                signatures,
                verifier_der,
                verifier_is_cert,
            },
        ) => {
            let spec: IntotoV002 = parse(kind, version, body)?;
            let c = &spec.content;
            ensure(c.envelope.payload_type == payload_type, "payload type")?;
            if c.payload_hash.is_none() && c.envelope.payload.is_none() {
                return Err(TlogError::BodyMalformed(
                    "intoto entry records neither payload nor payload hash".into(),
                ));
            }
            if let Some(h) = &c.payload_hash {
                let want = digest_alg(&h.algorithm)?.hash(payload);
                ensure(hex_eq(&h.value, want.as_bytes(), "payload hash")?, "payload hash")?;
            }
            if let Some(p) = &c.envelope.payload {
                // base64(base64(payload)).
                let inner = STANDARD.decode(p.0.as_bytes()).map_err(|_| malformed("payload"))?;
                // An inner layer that is not base64 cannot be our payload.
                ensure(b64_eq(&inner, payload, "payload").unwrap_or(false), "payload")?;
            }
            signatures_match(
                &c.envelope.signatures,
                signatures,
                |l, e| {
                    // base64(base64(sig)).
                    let inner = STANDARD.decode(l.sig.as_bytes()).map_err(|_| malformed("signature"))?;
                    // Single-encoded (or otherwise not base64 inside): not the envelope's signature.
                    Ok(b64_eq(&inner, e, "signature").unwrap_or(false))
                },
                |l| pem_b64_eq(&l.public_key, verifier_der, verifier_is_cert),
            )
        }
        ("hashedrekord", "0.0.1", _) | ("dsse", "0.0.1" | "0.0.2", _) | ("intoto", "0.0.2", _) => {
            Err(kind_mismatch(kind, version))
        }
        _ => Err(TlogError::UnsupportedEntryKind {
            kind: kind.to_owned(),
            version: version.to_owned(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
