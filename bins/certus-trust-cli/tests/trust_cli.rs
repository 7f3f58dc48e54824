//! `certus-trust-cli trust update|show`, run as the binary against real TUF repositories made
//! with tough's editor (`trust_sigstore::tuf::testing`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is a test failure"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;
use trust_sigstore::tuf::testing::{in_secs, TestRepo};
use trust_sigstore::tuf::{SIGNING_CONFIG_TARGET, TRUSTED_ROOT_TARGET};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/sigstore-trust-roots")
            .join(path),
    )
    .unwrap()
}

fn cli(args: &[&str]) -> Output {
    cli_in(Path::new("."), args)
}

fn cli_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certus-trust-cli"))
        .args(args)
        .current_dir(dir)
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Setup {
    repo: TestRepo,
    cache: TempDir,
}

impl Setup {
    async fn published() -> Self {
        let repo = TestRepo::new().await;
        let files = [
            (TRUSTED_ROOT_TARGET, fixture("production/trusted_root.json")),
            (SIGNING_CONFIG_TARGET, fixture("production/signing_config.v0.2.json")),
        ];
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        repo.publish(&repo.root_path, 1, &refs, in_secs(3600)).await;
        Setup {
            repo,
            cache: TempDir::new().unwrap(),
        }
    }

    fn args<'a>(&'a self, cmd: &'a str, extra: &[&'a str]) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "trust".into(),
            cmd.into(),
            "--tuf-url".into(),
            url::Url::from_directory_path(self.repo.metadata()).unwrap().to_string(),
            "--targets-url".into(),
            url::Url::from_directory_path(self.repo.targets()).unwrap().to_string(),
            "--root".into(),
            self.repo.root_path.display().to_string(),
            "--cache".into(),
            self.cache.path().display().to_string(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    fn run(&self, cmd: &str, extra: &[&str]) -> Output {
        let args = self.args(cmd, extra);
        cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

#[tokio::test]
async fn update_show_json_and_out() {
    let s = Setup::published().await;
    // No cache yet: input error, exit 2.
    let o = s.run("show", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error[tuf.no_cache]"), "{}", stderr(&o));

    let out = TempDir::new().unwrap();
    let o = s.run("update", &["--json", "--out", out.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["source"], "repository");
    assert_eq!(v["roles"]["timestamp"]["version"], 1);
    assert_eq!(
        v["trusted_root"]["bytes"],
        fixture("production/trusted_root.json").len()
    );
    let root = trust_core::trust_root::TrustedRoot::from_json(&fixture("production/trusted_root.json")).unwrap();
    assert_eq!(v["trusted_root"]["tlogs"], root.tlogs.len());
    assert_eq!(
        v["trusted_root"]["certificate_authorities"],
        root.certificate_authorities.len()
    );
    assert!(v["seconds_left"].as_i64().unwrap() > 3000);
    assert_eq!(
        std::fs::read(out.path().join(TRUSTED_ROOT_TARGET)).unwrap(),
        fixture("production/trusted_root.json")
    );
    assert_eq!(
        std::fs::read(out.path().join(SIGNING_CONFIG_TARGET)).unwrap(),
        fixture("production/signing_config.v0.2.json")
    );

    // Offline show, repository gone.
    std::fs::remove_dir_all(s.repo.dir.path().join("repo")).unwrap();
    let o = s.run("show", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    println!("{text}");
    assert!(text.contains("source: cache (re-verified offline)"), "{text}");
    assert!(text.contains("timestamp version 1"), "{text}");
    assert!(
        text.contains(&format!(
            "trusted root: {} CA, {} tlog, {} ctlog, {} TSA",
            root.certificate_authorities.len(),
            root.tlogs.len(),
            root.ctlogs.len(),
            root.timestamp_authorities.len()
        )),
        "{text}"
    );
    assert!(text.contains("tlog  https://rekor.sigstore.dev  valid "), "{text}");
}

#[tokio::test]
async fn relative_cache_dir() {
    let s = Setup::published().await;
    let mut args = s.args("update", &[]);
    let i = args.iter().position(|a| a == "--cache").unwrap();
    args[i + 1] = "rel/cache".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = cli_in(s.cache.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(s.cache.path().join("rel/cache/current").exists());
    let mut show = args.clone();
    show[1] = "show";
    let o = cli_in(s.cache.path(), &show);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[tokio::test]
async fn tampered_cache_fails_show_with_code() {
    let s = Setup::published().await;
    assert_eq!(s.run("update", &[]).status.code(), Some(0));
    let gen = s
        .cache
        .path()
        .join(std::fs::read_to_string(s.cache.path().join("current")).unwrap().trim());
    let target: PathBuf = std::fs::read_dir(gen.join("targets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(TRUSTED_ROOT_TARGET))
        .unwrap();
    let mut bytes = std::fs::read(&target).unwrap();
    bytes.push(b' ');
    std::fs::write(&target, bytes).unwrap();
    let o = s.run("show", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // One byte longer than the signed length: the size limit or the hash catches it.
    let err = stderr(&o);
    println!("{err}");
    assert!(
        err.starts_with("error[tuf.too_large]") || err.starts_with("error[tuf.hash_mismatch]"),
        "{err}"
    );
}

#[test]
fn unreachable_repository_is_unavailable_not_expired() {
    // The embedded production root (version 15) has expired; with the repository unreachable
    // the failure is the fetch of 16.root.json, not the expiry of the root we could not refresh.
    let cache = TempDir::new().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/trust-sigstore/tuf-roots/production/root.json");
    let o = cli(&[
        "trust",
        "update",
        "--tuf-url",
        "http://127.0.0.1:9",
        "--root",
        root.to_str().unwrap(),
        "--cache",
        cache.path().to_str().unwrap(),
        "--timeout",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("error[tuf.unavailable]: TUF at http://127.0.0.1:9/16.root.json"),
        "{err}"
    );
}

#[test]
fn usage_errors() {
    let o = cli(&["trust", "update", "--staging", "--tuf-url", "https://x.invalid"]);
    assert_eq!(o.status.code(), Some(2));
    let o = cli(&["trust", "update", "--tuf-url", "https://x.invalid"]);
    assert_eq!(o.status.code(), Some(2), "--tuf-url requires --root");
    let cache = TempDir::new().unwrap();
    let o = cli(&[
        "trust",
        "update",
        "--tuf-url",
        "https://x.invalid",
        "--root",
        "/nonexistent/root.json",
        "--cache",
        cache.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error[tuf.initial_root]"), "{}", stderr(&o));
}
