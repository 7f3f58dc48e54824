//! trust-core: the pure Sigstore verification core of certus-trust.
//!
//! No I/O, no threads, no clock: every input (bundle bytes, trusted root, artifact, the current
//! time) is a parameter. Build a [`verifier::Verifier`] once from a [`trust_root::TrustedRoot`],
//! then verify bundles against a per-call [`policy::VerificationPolicy`].

#![forbid(unsafe_code)]

pub mod bundle;
pub mod crypto;
pub mod dsse;
pub mod error;
pub mod policy;
pub mod sct;
pub mod time;
pub mod timestamp;
pub mod tlog;
pub mod trust_root;
pub mod verifier;
pub mod x509;

pub use error::{Error, ErrorFamily};
