//! The Sigstore conformance suite's 70 bundle-verification cases, each run twice (artifact path
//! and `sha256:` digest): 140 verifications through the trust-core library and 140 invocations of
//! the `certus-trust-cli verify-bundle` binary with the exact conformance flags.
//!
//! Convention (fixtures/sigstore-conformance/README.md): a case whose folder ends in `_fail` must
//! be rejected, every other case must verify. Cases without their own `trusted_root.json` use the
//! production root; if that cannot be loaded the whole test fails.

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
fn conformance_library_140() {
    run_all("library", verify_lib);
}

#[test]
fn conformance_cli_140() {
    run_all("cli", verify_cli);
}
