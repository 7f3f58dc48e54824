//! RFC 3161 signed timestamps.
//!
//! A bundle's `signedTimestamp` is a DER `TimeStampResp` (or a bare `TimeStampToken`, a CMS
//! `ContentInfo` holding `SignedData` over a `TSTInfo`). Verification, in order:
//!
//! 1. parse strictly (zero-copy); the response status must be granted; exactly one signer;
//! 2. the TSTInfo message imprint equals the hash of the caller's signature bytes;
//! 3. the signer is identified by its SignerIdentifier among the trusted TSA certificates, else
//!    among the embedded certificates (which are only candidates, never trusted by themselves);
//! 4. signed attributes: content-type is id-ct-TSTInfo, message-digest is the hash of the
//!    TSTInfo, and the ESS signing-certificate(-v2) attribute, when present, names the signer;
//! 5. the signature over the signed attributes (re-tagged as a SET OF) verifies;
//! 6. the signer chains to a trusted TSA at genTime (timeStamping EKU, every certificate valid at
//!    genTime, genTime inside the trusted root's validity window for that TSA).

use crate::crypto::{HashAlgorithm, SignatureScheme};
use crate::time::UnixTime;
use crate::trust_root::CertificateAuthority;
use crate::x509::asn1::{self, tag, Asn1Error, Tlv};
use crate::x509::{CertError, Certificate, CertificatePool, ExtendedKeyUsage};
use const_oid::ObjectIdentifier;

/// Timestamp failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The timestamp token does not parse.
    #[error("malformed RFC 3161 timestamp: {0}")]
    Malformed(String),
    /// The timestamp response's status is not granted.
    #[error("timestamp response status {0} is not granted")]
    NotGranted(u32),
    /// A hash or signature algorithm certus-trust does not support.
    #[error("unsupported algorithm in timestamp: {0}")]
    UnsupportedAlgorithm(String),
    /// The timestamp covers other data than the signature.
    #[error("timestamp message imprint does not match the signature")]
    MessageImprintMismatch,
    /// The signed attributes are missing or wrong (content type, message digest attribute).
    #[error("timestamp signed attributes invalid: {0}")]
    SignedAttributesInvalid(&'static str),
    /// The signed message-digest attribute does not match the TSTInfo.
    #[error("timestamp message-digest attribute does not match the TSTInfo")]
    MessageDigestMismatch,
    /// The ESS signing-certificate attribute names another certificate than the signer.
    #[error("timestamp signing-certificate attribute does not match the signer certificate")]
    SigningCertificateMismatch,
    /// The signature does not verify with the signer's key.
    #[error("timestamp signature does not verify")]
    SignatureInvalid,
    /// The signer is not a trusted timestamp authority.
    #[error("timestamp not signed by a trusted timestamp authority: {0}")]
    UntrustedTsa(String),
    /// genTime lies outside the validity of the TSA certificate chain.
    #[error("timestamp time {gen_time} is outside the TSA certificate validity: {reason}")]
    OutsideTsaCertValidity {
        /// The timestamp's genTime.
        gen_time: UnixTime,
        /// The certificate check that failed.
        reason: CertError,
    },
    /// genTime lies outside the trusted root's validity window for the TSA.
    #[error("timestamp time {gen_time} is outside the trusted root's validity window for the TSA")]
    OutsideTsaValidity {
        /// The timestamp's genTime.
        gen_time: UnixTime,
    },
    /// The TSA certificate is not usable for timestamping (EKU, CA flag, critical extensions...).
    #[error("TSA certificate invalid: {0}")]
    TsaCertificateInvalid(CertError),
    /// A trusted root timestamp authority's chain is unusable.
    #[error("trusted timestamp authorities: {0}")]
    InvalidTrustedTsa(CertError),
    /// The timestamp lies after the verification time.
    #[error("timestamp {0} is in the future")]
    InFuture(String),
}

