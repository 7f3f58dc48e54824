//! certus-trust's durable state: sea-orm entities and migrations on SQLite (default, a WAL file)
//! and PostgreSQL (a `postgres://` URL), and the storage of the embedded transparency log
//! ([`trust_sigstore::embedded::store::LogStore`], implemented by [`Store`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use trust_sigstore::embedded::store::LogStore;
//! let store = trust_store::Store::open("certus-data/store.db").await?;
//! let size = store.tree_size().await?;
//! # let _ = size; Ok(()) }
//! ```
//!
//! Every open runs the migrations ([`migration::Migrator`]) and refuses a database written by a
//! newer binary ([`StoreOpenError::SchemaTooNew`]).

#![forbid(unsafe_code)]

pub mod entity;
mod error;
pub mod migration;
mod records;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result, StoreOpenError};
pub use records::{
    ApiKeyInfo, AuditEvent, NewApiKey, StoredAuditEvent, UploadPermission, VerificationRecord, API_KEY_PREFIX,
};
pub use store::{Backend, Store, StoreAppend};
