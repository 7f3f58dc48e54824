//! The Sigstore conformance suite's 70 bundle-verification cases, each run twice (artifact path
//! and `sha256:` digest): 140 verifications through the trust-core library and 140 invocations of
//! the `certus-trust-cli verify-bundle` binary with the exact conformance flags.
//!
//! Convention (fixtures/sigstore-conformance/README.md): a case whose folder ends in `_fail` must
//! be rejected, every other case must verify. Cases without their own `trusted_root.json` use the
//! production root; if that cannot be loaded the whole test fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is a test failure"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use trust_core::crypto::{Digest, HashAlgorithm, PublicKey};
use trust_core::policy::{CertificateIdentity, PolicyBuilder};
use trust_core::time::UnixTime;
use trust_core::trust_root::TrustedRoot;
use trust_core::verifier::{Verifier, VerifierConfig};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

struct Case {
    name: String,
    dir: PathBuf,
    should_pass: bool,
    artifact: PathBuf,
    trusted_root: PathBuf,
    key: Option<PathBuf>,
    identity: String,
    issuer: String,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn cases() -> Vec<Case> {
    let root = fixtures().join("sigstore-conformance/bundle-verify");
    let production = fixtures().join("sigstore-trust-roots/production/trusted_root.json");
    TrustedRoot::from_json(&std::fs::read(&production).expect("production trusted root readable"))
        .expect("production trusted root parses");
    let mut out: Vec<Case> = std::fs::read_dir(&root)
        .expect("conformance cases present")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let artifact = if dir.join("artifact").exists() {
                dir.join("artifact")
            } else {
                root.join("a.txt")
            };
            let trusted_root = if dir.join("trusted_root.json").exists() {
                dir.join("trusted_root.json")
            } else {
                production.clone()
            };
            Case {
                should_pass: !name.ends_with("_fail"),
                key: Some(dir.join("key.pub")).filter(|k| k.exists()),
                identity: read_trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()),
                issuer: read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()),
                name,
                dir,
                artifact,
                trusted_root,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(out.len(), 70, "expected the 70 upstream cases");
    assert_eq!(out.iter().filter(|c| c.should_pass).count(), 21);
    out
}

/// Why each `_fail` case must fail, as trust-core's stable error code. Pinning the reason keeps a
/// case from "passing" because an unrelated check happens to reject it first. Each was checked
/// against the case's upstream README.
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    ("bundle-empty-certificate-chain_fail", "bundle.missing_field"),
    ("bundle-from-wrong-instance_fail", "tlog.unknown_log"),
    ("bundle-invalid-base64-signature_fail", "bundle.invalid_base64"),
    ("bundle-malformed-json_fail", "bundle.malformed"),
    ("bundle-negative-log-index_fail", "bundle.invalid_field"),
    ("bundle-unknown-version_fail", "bundle.unsupported_version"),
    ("bundle-with-root-cert_fail", "bundle.invalid_field"),
    ("checkpoint-bad-keyhint_fail", "tlog.checkpoint_no_matching_signature"),
    ("checkpoint-wrong-roothash_fail", "tlog.checkpoint_root_mismatch"),
    ("dsse-invalid-sig_fail", "signature.dsse_invalid"),
    ("dsse-mismatch-envelope_fail", "tlog.body_mismatch"),
    ("dsse-mismatch-sig_fail", "tlog.body_mismatch"),
    ("inclusion-proof-corrupted-hash_fail", "tlog.inclusion_proof_mismatch"),
    ("incorrect-public-key_fail", "tlog.body_mismatch"),
    // README: the integrated time is not within the signing certificate's validity.
    ("integrated-time-in-future_fail", "cert.expired_at_signing_time"),
    ("intoto-expired-certificate_fail", "cert.not_yet_valid_at_signing_time"),
    ("intoto-log-entry-mismatch_fail", "tlog.body_mismatch"),
    ("intoto-missing-inclusion-proof_fail", "bundle.missing_field"),
    (
        "intoto-set-outside-signing-cert-validity_fail",
        "cert.expired_at_signing_time",
    ),
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        "cert.expired_at_signing_time",
    ),
    ("invalid-checkpoint-signature_fail", "tlog.checkpoint_signature_invalid"),
    ("invalid-ct-key_fail", "sct.unknown_log"),
    // A v0.2 bundle whose (stale) proof also lacks the checkpoint that v0.2 makes mandatory: we
    // refuse to check a proof against an unsigned root. The Merkle check itself is pinned by
    // inclusion-proof-corrupted-hash_fail and the tamper tests.
    ("invalid-inclusion-proof_fail", "bundle.missing_field"),
    ("managed-key-no-key_fail", "signer.kind_mismatch"),
    // The case's key.pub is not valid PEM upstream either.
    ("managed-key-wrong-key_fail", "key.malformed"),
    ("message-digest-mismatch_fail", "signature.digest_mismatch"),
    (
        "rekor2-checkpoint-missing-log-signature_fail",
        "tlog.checkpoint_malformed",
    ),
    ("rekor2-checkpoint-missing-origin_fail", "tlog.checkpoint_malformed"),
    ("rekor2-checkpoint-missing-root-hash_fail", "tlog.checkpoint_malformed"),
    ("rekor2-checkpoint-missing-size_fail", "tlog.checkpoint_malformed"),
    (
        "rekor2-checkpoint-no-matching-signature_fail",
        "tlog.checkpoint_origin_mismatch",
    ),
    ("rekor2-dsse-invalid-sig_fail", "signature.dsse_invalid"),
    ("rekor2-dsse-mismatch-envelope_fail", "tlog.body_mismatch"),
    ("rekor2-dsse-mismatch-sig_fail", "tlog.body_mismatch"),
    ("rekor2-no-inclusion-proof_fail", "bundle.missing_field"),
    ("rekor2-no-timestamp_fail", "threshold.observer_timestamps"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "timestamp.outside_tsa_validity",
    ),
    (
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "timestamp.outside_tsa_cert_validity",
    ),
    (
        "rekor2-timestamp-payload-mismatch_fail",
        "timestamp.message_imprint_mismatch",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "timestamp.untrusted_tsa",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "timestamp.untrusted_tsa",
    ),
    (
        "rekor2-timestamp-with-incorrect-time_fail",
        "cert.expired_at_signing_time",
    ),
    ("set-invalid-signature_fail", "tlog.set_invalid"),
    ("signature-mismatch_fail", "signature.invalid"),
    ("trust-root-tlog-missing-validity-start_fail", "trust_root.bad_validity"),
    ("wrong-hashedrekord-artifact_fail", "tlog.body_mismatch"),
    ("wrong-hashedrekord-cert-and-sig_fail", "tlog.body_mismatch"),
    ("wrong-hashedrekord-entry_fail", "tlog.body_mismatch"),
    ("wrong-material_fail", "signature.digest_mismatch"),
];

