//! The same suite against SQLite and PostgreSQL (see the `suite!` instantiations at the bottom).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use sea_orm::{ConnectionTrait, EntityTrait};
use trust_sigstore::embedded::store::{
    AppendBatch, Checkpoint, Hash, LogAppend, LogLeaf, LogStore, NodeId, SignedArtifact, StoreError,
};
use trust_store::testing::{postgres_url, sqlite_url, TempDir};
use trust_store::{AuditEvent, Error, Store, StoreOpenError, UploadPermission, VerificationRecord};

fn h(tag: u64) -> Hash {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&tag.to_be_bytes());
    out[31] = 0xa5;
    out
}

fn leaf(index: u64, digest: &str) -> LogLeaf {
    LogLeaf {
        index,
        leaf_hash: h(index),
        uuid: format!("{:064x}", index + 0x1000),
        body: format!("{{\"entry\":{index}}}").into_bytes(),
        integrated_time: 1_700_000_000 + index as i64,
        signed_entry_timestamp: vec![0x30, 0x44, index as u8],
        artifact_digest: digest.to_owned(),
    }
}

fn artifact(l: &LogLeaf) -> SignedArtifact {
    SignedArtifact {
        digest: l.artifact_digest.clone(),
        artifact_type: Some("container-image".into()),
        subject: l.index.is_multiple_of(2).then(|| format!("subject-{}", l.index)),
        predicate_type: None,
        signer_identity: "ci@example.com".into(),
        signer_issuer: "https://issuer.example".into(),
        bundle: format!("{{\"bundle\":{}}}", l.index),
        log_index: l.index,
        entry_uuid: l.uuid.clone(),
        created: 1_700_000_100,
    }
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        tree_size: size,
        root_hash: h(1_000_000 + size),
        note: format!("certus-trust log\n{size}\nroot\n\n— sig\n"),
        created: 1_700_000_000 + size as i64,
    }
}

/// Leaves `[from, to)`, their level-0 nodes, every higher node they complete, and a checkpoint.
fn batch(from: u64, to: u64, digest_of: impl Fn(u64) -> String) -> AppendBatch {
    let leaves: Vec<LogLeaf> = (from..to).map(|i| leaf(i, &digest_of(i))).collect();
    let mut nodes = Vec::new();
    for i in from..to {
        // Leaf i completes the node of level l covering it when (i + 1) is a multiple of 2^l.
        let mut level = 0u8;
        while (i + 1).is_multiple_of(1u64 << level) {
            let id = NodeId {
                level,
                index: i >> level,
            };
            nodes.push((id, node_hash(id)));
            level += 1;
        }
    }
    AppendBatch {
        artifacts: leaves.iter().map(artifact).collect(),
        leaves,
        nodes,
        checkpoint: Some(checkpoint(to)),
    }
}

fn node_hash(id: NodeId) -> Hash {
    h(((id.level as u64) << 48) | id.index)
}

const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

async fn append(store: &Store, b: AppendBatch) {
    let mut tx = store.begin_append().await.unwrap();
    tx.write(b).await.unwrap();
    tx.commit().await.unwrap();
}

pub async fn migrations_idempotent(url: &str) {
    let store = Store::open(url).await.unwrap();
    let applied = store.applied_migrations().await.unwrap();
    assert_eq!(applied, trust_store::migration::known_migrations());
    assert_eq!(store.tree_size().await.unwrap(), 0);
    append(&store, batch(0, 2, |_| DIGEST_A.into())).await;
    store.close().await.unwrap();

    // Second open: no migration re-runs (the initial one inserts the log_state row, which would
    // conflict), nothing is lost.
    let again = Store::open(url).await.unwrap();
    assert_eq!(again.applied_migrations().await.unwrap(), applied);
    assert_eq!(again.tree_size().await.unwrap(), 2);
    assert_eq!(again.leaves_by_digest(DIGEST_A).await.unwrap().len(), 2);
    let third = Store::open(url).await.unwrap();
    assert_eq!(third.tree_size().await.unwrap(), 2);
}

pub async fn concurrent_first_opens(url: &str) {
    // Four processes' worth of first opens on an empty database: the schema lock lets one
    // migrate; the others wait, then find nothing to do.
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.to_owned();
            tokio::spawn(async move { Store::open(&url).await })
        })
        .collect();
    for open in opens {
        let store = open.await.unwrap().unwrap();
        assert_eq!(
            store.applied_migrations().await.unwrap(),
            trust_store::migration::known_migrations()
        );
        assert_eq!(store.tree_size().await.unwrap(), 0);
    }
}

