//! TUF client tests against real TUF repositories generated here with tough's editor (Ed25519 keys
//! made per test), holding the real Sigstore trusted roots from `fixtures/`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use trust_sigstore::client::EndpointConfig;
use trust_sigstore::tuf::testing::{in_secs, TestRepo};
use trust_sigstore::tuf::{self, InitialRoot, MaterialSource, TufConfig, TufError};
use url::Url;

fn fixture(path: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sigstore-trust-roots")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Short timeouts and one quick retry, so fault tests stay fast.
fn fast_endpoint() -> EndpointConfig {
    EndpointConfig {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_secs(2),
        max_retries: 1,
        initial_backoff: Duration::from_millis(20),
        ..EndpointConfig::default()
    }
}

fn config(repo: &TestRepo, cache: &Path) -> TufConfig {
    TufConfig {
        endpoint: fast_endpoint(),
        ..repo.config(cache)
    }
}

fn production_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (tuf::TRUSTED_ROOT_TARGET, fixture("production/trusted_root.json")),
        (
            tuf::SIGNING_CONFIG_TARGET,
            fixture("production/signing_config.v0.2.json"),
        ),
    ]
}

fn refs<'a>(files: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    files.iter().map(|(n, b)| (*n, b.as_slice())).collect()
}

fn current_gen(cache: &Path) -> PathBuf {
    cache.join(std::fs::read_to_string(cache.join("current")).unwrap().trim())
}

