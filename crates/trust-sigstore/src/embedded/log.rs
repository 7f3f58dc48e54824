//! The embedded transparency log: Rekor v1 entries in an RFC 6962 tree, stored through
//! [`LogStore`].
//!
//! Appends go through one writer task per process. It drains whatever is queued (up to
//! [`LogConfig::max_batch`]) into a single store transaction: the leaves, the tree nodes they
//! complete, one signed checkpoint for the new size and the callers' signing records, committed
//! together. Only then does each caller get its entry back, with its signed entry timestamp and
//! an inclusion proof against that checkpoint. Across processes, the store's append lock
//! serialises batches and the writer re-reads the tree's right edge under it.

use super::keys::SigningKey;
use super::merkle::{self, ProofPlan};
use super::rekor::{set_payload, EntryKind};
use super::store::{AppendBatch, Checkpoint, Hash, LogAppend, LogLeaf, LogStore, SignedArtifact, StoreError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Log settings.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The log's name in checkpoints and signatures: the host of its base URL as published in
    /// the trusted root (for example `127.0.0.1:8888`).
    pub name: String,
    /// A stable numeric id; checkpoint origins are `<name> - <tree_id>` as in Rekor v1.
    pub tree_id: u64,
    /// Most entries committed in one transaction.
    pub max_batch: usize,
}

impl LogConfig {
    /// The checkpoint origin line.
    pub fn origin(&self) -> String {
        format!("{} - {}", self.name, self.tree_id)
    }
}

/// Log failures.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The store failed; nothing of the batch was committed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing with the log key failed.
    #[error("log key could not sign: {0}")]
    Signing(String),
    /// A proof was asked for a leaf or size the log does not have.
    #[error("{0}")]
    OutOfRange(String),
    /// The log's writer task is gone (the process is shutting down).
    #[error("transparency log is shut down")]
    Closed,
    /// The log already holds this leaf (entry UUID); nothing was appended.
    #[error("the log already holds entry {0}")]
    Duplicate(String),
}

impl LogError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(e) => e.code(),
            Self::Signing(_) => "log.signing_failed",
            Self::OutOfRange(_) => "log.out_of_range",
            Self::Closed => "log.closed",
            Self::Duplicate(_) => "log.duplicate_entry",
        }
    }
}

/// Builds the signing record of an entry once its position and proof are known.
pub type RecordFn = Box<dyn Fn(&LoggedEntry) -> SignedArtifact + Send + Sync>;

/// An entry to append.
pub struct NewEntry {
    /// Entry kind (for the bundle's `kindVersion`).
    pub kind: EntryKind,
    /// The canonicalized body.
    pub body: Vec<u8>,
    /// The artifact digest it logs, `sha256:<hex>`.
    pub artifact_digest: String,
    /// The signing record to commit with it, if any.
    pub record: Option<RecordFn>,
}

/// An inclusion proof with the checkpoint it is against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// Leaf index.
    pub log_index: u64,
    /// Tree size the proof is for.
    pub tree_size: u64,
    /// Root hash at that size.
    pub root_hash: Hash,
    /// Audit path, leaf side first.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint (note text) for that size.
    pub checkpoint: String,
}

/// A committed entry, with everything a bundle needs.
#[derive(Clone, Debug)]
pub struct LoggedEntry {
    /// Entry kind.
    pub kind: EntryKind,
    /// The stored leaf (index, uuid, body, integrated time, SET).
    pub leaf: LogLeaf,
    /// The log id (SHA-256 of the log key's SPKI).
    pub log_id: [u8; 32],
    /// Inclusion proof against the checkpoint of the batch that committed it.
    pub inclusion_proof: InclusionProof,
}

struct Shared<S> {
    store: Arc<S>,
    key: SigningKey,
    log_id: [u8; 32],
    config: LogConfig,
}

struct Pending {
    entry: NewEntry,
    reply: oneshot::Sender<Result<LoggedEntry, LogError>>,
}

/// The embedded transparency log. Cheap to clone; every clone feeds the same writer task.
pub struct TransparencyLog<S: LogStore> {
    shared: Arc<Shared<S>>,
    queue: mpsc::Sender<Pending>,
}

