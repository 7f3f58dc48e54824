//! Signed certificate timestamps (RFC 6962) embedded in Fulcio certificates.
//!
//! An embedded SCT signs the *precertificate*: the leaf's TBSCertificate without the SCT-list
//! extension (1.3.6.1.4.1.11129.2.4.2). That TBS is rebuilt by splicing the leaf's DER (the
//! extension's bytes are dropped and the three enclosing lengths re-encoded) and hashed in pieces:
//! no certificate parser, no copy of the TBS.
//!
//! The CT signature covers (RFC 6962 §3.2, TLS encoding):
//! `version(0) | signature_type(0) | timestamp u64 | entry_type u16 (1 = precert) |
//! issuer_key_hash[32] | u24-length TBS | u16-length extensions`.

use crate::crypto::{sha256, HashAlgorithm, KeyKind};
use crate::time::UnixTime;
use crate::trust_root::TransparencyLog;

/// SCT failure. Every variant has a stable [`SctError::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SctError {
    /// The certificate or the SCT list does not parse.
    #[error("malformed SCT list: {0}")]
    Malformed(String),
    /// The certificate carries no SCT (no SCT-list extension, or an empty list).
    #[error("certificate has no embedded SCT")]
    Missing,
    /// No SCT comes from a CT log of the trusted root.
    #[error("no SCT is from a trusted CT log")]
    UnknownLog,
    /// SCTs from trusted logs were issued outside the log key's validity.
    #[error("SCT timestamp outside the CT log key's validity")]
    OutsideLogValidity,
    /// An SCT from a trusted log does not verify.
    #[error("SCT signature does not verify")]
    InvalidSignature,
    /// Every SCT has a version this implementation does not know (only v1 exists).
    #[error("unsupported SCT version")]
    UnsupportedVersion,
}

impl SctError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SctError::Malformed(_) => "sct.malformed",
            SctError::Missing => "sct.missing",
            SctError::UnknownLog => "sct.unknown_log",
            SctError::OutsideLogValidity => "sct.outside_log_validity",
            SctError::InvalidSignature => "sct.invalid_signature",
            SctError::UnsupportedVersion => "sct.unsupported_version",
        }
    }

    /// Which error to report when no SCT verified: the one closest to success wins.
    fn rank(&self) -> u8 {
        match self {
            SctError::InvalidSignature => 4,
            SctError::OutsideLogValidity => 3,
            SctError::UnknownLog => 2,
            SctError::UnsupportedVersion => 1,
            _ => 0,
        }
    }
}

fn malformed(what: &str) -> SctError {
    SctError::Malformed(what.to_owned())
}

/// DER encoding of the SCT-list extension OID 1.3.6.1.4.1.11129.2.4.2 (contents only).
const OID_SCT_LIST: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0xD6, 0x79, 0x02, 0x04, 0x02];

/// One DER TLV: its tag, its contents, and the whole encoding.
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    whole: &'a [u8],
}

/// Reads one DER TLV from the front of `input` (low tag numbers, definite minimal lengths of at
/// most four bytes), returning it and what follows.
fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), SctError> {
    let bad = || malformed("certificate is not valid DER");
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    if tag & 0x1F == 0x1F {
        return Err(bad());
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return Err(bad());
        }
        let (bytes, after) = rest.split_at_checked(n).ok_or_else(bad)?;
        rest = after;
        let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        // Minimal encoding only.
        if bytes.first() == Some(&0) || len < 0x80 {
            return Err(bad());
        }
        len
    };
    let (value, after) = rest.split_at_checked(len).ok_or_else(bad)?;
    let header = input.len() - rest.len();
    let whole = input.get(..header + len).ok_or_else(bad)?;
    Ok((Tlv { tag, value, whole }, after))
}

fn expect_tlv<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(Tlv<'a>, &'a [u8]), SctError> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(SctError::Malformed(format!(
            "{what}: unexpected DER tag 0x{:02x}",
            tlv.tag
        )));
    }
    Ok((tlv, rest))
}

