//! `sign-bundle` (the conformance client protocol) against a private Sigstore on 127.0.0.1: the
//! local-mode REST server in-process, serving Fulcio v2, Rekor v1 and the TSA, trusting
//! `oidc-provider-mock`, whose real RS256 ID tokens the CLI is given. The bundles verify with
//! `verify-bundle` and sigstore-python; bad tokens and unreachable services fail with their code
//! and log nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../certus-trust-server/tests/common/net.rs"]
mod net;

use net::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trust_api::{ApiConfig, AppState, Backend};
use trust_core::trust_root::TrustedRoot;
use trust_core::verifier::{Verifier, VerifierConfig};
use trust_sigstore::embedded::local::{self, InitOptions, LocalSigstore};
use trust_sigstore::oidc::{IssuerConfig, OidcVerifier};
use trust_store::testing::{sqlite_url, TempDir};
use trust_store::Store;

const EMAIL: &str = "builder@example.com";

/// The local-mode server, in-process, on a free loopback port.
struct Upstream {
    port: u16,
    trusted_root: PathBuf,
    signing_config: PathBuf,
    trust_config: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl Upstream {
    fn start(dir: &Path, issuer: &str) -> Upstream {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = dir.join("data");
        let options = InitOptions {
            url: format!("http://127.0.0.1:{port}"),
            ..InitOptions::default()
        };
        local::init(&data, &options, None).unwrap();
        let issuer = issuer.to_owned();
        let (root, config) = runtime.block_on(async {
            let store = Arc::new(Store::open(&sqlite_url(&data)).await.unwrap());
            let local = LocalSigstore::open(&data, store.clone(), None, 16).unwrap();
            let (root, config) = (local.trusted_root(), local.client_trust_config());
            let verifier = Verifier::new(
                TrustedRoot::from_json(root.to_string().as_bytes()).unwrap(),
                VerifierConfig::default(),
            )
            .unwrap();
            let api = ApiConfig {
                oidc: Some(Arc::new(
                    OidcVerifier::with_http(vec![IssuerConfig::new(issuer)]).unwrap(),
                )),
                ..ApiConfig::default()
            };
            let state = AppState::new(Backend::Local(Box::new(local)), store, verifier, api, None);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            tokio::spawn(trust_api::serve(listener, state, std::future::pending()));
            (root, config)
        });
        let write = |name: &str, v: &serde_json::Value| {
            let p = dir.join(name);
            std::fs::write(&p, v.to_string()).unwrap();
            p
        };
        Upstream {
            port,
            trusted_root: write("trusted_root.json", &root),
            signing_config: write("signing_config.json", &config["signingConfig"]),
            trust_config: write("trust_config.json", &config),
            _runtime: runtime,
        }
    }

    fn tree_size(&self) -> u64 {
        request(self.port, "GET", "/api/v1/log", None, &[]).json()["treeSize"]
            .as_u64()
            .unwrap()
    }
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certus-trust-cli"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn sign_bundle_signs_against_a_private_sigstore_and_the_bundles_verify() {
    let provider = Provider::start();
    let dir = TempDir::new();
    let up = Upstream::start(dir.path(), &provider.issuer());
    let token = provider.token(EMAIL, &json!({"email": EMAIL, "email_verified": true}));
    let artifact = dir.path().join("a.txt");
    std::fs::write(&artifact, b"hello, conformance").unwrap();
    let (root, config) = (s(&up.trusted_root), s(&up.signing_config));

    // A message signature, then verify-bundle and sigstore-python on it.
    let bundle = dir.path().join("a.sigstore.json");
    let before = up.tree_size();
    let out = cli(&[
        "sign-bundle",
        "--identity-token",
        &token,
        "--bundle",
        s(&bundle),
        "--trusted-root",
        root,
        "--signing-config",
        config,
        s(&artifact),
    ]);
    ok(&out, "sign-bundle");
    assert_eq!(up.tree_size(), before + 1);
    let verify = |bundle: &Path| {
        cli(&[
            "verify-bundle",
            "--bundle",
            s(bundle),
            "--trusted-root",
            root,
            "--certificate-identity",
            EMAIL,
            "--certificate-oidc-issuer",
            &provider.issuer(),
            s(&artifact),
        ])
    };
    ok(&verify(&bundle), "verify-bundle");
    let py = Command::new(venv_bin("sigstore"))
        .args([
            "--trust-config",
            s(&up.trust_config),
            "verify",
            "identity",
            "--offline",
            "--cert-identity",
            EMAIL,
        ])
        .args([
            "--cert-oidc-issuer",
            &provider.issuer(),
            "--bundle",
            s(&bundle),
            s(&artifact),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&py, "sigstore-python verify");

    // --in-toto: the statement is signed verbatim in a DSSE envelope; it verifies for the
    // artifact its subject names.
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a.txt", "digest": {"sha256": hex::encode(trust_core::crypto::sha256(b"hello, conformance"))}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.com/build"}},
    });
    let statement_file = dir.path().join("statement.json");
    std::fs::write(&statement_file, statement.to_string()).unwrap();
    let dsse = dir.path().join("a.intoto.sigstore.json");
    let out = cli(&[
        "sign-bundle",
        "--in-toto",
        "--identity-token",
        &token,
        "--bundle",
        s(&dsse),
        "--trusted-root",
        root,
        "--signing-config",
        config,
        s(&statement_file),
    ]);
    ok(&out, "sign-bundle --in-toto");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&dsse).unwrap()).unwrap();
    let payload = written["dsseEnvelope"]["payload"].as_str().unwrap();
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD.decode(payload).unwrap();
    assert_eq!(payload, std::fs::read(&statement_file).unwrap(), "signed verbatim");
    ok(&verify(&dsse), "verify-bundle (DSSE)");

    // A statement about another artifact is refused before anything is sent.
    std::fs::write(&statement_file, b"{\"_type\": \"https://in-toto.io/Statement/v1\"}").unwrap();
    let before = up.tree_size();
    let out = cli(&[
        "sign-bundle",
        "--in-toto",
        "--identity-token",
        &token,
        "--bundle",
        s(&dsse),
        "--trusted-root",
        root,
        "--signing-config",
        config,
        s(&statement_file),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    // A token from an issuer the Fulcio does not trust: refused by Fulcio, nothing logged.
    let other = Provider::start();
    let foreign = other.token(EMAIL, &json!({"email": EMAIL, "email_verified": true}));
    let refused = dir.path().join("refused.sigstore.json");
    let out = cli(&[
        "sign-bundle",
        "--identity-token",
        &foreign,
        "--bundle",
        s(&refused),
        "--trusted-root",
        root,
        "--signing-config",
        config,
        s(&artifact),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[fulcio.failed]") && err.contains("401"), "{err}");
    assert!(!refused.exists(), "no bundle written");
    assert_eq!(up.tree_size(), before);

    // Not a token at all.
    let out = cli(&[
        "sign-bundle",
        "--identity-token",
        "not-a-jwt",
        "--bundle",
        s(&refused),
        "--trusted-root",
        root,
        "--signing-config",
        config,
        s(&artifact),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error[token."),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sign_bundle_against_an_unreachable_sigstore_fails_in_bounded_time() {
    let dir = TempDir::new();
    let port = free_port();
    let unreachable = format!("http://127.0.0.1:{port}");
    let service = |url: &str| json!([{"url": url, "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "x"}]);
    let config = json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": service(&unreachable),
        "rekorTlogUrls": service(&unreachable),
        "rekorTlogConfig": {"selector": "ANY"},
    });
    let config_file = dir.path().join("signing_config.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sigstore-trust-roots/staging/trusted_root.json");
    let artifact = dir.path().join("a.txt");
    std::fs::write(&artifact, b"x").unwrap();
    // A syntactically valid, unexpired token (unsigned: it never gets past the client here).
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let exp = trust_sigstore::embedded::now().secs() + 600;
    let token = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256"})),
        b64(json!({"iss": "https://issuer.example", "sub": "s", "email": EMAIL, "aud": "sigstore", "exp": exp}))
    );
    let started = Instant::now();
    let out = cli(&[
        "sign-bundle",
        "--identity-token",
        &token,
        "--bundle",
        s(&dir.path().join("b.json")),
        "--trusted-root",
        s(&root),
        "--signing-config",
        s(&config_file),
        s(&artifact),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[fulcio.unavailable]") && err.contains(&unreachable),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
