//! Benchmarks of the embedded (local-mode) Sigstore services, in memory (numbers in
//! docs/performance.md, "Embedded Sigstore (local mode)"; the store-backed log and full signing
//! are benched in `crates/trust-store/benches/log.rs`).
//!
//! - `ca`: `LocalCa::issue` of a 10-minute leaf for a fresh P-256 key, SCT from the embedded CT
//!   log included (two P-256 signatures: SCT over the precertificate TBS, then the certificate).
//!   Also the ephemeral-key generation `LocalSigstore::sign` does before it.
//! - `tsa`: `LocalTsa::timestamp` of a SHA-256 digest (one signature with the P-256 TSA key,
//!   CMS encoding).
//! - `log_signing`: what the log signs per append: one SET per entry and one checkpoint note per
//!   batch (P-256 log key), with the canonical JSON of the SET payload.
//! - `merkle`: `merkle::append` of a batch to a tree of about a million leaves (the in-memory
//!   part of a log commit), and proof planning (inclusion and consistency plans at 1M and 10M
//!   leaves, plan + resolve from a node map).
//!
//! Run: `cargo bench -p trust-sigstore --bench embedded -- --warm-up-time 1 --measurement-time 5`.

// Setup failures in a benchmark are bugs in the benchmark: panicking is the right response.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use trust_core::crypto::{sha256, Digest, HashAlgorithm};
use trust_core::time::UnixTime;
use trust_sigstore::embedded::ca::{IssueRequest, LocalCa, SignerIdentity};
use trust_sigstore::embedded::ct::CtLog;
use trust_sigstore::embedded::keys::{KeyAlgorithm, SigningKey};
use trust_sigstore::embedded::merkle::{self, ProofPlan};
use trust_sigstore::embedded::rekor;
use trust_sigstore::embedded::store::{Hash, NodeId};
use trust_sigstore::embedded::tsa::LocalTsa;

/// A temp directory removed on drop (the CA and TSA write their keys and certificates).
struct Tmp(PathBuf);

