//! X.509 certificates: parsing, chain building to trusted CAs, Fulcio extensions.
//!
//! A [`Certificate`] owns its DER and is parsed exactly once, by a strict zero-copy DER reader:
//! the TBS, names, serial, key, signature and every extension are kept as ranges into that DER,
//! and the decoded facts the verifier needs (validity, basic constraints, key usages, SANs, Fulcio
//! extensions, the SCT list) are computed at parse time. A [`CertificatePool`] holds the trusted
//! authorities' chains, checked once at construction, and verifies leaves against them.

pub(crate) mod asn1;
mod extensions;
mod pool;

pub use extensions::{FulcioExtensions, SubjectAltName};
pub use pool::{CertificatePool, ExtendedKeyUsage, VerifiedChain};

use crate::crypto::{pem_encode, KeyError, PublicKey, SignatureScheme};
use crate::time::UnixTime;
use asn1::{tag, Asn1Error};
use const_oid::ObjectIdentifier;
use std::ops::Range;
use std::sync::OnceLock;

/// Certificate chain, validity or usage failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The certificate does not parse.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// The certificate's public key does not parse or is of an unsupported kind.
    #[error("certificate public key: {0}")]
    PublicKey(KeyError),
    /// The certificate is signed with an algorithm certus-trust does not support.
    #[error("unsupported certificate signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// The certificate's issuer name is not the presumed issuer's subject name.
    #[error("certificate issuer name does not match the issuer's subject")]
    IssuerMismatch,
    /// The certificate's signature does not verify with the issuer's key.
    #[error("certificate signature does not verify with the issuer's key")]
    SignatureInvalid,
    /// The issuing certificate is not allowed to issue certificates (not a CA, no keyCertSign, path length).
    #[error("issuing certificate may not issue certificates: {0}")]
    IssuerNotCa(&'static str),
    /// The certificate does not chain to any trusted certificate authority.
    #[error("certificate does not chain to a trusted certificate authority")]
    ChainUntrusted,
    /// The leaf certificate was not yet valid at the time it was used.
    #[error("certificate not valid before {not_before}, used at {at}")]
    NotYetValid {
        /// Start of the certificate's validity.
        not_before: UnixTime,
        /// The time it was checked at.
        at: UnixTime,
    },
    /// The leaf certificate had expired at the time it was used.
    #[error("certificate expired at {not_after}, used at {at}")]
    Expired {
        /// End of the certificate's validity.
        not_after: UnixTime,
        /// The time it was checked at.
        at: UnixTime,
    },
    /// A CA certificate of the chain was outside its validity at the time the leaf was used.
    #[error("chain certificate #{index} ({not_before} .. {not_after}) not valid at {at}")]
    IssuerOutsideValidity {
        /// Position in the path (1 = the leaf's issuer).
        index: usize,
        /// Start of the CA certificate's validity.
        not_before: UnixTime,
        /// End of the CA certificate's validity.
        not_after: UnixTime,
        /// The time it was checked at.
        at: UnixTime,
    },
    /// The time is outside the trusted root's validity window for the authority.
    #[error("{at} is outside the trusted root's validity window for authority #{authority}")]
    OutsideAuthorityValidity {
        /// Index of the authority in the trusted root.
        authority: usize,
        /// The time it was checked at.
        at: UnixTime,
    },
    /// The leaf certificate is a CA certificate.
    #[error("leaf certificate is a CA certificate")]
    LeafIsCa,
    /// The leaf certificate lacks the required extended key usage.
    #[error("leaf certificate lacks the {0} extended key usage")]
    MissingExtendedKeyUsage(ExtendedKeyUsage),
    /// A CA certificate of the chain restricts extended key usages and excludes the required one.
    #[error("chain certificate #{index} does not allow the {eku} extended key usage")]
    IssuerExtendedKeyUsage {
        /// Position in the path (1 = the leaf's issuer).
        index: usize,
        /// The required usage.
        eku: ExtendedKeyUsage,
    },
    /// The leaf's keyUsage extension does not allow digital signatures.
    #[error("leaf certificate keyUsage does not include digitalSignature")]
    KeyUsageInvalid,
    /// The certificate has a critical extension certus-trust does not process.
    #[error("unhandled critical extension {0}")]
    UnhandledCriticalExtension(String),
    /// A trusted root's certificate chain is unusable.
    #[error("trusted certificate authority #{authority}: {reason}")]
    InvalidTrustedChain {
        /// Index of the authority in the trusted root.
        authority: usize,
        /// Why.
        reason: String,
    },
}

