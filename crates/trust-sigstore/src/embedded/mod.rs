//! The embedded (local-mode) Sigstore services.

pub mod store;