impl Tmp {
    fn new(name: &str) -> Tmp {
        let mut suffix = [0u8; 8];
        aws_lc_rs::rand::fill(&mut suffix).unwrap();
        let dir = std::env::temp_dir().join(format!("certus-bench-{name}-{}", hex(&suffix)));
        std::fs::create_dir_all(&dir).unwrap();
        Tmp(dir)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> UnixTime {
    trust_sigstore::embedded::now()
}

fn bench_ca(c: &mut Criterion) {
    let tmp = Tmp::new("ca");
    let now = now();
    let ca = LocalCa::load_or_create(&tmp.0, None, now).unwrap();
    let ct = CtLog::new(SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap()).unwrap();
    let leaf_key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let mut group = c.benchmark_group("ca");
    group.throughput(Throughput::Elements(1));
    group.bench_function("issue_with_sct", |b| {
        b.iter(|| {
            ca.issue(
                &IssueRequest {
                    public_key_spki_der: leaf_key.public_key_spki_der(),
                    identity: SignerIdentity::Email("ci@example.com".into()),
                    oidc_issuer: "https://certus-trust.localhost".into(),
                    claims: Vec::new(),
                    now,
                },
                black_box(&ct),
            )
            .unwrap()
        })
    });
    group.bench_function("ephemeral_key_p256", |b| {
        b.iter(|| SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap())
    });
    group.finish();
}

fn bench_tsa(c: &mut Criterion) {
    let tmp = Tmp::new("tsa");
    let now = now();
    let tsa = LocalTsa::load_or_create(&tmp.0, None, now).unwrap();
    let digest = sha256(b"a signature to timestamp");
    let mut group = c.benchmark_group("tsa");
    group.throughput(Throughput::Elements(1));
    group.bench_function("timestamp_sha256", |b| {
        b.iter(|| {
            tsa.timestamp(HashAlgorithm::Sha256, black_box(&digest), None, now)
                .unwrap()
        })
    });
    group.finish();
}

/// A hashedrekord body as the local signer writes it: a P-256 signature and a PEM certificate
/// from the embedded CA (about 1.3 KB).
fn realistic_body() -> Vec<u8> {
    let tmp = Tmp::new("body");
    let now = now();
    let ca = LocalCa::load_or_create(&tmp.0, None, now).unwrap();
    let ct = CtLog::new(SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap()).unwrap();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let issued = ca
        .issue(
            &IssueRequest {
                public_key_spki_der: key.public_key_spki_der(),
                identity: SignerIdentity::Email("ci@example.com".into()),
                oidc_issuer: "https://certus-trust.localhost".into(),
                claims: Vec::new(),
                now,
            },
            &ct,
        )
        .unwrap();
    let pem = trust_core::crypto::pem_encode("CERTIFICATE", &issued.leaf_der);
    let digest = Digest::new(HashAlgorithm::Sha256, &sha256(b"artifact")).unwrap();
    let sig = key.sign_digest(&digest).unwrap();
    rekor::hashedrekord_v001(&digest, &sig, &pem)
}

fn bench_log_signing(c: &mut Criterion) {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let log_id = key.key_id();
    let body = realistic_body();
    let mut group = c.benchmark_group("log_signing");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("set_payload_and_sign/{}B_body", body.len()), |b| {
        b.iter(|| {
            let payload = rekor::set_payload(black_box(&body), 1_800_000_000, &log_id, 123_456);
            key.sign(&payload).unwrap()
        })
    });
    group.bench_function("set_payload_only", |b| {
        b.iter(|| rekor::set_payload(black_box(&body), 1_800_000_000, &log_id, 123_456))
    });
    // The checkpoint note body as the log signs it (origin, size, base64 root).
    let note = format!(
        "127.0.0.1:8888 - 4242\n1000000\n{}\n",
        "x2ZqH2m1cCjG3cW4t1f8w2i5iVq0Yb0a4X3cGgS7Y5E="
    );
    group.bench_function("checkpoint_sign", |b| {
        b.iter(|| key.sign(black_box(note.as_bytes())).unwrap())
    });
    group.bench_function("leaf_hash", |b| {
        b.iter(|| trust_core::tlog::leaf_hash(black_box(&body)))
    });
    group.finish();
}

fn leaf(i: u64) -> Hash {
    trust_core::tlog::leaf_hash(&i.to_be_bytes())
}

/// The frontier hashes of a tree of `size` leaves, computed from fake leaf hashes without holding
/// the tree (each perfect subtree from its leaves, recursively).
fn frontier_hashes(size: u64) -> Vec<Hash> {
    fn subtree(level: u8, index: u64) -> Hash {
        if level == 0 {
            return leaf(index);
        }
        let l = subtree(level - 1, 2 * index);
        let r = subtree(level - 1, 2 * index + 1);
        trust_core::tlog::node_hash(&l, &r)
    }
    merkle::frontier(size)
        .iter()
        .map(|id| subtree(id.level, id.index))
        .collect()
}

fn bench_merkle(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle");
    // Append: the in-memory part of one log commit, at a size that is not a power of two.
    let size = 1_000_003u64;
    let frontier = frontier_hashes(size);
    for batch in [1usize, 64, 1024] {
        let leaves: Vec<Hash> = (0..batch as u64).map(|i| leaf(size + i)).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("append_at_1M", batch), &leaves, |b, leaves| {
            b.iter(|| merkle::append(size, black_box(&frontier), black_box(leaves)).unwrap())
        });
    }
    group.throughput(Throughput::Elements(1));
    for (label, size) in [("1M", 1_000_000u64), ("10M", 10_000_000u64)] {
        let index = size / 3 + 17;
        group.bench_function(BenchmarkId::new("inclusion_plan", label), |b| {
            b.iter(|| {
                let plan = ProofPlan::new(&merkle::inclusion_ranges(black_box(index), size));
                plan.nodes()
            })
        });
        let old = size / 3 + 5;
        group.bench_function(BenchmarkId::new("consistency_plan", label), |b| {
            b.iter(|| {
                let plan = ProofPlan::new(&merkle::consistency_ranges(black_box(old), size));
                plan.nodes()
            })
        });
    }
    // Plan + resolve from a node map (the store's read replaced by a HashMap): the CPU cost of a
    // proof apart from the database.
    let size = 1u64 << 16;
    let leaves: Vec<Hash> = (0..size).map(leaf).collect();
    let appended = merkle::append(0, &[], &leaves).unwrap();
    let nodes: HashMap<NodeId, Hash> = appended.new_nodes.into_iter().collect();
    let size = size - 5; // not a power of two: some proof hashes are folds of several nodes
    group.bench_function("inclusion_plan_and_resolve/65531", |b| {
        b.iter(|| {
            let plan = ProofPlan::new(&merkle::inclusion_ranges(black_box(12_345), size));
            let ids = plan.nodes();
            let map: HashMap<NodeId, Hash> = ids.iter().map(|id| (*id, nodes[id])).collect();
            plan.resolve(|id| map.get(id).copied()).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_ca, bench_tsa, bench_log_signing, bench_merkle);
criterion_main!(benches);
