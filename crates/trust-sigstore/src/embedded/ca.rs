//! The embedded certificate authority: issues short-lived Fulcio-style code-signing
//! certificates with an embedded SCT from the embedded [`CtLog`].
//!
//! On disk (under the directory given to [`LocalCa::load_or_create`]): `keys/ca-root.key.pem`
//! (ECDSA P-384), `keys/ca-intermediate.key.pem` (ECDSA P-256), `certs/ca-root.pem` and
//! `certs/ca-intermediate.pem`. They are created together on first use; a partial or inconsistent
//! set is an error, never regenerated.

use std::path::{Path, PathBuf};

use der::asn1::{Ia5String, ObjectIdentifier, OctetString, Utf8StringRef};
use der::Encode;
use trust_core::crypto::{KeyKind, PublicKey};
use trust_core::time::{TimeRange, UnixTime};
use trust_core::trust_root::CertificateAuthority;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier};
use x509_cert::name::Name;

use super::ct::{sct_list_extension_value, CtError, CtLog};
use super::keys::{KeyAlgorithm, KeyError};
use super::pki::{self, CertSpec, Fault, Hierarchy, HierarchyFiles};

/// Lifetime of an issued certificate (as Fulcio: 10 minutes).
pub const LEAF_VALIDITY_SECS: i64 = 600;

const FILES: HierarchyFiles = HierarchyFiles {
    root_key: "ca-root.key.pem",
    sub_key: "ca-intermediate.key.pem",
    root_cert: "ca-root.pem",
    sub_cert: "ca-intermediate.pem",
};
const ROOT_NAME: &str = "CN=certus-trust local root CA,O=certus-trust";
const INTERMEDIATE_NAME: &str = "CN=certus-trust local intermediate CA,O=certus-trust";

const OID_EKU_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio's extension arc: `1.3.6.1.4.1.57264.1.<n>`.
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1";

/// CA failure. Every variant has a stable [`CaError::code`] (`ca.*`, or `key.*` / `ct.*` from
/// the key or the CT log).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// Reading or writing the CA's files failed.
    #[error("CA file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Some of the CA's key and certificate files exist and others do not.
    #[error("incomplete CA state: missing {missing:?} while {present:?} exist (restore them or remove the others)")]
    IncompleteState {
        /// Files that exist.
        present: Vec<PathBuf>,
        /// Files that do not.
        missing: Vec<PathBuf>,
    },
    /// The CA's files exist but do not belong together or do not parse.
    #[error("corrupt CA state: {0}")]
    CorruptState(String),
    /// The request has an empty identity.
    #[error("empty signer identity")]
    EmptyIdentity,
    /// The email identity is not an email address.
    #[error("invalid email identity {0:?}")]
    InvalidEmail(String),
    /// The URI identity does not parse as an (ASCII) URI.
    #[error("invalid URI identity {0:?}")]
    InvalidUri(String),
    /// The OIDC issuer is empty.
    #[error("empty OIDC issuer")]
    EmptyIssuer,
    /// The public key is not a valid DER SubjectPublicKeyInfo.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// The public key is valid but of a type the CA does not certify.
    #[error("unsupported public key type {0} (ECDSA P-256, P-384 or Ed25519)")]
    UnsupportedKeyType(String),
    /// An extra Fulcio claim is not acceptable.
    #[error("invalid claim 1.3.6.1.4.1.57264.1.{arc}: {reason}")]
    InvalidClaim {
        /// The claim's last OID arc.
        arc: u32,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The CA's certificates are not valid for the whole lifetime of the requested certificate.
    #[error("the CA is not valid at {0} (or 10 minutes later)")]
    OutsideValidity(UnixTime),
    /// A value could not be DER-encoded.
    #[error("encoding: {0}")]
    Encode(String),
    /// Key loading or signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The CT log failed to sign the SCT.
    #[error(transparent)]
    Ct(#[from] CtError),
}

impl CaError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            CaError::Io { .. } => "ca.io",
            CaError::IncompleteState { .. } => "ca.incomplete_state",
            CaError::CorruptState(_) => "ca.corrupt_state",
            CaError::EmptyIdentity => "ca.empty_identity",
            CaError::InvalidEmail(_) => "ca.invalid_email",
            CaError::InvalidUri(_) => "ca.invalid_uri",
            CaError::EmptyIssuer => "ca.empty_issuer",
            CaError::InvalidPublicKey(_) => "ca.invalid_public_key",
            CaError::UnsupportedKeyType(_) => "ca.unsupported_key_type",
            CaError::InvalidClaim { .. } => "ca.invalid_claim",
            CaError::OutsideValidity(_) => "ca.outside_validity",
            CaError::Encode(_) => "ca.encode",
            CaError::Key(e) => e.code(),
            CaError::Ct(e) => e.code(),
        }
    }
}

