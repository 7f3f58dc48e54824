//! The server binary end to end over real HTTP on 127.0.0.1: configuration, the API contract,
//! problem documents, limits, request ids, records, SIGTERM, both backends, and sigstore-python
//! verifying what the server signs with the trust config the server publishes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use trust_store::testing::{postgres_url, TempDir};

const IDENTITY: &str = "certus-trust@localhost";
const ISSUER: &str = "https://certus-trust.localhost";

mod common;
use common::*;

fn python_verify(tc: &Path, bundle: &Path, artifact: &Path) -> Output {
    Command::new(sigstore_python())
        .arg("--trust-config")
        .arg(tc)
        .args(["verify", "identity", "--offline", "--bundle"])
        .arg(bundle)
        .args(["--cert-identity", IDENTITY, "--cert-oidc-issuer", ISSUER])
        .arg(artifact)
        .output()
        .unwrap()
}

/// Sign, verify, look up, prove; the bundles verify with sigstore-python too.
fn sign_verify_lookup(s: &Server) {
    let artifact = s.dir.join("artifact.bin");
    std::fs::write(&artifact, b"server-signed artifact").unwrap();
    let digest = digest_of(b"server-signed artifact");

    let signed = post(
        s.port,
        "/v1/sign",
        &json!({"artifact": digest, "artifact_type": "file", "subject": "artifact.bin"}),
    );
    assert_eq!(signed.status, 201, "{}", String::from_utf8_lossy(&signed.body));
    let signed = signed.json();
    for field in [
        "entry_id",
        "signature",
        "certificate",
        "signer",
        "transparency_entry",
        "bundle",
    ] {
        assert!(!signed[field].is_null(), "sign response lacks {field}");
    }
    assert_eq!(signed["signer"]["identity"], IDENTITY);
    let dsse = post(
        s.port,
        "/v1/sign",
        &json!({"artifact": digest, "predicate_type": "https://slsa.dev/provenance/v1", "predicate": {"builder": {"id": "x"}}}),
    );
    assert_eq!(dsse.status, 201);
    let dsse = dsse.json();

    // Verify: bundle, identity; wrong identity; detached.
    let ok = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": digest, "bundle": signed["bundle"], "identity": IDENTITY, "issuer": ISSUER}),
    );
    assert_eq!(ok.status, 200);
    let ok = ok.json();
    assert_eq!(ok["valid"], true, "{ok}");
    assert_eq!(ok["transparency_index"], signed["transparency_entry"]["index"]);
    for field in [
        "verified_at",
        "signer",
        "issuer",
        "integrated_time",
        "certificate_chain",
        "errors",
    ] {
        assert!(!ok[field].is_null(), "verify response lacks {field}");
    }
    let wrong = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": digest, "bundle": signed["bundle"], "identity": "x@y.z", "issuer": ISSUER}),
    )
    .json();
    assert_eq!(wrong["valid"], false);
    assert_eq!(wrong["errors"][0]["code"], "cert.identity_mismatch");
    let detached = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": digest, "signature": signed["signature"], "certificate": signed["certificate"], "identity": IDENTITY, "issuer": ISSUER}),
    )
    .json();
    assert_eq!(detached["valid"], true, "{detached}");
    let other = digest_of(b"other");
    let detached_other = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": other, "signature": signed["signature"], "certificate": signed["certificate"]}),
    )
    .json();
    assert_eq!(detached_other["valid"], false);

    // Transparency.
    let id = signed["entry_id"].as_str().unwrap();
    let entry = request(
        s.port,
        "GET",
        &format!("/v1/transparency/{id}?include_proof=true"),
        None,
        &[],
    );
    assert_eq!(entry.status, 200);
    let entry = entry.json();
    assert_eq!(entry["uuid"], id);
    assert!(entry["inclusion_proof"]["checkpoint"].as_str().unwrap().contains(" - "));
    let missing = request(
        s.port,
        "GET",
        &format!("/v1/transparency/{}", "0".repeat(64)),
        None,
        &[],
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-type"), Some("application/problem+json"));
    assert_eq!(missing.json()["code"], "transparency.entry_not_found");
    let found = request(s.port, "GET", &format!("/v1/transparency?artifact={digest}"), None, &[]).json();
    assert_eq!(
        found["entries"].as_array().unwrap().len(),
        2,
        "every entry for the digest"
    );
    let cp = request(s.port, "GET", "/v1/transparency/checkpoint", None, &[]).json();
    let size = cp["tree_size"].as_u64().unwrap();
    assert!(size >= 2);
    let proof = request(
        s.port,
        "GET",
        &format!("/v1/transparency/proof?from=1&to={size}"),
        None,
        &[],
    );
    assert_eq!(proof.status, 200);
    let bad = request(
        s.port,
        "GET",
        &format!("/v1/transparency/proof?from=3&to={}", size + 5),
        None,
        &[],
    );
    assert_eq!(bad.status, 400);

    // Keys and trust material; sigstore-python verifies both bundles with the served config.
    let keys = request(s.port, "GET", "/v1/keys", None, &[]).json();
    let roles: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["role"].as_str().unwrap())
        .collect();
    for role in [
        "transparency-log",
        "certificate-transparency-log",
        "certificate-authority",
        "timestamp-authority",
    ] {
        assert!(roles.contains(&role), "{roles:?}");
    }
    let tc = s.dir.join("trust_config.json");
    std::fs::write(&tc, request(s.port, "GET", "/v1/keys/trust-config", None, &[]).body).unwrap();
    for (name, resp) in [("plain", &signed), ("dsse", &dsse)] {
        let b = s.dir.join(format!("{name}.sigstore.json"));
        std::fs::write(&b, serde_json::to_vec(&resp["bundle"]).unwrap()).unwrap();
        let out = python_verify(&tc, &b, &artifact);
        assert!(
            out.status.success(),
            "sigstore-python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn serves_the_api_on_sqlite_and_sigstore_python_verifies() {
    let tmp = TempDir::new();
    let s = start_with(&tmp.path().join("data"), &[]);
    sign_verify_lookup(&s);
}

#[test]
fn serves_the_api_on_postgres() {
    let tmp = TempDir::new();
    let s = start_with(
        &tmp.path().join("data"),
        &[("CERTUS_TRUST_DATABASE_URL", postgres_url())],
    );
    sign_verify_lookup(&s);
}

#[test]
fn permit_upload_allows_and_denies_with_reasons() {
    let tmp = TempDir::new();
    let s = start_with(&tmp.path().join("data"), &[]);
    let (a, b) = (digest_of(b"a.tar"), digest_of(b"b.tar"));
    // The inner bundle: an in-toto statement signed by this server about artifact a.
    let inner = post(
        s.port,
        "/v1/sign",
        &json!({"artifact": a, "subject": "a.tar", "predicate_type": "https://certus.dev/scan/v1"}),
    )
    .json();
    let req = |artifacts: Value, bundle: &Value, identity: &str| {
        json!({
            "scan_id": "scan-1",
            "artifacts": artifacts,
            "inner_bundle": bundle,
            "git": {"repository": "https://git.example/repo", "commit": "abc", "branch": "main"},
            "destination": {"kind": "s3", "bucket": "releases", "prefix": "app/"},
            "expected_inner_signer": {"identity": identity, "issuer": ISSUER},
        })
    };
    let allowed = post(
        s.port,
        "/v1/verify-and-permit-upload",
        &req(json!([{"name": "a.tar", "digest": a}]), &inner["bundle"], IDENTITY),
    );
    assert_eq!(allowed.status, 200);
    let allowed = allowed.json();
    assert_eq!(allowed["permitted"], true, "{allowed}");
    assert_eq!(allowed["verification_proof"]["inner_entry"]["uuid"], inner["entry_id"]);
    let outer = &allowed["verification_proof"]["outer_bundle"];
    assert!(outer["dsseEnvelope"].is_object());
    // The outer bundle verifies for the artifact, signed by the service itself.
    let v = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": a, "bundle": outer, "identity": IDENTITY, "issuer": ISSUER}),
    )
    .json();
    assert_eq!(v["valid"], true);
    assert_eq!(
        v["details"]["statement"]["predicate_type"],
        "https://certus.dev/upload-permission/v1"
    );

    let wrong_signer = post(
        s.port,
        "/v1/verify-and-permit-upload",
        &req(json!([{"name": "a.tar", "digest": a}]), &inner["bundle"], "mallory@x"),
    )
    .json();
    assert_eq!(wrong_signer["permitted"], false);
    assert!(
        wrong_signer["reason"]
            .as_str()
            .unwrap()
            .starts_with("cert.identity_mismatch"),
        "{wrong_signer}"
    );
    let not_in_statement = post(
        s.port,
        "/v1/verify-and-permit-upload",
        &req(
            json!([{"name": "a.tar", "digest": a}, {"name": "b.tar", "digest": b}]),
            &inner["bundle"],
            IDENTITY,
        ),
    )
    .json();
    assert_eq!(not_in_statement["permitted"], false);
    assert!(not_in_statement["reason"]
        .as_str()
        .unwrap()
        .starts_with("permit.digest_not_signed"));
    assert!(not_in_statement["reason"].as_str().unwrap().contains("b.tar"));
    let mut tampered = inner["bundle"].clone();
    tampered["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = json!("1700000000");
    let t = post(
        s.port,
        "/v1/verify-and-permit-upload",
        &req(json!([{"name": "a.tar", "digest": a}]), &tampered, IDENTITY),
    )
    .json();
    assert_eq!(t["permitted"], false, "{t}");
    assert!(t["verification_proof"]["outer_bundle"].is_null());

    // Bad requests are 400 with a specific code and record nothing.
    let bad = post(
        s.port,
        "/v1/verify-and-permit-upload",
        &json!({"scan_id": "s", "artifacts": [], "inner_bundle": {}, "destination": {"kind": "s3", "bucket": "b"}}),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["code"], "request.no_artifacts");
    let bad = post(
        s.port,
        "/v1/verify-and-permit-upload",
        &json!({"scan_id": "s", "artifacts": [{"name": "a", "digest": a}], "inner_bundle": {}, "destination": {"kind": "ftp"}}),
    );
    assert_eq!(bad.json()["code"], "request.invalid_destination");

    let metrics = String::from_utf8(request(s.port, "GET", "/metrics", None, &[]).body).unwrap();
    assert!(
        metrics.contains("certus_upload_permissions_total{permitted=\"true\",reason=\"permitted\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("certus_upload_permissions_total{permitted=\"false\",reason=\"cert.identity_mismatch\"} 1")
    );
}

#[test]
fn errors_are_problem_documents_with_request_ids_and_limits() {
    let tmp = TempDir::new();
    let s = start_with(&tmp.path().join("data"), &[("CERTUS_TRUST_BODY_LIMIT", "2048".into())]);
    let r = request(
        s.port,
        "POST",
        "/v1/sign",
        Some(b"{not json"),
        &[("X-Request-ID", "trace-123")],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-request-id"), Some("trace-123"));
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["code"], "request.invalid_json");
    let r = request(
        s.port,
        "POST",
        "/v1/sign",
        Some(br#"{"artifact":"sha256:00","bogus":1}"#),
        &[("X-Request-ID", "bad id with spaces")],
    );
    assert_eq!(r.status, 400);
    let minted = r.header("x-request-id").unwrap();
    assert_ne!(minted, "bad id with spaces");
    assert_eq!(minted.len(), 36);
    let r = post(s.port, "/v1/sign", &json!({"artifact": "sha256:00"}));
    assert_eq!(r.json()["code"], "request.invalid_digest");
    let big = vec![b' '; 4096];
    let r = request(s.port, "POST", "/v1/verify", Some(&big), &[]);
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], "request.too_large");
    let r = request(s.port, "GET", "/v2/nothing", None, &[]);
    assert_eq!(
        (r.status, r.json()["code"].as_str().unwrap().to_owned()),
        (404, "route.not_found".into())
    );
    let r = request(s.port, "GET", "/v1/sign", None, &[]);
    assert_eq!(
        (r.status, r.json()["code"].as_str().unwrap().to_owned()),
        (405, "route.method_not_allowed".into())
    );
    let r = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": digest_of(b"x"), "bundle": {"mediaType": "nonsense"}}),
    );
    assert_eq!(r.status, 400, "a malformed bundle is bad input");
    let r = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": digest_of(b"x"), "identity": "a@b"}),
    );
    assert_eq!(r.json()["code"], "request.identity_needs_issuer");

    let ready = request(s.port, "GET", "/v1/ready", None, &[]);
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["ready"], true);
    let api = request(s.port, "GET", "/v1/openapi.json", None, &[]).json();
    for p in [
        "/v1/sign",
        "/v1/verify",
        "/v1/verify-and-permit-upload",
        "/v1/transparency/{entry_id}",
        "/v1/keys/trust-config",
    ] {
        assert!(api["paths"][p].is_object(), "openapi lacks {p}");
    }
    let metrics = String::from_utf8(request(s.port, "GET", "/metrics", None, &[]).body).unwrap();
    assert!(
        metrics.contains("certus_http_requests_total{method=\"POST\",route=\"/v1/sign\",status=\"400\"} 3"),
        "{metrics}"
    );
}

