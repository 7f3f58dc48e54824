//! Crypto benchmarks for trust-core, and the comparison behind the crypto-library decision
//! (docs/decisions.md, numbers in docs/performance.md).
//!
//! - `sha256`: throughput of `trust_core::crypto::sha256` (aws-lc-rs) and of ring, 64 B to 1 MiB.
//! - `ecdsa_p256_verify`, `ecdsa_p384_verify`: one signature check, over a message (the library
//!   hashes) and over a digest hashed elsewhere ("prehashed", needed for `sha256:...` verification).
//!   Contenders: trust-core's `PublicKey` (aws-lc-rs), ring (message only: it cannot verify a
//!   digest), and RustCrypto `p256` / `p384` (what a ring-based build would use for digests).
//!
//! Keys and signatures are made once in setup with aws-lc-rs; every contender checks the same
//! DER signature, and DER parsing of the signature is inside the timed loop for all of them.
//!
//! Run: `cargo bench -p trust-core --bench crypto -- --warm-up-time 1 --measurement-time 3`.

// Setup failures in a benchmark are bugs in the benchmark: panicking is the right response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::ecdsa::signature::Verifier as _;
use trust_core::crypto::{sha256, HashAlgorithm, PublicKey};

/// Message size for the signature benches: about a Rekor SET payload or a signed-note checkpoint,
/// so the time is dominated by the curve arithmetic, not the hash.
const MESSAGE_LEN: usize = 256;

/// Sizes for the hash throughput bench.
const HASH_SIZES: [(usize, &str); 4] = [
    (64, "64 B"),
    (1 << 10, "1 KiB"),
    (64 << 10, "64 KiB"),
    (1 << 20, "1 MiB"),
];

fn bench_sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256");
    for (len, label) in HASH_SIZES {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("aws-lc-rs", label), &data, |b, data| {
            b.iter(|| sha256(black_box(data)))
        });
        group.bench_with_input(BenchmarkId::new("ring", label), &data, |b, data| {
            b.iter(|| ring::digest::digest(&ring::digest::SHA256, black_box(data)))
        });
    }
    group.finish();
}

/// One signed message, with everything each contender needs to check it.
struct Fixture {
    message: Vec<u8>,
    /// ASN.1 DER ECDSA signature over `message`.
    signature: Vec<u8>,
    /// Uncompressed SEC1 point (ring and RustCrypto take this).
    point: Vec<u8>,
    /// trust-core's parsed key (from the DER SPKI).
    key: PublicKey,
}

impl Fixture {
    fn new(alg: &'static EcdsaSigningAlgorithm) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
        let spki = AsDer::<PublicKeyX509Der>::as_der(pair.public_key()).unwrap();
        let message: Vec<u8> = (0..MESSAGE_LEN).map(|i| (i * 7 % 256) as u8).collect();
        let signature = pair.sign(&rng, &message).unwrap().as_ref().to_vec();
        Fixture {
            message,
            signature,
            point: pair.public_key().as_ref().to_vec(),
            key: PublicKey::from_spki_der(spki.as_ref()).unwrap(),
        }
    }
}

/// One ECDSA comparison group per curve: the same five contenders, only the curve's types differ
/// (RustCrypto has one crate per curve, hence a macro rather than a generic function).
macro_rules! ecdsa_bench {
    ($name:ident, $group:literal, $signing:expr, $hash:expr, $ring_alg:expr, $rc:ident) => {
        fn $name(c: &mut Criterion) {
            let f = Fixture::new($signing);
            let digest = $hash.hash(&f.message);
            let ring_alg = $ring_alg;
            let rc_key = $rc::ecdsa::VerifyingKey::from_sec1_bytes(&f.point).unwrap();

            // Every contender must accept the signature, or the numbers mean nothing.
            f.key.verify(&f.message, &f.signature).unwrap();
            f.key.verify_prehashed(&digest, &f.signature).unwrap();
            ring::signature::UnparsedPublicKey::new(ring_alg, &f.point)
                .verify(&f.message, &f.signature)
                .unwrap();
            let rc_sig = $rc::ecdsa::Signature::from_der(&f.signature).unwrap();
            rc_key.verify(&f.message, &rc_sig).unwrap();
            rc_key.verify_prehash(digest.as_bytes(), &rc_sig).unwrap();

            let mut group = c.benchmark_group($group);
            group.bench_function("aws-lc-rs/message", |b| {
                b.iter(|| {
                    f.key
                        .verify(black_box(&f.message), black_box(&f.signature))
                        .unwrap()
                })
            });
            group.bench_function("aws-lc-rs/prehashed", |b| {
                b.iter(|| {
                    f.key
                        .verify_prehashed(black_box(&digest), black_box(&f.signature))
                        .unwrap()
                })
            });
            group.bench_function("ring/message", |b| {
                b.iter(|| {
                    ring::signature::UnparsedPublicKey::new(ring_alg, black_box(&f.point))
                        .verify(black_box(&f.message), black_box(&f.signature))
                        .unwrap()
                })
            });
            group.bench_function("rustcrypto/message", |b| {
                b.iter(|| {
                    let sig = $rc::ecdsa::Signature::from_der(black_box(&f.signature)).unwrap();
                    rc_key.verify(black_box(&f.message), &sig).unwrap()
                })
            });
            group.bench_function("rustcrypto/prehashed", |b| {
                b.iter(|| {
                    let sig = $rc::ecdsa::Signature::from_der(black_box(&f.signature)).unwrap();
                    rc_key.verify_prehash(black_box(digest.as_bytes()), &sig).unwrap()
                })
            });
            group.finish();
        }
    };
}

ecdsa_bench!(
    bench_p256,
    "ecdsa_p256_verify",
    &ECDSA_P256_SHA256_ASN1_SIGNING,
    HashAlgorithm::Sha256,
    &ring::signature::ECDSA_P256_SHA256_ASN1,
    p256
);
ecdsa_bench!(
    bench_p384,
    "ecdsa_p384_verify",
    &ECDSA_P384_SHA384_ASN1_SIGNING,
    HashAlgorithm::Sha384,
    &ring::signature::ECDSA_P384_SHA384_ASN1,
    p384
);

criterion_group!(benches, bench_sha256, bench_p256, bench_p384);
criterion_main!(benches);