impl From<Fault> for CaError {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Io { path, source } => CaError::Io { path, source },
            Fault::Incomplete { present, missing } => CaError::IncompleteState { present, missing },
            Fault::Corrupt(s) => CaError::CorruptState(s),
            Fault::Encode(s) => CaError::Encode(s),
            Fault::Key(e) => CaError::Key(e),
        }
    }
}

impl From<der::Error> for CaError {
    fn from(e: der::Error) -> Self {
        CaError::Encode(e.to_string())
    }
}

/// The signer identity put in the certificate's subjectAltName.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerIdentity {
    /// An email address (rfc822Name).
    Email(String),
    /// A URI (uniformResourceIdentifier), for example a CI workflow identity.
    Uri(String),
}

/// A certificate request, already authenticated by the caller (OIDC token checked).
#[derive(Clone, Debug)]
pub struct IssueRequest<'a> {
    /// The DER SubjectPublicKeyInfo to certify (ECDSA P-256/P-384 or Ed25519).
    pub public_key_spki_der: &'a [u8],
    /// Who signs.
    pub identity: SignerIdentity,
    /// The OIDC issuer that vouched for the identity.
    pub oidc_issuer: String,
    /// Extra Fulcio extensions, by last arc under 1.3.6.1.4.1.57264.1 (for example 9 = build
    /// signer URI). Arcs 2 to 6 are written as raw strings, 9 and up as DER UTF8String; 1, 7 and
    /// 8 are reserved (issuer, username SAN).
    pub claims: Vec<(u32, String)>,
    /// Issuance time: the certificate is valid from it for [`LEAF_VALIDITY_SECS`].
    pub now: UnixTime,
}

/// An issued certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The leaf certificate DER.
    pub leaf_der: Vec<u8>,
    /// The CA chain above it: intermediate, root.
    pub chain_der: Vec<Vec<u8>>,
    /// Start of the leaf's validity.
    pub not_before: UnixTime,
    /// End of the leaf's validity.
    pub not_after: UnixTime,
}

/// The embedded CA: a P-384 root (10 years) and the P-256 intermediate that issues leaves.
pub struct LocalCa {
    h: Hierarchy,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa")
            .field("validity", &self.intermediate_validity())
            .finish_non_exhaustive()
    }
}

fn build_hierarchy(
    root_key: &super::keys::SigningKey,
    sub_key: &super::keys::SigningKey,
    now: UnixTime,
) -> Result<(Vec<u8>, Vec<u8>), Fault> {
    let not_before = now.secs();
    let not_after = pki::plus(now, pki::TEN_YEARS_SECS);
    let root_spki = root_key.public_key_spki_der();
    let root = pki::tbs_certificate(
        CertSpec {
            issuer: pki::name(ROOT_NAME)?,
            subject: pki::name(ROOT_NAME)?,
            not_before,
            not_after,
            subject_spki_der: root_spki,
            extensions: pki::ca_extensions(None, root_spki, None)?,
        },
        root_key.algorithm(),
    )?;
    let sub_spki = sub_key.public_key_spki_der();
    let mut sub_exts = pki::ca_extensions(Some(0), sub_spki, Some(root_spki))?;
    sub_exts.push(pki::extension(&ExtendedKeyUsage(vec![OID_EKU_CODE_SIGNING]), false)?);
    let sub = pki::tbs_certificate(
        CertSpec {
            issuer: pki::name(ROOT_NAME)?,
            subject: pki::name(INTERMEDIATE_NAME)?,
            not_before,
            not_after,
            subject_spki_der: sub_spki,
            extensions: sub_exts,
        },
        root_key.algorithm(),
    )?;
    Ok((
        pki::sign_certificate(root, root_key)?,
        pki::sign_certificate(sub, root_key)?,
    ))
}