impl TimestampError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TimestampError::Malformed(_) => "timestamp.malformed",
            TimestampError::InFuture(_) => "timestamp.in_future",
            TimestampError::NotGranted(_) => "timestamp.not_granted",
            TimestampError::UnsupportedAlgorithm(_) => "timestamp.unsupported_algorithm",
            TimestampError::MessageImprintMismatch => "timestamp.message_imprint_mismatch",
            TimestampError::SignedAttributesInvalid(_) => "timestamp.signed_attributes_invalid",
            TimestampError::MessageDigestMismatch => "timestamp.message_digest_mismatch",
            TimestampError::SigningCertificateMismatch => "timestamp.signing_certificate_mismatch",
            TimestampError::SignatureInvalid => "timestamp.signature_invalid",
            TimestampError::UntrustedTsa(_) => "timestamp.untrusted_tsa",
            TimestampError::OutsideTsaCertValidity { .. } => "timestamp.outside_tsa_cert_validity",
            TimestampError::OutsideTsaValidity { .. } => "timestamp.outside_tsa_validity",
            TimestampError::TsaCertificateInvalid(_) => "timestamp.tsa_certificate_invalid",
            TimestampError::InvalidTrustedTsa(_) => "timestamp.invalid_trusted_tsa",
        }
    }
}

impl From<Asn1Error> for TimestampError {
    fn from(e: Asn1Error) -> Self {
        TimestampError::Malformed(e.0.to_string())
    }
}

/// The trusted root's timestamp authorities, parsed and checked once.
#[derive(Debug)]
pub struct TimestampAuthorities {
    pool: CertificatePool,
}

impl TimestampAuthorities {
    /// Builds the authorities from `trusted_root.timestamp_authorities` (each chain: the TSA
    /// signing certificate first, its root last).
    pub fn new(tsas: &[CertificateAuthority]) -> Result<Self, TimestampError> {
        CertificatePool::new(tsas)
            .map(|pool| TimestampAuthorities { pool })
            .map_err(TimestampError::InvalidTrustedTsa)
    }

    /// The underlying certificate pool.
    pub fn pool(&self) -> &CertificatePool {
        &self.pool
    }

    /// Number of authorities.
    pub fn len(&self) -> usize {
        self.pool.len()
    }

    /// Whether there is no authority.
    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }
}

/// A timestamp that verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// The TSTInfo genTime.
    pub time: UnixTime,
    /// Index of the trusted root timestamp authority that vouches for it.
    pub authority_index: usize,
}

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

fn malformed(msg: &str) -> TimestampError {
    TimestampError::Malformed(msg.to_string())
}

/// How the SignerInfo names its certificate.
#[derive(Clone, Copy, Debug)]
enum SignerId<'a> {
    IssuerAndSerial { issuer: &'a [u8], serial: &'a [u8] },
    SubjectKeyId(&'a [u8]),
}

impl SignerId<'_> {
    fn matches(&self, cert: &Certificate) -> bool {
        match *self {
            SignerId::IssuerAndSerial { issuer, serial } => cert.issuer_der() == issuer && cert.serial() == serial,
            SignerId::SubjectKeyId(ski) => cert.subject_key_id() == Some(ski),
        }
    }
}

struct SignerInfo<'a> {
    sid: SignerId<'a>,
    digest: HashAlgorithm,
    /// The `[0] IMPLICIT` signed attributes element, as encoded.
    signed_attrs: Tlv<'a>,
    scheme: SignatureScheme,
    signature: &'a [u8],
}

struct Token<'a> {
    /// The TSTInfo DER (eContent octets).
    tst_info: &'a [u8],
    /// The `[0] IMPLICIT CertificateSet`, if present.
    certificates: Option<Tlv<'a>>,
    signer: SignerInfo<'a>,
}

struct TstInfo<'a> {
    imprint_algorithm: HashAlgorithm,
    imprint: &'a [u8],
    gen_time: UnixTime,
}