pub async fn schema_too_new_is_refused(url: &str) {
    let store = Store::open(url).await.unwrap();
    store.close().await.unwrap();
    let db = sea_orm::Database::connect(url).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000001_from_the_future', 0)",
    )
    .await
    .unwrap();
    db.close().await.unwrap();

    let err = Store::open(url).await.unwrap_err();
    assert_eq!(err.code(), "store.schema_too_new", "{err}");
    match &err {
        StoreOpenError::SchemaTooNew { unknown, .. } => {
            assert_eq!(unknown, &["m29991231_000001_from_the_future".to_owned()])
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(err.to_string().contains("m29991231_000001_from_the_future"), "{err}");
}

pub async fn append_and_read_back(url: &str) {
    let store = Store::open(url).await.unwrap();
    assert_eq!(store.latest_checkpoint().await.unwrap(), None);

    // Batch 1: leaves 0..3 (0 and 1 for A, 2 for B).
    let b1 = batch(0, 3, |i| if i < 2 { DIGEST_A.into() } else { DIGEST_B.into() });
    let mut tx = store.begin_append().await.unwrap();
    assert_eq!(tx.tree_size().await.unwrap(), 0);
    tx.write(b1.clone()).await.unwrap();
    tx.commit().await.unwrap();

    // Batch 2: leaves 3..5 (3 for A, 4 for B); reads the right edge under the lock first.
    let mut tx = store.begin_append().await.unwrap();
    assert_eq!(tx.tree_size().await.unwrap(), 3);
    let edge = [NodeId { level: 1, index: 0 }, NodeId { level: 0, index: 2 }];
    assert_eq!(
        tx.nodes(&edge).await.unwrap(),
        vec![node_hash(edge[0]), node_hash(edge[1])]
    );
    // A batch whose first index is not the size is refused.
    let wrong = batch(4, 5, |_| DIGEST_A.into());
    assert!(tx.write(wrong).await.is_err());
    drop(tx);
    let mut tx = store.begin_append().await.unwrap();
    let b2 = batch(3, 5, |i| if i == 3 { DIGEST_A.into() } else { DIGEST_B.into() });
    tx.write(b2.clone()).await.unwrap();
    assert_eq!(tx.tree_size().await.unwrap(), 5);
    tx.commit().await.unwrap();

    assert_eq!(store.tree_size().await.unwrap(), 5);
    for l in b1.leaves.iter().chain(&b2.leaves) {
        assert_eq!(store.leaf(l.index).await.unwrap().as_ref(), Some(l));
        assert_eq!(store.leaf_by_uuid(&l.uuid).await.unwrap().as_ref(), Some(l));
    }
    assert_eq!(store.leaf(5).await.unwrap(), None);
    assert_eq!(store.leaf(u64::MAX).await.unwrap(), None);
    assert_eq!(store.leaf_by_uuid(&"0".repeat(64)).await.unwrap(), None);

    let a: Vec<u64> = store
        .leaves_by_digest(DIGEST_A)
        .await
        .unwrap()
        .iter()
        .map(|l| l.index)
        .collect();
    assert_eq!(a, vec![0, 1, 3]);
    let b: Vec<u64> = store
        .leaves_by_digest(DIGEST_B)
        .await
        .unwrap()
        .iter()
        .map(|l| l.index)
        .collect();
    assert_eq!(b, vec![2, 4]);
    assert!(store.leaves_by_digest("sha256:00").await.unwrap().is_empty());

    // Nodes come back in the order asked, across levels, duplicates included.
    let ids = [
        NodeId { level: 0, index: 4 },
        NodeId { level: 2, index: 0 },
        NodeId { level: 0, index: 0 },
        NodeId { level: 1, index: 1 },
        NodeId { level: 0, index: 4 },
    ];
    let want: Vec<Hash> = ids.iter().map(|&id| node_hash(id)).collect();
    assert_eq!(store.nodes(&ids).await.unwrap(), want);
    assert!(store.nodes(&[]).await.unwrap().is_empty());
    // Level 1 index 2 (leaves 4..6) is not complete at size 5: missing means corrupt.
    let missing = store
        .nodes(&[NodeId { level: 0, index: 1 }, NodeId { level: 1, index: 2 }])
        .await;
    assert!(
        matches!(missing, Err(StoreError::Corrupt(ref m)) if m.contains("level 1, index 2")),
        "{missing:?}"
    );

    assert_eq!(store.latest_checkpoint().await.unwrap(), Some(checkpoint(5)));
    assert_eq!(store.checkpoint(3).await.unwrap(), Some(checkpoint(3)));
    assert_eq!(store.checkpoint(4).await.unwrap(), None);

    // The signing records were committed with their entries.
    let recs = store.signed_artifacts_by_digest(DIGEST_A).await.unwrap();
    assert_eq!(recs.iter().map(|r| r.log_index).collect::<Vec<_>>(), vec![0, 1, 3]);
    assert_eq!(recs[0], artifact(&b1.leaves[0]));
    let by_uuid = store.signed_artifacts_by_entry_uuid(&b2.leaves[1].uuid).await.unwrap();
    assert_eq!(by_uuid, vec![artifact(&b2.leaves[1])]);
    // Inserted outside an append too.
    let mut extra = artifact(&b2.leaves[1]);
    extra.created += 1;
    store.insert_signed_artifact(&extra).await.unwrap();
    assert_eq!(
        store
            .signed_artifacts_by_entry_uuid(&extra.entry_uuid)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn large_batch_is_chunked(url: &str) {
    let store = Store::open(url).await.unwrap();
    // 10000 leaves: 70000 leaf parameters and ~60000 node parameters, over one statement's
    // limit on both backends (SQLite 32766, PostgreSQL 65535).
    let b = batch(
        0,
        10_000,
        |i| if i % 3 == 0 { DIGEST_A.into() } else { DIGEST_B.into() },
    );
    let node_ids: Vec<NodeId> = b.nodes.iter().rev().map(|(id, _)| *id).collect();
    append(&store, b).await;
    assert_eq!(store.tree_size().await.unwrap(), 10_000);
    let got = store.nodes(&node_ids).await.unwrap();
    assert_eq!(got, node_ids.iter().map(|&id| node_hash(id)).collect::<Vec<_>>());
    assert_eq!(store.leaves_by_digest(DIGEST_A).await.unwrap().len(), 3334);
    assert_eq!(store.signed_artifacts_by_digest(DIGEST_B).await.unwrap().len(), 6666);
}

pub async fn uncommitted_append_rolls_back(url: &str) {
    let store = Store::open(url).await.unwrap();
    append(&store, batch(0, 1, |_| DIGEST_A.into())).await;
    {
        let mut tx = store.begin_append().await.unwrap();
        tx.write(batch(1, 4, |_| DIGEST_A.into())).await.unwrap();
        // dropped without commit
    }
    assert_eq!(store.tree_size().await.unwrap(), 1);
    assert_eq!(store.leaf(1).await.unwrap(), None);
    assert_eq!(store.leaves_by_digest(DIGEST_A).await.unwrap().len(), 1);
    assert_eq!(store.latest_checkpoint().await.unwrap(), Some(checkpoint(1)));
    assert_eq!(store.signed_artifacts_by_digest(DIGEST_A).await.unwrap().len(), 1);
    assert!(store.nodes(&[NodeId { level: 0, index: 1 }]).await.is_err());
    // The lock was released: the same indices can be appended now.
    let mut tx = tokio::time::timeout(Duration::from_secs(10), store.begin_append())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tx.tree_size().await.unwrap(), 1);
    tx.write(batch(1, 4, |_| DIGEST_A.into())).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.tree_size().await.unwrap(), 4);
}

pub async fn append_lock_blocks_second_appender(url: &str) {
    let first = Store::open(url).await.unwrap();
    let second = Store::open(url).await.unwrap();
    let mut held = first.begin_append().await.unwrap();
    assert_eq!(held.tree_size().await.unwrap(), 0);
    let waiter = tokio::spawn(async move {
        let mut tx = second.begin_append().await.unwrap();
        let size = tx.tree_size().await.unwrap();
        tx.write(batch(size, size + 1, |_| DIGEST_B.into())).await.unwrap();
        tx.commit().await.unwrap();
        size
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiter.is_finished(),
        "a second appender got the lock while the first held it"
    );
    held.write(batch(0, 2, |_| DIGEST_A.into())).await.unwrap();
    held.commit().await.unwrap();
    // The waiter read the size only after the first commit.
    assert_eq!(waiter.await.unwrap(), 2);
    assert_eq!(first.tree_size().await.unwrap(), 3);
}

pub async fn concurrent_appenders(url: &str) {
    const PER_TASK: u64 = 40;
    let stores = [Store::open(url).await.unwrap(), Store::open(url).await.unwrap()];
    let mut tasks = Vec::new();
    for (t, store) in stores.iter().cloned().enumerate() {
        tasks.push(tokio::spawn(async move {
            let digest = format!("sha256:{:064x}", t);
            let mut mine = Vec::new();
            for _ in 0..PER_TASK {
                let mut tx = store.begin_append().await.unwrap();
                let size = tx.tree_size().await.unwrap();
                let l = leaf(size, &digest);
                tx.write(AppendBatch {
                    nodes: vec![(NodeId { level: 0, index: size }, l.leaf_hash)],
                    artifacts: vec![artifact(&l)],
                    leaves: vec![l],
                    checkpoint: Some(checkpoint(size + 1)),
                })
                .await
                .unwrap();
                tx.commit().await.unwrap();
                mine.push(size);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        assert_eq!(mine.len() as u64, PER_TASK);
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
        all.extend(mine);
    }
    all.sort();
    assert_eq!(all, (0..2 * PER_TASK).collect::<Vec<_>>(), "duplicate or gap");
    let store = &stores[0];
    assert_eq!(store.tree_size().await.unwrap(), 2 * PER_TASK);
    for i in 0..2 * PER_TASK {
        assert_eq!(store.leaf(i).await.unwrap().unwrap().index, i);
    }
    for t in 0..2 {
        let digest = format!("sha256:{:064x}", t);
        assert_eq!(store.leaves_by_digest(&digest).await.unwrap().len() as u64, PER_TASK);
    }
    assert_eq!(
        store.latest_checkpoint().await.unwrap().unwrap().tree_size,
        2 * PER_TASK
    );
}

pub async fn api_keys(url: &str) {
    let store = Store::open(url).await.unwrap();
    let scopes = vec!["sign".to_owned(), "verify".to_owned()];
    let key = store.create_api_key("ci", &scopes, 100).await.unwrap();
    assert!(key.secret.starts_with(trust_store::API_KEY_PREFIX));
    assert_eq!(key.secret.len(), 4 + 64);
    assert!(key.secret.starts_with(&key.info.prefix));
    assert!(!format!("{key:?}").contains(&key.secret));

    let ok = store.verify_api_key(&key.secret).await.unwrap().expect("valid key");
    assert_eq!(ok, key.info);
    assert_eq!(ok.scopes, scopes);

    // One character changed (after the prefix), truncated, empty, another key's: all refused.
    let mut tampered = key.secret.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        store
            .verify_api_key(std::str::from_utf8(&tampered).unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.verify_api_key(&key.secret[..key.secret.len() - 1]).await.unwrap(),
        None
    );
    assert_eq!(store.verify_api_key("").await.unwrap(), None);
    let other = store.create_api_key("other", &[], 100).await.unwrap();
    assert_ne!(other.secret, key.secret);
    assert_eq!(
        store.verify_api_key(&other.secret).await.unwrap().unwrap().name,
        "other"
    );

    // Only the SHA-256 of the secret is stored.
    let rows = trust_store::entity::api_keys::Entity::find()
        .all(&sea_orm::Database::connect(url).await.unwrap())
        .await
        .unwrap();
    let row = rows.iter().find(|r| r.name == "ci").unwrap();
    let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.secret.as_bytes());
    assert_eq!(row.key_hash, sha.as_ref());
    assert!(!format!("{row:?}").contains(&key.secret[DISPLAY_LEN..]));

    // Names are unique.
    let dup = store.create_api_key("ci", &[], 101).await.unwrap_err();
    assert_eq!(dup.code(), "store.conflict", "{dup}");

    store.revoke_api_key("ci", 200).await.unwrap();
    assert_eq!(store.verify_api_key(&key.secret).await.unwrap(), None);
    store.revoke_api_key("ci", 300).await.unwrap();
    let listed = store.list_api_keys().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|k| (k.name.as_str(), k.revoked_at))
            .collect::<Vec<_>>(),
        vec![("ci", Some(200)), ("other", None)]
    );
    let missing = store.revoke_api_key("nope", 1).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)));
    assert_eq!(missing.code(), "store.not_found");
}