/// A DER header (tag and minimal length) for `len` bytes of contents.
#[derive(Clone, Copy)]
struct Header {
    bytes: [u8; 6],
    len: usize,
}

impl Header {
    fn new(tag: u8, len: usize) -> Header {
        let be = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
        let significant = be.iter().skip_while(|&&b| b == 0).count();
        let [b0, b1, b2, b3] = be;
        match (len < 0x80, significant) {
            (true, _) => Header {
                bytes: [tag, b3, 0, 0, 0, 0],
                len: 2,
            },
            (false, 1) => Header {
                bytes: [tag, 0x81, b3, 0, 0, 0],
                len: 3,
            },
            (false, 2) => Header {
                bytes: [tag, 0x82, b2, b3, 0, 0],
                len: 4,
            },
            (false, 3) => Header {
                bytes: [tag, 0x83, b1, b2, b3, 0],
                len: 5,
            },
            _ => Header {
                bytes: [tag, 0x84, b0, b1, b2, b3],
                len: 6,
            },
        }
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The leaf split into the pieces of its precertificate TBS, and its SCT list.
struct Precert<'a> {
    tbs_header: Header,
    /// TBS elements before the extensions field.
    prefix: &'a [u8],
    /// Headers of the `[3]` wrapper and the extensions SEQUENCE; `None` when no extension is left.
    exts_headers: Option<(Header, Header)>,
    /// Extensions before and after the SCT list.
    before: &'a [u8],
    after: &'a [u8],
    /// TBS elements after the extensions field (none in valid X.509).
    suffix: &'a [u8],
    /// Length of the whole precert TBS encoding.
    tbs_len: usize,
    /// The TLS `SignedCertificateTimestampList`.
    sct_list: &'a [u8],
}

impl<'a> Precert<'a> {
    fn parse(leaf_der: &'a [u8]) -> Result<Precert<'a>, SctError> {
        let (cert, trailing) = expect_tlv(leaf_der, 0x30, "certificate")?;
        if !trailing.is_empty() {
            return Err(malformed("trailing data after the certificate"));
        }
        let (tbs, _) = expect_tlv(cert.value, 0x30, "tbsCertificate")?;

        // Find the [3] EXPLICIT extensions field among the TBS elements.
        let mut rest = tbs.value;
        let mut exts: Option<(usize, Tlv<'a>)> = None;
        while !rest.is_empty() {
            let offset = tbs.value.len() - rest.len();
            let (el, after) = read_tlv(rest)?;
            if el.tag == 0xA3 {
                if exts.is_some() {
                    return Err(malformed("two extensions fields"));
                }
                exts = Some((offset, el));
            }
            rest = after;
        }
        let (exts_offset, exts_field) = exts.ok_or(SctError::Missing)?;
        let (seq, after_seq) = expect_tlv(exts_field.value, 0x30, "extensions")?;
        if !after_seq.is_empty() {
            return Err(malformed("trailing data in the extensions field"));
        }

        // Find the SCT-list extension.
        let mut rest = seq.value;
        let mut found: Option<(usize, Tlv<'a>, &'a [u8])> = None;
        while !rest.is_empty() {
            let offset = seq.value.len() - rest.len();
            let (ext, after) = expect_tlv(rest, 0x30, "extension")?;
            let (oid, ext_rest) = expect_tlv(ext.value, 0x06, "extension id")?;
            if oid.value == OID_SCT_LIST {
                if found.is_some() {
                    return Err(malformed("two SCT-list extensions"));
                }
                // Skip the optional `critical` BOOLEAN.
                let (mut el, mut after_el) = read_tlv(ext_rest)?;
                if el.tag == 0x01 {
                    (el, after_el) = read_tlv(after_el)?;
                }
                if el.tag != 0x04 || !after_el.is_empty() {
                    return Err(malformed("SCT-list extension value"));
                }
                // extnValue wraps a DER OCTET STRING holding the TLS list.
                let (inner, after_inner) = expect_tlv(el.value, 0x04, "SCT list")?;
                if !after_inner.is_empty() {
                    return Err(malformed("trailing data after the SCT list"));
                }
                found = Some((offset, ext, inner.value));
            }
            rest = after;
        }
        let (sct_offset, sct_ext, sct_list) = found.ok_or(SctError::Missing)?;

        let prefix = tbs.value.get(..exts_offset).unwrap_or_default();
        let suffix = tbs
            .value
            .get(exts_offset + exts_field.whole.len()..)
            .unwrap_or_default();
        let before = seq.value.get(..sct_offset).unwrap_or_default();
        let after = seq.value.get(sct_offset + sct_ext.whole.len()..).unwrap_or_default();

        // Re-encode the lengths of the extensions SEQUENCE, its [3] wrapper and the TBS. An
        // extension list left empty is omitted, as Go's certificate-transparency code does.
        let seq_len = before.len() + after.len();
        let (exts_headers, exts_len) = if seq_len == 0 {
            (None, 0)
        } else {
            let seq = Header::new(0x30, seq_len);
            let a3_len = seq.len + seq_len;
            let a3 = Header::new(0xA3, a3_len);
            (Some((a3, seq)), a3.len + a3_len)
        };
        let tbs_content = prefix.len() + exts_len + suffix.len();
        let tbs_header = Header::new(0x30, tbs_content);
        let tbs_len = tbs_header.len + tbs_content;
        if tbs_len >= 1 << 24 {
            return Err(malformed("certificate too large"));
        }
        Ok(Precert {
            tbs_header,
            prefix,
            exts_headers,
            before,
            after,
            suffix,
            tbs_len,
            sct_list,
        })
    }

    /// Feeds the precert TBS, in order, to `f`.
    fn feed_tbs(&self, f: &mut impl FnMut(&[u8])) {
        f(self.tbs_header.as_slice());
        f(self.prefix);
        if let Some((a3, seq)) = &self.exts_headers {
            f(a3.as_slice());
            f(seq.as_slice());
        }
        f(self.before);
        f(self.after);
        f(self.suffix);
    }
}

/// A parsed v1 SCT.
struct Sct<'a> {
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    hash_alg: u8,
    sig_alg: u8,
    signature: &'a [u8],
}

/// A TLS reader over a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SctError> {
        let (head, tail) = self.0.split_at_checked(n).ok_or_else(|| malformed("truncated SCT"))?;
        self.0 = tail;
        Ok(head)
    }
    fn uint(&mut self, n: usize) -> Result<u64, SctError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
    fn vec16(&mut self) -> Result<&'a [u8], SctError> {
        let n = self.uint(2)? as usize;
        self.take(n)
    }
}

