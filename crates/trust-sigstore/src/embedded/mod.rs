//! The embedded (local-mode) Sigstore services.

pub mod merkle;
pub mod store;
