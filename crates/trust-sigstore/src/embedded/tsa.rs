//! The embedded RFC 3161 timestamp authority.
//!
//! On disk (under the directory given to [`LocalTsa::load_or_create`]): `keys/tsa-root.key.pem`
//! (ECDSA P-384), `keys/tsa-signing.key.pem` (ECDSA P-256), `certs/tsa-root.pem` and
//! `certs/tsa-signing.pem`; created together on first use, a partial or inconsistent set is an
//! error. Responses are DER `TimeStampResp`s whose token is a CMS SignedData (RFC 5652) over a
//! TSTInfo, signed by the P-256 TSA certificate (critical extKeyUsage timeStamping only), with the
//! signed attributes contentType, messageDigest, signingTime and ESS signingCertificateV2.

use std::path::{Path, PathBuf};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec, Uint};
use der::{Encode, Reader, Sequence, SliceReader, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use trust_core::crypto::{sha256, HashAlgorithm};
use trust_core::time::{TimeRange, UnixTime};
use trust_core::trust_root::CertificateAuthority;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier};

use super::keys::{KeyAlgorithm, KeyError, SigningKey};
use super::pki::{self, CertSpec, Fault, Hierarchy, HierarchyFiles};

/// The TSA policy put in every TSTInfo (the default policy of Sigstore's timestamp-authority).
pub const TSA_POLICY_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

const FILES: HierarchyFiles = HierarchyFiles {
    root_key: "tsa-root.key.pem",
    sub_key: "tsa-signing.key.pem",
    root_cert: "tsa-root.pem",
    sub_cert: "tsa-signing.pem",
};
const ROOT_NAME: &str = "CN=certus-trust local TSA root,O=certus-trust";
const SIGNING_NAME: &str = "CN=certus-trust local TSA,O=certus-trust";

const OID_EKU_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Longest nonce accepted (octets of the INTEGER content).
const MAX_NONCE_LEN: usize = 64;

/// TSA failure. Every variant has a stable [`TsaError::code`] (`tsa.*`, or `key.*`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    /// Reading or writing the TSA's files failed.
    #[error("TSA file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Some of the TSA's key and certificate files exist and others do not.
    #[error("incomplete TSA state: missing {missing:?} while {present:?} exist (restore them or remove the others)")]
    IncompleteState {
        /// Files that exist.
        present: Vec<PathBuf>,
        /// Files that do not.
        missing: Vec<PathBuf>,
    },
    /// The TSA's files exist but do not belong together or do not parse.
    #[error("corrupt TSA state: {0}")]
    CorruptState(String),
    /// The request is not a DER TimeStampReq.
    #[error("malformed timestamp request: {0}")]
    BadRequest(String),
    /// The request's version is not 1.
    #[error("unsupported TimeStampReq version {0}")]
    UnsupportedVersion(u64),
    /// The message imprint uses a hash other than SHA-256/384/512.
    #[error("unsupported message imprint hash algorithm {0}")]
    UnsupportedHashAlgorithm(String),
    /// The digest length does not match its hash algorithm.
    #[error("message digest is {got} bytes, {expected} expected")]
    BadDigestLength {
        /// Length for the hash algorithm.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The nonce is not the minimal content of a DER INTEGER (or is longer than 64 octets).
    #[error("invalid nonce")]
    BadNonce,
    /// The request asks for a policy this TSA does not apply.
    #[error("unaccepted TSA policy {0}")]
    UnacceptedPolicy(String),
    /// The request carries extensions (none is supported).
    #[error("timestamp request extensions are not supported")]
    UnacceptedExtension,
    /// The TSA certificate is not valid at the requested time.
    #[error("the TSA certificate is not valid at {0}")]
    OutsideValidity(UnixTime),
    /// A value could not be DER-encoded.
    #[error("encoding: {0}")]
    Encode(String),
    /// Key loading or signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl TsaError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TsaError::Io { .. } => "tsa.io",
            TsaError::IncompleteState { .. } => "tsa.incomplete_state",
            TsaError::CorruptState(_) => "tsa.corrupt_state",
            TsaError::BadRequest(_) => "tsa.bad_request",
            TsaError::UnsupportedVersion(_) => "tsa.unsupported_version",
            TsaError::UnsupportedHashAlgorithm(_) => "tsa.unsupported_hash_algorithm",
            TsaError::BadDigestLength { .. } => "tsa.bad_digest_length",
            TsaError::BadNonce => "tsa.bad_nonce",
            TsaError::UnacceptedPolicy(_) => "tsa.unaccepted_policy",
            TsaError::UnacceptedExtension => "tsa.unaccepted_extension",
            TsaError::OutsideValidity(_) => "tsa.outside_validity",
            TsaError::Encode(_) => "tsa.encode",
            TsaError::Key(e) => e.code(),
        }
    }
}

