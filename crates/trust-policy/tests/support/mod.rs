//! Real verification results: conformance fixtures verified by trust-core.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::path::{Path, PathBuf};
use trust_core::crypto::PublicKey;
use trust_core::policy::{CertificateIdentity, PolicyBuilder};
use trust_core::time::UnixTime;
use trust_core::trust_root::TrustedRoot;
use trust_core::verifier::{VerifiedBundle, Verifier, VerifierConfig};

pub const BEACON_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A fixed "now" after every fixture's signing time (the fixtures are from 2026-08).
pub fn now() -> UnixTime {
    UnixTime::parse_rfc3339("2026-11-23T12:00:00Z").unwrap()
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn case_dir(case: &str) -> PathBuf {
    fixtures().join("sigstore-conformance/bundle-verify").join(case)
}

/// Verifies a passing conformance case the way the conformance runner does (artifact bytes,
/// the case's root or the production root, its key or the default identity).
pub fn verified(case: &str) -> VerifiedBundle {
    let dir = case_dir(case);
    let root_path = if dir.join("trusted_root.json").exists() {
        dir.join("trusted_root.json")
    } else {
        fixtures().join("sigstore-trust-roots/production/trusted_root.json")
    };
    let root = TrustedRoot::from_json(&std::fs::read(root_path).unwrap()).unwrap();
    let verifier = Verifier::new(root, VerifierConfig::default()).unwrap();
    let artifact = if dir.join("artifact").exists() {
        std::fs::read(dir.join("artifact")).unwrap()
    } else {
        std::fs::read(dir.join("../a.txt")).unwrap()
    };
    let mut policy = PolicyBuilder::new().artifact_bytes(&artifact).now(now());
    policy = if dir.join("key.pub").exists() {
        policy.public_key(managed_key(case))
    } else {
        policy.certificate_identity(CertificateIdentity::exact(BEACON_IDENTITY, GITHUB_ISSUER).unwrap())
    };
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
    verifier
        .verify_json(&bundle, &policy.build().unwrap())
        .unwrap_or_else(|e| panic!("{case} must verify: {e}"))
}

pub fn managed_key_pem(case: &str) -> String {
    std::fs::read_to_string(case_dir(case).join("key.pub")).unwrap()
}

pub fn managed_key(case: &str) -> PublicKey {
    PublicKey::from_pem(&managed_key_pem(case)).unwrap()
}

/// Indents a PEM block for a YAML literal scalar at `indent` spaces.
pub fn yaml_block(pem: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    pem.trim().lines().map(|l| format!("{pad}{l}\n")).collect()
}