const DISPLAY_LEN: usize = 12;

pub async fn records_round_trip(url: &str) {
    let store = Store::open(url).await.unwrap();

    let ok = VerificationRecord {
        artifact_digest: DIGEST_A.into(),
        valid: true,
        signer: Some("ci@example.com".into()),
        issuer: Some("https://issuer.example".into()),
        error_codes: vec![],
        log_index: Some(7),
        request_id: Some("req-1".into()),
        created: 10,
    };
    let bad = VerificationRecord {
        valid: false,
        signer: None,
        issuer: None,
        error_codes: vec!["tlog.inclusion_proof_mismatch".into(), "cert.identity_mismatch".into()],
        log_index: None,
        request_id: None,
        created: 11,
        ..ok.clone()
    };
    let id1 = store.insert_verification_record(&ok).await.unwrap();
    let id2 = store.insert_verification_record(&bad).await.unwrap();
    assert!(id2 > id1);
    assert_eq!(
        store.verification_records_by_digest(DIGEST_A).await.unwrap(),
        vec![ok, bad]
    );
    assert!(store.verification_records_by_digest(DIGEST_B).await.unwrap().is_empty());

    let permission = UploadPermission {
        id: "5f0c2a8e-1111-4c4c-9a9a-000000000001".into(),
        scan_id: "scan-42".into(),
        permitted: true,
        reason: "policy default: inner signer trusted".into(),
        inner_signer_identity: Some("scanner@example.com".into()),
        inner_signer_issuer: Some("https://issuer.example".into()),
        artifacts_json: r#"[{"digest":"sha256:aa"}]"#.into(),
        destination_json: r#"{"registry":"r.example"}"#.into(),
        inner_entry_uuid: Some("ab".repeat(32)),
        inner_entry_index: Some(3),
        outer_entry_uuid: Some("cd".repeat(32)),
        outer_bundle: Some("{}".into()),
        expires_at: 2_000_000_000,
        created: 1_700_000_000,
    };
    store.insert_upload_permission(&permission).await.unwrap();
    assert_eq!(
        store.upload_permission(&permission.id).await.unwrap(),
        Some(permission.clone())
    );
    assert_eq!(store.upload_permission("nope").await.unwrap(), None);
    let denied = UploadPermission {
        permitted: false,
        ..permission.clone()
    };
    let dup = store.insert_upload_permission(&denied).await.unwrap_err();
    assert_eq!(dup.code(), "store.conflict", "{dup}");
    assert_eq!(store.upload_permission(&permission.id).await.unwrap(), Some(permission));

    let events: Vec<AuditEvent> = (0..3)
        .map(|i| AuditEvent {
            time: 100 + i,
            actor: format!("key-{i}"),
            action: "sign".into(),
            target: DIGEST_A.into(),
            outcome: if i == 1 { "denied".into() } else { "success".into() },
            detail_json: format!("{{\"i\":{i}}}"),
            request_id: (i != 2).then(|| format!("req-{i}")),
        })
        .collect();
    for e in &events {
        store.append_audit_event(e).await.unwrap();
    }
    let recent = store.recent_audit_events(2).await.unwrap();
    assert_eq!(
        recent.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
        vec![events[2].clone(), events[1].clone()]
    );
    assert!(recent[0].id > recent[1].id);
}