/// Parses one serialized SCT; `Ok(None)` for a version other than v1.
fn parse_sct(bytes: &[u8]) -> Result<Option<Sct<'_>>, SctError> {
    let mut r = Reader(bytes);
    if r.uint(1)? != 0 {
        return Ok(None);
    }
    let sct = Sct {
        log_id: r.take(32)?,
        timestamp: r.uint(8)?,
        extensions: r.vec16()?,
        hash_alg: r.uint(1)? as u8,
        sig_alg: r.uint(1)? as u8,
        signature: r.vec16()?,
    };
    if !r.0.is_empty() {
        return Err(malformed("trailing data in SCT"));
    }
    Ok(Some(sct))
}

/// Feeds the RFC 6962 `digitally-signed` input of `sct` over `precert` to `f`.
fn feed_signed_data(precert: &Precert<'_>, issuer_key_hash: &[u8; 32], sct: &Sct<'_>, f: &mut impl FnMut(&[u8])) {
    f(&[0, 0]); // v1, certificate_timestamp
    f(&sct.timestamp.to_be_bytes());
    f(&[0, 1]); // precert_entry
    f(issuer_key_hash);
    f(&(precert.tbs_len as u32).to_be_bytes()[1..]);
    precert.feed_tbs(f);
    f(&(sct.extensions.len() as u16).to_be_bytes());
    f(sct.extensions);
}

