//! The embedded (local-mode) Sigstore services.

pub mod keys;
pub mod log;
pub mod merkle;
pub mod rekor;
pub mod store;
