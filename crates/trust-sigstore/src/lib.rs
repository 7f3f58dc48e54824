//! trust-sigstore: the Sigstore services certus-trust signs with.
//!
//! [`embedded`] is the `local` mode: a CA issuing short-lived Fulcio-style certificates with
//! embedded SCTs, an RFC 6962 transparency log writing Rekor v1 entries, and an RFC 3161 TSA, all
//! on one machine. [`client`] holds the clients of remote Sigstore services (the `sigstore` mode).
//! The log's storage is the [`embedded::store::LogStore`] trait; `trust-store`
//! implements it on SQLite and PostgreSQL (this crate never imports sea-orm).

#![forbid(unsafe_code)]

pub mod client;
pub mod content;
pub mod embedded;
pub mod oidc;
pub mod remote;
pub mod tuf;
