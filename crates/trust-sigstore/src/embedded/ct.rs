//! The embedded certificate transparency log: signs RFC 6962 v1 SCTs for precertificates, which
//! the embedded CA embeds in the certificates it issues (it keeps no CT log of its own: the SCT
//! is the promise, the Rekor-style transparency log records the signings).

use std::path::Path;

use trust_core::crypto::{sha256, HashAlgorithm};
use trust_core::time::{TimeRange, UnixTime};
use trust_core::trust_root::TransparencyLog;

use super::keys::{self, KeyAlgorithm, KeyError, SigningKey};

/// CT failure. Every variant has a stable [`CtError::code`] (`ct.*`, or the key's `key.*`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtError {
    /// The CT log key is not ECDSA P-256.
    #[error("CT log key must be ECDSA P-256, got {0}")]
    WrongKeyType(KeyAlgorithm),
    /// The precertificate TBS does not fit the 24-bit length of the signed structure.
    #[error("precertificate TBS too large ({0} bytes)")]
    TbsTooLarge(usize),
    /// An SCT or the SCT list does not fit its 16-bit length.
    #[error("SCT list too large")]
    ListTooLarge,
    /// Loading the key or signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl CtError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            CtError::WrongKeyType(_) => "ct.wrong_key_type",
            CtError::TbsTooLarge(_) => "ct.tbs_too_large",
            CtError::ListTooLarge => "ct.list_too_large",
            CtError::Key(e) => e.code(),
        }
    }
}

/// TLS `HashAlgorithm.sha256`.
const TLS_HASH_SHA256: u8 = 4;
/// TLS `SignatureAlgorithm.ecdsa`.
const TLS_SIG_ECDSA: u8 = 3;
/// RFC 6962 `LogEntryType.precert_entry`.
const PRECERT_ENTRY: u16 = 1;

/// An RFC 6962 log key: signs SCTs, identified by the SHA-256 of its SPKI.
#[derive(Debug)]
pub struct CtLog {
    key: SigningKey,
}

impl CtLog {
    /// A CT log signing with `key`, which must be ECDSA P-256 (what Sigstore clients expect).
    pub fn new(key: SigningKey) -> Result<Self, CtError> {
        match key.algorithm() {
            KeyAlgorithm::EcdsaP256Sha256 => Ok(CtLog { key }),
            other => Err(CtError::WrongKeyType(other)),
        }
    }

    /// Loads (or creates) the log's P-256 key file at `path` (see [`keys::load_or_create`]).
    pub fn load_or_create(path: &Path, passphrase: Option<&str>) -> Result<Self, CtError> {
        Self::new(keys::load_or_create(path, KeyAlgorithm::EcdsaP256Sha256, passphrase)?)
    }

    /// The log id: SHA-256 of the DER SPKI of the log key.
    pub fn log_id(&self) -> [u8; 32] {
        self.key.key_id()
    }

    /// The log's signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// This log as a trusted-root `ctlogs` entry, valid from `valid_from` on.
    pub fn transparency_log(&self, base_url: &str, valid_from: UnixTime) -> TransparencyLog {
        TransparencyLog {
            base_url: base_url.to_owned(),
            hash_algorithm: HashAlgorithm::Sha256,
            key: self.key.public_key(),
            log_id: self.log_id().to_vec(),
            valid_for: TimeRange {
                start: valid_from,
                end: None,
            },
        }
    }

