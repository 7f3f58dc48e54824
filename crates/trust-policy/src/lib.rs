//! trust-policy: who may sign what.
//!
//! A policy document (YAML, one file, several named policies) is loaded once into a
//! [`PolicySet`]: every regex is compiled (always anchored: `^(?:...)$`), every key parsed, every
//! name resolved, and every problem reported with its line and column ([`LoadError`]). A policy
//! never silently matches everything: a rule must constrain its signers.
//!
//! [`PolicySet::evaluate`] then decides over one or more trust-core verification results
//! ([`trust_core::verifier::VerifiedBundle`]) and a request [`Context`] (artifact type, subject,
//! the current time, the service's own identity), returning a [`Decision`] with every reason.
//! Pure: no I/O (except the [`PolicySet::from_file`] convenience), no clock, no threads.
//!
//! A server holds the set in an `Arc<PolicySet>` and swaps it whole on reload: a `PolicySet` is
//! immutable, `Send` and `Sync`.
//!
//! The format is described in `docs/policy.md`.

#![forbid(unsafe_code)]

mod doc;
mod error;
mod eval;
mod extension;
mod matcher;
mod name;
mod policy;

pub use error::{Diagnostic, EvaluateError, LoadError};
pub use eval::{Context, Decision, Failure, FailureCode, ServiceIdentity};
pub use extension::{Extension, EXTENSIONS};
pub use name::Name;
pub use policy::{Mode, NoMatch, Policy, PolicySet, DOCUMENT_VERSION, MAX_AUTHORITIES};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn policy_set_can_be_shared_across_threads() {
        assert_send_sync::<PolicySet>();
        assert_send_sync::<std::sync::Arc<PolicySet>>();
    }
}
