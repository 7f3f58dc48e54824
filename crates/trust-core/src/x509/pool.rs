//! Trusted certificate authorities and path validation against them.

use super::{CertError, Certificate, EKU_ANY, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN};
use super::{OID_EKU_CODE_SIGNING, OID_EKU_TIME_STAMPING};
use crate::time::{TimeRange, UnixTime};
use crate::trust_root::CertificateAuthority;
use const_oid::ObjectIdentifier;

/// An extended key usage the leaf certificate must carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ExtendedKeyUsage {
    /// id-kp-codeSigning (1.3.6.1.5.5.7.3.3): Fulcio signing certificates.
    CodeSigning,
    /// id-kp-timeStamping (1.3.6.1.5.5.7.3.8): RFC 3161 timestamp authorities.
    TimeStamping,
}

impl ExtendedKeyUsage {
    /// The usage's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            ExtendedKeyUsage::CodeSigning => OID_EKU_CODE_SIGNING,
            ExtendedKeyUsage::TimeStamping => OID_EKU_TIME_STAMPING,
        }
    }
}

impl std::fmt::Display for ExtendedKeyUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExtendedKeyUsage::CodeSigning => "code signing",
            ExtendedKeyUsage::TimeStamping => "time stamping",
        })
    }
}

#[derive(Debug)]
struct Authority {
    /// Leaf-most first, root last; every link checked at construction.
    chain: Vec<Certificate>,
    valid_for: TimeRange,
    /// `Ok` when `chain[0]` may issue end-entity certificates (CA, keyCertSign, path lengths).
    issues_leaves: Result<(), &'static str>,
}

/// The trusted authorities of a trusted root (Fulcio CAs or timestamp authorities), each chain
/// parsed and checked once at construction and reused for every verification.
#[derive(Debug)]
pub struct CertificatePool {
    authorities: Vec<Authority>,
}

/// A leaf certificate's validated path to a trusted authority.
#[derive(Clone, Debug)]
pub struct VerifiedChain<'a> {
    /// The leaf's direct issuer (its SPKI is what RFC 6962 SCTs bind to). When the leaf is itself
    /// the authority's only certificate, this is the leaf.
    pub issuer: &'a Certificate,
    /// Index of the authority in the list the pool was built from.
    pub authority_index: usize,
    /// The path, leaf first, the authority's root last.
    pub chain: Vec<&'a Certificate>,
    /// The authority's trusted-root validity window.
    valid_for: TimeRange,
}

impl VerifiedChain<'_> {
    /// Re-checks the time-dependent part of the validation at another time, without repeating
    /// any signature check (for a leaf used at several observed times): every certificate of the
    /// path valid at `at` (closed interval) and the authority's `valid_for` containing `at`.
    pub fn check_time(&self, at: UnixTime) -> Result<(), CertError> {
        let mut path = self.chain.iter();
        if let Some(leaf) = path.next() {
            if at < leaf.not_before() {
                return Err(CertError::NotYetValid {
                    not_before: leaf.not_before(),
                    at,
                });
            }
            if at > leaf.not_after() {
                return Err(CertError::Expired {
                    not_after: leaf.not_after(),
                    at,
                });
            }
        }
        for (i, ca) in path.enumerate() {
            if !ca.is_valid_at(at) {
                return Err(CertError::IssuerOutsideValidity {
                    index: i + 1,
                    not_before: ca.not_before(),
                    not_after: ca.not_after(),
                    at,
                });
            }
        }
        if !self.valid_for.contains(at) {
            return Err(CertError::OutsideAuthorityValidity {
                authority: self.authority_index,
                at,
            });
        }
        Ok(())
    }
}

/// Whether `cert` may sign certificates when `below` CA certificates sit between it and the leaf.
fn may_issue(cert: &Certificate, below: usize) -> Result<(), &'static str> {
    if !cert.is_ca() {
        return Err("not a CA certificate (basicConstraints)");
    }
    match cert.key_usage_bits() {
        Some(ku) if ku & KU_KEY_CERT_SIGN != 0 => {}
        Some(_) => return Err("keyUsage lacks keyCertSign"),
        None => return Err("no keyUsage extension"),
    }
    match cert.path_len_constraint() {
        Some(max) if usize::try_from(max).is_ok_and(|m| below > m) => Err("pathLenConstraint exceeded"),
        _ => Ok(()),
    }
}