impl<S: LogStore> Clone for TransparencyLog<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            queue: self.queue.clone(),
        }
    }
}

/// Signs a C2SP checkpoint note for `size` and `root` (Rekor v1 form: the origin carries the
/// tree id; the signature line names the log and carries the 4-byte key hint).
fn sign_checkpoint(
    key: &SigningKey,
    log_id: &[u8; 32],
    config: &LogConfig,
    size: u64,
    root: &Hash,
) -> Result<String, LogError> {
    let body = format!("{}\n{}\n{}\n", config.origin(), size, B64.encode(root));
    let sig = key
        .sign(body.as_bytes())
        .map_err(|e| LogError::Signing(e.to_string()))?;
    let mut blob = Vec::with_capacity(4 + sig.len());
    blob.extend_from_slice(&log_id[..4]);
    blob.extend_from_slice(&sig);
    Ok(format!("{body}\n\u{2014} {} {}\n", config.name, B64.encode(blob)))
}

impl<S: LogStore> TransparencyLog<S> {
    /// Starts the log's writer task on the current tokio runtime.
    pub fn start(store: Arc<S>, key: SigningKey, config: LogConfig) -> Self {
        let log_id = key.key_id();
        let shared = Arc::new(Shared {
            store,
            key,
            log_id,
            config,
        });
        let (queue, rx) = mpsc::channel(shared.config.max_batch.max(1) * 4);
        tokio::spawn(writer(shared.clone(), rx));
        Self { shared, queue }
    }

    /// The log id: SHA-256 of the log key's SPKI DER.
    pub fn log_id(&self) -> [u8; 32] {
        self.shared.log_id
    }

    /// The log's public key (SPKI DER).
    pub fn public_key_der(&self) -> &[u8] {
        self.shared.key.public_key_spki_der()
    }

    /// The log's configuration.
    pub fn config(&self) -> &LogConfig {
        &self.shared.config
    }

    /// The store behind the log.
    pub fn store(&self) -> &Arc<S> {
        &self.shared.store
    }

