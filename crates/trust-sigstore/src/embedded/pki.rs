//! Shared by the embedded CA and TSA: building and signing X.509 certificates with the
//! RustCrypto `x509-cert` types and aws-lc-rs, and the on-disk "root + one subordinate" key and
//! certificate set both persist.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use aws_lc_rs::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY};
use der::asn1::{BitString, GeneralizedTime, ObjectIdentifier, OctetString, UtcTime};
use der::oid::AssociatedOid;
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use trust_core::crypto::{pem_decode, pem_encode};
use trust_core::time::{TimeRange, UnixTime};
use trust_core::x509::Certificate as CoreCertificate;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::keys::{self, write_atomic, KeyAlgorithm, KeyError, SigningKey};

/// Ten years (3652 days), the validity of the embedded roots.
pub(crate) const TEN_YEARS_SECS: i64 = 3652 * 86_400;

/// What went wrong building or persisting certificates; each service maps it to its own codes.
#[derive(Debug)]
pub(crate) enum Fault {
    /// File system error.
    Io { path: PathBuf, source: std::io::Error },
    /// Some files of the set exist and others do not.
    Incomplete {
        present: Vec<PathBuf>,
        missing: Vec<PathBuf>,
    },
    /// Files exist but do not form a consistent set.
    Corrupt(String),
    /// A value could not be DER-encoded (out-of-range time, oversized field ...).
    Encode(String),
    /// Key loading or signing.
    Key(KeyError),
}

impl From<KeyError> for Fault {
    fn from(e: KeyError) -> Self {
        Fault::Key(e)
    }
}

impl From<der::Error> for Fault {
    fn from(e: der::Error) -> Self {
        Fault::Encode(e.to_string())
    }
}

/// A distinguished name from a constant RFC 4514 string.
pub(crate) fn name(rfc4514: &str) -> Result<Name, Fault> {
    Name::from_str(rfc4514).map_err(Fault::from)
}

/// An X.509 time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
pub(crate) fn x509_time(secs: i64) -> Result<Time, Fault> {
    let secs = u64::try_from(secs).map_err(|_| Fault::Encode("time before 1970".into()))?;
    let d = Duration::from_secs(secs);
    let dt = der::DateTime::from_unix_duration(d)?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(UtcTime::from_date_time(dt)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(dt))
    })
}

/// A GeneralizedTime (whole seconds, UTC).
pub(crate) fn generalized_time(secs: i64) -> Result<GeneralizedTime, Fault> {
    let secs = u64::try_from(secs).map_err(|_| Fault::Encode("time before 1970".into()))?;
    Ok(GeneralizedTime::from_unix_duration(Duration::from_secs(secs))?)
}

/// `[not_before, not_after]` as an X.509 validity.
pub(crate) fn validity(not_before: i64, not_after: i64) -> Result<Validity, Fault> {
    Ok(Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    })
}

/// `n` random bytes.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Fault> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| Fault::Key(KeyError::Crypto("random")))?;
    Ok(out)
}

/// A random positive 20-octet serial number (first octet in 0x01..=0x7f).
pub(crate) fn random_serial() -> Result<SerialNumber, Fault> {
    let mut bytes: [u8; 20] = random_bytes()?;
    bytes[0] = (bytes[0] & 0x7f).max(1);
    Ok(SerialNumber::new(&bytes)?)
}

/// RFC 5280 §4.2.1.2 method 1 key identifier: SHA-1 of the subjectPublicKey bits.
pub(crate) fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, Fault> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)?;
    Ok(digest(&SHA1_FOR_LEGACY_USE_ONLY, spki.subject_public_key.raw_bytes())
        .as_ref()
        .to_vec())
}

/// The signature AlgorithmIdentifier of `key` (ECDSA: parameters absent).
pub(crate) fn signature_algorithm(alg: KeyAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: alg.signature_oid(),
        parameters: None,
    }
}

/// An extension from a typed value.
pub(crate) fn extension<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Result<Extension, Fault> {
    raw_extension(T::OID, critical, value.to_der()?)
}

/// An extension whose extnValue content is `value`.
pub(crate) fn raw_extension(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension, Fault> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

/// basicConstraints (critical), keyUsage keyCertSign + cRLSign (critical), SKI, and AKI when
/// an issuer key is given: the extensions of a CA certificate.
pub(crate) fn ca_extensions(
    path_len: Option<u8>,
    subject_spki_der: &[u8],
    issuer_spki_der: Option<&[u8]>,
) -> Result<Vec<Extension>, Fault> {
    let mut exts = vec![
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
            true,
        )?,
        extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
        extension(
            &SubjectKeyIdentifier(OctetString::new(key_identifier(subject_spki_der)?)?),
            false,
        )?,
    ];
    if let Some(issuer) = issuer_spki_der {
        exts.push(authority_key_identifier(issuer)?);
    }
    Ok(exts)
}

/// An authorityKeyIdentifier extension naming the issuer's key.
pub(crate) fn authority_key_identifier(issuer_spki_der: &[u8]) -> Result<Extension, Fault> {
    extension(
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(key_identifier(issuer_spki_der)?)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
        false,
    )
}

/// The fields of a certificate to be signed.
pub(crate) struct CertSpec<'a> {
    pub issuer: Name,
    pub subject: Name,
    pub not_before: i64,
    pub not_after: i64,
    pub subject_spki_der: &'a [u8],
    pub extensions: Vec<Extension>,
}

/// The TBSCertificate (v3, random serial) for `spec`, to be signed by `issuer_key`.
pub(crate) fn tbs_certificate(spec: CertSpec<'_>, issuer_alg: KeyAlgorithm) -> Result<TbsCertificate, Fault> {
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: signature_algorithm(issuer_alg),
        issuer: spec.issuer,
        validity: validity(spec.not_before, spec.not_after)?,
        subject: spec.subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spec.subject_spki_der)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(spec.extensions),
    })
}