impl CertificatePool {
    /// Parses every authority's chain and checks it once: each certificate is issued by the next
    /// (name chaining and signature), every issuer is a CA with keyCertSign whose path length
    /// allows the chain, and no certificate carries an unhandled critical extension. The last
    /// certificate is the trust anchor (its self-signature is not checked).
    pub fn new(cas: &[CertificateAuthority]) -> Result<CertificatePool, CertError> {
        let mut authorities = Vec::with_capacity(cas.len());
        for (i, ca) in cas.iter().enumerate() {
            let bad = |reason: String| CertError::InvalidTrustedChain { authority: i, reason };
            if ca.certificates.is_empty() {
                return Err(bad("empty certificate chain".into()));
            }
            let chain = ca
                .certificates
                .iter()
                .enumerate()
                .map(|(j, der)| Certificate::from_der(der).map_err(|e| bad(format!("certificate #{j}: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            for (j, cert) in chain.iter().enumerate() {
                if let Some(oid) = cert.unhandled_critical_extension() {
                    return Err(bad(format!("certificate #{j}: unhandled critical extension {oid}")));
                }
            }
            for (j, pair) in chain.windows(2).enumerate() {
                if let [child, parent] = pair {
                    may_issue(parent, j).map_err(|r| bad(format!("certificate #{}: {r}", j + 1)))?;
                    child
                        .verify_issued_by(parent)
                        .map_err(|e| bad(format!("certificate #{j} is not issued by #{}: {e}", j + 1)))?;
                }
            }
            let issues_leaves = chain
                .iter()
                .enumerate()
                .try_for_each(|(below, cert)| may_issue(cert, below));
            authorities.push(Authority {
                chain,
                valid_for: ca.valid_for,
                issues_leaves,
            });
        }
        Ok(CertificatePool { authorities })
    }

    /// Number of authorities.
    pub fn len(&self) -> usize {
        self.authorities.len()
    }

    /// Whether the pool has no authority.
    pub fn is_empty(&self) -> bool {
        self.authorities.is_empty()
    }

    /// The parsed chain of authority `index` (leaf-most first, root last).
    pub fn chain(&self, index: usize) -> Option<&[Certificate]> {
        self.authorities.get(index).map(|a| a.chain.as_slice())
    }

    /// The trusted root's validity window for authority `index`.
    pub fn valid_for(&self, index: usize) -> Option<TimeRange> {
        self.authorities.get(index).map(|a| a.valid_for)
    }

    /// Verifies that `leaf` chains to one of the trusted authorities at time `at`.
    ///
    /// The leaf is either the authority's leaf-most certificate itself (byte-identical: TSA
    /// signing certificates) or issued by it (name chaining and signature; the issuer must be
    /// allowed to issue). Then: the leaf is not a CA, has no unhandled critical extension, a
    /// keyUsage (if present) with digitalSignature and an extKeyUsage containing `required_eku`;
    /// CA certificates that restrict extKeyUsage allow it; every certificate of the path is valid
    /// at `at` (closed interval); the authority's `valid_for` contains `at`.
    ///
    /// The first authority that accepts wins. When none does, the error from the first authority
    /// whose issuer matched is returned, else [`CertError::ChainUntrusted`]. A signature that does
    /// not verify under a same-named CA counts as "untrusted" unless the leaf's
    /// authorityKeyIdentifier names that CA's key ([`CertError::SignatureInvalid`]: tampering).
    pub fn verify<'a>(
        &'a self,
        leaf: &'a Certificate,
        at: UnixTime,
        required_eku: ExtendedKeyUsage,
    ) -> Result<VerifiedChain<'a>, CertError> {
        let mut first_error = None;
        let mut verified_issuer: Option<&Certificate> = None;
        for (index, auth) in self.authorities.iter().enumerate() {
            let Some(c0) = auth.chain.first() else { continue };
            let result = if leaf.der() == c0.der() {
                check_path(auth, index, leaf, true, at, required_eku)
            } else if leaf.issuer_der() == c0.subject_der() {
                auth.issues_leaves
                    .map_err(CertError::IssuerNotCa)
                    .and_then(|()| match verified_issuer {
                        Some(v) if v == c0 => Ok(()),
                        _ => leaf.verify_issued_by(c0),
                    })
                    .and_then(|()| {
                        verified_issuer = Some(c0);
                        check_path(auth, index, leaf, false, at, required_eku)
                    })
            } else {
                continue;
            };
            match result {
                Ok(v) => return Ok(v),
                // A same-named CA whose key did not sign the leaf: only report a bad signature when
                // the key identifiers say this CA is the issuer (a tampered certificate); otherwise
                // the leaf comes from another CA with the same name (for example another instance).
                Err(CertError::SignatureInvalid)
                    if !(leaf.authority_key_id().is_some() && leaf.authority_key_id() == c0.subject_key_id()) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(CertError::ChainUntrusted))
    }
}

fn check_path<'a>(
    auth: &'a Authority,
    index: usize,
    leaf: &'a Certificate,
    leaf_is_anchor_leaf: bool,
    at: UnixTime,
    eku: ExtendedKeyUsage,
) -> Result<VerifiedChain<'a>, CertError> {
    if leaf.is_ca() {
        return Err(CertError::LeafIsCa);
    }
    if let Some(oid) = leaf.unhandled_critical_extension() {
        return Err(CertError::UnhandledCriticalExtension(oid));
    }
    if leaf.key_usage_bits().is_some_and(|ku| ku & KU_DIGITAL_SIGNATURE == 0) {
        return Err(CertError::KeyUsageInvalid);
    }
    if !leaf.has_extended_key_usage(eku) {
        return Err(CertError::MissingExtendedKeyUsage(eku));
    }
    // The CA part of the path: the authority chain, minus its first certificate when that is the leaf.
    let cas = if leaf_is_anchor_leaf {
        auth.chain.get(1..).unwrap_or_default()
    } else {
        auth.chain.as_slice()
    };
    for (i, ca) in cas.iter().enumerate() {
        if ca.eku_flags().is_some_and(|f| f & (eku.flag() | EKU_ANY) == 0) {
            return Err(CertError::IssuerExtendedKeyUsage { index: i + 1, eku });
        }
    }
    let mut chain = Vec::with_capacity(cas.len() + 1);
    chain.push(leaf);
    chain.extend(cas.iter());
    let verified = VerifiedChain {
        issuer: cas.first().unwrap_or(leaf),
        authority_index: index,
        chain,
        valid_for: auth.valid_for,
    };
    verified.check_time(at)?;
    Ok(verified)
}