    /// Appends an entry; returns once it (and its record) is durably committed.
    pub async fn append(&self, entry: NewEntry) -> Result<LoggedEntry, LogError> {
        let (reply, rx) = oneshot::channel();
        self.queue
            .send(Pending { entry, reply })
            .await
            .map_err(|_| LogError::Closed)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// The latest signed checkpoint, signing one for the empty tree if nothing was logged yet.
    pub async fn checkpoint(&self) -> Result<Checkpoint, LogError> {
        if let Some(cp) = self.shared.store.latest_checkpoint().await? {
            return Ok(cp);
        }
        let root = merkle::empty_root();
        let s = &self.shared;
        Ok(Checkpoint {
            tree_size: 0,
            root_hash: root,
            note: sign_checkpoint(&s.key, &s.log_id, &s.config, 0, &root)?,
            created: super::now().secs(),
        })
    }

    /// Inclusion proof of leaf `index` against the checkpoint handed out for `tree_size` (the
    /// latest when `None`).
    pub async fn inclusion_proof(&self, index: u64, tree_size: Option<u64>) -> Result<InclusionProof, LogError> {
        let store = &self.shared.store;
        let cp = match tree_size {
            None => store.latest_checkpoint().await?,
            Some(n) => store.checkpoint(n).await?,
        }
        .ok_or_else(|| LogError::OutOfRange("no checkpoint for that tree size".into()))?;
        if index >= cp.tree_size {
            return Err(LogError::OutOfRange(format!(
                "leaf {index} is not in the tree of size {}",
                cp.tree_size
            )));
        }
        let plan = ProofPlan::new(&merkle::inclusion_ranges(index, cp.tree_size));
        let hashes = resolve(store.as_ref(), &plan).await?;
        Ok(InclusionProof {
            log_index: index,
            tree_size: cp.tree_size,
            root_hash: cp.root_hash,
            hashes,
            checkpoint: cp.note,
        })
    }

    /// The root hash of the tree's first `size` leaves (`size <= latest`).
    pub async fn root_at(&self, size: u64) -> Result<Hash, LogError> {
        let latest = self.shared.store.tree_size().await?;
        if size > latest {
            return Err(LogError::OutOfRange(format!(
                "tree size {size} is beyond the log's size {latest}"
            )));
        }
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        let hashes = self.shared.store.nodes(&merkle::range_nodes(0, size)).await?;
        merkle::fold(&hashes).ok_or_else(|| StoreError::Corrupt("no nodes for the root".into()).into())
    }

    /// RFC 9162 consistency proof between two tree sizes (`from <= to <= latest`).
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LogError> {
        let size = self.shared.store.tree_size().await?;
        if from > to || to > size {
            return Err(LogError::OutOfRange(format!(
                "no consistency proof from {from} to {to} in a tree of size {size}"
            )));
        }
        if from == 0 || from == to {
            return Ok(Vec::new());
        }
        let plan = ProofPlan::new(&merkle::consistency_ranges(from, to));
        resolve(self.shared.store.as_ref(), &plan).await
    }
}

async fn resolve<S: LogStore>(store: &S, plan: &ProofPlan) -> Result<Vec<Hash>, LogError> {
    let ids = plan.nodes();
    let hashes = store.nodes(&ids).await?;
    let map: std::collections::HashMap<_, _> = ids.into_iter().zip(hashes).collect();
    plan.resolve(|id| map.get(id).copied())
        .ok_or_else(|| StoreError::Corrupt("a proof node is missing".into()).into())
}

async fn writer<S: LogStore>(shared: Arc<Shared<S>>, mut rx: mpsc::Receiver<Pending>) {
    let max = shared.config.max_batch.max(1);
    let mut batch = Vec::with_capacity(max);
    while rx.recv_many(&mut batch, max).await > 0 {
        let (entries, replies): (Vec<_>, Vec<_>) = batch.drain(..).map(|p| (p.entry, p.reply)).unzip();
        if entries.len() == 1 {
            let result = commit_one(&shared, &entries).await;
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(result);
            }
            continue;
        }
        match commit_batch(&shared, &entries).await {
            Ok(logged) => {
                for (reply, entry) in replies.into_iter().zip(logged) {
                    let _ = reply.send(Ok(entry));
                }
            }
            Err(_) => {
                // Nothing of the batch was committed. One bad entry (a duplicate leaf, say) must
                // not fail the others: each is tried alone, and gets its own outcome.
                for (reply, entry) in replies.into_iter().zip(entries.chunks(1)) {
                    let _ = reply.send(commit_one(&shared, entry).await);
                }
            }
        }
    }
}

/// Commits a batch of one; a failure on a leaf the log already holds is [`LogError::Duplicate`].
async fn commit_one<S: LogStore>(shared: &Shared<S>, entries: &[NewEntry]) -> Result<LoggedEntry, LogError> {
    let uuid = entries
        .first()
        .map(|e| hex::encode(trust_core::tlog::leaf_hash(&e.body)));
    match commit_batch(shared, entries).await {
        Ok(mut logged) => logged.pop().ok_or(LogError::Closed),
        Err(e) => match uuid {
            Some(uuid) if matches!(shared.store.leaf_by_uuid(&uuid).await, Ok(Some(_))) => {
                Err(LogError::Duplicate(uuid))
            }
            _ => Err(e),
        },
    }
}

