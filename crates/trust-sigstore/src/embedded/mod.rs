//! The embedded (local-mode) Sigstore services: signing keys ([`keys`]), the certificate
//! transparency log that signs SCTs ([`ct`]), the certificate authority ([`ca`]), the RFC 3161
//! timestamp authority ([`tsa`]), and the transparency log ([`log`], with Rekor bodies in [`rekor`],
//! proofs in [`merkle`] and its storage trait in [`store`]).

use std::time::{SystemTime, UNIX_EPOCH};
use trust_core::time::UnixTime;

/// The current time, from the system clock (trust-core never reads it; the services do).
pub fn now() -> UnixTime {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    UnixTime::new(i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos())
}

pub mod ca;
pub mod ct;
pub mod keys;
pub mod local;
pub mod log;
pub mod merkle;
mod pki;
pub mod rekor;
pub mod store;
pub mod tsa;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod testutil {
    use super::store::*;
    use std::collections::{BTreeMap, HashMap};
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};
    /// An in-memory store with the same transaction semantics (test only; the durable stores
    /// are in trust-store and run the same log tests there).
    #[derive(Default)]
    pub(crate) struct Mem {
        pub(crate) lock: Arc<tokio::sync::Mutex<()>>,
        pub(crate) data: Arc<Mutex<MemData>>,
        pub(crate) fail_commits: std::sync::atomic::AtomicBool,
    }
    #[derive(Default, Clone)]
    pub(crate) struct MemData {
        pub(crate) leaves: BTreeMap<u64, LogLeaf>,
        pub(crate) nodes: HashMap<NodeId, Hash>,
        pub(crate) checkpoints: BTreeMap<u64, Checkpoint>,
        pub(crate) artifacts: Vec<SignedArtifact>,
    }
    pub(crate) struct MemTx {
        _guard: tokio::sync::OwnedMutexGuard<()>,
        data: Arc<Mutex<MemData>>,
        pending: Option<AppendBatch>,
        fail: bool,
    }
    fn get_nodes(d: &MemData, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
        ids.iter()
            .map(|id| {
                d.nodes
                    .get(id)
                    .copied()
                    .ok_or_else(|| StoreError::Corrupt(format!("{id:?}")))
            })
            .collect()
    }
    impl LogAppend for MemTx {
        async fn tree_size(&mut self) -> StoreResult<u64> {
            Ok(self.data.lock().unwrap().leaves.len() as u64)
        }
        async fn nodes(&mut self, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
            get_nodes(&self.data.lock().unwrap(), ids)
        }
        async fn write(&mut self, batch: AppendBatch) -> StoreResult<()> {
            self.pending = Some(batch);
            Ok(())
        }
        async fn commit(self) -> StoreResult<()> {
            if self.fail {
                return Err(StoreError::Unavailable("disk full".into()));
            }
            let mut d = self.data.lock().unwrap();
            let b = self.pending.unwrap_or_default();
            for l in b.leaves {
                assert!(d.leaves.insert(l.index, l).is_none());
            }
            for (id, h) in b.nodes {
                assert!(d.nodes.insert(id, h).is_none());
            }
            if let Some(cp) = b.checkpoint {
                d.checkpoints.insert(cp.tree_size, cp);
            }
            d.artifacts.extend(b.artifacts);
            Ok(())
        }
    }
    impl LogStore for Mem {
        type Append = MemTx;
        async fn begin_append(&self) -> StoreResult<MemTx> {
            Ok(MemTx {
                _guard: self.lock.clone().lock_owned().await,
                data: self.data.clone(),
                pending: None,
                fail: self.fail_commits.load(std::sync::atomic::Ordering::SeqCst),
            })
        }
        async fn tree_size(&self) -> StoreResult<u64> {
            Ok(self.data.lock().unwrap().leaves.len() as u64)
        }
        async fn nodes(&self, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
            get_nodes(&self.data.lock().unwrap(), ids)
        }
        async fn leaf(&self, index: u64) -> StoreResult<Option<LogLeaf>> {
            Ok(self.data.lock().unwrap().leaves.get(&index).cloned())
        }
        async fn leaf_by_uuid(&self, uuid: &str) -> StoreResult<Option<LogLeaf>> {
            Ok(self
                .data
                .lock()
                .unwrap()
                .leaves
                .values()
                .find(|l| l.uuid == uuid)
                .cloned())
        }
        async fn leaves_by_digest(&self, digest: &str) -> StoreResult<Vec<LogLeaf>> {
            let d = self.data.lock().unwrap();
            Ok(d.leaves
                .values()
                .filter(|l| l.artifact_digest == digest)
                .cloned()
                .collect())
        }
        async fn latest_checkpoint(&self) -> StoreResult<Option<Checkpoint>> {
            Ok(self.data.lock().unwrap().checkpoints.values().last().cloned())
        }
        async fn checkpoint(&self, tree_size: u64) -> StoreResult<Option<Checkpoint>> {
            Ok(self.data.lock().unwrap().checkpoints.get(&tree_size).cloned())
        }
    }

    /// A fresh, empty directory under the system temp dir.
    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let mut suffix = [0u8; 8];
        aws_lc_rs::rand::fill(&mut suffix).unwrap();
        let dir = std::env::temp_dir().join(format!("certus-{name}-{}", hex::encode(suffix)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

/// Writes a CA chain, an issued leaf, a TSA chain, a timestamp response and key files into
/// `$CERTUS_DUMP_DIR`, to be checked by hand with openssl (see docs/decisions.md). Ignored: run
/// with `cargo test -p trust-sigstore dump_for_openssl -- --ignored`.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod openssl_dump {
    use super::ca::{IssueRequest, LocalCa, SignerIdentity};
    use super::ct::CtLog;
    use super::keys::{self, KeyAlgorithm, SigningKey};
    use super::tsa::LocalTsa;
    use trust_core::crypto::{pem_encode, sha256, HashAlgorithm};
    use trust_core::time::UnixTime;

    #[test]
    #[ignore]
    fn dump_for_openssl() {
        let Ok(dir) = std::env::var("CERTUS_DUMP_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let now = UnixTime::from_secs(i64::try_from(secs).unwrap());
        let ca = LocalCa::load_or_create(&dir.join("ca"), Some("pw"), now).unwrap();
        let ct = CtLog::load_or_create(&dir.join("ca/keys/ct.key.pem"), None).unwrap();
        let leaf_key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let issued = ca
            .issue(
                &IssueRequest {
                    public_key_spki_der: leaf_key.public_key_spki_der(),
                    identity: SignerIdentity::Email("alice@example.com".into()),
                    oidc_issuer: "https://accounts.example.com".into(),
                    claims: vec![(9, "https://ci.example.com/build".into())],
                    now,
                },
                &ct,
            )
            .unwrap();
        std::fs::write(dir.join("leaf.pem"), pem_encode("CERTIFICATE", &issued.leaf_der)).unwrap();
        std::fs::write(dir.join("ct.pub.der"), ct.key().public_key_spki_der()).unwrap();
        let tsa = LocalTsa::load_or_create(&dir.join("tsa"), None, now).unwrap();
        std::fs::write(dir.join("artifact"), b"artifact").unwrap();
        let resp = tsa
            .timestamp(HashAlgorithm::Sha256, &sha256(b"artifact"), Some(&[0x12, 0x34]), now)
            .unwrap();
        std::fs::write(dir.join("tsa.resp"), resp).unwrap();
        keys::load_or_create(&dir.join("enc.key.pem"), KeyAlgorithm::EcdsaP384Sha384, Some("pw")).unwrap();
    }
}