/// Whether `s` is a plausible email address: ASCII, one `@` with a non-empty local part and
/// domain, no whitespace or control characters.
fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `s` is an RFC 3986 URI: `scheme ":" rest`, scheme `ALPHA *(ALPHA / DIGIT / + - .)`,
/// a non-empty rest of unreserved, reserved and `%XX`-escaped characters only.
fn valid_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sb = scheme.bytes();
    if !sb.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return false;
    }
    if rest.is_empty() {
        return false;
    }
    let bytes = rest.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(|c| c.is_ascii_hexdigit());
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b);
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

fn fulcio_oid(arc: u32) -> Result<ObjectIdentifier, CaError> {
    ObjectIdentifier::new(&format!("{FULCIO_ARC}.{arc}")).map_err(|e| CaError::Encode(e.to_string()))
}

fn utf8_string_der(s: &str) -> Result<Vec<u8>, CaError> {
    Ok(Utf8StringRef::new(s)?.to_der()?)
}

impl LocalCa {
    /// Loads the CA from `dir`, or creates it there (keys in `dir/keys/`, certificates in
    /// `dir/certs/`) when none of its files exists. The root and intermediate are valid from `now`
    /// for ten years. Keys are encrypted with `passphrase` when given.
    pub fn load_or_create(dir: &Path, passphrase: Option<&str>, now: UnixTime) -> Result<LocalCa, CaError> {
        let h = pki::load_or_create_hierarchy(
            dir,
            &FILES,
            KeyAlgorithm::EcdsaP384Sha384,
            KeyAlgorithm::EcdsaP256Sha256,
            passphrase,
            |root, sub| build_hierarchy(root, sub, now),
        )?;
        Ok(LocalCa { h })
    }