#[test]
fn verifications_are_recorded_and_data_survives_sigterm() {
    let tmp = TempDir::new();
    let dir = tmp.path().join("data");
    let mut s = start_with(&dir, &[]);
    let digest = digest_of(b"persist me");
    let signed = post(s.port, "/v1/sign", &json!({"artifact": digest})).json();
    for _ in 0..3 {
        post(
            s.port,
            "/v1/verify",
            &json!({"artifact": digest, "bundle": signed["bundle"]}),
        );
    }
    // SIGTERM: graceful shutdown, exit status 0.
    let pid = s.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = trust_store::Store::open(&dir.join("certus.db").display().to_string())
            .await
            .unwrap();
        let records = store.verification_records_by_digest(&digest).await.unwrap();
        assert_eq!(records.len(), 3);
        assert!(records.iter().all(|r| r.valid && r.request_id.is_some()));
        assert_eq!(store.signed_artifacts_by_digest(&digest).await.unwrap().len(), 1);
    });
    // Restarted on the same data: the entry is still served.
    let s2 = start_with(&dir, &[]);
    let id = signed["entry_id"].as_str().unwrap();
    assert_eq!(
        request(s2.port, "GET", &format!("/v1/transparency/{id}"), None, &[]).status,
        200
    );
}

#[test]
fn invalid_configuration_stops_the_start_naming_the_key() {
    let tmp = TempDir::new();
    let dir = tmp.path().join("data");
    let check = |envs: &[(&str, &str)], config: Option<&str>, needle: &str| {
        let mut c = server_cmd(&dir, free_port());
        for (k, v) in envs {
            c.env(k, v);
        }
        if let Some(text) = config {
            let p = tmp.path().join("c.toml");
            std::fs::write(&p, text).unwrap();
            c.arg("--config").arg(p);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {envs:?} {config:?}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    };
    check(&[("CERTUS_TRUST_LISTEN", "nowhere")], None, "listen");
    check(&[("CERTUS_TRUST_MODE", "cloud")], None, "CERTUS_TRUST_MODE");
    check(&[("CERTUS_TRUST_MODE", "sigstore")], None, "sigstore");
    check(&[("CERTUS_TRUST_BODY_LIMIT", "lots")], None, "CERTUS_TRUST_BODY_LIMIT");
    check(
        &[("CERTUS_TRUST_SIGNER_IDENTITY", "a@b")],
        None,
        "CERTUS_TRUST_SIGNER_OIDC_ISSUER",
    );
    check(&[], Some("listen = \"127.0.0.1:1\"\nbogus = 1\n"), "bogus");
    check(&[], Some("[limits]\nbody_limit = 0\n"), "limits.body_limit");
    check(&[("CERTUS_TRUST_OIDC_ISSUERS", "ftp://idp")], None, "oidc_issuers");
    check(
        &[],
        Some("[[oidc_issuers]]\nurl = \"https://idp\"\nidentity = \"phone\"\n"),
        "phone",
    );
    let twice = "[[oidc_issuers]]\nurl = \"https://idp\"\n[[oidc_issuers]]\nurl = \"https://idp\"\naudience = \"x\"\n";
    check(&[], Some(twice), "listed twice");
    check(
        &[("CERTUS_TRUST_DATABASE_URL", "mysql://h/db")],
        None,
        "store.invalid_url",
    );
}

fn policy_yaml(identity_regex: &str) -> String {
    format!(
        r#"version: 1
policies:
  scanner:
    description: inner bundles from the scanning service
    rules:
      - name: scanner-identity
        identity: {{regex: "{identity_regex}"}}
        issuer: {{exact: "{ISSUER}"}}
"#
    )
}

#[test]
fn policies_decide_verification_and_uploads_and_reload_on_sighup() {
    let tmp = TempDir::new();
    let policy = tmp.path().join("policy.yaml");
    std::fs::write(&policy, policy_yaml(".*@localhost")).unwrap();
    let s = start_with(
        &tmp.path().join("data"),
        &[
            ("CERTUS_TRUST_POLICY_FILE", policy.display().to_string()),
            ("CERTUS_TRUST_UPLOAD_INNER_POLICY", "scanner".into()),
        ],
    );
    let a = digest_of(b"policy artifact");
    let signed = post(
        s.port,
        "/v1/sign",
        &json!({"artifact": a, "subject": "a", "predicate_type": "https://certus.dev/scan/v1"}),
    )
    .json();
    let verify = |policy: &str| {
        post(
            s.port,
            "/v1/verify",
            &json!({"artifact": a, "bundle": signed["bundle"], "policy": policy}),
        )
    };
    let ok = verify("scanner").json();
    assert_eq!(ok["valid"], true, "{ok}");
    assert_eq!(ok["policy_decision"]["matched_rules"][0], "scanner-identity");
    let unknown = verify("nope");
    assert_eq!(
        (unknown.status, unknown.json()["code"].as_str().unwrap().to_owned()),
        (400, "policy.unknown".into())
    );
    // The upload gateway applies the default inner policy when the request names no signer.
    let permit = |s: &Server| {
        post(
            s.port,
            "/v1/verify-and-permit-upload",
            &json!({"scan_id": "scan-9", "artifacts": [{"name": "a", "digest": a}], "inner_bundle": signed["bundle"],
                    "destination": {"kind": "oci", "reference": "registry.example/app@sha256:00"}}),
        )
        .json()
    };
    assert_eq!(permit(&s)["permitted"], true);

    // Tighten the policy and reload with SIGHUP: the same bundle is now denied, with the reason.
    std::fs::write(&policy, policy_yaml("release-bot@certus\\\\.cloud")).unwrap();
    let hup = || {
        assert!(Command::new("kill")
            .args(["-HUP", &s.child.id().to_string()])
            .status()
            .unwrap()
            .success())
    };
    hup();
    let started = Instant::now();
    let denied = loop {
        let r = verify("scanner").json();
        if r["valid"] == false {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "policy not reloaded");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(denied["errors"][0]["code"], "policy.identity_mismatch", "{denied}");
    let p = permit(&s);
    assert_eq!(p["permitted"], false);
    assert!(
        p["reason"].as_str().unwrap().starts_with("policy.identity_mismatch"),
        "{p}"
    );

    // A broken file is refused on reload; the previous policies stay in force.
    std::fs::write(
        &policy,
        "version: 1\npolicies:\n  scanner:\n    rules: []\n    bogus: 1\n",
    )
    .unwrap();
    hup();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        verify("scanner").json()["errors"][0]["code"],
        "policy.identity_mismatch"
    );
    assert_eq!(request(s.port, "GET", "/v1/health", None, &[]).status, 200);

    // And a broken file stops a start, naming the file.
    let mut c = server_cmd(&tmp.path().join("data2"), free_port());
    c.env("CERTUS_TRUST_POLICY_FILE", &policy);
    let out = c.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy.yaml"));
}
