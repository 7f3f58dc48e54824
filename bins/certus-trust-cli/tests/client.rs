//! `certus-trust-cli server ...` against the real `certus-trust-server` binary on 127.0.0.1: every
//! endpoint through the CLI, exit codes, human and `--json` output, and the offline verifier on a
//! server-signed bundle.
//!
//! The server binary is the one beside this test's target directory (`target/<profile>/`); it is
//! built with `cargo build -p certus-trust-server` when missing or older than the workspace
//! sources. `CERTUS_TRUST_SERVER_BIN` points at another binary instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};
use trust_store::testing::TempDir;

/// The server's own signer (the local-mode defaults of a fresh data directory).
const IDENTITY: &str = "certus-trust@localhost";
const ISSUER: &str = "https://certus-trust.localhost";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The newest modification time of the sources the server is built from.
fn newest_source(dir: &Path, newest: &mut SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            newest_source(&path, newest);
        } else if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
            *newest = (*newest).max(m);
        }
    }
}

fn server_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CERTUS_TRUST_SERVER_BIN") {
            return PathBuf::from(p);
        }
        // target/<profile>/deps/client-<hash> -> target/<profile>/certus-trust-server
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let bin = profile_dir.join(format!("certus-trust-server{}", std::env::consts::EXE_SUFFIX));
        let root = workspace_root();
        let mut newest = SystemTime::UNIX_EPOCH;
        for d in ["crates", "bins/certus-trust-server", "Cargo.lock", "Cargo.toml"] {
            let p = root.join(d);
            if p.is_dir() {
                newest_source(&p, &mut newest);
            } else if let Ok(m) = std::fs::metadata(&p).and_then(|m| m.modified()) {
                newest = newest.max(m);
            }
        }
        let fresh = std::fs::metadata(&bin)
            .and_then(|m| m.modified())
            .is_ok_and(|built| built >= newest);
        if !fresh {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
            let target_dir = profile_dir.parent().unwrap();
            let mut cmd = Command::new(cargo);
            cmd.current_dir(&root)
                .args(["build", "-p", "certus-trust-server", "--target-dir"])
                .arg(target_dir);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().unwrap();
            assert!(status.success(), "cargo build -p certus-trust-server failed");
        }
        assert!(bin.is_file(), "no server binary at {}", bin.display());
        bin
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running server on a free port with its own data directory; killed on drop.
struct Server {
    child: Child,
    url: String,
    _data: TempDir,
}