/// Signs `tbs` with `issuer_key` and returns the certificate DER.
pub(crate) fn sign_certificate(tbs: TbsCertificate, issuer_key: &SigningKey) -> Result<Vec<u8>, Fault> {
    let tbs_der = tbs.to_der()?;
    let sig = issuer_key.sign(&tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: signature_algorithm(issuer_key.algorithm()),
        signature: BitString::from_bytes(&sig)?,
    };
    Ok(cert.to_der()?)
}

/// File names of one persisted root + subordinate set.
pub(crate) struct HierarchyFiles {
    /// Root key file name, under `dir/keys/`.
    pub root_key: &'static str,
    /// Subordinate key file name, under `dir/keys/`.
    pub sub_key: &'static str,
    /// Root certificate (PEM) file name, under `dir/certs/`.
    pub root_cert: &'static str,
    /// Subordinate certificate (PEM) file name, under `dir/certs/`.
    pub sub_cert: &'static str,
}

/// A loaded root + subordinate: keys and certificates, checked to belong together.
pub(crate) struct Hierarchy {
    pub sub_key: SigningKey,
    pub root_der: Vec<u8>,
    pub sub_der: Vec<u8>,
    pub root: CoreCertificate,
    pub sub: CoreCertificate,
    /// The subordinate certificate as x509-cert sees it (its subject and serial are reused).
    pub sub_x509: Certificate,
}

impl Hierarchy {
    /// The validity of the subordinate certificate.
    pub fn sub_validity(&self) -> TimeRange {
        TimeRange {
            start: self.sub.not_before(),
            end: Some(self.sub.not_after()),
        }
    }
}

fn read_cert(path: &Path) -> Result<(Vec<u8>, CoreCertificate), Fault> {
    let pem = fs::read_to_string(path).map_err(|source| Fault::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (label, der) = pem_decode(&pem).map_err(|e| Fault::Corrupt(format!("{}: {e}", path.display())))?;
    if label != "CERTIFICATE" {
        return Err(Fault::Corrupt(format!("{}: PEM label {label:?}", path.display())));
    }
    let cert = CoreCertificate::from_der(&der).map_err(|e| Fault::Corrupt(format!("{}: {e}", path.display())))?;
    Ok((der, cert))
}

/// Loads the set from `dir` (`keys/` and `certs/`), or creates it when none of its four files
/// exists: keys through [`keys::load_or_create`], then `build(root_key, sub_key)` returns the root
/// and subordinate certificate DER, written as PEM (0644). A partial set is an error, never
/// silently completed; a complete one is checked (each certificate holds its key, the root
/// issued the subordinate).
pub(crate) fn load_or_create_hierarchy(
    dir: &Path,
    files: &HierarchyFiles,
    root_alg: KeyAlgorithm,
    sub_alg: KeyAlgorithm,
    passphrase: Option<&str>,
    build: impl FnOnce(&SigningKey, &SigningKey) -> Result<(Vec<u8>, Vec<u8>), Fault>,
) -> Result<Hierarchy, Fault> {
    let root_key_path = dir.join("keys").join(files.root_key);
    let sub_key_path = dir.join("keys").join(files.sub_key);
    let root_cert_path = dir.join("certs").join(files.root_cert);
    let sub_cert_path = dir.join("certs").join(files.sub_cert);
    let all = [&root_key_path, &sub_key_path, &root_cert_path, &sub_cert_path];
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for p in all {
        match fs::symlink_metadata(p) {
            Ok(_) => present.push(p.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(p.clone()),
            Err(source) => {
                return Err(Fault::Io {
                    path: p.clone(),
                    source,
                })
            }
        }
    }
    if !present.is_empty() && !missing.is_empty() {
        return Err(Fault::Incomplete { present, missing });
    }
    let creating = present.is_empty();
    let root_key = keys::load_or_create(&root_key_path, root_alg, passphrase)?;
    let sub_key = keys::load_or_create(&sub_key_path, sub_alg, passphrase)?;
    if creating {
        let (root_der, sub_der) = build(&root_key, &sub_key)?;
        for (path, der) in [(&root_cert_path, &root_der), (&sub_cert_path, &sub_der)] {
            write_atomic(path, pem_encode("CERTIFICATE", der).as_bytes(), 0o644).map_err(|source| Fault::Io {
                path: path.clone(),
                source,
            })?;
        }
    }
    let (root_der, root) = read_cert(&root_cert_path)?;
    let (sub_der, sub) = read_cert(&sub_cert_path)?;
    if root.public_key().spki_der() != root_key.public_key_spki_der() {
        return Err(Fault::Corrupt(format!(
            "{} does not hold the key in {}",
            root_cert_path.display(),
            root_key_path.display()
        )));
    }
    if sub.public_key().spki_der() != sub_key.public_key_spki_der() {
        return Err(Fault::Corrupt(format!(
            "{} does not hold the key in {}",
            sub_cert_path.display(),
            sub_key_path.display()
        )));
    }
    sub.verify_issued_by(&root).map_err(|e| {
        Fault::Corrupt(format!(
            "{} is not issued by {}: {e}",
            sub_cert_path.display(),
            root_cert_path.display()
        ))
    })?;
    let sub_x509 = Certificate::from_der(&sub_der)?;
    Ok(Hierarchy {
        sub_key,
        root_der,
        sub_der,
        root,
        sub,
        sub_x509,
    })
}

/// `now + secs` in whole seconds, saturating instead of overflowing.
pub(crate) fn plus(now: UnixTime, secs: i64) -> i64 {
    now.secs().saturating_add(secs)
}
