//! Verification benches: Merkle inclusion proofs, checkpoints, whole bundles (cold: the bundle JSON
//! is parsed on every iteration) and, beside each bundle, the floor: every signature check the
//! bundle cannot skip, benched one by one with the same keys and data, on pre-parsed aws-lc-rs keys.
//!
//! `cargo bench -p trust-core --bench verify` (docs/performance-verify.md has the numbers).
//!
//! Groups:
//! - `merkle_inclusion/2^k`: RFC 6962 inclusion proof in a tree of 2^k leaves (k hashes).
//! - `checkpoint/<log>/{parse,parse+verify,floor}`: Rekor v1 (ECDSA P-256) and v2 (Ed25519)
//!   checkpoints: parse alone, parse + `verify_checkpoint`, the signature alone.
//! - `bundle/<case>/verify_json`: `Verifier::verify_json` on the bundle bytes (parsed every time).
//! - `bundle/<case>/floor/<check>`: one signature check; `bundle/<case>/floor/all`: all in a row.
//! - `bundle/<case>/overhead_paired`: verify_json minus floor/all, measured pair by pair in
//!   alternation, median of the differences (robust to load on the other core and to preemption;
//!   the machine is a shared 2-core VM).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/floor.rs"]
mod floor;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use floor::{checkpoint_check, floor_checks, Case};
use std::hint::black_box;
use std::time::{Duration, Instant};
use trust_core::tlog::{self, Checkpoint};

// ---- benches ----

/// xorshift64*: deterministic "random" sibling hashes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn hash(&mut self) -> [u8; 32] {
        let mut h = [0u8; 32];
        for chunk in h.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }
}

/// RFC 6962 §2.1 MTH for the path of leaf `index` in a tree of `size` leaves, computed top-down
/// (the recursive definition, independent of the verifier's bottom-up loop): `proof` holds the
/// siblings leaf to root, the last one being the sibling of the root's split.
fn root_from_path(index: u64, size: u64, leaf: [u8; 32], proof: &[[u8; 32]]) -> [u8; 32] {
    if size == 1 {
        assert!(proof.is_empty());
        return leaf;
    }
    let k = 1u64 << (63 - (size - 1).leading_zeros()); // largest power of two < size
    let (sibling, below) = proof.split_last().unwrap();
    if index < k {
        tlog::node_hash(&root_from_path(index, k, leaf, below), sibling)
    } else {
        tlog::node_hash(sibling, &root_from_path(index - k, size - k, leaf, below))
    }
}

fn merkle(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle_inclusion");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for k in [10u32, 20, 30, 40] {
        let size = 1u64 << k;
        let index = rng.next() % size;
        let leaf = tlog::leaf_hash(b"certus-trust bench leaf");
        let proof: Vec<[u8; 32]> = (0..k).map(|_| rng.hash()).collect();
        let root = root_from_path(index, size, leaf, &proof);
        tlog::verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
        let mut bad = root;
        bad[0] ^= 1;
        assert!(tlog::verify_inclusion(index, size, &leaf, &proof, &bad).is_err());
        g.bench_with_input(BenchmarkId::from_parameter(format!("2^{k}")), &k, |b, _| {
            b.iter(|| {
                tlog::verify_inclusion(
                    black_box(index),
                    black_box(size),
                    black_box(&leaf),
                    black_box(&proof),
                    black_box(&root),
                )
            })
        });
    }
    g.finish();
}

fn checkpoints(c: &mut Criterion) {
    let cases = [
        ("rekor_v1_p256", Case::load("happy-path-v0.3")),
        ("rekor_v2_ed25519", Case::load("rekor2-happy-path")),
    ];
    let mut g = c.benchmark_group("checkpoint");
    for (label, case) in &cases {
        let env = case.checkpoint();
        let log = case.log();
        g.bench_function(format!("{label}/parse"), |b| {
            b.iter(|| Checkpoint::parse(black_box(&env)).unwrap())
        });
        g.bench_function(format!("{label}/parse+verify"), |b| {
            b.iter(|| {
                let cp = Checkpoint::parse(black_box(&env)).unwrap();
                tlog::verify_checkpoint(&cp, &env, log).unwrap();
                cp
            })
        });
        let floor = checkpoint_check(case);
        g.bench_function(format!("{label}/floor"), |b| b.iter(|| black_box(&floor).run()));
    }
    g.finish();
}

fn bundles(c: &mut Criterion) {
    let cases = [
        ("v1_message_bytes", Case::load("happy-path-v0.3"), false),
        ("v1_message_digest", Case::load("happy-path-v0.3"), true),
        ("v1_dsse", Case::load("happy-path-intoto-in-dsse-v3"), false),
        ("v2_tsa_bytes", Case::load("rekor2-happy-path"), false),
        ("v2_tsa_digest", Case::load("rekor2-happy-path"), true),
    ];
    for (label, case, by_digest) in &cases {
        let verifier = case.verifier();
        let policy = case.policy(*by_digest);
        verifier.verify_json(&case.bundle, &policy).unwrap();

        let mut g = c.benchmark_group(format!("bundle/{label}"));
        g.bench_function("verify_json", |b| {
            b.iter(|| verifier.verify_json(black_box(&case.bundle), &policy).unwrap())
        });
        let checks = floor_checks(case, *by_digest);
        for check in &checks {
            let id = check.what.split(": ").nth(1).unwrap().replace(' ', "_");
            g.bench_function(format!("floor/{id}"), |b| b.iter(|| black_box(check).run()));
        }
        g.bench_function("floor/all", |b| b.iter(|| checks.iter().all(|c| black_box(c).run())));
        // Paired: each sample alternates verify_json and the floor call by call (swapping the
        // order every pair) and reports the median of the per-pair differences, so that load on
        // the other core, which hits both sides alike, and the odd preemption (milliseconds, on
        // one side only) drop out.
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function("overhead_paired", |b| {
            b.iter_custom(|iters| {
                let full = || {
                    let t = Instant::now();
                    black_box(verifier.verify_json(black_box(&case.bundle), &policy).unwrap());
                    t.elapsed().as_nanos() as i128
                };
                let floor = || {
                    let t = Instant::now();
                    black_box(checks.iter().all(|c| black_box(c).run()));
                    t.elapsed().as_nanos() as i128
                };
                let mut diffs: Vec<i128> = (0..iters)
                    .map(|i| {
                        if i % 2 == 0 {
                            let v = full();
                            v - floor()
                        } else {
                            let f = floor();
                            full() - f
                        }
                    })
                    .collect();
                diffs.sort_unstable();
                let median = diffs[diffs.len() / 2].max(1) as u64;
                Duration::from_nanos(median * iters)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, merkle, checkpoints, bundles);
criterion_main!(benches);