impl From<Fault> for TsaError {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Io { path, source } => TsaError::Io { path, source },
            Fault::Incomplete { present, missing } => TsaError::IncompleteState { present, missing },
            Fault::Corrupt(s) => TsaError::CorruptState(s),
            Fault::Encode(s) => TsaError::Encode(s),
            Fault::Key(e) => TsaError::Key(e),
        }
    }
}

impl From<der::Error> for TsaError {
    fn from(e: der::Error) -> Self {
        TsaError::Encode(e.to_string())
    }
}

/// `MessageImprint` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// `TSTInfo` (RFC 3161 §2.4.2), the fields this TSA writes.
#[derive(Sequence)]
struct TstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Uint,
    gen_time: der::asn1::GeneralizedTime,
    nonce: Option<Any>,
}

/// `PKIStatusInfo` with only the status.
#[derive(Sequence)]
struct PkiStatusInfo {
    status: u8,
}

/// `TimeStampResp` (RFC 3161 §2.4.2).
#[derive(Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    time_stamp_token: Option<ContentInfo>,
}

/// `ESSCertIDv2` (RFC 5035) with the default hash (SHA-256) and no issuerSerial.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// `SigningCertificateV2` (RFC 5035) without policies.
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// A parsed RFC 3161 `TimeStampReq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampRequest {
    /// The message imprint's hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The message imprint's digest.
    pub message_digest: Vec<u8>,
    /// The nonce's INTEGER content, if any.
    pub nonce: Option<Vec<u8>>,
    /// Whether the TSA certificate must be included in the response.
    pub cert_req: bool,
    /// The requested policy, if any (only [`TSA_POLICY_OID`] is accepted).
    pub policy: Option<ObjectIdentifier>,
}

fn hash_from_oid(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
    match *oid {
        OID_SHA256 => Some(HashAlgorithm::Sha256),
        OID_SHA384 => Some(HashAlgorithm::Sha384),
        OID_SHA512 => Some(HashAlgorithm::Sha512),
        _ => None,
    }
}

fn hash_oid(alg: HashAlgorithm) -> ObjectIdentifier {
    match alg {
        HashAlgorithm::Sha256 => OID_SHA256,
        HashAlgorithm::Sha384 => OID_SHA384,
        HashAlgorithm::Sha512 => OID_SHA512,
    }
}

fn digest_len(alg: HashAlgorithm) -> usize {
    match alg {
        HashAlgorithm::Sha256 => 32,
        HashAlgorithm::Sha384 => 48,
        HashAlgorithm::Sha512 => 64,
    }
}

/// Whether `n` is the minimal big-endian two's-complement content of a DER INTEGER.
fn valid_integer_content(n: &[u8]) -> bool {
    match n {
        [] => false,
        [0x00, next, ..] => *next >= 0x80,
        [0xff, next, ..] => *next < 0x80,
        _ => true,
    }
}