fn hash_algorithm(alg: &Tlv<'_>) -> Result<HashAlgorithm, TimestampError> {
    let (oid, params) = asn1::algorithm(alg)?;
    if params.is_some_and(|p| p.tag != tag::NULL || !p.value.is_empty()) {
        return Err(malformed("unexpected digest algorithm parameters"));
    }
    match oid.value {
        o if o == OID_SHA256.as_bytes() => Ok(HashAlgorithm::Sha256),
        o if o == OID_SHA384.as_bytes() => Ok(HashAlgorithm::Sha384),
        o if o == OID_SHA512.as_bytes() => Ok(HashAlgorithm::Sha512),
        o => Err(TimestampError::UnsupportedAlgorithm(format!(
            "digest {}",
            asn1::oid_string(o)
        ))),
    }
}

fn signature_scheme(alg: &Tlv<'_>, digest: HashAlgorithm) -> Result<SignatureScheme, TimestampError> {
    let (oid, _) = asn1::algorithm(alg)?;
    if let Some(s) = ObjectIdentifier::from_bytes(oid.value)
        .ok()
        .and_then(|o| SignatureScheme::from_oid(&o))
    {
        return Ok(s);
    }
    match oid.value {
        o if o == OID_RSA_ENCRYPTION.as_bytes() => Ok(SignatureScheme::RsaPkcs1(digest)),
        o if o == OID_EC_PUBLIC_KEY.as_bytes() => Ok(SignatureScheme::Ecdsa(digest)),
        o => Err(TimestampError::UnsupportedAlgorithm(format!(
            "signature {}",
            asn1::oid_string(o)
        ))),
    }
}

/// Parses a `TimeStampResp` or a bare `TimeStampToken` down to its single SignerInfo.
fn parse_token(der: &[u8]) -> Result<Token<'_>, TimestampError> {
    let top = asn1::single(der, tag::SEQUENCE, "expected a TimeStampResp or ContentInfo SEQUENCE")?;
    let content_info = if top.reader().peek_tag() == Some(tag::SEQUENCE) {
        // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
        let mut r = top.reader();
        let status_info = r.expect(tag::SEQUENCE, "expected PKIStatusInfo")?;
        let status = asn1::small_uint(&status_info.reader().expect(tag::INTEGER, "expected PKIStatus")?)?;
        if status > 1 {
            return Err(TimestampError::NotGranted(status));
        }
        let token = r.expect(tag::SEQUENCE, "granted response without a timeStampToken")?;
        r.finish("trailing data in TimeStampResp")?;
        token
    } else {
        top
    };
    let mut ci = content_info.reader();
    let content_type = ci.expect(tag::OID, "expected ContentInfo contentType")?;
    if content_type.value != OID_SIGNED_DATA.as_bytes() {
        return Err(malformed("timestamp token is not CMS SignedData"));
    }
    let explicit = ci.expect(tag::ctx_cons(0), "expected ContentInfo content")?;
    ci.finish("trailing data in ContentInfo")?;
    let signed_data = asn1::single_in(&explicit, tag::SEQUENCE, "expected SignedData")?;

    let mut sd = signed_data.reader();
    sd.expect(tag::INTEGER, "expected SignedData version")?;
    sd.expect(tag::SET, "expected SignedData digestAlgorithms")?;
    let encap = sd.expect(tag::SEQUENCE, "expected encapContentInfo")?;
    let certificates = sd.optional(tag::ctx_cons(0))?;
    sd.optional(tag::ctx_cons(1))?;
    let signer_infos = sd.expect(tag::SET, "expected signerInfos")?;
    sd.finish("trailing data in SignedData")?;

    let mut e = encap.reader();
    let e_type = e.expect(tag::OID, "expected eContentType")?;
    if e_type.value != OID_TST_INFO.as_bytes() {
        return Err(malformed("eContentType is not id-ct-TSTInfo"));
    }
    let e_content = e.expect(tag::ctx_cons(0), "missing eContent")?;
    e.finish("trailing data in encapContentInfo")?;
    let tst_info = asn1::single_in(&e_content, tag::OCTET_STRING, "eContent is not one OCTET STRING")?.value;

    let mut si = signer_infos.reader();
    let signer = si.expect(tag::SEQUENCE, "expected a SignerInfo")?;
    si.finish("timestamp token must have exactly one SignerInfo")?;
    let mut s = signer.reader();
    s.expect(tag::INTEGER, "expected SignerInfo version")?;
    let sid_tlv = s.read()?;
    let sid = match sid_tlv.tag {
        tag::SEQUENCE => {
            let mut r = sid_tlv.reader();
            let issuer = r.expect(tag::SEQUENCE, "expected issuer Name")?;
            let serial = r.expect(tag::INTEGER, "expected serial number")?;
            r.finish("trailing data in IssuerAndSerialNumber")?;
            SignerId::IssuerAndSerial {
                issuer: issuer.raw,
                serial: asn1::integer_bytes(&serial)?,
            }
        }
        t if t == tag::ctx_prim(0) => SignerId::SubjectKeyId(sid_tlv.value),
        _ => return Err(malformed("invalid SignerIdentifier")),
    };
    let digest = hash_algorithm(&s.expect(tag::SEQUENCE, "expected SignerInfo digestAlgorithm")?)?;
    let signed_attrs = s
        .optional(tag::ctx_cons(0))?
        .ok_or(TimestampError::SignedAttributesInvalid("no signed attributes"))?;
    let scheme = signature_scheme(&s.expect(tag::SEQUENCE, "expected signatureAlgorithm")?, digest)?;
    let signature = s.expect(tag::OCTET_STRING, "expected signature")?.value;
    s.optional(tag::ctx_cons(1))?;
    s.finish("trailing data in SignerInfo")?;
    Ok(Token {
        tst_info,
        certificates,
        signer: SignerInfo {
            sid,
            digest,
            signed_attrs,
            scheme,
            signature,
        },
    })
}