impl CertError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            CertError::Malformed(_) => "cert.malformed",
            CertError::PublicKey(_) => "cert.bad_public_key",
            CertError::UnsupportedSignatureAlgorithm(_) => "cert.unsupported_signature_algorithm",
            CertError::IssuerMismatch => "cert.issuer_mismatch",
            CertError::SignatureInvalid => "cert.signature_invalid",
            CertError::IssuerNotCa(_) => "cert.issuer_not_ca",
            CertError::ChainUntrusted => "cert.chain_untrusted",
            CertError::NotYetValid { .. } => "cert.not_yet_valid_at_signing_time",
            CertError::Expired { .. } => "cert.expired_at_signing_time",
            CertError::IssuerOutsideValidity { .. } => "cert.issuer_outside_validity",
            CertError::OutsideAuthorityValidity { .. } => "cert.outside_authority_validity",
            CertError::LeafIsCa => "cert.leaf_is_ca",
            CertError::MissingExtendedKeyUsage(ExtendedKeyUsage::CodeSigning) => "cert.not_code_signing",
            CertError::MissingExtendedKeyUsage(ExtendedKeyUsage::TimeStamping) => "cert.not_timestamping",
            CertError::IssuerExtendedKeyUsage { .. } => "cert.issuer_eku_mismatch",
            CertError::KeyUsageInvalid => "cert.key_usage_invalid",
            CertError::UnhandledCriticalExtension(_) => "cert.unhandled_critical_extension",
            CertError::InvalidTrustedChain { .. } => "cert.invalid_trusted_chain",
        }
    }
}

impl From<Asn1Error> for CertError {
    fn from(e: Asn1Error) -> Self {
        CertError::Malformed(e.0.to_string())
    }
}

const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
pub(crate) const OID_EKU_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
pub(crate) const OID_EKU_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// keyUsage bits, with bit 0 (digitalSignature) as the most significant bit of a `u16`.
const KU_DIGITAL_SIGNATURE: u16 = 0x8000;
const KU_KEY_CERT_SIGN: u16 = 0x0400;

const EKU_CODE_SIGNING: u8 = 1;
const EKU_TIME_STAMPING: u8 = 2;
const EKU_ANY: u8 = 4;

/// One extension, as ranges into the certificate DER.
#[derive(Clone, Debug)]
struct Extension {
    /// [`oid_fingerprint`] of the OID.
    fingerprint: u128,
    /// The extnID OID value octets.
    oid: Range<usize>,
    /// The extnValue OCTET STRING content.
    value: Range<usize>,
    /// The whole Extension SEQUENCE.
    raw: Range<usize>,
}

/// A parsed X.509 v3 certificate that owns its DER. Parsed once; accessors borrow.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Range<usize>,
    tbs_value_start: usize,
    serial: Range<usize>,
    issuer: Range<usize>,
    subject: Range<usize>,
    signature: Range<usize>,
    signature_algorithm_oid: Range<usize>,
    signature_scheme: Option<SignatureScheme>,
    /// The `[3]` element holding the extensions (last element of the TBS), if any.
    extensions_field: Option<Range<usize>>,
    extensions: Vec<Extension>,
    not_before: UnixTime,
    not_after: UnixTime,
    public_key: PublicKey,
    is_ca: bool,
    path_len: Option<u32>,
    key_usage: Option<u16>,
    /// `EKU_*` flags; `None` when the extension is absent.
    ext_key_usage: Option<u8>,
    subject_key_id: Option<Range<usize>>,
    authority_key_id: Option<Range<usize>>,
    sct_list: Option<Range<usize>>,
    unhandled_critical: Option<Range<usize>>,
    sans: Vec<SubjectAltName>,
    fulcio: FulcioExtensions,
    /// The PEM encoding, made on first use: trusted CA certificates live as long as the verifier,
    /// so their PEM (for [`crate::verifier::VerifiedSigner`]) is encoded once, not per bundle.
    pem: OnceLock<String>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("serial", &hex::encode(self.serial()))
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("is_ca", &self.is_ca)
            .field("sans", &self.sans)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Certificate {}