impl TimestampRequest {
    /// Parses a DER `TimeStampReq`: version 1, messageImprint with SHA-256/384/512 (parameters
    /// absent or NULL) and a digest of the right length, optional reqPolicy, nonce and certReq;
    /// extensions are refused.
    pub fn from_der(der: &[u8]) -> Result<Self, TsaError> {
        let bad = |e: der::Error| TsaError::BadRequest(e.to_string());
        let mut reader = SliceReader::new(der).map_err(bad)?;
        let (version, imprint, policy, nonce, cert_req, has_extensions) = reader
            .sequence(|r| {
                let version: u64 = r.decode()?;
                let imprint: MessageImprint = r.decode()?;
                let policy: Option<ObjectIdentifier> = r.decode()?;
                let nonce = if !r.is_finished() && r.peek_tag()? == Tag::Integer {
                    Some(r.decode::<Any>()?.value().to_vec())
                } else {
                    None
                };
                let cert_req: Option<bool> = r.decode()?;
                let has_extensions = !r.is_finished();
                if has_extensions {
                    // [0] IMPLICIT Extensions: read it whole so the sequence is consumed.
                    let _: Any = r.decode()?;
                }
                Ok((version, imprint, policy, nonce, cert_req, has_extensions))
            })
            .map_err(bad)?;
        if !reader.is_finished() {
            return Err(TsaError::BadRequest("trailing data after TimeStampReq".into()));
        }
        if version != 1 {
            return Err(TsaError::UnsupportedVersion(version));
        }
        let alg = &imprint.hash_algorithm;
        let hash_algorithm =
            hash_from_oid(&alg.oid).ok_or_else(|| TsaError::UnsupportedHashAlgorithm(alg.oid.to_string()))?;
        if alg.parameters.as_ref().is_some_and(|p| p.tag() != Tag::Null) {
            return Err(TsaError::BadRequest(
                "hash algorithm parameters must be absent or NULL".into(),
            ));
        }
        if has_extensions {
            return Err(TsaError::UnacceptedExtension);
        }
        if let Some(p) = policy.filter(|p| *p != TSA_POLICY_OID) {
            return Err(TsaError::UnacceptedPolicy(p.to_string()));
        }
        Ok(TimestampRequest {
            hash_algorithm,
            message_digest: imprint.hashed_message.as_bytes().to_vec(),
            nonce,
            cert_req: cert_req.unwrap_or(false),
            policy,
        })
    }
}

/// The embedded TSA: a P-384 root (10 years) and the P-256 certificate that signs timestamps.
pub struct LocalTsa {
    h: Hierarchy,
}

impl std::fmt::Debug for LocalTsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTsa")
            .field("validity", &self.valid_for())
            .finish_non_exhaustive()
    }
}

