//! Benchmarks of the embedded transparency log on its durable stores, and of full local signing
//! (numbers in docs/performance.md, "Embedded Sigstore (local mode)").
//!
//! - `log_append`: `TransparencyLog::append` of realistic `hashedrekord` entries (a P-256
//!   signature and a PEM leaf certificate with SCT from the embedded CA, about 1.7 KB of JSON), on
//!   SQLite (WAL, `synchronous=FULL`) and PostgreSQL (a throwaway local cluster, default
//!   durability). `single`: one append awaited at a time, so one commit per entry. `concurrent_64`:
//!   64 tasks appending in a loop, so the writer batches whatever is queued into one commit
//!   (`max_batch` 256). Throughput is entries per second.
//! - `log_proof_1M`: `inclusion_proof(random index, None)` and `consistency_proof(random size,
//!   latest)` in a log of 1,000,000 entries on SQLite. The log is filled once through the normal
//!   append path (`max_batch` 4096, 8192 appends in flight, same entries as above) and cached as
//!   `$CARGO_TARGET_DIR/certus-bench/log-1M-v1.db` (about 2.3 GB) for later runs; delete it to
//!   refill. With `CERTUS_BENCH_PG_1M=1` the same fill and benches also run on PostgreSQL (not
//!   cached: the cluster is thrown away at exit).
//! - `local_sign`: `LocalSigstore::sign` on SQLite (ephemeral key, certificate with SCT, log
//!   entry and signing record in one commit, bundle JSON), digest or in-toto, with or without a
//!   TSA timestamp; `single` and `concurrent_64` as above (`max_batch` 256).
//!
//! Run: `cargo bench -p trust-store --bench log -- --warm-up-time 1 --measurement-time 5`.
//! Temp SQLite files and the PostgreSQL cluster are removed when the bench process exits.

// Setup failures in a benchmark are bugs in the benchmark: panicking is the right response.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;
use trust_core::crypto::{pem_encode, sha256, Digest, HashAlgorithm};
use trust_core::time::UnixTime;
use trust_sigstore::embedded::ca::{IssueRequest, LocalCa, SignerIdentity};
use trust_sigstore::embedded::ct::CtLog;
use trust_sigstore::embedded::keys::{KeyAlgorithm, SigningKey};
use trust_sigstore::embedded::local::{self, InitOptions, LocalSigstore, SignContent, SignRequest};
use trust_sigstore::embedded::log::{LogConfig, NewEntry, TransparencyLog};
use trust_sigstore::embedded::rekor::{self, EntryKind};
use trust_sigstore::embedded::store::LogStore;
use trust_store::testing::{postgres_url, sqlite_url, TempDir};
use trust_store::Store;

/// Concurrent appenders / signers in the `concurrent_64` benches.
const CONCURRENCY: u64 = 64;
/// `LogConfig::max_batch` for the append and signing benches.
const MAX_BATCH: usize = 256;
/// Entries in the proof benches' log.
const PROOF_LOG_SIZE: u64 = 1_000_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn now() -> UnixTime {
    trust_sigstore::embedded::now()
}

/// Makes realistic, distinct `hashedrekord` entries: one real leaf certificate (PEM, with SCT)
/// shared by all, a distinct artifact digest per entry and a signature-sized blob derived from it.
struct Entries {
    cert_pem: String,
    next: AtomicU64,
}

impl Entries {
    fn new() -> Arc<Entries> {
        let tmp = TempDir::new();
        let now = now();
        let ca = LocalCa::load_or_create(tmp.path(), None, now).unwrap();
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
        Arc::new(Entries {
            cert_pem: pem_encode("CERTIFICATE", &issued.leaf_der),
            next: AtomicU64::new(0),
        })
    }

    fn entry(&self) -> NewEntry {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let hash = sha256(&n.to_be_bytes());
        let digest = Digest::new(HashAlgorithm::Sha256, &hash).unwrap();
        // A DER ECDSA P-256 signature is 70-72 bytes; the content does not matter to the log.
        let mut sig = vec![0x30, 0x45, 0x02, 0x21, 0x00];
        sig.extend_from_slice(&hash);
        sig.extend_from_slice(&[0x02, 0x20]);
        sig.extend_from_slice(&sha256(&hash));
        NewEntry {
            kind: EntryKind::HashedRekord,
            body: rekor::hashedrekord_v001(&digest, &sig, &self.cert_pem),
            artifact_digest: digest.to_string(),
            record: None,
        }
    }
}

fn log_config(max_batch: usize) -> LogConfig {
    LogConfig {
        name: "127.0.0.1:8888".into(),
        tree_id: 4242,
        max_batch,
    }
}