fn parse_tst_info(der: &[u8]) -> Result<TstInfo<'_>, TimestampError> {
    let tst = asn1::single(der, tag::SEQUENCE, "expected TSTInfo")?;
    let mut r = tst.reader();
    if asn1::small_uint(&r.expect(tag::INTEGER, "expected TSTInfo version")?)? != 1 {
        return Err(malformed("unsupported TSTInfo version"));
    }
    r.expect(tag::OID, "expected TSTInfo policy")?;
    let imprint = r.expect(tag::SEQUENCE, "expected messageImprint")?;
    let mut m = imprint.reader();
    let imprint_algorithm = hash_algorithm(&m.expect(tag::SEQUENCE, "expected messageImprint hashAlgorithm")?)?;
    let hashed = m
        .expect(tag::OCTET_STRING, "expected messageImprint hashedMessage")?
        .value;
    m.finish("trailing data in messageImprint")?;
    if hashed.len() != imprint_algorithm.len() {
        return Err(malformed("messageImprint length does not match its algorithm"));
    }
    asn1::integer_bytes(&r.expect(tag::INTEGER, "expected TSTInfo serialNumber")?)?;
    let gen_time = asn1::time(&r.expect(tag::GENERALIZED_TIME, "expected genTime")?)?;
    r.optional(tag::SEQUENCE)?; // accuracy
    if let Some(b) = r.optional(tag::BOOLEAN)? {
        asn1::boolean(&b)?; // ordering
    }
    if let Some(n) = r.optional(tag::INTEGER)? {
        asn1::integer_bytes(&n)?; // nonce
    }
    r.optional(tag::ctx_cons(0))?; // tsa
    r.optional(tag::ctx_cons(1))?; // extensions
    r.finish("trailing data in TSTInfo")?;
    Ok(TstInfo {
        imprint_algorithm,
        imprint: hashed,
        gen_time,
    })
}

