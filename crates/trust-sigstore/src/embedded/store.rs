//! The storage the embedded transparency log needs, as a trait.
//!
//! `trust-store` implements it on sea-orm (SQLite, PostgreSQL); this crate never imports sea-orm.
//!
//! The tree is stored as the hashes of its *perfect subtrees*: [`NodeId`] `{level, index}` covers
//! leaves `[index << level, (index + 1) << level)`, level 0 being the leaf hashes themselves. Every
//! node is written once, when its last leaf is appended, and never changes, so an inclusion or
//! consistency proof for any tree size is a handful of keyed reads, whatever the log's size.
//!
//! Appends are serialised by the store: [`LogStore::begin_append`] returns a transaction that
//! holds the log's append lock (across processes, on PostgreSQL too) until it is committed or
//! dropped. Dropping it without [`LogAppend::commit`] rolls everything back.

use std::future::Future;

/// A SHA-256 node or leaf hash.
pub type Hash = [u8; 32];

/// A perfect subtree: `level` 0 is a leaf; it covers leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height of the subtree (0 = a leaf).
    pub level: u8,
    /// Position among the subtrees of that height.
    pub index: u64,
}

/// A log entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLeaf {
    /// Position in the log (0-based).
    pub index: u64,
    /// RFC 6962 leaf hash of `body`.
    pub leaf_hash: Hash,
    /// The Rekor entry UUID (hex of the leaf hash).
    pub uuid: String,
    /// The canonicalized Rekor entry body (JSON bytes).
    pub body: Vec<u8>,
    /// Seconds since the Unix epoch when the log integrated the entry.
    pub integrated_time: i64,
    /// The log's signed entry timestamp (DER ECDSA signature) over the entry.
    pub signed_entry_timestamp: Vec<u8>,
    /// The logged artifact digest, `sha256:<hex>`, for lookups by digest.
    pub artifact_digest: String,
}

/// A signed checkpoint (C2SP signed note) handed out for a tree size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The tree size it commits to.
    pub tree_size: u64,
    /// The tree's root hash at that size.
    pub root_hash: Hash,
    /// The whole signed note, as served.
    pub note: String,
    /// Seconds since the Unix epoch when it was signed.
    pub created: i64,
}

/// The record of one signing, committed in the same transaction as its log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedArtifact {
    /// The signed artifact's digest, `sha256:<hex>`.
    pub digest: String,
    /// What kind of artifact (free text from the request, e.g. `container-image`), if given.
    pub artifact_type: Option<String>,
    /// The subject name, if given.
    pub subject: Option<String>,
    /// In-toto predicate type when a statement (DSSE) was signed.
    pub predicate_type: Option<String>,
    /// The signer identity (certificate SAN).
    pub signer_identity: String,
    /// The signer's OIDC issuer.
    pub signer_issuer: String,
    /// The Sigstore bundle, as JSON.
    pub bundle: String,
    /// The log entry's index.
    pub log_index: u64,
    /// The log entry's UUID.
    pub entry_uuid: String,
    /// Seconds since the Unix epoch.
    pub created: i64,
}

/// Everything one append batch writes, atomically.
#[derive(Clone, Debug, Default)]
pub struct AppendBatch {
    /// New leaves, with consecutive indices starting at the size read under the lock.
    pub leaves: Vec<LogLeaf>,
    /// Every perfect-subtree node completed by those leaves (including level 0).
    pub nodes: Vec<(NodeId, Hash)>,
    /// The checkpoint for the new size.
    pub checkpoint: Option<Checkpoint>,
    /// Signing records for the new entries.
    pub artifacts: Vec<SignedArtifact>,
}

/// A storage failure. The message names what failed; it never contains secrets.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or refused the operation.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data contradicts itself (a missing node, a hash of the wrong length ...).
    #[error("store corrupt: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("store error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "store.unavailable",
            Self::Corrupt(_) => "store.corrupt",
            Self::Backend(_) => "store.error",
        }
    }
}

/// Result alias for storage operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Storage for the embedded transparency log.
///
/// Reads see committed data only. Node reads return the hashes in the order of `ids`, and fail
/// with [`StoreError::Corrupt`] if one is missing.
pub trait LogStore: Send + Sync + 'static {
    /// An open append transaction holding the log's append lock.
    type Append: LogAppend;

    /// Takes the append lock (waiting for other writers, in this process or another) and opens a
    /// transaction.
    fn begin_append(&self) -> impl Future<Output = StoreResult<Self::Append>> + Send;
    /// The committed tree size.
    fn tree_size(&self) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Committed node hashes, in the order asked.
    fn nodes(&self, ids: &[NodeId]) -> impl Future<Output = StoreResult<Vec<Hash>>> + Send;
    /// The leaf at `index`, if committed.
    fn leaf(&self, index: u64) -> impl Future<Output = StoreResult<Option<LogLeaf>>> + Send;
    /// The leaf with this entry UUID (lowercase hex), if any.
    fn leaf_by_uuid(&self, uuid: &str) -> impl Future<Output = StoreResult<Option<LogLeaf>>> + Send;
    /// Every leaf logged for this artifact digest (`sha256:<hex>`), by index.
    fn leaves_by_digest(&self, digest: &str) -> impl Future<Output = StoreResult<Vec<LogLeaf>>> + Send;
    /// The checkpoint for the largest committed size, if any.
    fn latest_checkpoint(&self) -> impl Future<Output = StoreResult<Option<Checkpoint>>> + Send;
    /// The checkpoint handed out for exactly `tree_size`, if any.
    fn checkpoint(&self, tree_size: u64) -> impl Future<Output = StoreResult<Option<Checkpoint>>> + Send;
}

/// An append transaction: read the size and the right edge of the tree under the lock, write one
/// batch, commit. Dropping it uncommitted rolls back.
pub trait LogAppend: Send + 'static {
    /// The tree size, read under the lock.
    fn tree_size(&mut self) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Node hashes, read under the lock, in the order asked.
    fn nodes(&mut self, ids: &[NodeId]) -> impl Future<Output = StoreResult<Vec<Hash>>> + Send;
    /// Writes the batch (not yet durable).
    fn write(&mut self, batch: AppendBatch) -> impl Future<Output = StoreResult<()>> + Send;
    /// Commits durably: returns only once the batch would survive a crash.
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;
}