fn malformed(msg: &str) -> CertError {
    CertError::Malformed(msg.to_string())
}

impl Certificate {
    /// Parses a DER certificate (strict DER, X.509 v1-v3; the whole input must be one certificate).
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        Self::parse(der.to_vec())
    }

    /// Like [`Certificate::from_der`], taking ownership of the buffer (no copy).
    pub fn from_der_vec(der: Vec<u8>) -> Result<Certificate, CertError> {
        Self::parse(der)
    }

    fn parse(der: Vec<u8>) -> Result<Certificate, CertError> {
        let outer = asn1::single(&der, tag::SEQUENCE, "expected one Certificate SEQUENCE")?;
        let mut cert = outer.reader();
        let tbs = cert.expect(tag::SEQUENCE, "expected TBSCertificate")?;
        let sig_alg = cert.expect(tag::SEQUENCE, "expected signatureAlgorithm")?;
        let sig_value = cert.expect(tag::BIT_STRING, "expected signatureValue")?;
        cert.finish("trailing data after signatureValue")?;
        let signature = asn1::bit_string_octets(&sig_value)?;
        let signature = sig_value.value_start + 1..sig_value.value_start + 1 + signature.len();

        let mut t = tbs.reader();
        let version = match t.optional(tag::ctx_cons(0))? {
            Some(v) => asn1::small_uint(&asn1::single_in(&v, tag::INTEGER, "invalid version")?)?,
            None => 0,
        };
        if version > 2 {
            return Err(malformed("unknown certificate version"));
        }
        let serial = t.expect(tag::INTEGER, "expected serialNumber")?;
        asn1::integer_bytes(&serial)?;
        let tbs_sig_alg = t.expect(tag::SEQUENCE, "expected TBS signature algorithm")?;
        if tbs_sig_alg.raw != sig_alg.raw {
            return Err(malformed("TBS and outer signature algorithms differ"));
        }
        let (sig_oid, _) = asn1::algorithm(&sig_alg)?;
        let signature_scheme = ObjectIdentifier::from_bytes(sig_oid.value)
            .ok()
            .and_then(|o| SignatureScheme::from_oid(&o));
        let issuer = t.expect(tag::SEQUENCE, "expected issuer Name")?;
        let validity = t.expect(tag::SEQUENCE, "expected validity")?;
        let (not_before, not_after) = {
            let mut v = validity.reader();
            let nb = asn1::time(&v.read()?)?;
            let na = asn1::time(&v.read()?)?;
            v.finish("trailing data in validity")?;
            (nb, na)
        };
        let subject = t.expect(tag::SEQUENCE, "expected subject Name")?;
        let spki = t.expect(tag::SEQUENCE, "expected subjectPublicKeyInfo")?;
        let public_key = PublicKey::from_spki_der(spki.raw).map_err(CertError::PublicKey)?;
        if version >= 1 {
            t.optional(tag::ctx_prim(1))?;
            t.optional(tag::ctx_prim(2))?;
        }
        let extensions_tlv = if version == 2 {
            t.optional(tag::ctx_cons(3))?
        } else {
            None
        };
        t.finish("unexpected data in TBSCertificate")?;

        let mut c = Certificate {
            der: Vec::new(),
            tbs: tbs.raw_range(),
            tbs_value_start: tbs.value_start,
            serial: serial.value_range(),
            issuer: issuer.raw_range(),
            subject: subject.raw_range(),
            signature,
            signature_algorithm_oid: sig_oid.value_range(),
            signature_scheme,
            extensions_field: extensions_tlv.map(|e| e.raw_range()),
            extensions: Vec::new(),
            not_before,
            not_after,
            public_key,
            is_ca: false,
            path_len: None,
            key_usage: None,
            ext_key_usage: None,
            subject_key_id: None,
            authority_key_id: None,
            sct_list: None,
            unhandled_critical: None,
            sans: Vec::new(),
            fulcio: FulcioExtensions::default(),
            pem: OnceLock::new(),
        };
        if let Some(ext) = extensions_tlv {
            c.parse_extensions(&ext)?;
        }
        c.der = der;
        Ok(c)
    }

    fn parse_extensions(&mut self, field: &asn1::Tlv<'_>) -> Result<(), CertError> {
        let list = asn1::single_in(field, tag::SEQUENCE, "expected one Extensions SEQUENCE")?;
        let mut r = list.reader();
        if r.is_empty() {
            return Err(malformed("empty Extensions"));
        }
        self.extensions.reserve(32);
        let mut fulcio = extensions::FulcioBuilder::default();
        while !r.is_empty() {
            let ext = r.expect(tag::SEQUENCE, "expected Extension")?;
            let mut e = ext.reader();
            let oid = e.expect(tag::OID, "expected extnID")?;
            let critical = match e.optional(tag::BOOLEAN)? {
                Some(b) => asn1::boolean(&b)?,
                None => false,
            };
            let value = e.expect(tag::OCTET_STRING, "expected extnValue")?;
            e.finish("trailing data in Extension")?;
            let o = oid.value;
            // Duplicate detection on integer fingerprints (exact for OIDs up to 15 octets).
            let fp = oid_fingerprint(o);
            let same = |x: &Extension| x.fingerprint == fp && (o.len() <= 15 || field_slice(field, &x.oid) == Some(o));
            if self.extensions.iter().any(same) {
                return Err(malformed("duplicate extension"));
            }
            let mut handled = true;
            // Byte patterns rather than slice comparisons: this loop runs ~30 times per Fulcio leaf.
            match o {
                // 2.5.29.19 basicConstraints
                [0x55, 0x1d, 0x13] => {
                    let (ca, path_len) = extensions::basic_constraints(&value)?;
                    self.is_ca = ca;
                    self.path_len = path_len;
                }
                // 2.5.29.15 keyUsage
                [0x55, 0x1d, 0x0f] => self.key_usage = Some(extensions::key_usage(&value)?),
                // 2.5.29.37 extKeyUsage
                [0x55, 0x1d, 0x25] => self.ext_key_usage = Some(extensions::ext_key_usage(&value)?),
                // 2.5.29.17 subjectAltName
                [0x55, 0x1d, 0x11] => self.sans = extensions::general_names(&value)?,
                // 2.5.29.14 subjectKeyIdentifier
                [0x55, 0x1d, 0x0e] => {
                    let ski = asn1::single_in(&value, tag::OCTET_STRING, "invalid subjectKeyIdentifier")?;
                    self.subject_key_id = Some(ski.value_range());
                }
                // 2.5.29.35 authorityKeyIdentifier
                [0x55, 0x1d, 0x23] => self.authority_key_id = extensions::authority_key_id(&value)?,
                // 1.3.6.1.4.1.11129.2.4.2 embedded SCT list
                [0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02] => {
                    handled = false;
                    let inner = asn1::single_in(&value, tag::OCTET_STRING, "invalid SCT list extension")?;
                    self.sct_list = Some(inner.value_range());
                }
                // 1.3.6.1.4.1.57264.1.n Fulcio
                [0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, n] => {
                    handled = false;
                    fulcio.add(*n, value.value)?;
                }
                _ => handled = false,
            }
            if critical && !handled && self.unhandled_critical.is_none() {
                self.unhandled_critical = Some(oid.value_range());
            }
            self.extensions.push(Extension {
                fingerprint: fp,
                oid: oid.value_range(),
                value: value.value_range(),
                raw: ext.raw_range(),
            });
        }
        self.fulcio = fulcio.finish();
        Ok(())
    }

    fn slice(&self, r: &Range<usize>) -> &[u8] {
        self.der.get(r.clone()).unwrap_or_default()
    }

    /// The certificate's DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as one PEM `CERTIFICATE` block (encoded once, then cached).
    pub fn pem(&self) -> &str {
        self.pem.get_or_init(|| pem_encode("CERTIFICATE", &self.der))
    }

    /// The raw DER of the TBSCertificate (what the issuer signed).
    pub fn tbs_der(&self) -> &[u8] {
        self.slice(&self.tbs)
    }

    /// The serial number's INTEGER value octets (two's complement, as encoded).
    pub fn serial(&self) -> &[u8] {
        self.slice(&self.serial)
    }

    /// The raw DER of the issuer Name.
    pub fn issuer_der(&self) -> &[u8] {
        self.slice(&self.issuer)
    }

    /// The raw DER of the subject Name.
    pub fn subject_der(&self) -> &[u8] {
        self.slice(&self.subject)
    }

    /// The signature value octets.
    pub fn signature_value(&self) -> &[u8] {
        self.slice(&self.signature)
    }

    /// The signature scheme, when certus-trust supports the certificate's signature algorithm.
    pub fn signature_scheme(&self) -> Option<SignatureScheme> {
        self.signature_scheme
    }

    /// Start of validity (notBefore).
    pub fn not_before(&self) -> UnixTime {
        self.not_before
    }

    /// End of validity (notAfter, inclusive).
    pub fn not_after(&self) -> UnixTime {
        self.not_after
    }

    /// Whether `at` lies within `[not_before, not_after]`.
    pub fn is_valid_at(&self, at: UnixTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// The subject public key (parsed once).
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Whether basicConstraints says this is a CA certificate.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// The basicConstraints pathLenConstraint, if any.
    pub fn path_len_constraint(&self) -> Option<u32> {
        self.path_len
    }

    /// The subjectKeyIdentifier, if present.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_ref().map(|r| self.slice(r))
    }

    /// The authorityKeyIdentifier's keyIdentifier, if present.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_ref().map(|r| self.slice(r))
    }

    /// Whether the extendedKeyUsage extension is present and contains `eku`.
    pub fn has_extended_key_usage(&self, eku: ExtendedKeyUsage) -> bool {
        self.ext_key_usage.is_some_and(|f| f & eku.flag() != 0)
    }

    /// Whether subject == issuer and the certificate's signature verifies with its own key.
    pub fn is_self_signed(&self) -> bool {
        self.subject_der() == self.issuer_der() && self.verify_signature_by(&self.public_key).is_ok()
    }

    /// Subject alternative names, in certificate order.
    pub fn subject_alternative_names(&self) -> &[SubjectAltName] {
        &self.sans
    }

    /// The signer identity as Sigstore uses it (same precedence as sigstore-go's
    /// `SummarizeCertificate`): the first URI SAN, else the first email SAN, else the Fulcio
    /// `username` otherName SAN (OID 1.3.6.1.4.1.57264.1.7). Fulcio issues exactly one of these.
    pub fn signer_identity(&self) -> Option<String> {
        let sans = &self.sans;
        let first = |pick: fn(&SubjectAltName) -> Option<&String>| sans.iter().find_map(pick);
        first(|s| match s {
            SubjectAltName::Uri(u) => Some(u),
            _ => None,
        })
        .or_else(|| {
            first(|s| match s {
                SubjectAltName::Email(e) => Some(e),
                _ => None,
            })
        })
        .or_else(|| {
            first(|s| match s {
                SubjectAltName::OtherName { oid, value } if oid == extensions::FULCIO_USERNAME_OID => Some(value),
                _ => None,
            })
        })
        .cloned()
    }

    /// The decoded Fulcio extensions (all `None` for non-Fulcio certificates).
    pub fn fulcio(&self) -> &FulcioExtensions {
        &self.fulcio
    }

    /// Consumes the certificate, keeping only its Fulcio extensions (no copy of their strings).
    pub(crate) fn into_fulcio(self) -> FulcioExtensions {
        self.fulcio
    }

    /// The extnValue content of the extension with this OID, if present.
    pub fn extension_value(&self, oid: &ObjectIdentifier) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|e| self.slice(&e.oid) == oid.as_bytes())
            .map(|e| self.slice(&e.value))
    }

    /// The TLS-encoded `SignedCertificateTimestampList` of the embedded-SCT extension
    /// (1.3.6.1.4.1.11129.2.4.2), without its OCTET STRING wrappers.
    pub fn embedded_scts(&self) -> Option<&[u8]> {
        self.sct_list.as_ref().map(|r| self.slice(r))
    }

    /// The RFC 6962 precertificate TBS reconstructed from this certificate: the TBSCertificate
    /// with the embedded-SCT extension removed (what the CT log signed). `None` without SCTs.
    pub fn precertificate_tbs_der(&self) -> Option<Vec<u8>> {
        self.sct_list.as_ref()?;
        let field = self.extensions_field.as_ref()?;
        let sct = OID_SCT_LIST.as_bytes();
        let mut exts = Vec::with_capacity(field.len());
        for e in self.extensions.iter().filter(|e| self.slice(&e.oid) != sct) {
            exts.extend_from_slice(self.slice(&e.raw));
        }
        let head = self.der.get(self.tbs_value_start..field.start)?;
        let mut content = Vec::with_capacity(self.tbs.len());
        content.extend_from_slice(head);
        if !exts.is_empty() {
            let seq_len = 1 + len_octets(exts.len()) + exts.len();
            content.push(tag::ctx_cons(3));
            push_len(&mut content, seq_len);
            content.push(tag::SEQUENCE);
            push_len(&mut content, exts.len());
            content.extend_from_slice(&exts);
        }
        let mut out = Vec::with_capacity(content.len() + 6);
        out.push(tag::SEQUENCE);
        push_len(&mut out, content.len());
        out.extend_from_slice(&content);
        Some(out)
    }

    fn verify_signature_by(&self, key: &PublicKey) -> Result<(), CertError> {
        let scheme = self.signature_scheme.ok_or_else(|| {
            CertError::UnsupportedSignatureAlgorithm(asn1::oid_string(self.slice(&self.signature_algorithm_oid)))
        })?;
        key.verify_with(scheme, self.tbs_der(), self.signature_value())
            .map_err(|_| CertError::SignatureInvalid)
    }

    /// Checks that `issuer` issued this certificate: this certificate's issuer name equals the
    /// issuer's subject name (byte-for-byte DER) and the signature verifies with the issuer's key.
    /// Does not check that `issuer` is allowed to issue certificates (see [`CertificatePool`]).
    pub fn verify_issued_by(&self, issuer: &Certificate) -> Result<(), CertError> {
        if self.issuer_der() != issuer.subject_der() {
            return Err(CertError::IssuerMismatch);
        }
        self.verify_signature_by(issuer.public_key())
    }

    /// The first critical extension this module does not process, as a dotted OID.
    pub fn unhandled_critical_extension(&self) -> Option<String> {
        self.unhandled_critical
            .as_ref()
            .map(|r| asn1::oid_string(self.slice(r)))
    }

    pub(crate) fn key_usage_bits(&self) -> Option<u16> {
        self.key_usage
    }

    pub(crate) fn eku_flags(&self) -> Option<u8> {
        self.ext_key_usage
    }
}

