//! Tamper tests: start from valid conformance bundles, change exactly one thing, and assert the
//! specific error code. Each baseline is first shown to verify, so every failure below is caused
//! by the one change.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is a test failure"
)]

use base64::Engine;
use serde_json::Value;
use std::path::PathBuf;
use trust_core::crypto::{Digest, HashAlgorithm};
use trust_core::policy::{CertificateIdentity, PolicyBuilder};
use trust_core::time::UnixTime;
use trust_core::trust_root::TrustedRoot;
use trust_core::verifier::{Verifier, VerifierConfig};

const ID: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn case_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sigstore-conformance/bundle-verify")
        .join(name)
}

struct Baseline {
    bundle: Value,
    verifier: Verifier,
    artifact: Vec<u8>,
}

fn baseline(name: &str) -> Baseline {
    let dir = case_dir(name);
    let root_path = if dir.join("trusted_root.json").exists() {
        dir.join("trusted_root.json")
    } else {
        dir.join("../../../sigstore-trust-roots/production/trusted_root.json")
    };
    let root = TrustedRoot::from_json(&std::fs::read(root_path).unwrap()).unwrap();
    let artifact_path = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        dir.join("../a.txt")
    };
    let b = Baseline {
        bundle: serde_json::from_slice(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap(),
        verifier: Verifier::new(root, VerifierConfig::default()).unwrap(),
        artifact: std::fs::read(artifact_path).unwrap(),
    };
    b.run_with(&b.bundle, &b.artifact, ID, ISSUER)
        .unwrap_or_else(|e| panic!("baseline {name} must verify: {e}"));
    b
}

fn now() -> UnixTime {
    UnixTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    )
}

impl Baseline {
    fn run_with(&self, bundle: &Value, artifact: &[u8], id: &str, issuer: &str) -> Result<(), String> {
        let policy = PolicyBuilder::new()
            .artifact_bytes(artifact)
            .certificate_identity(CertificateIdentity::exact(id, issuer).unwrap())
            .now(now())
            .build()
            .unwrap();
        let json = serde_json::to_vec(bundle).unwrap();
        self.verifier
            .verify_json(&json, &policy)
            .map(|_| ())
            .map_err(|e| format!("{}|{e}", e.code()))
    }

    /// Applies `edit` to a copy of the bundle and returns the failure code.
    fn tampered(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut b = self.bundle.clone();
        edit(&mut b);
        code(self.run_with(&b, &self.artifact, ID, ISSUER))
    }
}

fn code(r: Result<(), String>) -> String {
    let e = r.expect_err("tampered bundle must not verify");
    e.split('|').next().unwrap().to_string()
}

/// Decodes a base64 field, applies `f` to the bytes, and re-encodes it.
fn edit_b64(v: &mut Value, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = B64.decode(v.as_str().unwrap()).unwrap();
    f(&mut bytes);
    *v = Value::String(B64.encode(bytes));
}

fn flip_last(b: &mut [u8]) {
    let n = b.len() - 1;
    b[n] ^= 0x01;
}

fn entry(b: &mut Value) -> &mut Value {
    &mut b["verificationMaterial"]["tlogEntries"][0]
}

