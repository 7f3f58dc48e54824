//! The crate's error type: one enum whose variants wrap each check's typed error, every one with
//! a stable machine code (`bundle.malformed`, `tlog.inclusion_proof_mismatch`, ...).
//!
//! Two families: [`ErrorFamily::Input`] (the caller handed over something malformed or
//! contradictory: an API maps it to 400) and [`ErrorFamily::Verification`] (well-formed material
//! that does not verify: a negative verdict).

use crate::bundle::BundleError;
use crate::crypto::KeyError;
use crate::policy::PolicyError;
use crate::sct::SctError;
use crate::timestamp::TimestampError;
use crate::tlog::TlogError;
use crate::trust_root::TrustRootError;
use crate::verifier::{IdentityError, SignatureError, ThresholdError};
use crate::x509::CertError;

/// Which family an error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFamily {
    /// Malformed or contradictory input.
    Input,
    /// The material is well-formed but does not verify.
    Verification,
}

/// Everything trust-core can report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bundle does not parse or is structurally invalid.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The trusted root does not parse.
    #[error(transparent)]
    TrustRoot(#[from] TrustRootError),
    /// The verification policy or verifier options are contradictory.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A key handed over by the caller does not parse.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Certificate chain, validity or usage failed.
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// Signed certificate timestamps failed.
    #[error(transparent)]
    Sct(#[from] SctError),
    /// Transparency log entry, SET, inclusion proof or checkpoint failed.
    #[error(transparent)]
    Tlog(#[from] TlogError),
    /// RFC 3161 timestamps failed.
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    /// The artifact signature or digest does not match.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signer is not the one the policy expects.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Fewer verified log entries, timestamps or SCTs than required.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
}

impl Error {
    /// Stable machine code, for example `tlog.inclusion_proof_mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Bundle(e) => e.code(),
            Error::TrustRoot(e) => e.code(),
            Error::Policy(e) => e.code(),
            Error::Key(e) => e.code(),
            Error::Certificate(e) => e.code(),
            Error::Sct(e) => e.code(),
            Error::Tlog(e) => e.code(),
            Error::Timestamp(e) => e.code(),
            Error::Signature(e) => e.code(),
            Error::Identity(e) => e.code(),
            Error::Threshold(e) => e.code(),
        }
    }

    /// Input error or failed verification.
    pub fn family(&self) -> ErrorFamily {
        match self {
            Error::Bundle(_) | Error::TrustRoot(_) | Error::Policy(_) | Error::Key(_) => ErrorFamily::Input,
            _ => ErrorFamily::Verification,
        }
    }
}