fn cached_target(cache: &Path, name: &str) -> PathBuf {
    std::fs::read_dir(current_gen(cache).join("targets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().ends_with(&format!(".{name}")))
        .unwrap()
}

#[tokio::test]
async fn update_then_offline_reload_reverifies() {
    let repo = TestRepo::new().await;
    let files = production_files();
    repo.publish(&repo.root_path, 1, &refs(&files), in_secs(3600)).await;
    let cache = TempDir::new().unwrap();
    let cfg = config(&repo, cache.path());

    // Nothing cached yet.
    let e = tuf::load_cached(&cfg).await.unwrap_err();
    assert_eq!(e.code(), "tuf.no_cache", "{e}");

    let m = tuf::update(&cfg).await.unwrap();
    assert_eq!(m.source, MaterialSource::Repository);
    assert_eq!(m.trusted_root_json, files[0].1);
    assert_eq!(m.signing_config_json.as_deref(), Some(files[1].1.as_slice()));
    assert_eq!(
        (
            m.root.version,
            m.timestamp.version,
            m.snapshot.version,
            m.targets.version
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(m.expires, m.timestamp.expires, "timestamp expires first");
    assert!(!m.trusted_root.tlogs.is_empty() && !m.trusted_root.certificate_authorities.is_empty());

    // Offline: the source repository is gone; the cache alone is loaded and verified.
    std::fs::remove_dir_all(repo.dir.path().join("repo")).unwrap();
    let c = tuf::load_cached(&cfg).await.unwrap();
    assert_eq!(c.source, MaterialSource::Cache);
    assert_eq!(c.trusted_root_json, m.trusted_root_json);
    assert_eq!(c.signing_config_json, m.signing_config_json);
    assert_eq!(c.timestamp, m.timestamp);
    // Loading again still works (a load does not consume or alter the generation).
    tuf::load_cached(&cfg).await.unwrap();
    // The cache is relocatable (copied to an air-gapped host, another path): it still verifies.
    let moved = TempDir::new().unwrap();
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(cache.path())
        .arg(moved.path().join("copy"))
        .status()
        .unwrap();
    assert!(st.success());
    let moved_cfg = TufConfig {
        cache_dir: moved.path().join("copy"),
        ..cfg.clone()
    };
    assert_eq!(
        tuf::load_cached(&moved_cfg).await.unwrap().trusted_root_json,
        m.trusted_root_json
    );
    // And with the repository gone, an update is a fetch error that leaves the cache usable.
    let e = tuf::update(&cfg).await.unwrap_err();
    assert_eq!(e.code(), "tuf.fetch", "{e}");
    tuf::load_cached(&cfg).await.unwrap();
}

#[tokio::test]
async fn tampered_cache_is_refused_on_load() {
    let repo = TestRepo::new().await;
    let files = production_files();
    repo.publish(&repo.root_path, 1, &refs(&files), in_secs(3600)).await;
    let cache = TempDir::new().unwrap();
    let cfg = config(&repo, cache.path());
    tuf::update(&cfg).await.unwrap();

    // 1. One byte of the cached trusted root changed: hash mismatch.
    let target = cached_target(cache.path(), tuf::TRUSTED_ROOT_TARGET);
    let original = std::fs::read(&target).unwrap();
    let mut bad = original.clone();
    let i = bad.iter().position(|b| *b == b'"').unwrap();
    bad[i] = b'\'';
    std::fs::write(&target, &bad).unwrap();
    let e = tuf::load_cached(&cfg).await.unwrap_err();
    assert!(matches!(e, TufError::HashMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains(tuf::TRUSTED_ROOT_TARGET), "{e}");
    std::fs::write(&target, &original).unwrap();
    tuf::load_cached(&cfg).await.unwrap();

    // 2. The cached timestamp re-dated far into the future: its signature no longer verifies.
    let ts_path = current_gen(cache.path()).join("metadata/timestamp.json");
    let ts_original = std::fs::read(&ts_path).unwrap();
    let mut ts: serde_json::Value = serde_json::from_slice(&ts_original).unwrap();
    ts["signed"]["expires"] = "2999-01-01T00:00:00Z".into();
    std::fs::write(&ts_path, serde_json::to_vec(&ts).unwrap()).unwrap();
    let e = tuf::load_cached(&cfg).await.unwrap_err();
    match &e {
        TufError::Verification { role, .. } => assert_eq!(role, "timestamp"),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "tuf.verification");

    // 3. The cached target deleted: the load fails, naming the file.
    std::fs::write(&ts_path, &ts_original).unwrap();
    std::fs::remove_file(&target).unwrap();
    let e = tuf::load_cached(&cfg).await.unwrap_err();
    assert_eq!(e.code(), "tuf.fetch", "{e}");
    assert!(e.to_string().contains(tuf::TRUSTED_ROOT_TARGET), "{e}");

    // An update repairs the cache from the (intact) repository.
    tuf::update(&cfg).await.unwrap();
    assert_eq!(tuf::load_cached(&cfg).await.unwrap().trusted_root_json, files[0].1);
}

#[tokio::test]
async fn expired_timestamp_names_role_and_time() {
    let repo = TestRepo::new().await;
    let files = production_files();
    let expired_at = in_secs(-3600);
    repo.publish(&repo.root_path, 1, &refs(&files), expired_at).await;
    let cache = TempDir::new().unwrap();
    let cfg = config(&repo, cache.path());
    let e = tuf::update(&cfg).await.unwrap_err();
    match &e {
        TufError::Expired { role, expires } => {
            assert_eq!(role, "timestamp");
            assert_eq!(expires.unwrap().secs(), expired_at);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "tuf.expired");
    assert!(e.to_string().contains("timestamp metadata expired at"), "{e}");
    // Nothing was committed.
    assert!(!cache.path().join("current").exists());
    assert_eq!(tuf::load_cached(&cfg).await.unwrap_err().code(), "tuf.no_cache");
}

#[tokio::test]
async fn cached_repository_expires_offline() {
    let repo = TestRepo::new().await;
    let files = production_files();
    repo.publish(&repo.root_path, 1, &refs(&files), in_secs(2)).await;
    let cache = TempDir::new().unwrap();
    let cfg = config(&repo, cache.path());
    tuf::update(&cfg).await.unwrap();
    tuf::load_cached(&cfg).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let e = tuf::load_cached(&cfg).await.unwrap_err();
    assert!(
        matches!(&e, TufError::Expired { role, expires: Some(_) } if role == "timestamp"),
        "{e:?}"
    );
}

#[tokio::test]
async fn new_version_picked_up_rollback_refused() {
    let repo = TestRepo::new().await;
    let prod = production_files();
    repo.publish(&repo.root_path, 1, &refs(&prod), in_secs(3600)).await;
    let cache = TempDir::new().unwrap();
    let cfg = config(&repo, cache.path());
    tuf::update(&cfg).await.unwrap();

    // Version 2: a rotated root (2.root.json, cross-signed) and a different trusted root.
    let root2 = repo.dir.path().join("root-v2.json");
    std::fs::write(&root2, repo.root_doc(2).await).unwrap();
    let staging = [(tuf::TRUSTED_ROOT_TARGET, fixture("staging/trusted_root.json"))];
    repo.publish(&root2, 2, &refs(&staging), in_secs(3600)).await;
    assert!(repo.metadata().join("2.root.json").exists());
    let m = tuf::update(&cfg).await.unwrap();
    assert_eq!(m.trusted_root_json, staging[0].1);
    assert_eq!(m.signing_config_json, None);
    assert_eq!((m.root.version, m.timestamp.version, m.targets.version), (2, 2, 2));
    // The cache reproduces version 2 from the initial v1 root alone (root chain cached).
    let c = tuf::load_cached(&cfg).await.unwrap();
    assert_eq!((c.root.version, c.timestamp.version), (2, 2));
    assert_eq!(c.trusted_root_json, staging[0].1);

    // The repository is rolled back to version 1 metadata: refused, the cache keeps version 2.
    repo.publish(&root2, 1, &refs(&prod), in_secs(3600)).await;
    let e = tuf::update(&cfg).await.unwrap_err();
    match &e {
        TufError::Rollback {
            role,
            trusted_version,
            new_version,
        } => assert_eq!((role.as_str(), *trusted_version, *new_version), ("timestamp", 2, 1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "tuf.rollback");
    let c = tuf::load_cached(&cfg).await.unwrap();
    assert_eq!(
        (c.timestamp.version, c.trusted_root_json.as_slice()),
        (2, staging[0].1.as_slice())
    );

    // Root rollback: the repository withholds 2.root.json (serving a chain that ends at v1).
    std::fs::remove_file(repo.metadata().join("2.root.json")).unwrap();
    repo.publish(&repo.root_path, 3, &refs(&prod), in_secs(3600)).await;
    let e = tuf::update(&cfg).await.unwrap_err();
    assert!(
        matches!(&e, TufError::Rollback { role, trusted_version: 2, new_version: 1 } if role == "root"),
        "{e:?}"
    );
    assert_eq!(tuf::load_cached(&cfg).await.unwrap().timestamp.version, 2);
}

#[tokio::test]
async fn delegated_roles_are_cached_and_reverified() {
    let repo = TestRepo::new().await;
    let files = production_files();
    let role = "registry.npmjs.org";
    repo.publish_delegated(&repo.root_path, 1, &refs(&files), in_secs(3600), role)
        .await;
    assert!(repo.metadata().join(format!("1.{role}.json")).exists());
    let cache = TempDir::new().unwrap();
    let cfg = config(&repo, cache.path());
    tuf::update(&cfg).await.unwrap();
    // The delegated role's metadata is part of the cached generation and of its verification.
    let cached = current_gen(cache.path()).join(format!("metadata/1.{role}.json"));
    assert!(cached.exists());
    std::fs::remove_dir_all(repo.dir.path().join("repo")).unwrap();
    assert_eq!(tuf::load_cached(&cfg).await.unwrap().trusted_root_json, files[0].1);
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cached).unwrap()).unwrap();
    v["signed"]["expires"] = "2999-01-01T00:00:00Z".into();
    std::fs::write(&cached, serde_json::to_vec(&v).unwrap()).unwrap();
    let e = tuf::load_cached(&cfg).await.unwrap_err();
    assert!(
        matches!(e.code(), "tuf.verification" | "tuf.hash_mismatch" | "tuf.too_large"),
        "{e:?}"
    );
}

fn assert_no_temp(cache: &Path) {
    let names: Vec<String> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp")), "{names:?}");
}

#[tokio::test]
async fn tampered_repository_target_is_refused() {
    let repo = TestRepo::new().await;
    let files = production_files();
    repo.publish(&repo.root_path, 1, &refs(&files), in_secs(3600)).await;
    // The served trusted root is swapped for other bytes of the same length.
    let served = std::fs::read_dir(repo.targets())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(tuf::TRUSTED_ROOT_TARGET))
        .unwrap();
    let mut bytes = std::fs::read(&served).unwrap();
    let i = bytes.iter().position(|b| *b == b'{').unwrap();
    bytes[i] = b'[';
    std::fs::write(&served, &bytes).unwrap();
    let cache = TempDir::new().unwrap();
    let e = tuf::update(&config(&repo, cache.path())).await.unwrap_err();
    assert!(
        matches!(&e, TufError::HashMismatch { what, .. } if what.ends_with(tuf::TRUSTED_ROOT_TARGET)),
        "{e:?}"
    );
    assert!(!cache.path().join("current").exists());
    assert_no_temp(cache.path());
}

#[tokio::test]
async fn missing_trusted_root_target() {
    let repo = TestRepo::new().await;
    let files = [(
        tuf::SIGNING_CONFIG_TARGET,
        fixture("production/signing_config.v0.2.json"),
    )];
    repo.publish(&repo.root_path, 1, &refs(&files), in_secs(3600)).await;
    let cache = TempDir::new().unwrap();
    let e = tuf::update(&config(&repo, cache.path())).await.unwrap_err();
    assert!(
        matches!(&e, TufError::MissingTarget { name } if name == tuf::TRUSTED_ROOT_TARGET),
        "{e:?}"
    );
    assert!(!cache.path().join("current").exists());
}

#[tokio::test]
async fn invalid_trusted_root_target_is_refused() {
    let repo = TestRepo::new().await;
    let files = [(
        tuf::TRUSTED_ROOT_TARGET,
        br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{"baseUrl":1}]}"#
            .to_vec(),
    )];
    repo.publish(&repo.root_path, 1, &refs(&files), in_secs(3600)).await;
    let cache = TempDir::new().unwrap();
    let e = tuf::update(&config(&repo, cache.path())).await.unwrap_err();
    assert_eq!(e.code(), "tuf.trusted_root_invalid", "{e}");
    assert!(!cache.path().join("current").exists());
}

#[tokio::test]
async fn wrong_initial_root_is_refused() {
    let repo = TestRepo::new().await;
    repo.publish(&repo.root_path, 1, &refs(&production_files()), in_secs(3600))
        .await;
    let cache = TempDir::new().unwrap();
    // Another repository's root (another key) does not sign this repository's metadata.
    let other = TestRepo::new().await;
    let mut cfg = config(&repo, cache.path());
    cfg.initial_root = InitialRoot::File(other.root_path.clone());
    let e = tuf::update(&cfg).await.unwrap_err();
    assert!(
        matches!(&e, TufError::Verification { role, .. } if role == "timestamp"),
        "{e:?}"
    );
    // The embedded Sigstore production root does not sign this repository either: refused as
    // expired (version 15 expired 2026-11-20 and no newer root is found here) or, with a future
    // unexpired embedded root, by the timestamp signature check.
    cfg.initial_root = InitialRoot::Production;
    let e = tuf::update(&cfg).await.unwrap_err();
    assert!(
        matches!(&e, TufError::Expired { role, .. } | TufError::Verification { role, .. } if role == "root" || role == "timestamp"),
        "{e:?}"
    );
    // A missing root file is an input error.
    cfg.initial_root = InitialRoot::File(repo.dir.path().join("nope.json"));
    let e = tuf::update(&cfg).await.unwrap_err();
    assert!(e.is_input() && e.code() == "tuf.initial_root", "{e}");
}

#[tokio::test]
async fn unsupported_scheme_is_a_config_error() {
    let cache = TempDir::new().unwrap();
    let mut cfg = TufConfig::production(Some(cache.path().to_path_buf())).unwrap();
    cfg.metadata_url = Url::parse("ftp://example.invalid/").unwrap();
    let e = tuf::update(&cfg).await.unwrap_err();
    assert_eq!(e.code(), "tuf.config", "{e}");
}

/// A loopback HTTP/1.1 server (127.0.0.1 only) serving a directory, with injectable faults:
/// `status` != 0 answers every request with that status, `delay_ms` delays every answer.
struct FileServer {
    addr: std::net::SocketAddr,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    async fn start(root: PathBuf) -> Self {
        use http_body_util::Full;
        use hyper::body::Bytes;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(0));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let (st, dl) = (status.clone(), delay_ms.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (root, st, dl) = (root.clone(), st.clone(), dl.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (root, st, dl) = (root.clone(), st.clone(), dl.clone());
                        async move {
                            tokio::time::sleep(Duration::from_millis(dl.load(Ordering::SeqCst))).await;
                            let path = req.uri().path().trim_start_matches('/').to_string();
                            let forced = st.load(Ordering::SeqCst);
                            let (code, body) = if forced != 0 {
                                (forced, b"injected fault".to_vec())
                            } else if path.split('/').any(|c| c == "..") {
                                (400, Vec::new())
                            } else {
                                match std::fs::read(root.join(&path)) {
                                    Ok(b) => (200, b),
                                    Err(_) => (404, b"not found".to_vec()),
                                }
                            };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(code)
                                    .body(Full::new(Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FileServer {
            addr,
            status,
            delay_ms,
            task,
        }
    }

    fn config(&self, repo: &TestRepo, cache: &Path) -> TufConfig {
        let mut cfg = config(repo, cache);
        cfg.metadata_url = Url::parse(&format!("http://{}/metadata/", self.addr)).unwrap();
        cfg.targets_url = Url::parse(&format!("http://{}/targets/", self.addr)).unwrap();
        cfg
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

#[tokio::test]
async fn http_update_then_offline_with_server_stopped() {
    let repo = TestRepo::new().await;
    let files = production_files();
    repo.publish(&repo.root_path, 1, &refs(&files), in_secs(3600)).await;
    let server = FileServer::start(repo.dir.path().join("repo")).await;
    let cache = TempDir::new().unwrap();
    let cfg = server.config(&repo, cache.path());

    let m = tuf::update(&cfg).await.unwrap();
    assert_eq!(m.trusted_root_json, files[0].1);
    assert!(m.metadata_url.starts_with("http://127.0.0.1:"), "{}", m.metadata_url);

    // A new version over HTTP is picked up.
    let staging = [(tuf::TRUSTED_ROOT_TARGET, fixture("staging/trusted_root.json"))];
    repo.publish(&repo.root_path, 2, &refs(&staging), in_secs(3600)).await;
    assert_eq!(tuf::update(&cfg).await.unwrap().trusted_root_json, staging[0].1);

    // Server stopped: the update fails fast, naming TUF and the URL; the cache still loads.
    server.stop().await;
    let t = Instant::now();
    let e = tuf::update(&cfg).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(e.is_unavailable() && e.code() == "tuf.unavailable", "{e:?}");
    assert!(e.to_string().contains("TUF at http://127.0.0.1:"), "{e}");
    let c = tuf::load_cached(&cfg).await.unwrap();
    assert_eq!((c.source, c.timestamp.version), (MaterialSource::Cache, 2));
    assert_eq!(c.trusted_root_json, staging[0].1);
}

#[tokio::test]
async fn http_faults_are_bounded_and_leave_the_cache() {
    let repo = TestRepo::new().await;
    repo.publish(&repo.root_path, 1, &refs(&production_files()), in_secs(3600))
        .await;
    let server = FileServer::start(repo.dir.path().join("repo")).await;
    let cache = TempDir::new().unwrap();
    let cfg = server.config(&repo, cache.path());
    tuf::update(&cfg).await.unwrap();
    let before = std::fs::read_to_string(cache.path().join("current")).unwrap();

    // 503 on everything (retried once, then reported).
    server.status.store(503, Ordering::SeqCst);
    let e = tuf::update(&cfg).await.unwrap_err();
    assert_eq!(e.code(), "tuf.unavailable", "{e}");
    assert!(e.to_string().contains("HTTP 503"), "{e}");

    // 403/404 on everything: the timestamp is "not found", not unavailable.
    server.status.store(404, Ordering::SeqCst);
    let e = tuf::update(&cfg).await.unwrap_err();
    assert_eq!(e.code(), "tuf.fetch", "{e}");
    assert!(e.to_string().contains("timestamp.json"), "{e}");

    // Slower than the per-attempt timeout: a timeout, bounded by the total timeout.
    server.status.store(0, Ordering::SeqCst);
    server.delay_ms.store(3000, Ordering::SeqCst);
    let t = Instant::now();
    let e = tuf::update(&cfg).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(matches!(&e, TufError::Http(c) if c.code() == "client.timeout"), "{e:?}");

    // None of it touched the committed generation, or left temporary files behind.
    assert_eq!(std::fs::read_to_string(cache.path().join("current")).unwrap(), before);
    assert_no_temp(cache.path());
    tuf::load_cached(&cfg).await.unwrap();
    server.stop().await;
}
