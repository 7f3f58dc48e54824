//! `mode = "sigstore"` against a real Sigstore on 127.0.0.1: a certus-trust in local mode serving
//! Fulcio v2, Rekor v1 and the TSA protocols, trusting `oidc-provider-mock`, whose RS256 ID tokens
//! the sigstore-mode server reads from a token file. Signings go through Fulcio, the TSA and Rekor,
//! and verify with certus-trust and sigstore-python; outages, stalls and 500s end in a 503 naming
//! the service, within the configured bounds, with nothing recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use trust_store::testing::TempDir;

const EMAIL: &str = "release-bot@example.com";

/// An upstream private Sigstore (local mode) trusting `provider`.
fn upstream(dir: &Path, provider: &Provider) -> Server {
    start_with(dir, &[("CERTUS_TRUST_OIDC_ISSUERS", provider.issuer())])
}

fn token(provider: &Provider, email: &str) -> String {
    provider.token(email, &json!({"email": email, "email_verified": true}))
}

/// Writes the upstream's trusted root and (optionally rewritten) signing config; returns their paths.
fn trust_files(dir: &Path, upstream: &Server, edit: impl Fn(&mut Value)) -> (String, String) {
    let cfg = request(upstream.port, "GET", "/v1/keys/trust-config", None, &[]).json();
    let mut signing = cfg["signingConfig"].clone();
    edit(&mut signing);
    let root = dir.join("trusted_root.json");
    let config = dir.join("signing_config.json");
    std::fs::write(&root, cfg["trustedRoot"].to_string()).unwrap();
    std::fs::write(&config, signing.to_string()).unwrap();
    (root.display().to_string(), config.display().to_string())
}

/// A sigstore-mode server over the given trust files and token file.
fn downstream(dir: &Path, root: &str, config: &str, token_file: &Path) -> Server {
    start_with(
        dir,
        &[
            ("CERTUS_TRUST_MODE", "sigstore".into()),
            ("CERTUS_TRUST_SIGSTORE_TRUSTED_ROOT", root.into()),
            ("CERTUS_TRUST_SIGSTORE_SIGNING_CONFIG", config.into()),
            (
                "CERTUS_TRUST_SIGSTORE_IDENTITY_TOKEN_FILE",
                token_file.display().to_string(),
            ),
            ("CERTUS_TRUST_SIGSTORE_TIMEOUT_SECS", "2".into()),
            ("CERTUS_TRUST_SIGSTORE_RETRIES", "1".into()),
        ],
    )
}

fn tree_size(port: u16) -> u64 {
    request(port, "GET", "/api/v1/log", None, &[]).json()["treeSize"]
        .as_u64()
        .unwrap()
}

fn recorded(dir: &Path, digest: &str) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = trust_store::Store::open(&dir.join("certus.db").display().to_string())
            .await
            .unwrap();
        store.signed_artifacts_by_digest(digest).await.unwrap().len()
    })
}