/// The signer's certificate: a trusted TSA certificate, or an embedded (untrusted) candidate.
enum Signer<'p> {
    Trusted(&'p Certificate),
    Embedded(Box<Certificate>),
}

impl Signer<'_> {
    fn cert(&self) -> &Certificate {
        match self {
            Signer::Trusted(c) => c,
            Signer::Embedded(c) => c,
        }
    }
}

fn find_signer<'p>(
    sid: &SignerId<'_>,
    certificates: Option<&Tlv<'_>>,
    tsas: &'p TimestampAuthorities,
) -> Result<Signer<'p>, TimestampError> {
    let pool = &tsas.pool;
    for i in 0..pool.len() {
        if let Some(c) = pool.chain(i).and_then(<[Certificate]>::first) {
            if sid.matches(c) {
                return Ok(Signer::Trusted(c));
            }
        }
    }
    if let Some(set) = certificates {
        let mut r = set.reader();
        while !r.is_empty() {
            let choice = r.read()?;
            // Other CertificateChoices (attribute certificates...) and unparsable certificates are
            // only ever candidates: skip them.
            if choice.tag != tag::SEQUENCE {
                continue;
            }
            if let Ok(c) = Certificate::from_der(choice.raw) {
                if sid.matches(&c) {
                    return Ok(Signer::Embedded(Box::new(c)));
                }
            }
        }
    }
    Err(TimestampError::UntrustedTsa(
        "no trusted TSA certificate matches the signer identifier".into(),
    ))
}

/// Checks content-type, message-digest and the ESS signing-certificate attributes.
fn check_signed_attributes(signer: &SignerInfo<'_>, tst_info: &[u8], cert: &Certificate) -> Result<(), TimestampError> {
    let mut content_type = None;
    let mut message_digest = None;
    let mut r = signer.signed_attrs.reader();
    while !r.is_empty() {
        let attr = r.expect(tag::SEQUENCE, "expected Attribute")?;
        let mut a = attr.reader();
        let oid = a.expect(tag::OID, "expected attribute type")?;
        let values = a.expect(tag::SET, "expected attribute values")?;
        a.finish("trailing data in Attribute")?;
        let o = oid.value;
        if o == OID_CONTENT_TYPE.as_bytes() {
            let v = asn1::single_in(&values, tag::OID, "content-type attribute must hold one OID")?;
            if content_type.replace(v.value).is_some() {
                return Err(TimestampError::SignedAttributesInvalid(
                    "duplicate content-type attribute",
                ));
            }
        } else if o == OID_MESSAGE_DIGEST.as_bytes() {
            let v = asn1::single_in(
                &values,
                tag::OCTET_STRING,
                "message-digest attribute must hold one OCTET STRING",
            )?;
            if message_digest.replace(v.value).is_some() {
                return Err(TimestampError::SignedAttributesInvalid(
                    "duplicate message-digest attribute",
                ));
            }
        } else if o == OID_SIGNING_CERTIFICATE_V2.as_bytes() {
            check_ess_cert_id(&values, cert, true)?;
        } else if o == OID_SIGNING_CERTIFICATE.as_bytes() {
            check_ess_cert_id(&values, cert, false)?;
        }
    }
    match content_type {
        None => {
            return Err(TimestampError::SignedAttributesInvalid(
                "missing content-type attribute",
            ))
        }
        Some(ct) if ct != OID_TST_INFO.as_bytes() => {
            return Err(TimestampError::SignedAttributesInvalid(
                "content-type attribute is not id-ct-TSTInfo",
            ))
        }
        Some(_) => {}
    }
    let md = message_digest.ok_or(TimestampError::SignedAttributesInvalid(
        "missing message-digest attribute",
    ))?;
    if signer.digest.hash(tst_info).as_bytes() != md {
        return Err(TimestampError::MessageDigestMismatch);
    }
    Ok(())
}