fn start_log(rt: &Runtime, store: Arc<Store>, max_batch: usize) -> TransparencyLog<Store> {
    let _guard = rt.enter();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    TransparencyLog::start(store, key, log_config(max_batch))
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    fn url(self, tmp: &TempDir) -> String {
        match self {
            Backend::Sqlite => sqlite_url(tmp.path()),
            Backend::Postgres => postgres_url(),
        }
    }
}

/// `per_task` rounds of `op`, in `tasks` concurrent tasks; the wall time of the whole.
async fn run_concurrent<F, Fut>(tasks: u64, per_task: u64, op: F) -> Duration
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    op().await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    start.elapsed()
}

fn bench_append(c: &mut Criterion) {
    let entries = Entries::new();
    let mut group = c.benchmark_group("log_append");
    group.sample_size(10);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let rt = runtime();
        let tmp = TempDir::new();
        let url = backend.url(&tmp);
        let store = Arc::new(rt.block_on(Store::open(&url)).unwrap());
        let log = start_log(&rt, store.clone(), MAX_BATCH);

        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new(backend.name(), "single"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        log.append(entries.entry()).await.unwrap();
                    }
                    start.elapsed()
                })
            })
        });

        let after_single = rt.block_on(size_and_commits(&store, &url));
        group.throughput(Throughput::Elements(CONCURRENCY));
        group.bench_function(
            BenchmarkId::new(backend.name(), format!("concurrent_{CONCURRENCY}")),
            |b| {
                b.iter_custom(|iters| {
                    let (log, entries) = (log.clone(), entries.clone());
                    rt.block_on(run_concurrent(CONCURRENCY, iters, move || {
                        let (log, entry) = (log.clone(), entries.entry());
                        async move {
                            log.append(entry).await.unwrap();
                        }
                    }))
                })
            },
        );
        let (entries_c, commits_c) = rt.block_on(size_and_commits(&store, &url));
        eprintln!(
            "log_append/{}: single {} entries in {} commits; concurrent_{CONCURRENCY} {} entries in {} commits",
            backend.name(),
            after_single.0,
            after_single.1,
            entries_c - after_single.0,
            commits_c - after_single.1
        );
        drop(log);
        rt.block_on(Store::clone(&store).close()).unwrap();
    }
    group.finish();
}

/// The log's size and the number of checkpoints (one per committed batch).
/// Counted on a connection of its own (the store does not expose its pool).
async fn size_and_commits(store: &Store, url: &str) -> (u64, u64) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let size = store.tree_size().await.unwrap();
    let db = sea_orm::Database::connect(url).await.unwrap();
    let commits = trust_store::entity::log_checkpoints::Entity::find()
        .count(&db)
        .await
        .unwrap();
    db.close().await.unwrap();
    (size, commits)
}

/// The bench cache directory under the cargo target dir.
fn cache_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        // <target>/release/deps/log-<hash>
        None => std::env::current_exe()
            .unwrap()
            .ancestors()
            .nth(3)
            .expect("bench executable under <target>/release/deps")
            .to_owned(),
    };
    let dir = target.join("certus-bench");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Appends `n` entries through the normal path (`max_batch` 4096, 8192 appends in flight).
async fn fill(store: Arc<Store>, entries: Arc<Entries>, n: u64) {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let log = TransparencyLog::start(store.clone(), key, log_config(4096));
    let start = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    for i in 0..n {
        if in_flight.len() >= 8192 {
            in_flight.join_next().await.unwrap().unwrap();
        }
        let (log, entry) = (log.clone(), entries.entry());
        in_flight.spawn(async move {
            log.append(entry).await.unwrap();
        });
        if (i + 1) % 100_000 == 0 {
            eprintln!("fill: {} entries queued, {:.1?}", i + 1, start.elapsed());
        }
    }
    while let Some(r) = in_flight.join_next().await {
        r.unwrap();
    }
    let size = store.tree_size().await.unwrap();
    assert_eq!(size, n, "filled log size");
    eprintln!("fill: {n} entries in {:.1?}", start.elapsed());
}

/// A SQLite log of [`PROOF_LOG_SIZE`] entries, filled on first use and kept under the target dir.
fn cached_sqlite_log(rt: &Runtime, entries: &Arc<Entries>) -> Store {
    let dir = cache_dir();
    let db = dir.join("log-1M-v1.db");
    let done = dir.join("log-1M-v1.done");
    if !done.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        eprintln!("log_proof_1M: filling {} (once; later runs reuse it)", db.display());
        rt.block_on(async {
            let store = Arc::new(Store::open(db.to_str().unwrap()).await.unwrap());
            fill(store.clone(), entries.clone(), PROOF_LOG_SIZE).await;
            Store::clone(&store).close().await.unwrap();
        });
        std::fs::write(&done, b"").unwrap();
    }
    let store = rt.block_on(Store::open(db.to_str().unwrap())).unwrap();
    let size = rt.block_on(store.tree_size()).unwrap();
    assert_eq!(
        size,
        PROOF_LOG_SIZE,
        "{} has a log of {size} entries; delete it to refill",
        db.display()
    );
    store
}

