//! The embedded log on each backend with several writers: two `LocalSigstore`s (as two server
//! processes would be) on one database, signing concurrently. Every entry gets a unique index,
//! every proof verifies against its checkpoint, and later proofs verify against the final tree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use trust_core::crypto::{sha256, Digest, HashAlgorithm};
use trust_core::tlog::{verify_consistency, verify_inclusion};
use trust_sigstore::embedded::local::{self, InitOptions, LocalSigstore, SignContent, SignRequest};
use trust_sigstore::embedded::store::LogStore;
use trust_store::testing::{postgres_url, sqlite_url, TempDir};
use trust_store::Store;

fn request(n: u64) -> SignRequest {
    SignRequest {
        artifact: Digest::new(HashAlgorithm::Sha256, &sha256(&n.to_be_bytes())).unwrap(),
        content: SignContent::Digest,
        artifact_type: Some("blob".into()),
        subject: None,
        timestamp: false,
        identity: None,
    }
}

async fn two_writers(url: &str) {
    let tmp = TempDir::new();
    let dir = tmp.path().join("data");
    local::init(&dir, &InitOptions::default(), None).unwrap();
    let writers: Vec<_> = [0, 1]
        .into_iter()
        .map(|_| {
            let dir = dir.clone();
            let url = url.to_owned();
            async move {
                let store = Arc::new(Store::open(&url).await.unwrap());
                Arc::new(LocalSigstore::open(&dir, store, None, 32).unwrap())
            }
        })
        .collect();
    let mut locals = Vec::new();
    for w in writers {
        locals.push(w.await);
    }
    let mut tasks = Vec::new();
    for n in 0..120u64 {
        let local = locals[(n % 2) as usize].clone();
        tasks.push(tokio::spawn(async move { local.sign(request(n)).await.unwrap() }));
    }
    let mut signed = Vec::new();
    for t in tasks {
        signed.push(t.await.unwrap());
    }
    let mut indices: Vec<u64> = signed.iter().map(|s| s.entry.leaf.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..120).collect::<Vec<_>>());

    let store = locals[0].log().store().clone();
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest.tree_size, 120);
    for s in &signed {
        let p = &s.entry.inclusion_proof;
        verify_inclusion(
            p.log_index,
            p.tree_size,
            &s.entry.leaf.leaf_hash,
            &p.hashes,
            &p.root_hash,
        )
        .unwrap();
        let stored = store.checkpoint(p.tree_size).await.unwrap().unwrap();
        assert_eq!(
            stored.root_hash, p.root_hash,
            "checkpoint handed out differs from the stored one"
        );
        let c = locals[1].log().consistency_proof(p.tree_size, 120).await.unwrap();
        verify_consistency(p.tree_size, 120, &p.root_hash, &latest.root_hash, &c).unwrap();
        let now = locals[1].log().inclusion_proof(p.log_index, None).await.unwrap();
        verify_inclusion(
            p.log_index,
            120,
            &s.entry.leaf.leaf_hash,
            &now.hashes,
            &latest.root_hash,
        )
        .unwrap();
    }
    // Every signing has its record, findable by digest.
    for s in signed.iter().take(10) {
        let by_uuid = store.signed_artifacts_by_entry_uuid(&s.entry.leaf.uuid).await.unwrap();
        assert_eq!(by_uuid.len(), 1);
        assert_eq!(by_uuid[0].log_index, s.entry.leaf.index);
        assert_eq!(by_uuid[0].artifact_type.as_deref(), Some("blob"));
        assert_eq!(store.leaves_by_digest(&by_uuid[0].digest).await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_share_one_log_sqlite() {
    let tmp = TempDir::new();
    two_writers(&sqlite_url(tmp.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_share_one_log_postgres() {
    two_writers(&postgres_url()).await;
}

/// Identical entries racing into one batch: one is logged, the other is refused as a duplicate,
/// and the unrelated entries of the same batch are logged (a duplicate must not fail its batch
/// on the store's unique index).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_in_a_batch_fails_alone_sqlite() {
    use trust_sigstore::embedded::log::{LogError, NewEntry};
    use trust_sigstore::embedded::rekor::EntryKind;
    let tmp = TempDir::new();
    let dir = tmp.path().join("data");
    local::init(&dir, &InitOptions::default(), None).unwrap();
    let store = Arc::new(Store::open(&sqlite_url(tmp.path())).await.unwrap());
    let local = Arc::new(LocalSigstore::open(&dir, store.clone(), None, 32).unwrap());
    let entry = |body: &str| NewEntry {
        kind: EntryKind::HashedRekord,
        body: body.as_bytes().to_vec(),
        artifact_digest: "sha256:00".into(),
        record: None,
    };
    let appends: Vec<_> = ["same", "same", "other-1", "other-2"]
        .into_iter()
        .map(|b| {
            let local = local.clone();
            let e = entry(b);
            tokio::spawn(async move { local.log().append(e).await })
        })
        .collect();
    let mut results = Vec::new();
    for a in appends {
        results.push(a.await.unwrap());
    }
    let dup = results
        .iter()
        .filter(|r| matches!(r, Err(LogError::Duplicate(_))))
        .count();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!((ok, dup), (3, 1), "{results:?}");
    assert_eq!(store.tree_size().await.unwrap(), 3);
}