type Target = (String, Option<TempDir>);

fn sqlite() -> Target {
    let dir = TempDir::new();
    (sqlite_url(dir.path()), Some(dir))
}

fn postgres() -> Target {
    (postgres_url(), None)
}

macro_rules! suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let (url, _dir) = $make;
                        super::$name(&url).await;
                    }
                };
            }
            case!(migrations_idempotent);
            case!(concurrent_first_opens);
            case!(schema_too_new_is_refused);
            case!(append_and_read_back);
            case!(large_batch_is_chunked);
            case!(uncommitted_append_rolls_back);
            case!(append_lock_blocks_second_appender);
            case!(concurrent_appenders);
            case!(api_keys);
            case!(records_round_trip);
        }
    };
}

suite!(sqlite, super::sqlite());
suite!(postgres, super::postgres());

#[tokio::test]
async fn plain_path_opens_sqlite_in_wal_mode() {
    let dir = TempDir::new();
    let path = dir.path().join("plain.db");
    let store = Store::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(store.backend(), trust_store::Backend::Sqlite);
    assert!(path.is_file());
    let db = sea_orm::Database::connect(format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA journal_mode",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "wal");
}

#[tokio::test]
async fn bad_urls_are_refused_without_leaking_passwords() {
    let err = Store::open("mysql://root:hunter2@db.example/certus").await.unwrap_err();
    assert_eq!(err.code(), "store.invalid_url");
    assert!(err.to_string().contains("mysql"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    // Port 1 on loopback: nothing listens there.
    let err = Store::open("postgres://certus:hunter2@127.0.0.1:1/certus")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store.unavailable", "{err}");
    let msg = err.to_string();
    assert!(msg.contains("postgres://certus@127.0.0.1:1/certus"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(!format!("{err:?}").contains("hunter2"));

    let err = Store::open("").await.unwrap_err();
    assert_eq!(err.code(), "store.invalid_url");
}