    /// The CA chain: intermediate DER, root DER.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.h.sub_der.clone(), self.h.root_der.clone()]
    }

    /// The root certificate DER.
    pub fn root_der(&self) -> &[u8] {
        &self.h.root_der
    }

    /// The intermediate (issuing) certificate DER.
    pub fn intermediate_der(&self) -> &[u8] {
        &self.h.sub_der
    }

    /// The root certificate's validity.
    pub fn root_validity(&self) -> TimeRange {
        TimeRange {
            start: self.h.root.not_before(),
            end: Some(self.h.root.not_after()),
        }
    }

    /// The intermediate certificate's validity: when leaves can be issued.
    pub fn intermediate_validity(&self) -> TimeRange {
        self.h.sub_validity()
    }

    /// This CA as a trusted-root `certificateAuthorities` entry (chain intermediate, root; valid
    /// for the intermediate's validity).
    pub fn certificate_authority(&self, uri: &str) -> CertificateAuthority {
        CertificateAuthority {
            uri: uri.to_owned(),
            subject: (
                "certus-trust".to_owned(),
                "certus-trust local intermediate CA".to_owned(),
            ),
            certificates: self.chain_der(),
            valid_for: self.intermediate_validity(),
        }
    }

    fn validate(req: &IssueRequest<'_>) -> Result<(), CaError> {
        match &req.identity {
            SignerIdentity::Email(s) | SignerIdentity::Uri(s) if s.is_empty() => return Err(CaError::EmptyIdentity),
            SignerIdentity::Email(s) if !valid_email(s) => return Err(CaError::InvalidEmail(s.clone())),
            SignerIdentity::Uri(s) if !valid_uri(s) => return Err(CaError::InvalidUri(s.clone())),
            _ => {}
        }
        if req.oidc_issuer.trim().is_empty() {
            return Err(CaError::EmptyIssuer);
        }
        let key =
            PublicKey::from_spki_der(req.public_key_spki_der).map_err(|e| CaError::InvalidPublicKey(e.to_string()))?;
        match key.kind() {
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::Ed25519 => {}
            other => return Err(CaError::UnsupportedKeyType(format!("{other:?}"))),
        }
        let mut seen = Vec::with_capacity(req.claims.len());
        for (arc, value) in &req.claims {
            let reason = match arc {
                0 => Some("arc 0 does not exist"),
                1 | 8 => Some("the issuer comes from oidc_issuer"),
                7 => Some("arc 7 is the username subjectAltName"),
                _ if seen.contains(arc) => Some("given twice"),
                _ if value.is_empty() => Some("empty value"),
                _ => None,
            };
            if let Some(reason) = reason {
                return Err(CaError::InvalidClaim { arc: *arc, reason });
            }
            seen.push(*arc);
        }
        Ok(())
    }

    /// Issues a Fulcio-style leaf certificate for `req`, with an SCT from `ct` embedded.
    ///
    /// The leaf: v3, random 20-octet serial, empty subject, valid `now..now + 10 min`, critical
    /// subjectAltName (the identity), critical keyUsage digitalSignature, extKeyUsage codeSigning,
    /// subject and authority key identifiers, the issuer in 1.3.6.1.4.1.57264.1.1 (raw) and .8
    /// (UTF8String), the claims, and last the SCT list: the SCT signs the TBS without that
    /// extension (the RFC 6962 precertificate with its poison removed).
    pub fn issue(&self, req: &IssueRequest<'_>, ct: &CtLog) -> Result<IssuedCertificate, CaError> {
        Self::validate(req)?;
        let not_before = req.now.secs();
        let not_after = pki::plus(req.now, LEAF_VALIDITY_SECS);
        let ca = self.intermediate_validity();
        if !ca.contains(UnixTime::from_secs(not_before)) || !ca.contains(UnixTime::from_secs(not_after)) {
            return Err(CaError::OutsideValidity(req.now));
        }
        let san = match &req.identity {
            SignerIdentity::Email(s) => {
                GeneralName::Rfc822Name(Ia5String::new(s.as_str()).map_err(|_| CaError::InvalidEmail(s.clone()))?)
            }
            SignerIdentity::Uri(s) => GeneralName::UniformResourceIdentifier(
                Ia5String::new(s.as_str()).map_err(|_| CaError::InvalidUri(s.clone()))?,
            ),
        };
        let issuer_spki = self.h.sub_key.public_key_spki_der();
        let mut exts = vec![
            pki::extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?,
            pki::extension(&ExtendedKeyUsage(vec![OID_EKU_CODE_SIGNING]), false)?,
            pki::extension(
                &SubjectKeyIdentifier(OctetString::new(pki::key_identifier(req.public_key_spki_der)?)?),
                false,
            )?,
            pki::authority_key_identifier(issuer_spki)?,
            pki::extension(&SubjectAltName(vec![san]), true)?,
            pki::raw_extension(fulcio_oid(1)?, false, req.oidc_issuer.as_bytes().to_vec())?,
            pki::raw_extension(fulcio_oid(8)?, false, utf8_string_der(&req.oidc_issuer)?)?,
        ];
        for (arc, value) in &req.claims {
            let der = if (2..=6).contains(arc) {
                value.as_bytes().to_vec()
            } else {
                utf8_string_der(value)?
            };
            exts.push(pki::raw_extension(fulcio_oid(*arc)?, false, der)?);
        }
        let issuer: Name = self.h.sub_x509.tbs_certificate.subject.clone();
        let mut tbs = pki::tbs_certificate(
            CertSpec {
                issuer,
                subject: Name::default(),
                not_before,
                not_after,
                subject_spki_der: req.public_key_spki_der,
                extensions: exts,
            },
            self.h.sub_key.algorithm(),
        )?;
        let precert_tbs = tbs.to_der()?;
        let timestamp_ms = u64::try_from(req.now.secs())
            .map_err(|_| CaError::OutsideValidity(req.now))?
            .saturating_mul(1000)
            .saturating_add(u64::from(req.now.subsec_nanos() / 1_000_000));
        let sct = ct.sign_precert_sct(issuer_spki, &precert_tbs, timestamp_ms)?;
        let sct_ext = pki::raw_extension(OID_SCT_LIST, false, sct_list_extension_value(&[sct])?)?;
        if let Some(exts) = tbs.extensions.as_mut() {
            exts.push(sct_ext);
        }
        let leaf_der = pki::sign_certificate(tbs, &self.h.sub_key)?;
        Ok(IssuedCertificate {
            leaf_der,
            chain_der: self.chain_der(),
            not_before: UnixTime::from_secs(not_before),
            not_after: UnixTime::from_secs(not_after),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
