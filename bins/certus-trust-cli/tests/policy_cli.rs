//! `certus-trust-cli policy lint` and `policy check`, run as the binary on the conformance fixtures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is a test failure"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BEACON_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const ARTIFACT_DIGEST: &str = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn case(name: &str) -> PathBuf {
    fixtures().join("sigstore-conformance/bundle-verify").join(name)
}

fn bundle(name: &str) -> PathBuf {
    case(name).join("bundle.sigstore.json")
}

fn artifact() -> PathBuf {
    fixtures().join("sigstore-conformance/bundle-verify/a.txt")
}

fn production_root() -> PathBuf {
    fixtures().join("sigstore-trust-roots/production/trusted_root.json")
}

/// A scratch directory per test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("certus-policy-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_policy(test: &str, yaml: &str) -> PathBuf {
    let p = scratch(test).join("policy.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certus-trust-cli"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn managed_key_yaml() -> String {
    let pem = std::fs::read_to_string(case("managed-key-happy-path").join("key.pub")).unwrap();
    pem.trim().lines().map(|l| format!("              {l}\n")).collect()
}

fn policies() -> String {
    format!(
        "version: 1
policies:
  ci:
    rules:
      - name: beacon
        identity: {{exact: \"{BEACON_IDENTITY}\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
        extensions:
          github_workflow_repository: {{exact: sigstore-conformance/extremely-dangerous-public-oidc-beacon}}
          source_repository_ref: {{regex: \"refs/heads/.*\"}}
  tags-only:
    rules:
      - name: tagged
        identity: {{regex: \".*@refs/tags/v.*\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
  tags-only-warn:
    mode: warn
    rules:
      - name: tagged
        identity: {{regex: \".*@refs/tags/v.*\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
  two-signers:
    rules:
      - name: ci-and-key
        threshold: 2
        authorities:
          - name: ci
            identity: {{exact: \"{BEACON_IDENTITY}\"}}
            issuer: {{exact: \"{GITHUB_ISSUER}\"}}
          - name: release-key
            key: |
{}  upload:
    chain: {{inner: ci}}
",
        managed_key_yaml()
    )
}

fn check(policy: &Path, name: &str, bundles: &[&str], extra: &[&str], artifact_arg: &str) -> Output {
    let mut args = vec!["policy", "check", "--policy", s(policy), "--name", name];
    for b in bundles {
        args.extend(["--bundle", b]);
    }
    args.extend(extra);
    args.push(artifact_arg);
    cli(&args)
}

#[test]
fn lint_accepts_a_good_file_and_lists_its_policies() {
    let p = write_policy("lint-ok", &policies());
    let o = cli(&["policy", "lint", s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("OK: "), "{out}");
    assert!(out.contains("ci (enforce): 1 rule: beacon"), "{out}");
    assert!(out.contains("tags-only-warn (warn): 1 rule: tagged"), "{out}");
    assert!(out.contains("upload (enforce): chain policy"), "{out}");
}

#[test]
fn lint_reports_every_problem_with_file_line_column() {
    let yaml = "version: 1
policies:
  p:
    rules:
      - name: r
        identity: {regex: \"(\"}
        issuer: {exact: \"\"}
        extensions:
          github_workflow_reff: {exact: x}
";
    let p = write_policy("lint-bad", yaml);
    let o = cli(&["policy", "lint", s(&p)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with(&format!("error[policy.invalid_regex]: {}:6:27: ", p.display())),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("error[policy.empty_value]: {}:7:25: ", p.display())),
        "{err}"
    );
    assert!(
        lines[2].starts_with(&format!("error[policy.unknown_extension]: {}:9:11: ", p.display())),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn lint_of_a_missing_file_is_bad_input() {
    let o = cli(&["policy", "lint", "/nonexistent/policy.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error[policy.io]: /nonexistent/policy.yaml: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn check_allows_a_matching_signer() {
    let p = write_policy("check-allow", &policies());
    let b = bundle("happy-path-v0.3");
    let root = production_root();
    let o = check(&p, "ci", &[s(&b)], &["--trusted-root", s(&root)], s(&artifact()));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("ALLOWED by policy \"ci\" (mode enforce)"), "{out}");
    assert!(out.contains("matched rules: beacon"), "{out}");
    // By digest, and with the embedded production root (the default).
    let o = check(&p, "ci", &[s(&b)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn check_denies_with_every_reason_and_exit_1() {
    let p = write_policy("check-deny", &policies());
    let b = bundle("happy-path-v0.3");
    let o = check(&p, "tags-only", &[s(&b)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.starts_with("DENIED by policy \"tags-only\""), "{out}");
    assert!(
        out.contains("failure[policy.identity_mismatch] (rule tagged, authority tagged, bundle "),
        "{out}"
    );
    assert!(out.contains(&format!("found {BEACON_IDENTITY}")), "{out}");
}

#[test]
fn check_json_is_the_decision() {
    let p = write_policy("check-json", &policies());
    let b = bundle("happy-path-v0.3");
    let o = check(&p, "tags-only", &[s(&b)], &["--json"], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(1));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["allowed"], false);
    assert_eq!(d["policy"], "tags-only");
    assert_eq!(d["mode"], "enforce");
    assert_eq!(d["failures"][0]["code"], "policy.identity_mismatch");
    assert_eq!(d["failures"][0]["rule"], "tagged");
    assert_eq!(d["failures"][0]["actual"], BEACON_IDENTITY);
}

#[test]
fn warn_mode_exits_0_and_still_prints_the_failures() {
    let p = write_policy("check-warn", &policies());
    let b = bundle("happy-path-v0.3");
    let o = check(&p, "tags-only-warn", &[s(&b)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.starts_with("ALLOWED by policy \"tags-only-warn\" (mode warn)"),
        "{out}"
    );
    assert!(out.contains("failure[policy.identity_mismatch]"), "{out}");
}

#[test]
fn threshold_with_a_certificate_bundle_and_a_key_bundle() {
    let p = write_policy("check-threshold", &policies());
    let cert = bundle("happy-path-v0.3");
    let key = bundle("managed-key-happy-path");
    let o = check(&p, "two-signers", &[s(&cert), s(&key)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("matched rules: ci-and-key"));
    let o = check(&p, "two-signers", &[s(&key)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("failure[policy.threshold_not_met]"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_key_bundle_without_a_key_authority_is_denied() {
    let p = write_policy("check-nokey", &policies());
    let key = bundle("managed-key-happy-path");
    let o = check(&p, "ci", &[s(&key)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error[policy.key_not_authorized]: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bundle_that_does_not_verify_fails_before_the_policy() {
    let p = write_policy("check-badbundle", &policies());
    let b = bundle("checkpoint-wrong-roothash_fail");
    let o = check(&p, "ci", &[s(&b)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error[tlog.checkpoint_root_mismatch]: "),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn bad_input_exits_2() {
    let p = write_policy("check-input", &policies());
    let b = bundle("happy-path-v0.3");
    let o = check(&p, "nope", &[s(&b)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error[policy.unknown_policy]: no policy named \"nope\""),
        "{}",
        stderr(&o)
    );
    let o = check(&p, "ci", &[s(&b)], &[], "sha256:abc");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error[input.invalid_digest]"), "{}", stderr(&o));
    let bad = write_policy("check-input-bad", "version: 1\npolicies:\n  ci:\n    rules: []\n");
    let o = check(&bad, "ci", &[s(&b)], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error[policy.unconstrained]: "),
        "{}",
        stderr(&o)
    );
    let o = check(&p, "ci", &["/nonexistent.json"], &[], ARTIFACT_DIGEST);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error[input.unreadable]"), "{}", stderr(&o));
}

#[test]
fn chain_policy_with_outer_bundle_and_service_key() {
    let p = write_policy("check-chain", &policies());
    let inner = bundle("happy-path-v0.3");
    let outer = bundle("managed-key-happy-path");
    let key = case("managed-key-happy-path").join("key.pub");
    let o = check(
        &p,
        "upload",
        &[s(&inner)],
        &["--outer-bundle", s(&outer), "--service-key", s(&key)],
        ARTIFACT_DIGEST,
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("matched rules: ci/beacon, chain.outer"),
        "{}",
        stdout(&o)
    );
    // The service is someone else: denied.
    let o = check(
        &p,
        "upload",
        &[s(&inner)],
        &[
            "--outer-bundle",
            s(&inner),
            "--service-identity",
            "certus-trust@certus.cloud",
            "--service-issuer",
            "https://accounts.certus.cloud",
        ],
        ARTIFACT_DIGEST,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("failure[policy.outer_signer_mismatch] (rule chain.outer)"),
        "{}",
        stdout(&o)
    );
}