fn check_one(
    precert: &Precert<'_>,
    issuer_key_hash: &[u8; 32],
    sct: &Sct<'_>,
    ctlogs: &[TransparencyLog],
) -> Result<(), SctError> {
    let hash = match sct.hash_alg {
        4 => HashAlgorithm::Sha256,
        5 => HashAlgorithm::Sha384,
        6 => HashAlgorithm::Sha512,
        _ => return Err(SctError::InvalidSignature),
    };
    let time = i64::try_from(sct.timestamp / 1000)
        .map(|secs| UnixTime::new(secs, (sct.timestamp % 1000) as u32 * 1_000_000))
        .map_err(|_| SctError::OutsideLogValidity)?;
    let mut best = SctError::UnknownLog;
    let mut digest = None;
    for log in ctlogs.iter().filter(|l| l.log_id == sct.log_id) {
        if !log.valid_for.contains(time) {
            best = SctError::OutsideLogValidity;
            continue;
        }
        let algorithm_fits = match log.key.kind() {
            KeyKind::Rsa { .. } => sct.sig_alg == 1,
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521 => sct.sig_alg == 3,
            KeyKind::Ed25519 => false,
        };
        best = SctError::InvalidSignature;
        if !algorithm_fits {
            continue;
        }
        let d = digest.get_or_insert_with(|| {
            let mut h = hash.hasher();
            feed_signed_data(precert, issuer_key_hash, sct, &mut |b| h.update(b));
            h.finish()
        });
        if log.key.verify_prehashed(d, sct.signature).is_ok() {
            return Ok(());
        }
    }
    Err(best)
}

/// Verify the SCTs embedded in a Fulcio leaf (extension 1.3.6.1.4.1.11129.2.4.2) against the
/// trusted CT logs. Returns the number of SCTs that verified from distinct trusted logs (at least
/// one; otherwise an error). `leaf_der` = the full leaf certificate DER, `issuer_spki_der` = DER
/// SubjectPublicKeyInfo of the certificate that issued the leaf.
///
/// SCTs from logs not in `ctlogs` are skipped (as sigstore-go does); each SCT's timestamp must lie
/// in its log key's `valid_for`. When none verifies, the error is the most telling one met:
/// `sct.invalid_signature`, then `sct.outside_log_validity`, `sct.unknown_log`,
/// `sct.unsupported_version`. `sct.missing` without SCTs, `sct.malformed` for bad DER or TLS.
pub fn verify_embedded_scts(
    leaf_der: &[u8],
    issuer_spki_der: &[u8],
    ctlogs: &[TransparencyLog],
) -> Result<usize, SctError> {
    let precert = Precert::parse(leaf_der)?;
    let mut list = Reader(precert.sct_list);
    let mut scts = Reader(list.vec16()?);
    if !list.0.is_empty() {
        return Err(malformed("trailing data after the SCT list"));
    }
    if scts.0.is_empty() {
        return Err(SctError::Missing);
    }
    let issuer_key_hash = sha256(issuer_spki_der);
    let mut verified_logs: Vec<&[u8]> = Vec::new();
    let mut worst: Option<SctError> = None;
    while !scts.0.is_empty() {
        let bytes = scts.vec16()?;
        if bytes.is_empty() {
            return Err(malformed("empty SCT"));
        }
        let outcome = match parse_sct(bytes)? {
            None => Err(SctError::UnsupportedVersion),
            Some(sct) => check_one(&precert, &issuer_key_hash, &sct, ctlogs).map(|()| sct.log_id),
        };
        match outcome {
            Ok(log_id) => {
                if !verified_logs.contains(&log_id) {
                    verified_logs.push(log_id);
                }
            }
            Err(e) => {
                if worst.as_ref().is_none_or(|w| e.rank() > w.rank()) {
                    worst = Some(e);
                }
            }
        }
    }
    match (verified_logs.len(), worst) {
        (0, Some(e)) => Err(e),
        (0, None) => Err(SctError::Missing),
        (n, _) => Ok(n),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