fn build_hierarchy(root_key: &SigningKey, sub_key: &SigningKey, now: UnixTime) -> Result<(Vec<u8>, Vec<u8>), Fault> {
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
    let sub = pki::tbs_certificate(
        CertSpec {
            issuer: pki::name(ROOT_NAME)?,
            subject: pki::name(SIGNING_NAME)?,
            not_before,
            not_after,
            subject_spki_der: sub_spki,
            extensions: vec![
                pki::extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?,
                pki::extension(&ExtendedKeyUsage(vec![OID_EKU_TIME_STAMPING]), true)?,
                pki::extension(
                    &SubjectKeyIdentifier(OctetString::new(pki::key_identifier(sub_spki)?)?),
                    false,
                )?,
                pki::authority_key_identifier(root_spki)?,
            ],
        },
        root_key.algorithm(),
    )?;
    Ok((
        pki::sign_certificate(root, root_key)?,
        pki::sign_certificate(sub, root_key)?,
    ))
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, TsaError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

impl LocalTsa {
    /// Loads the TSA from `dir`, or creates it there (keys in `dir/keys/`, certificates in
    /// `dir/certs/`) when none of its files exists. The root and the signing certificate are
    /// valid from `now` for ten years. Keys are encrypted with `passphrase` when given.
    pub fn load_or_create(dir: &Path, passphrase: Option<&str>, now: UnixTime) -> Result<LocalTsa, TsaError> {
        let h = pki::load_or_create_hierarchy(
            dir,
            &FILES,
            KeyAlgorithm::EcdsaP384Sha384,
            KeyAlgorithm::EcdsaP256Sha256,
            passphrase,
            |root, sub| build_hierarchy(root, sub, now),
        )?;
        Ok(LocalTsa { h })
    }

    /// The TSA chain: signing certificate DER, root DER (the trusted-root order).
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.h.sub_der.clone(), self.h.root_der.clone()]
    }

    /// The signing certificate's validity: when timestamps can be issued.
    pub fn valid_for(&self) -> TimeRange {
        self.h.sub_validity()
    }

    /// This TSA as a trusted-root `timestampAuthorities` entry.
    pub fn certificate_authority(&self, uri: &str) -> CertificateAuthority {
        CertificateAuthority {
            uri: uri.to_owned(),
            subject: ("certus-trust".to_owned(), "certus-trust local TSA".to_owned()),
            certificates: self.chain_der(),
            valid_for: self.valid_for(),
        }
    }

    /// Timestamps `message_digest` (a `hash_alg` digest) at `now`: a DER `TimeStampResp` with
    /// status granted and a token that includes the TSA certificate. `nonce` is the content of a
    /// DER INTEGER, echoed in the TSTInfo.
    pub fn timestamp(
        &self,
        hash_alg: HashAlgorithm,
        message_digest: &[u8],
        nonce: Option<&[u8]>,
        now: UnixTime,
    ) -> Result<Vec<u8>, TsaError> {
        let alg = AlgorithmIdentifierOwned {
            oid: hash_oid(hash_alg),
            parameters: None,
        };
        self.respond(alg, message_digest, nonce, true, now)
    }

    /// Answers a DER RFC 3161 `TimeStampReq` (see [`TimestampRequest::from_der`]) at `now`: the
    /// messageImprint is echoed as requested, the certificate included only when `certReq` is true.
    pub fn timestamp_request(&self, der_timestamp_req: &[u8], now: UnixTime) -> Result<Vec<u8>, TsaError> {
        let req = TimestampRequest::from_der(der_timestamp_req)?;
        // Echo the requested AlgorithmIdentifier (parameters absent or NULL) byte for byte.
        let imprint = {
            let mut reader = SliceReader::new(der_timestamp_req)?;
            reader.sequence(|r| {
                let _: u64 = r.decode()?;
                let imprint: MessageImprint = r.decode()?;
                // The rest was validated by `from_der`.
                while !r.is_finished() {
                    let _: Any = r.decode()?;
                }
                Ok(imprint)
            })?
        };
        self.respond(
            imprint.hash_algorithm,
            &req.message_digest,
            req.nonce.as_deref(),
            req.cert_req,
            now,
        )
    }

    fn respond(
        &self,
        hash_alg: AlgorithmIdentifierOwned,
        message_digest: &[u8],
        nonce: Option<&[u8]>,
        include_cert: bool,
        now: UnixTime,
    ) -> Result<Vec<u8>, TsaError> {
        let alg =
            hash_from_oid(&hash_alg.oid).ok_or_else(|| TsaError::UnsupportedHashAlgorithm(hash_alg.oid.to_string()))?;
        if message_digest.len() != digest_len(alg) {
            return Err(TsaError::BadDigestLength {
                expected: digest_len(alg),
                got: message_digest.len(),
            });
        }
        let nonce = match nonce {
            Some(n) if !valid_integer_content(n) || n.len() > MAX_NONCE_LEN => return Err(TsaError::BadNonce),
            Some(n) => Some(Any::new(Tag::Integer, n.to_vec())?),
            None => None,
        };
        if !self.valid_for().contains(now) {
            return Err(TsaError::OutsideValidity(now));
        }
        let serial: [u8; 16] = pki::random_bytes()?;
        let tst = TstInfo {
            version: 1,
            policy: TSA_POLICY_OID,
            message_imprint: MessageImprint {
                hash_algorithm: hash_alg,
                hashed_message: OctetString::new(message_digest)?,
            },
            serial_number: Uint::new(&serial)?,
            gen_time: pki::generalized_time(now.secs())?,
            nonce,
        };
        let tst_der = tst.to_der()?;

        let cert = &self.h.sub_x509;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(sha256(&self.h.sub_der).to_vec())?,
            }],
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(OID_CONTENT_TYPE, Any::encode_from(&OID_TST_INFO)?)?,
            attribute(
                OID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(sha256(&tst_der).to_vec())?)?,
            )?,
            attribute(OID_SIGNING_TIME, Any::encode_from(&pki::x509_time(now.secs())?)?)?,
            attribute(OID_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
        ])?;
        // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
        let signature = self.h.sub_key.sign(&signed_attrs.to_der()?)?;
        let sha256_alg = AlgorithmIdentifierOwned {
            oid: OID_SHA256,
            parameters: None,
        };
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: cert.tbs_certificate.issuer.clone(),
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256_alg.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: pki::signature_algorithm(self.h.sub_key.algorithm()),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let certificates = if include_cert {
            Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(cert.clone()),
            ])?))
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256_alg])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: OID_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_der)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer])?),
        };
        let resp = TimeStampResp {
            status: PkiStatusInfo { status: 0 },
            time_stamp_token: Some(ContentInfo {
                content_type: OID_SIGNED_DATA,
                content: Any::encode_from(&signed_data)?,
            }),
        };
        Ok(resp.to_der()?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