impl Server {
    fn start() -> Server {
        let data = TempDir::new();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(data.path().join("server.log")).unwrap();
        let child = Command::new(server_binary())
            .env("CERTUS_TRUST_LISTEN", format!("127.0.0.1:{port}"))
            .env("CERTUS_TRUST_DATA_DIR", data.path().join("data"))
            .env("CERTUS_TRUST_URL", &url)
            .env_remove("CERTUS_TRUST_CONFIG")
            .env_remove("CERTUS_TRUST_DATABASE_URL")
            .env_remove("CERTUS_TRUST_UPLOAD_INNER_IDENTITY")
            .env_remove("CERTUS_TRUST_UPLOAD_INNER_ISSUER")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            url,
            _data: data,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = self.url.trim_start_matches("http://").to_owned();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server exited with {status}: {}", self.log());
            }
            if health_ok(&addr) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer /v1/health: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._data.path().join("server.log")).unwrap_or_default()
    }

    /// `certus-trust-cli server --server <this> ...`.
    fn cli(&self) -> Command {
        let mut c = cli();
        c.args(["server", "--server", &self.url]);
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw `GET /v1/health` (the client under test is not used to decide the server is up).
fn health_ok(addr: &str) -> bool {
    use std::io::Write;
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_certus-trust-cli"));
    c.env_remove("CERTUS_TRUST_SERVER");
    c
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!(
        "{:?}\n  status {}\n  stdout {}\n  stderr {}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "command failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ok_json(cmd: &mut Command) -> Value {
    serde_json::from_str(&ok(cmd.arg("--json"))).expect("--json prints JSON")
}

/// Runs, expects exit `code` and `error[error_code]` on stderr; returns stdout.
fn fails(cmd: &mut Command, code: i32, error_code: &str) -> String {
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(code));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error[{error_code}]")), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn sha256_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(trust_core::crypto::sha256(bytes)))
}

#[test]
fn sign_verify_transparency_and_keys() {
    let server = Server::start();
    let tmp = TempDir::new();
    let dir = tmp.path();
    let artifact = write(dir, "app.tar", b"certus client test artifact\n");
    let digest = sha256_of(b"certus client test artifact\n");
    let bundle = dir.join("app.sigstore.json");

    // Sign a file: human output names the digest and the signer, the bundle is written.
    let out = ok(server
        .cli()
        .args(["sign", "--artifact-type", "tarball", "--bundle"])
        .arg(&bundle)
        .arg(&artifact));
    assert!(
        out.contains(&format!("signed {digest} as {IDENTITY} (issuer {ISSUER})")),
        "{out}"
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert!(written["mediaType"].as_str().unwrap().contains("bundle"), "{written}");

    // Verify with the returned bundle, for the file and for its digest.
    let out = ok(server
        .cli()
        .args(["verify", "--identity", IDENTITY, "--issuer", ISSUER, "--bundle"])
        .arg(&bundle)
        .arg(&artifact));
    assert!(out.starts_with(&format!("OK: {digest} signed by {IDENTITY}")), "{out}");
    assert!(out.contains("logged: index 0"), "{out}");
    ok(server
        .cli()
        .args(["verify", "--identity", IDENTITY, "--issuer", ISSUER, "--bundle"])
        .arg(&bundle)
        .arg(&digest));

    // Another identity: a negative verdict, exit 1, the reason's code on stderr.
    fails(
        server
            .cli()
            .args([
                "verify",
                "--identity",
                "mallory@example.com",
                "--issuer",
                ISSUER,
                "--bundle",
            ])
            .arg(&bundle)
            .arg(&artifact),
        1,
        "cert.identity_mismatch",
    );
    // The same with --json: the verdict document on stdout, still exit 1.
    let stdout = fails(
        server
            .cli()
            .args([
                "verify",
                "--json",
                "--identity",
                "mallory@example.com",
                "--issuer",
                ISSUER,
            ])
            .arg("--bundle")
            .arg(&bundle)
            .arg(&artifact),
        1,
        "cert.identity_mismatch",
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["code"], "cert.identity_mismatch");
    // Another artifact: the bundle does not cover it.
    let other = write(dir, "other.tar", b"something else\n");
    let out = run(server.cli().args(["verify", "--bundle"]).arg(&bundle).arg(&other));
    assert_eq!(out.status.code(), Some(1));

    // Sign the same digest a second time, --json: the fields the detached verification needs.
    let signed = ok_json(server.cli().args(["sign", &digest]));
    let entry_id = signed["entry_id"].as_str().unwrap().to_owned();
    assert_eq!(signed["transparency_entry"]["index"], 1);
    assert_eq!(signed["signer"]["identity"], IDENTITY);
    let sig = write(dir, "app.sig", signed["signature"].as_str().unwrap().as_bytes());
    let cert = write(dir, "app.pem", signed["certificate"].as_str().unwrap().as_bytes());

    // Detached verification (signature + certificate), --json parsed.
    let v = ok_json(
        server
            .cli()
            .args(["verify", "--identity", IDENTITY, "--issuer", ISSUER, "--signature"])
            .arg(&sig)
            .arg("--certificate")
            .arg(&cert)
            .arg(&artifact),
    );
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["signer"], IDENTITY);
    assert_eq!(v["transparency_index"], 1);
    // Detached, for an artifact that signature does not belong to: no log entry, exit 1.
    fails(
        server
            .cli()
            .args(["verify", "--signature"])
            .arg(&sig)
            .arg("--certificate")
            .arg(&cert)
            .arg(&other),
        1,
        "verify.no_log_entry",
    );

    // The entry with its inclusion proof.
    let out = ok(server.cli().args(["entry", "--proof", &entry_id]));
    assert!(out.starts_with(&format!("entry {entry_id}")), "{out}");
    assert!(
        out.contains("index: 1") && out.contains(&format!("artifact: {digest}")),
        "{out}"
    );
    assert!(out.contains("inclusion proof: leaf 1 in tree size 2"), "{out}");
    let e = ok_json(server.cli().args(["entry", "--proof", "1"]));
    assert_eq!(e["uuid"], entry_id.as_str());
    assert_eq!(e["inclusion_proof"]["tree_size"], 2);
    let e = ok_json(server.cli().args(["entry", &entry_id]));
    assert!(e["inclusion_proof"].is_null(), "no proof without --proof");
    // Unknown entry: the server's 404 problem, exit 2.
    fails(
        server.cli().args(["entry", &"ab".repeat(32)]),
        2,
        "transparency.entry_not_found",
    );

    // Search finds both entries for the digest signed twice.
    let out = ok(server.cli().args(["search"]).arg(&artifact));
    assert!(out.starts_with(&format!("2 entries for {digest}")), "{out}");
    let found = ok_json(server.cli().args(["search", &digest]));
    let indexes: Vec<u64> = found["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 1]);
    // A malformed digest: the server's 400, exit 2.
    fails(server.cli().args(["search", "sha256:xyz"]), 2, "request.invalid_digest");

    // Checkpoint, then a consistency proof between two handed-out sizes (checked locally).
    let cp = ok_json(server.cli().arg("checkpoint"));
    assert_eq!(cp["tree_size"], 2);
    assert!(cp["checkpoint"].as_str().unwrap().contains("\n2\n"), "{cp}");
    let out = ok(server.cli().arg("checkpoint"));
    assert!(out.starts_with("tree size 2, root "), "{out}");
    ok(server.cli().args([
        "sign",
        "sha256:0000000000000000000000000000000000000000000000000000000000000001",
    ]));
    ok(server.cli().arg("checkpoint"));
    let out = ok(server.cli().args(["proof", "--from", "2", "--to", "3"]));
    assert!(out.contains("verified against the roots of both checkpoints"), "{out}");
    let out = ok(server.cli().args(["proof", "--from", "0", "--to", "3"]));
    assert!(out.contains("0 hash(es), verified"), "{out}");
    let p = ok_json(server.cli().args(["proof", "--from", "1", "--to", "3"]));
    assert_eq!(p["from"], 1);
    assert!(!p["hashes"].as_array().unwrap().is_empty());
    fails(
        server.cli().args(["proof", "--from", "3", "--to", "9"]),
        2,
        "log.out_of_range",
    );

    // Keys, trusted root, trust config.
    let out = ok(server.cli().arg("keys"));
    for role in [
        "transparency-log:",
        "certificate-transparency-log:",
        "certificate-authority:",
        "timestamp-authority:",
    ] {
        assert!(out.contains(role), "{role} missing: {out}");
    }
    let keys = ok_json(server.cli().arg("keys"));
    assert!(keys["keys"].as_array().unwrap().len() >= 4);
    let root = dir.join("trusted_root.json");
    let out = ok(server.cli().args(["trusted-root", "--out"]).arg(&root));
    assert!(out.contains("1 transparency log(s)"), "{out}");
    let root_json: Value = serde_json::from_slice(&std::fs::read(&root).unwrap()).unwrap();
    assert!(root_json["mediaType"].as_str().unwrap().contains("trustedroot"));
    let tc = dir.join("trust_config.json");
    ok(server.cli().args(["trust-config", "--out"]).arg(&tc));
    let tc_json: Value = serde_json::from_slice(&std::fs::read(&tc).unwrap()).unwrap();
    assert!(tc_json["trustedRoot"].is_object(), "{tc_json}");
    let printed: Value = serde_json::from_str(&ok(server.cli().arg("trusted-root"))).unwrap();
    assert_eq!(printed, root_json);

    // The offline verifier accepts the server-signed bundle with the server's trusted root,
    // and refuses another identity.
    let out = ok(cli()
        .args([
            "verify-bundle",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .arg("--trusted-root")
        .arg(&root)
        .arg("--bundle")
        .arg(&bundle)
        .arg(&artifact));
    assert!(out.contains(&format!("OK: {digest} signed by {IDENTITY}")), "{out}");
    fails(
        cli()
            .args([
                "verify-bundle",
                "--certificate-identity",
                "x@example.com",
                "--certificate-oidc-issuer",
                ISSUER,
            ])
            .arg("--trusted-root")
            .arg(&root)
            .arg("--bundle")
            .arg(&bundle)
            .arg(&artifact),
        1,
        "cert.identity_mismatch",
    );
}

/// Signs `statement` artifacts as an in-toto statement through the server; the bundle path.
fn sign_statement(server: &Server, dir: &Path, digest: &str, name: &str) -> PathBuf {
    let predicate = write(dir, "scan.json", br#"{"scanner": "certus-assurance", "findings": 0}"#);
    let bundle = dir.join(format!("{name}.inner.sigstore.json"));
    let out = ok(server
        .cli()
        .args([
            "sign",
            "--subject",
            name,
            "--predicate-type",
            "https://certus.dev/scan/v1",
        ])
        .arg("--predicate")
        .arg(&predicate)
        .arg("--bundle")
        .arg(&bundle)
        .arg(digest));
    assert!(out.contains("signed"), "{out}");
    bundle
}

#[test]
fn permit_allowed_and_denied() {
    let server = Server::start();
    let tmp = TempDir::new();
    let dir = tmp.path();
    let digest = sha256_of(b"image layer");
    let inner = sign_statement(&server, dir, &digest, "app.tar");
    let permit = |extra: &[&str], bundle: &Path| {
        let mut c = server.cli();
        c.args(["permit", "--scan-id", "scan-42", "--inner-bundle"])
            .arg(bundle)
            .args(extra);
        c
    };
    let expected = ["--expected-identity", IDENTITY, "--expected-issuer", ISSUER];
    let artifact = format!("app.tar={digest}");

    // Allowed: the inner signer is the server itself, the digest is the statement's subject.
    let outer = dir.join("outer.sigstore.json");
    let out = ok(&mut permit(
        &[
            &["--artifact", &artifact, "--destination", "s3://releases/certus/1.0"][..],
            &expected[..],
            &[
                "--git-repository",
                "https://git.example/app",
                "--git-commit",
                "abc123",
                "--git-branch",
                "main",
            ],
            &["--outer-bundle", outer.to_str().unwrap()],
        ]
        .concat(),
        &inner,
    ));
    assert!(
        out.starts_with("PERMITTED: scan scan-42 to s3://releases/certus/1.0"),
        "{out}"
    );
    assert!(
        out.contains(&format!("inner signer: {IDENTITY} (issuer {ISSUER})")),
        "{out}"
    );
    assert!(out.contains("inner entry: ") && out.contains("outer entry: "), "{out}");
    // The outer bundle is certus-trust's permission statement: it verifies offline.
    let root = dir.join("trusted_root.json");
    ok(server.cli().args(["trusted-root", "--out"]).arg(&root));
    ok(cli()
        .args([
            "verify-bundle",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .arg("--trusted-root")
        .arg(&root)
        .arg("--bundle")
        .arg(&outer)
        .arg(&digest));
    // --json, to an OCI destination.
    let v = ok_json(&mut permit(
        &[
            &[
                "--artifact",
                &artifact,
                "--destination",
                "oci://registry.example/app@sha256:1",
            ][..],
            &expected[..],
        ]
        .concat(),
        &inner,
    ));
    assert_eq!(v["permitted"], true, "{v}");
    assert_eq!(v["destination"]["kind"], "oci");
    assert_eq!(v["destination"]["reference"], "registry.example/app@sha256:1");
    assert!(v["verification_proof"]["outer_bundle"].is_object());

    // Denied: the wrong expected signer.
    fails(
        &mut permit(
            &[
                "--artifact",
                &artifact,
                "--destination",
                "s3://releases",
                "--expected-identity",
                "scanner@example.com",
                "--expected-issuer",
                ISSUER,
            ],
            &inner,
        ),
        1,
        "cert.identity_mismatch",
    );
    // Denied: a digest the statement does not cover (--json: the decision on stdout too).
    let stranger = sha256_of(b"not scanned");
    let stdout = fails(
        &mut permit(
            &[
                &[
                    "--json",
                    "--artifact",
                    &artifact,
                    "--artifact",
                    &format!("extra.bin={stranger}"),
                ][..],
                &["--destination", "s3://releases"],
                &expected[..],
            ]
            .concat(),
            &inner,
        ),
        1,
        "permit.digest_not_signed",
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["permitted"], false);
    assert!(v["reason"].as_str().unwrap().contains("extra.bin"), "{v}");
    // Denied: a tampered bundle (one character of the DSSE signature flipped).
    let mut b: Value = serde_json::from_slice(&std::fs::read(&inner).unwrap()).unwrap();
    let sig = b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap().to_owned();
    let mut chars: Vec<char> = sig.chars().collect();
    chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
    b["dsseEnvelope"]["signatures"][0]["sig"] = Value::String(chars.into_iter().collect());
    let tampered = write(dir, "tampered.sigstore.json", &serde_json::to_vec(&b).unwrap());
    let out = run(&mut permit(
        &[
            &["--artifact", &artifact, "--destination", "s3://releases"][..],
            &expected[..],
        ]
        .concat(),
        &tampered,
    ));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[signature.") && stderr.contains("upload not permitted"),
        "{stderr}"
    );

    // Bad input never reaches a verdict: exit 2.
    fails(
        &mut permit(
            &[
                &["--artifact", &artifact, "--destination", "ftp://x"][..],
                &expected[..],
            ]
            .concat(),
            &inner,
        ),
        2,
        "input.invalid_destination",
    );
    fails(
        &mut permit(
            &[
                &["--artifact", "no-digest", "--destination", "s3://b"][..],
                &expected[..],
            ]
            .concat(),
            &inner,
        ),
        2,
        "input.invalid_artifact",
    );
    fails(
        &mut permit(
            &[
                &["--artifact", "app.tar=sha256:nothex", "--destination", "s3://b"][..],
                &expected[..],
            ]
            .concat(),
            &inner,
        ),
        2,
        "request.invalid_digest",
    );
}

#[test]
fn operations_endpoints() {
    let server = Server::start();
    let out = ok(server.cli().arg("health"));
    assert_eq!(out.trim(), format!("{}: ok", server.url));
    assert_eq!(ok_json(server.cli().arg("health"))["status"], "ok");

    let out = ok(server.cli().arg("ready"));
    assert!(out.starts_with("ready\n"), "{out}");
    for check in ["store: ok", "log: ok", "ca: ok", "tsa: ok"] {
        assert!(out.contains(check), "{check}: {out}");
    }
    assert_eq!(ok_json(server.cli().arg("ready"))["ready"], true);

    ok(server.cli().args(["sign", &sha256_of(b"metrics")]));
    let out = ok(server.cli().arg("metrics"));
    assert!(out.contains("# TYPE"), "{out}");
    assert!(out.contains("signing") || out.contains("signings"), "{out}");

    let out = ok(server.cli().arg("openapi"));
    assert!(out.contains("POST   /v1/sign"), "{out}");
    assert!(out.contains("POST   /v1/verify-and-permit-upload"), "{out}");
    let doc = ok_json(server.cli().arg("openapi"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert!(doc["paths"]["/v1/transparency/{entry_id}"].is_object());

    // --json keeps the server's key order (`artifact` before `entries`; a sorted map would agree,
    // so check a document where it would not: the readiness answer puts `ready` before `checks`).
    let text = ok(server.cli().args(["--json", "ready"]));
    assert!(text.starts_with("{\n  \"ready\": true,\n  \"checks\": {"), "{text}");

    // The server URL from the environment, with a trailing slash.
    let mut c = cli();
    c.env("CERTUS_TRUST_SERVER", format!("{}/", server.url))
        .args(["server", "health"]);
    ok(&mut c);
}

#[test]
fn readiness_failure_exits_1() {
    // A server that is not ready answers 503 with its readiness document (a fake one here: the
    // real server cannot be made unready portably).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fake = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = std::io::Read::read(&mut s, &mut buf);
        let body = r#"{"ready":false,"checks":{"store":{"ok":false,"detail":"database is locked"},"log":{"ok":true,"detail":"fine"}}}"#;
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        std::io::Write::write_all(&mut s, answer.as_bytes()).unwrap();
    });
    let stdout = fails(cli().args(["server", "--server", &url, "ready"]), 1, "server.not_ready");
    assert!(stdout.contains("store: FAILED - database is locked"), "{stdout}");
    fake.join().unwrap();
}

#[test]
fn server_errors_map_to_exit_codes() {
    // A 5xx problem document: its code and detail, exit 1.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fake = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = std::io::Read::read(&mut s, &mut buf);
        let body = r#"{"type":"https://certus.dev/problems/store.unavailable","title":"Service Unavailable","status":503,"detail":"the database is down","code":"store.unavailable"}"#;
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        std::io::Write::write_all(&mut s, answer.as_bytes()).unwrap();
    });
    let out = run(cli().args(["server", "--server", &url, "checkpoint"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error[store.unavailable]: the database is down"
    );
    fake.join().unwrap();
}

#[test]
fn unreachable_server_and_timeout() {
    // Nothing listens on a port we just released: connection refused.
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = run(cli().args(["server", "--server", &url, "health"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[client.unreachable]") && stderr.contains(&url),
        "{stderr}"
    );

    // A server that accepts but never answers: the whole-request timeout.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let started = Instant::now();
    let out = run(cli().args(["server", "--server", &url, "--timeout", "1", "checkpoint"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[client.timeout]") && stderr.contains(&url),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout did not bound the request"
    );
    drop(listener);

    // Not an http(s) URL: usage error.
    fails(
        cli().args(["server", "--server", "ftp://example", "health"]),
        2,
        "client.invalid_url",
    );
}
