//! Local mode as a private Sigstore: sigstore-python signs (hashedrekord and DSSE) against the
//! server's Fulcio v2, Rekor v1 and TSA endpoints with a real RS256 ID token from
//! `oidc-provider-mock` on 127.0.0.1; the bundles verify with certus-trust and with
//! sigstore-python. Bad tokens, keys and entries are refused and change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use trust_core::crypto::{pem_encode, sha256, Digest, HashAlgorithm};
use trust_sigstore::embedded::keys::{KeyAlgorithm, SigningKey};
use trust_store::testing::TempDir;

const EMAIL: &str = "alice@example.com";

fn sigstore(args: &[&str]) -> Output {
    Command::new(sigstore_python())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn verify_identity(tc: &str, bundle: &Path, artifact: &str, issuer: &str) -> Output {
    let bundle = bundle.to_str().unwrap();
    sigstore(&[
        "--trust-config",
        tc,
        "verify",
        "identity",
        "--bundle",
        bundle,
        "--cert-identity",
        EMAIL,
        "--cert-oidc-issuer",
        issuer,
        artifact,
    ])
}

fn tree_size(port: u16) -> u64 {
    request(port, "GET", "/api/v1/log", None, &[]).json()["treeSize"]
        .as_u64()
        .unwrap()
}

fn signing_cert(port: u16, token: &str, body: &Value) -> Resp {
    let bearer = format!("Bearer {token}");
    request(
        port,
        "POST",
        "/api/v2/signingCert",
        Some(body.to_string().as_bytes()),
        &[("Authorization", bearer.as_str())],
    )
}

fn key_request(key: &SigningKey, proof_over: &str) -> Value {
    json!({"publicKeyRequest": {
        "publicKey": {"algorithm": "ECDSA", "content": pem_encode("PUBLIC KEY", key.public_key_spki_der())},
        "proofOfPossession": B64.encode(key.sign(proof_over.as_bytes()).unwrap()),
    }})
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigstore_python_signs_against_local_mode_and_bad_tokens_change_nothing() {
    let provider = Provider::start();
    let foreign = Provider::start();
    let issuer = provider.issuer();
    let claims = json!({"email": EMAIL, "email_verified": true});
    let token = provider.token(EMAIL, &claims);

    let dir = TempDir::new();
    let s = start_with(dir.path(), &[("CERTUS_TRUST_OIDC_ISSUERS", issuer.clone())]);
    let cfg = request(s.port, "GET", "/v1/keys/trust-config", None, &[]);
    assert_eq!(cfg.status, 200);
    let tc = dir.path().join("trust-config.json");
    std::fs::write(&tc, &cfg.body).unwrap();
    let conf = request(s.port, "GET", "/api/v2/configuration", None, &[]).json();
    assert_eq!(conf["issuers"][0]["issuerUrl"], issuer.as_str());

    // sigstore-python signs a blob (Fulcio CSR, Rekor hashedrekord, TSA) and an attestation (DSSE).
    let artifact = dir.path().join("artifact.txt");
    std::fs::write(&artifact, b"signed through the Sigstore protocols").unwrap();
    let (tc_s, art_s) = (tc.to_str().unwrap(), artifact.to_str().unwrap());
    let bundle = dir.path().join("blob.sigstore.json");
    let out = sigstore(&[
        "--trust-config",
        tc_s,
        "sign",
        "--identity-token",
        &token,
        "--bundle",
        bundle.to_str().unwrap(),
        art_s,
    ]);
    ok(&out, "sigstore sign");
    let predicate = dir.path().join("predicate.json");
    std::fs::write(
        &predicate,
        json!({"buildDefinition": {"buildType": "https://example.com/build", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://example.com/builder"}}})
        .to_string(),
    )
    .unwrap();
    let attestation = dir.path().join("attestation.sigstore.json");
    let out = sigstore(&[
        "--trust-config",
        tc_s,
        "attest",
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--predicate",
        predicate.to_str().unwrap(),
        "--identity-token",
        &token,
        "--bundle",
        attestation.to_str().unwrap(),
        art_s,
    ]);
    ok(&out, "sigstore attest");
    assert_eq!(tree_size(s.port), 2);

    // Both verify with sigstore-python against the token's identity and issuer ...
    for b in [&bundle, &attestation] {
        ok(&verify_identity(tc_s, b, art_s, &issuer), "sigstore verify identity");
    }
    // ... and with certus-trust; another identity does not.
    let digest = digest_of(&std::fs::read(&artifact).unwrap());
    for b in [&bundle, &attestation] {
        let b: Value = serde_json::from_slice(&std::fs::read(b).unwrap()).unwrap();
        let v = post(
            s.port,
            "/v1/verify",
            &json!({"artifact": digest, "bundle": b, "identity": EMAIL, "issuer": issuer}),
        )
        .json();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["signer"], EMAIL);
        let wrong = post(
            s.port,
            "/v1/verify",
            &json!({"artifact": digest, "bundle": b, "identity": "mallory@example.com", "issuer": issuer}),
        )
        .json();
        assert_eq!(wrong["valid"], false);
    }
    // The entries are recorded with the token's identity and found by digest (both endpoints).
    let found = request(s.port, "GET", &format!("/v1/transparency?artifact={digest}"), None, &[]).json();
    assert_eq!(found["entries"].as_array().unwrap().len(), 2, "{found}");
    let uuids = post(s.port, "/api/v1/index/retrieve", &json!({"hash": digest})).json();
    assert_eq!(uuids.as_array().unwrap().len(), 2);
    let uuid = uuids[0].as_str().unwrap();
    let entry = request(s.port, "GET", &format!("/api/v1/log/entries/{uuid}"), None, &[]).json();
    assert_eq!(entry[uuid]["verification"]["inclusionProof"]["treeSize"], 2);
    let proof = request(s.port, "GET", "/api/v1/log/proof?firstSize=1&lastSize=2", None, &[]).json();
    assert_eq!(
        proof["rootHash"],
        request(s.port, "GET", "/api/v1/log", None, &[]).json()["rootHash"]
    );

    // Rekor v2: the same trust config with a v2 log service; `--rekor-version 2` logs a
    // hashedrekord 0.0.2 (the attestation as a hashedrekord over its PAE), with TSA time only.
    let mut tc2: Value = serde_json::from_slice(&cfg.body).unwrap();
    let mut v2 = tc2["signingConfig"]["rekorTlogUrls"][0].clone();
    v2["majorApiVersion"] = json!(2);
    tc2["signingConfig"]["rekorTlogUrls"].as_array_mut().unwrap().push(v2);
    let tc2_path = dir.path().join("trust-config-v2.json");
    std::fs::write(&tc2_path, tc2.to_string()).unwrap();
    let tc2_s = tc2_path.to_str().unwrap();
    let bundle_v2 = dir.path().join("blob-v2.sigstore.json");
    let out = sigstore(&[
        "--trust-config",
        tc2_s,
        "sign",
        "--rekor-version",
        "2",
        "--identity-token",
        &token,
        "--bundle",
        bundle_v2.to_str().unwrap(),
        art_s,
    ]);
    ok(&out, "sigstore sign --rekor-version 2");
    let b2: Value = serde_json::from_slice(&std::fs::read(&bundle_v2).unwrap()).unwrap();
    let tle = &b2["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(tle["kindVersion"]["version"], "0.0.2");
    assert!(tle["inclusionPromise"].is_null(), "Rekor v2 gives no SET");
    ok(
        &verify_identity(tc2_s, &bundle_v2, art_s, &issuer),
        "sigstore verify identity (Rekor v2 bundle)",
    );
    let v = post(
        s.port,
        "/v1/verify",
        &json!({"artifact": digest, "bundle": b2, "identity": EMAIL, "issuer": issuer}),
    )
    .json();
    assert_eq!(v["valid"], true, "{v}");
    let cp = request(s.port, "GET", "/api/v2/checkpoint", None, &[]);
    assert_eq!(String::from_utf8_lossy(&cp.body).lines().nth(1), Some("3"));

    // Fulcio's publicKeyRequest: the proof of possession signs the email.
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let issued = signing_cert(s.port, &token, &key_request(&key, EMAIL));
    assert_eq!(issued.status, 200, "{}", String::from_utf8_lossy(&issued.body));
    let chain = issued.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"].clone();
    assert_eq!(chain.as_array().unwrap().len(), 3);
    let bad_pop = signing_cert(s.port, &token, &key_request(&key, "mallory@example.com"));
    assert_eq!(bad_pop.status, 400);
    assert_eq!(bad_pop.json()["code"], "fulcio.invalid_proof_of_possession");

    // Refused tokens: another issuer, a forged payload, none at all; nothing issued or logged.
    let size = tree_size(s.port);
    let foreign_token = foreign.token(EMAIL, &claims);
    let r = signing_cert(s.port, &foreign_token, &key_request(&key, EMAIL));
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (401, Some("oidc.unknown_issuer"))
    );
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims: Value = serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
    forged_claims["email"] = json!("mallory@example.com");
    let forged = format!("{}.{}.{}", parts[0], B64URL.encode(forged_claims.to_string()), parts[2]);
    let r = signing_cert(s.port, &forged, &key_request(&key, "mallory@example.com"));
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("oidc.bad_signature")));
    let r = request(
        s.port,
        "POST",
        "/api/v2/signingCert",
        Some(key_request(&key, EMAIL).to_string().as_bytes()),
        &[],
    );
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("oidc.missing_token")));
    // An unverified email is refused.
    let unverified = provider.token(
        "bob@example.com",
        &json!({"email": "bob@example.com", "email_verified": false}),
    );
    let r = signing_cert(s.port, &unverified, &key_request(&key, "bob@example.com"));
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (401, Some("oidc.unverified_email"))
    );

    // Rekor refuses an entry whose signature does not verify, and a duplicate; the log is unchanged.
    let cert_pem = chain[0].as_str().unwrap();
    let d = Digest::new(HashAlgorithm::Sha256, &sha256(b"x")).unwrap();
    let entry = |sig: &[u8]| {
        json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex(d.as_bytes())}},
            "signature": {"content": B64.encode(sig), "publicKey": {"content": B64.encode(cert_pem)}}}})
    };
    let other = Digest::new(HashAlgorithm::Sha256, &sha256(b"y")).unwrap();
    let r = post(s.port, "/api/v1/log/entries", &entry(&key.sign_digest(&other).unwrap()));
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["code"], 400, "Rekor's error shape");
    assert_eq!(tree_size(s.port), size);
    let good = entry(&key.sign_digest(&d).unwrap());
    let created = post(s.port, "/api/v1/log/entries", &good);
    assert_eq!(created.status, 201);
    let location = created.header("location").unwrap().to_owned();
    assert!(location.starts_with("/api/v1/log/entries/"));
    let dup = post(s.port, "/api/v1/log/entries", &good);
    assert_eq!((dup.status, dup.json()["code"].as_u64()), (409, Some(409)));
    assert_eq!(
        dup.header("location"),
        Some(location.as_str()),
        "a duplicate points at the entry"
    );
    assert_eq!(tree_size(s.port), size + 1);

    // tlog-tiles reads: the level-0 tile's hashes are the entries' leaf hashes, and they fold to
    // the root the log publishes.
    let n = tree_size(s.port);
    let tile = request(s.port, "GET", &format!("/api/v2/tile/0/000.p/{n}"), None, &[]);
    assert_eq!(tile.status, 200);
    let leaves: Vec<[u8; 32]> = tile.body.chunks(32).map(|c| c.try_into().unwrap()).collect();
    assert_eq!(leaves.len() as u64, n);
    assert_eq!(
        hex(&mth(&leaves)),
        request(s.port, "GET", "/api/v1/log", None, &[]).json()["rootHash"]
            .as_str()
            .unwrap()
    );
    let bundle = request(s.port, "GET", &format!("/api/v2/tile/entries/000.p/{n}"), None, &[]);
    assert_eq!(bundle.status, 200);
    let (mut rest, mut i) = (&bundle.body[..], 0);
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert_eq!(trust_core::tlog::leaf_hash(&rest[2..2 + len]), leaves[i]);
        rest = &rest[2 + len..];
        i += 1;
    }
    assert_eq!(i as u64, n);
    let beyond = request(s.port, "GET", &format!("/api/v2/tile/0/000.p/{}", n + 1), None, &[]);
    assert_eq!(beyond.status, 404);
}

/// RFC 6962 Merkle tree hash of leaf hashes.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = leaves.len().next_power_of_two() / 2;
    trust_core::tlog::node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
}

#[test]
fn without_configured_issuers_no_certificate_is_issued() {
    let provider = Provider::start();
    let token = provider.token(EMAIL, &json!({"email": EMAIL, "email_verified": true}));
    let dir = TempDir::new();
    let s = start_with(dir.path(), &[]);
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let r = signing_cert(s.port, &token, &key_request(&key, EMAIL));
    assert_eq!(r.status, 401);
    let p = r.json();
    assert_eq!(p["code"], "oidc.no_issuers");
    assert!(
        p["detail"].as_str().unwrap().contains("CERTUS_TRUST_OIDC_ISSUERS"),
        "{p}"
    );
    assert_eq!(tree_size(s.port), 0);
}
