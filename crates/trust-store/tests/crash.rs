//! Crash safety of the embedded log on both backends: a child process signs in a stream (16
//! concurrent signers, batched commits) and prints every acknowledgement; the test SIGKILLs it
//! mid-stream, reopens the store and checks that every acknowledged entry and its signing record
//! are there, that the tree is consistent with every checkpoint handed out before the crash, and
//! that the log keeps appending.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trust_core::crypto::{sha256, Digest, HashAlgorithm};
use trust_core::tlog::{leaf_hash, verify_consistency, verify_inclusion};
use trust_sigstore::embedded::local::{self, InitOptions, LocalSigstore, SignContent, SignRequest};
use trust_sigstore::embedded::store::LogStore;
use trust_store::testing::{postgres_url, sqlite_url, TempDir};
use trust_store::Store;

const URL_ENV: &str = "CERTUS_CRASH_CHILD_URL";
const DIR_ENV: &str = "CERTUS_CRASH_CHILD_DIR";
const ACKS_BEFORE_KILL: usize = 300;

fn request(n: u64) -> SignRequest {
    SignRequest {
        artifact: Digest::new(HashAlgorithm::Sha256, &sha256(&n.to_be_bytes())).unwrap(),
        content: SignContent::Digest,
        artifact_type: None,
        subject: Some(format!("artifact-{n}")),
        timestamp: false,
        identity: None,
    }
}

/// The child: signs forever with 16 concurrent signers, printing one line per acknowledged
/// signing: `ACK <index> <tree size> <root hex> <leaf hash hex>`. Only runs when spawned by
/// the tests below (ignored otherwise).
#[test]
#[ignore = "child process of the crash tests; spawned by them"]
fn crash_child() {
    let (Ok(url), Ok(dir)) = (std::env::var(URL_ENV), std::env::var(DIR_ENV)) else {
        panic!("crash_child is spawned by the crash tests with {URL_ENV} and {DIR_ENV}");
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = Arc::new(Store::open(&url).await.unwrap());
        let local = Arc::new(LocalSigstore::open(Path::new(&dir), store, None, 64).unwrap());
        let mut tasks = Vec::new();
        for worker in 0..16u64 {
            let local = local.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let s = local.sign(request(worker << 32 | n)).await.unwrap();
                    let p = &s.entry.inclusion_proof;
                    println!(
                        "ACK {} {} {} {}",
                        s.entry.leaf.index,
                        p.tree_size,
                        hex(&p.root_hash),
                        hex(&s.entry.leaf.leaf_hash)
                    );
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct Ack {
    index: u64,
    tree_size: u64,
    root: String,
    leaf: String,
}

fn parse(line: &str) -> Option<Ack> {
    let mut f = line.strip_prefix("ACK ")?.split(' ');
    Some(Ack {
        index: f.next()?.parse().ok()?,
        tree_size: f.next()?.parse().ok()?,
        root: f.next()?.to_owned(),
        leaf: f.next()?.to_owned(),
    })
}

fn crash_and_recover(url: &str) {
    let tmp = TempDir::new();
    let dir = tmp.path().join("data");
    local::init(&dir, &InitOptions::default(), None).unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(URL_ENV, url)
        .env(DIR_ENV, &dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acks = Vec::new();
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acks.len() < ACKS_BEFORE_KILL {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "child too slow: {} acks",
            acks.len()
        );
        let line = lines.next().expect("child exited early").unwrap();
        if let Some(a) = parse(&line) {
            acks.push(a);
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-stream: other signings are in flight.
    child.wait().unwrap();
    // Acknowledgements printed after the last one we read count too (the pipe may hold more).
    acks.extend(lines.map_while(Result::ok).filter_map(|l| parse(&l)));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Arc::new(Store::open(url).await.unwrap());
        let size = store.tree_size().await.unwrap();
        let latest = store.latest_checkpoint().await.unwrap().unwrap();
        assert_eq!(latest.tree_size, size);
        let local = LocalSigstore::open(&dir, store.clone(), None, 64).unwrap();

        // Every acknowledged entry is there, with its record, and proves into the latest tree.
        for a in &acks {
            let leaf = store.leaf(a.index).await.unwrap().expect("acknowledged entry lost");
            assert_eq!(hex(&leaf.leaf_hash), a.leaf);
            assert_eq!(leaf_hash(&leaf.body), leaf.leaf_hash);
            let records = store.signed_artifacts_by_entry_uuid(&leaf.uuid).await.unwrap();
            assert_eq!(records.len(), 1, "record of entry {} lost", a.index);
            let p = local.log().inclusion_proof(a.index, None).await.unwrap();
            verify_inclusion(a.index, p.tree_size, &leaf.leaf_hash, &p.hashes, &latest.root_hash).unwrap();
        }
        // Every handed-out checkpoint is stored as handed out, and the tree extends it.
        let handed_out: BTreeMap<u64, String> = acks.iter().map(|a| (a.tree_size, a.root.clone())).collect();
        for (&old, root) in &handed_out {
            let cp = store
                .checkpoint(old)
                .await
                .unwrap()
                .expect("handed-out checkpoint lost");
            assert_eq!(&hex(&cp.root_hash), root);
            let proof = local.log().consistency_proof(old, size).await.unwrap();
            verify_consistency(old, size, &cp.root_hash, &latest.root_hash, &proof).unwrap();
        }
        // No gap: indices 0..size are all present.
        for i in 0..size {
            assert!(store.leaf(i).await.unwrap().is_some(), "gap at {i}");
        }
        // And the log keeps appending where it stopped.
        for n in 0..5 {
            let s = local.sign(request(1 << 60 | n)).await.unwrap();
            assert_eq!(s.entry.leaf.index, size + n);
            let proof = local
                .log()
                .consistency_proof(size, s.entry.inclusion_proof.tree_size)
                .await
                .unwrap();
            verify_consistency(
                size,
                s.entry.inclusion_proof.tree_size,
                &latest.root_hash,
                &s.entry.inclusion_proof.root_hash,
                &proof,
            )
            .unwrap();
        }
    });
}

#[test]
fn sigkill_mid_stream_loses_nothing_acknowledged_sqlite() {
    let tmp = TempDir::new();
    crash_and_recover(&sqlite_url(tmp.path()));
}

#[test]
fn sigkill_mid_stream_loses_nothing_acknowledged_postgres() {
    crash_and_recover(&postgres_url());
}