#[test]
fn sigstore_mode_signs_through_fulcio_tsa_and_rekor_of_a_private_sigstore() {
    let provider = Provider::start();
    let (up_dir, down_dir) = (TempDir::new(), TempDir::new());
    let up = upstream(up_dir.path(), &provider);
    let (root, config) = trust_files(down_dir.path(), &up, |_| {});
    let token_file = down_dir.path().join("token");
    std::fs::write(&token_file, token(&provider, EMAIL)).unwrap();
    let down = downstream(&down_dir.path().join("data"), &root, &config, &token_file);

    // Ready: trust material, Fulcio, Rekor and the TSA each answer (each probe has 2 s; a loaded
    // CI machine may need a second look).
    let started = Instant::now();
    let (status, checks) = loop {
        let ready = request(down.port, "GET", "/v1/ready", None, &[]);
        let checks = ready.json()["checks"].clone();
        if ready.status == 200 || started.elapsed() > Duration::from_secs(20) {
            break (ready.status, checks);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status, 200, "{checks}");
    let up_url = format!("http://127.0.0.1:{}", up.port);
    for name in [
        "trust".to_owned(),
        format!("fulcio {up_url}"),
        format!("rekor {up_url}"),
        format!("tsa {up_url}/api/v1/timestamp"),
    ] {
        assert_eq!(checks[&name]["ok"], true, "{name}: {checks}");
    }

    // A message signature: certificate from Fulcio for the token's identity, timestamp, Rekor entry.
    let artifact = b"release 1.0";
    let digest = digest_of(artifact);
    let before = tree_size(up.port);
    let r = post(
        down.port,
        "/v1/sign",
        &json!({"artifact": digest, "artifact_type": "tarball"}),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let signed = r.json();
    assert_eq!(signed["signer"]["identity"], EMAIL);
    assert_eq!(signed["signer"]["issuer"], provider.issuer());
    assert_eq!(tree_size(up.port), before + 1, "logged upstream exactly once");
    let bundle = &signed["bundle"];
    assert_eq!(
        bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        signed["transparency_entry"]["index"],
        bundle["verificationMaterial"]["tlogEntries"][0]["logIndex"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    );
    assert_eq!(recorded(&down_dir.path().join("data"), &digest), 1);

    // It verifies with the sigstore-mode server, with the upstream, and with sigstore-python.
    let check = json!({"artifact": digest, "bundle": bundle, "identity": EMAIL, "issuer": provider.issuer()});
    for port in [down.port, up.port] {
        let v = post(port, "/v1/verify", &check);
        assert_eq!(v.json()["valid"], true, "{}", String::from_utf8_lossy(&v.body));
    }
    let wrong =
        json!({"artifact": digest, "bundle": bundle, "identity": "mallory@example.com", "issuer": provider.issuer()});
    assert_eq!(post(down.port, "/v1/verify", &wrong).json()["valid"], false);
    let work = down_dir.path();
    std::fs::write(work.join("artifact"), artifact).unwrap();
    std::fs::write(work.join("artifact.sigstore.json"), bundle.to_string()).unwrap();
    let cfg = request(up.port, "GET", "/v1/keys/trust-config", None, &[]).json();
    std::fs::write(work.join("trust_config.json"), cfg.to_string()).unwrap();
    let out = Command::new(sigstore_python())
        .arg("--trust-config")
        .arg(work.join("trust_config.json"))
        .args([
            "verify",
            "identity",
            "--offline",
            "--cert-identity",
            EMAIL,
            "--cert-oidc-issuer",
        ])
        .arg(provider.issuer())
        .arg("--bundle")
        .arg(work.join("artifact.sigstore.json"))
        .arg(work.join("artifact"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore-python: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An in-toto statement (DSSE entry).
    let r = post(
        down.port,
        "/v1/sign",
        &json!({"artifact": digest, "predicate_type": "https://slsa.dev/provenance/v1", "predicate": {"builder": {"id": "ci"}}}),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["bundle"]["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );

    // The token file is re-read when it changes (a rotated projected token, another identity).
    std::fs::write(&token_file, token(&provider, "other-bot@example.com")).unwrap();
    let r = post(down.port, "/v1/sign", &json!({"artifact": digest_of(b"second")}));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["signer"]["identity"], "other-bot@example.com");

    // A token the upstream Fulcio does not accept: refused there, nothing logged or recorded.
    std::fs::write(&token_file, provider.token("nomail", &json!({}))).unwrap();
    let before = tree_size(up.port);
    let d = digest_of(b"refused");
    let r = post(down.port, "/v1/sign", &json!({"artifact": d}));
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["code"], "fulcio.failed");
    assert_eq!(tree_size(up.port), before);
    assert_eq!(recorded(&down_dir.path().join("data"), &d), 0);

    // The embedded log is not served in sigstore mode; the trust material is.
    assert_eq!(
        request(down.port, "GET", "/v1/transparency/checkpoint", None, &[]).json()["code"],
        "mode.local_only"
    );
    let served = request(down.port, "GET", "/v1/keys/trusted-root", None, &[]).json();
    assert_eq!(served, cfg["trustedRoot"]);
}

/// Sends one signing to a sigstore-mode server whose signing config points one service at
/// `fault`; expects a 503 naming `code` within `bound`, and nothing recorded.
fn expect_outage(provider: &Provider, up: &Server, service: &str, fault_url: &str, code: &str, bound: Duration) {
    let dir = TempDir::new();
    let (root, config) = trust_files(dir.path(), up, |sc| {
        let (list, url) = match service {
            "fulcio" => ("caUrls", fault_url.to_owned()),
            "rekor" => ("rekorTlogUrls", fault_url.to_owned()),
            _ => ("tsaUrls", format!("{fault_url}/api/v1/timestamp")),
        };
        sc[list][0]["url"] = Value::String(url);
    });
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token(provider, EMAIL)).unwrap();
    let data = dir.path().join("data");
    let down = downstream(&data, &root, &config, &token_file);
    let before = tree_size(up.port);
    let d = digest_of(format!("{service} {code}").as_bytes());
    let started = Instant::now();
    let r = post(down.port, "/v1/sign", &json!({"artifact": d}));
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{service}: {}", String::from_utf8_lossy(&r.body));
    let problem = r.json();
    assert_eq!(problem["code"], code, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains(fault_url), "{problem}");
    assert!(took < bound, "{service}: took {took:?}");
    if service != "rekor" {
        assert_eq!(tree_size(up.port), before, "{service}: nothing logged upstream");
    }
    assert_eq!(recorded(&data, &d), 0, "{service}: nothing recorded");
    let ready = request(down.port, "GET", "/v1/ready", None, &[]);
    assert_eq!(ready.status, 503);
    let checks = ready.json()["checks"].clone();
    let failing: Vec<&String> = checks
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, c)| c["ok"] == false)
        .map(|(k, _)| k)
        .collect();
    assert!(
        failing.iter().all(|k| k.starts_with(service)) && !failing.is_empty(),
        "{checks}"
    );
}

#[test]
fn outages_stalls_and_server_errors_give_503_naming_the_service_in_bounded_time() {
    let provider = Provider::start();
    let up_dir = TempDir::new();
    let up = upstream(up_dir.path(), &provider);
    // 2 s per attempt, one retry: every outage must end well within 15 s.
    let bound = Duration::from_secs(15);

    let down = format!("http://127.0.0.1:{}", free_port());
    expect_outage(&provider, &up, "fulcio", &down, "fulcio.unavailable", bound);

    let stall = FaultServer::start(0, Duration::ZERO);
    expect_outage(&provider, &up, "rekor", &stall.url(), "rekor.unavailable", bound);

    let failing = FaultServer::start(500, Duration::ZERO);
    expect_outage(&provider, &up, "rekor", &failing.url(), "rekor.unavailable", bound);
    // The signing and then the readiness probe: each one attempt and one retry, no more.
    assert_eq!(failing.hits(), 4, "one retry after a 500, then the 503");

    let throttled = FaultServer::start(429, Duration::ZERO);
    expect_outage(&provider, &up, "tsa", &throttled.url(), "tsa.unavailable", bound);

    let slow = FaultServer::start(200, Duration::from_secs(30));
    expect_outage(&provider, &up, "fulcio", &slow.url(), "fulcio.unavailable", bound);
}

/// Flips one byte of a base64 field.
fn corrupt_b64(v: &mut Value) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = b64.decode(v.as_str().unwrap()).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    *v = Value::String(b64.encode(bytes));
}

/// Every entry of a Rekor v1 answer (`{uuid: entry}`).
fn entries(v: &mut Value) -> impl Iterator<Item = &mut Value> {
    v.as_object_mut().into_iter().flat_map(|o| o.values_mut())
}

#[test]
fn a_forged_set_or_inclusion_proof_from_rekor_is_refused_and_nothing_is_recorded() {
    let provider = Provider::start();
    let up_dir = TempDir::new();
    let up = upstream(up_dir.path(), &provider);
    fn forge_set(v: &mut Value) {
        for e in entries(v) {
            corrupt_b64(&mut e["verification"]["signedEntryTimestamp"]);
        }
    }
    fn forge_proof(v: &mut Value) {
        for e in entries(v) {
            let root = &mut e["verification"]["inclusionProof"]["rootHash"];
            let mut hex_root = root.as_str().unwrap().to_owned();
            let flipped = if hex_root.ends_with('0') { '1' } else { '0' };
            hex_root.pop();
            hex_root.push(flipped);
            *root = Value::String(hex_root);
        }
    }
    for (forge, what) in [
        (forge_set as fn(&mut Value), "tlog.set"),
        (forge_proof as fn(&mut Value), "inclusion"),
    ] {
        let proxy = TamperProxy::start(up.port, forge);
        let dir = TempDir::new();
        let (root, config) = trust_files(dir.path(), &up, |sc| {
            sc["rekorTlogUrls"][0]["url"] = Value::String(proxy.url());
        });
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, token(&provider, EMAIL)).unwrap();
        let data = dir.path().join("data");
        let down = downstream(&data, &root, &config, &token_file);
        let d = digest_of(what.as_bytes());
        let started = Instant::now();
        let r = post(down.port, "/v1/sign", &json!({"artifact": d}));
        assert_eq!(r.status, 502, "{what}: {}", String::from_utf8_lossy(&r.body));
        let problem = r.json();
        assert_eq!(problem["code"], "rekor.failed", "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains(what), "{what}: {problem}");
        assert!(started.elapsed() < Duration::from_secs(15));
        assert_eq!(recorded(&data, &d), 0, "{what}: nothing recorded");
    }
}