/// The bytes of absolute range `r` of the buffer `outer` was read from, if inside `outer`'s value.
fn field_slice<'a>(outer: &asn1::Tlv<'a>, r: &Range<usize>) -> Option<&'a [u8]> {
    let start = r.start.checked_sub(outer.value_start)?;
    let end = r.end.checked_sub(outer.value_start)?;
    outer.value.get(start..end)
}

/// Length and up to 15 trailing octets of an OID, as one integer.
fn oid_fingerprint(o: &[u8]) -> u128 {
    o.iter()
        .rev()
        .take(15)
        .fold(o.len() as u128, |fp, b| (fp << 8) | u128::from(*b))
}

fn len_octets(len: usize) -> usize {
    match len {
        0..=0x7f => 1,
        0x80..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xff_ffff => 4,
        _ => 5,
    }
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    let n = len_octets(len);
    if n == 1 {
        out.push(len as u8);
        return;
    }
    out.push(0x80 | (n - 1) as u8);
    for i in (0..n - 1).rev() {
        out.push((len >> (8 * i)) as u8);
    }
}

impl ExtendedKeyUsage {
    fn flag(self) -> u8 {
        match self {
            ExtendedKeyUsage::CodeSigning => EKU_CODE_SIGNING,
            ExtendedKeyUsage::TimeStamping => EKU_TIME_STAMPING,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub(crate) mod tests;