#[test]
fn rekor_v1_message_bundle_tampering() {
    let b = baseline("happy-path-v0.3");
    let t = |f: &dyn Fn(&mut Value)| b.tampered(|v| f(v));

    assert_eq!(
        t(&|v| edit_b64(&mut v["messageSignature"]["signature"], |b| flip_last(b))),
        "signature.invalid"
    );
    assert_eq!(
        t(&|v| edit_b64(&mut v["messageSignature"]["messageDigest"]["digest"], |b| flip_last(b))),
        "signature.digest_mismatch"
    );
    assert_eq!(
        code(b.run_with(&b.bundle, b"not the artifact", ID, ISSUER)),
        "signature.digest_mismatch",
        "another artifact"
    );
    // The logged body names another digest: the entry no longer records this signing.
    assert_eq!(
        t(&|v| edit_b64(&mut entry(v)["canonicalizedBody"], |body| {
            let mut j: Value = serde_json::from_slice(body).unwrap();
            let h = j["spec"]["data"]["hash"]["value"].as_str().unwrap().to_string();
            j["spec"]["data"]["hash"]["value"] =
                Value::String(format!("{}{}", &h[..63], if h.ends_with('0') { '1' } else { '0' }));
            *body = serde_json::to_vec(&j).unwrap();
        })),
        "tlog.body_mismatch"
    );
    assert_eq!(
        t(&|v| edit_b64(&mut entry(v)["inclusionProof"]["hashes"][0], |b| flip_last(b))),
        "tlog.inclusion_proof_mismatch"
    );
    // The proof's root (or size) no longer matches the signed checkpoint's.
    assert_eq!(
        t(&|v| edit_b64(&mut entry(v)["inclusionProof"]["rootHash"], |b| flip_last(b))),
        "tlog.checkpoint_root_mismatch"
    );
    assert_eq!(
        t(&|v| {
            let size: u64 = entry(v)["inclusionProof"]["treeSize"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            entry(v)["inclusionProof"]["treeSize"] = Value::String((size + 1).to_string());
        }),
        "tlog.checkpoint_root_mismatch"
    );
    assert_eq!(
        t(&|v| {
            let env = entry(v)["inclusionProof"]["checkpoint"]["envelope"]
                .as_str()
                .unwrap()
                .to_string();
            // Re-sign nothing: flip one byte of the signature in the last signature line.
            let (head, sig_line) = env.trim_end().rsplit_once('\n').unwrap();
            let (prefix, sig_b64) = sig_line.rsplit_once(' ').unwrap();
            let mut sig = B64.decode(sig_b64).unwrap();
            flip_last(&mut sig);
            entry(v)["inclusionProof"]["checkpoint"]["envelope"] =
                Value::String(format!("{head}\n{prefix} {}\n", B64.encode(sig)));
        }),
        "tlog.checkpoint_signature_invalid"
    );
    assert_eq!(
        t(&|v| edit_b64(
            &mut entry(v)["inclusionPromise"]["signedEntryTimestamp"],
            |b| flip_last(b)
        )),
        "tlog.set_invalid"
    );
    assert_eq!(
        t(&|v| {
            let it: i64 = entry(v)["integratedTime"].as_str().unwrap().parse().unwrap();
            entry(v)["integratedTime"] = Value::String((it + 1).to_string());
        }),
        "tlog.set_invalid"
    );
    assert_eq!(
        t(&|v| v["mediaType"] = Value::String("application/vnd.dev.sigstore.bundle.v0.4+json".into())),
        "bundle.unsupported_version"
    );
    assert_eq!(
        t(&|v| v["mediaType"] = Value::String("application/vnd.dev.sigstore.bundle+json;version=0.1".into())),
        "bundle.invalid_field"
    );
    assert_eq!(
        code(b.run_with(
            &b.bundle,
            &b.artifact,
            "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main",
            ISSUER
        )),
        "cert.identity_mismatch"
    );
    assert_eq!(
        code(b.run_with(&b.bundle, &b.artifact, ID, "https://accounts.google.com")),
        "cert.issuer_mismatch"
    );
    assert_eq!(
        t(&|v| {
            entry(v)["logId"]["keyId"] = Value::String(B64.encode([7u8; 32]));
        }),
        "tlog.unknown_log"
    );
}

#[test]
fn certificate_tampering() {
    let b = baseline("happy-path-v0.3");
    // Flip one bit inside the leaf's signature value: the key and the logged body are unchanged
    // except for the certificate bytes, so the log entry no longer matches this certificate.
    let code = b.tampered(|v| {
        edit_b64(&mut v["verificationMaterial"]["certificate"]["rawBytes"], |b| {
            flip_last(b)
        })
    });
    assert_eq!(code, "tlog.body_mismatch");
    // Swap in another genuine Fulcio leaf (different key): the artifact signature fails first.
    let other: Value = serde_json::from_slice(
        &std::fs::read(case_dir("happy-path-intoto-in-dsse-v3").join("bundle.sigstore.json")).unwrap(),
    )
    .unwrap();
    let code =
        b.tampered(|v| v["verificationMaterial"]["certificate"] = other["verificationMaterial"]["certificate"].clone());
    assert_eq!(code, "signature.invalid");
}

#[test]
fn rekor_v2_timestamped_bundle_tampering() {
    let b = baseline("rekor2-happy-path");
    fn tsa(v: &mut Value) -> &mut Value {
        &mut v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
    }
    assert!(b
        .tampered(|v| edit_b64(&mut tsa(v)[0]["signedTimestamp"], |b| flip_last(b)))
        .starts_with("timestamp."));
    assert_eq!(
        b.tampered(|v| *tsa(v) = Value::Array(vec![])),
        "threshold.observer_timestamps"
    );
    assert_eq!(
        b.tampered(|v| edit_b64(&mut entry(v)["inclusionProof"]["hashes"][0], |b| flip_last(b))),
        "tlog.inclusion_proof_mismatch"
    );
    // Rekor v2 has no SET: the entry's index must be the one the checkpointed proof vouches for.
    assert_eq!(
        b.tampered(|v| {
            let i: u64 = entry(v)["logIndex"].as_str().unwrap().parse().unwrap();
            entry(v)["logIndex"] = Value::String((i + 1).to_string());
        }),
        "tlog.log_index_mismatch"
    );
}

#[test]
fn rekor_v2_log_key_must_be_valid_at_the_timestamp() {
    // Same bundle, but the trusted root says the v2 log key only became valid after the
    // timestamp: with no integrated time, the RFC 3161 time is what the key's validity is checked at.
    let dir = case_dir("rekor2-happy-path");
    let mut root: Value = serde_json::from_slice(&std::fs::read(dir.join("trusted_root.json")).unwrap()).unwrap();
    for log in root["tlogs"].as_array_mut().unwrap() {
        if log["publicKey"]["keyDetails"] == "PKIX_ED25519" {
            log["publicKey"]["validFor"]["start"] = Value::String("2099-01-01T00:00:00Z".into());
        }
    }
    let root = TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap();
    let verifier = Verifier::new(root, VerifierConfig::default()).unwrap();
    let artifact = std::fs::read(dir.join("../a.txt")).unwrap();
    let policy = PolicyBuilder::new()
        .artifact_bytes(&artifact)
        .certificate_identity(CertificateIdentity::exact(ID, ISSUER).unwrap())
        .now(now())
        .build()
        .unwrap();
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
    assert_eq!(
        verifier.verify_json(&bundle, &policy).unwrap_err().code(),
        "tlog.outside_log_validity"
    );
}

#[test]
fn dsse_bundle_tampering() {
    let b = baseline("happy-path-intoto-in-dsse-v3");
    assert_eq!(
        b.tampered(|v| edit_b64(&mut v["dsseEnvelope"]["payload"], |p| p.push(b' '))),
        "signature.dsse_invalid"
    );
    assert_eq!(
        b.tampered(|v| edit_b64(&mut v["dsseEnvelope"]["signatures"][0]["sig"], |b| flip_last(b))),
        "signature.dsse_invalid"
    );
    assert_eq!(
        code(b.run_with(&b.bundle, b"another artifact", ID, ISSUER)),
        "signature.artifact_not_in_statement"
    );
}

#[test]
fn digest_and_bytes_paths_agree() {
    let b = baseline("happy-path-v0.3");
    let digest: Digest = HashAlgorithm::Sha256.hash(&b.artifact);
    let policy = PolicyBuilder::new()
        .artifact_digest(digest)
        .certificate_identity(CertificateIdentity::exact(ID, ISSUER).unwrap())
        .now(now())
        .build()
        .unwrap();
    let json = serde_json::to_vec(&b.bundle).unwrap();
    let v = b.verifier.verify_json(&json, &policy).unwrap();
    assert_eq!(v.artifact_digest, digest.to_string());
}