    /// Signs one RFC 6962 v1 SCT for a precertificate entry and returns it TLS-serialized
    /// (`SignedCertificateTimestamp`: version, log id, timestamp, no extensions, signature).
    ///
    /// `issuer_spki_der` is the issuing CA's SPKI (its SHA-256 is the `issuer_key_hash`),
    /// `tbs_without_poison_der` the final certificate's TBS without the SCT-list extension (the
    /// precertificate TBS with the poison extension removed), `timestamp_ms` milliseconds since
    /// the Unix epoch.
    pub fn sign_precert_sct(
        &self,
        issuer_spki_der: &[u8],
        tbs_without_poison_der: &[u8],
        timestamp_ms: u64,
    ) -> Result<Vec<u8>, CtError> {
        let tbs_len = tbs_without_poison_der.len();
        if tbs_len >= 1 << 24 {
            return Err(CtError::TbsTooLarge(tbs_len));
        }
        let mut signed = Vec::with_capacity(tbs_len + 50);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&PRECERT_ENTRY.to_be_bytes());
        signed.extend_from_slice(&sha256(issuer_spki_der));
        signed.extend_from_slice(&(tbs_len as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(tbs_without_poison_der);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
        let sig = self.key.sign(&signed)?;
        let sig_len = u16::try_from(sig.len()).map_err(|_| CtError::ListTooLarge)?;

        let mut sct = Vec::with_capacity(47 + sig.len());
        sct.push(0);
        sct.extend_from_slice(&self.log_id());
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.push(TLS_HASH_SHA256);
        sct.push(TLS_SIG_ECDSA);
        sct.extend_from_slice(&sig_len.to_be_bytes());
        sct.extend_from_slice(&sig);
        Ok(sct)
    }
}

/// The extnValue content of the embedded-SCT extension (1.3.6.1.4.1.11129.2.4.2): a DER OCTET
/// STRING wrapping the TLS `SignedCertificateTimestampList` of `scts` (each a serialized SCT as
/// returned by [`CtLog::sign_precert_sct`]).
pub fn sct_list_extension_value(scts: &[Vec<u8>]) -> Result<Vec<u8>, CtError> {
    let mut list = Vec::new();
    for sct in scts {
        let len = u16::try_from(sct.len()).map_err(|_| CtError::ListTooLarge)?;
        list.extend_from_slice(&len.to_be_bytes());
        list.extend_from_slice(sct);
    }
    let total = u16::try_from(list.len()).map_err(|_| CtError::ListTooLarge)?;
    let mut tls = Vec::with_capacity(list.len() + 2);
    tls.extend_from_slice(&total.to_be_bytes());
    tls.extend_from_slice(&list);
    der::Encode::to_der(&der::asn1::OctetString::new(tls).map_err(|_| CtError::ListTooLarge)?)
        .map_err(|_| CtError::ListTooLarge)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn only_p256_keys_make_a_ct_log() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP384Sha384).unwrap();
        assert_eq!(CtLog::new(key).unwrap_err().code(), "ct.wrong_key_type");
    }

    #[test]
    fn sct_layout_and_signature() {
        let log = CtLog::new(SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap()).unwrap();
        let issuer = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let tbs = b"\x30\x03\x02\x01\x01";
        let sct = log
            .sign_precert_sct(issuer.public_key_spki_der(), tbs, 1_700_000_000_123)
            .unwrap();
        assert_eq!(sct[0], 0);
        assert_eq!(&sct[1..33], &log.log_id());
        assert_eq!(u64::from_be_bytes(sct[33..41].try_into().unwrap()), 1_700_000_000_123);
        assert_eq!(&sct[41..43], &[0, 0]);
        assert_eq!(&sct[43..45], &[TLS_HASH_SHA256, TLS_SIG_ECDSA]);
        let sig_len = usize::from(u16::from_be_bytes([sct[45], sct[46]]));
        assert_eq!(sct.len(), 47 + sig_len);
        let mut signed = vec![0, 0];
        signed.extend_from_slice(&1_700_000_000_123u64.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(&sha256(issuer.public_key_spki_der()));
        signed.extend_from_slice(&[0, 0, 5]);
        signed.extend_from_slice(tbs);
        signed.extend_from_slice(&[0, 0]);
        assert!(log.key().public_key().verify(&signed, &sct[47..]).is_ok());
        signed[10] ^= 1;
        assert!(log.key().public_key().verify(&signed, &sct[47..]).is_err());
    }

    #[test]
    fn list_extension_value_is_an_octet_string_of_the_tls_list() {
        let v = sct_list_extension_value(&[vec![1, 2, 3], vec![4]]).unwrap();
        assert_eq!(v, vec![0x04, 10, 0, 8, 0, 3, 1, 2, 3, 0, 1, 4]);
    }
}