/// `SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }`:
/// the first ESSCertID identifies the signer certificate by hash.
fn check_ess_cert_id(values: &Tlv<'_>, cert: &Certificate, v2: bool) -> Result<(), TimestampError> {
    let sc = asn1::single_in(values, tag::SEQUENCE, "invalid signing-certificate attribute")?;
    let certs = sc
        .reader()
        .expect(tag::SEQUENCE, "invalid signing-certificate attribute")?;
    let first = certs
        .reader()
        .expect(tag::SEQUENCE, "signing-certificate attribute without ESSCertID")?;
    let mut id = first.reader();
    let matches = if v2 {
        let algorithm = match id.optional(tag::SEQUENCE)? {
            Some(alg) => hash_algorithm(&alg)?,
            None => HashAlgorithm::Sha256,
        };
        let hash = id.expect(tag::OCTET_STRING, "ESSCertIDv2 without certHash")?.value;
        algorithm.hash(cert.der()).as_bytes() == hash
    } else {
        let hash = id.expect(tag::OCTET_STRING, "ESSCertID without certHash")?.value;
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der()).as_ref() == hash
    };
    if matches {
        Ok(())
    } else {
        Err(TimestampError::SigningCertificateMismatch)
    }
}

fn map_chain_error(e: CertError, gen_time: UnixTime) -> TimestampError {
    match e {
        CertError::ChainUntrusted
        | CertError::SignatureInvalid
        | CertError::IssuerMismatch
        | CertError::IssuerNotCa(_) => TimestampError::UntrustedTsa(e.to_string()),
        CertError::NotYetValid { .. } | CertError::Expired { .. } | CertError::IssuerOutsideValidity { .. } => {
            TimestampError::OutsideTsaCertValidity { gen_time, reason: e }
        }
        CertError::OutsideAuthorityValidity { .. } => TimestampError::OutsideTsaValidity { gen_time },
        other => TimestampError::TsaCertificateInvalid(other),
    }
}

/// Verifies one RFC 3161 timestamp (`TimeStampResp` or `TimeStampToken` DER) over
/// `signature_bytes` (the artifact signature: a message signature's raw bytes, or a DSSE
/// envelope's first signature), against the trusted timestamp authorities. Returns genTime and
/// the authority that vouches for it. Whether genTime lies inside the signing certificate's
/// validity is the caller's business.
pub fn verify_timestamp(
    token_der: &[u8],
    signature_bytes: &[u8],
    tsas: &TimestampAuthorities,
) -> Result<VerifiedTimestamp, TimestampError> {
    let token = parse_token(token_der)?;
    let tst = parse_tst_info(token.tst_info)?;
    if tst.imprint_algorithm.hash(signature_bytes).as_bytes() != tst.imprint {
        return Err(TimestampError::MessageImprintMismatch);
    }
    let signer = find_signer(&token.signer.sid, token.certificates.as_ref(), tsas)?;
    let cert = signer.cert();
    check_signed_attributes(&token.signer, token.tst_info, cert)?;
    // The signature covers the DER of the signed attributes as a SET OF (tag 0x31), not [0].
    let mut signed = Vec::with_capacity(token.signer.signed_attrs.raw.len());
    signed.push(tag::SET);
    signed.extend_from_slice(token.signer.signed_attrs.raw.get(1..).unwrap_or_default());
    cert.public_key()
        .verify_with(token.signer.scheme, &signed, token.signer.signature)
        .map_err(|_| TimestampError::SignatureInvalid)?;
    let chain = tsas
        .pool
        .verify(cert, tst.gen_time, ExtendedKeyUsage::TimeStamping)
        .map_err(|e| map_chain_error(e, tst.gen_time))?;
    Ok(VerifiedTimestamp {
        time: tst.gen_time,
        authority_index: chain.authority_index,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