/// xorshift64*: reproducible "random" indices without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn bench_proofs_on(c: &mut Criterion, rt: &Runtime, name: &str, store: Store) {
    let store = Arc::new(store);
    let log = start_log(rt, store.clone(), MAX_BATCH);
    let size = rt.block_on(store.tree_size()).unwrap();
    let mut group = c.benchmark_group("log_proof_1M");
    group.throughput(Throughput::Elements(1));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    group.bench_function(BenchmarkId::new(name, "inclusion_random_leaf"), |b| {
        b.iter_custom(|iters| {
            let indices: Vec<u64> = (0..iters).map(|_| rng.below(size)).collect();
            rt.block_on(async {
                let start = Instant::now();
                for &i in &indices {
                    let p = log.inclusion_proof(i, None).await.unwrap();
                    assert_eq!(p.tree_size, size);
                }
                start.elapsed()
            })
        })
    });
    group.bench_function(BenchmarkId::new(name, "consistency_random_to_latest"), |b| {
        b.iter_custom(|iters| {
            let olds: Vec<u64> = (0..iters).map(|_| 1 + rng.below(size - 1)).collect();
            rt.block_on(async {
                let start = Instant::now();
                for &old in &olds {
                    log.consistency_proof(old, size).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.finish();
    drop(log);
    rt.block_on(Store::clone(&store).close()).unwrap();
}

fn bench_proofs(c: &mut Criterion) {
    let rt = runtime();
    let entries = Entries::new();
    let store = cached_sqlite_log(&rt, &entries);
    bench_proofs_on(c, &rt, "sqlite", store);
    if std::env::var("CERTUS_BENCH_PG_1M").is_ok_and(|v| v == "1") {
        let url = postgres_url();
        let store = rt.block_on(async {
            let store = Arc::new(Store::open(&url).await.unwrap());
            fill(store.clone(), entries.clone(), PROOF_LOG_SIZE).await;
            Store::clone(&store)
        });
        bench_proofs_on(c, &rt, "postgres", store);
    }
}

fn sign_request(in_toto: bool, timestamp: bool, n: u64) -> SignRequest {
    let artifact = Digest::new(HashAlgorithm::Sha256, &sha256(&n.to_be_bytes())).unwrap();
    let content = if in_toto {
        SignContent::InToto {
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            predicate: serde_json::json!({
                "buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {}},
                "runDetails": {"builder": {"id": "https://ci.example.com/runner"}},
            }),
            subject_name: "artifact.tar.gz".into(),
            additional_subjects: Vec::new(),
        }
    } else {
        SignContent::Digest
    };
    SignRequest {
        artifact,
        content,
        artifact_type: Some("file".into()),
        subject: Some("artifact.tar.gz".into()),
        timestamp,
        identity: None,
    }
}

fn bench_sign(c: &mut Criterion) {
    let rt = runtime();
    let tmp = TempDir::new();
    let data = tmp.path().join("data");
    local::init(&data, &InitOptions::default(), None).unwrap();
    let store = Arc::new(rt.block_on(Store::open(&sqlite_url(tmp.path()))).unwrap());
    let sigstore = {
        let _guard = rt.enter();
        Arc::new(LocalSigstore::open(&data, store.clone(), None, MAX_BATCH).unwrap())
    };
    let counter = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("local_sign");
    group.sample_size(10);
    for (in_toto, timestamp) in [(false, false), (false, true), (true, false), (true, true)] {
        let label = format!(
            "sqlite/{}{}",
            if in_toto { "intoto" } else { "digest" },
            if timestamp { "+tsa" } else { "" }
        );
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new(&label, "single"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        sigstore.sign(sign_request(in_toto, timestamp, n)).await.unwrap();
                    }
                    start.elapsed()
                })
            })
        });
        group.throughput(Throughput::Elements(CONCURRENCY));
        group.bench_function(BenchmarkId::new(&label, format!("concurrent_{CONCURRENCY}")), |b| {
            b.iter_custom(|iters| {
                let (sigstore, counter) = (sigstore.clone(), counter.clone());
                rt.block_on(run_concurrent(CONCURRENCY, iters, move || {
                    let sigstore = sigstore.clone();
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    async move {
                        sigstore.sign(sign_request(in_toto, timestamp, n)).await.unwrap();
                    }
                }))
            })
        });
    }
    group.finish();
    drop(sigstore);
    rt.block_on(Store::clone(&store).close()).unwrap();
}

criterion_group!(benches, bench_append, bench_proofs, bench_sign);
criterion_main!(benches);
