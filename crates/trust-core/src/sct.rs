//! Signed certificate timestamps (RFC 6962) embedded in Fulcio certificates.
//!
//! An embedded SCT signs the *precertificate*: the leaf's TBSCertificate without the SCT-list
//! extension (1.3.6.1.4.1.11129.2.4.2). The leaf is parsed by [`crate::x509`], which extracts the
//! SCT list ([`Certificate::embedded_scts`]) and rebuilds that TBS
//! ([`Certificate::precertificate_tbs_der`]); this module only reads the TLS-encoded list and
//! checks each SCT's signature.
//!
//! The CT signature covers (RFC 6962 §3.2, TLS encoding):
//! `version(0) | signature_type(0) | timestamp u64 | entry_type u16 (1 = precert) |
//! issuer_key_hash[32] | u24-length TBS | u16-length extensions`.

use crate::crypto::{sha256, HashAlgorithm, KeyKind};
use crate::time::UnixTime;
use crate::trust_root::TransparencyLog;
use crate::x509::Certificate;

/// SCT failure. Every variant has a stable [`SctError::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SctError {
    /// The SCT list does not parse (or the precertificate is too large to be signed).
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

/// Feeds the RFC 6962 `digitally-signed` input of `sct` over the precertificate TBS `tbs` (shorter
/// than 2^24 bytes) to `f`.
fn feed_signed_data(tbs: &[u8], issuer_key_hash: &[u8; 32], sct: &Sct<'_>, f: &mut impl FnMut(&[u8])) {
    f(&[0, 0]); // v1, certificate_timestamp
    f(&sct.timestamp.to_be_bytes());
    f(&[0, 1]); // precert_entry
    f(issuer_key_hash);
    f(&(tbs.len() as u32).to_be_bytes()[1..]);
    f(tbs);
    f(&(sct.extensions.len() as u16).to_be_bytes());
    f(sct.extensions);
}

fn check_one(
    tbs: &[u8],
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
            feed_signed_data(tbs, issuer_key_hash, sct, &mut |b| h.update(b));
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
/// one; otherwise an error). `issuer_spki_der` = DER SubjectPublicKeyInfo of the certificate that
/// issued `leaf`.
///
/// SCTs from logs not in `ctlogs` are skipped (as sigstore-go does); each SCT's timestamp must lie
/// in its log key's `valid_for`. When none verifies, the error is the most telling one met:
/// `sct.invalid_signature`, then `sct.outside_log_validity`, `sct.unknown_log`,
/// `sct.unsupported_version`. `sct.missing` without SCTs, `sct.malformed` for a bad TLS list.
pub fn verify_embedded_scts(
    leaf: &Certificate,
    issuer_spki_der: &[u8],
    ctlogs: &[TransparencyLog],
) -> Result<usize, SctError> {
    let sct_list = leaf.embedded_scts().ok_or(SctError::Missing)?;
    let tbs = leaf.precertificate_tbs_der().ok_or(SctError::Missing)?;
    if tbs.len() >= 1 << 24 {
        return Err(malformed("certificate too large"));
    }
    let mut list = Reader(sct_list);
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
            Some(sct) => check_one(&tbs, &issuer_key_hash, &sct, ctlogs).map(|()| sct.log_id),
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