/// Writes one batch in one transaction; returns the entries in order once committed.
async fn commit_batch<S: LogStore>(shared: &Shared<S>, entries: &[NewEntry]) -> Result<Vec<LoggedEntry>, LogError> {
    let mut tx = shared.store.begin_append().await?;
    let size = tx.tree_size().await?;
    let frontier = tx.nodes(&merkle::frontier(size)).await?;
    let leaf_hashes: Vec<Hash> = entries.iter().map(|e| trust_core::tlog::leaf_hash(&e.body)).collect();
    let appended = merkle::append(size, &frontier, &leaf_hashes).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "the stored right edge of the tree of size {size} is inconsistent"
        ))
    })?;
    let now = super::now().secs();
    let note = sign_checkpoint(
        &shared.key,
        &shared.log_id,
        &shared.config,
        appended.size,
        &appended.root,
    )?;
    let mut batch = AppendBatch {
        nodes: appended.new_nodes.clone(),
        checkpoint: Some(Checkpoint {
            tree_size: appended.size,
            root_hash: appended.root,
            note: note.clone(),
            created: now,
        }),
        ..AppendBatch::default()
    };
    let mut logged = Vec::with_capacity(entries.len());
    for (i, (entry, leaf_hash)) in entries.iter().zip(leaf_hashes).enumerate() {
        let index = size + i as u64;
        let set = shared
            .key
            .sign(&set_payload(&entry.body, now, &shared.log_id, index))
            .map_err(|e| LogError::Signing(e.to_string()))?;
        let plan = ProofPlan::new(&merkle::inclusion_ranges(index, appended.size));
        let hashes = plan
            .resolve(|id| appended.known.get(id).copied())
            .ok_or_else(|| StoreError::Corrupt("a proof node is missing after append".into()))?;
        let leaf = LogLeaf {
            index,
            leaf_hash,
            uuid: hex::encode(leaf_hash),
            body: entry.body.clone(),
            integrated_time: now,
            signed_entry_timestamp: set,
            artifact_digest: entry.artifact_digest.clone(),
        };
        let done = LoggedEntry {
            kind: entry.kind,
            leaf: leaf.clone(),
            log_id: shared.log_id,
            inclusion_proof: InclusionProof {
                log_index: index,
                tree_size: appended.size,
                root_hash: appended.root,
                hashes,
                checkpoint: note.clone(),
            },
        };
        if let Some(record) = &entry.record {
            batch.artifacts.push(record(&done));
        }
        batch.leaves.push(leaf);
        logged.push(done);
    }
    tx.write(batch).await?;
    tx.commit().await?;
    Ok(logged)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::keys::KeyAlgorithm;
    use super::super::rekor;
    use super::super::store::LogStore;
    use super::super::testutil::Mem;
    use super::*;
    use trust_core::crypto::{HashAlgorithm, PublicKey};
    use trust_core::time::{TimeRange, UnixTime};
    use trust_core::tlog::{verify_consistency, verify_inclusion_with_checkpoint, verify_set};
    use trust_core::trust_root::TransparencyLog as TrustedLog;

    fn config() -> LogConfig {
        LogConfig {
            name: "127.0.0.1:8888".into(),
            tree_id: 4242,
            max_batch: 64,
        }
    }

    fn trusted(key: &PublicKey, log_id: [u8; 32]) -> TrustedLog {
        TrustedLog {
            base_url: "http://127.0.0.1:8888".into(),
            hash_algorithm: HashAlgorithm::Sha256,
            key: key.clone(),
            log_id: log_id.to_vec(),
            valid_for: TimeRange {
                start: UnixTime::from_secs(0),
                end: None,
            },
        }
    }

    fn entry(i: u32) -> NewEntry {
        let digest =
            trust_core::crypto::Digest::new(HashAlgorithm::Sha256, &trust_core::crypto::sha256(&i.to_be_bytes()))
                .unwrap();
        NewEntry {
            kind: EntryKind::HashedRekord,
            body: rekor::hashedrekord_v001(
                &digest,
                &[i as u8; 70],
                "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
            ),
            artifact_digest: digest.to_string(),
            record: None,
        }
    }

    fn check(e: &LoggedEntry, tl: &TrustedLog) {
        let p = &e.inclusion_proof;
        verify_inclusion_with_checkpoint(
            &e.leaf.body,
            p.log_index,
            p.tree_size,
            &p.root_hash,
            &p.hashes,
            &p.checkpoint,
            tl,
        )
        .unwrap();
        verify_set(
            &e.leaf.signed_entry_timestamp,
            &B64.encode(&e.leaf.body),
            e.leaf.integrated_time,
            &e.log_id,
            e.leaf.index as i64,
            tl,
        )
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_batched_proved_and_signed() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let tl = trusted(&key.public_key(), key.key_id());
        let store = Arc::new(Mem::default());
        let log = TransparencyLog::start(store.clone(), key, config());
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move { log.append(entry(i)).await.unwrap() })
            })
            .collect();
        let mut indices = Vec::new();
        for t in tasks {
            let e = t.await.unwrap();
            check(&e, &tl);
            indices.push(e.leaf.index);
        }
        indices.sort_unstable();
        assert_eq!(indices, (0..200).collect::<Vec<_>>());
        let batches = store.data.lock().unwrap().checkpoints.len();
        assert!(batches < 200, "200 concurrent appends took {batches} commits");

        // Proofs served later, against the latest and an older checkpoint, verify too.
        let cp = log.checkpoint().await.unwrap();
        assert_eq!(cp.tree_size, 200);
        for index in [0, 7, 199] {
            let leaf = store.leaf(index).await.unwrap().unwrap();
            let first_after = *store
                .data
                .lock()
                .unwrap()
                .checkpoints
                .keys()
                .find(|&&s| s > index)
                .unwrap();
            for size in [None, Some(first_after)] {
                let p = log.inclusion_proof(index, size).await.unwrap();
                verify_inclusion_with_checkpoint(
                    &leaf.body,
                    index,
                    p.tree_size,
                    &p.root_hash,
                    &p.hashes,
                    &p.checkpoint,
                    &tl,
                )
                .unwrap();
            }
        }
        // Consistency between every handed-out checkpoint and the latest.
        let cps: Vec<_> = store.data.lock().unwrap().checkpoints.values().cloned().collect();
        for old in &cps {
            let proof = log.consistency_proof(old.tree_size, cp.tree_size).await.unwrap();
            verify_consistency(old.tree_size, cp.tree_size, &old.root_hash, &cp.root_hash, &proof).unwrap();
        }
        assert!(matches!(
            log.inclusion_proof(200, None).await,
            Err(LogError::OutOfRange(_))
        ));
        assert!(matches!(
            log.consistency_proof(3, 201).await,
            Err(LogError::OutOfRange(_))
        ));
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_caller_and_leaves_nothing() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let store = Arc::new(Mem::default());
        let log = TransparencyLog::start(store.clone(), key, config());
        log.append(entry(1)).await.unwrap();
        store.fail_commits.store(true, std::sync::atomic::Ordering::SeqCst);
        let err = log.append(entry(2)).await.unwrap_err();
        assert_eq!(err.code(), "store.unavailable");
        assert_eq!(store.tree_size().await.unwrap(), 1);
        store.fail_commits.store(false, std::sync::atomic::Ordering::SeqCst);
        let e = log.append(entry(3)).await.unwrap();
        assert_eq!(e.leaf.index, 1);
    }

    #[tokio::test]
    async fn records_are_committed_with_their_entry() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let store = Arc::new(Mem::default());
        let log = TransparencyLog::start(store.clone(), key, config());
        let mut e = entry(9);
        e.record = Some(Box::new(|done: &LoggedEntry| SignedArtifact {
            digest: done.leaf.artifact_digest.clone(),
            artifact_type: None,
            subject: None,
            predicate_type: None,
            signer_identity: "a@example.com".into(),
            signer_issuer: "https://issuer.example".into(),
            bundle: "{}".into(),
            log_index: done.leaf.index,
            entry_uuid: done.leaf.uuid.clone(),
            created: done.leaf.integrated_time,
        }));
        let done = log.append(e).await.unwrap();
        let d = store.data.lock().unwrap();
        assert_eq!(d.artifacts.len(), 1);
        assert_eq!(d.artifacts[0].entry_uuid, done.leaf.uuid);
        assert_eq!(
            done.leaf.uuid,
            hex::encode(trust_core::tlog::leaf_hash(&done.leaf.body))
        );
    }

    #[tokio::test]
    async fn the_empty_log_has_a_signed_checkpoint() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let tl = trusted(&key.public_key(), key.key_id());
        let log = TransparencyLog::start(Arc::new(Mem::default()), key, config());
        let cp = log.checkpoint().await.unwrap();
        let parsed = trust_core::tlog::Checkpoint::parse(&cp.note).unwrap();
        trust_core::tlog::verify_checkpoint(&parsed, &cp.note, &tl).unwrap();
        assert_eq!(parsed.tree_size, 0);
    }
}