fn digest_arg(c: &Case) -> String {
    let bytes = std::fs::read(&c.artifact).unwrap();
    HashAlgorithm::Sha256.hash(&bytes).to_string()
}

fn now() -> UnixTime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    UnixTime::from_secs(d.as_secs() as i64)
}

/// Verifies one case through the library; `Ok` on success, `Err(code)` on any failure.
fn verify_lib(c: &Case, by_digest: bool) -> Result<(), String> {
    let root = TrustedRoot::from_json(&std::fs::read(&c.trusted_root).unwrap()).map_err(|e| e.code().to_string())?;
    let verifier = Verifier::new(root, VerifierConfig::default()).map_err(|e| e.code().to_string())?;
    let bytes = std::fs::read(&c.artifact).unwrap();
    let mut policy = PolicyBuilder::new().now(now());
    policy = if by_digest {
        policy.artifact_digest(Digest::parse_prefixed(&digest_arg(c)).unwrap())
    } else {
        policy.artifact_bytes(&bytes)
    };
    policy = match &c.key {
        // managed-key-wrong-key_fail ships a key.pub that is not valid PEM: that is a failure too.
        Some(k) => policy
            .public_key(PublicKey::from_pem(&std::fs::read_to_string(k).unwrap()).map_err(|e| e.code().to_string())?),
        None => policy.certificate_identity(CertificateIdentity::exact(&c.identity, &c.issuer).unwrap()),
    };
    let policy = policy.build().map_err(|e| e.code().to_string())?;
    let bundle = std::fs::read(c.dir.join("bundle.sigstore.json")).unwrap();
    verifier
        .verify_json(&bundle, &policy)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", e.code()))
}

fn verify_cli(c: &Case, by_digest: bool) -> Result<(), String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certus-trust-cli"));
    cmd.arg("verify-bundle")
        .arg("--bundle")
        .arg(c.dir.join("bundle.sigstore.json"));
    match &c.key {
        Some(k) => cmd.arg("--key").arg(k),
        None => cmd.args([
            "--certificate-identity",
            &c.identity,
            "--certificate-oidc-issuer",
            &c.issuer,
        ]),
    };
    cmd.arg("--trusted-root").arg(&c.trusted_root);
    if by_digest {
        cmd.arg(digest_arg(c));
    } else {
        cmd.arg(&c.artifact);
    }
    let out = cmd.output().expect("run certus-trust-cli");
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("error["),
            "{}: failure without an error code: {stderr}",
            c.name
        );
        Err(stderr.trim().to_string())
    }
}

fn run_all(label: &str, verify: fn(&Case, bool) -> Result<(), String>) {
    let mut wrong = Vec::new();
    let mut count = 0;
    for c in cases() {
        for by_digest in [false, true] {
            count += 1;
            let result = verify(&c, by_digest);
            let mode = if by_digest { "digest" } else { "path" };
            match (c.should_pass, &result) {
                (true, Err(e)) => wrong.push(format!("{} [{mode}] should pass, failed: {e}", c.name)),
                (false, Ok(())) => wrong.push(format!("{} [{mode}] should fail, passed", c.name)),
                _ => {}
            }
        }
    }
    assert_eq!(count, 140);
    assert!(
        wrong.is_empty(),
        "{label}: {} of 140 wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn conformance_failures_have_the_expected_reason() {
    let cases = cases();
    let failing: Vec<&Case> = cases.iter().filter(|c| !c.should_pass).collect();
    assert_eq!(
        EXPECTED_FAILURES.len(),
        failing.len(),
        "one expected reason per _fail case"
    );
    let mut wrong = Vec::new();
    for c in failing {
        let expected = EXPECTED_FAILURES
            .iter()
            .find(|(n, _)| *n == c.name)
            .map(|(_, code)| *code);
        for by_digest in [false, true] {
            // verify_lib reports "code: message"; compare the code.
            let got = verify_lib(c, by_digest)
                .err()
                .map(|e| e.split(':').next().unwrap_or_default().to_string());
            if got.as_deref() != expected {
                wrong.push(format!(
                    "{} [digest={by_digest}]: expected {expected:?}, got {got:?}",
                    c.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn conformance_library_140() {
    run_all("library", verify_lib);
}

#[test]
fn conformance_cli_140() {
    run_all("cli", verify_cli);
}
